// Package oracle gives tests access to the reference implementation of the
// WIM format, wimlib-imagex (Debian package wimtools).
//
// Oracle tests are required when the environment variable WIMCONSOLE_ORACLE
// is set (the Makefile sets it for `make test`, and CI runs `make test`); a
// developer running `go test` by hand without wimtools gets a skip instead.
package oracle

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// EnvRequired is the variable that makes oracle tests mandatory.
const EnvRequired = "WIMCONSOLE_ORACLE"

// Required reports whether oracle tests must run rather than skip.
func Required() bool { return os.Getenv(EnvRequired) != "" }

// Need skips the test when the named tool is missing and oracles are not
// required, and fails it when they are. It returns the tool's path.
func Need(t testing.TB, tool string) string {
	t.Helper()
	p, err := exec.LookPath(tool)
	if err == nil {
		return p
	}
	if Required() {
		t.Fatalf("%s is required (%s is set) but not found: %v", tool, EnvRequired, err)
	}
	t.Skipf("%s not installed; set %s=1 to make this a failure", tool, EnvRequired)
	return ""
}

// Wimlib returns the path of wimlib-imagex (see Need).
func Wimlib(t testing.TB) string {
	t.Helper()
	return Need(t, "wimlib-imagex")
}

// Run runs wimlib-imagex with args and returns its standard output. Any
// failure fails the test, with the tool's output.
func Run(t testing.TB, args ...string) string {
	t.Helper()
	out, err := Try(t, args...)
	if err != nil {
		t.Fatalf("wimlib-imagex %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// Try runs wimlib-imagex with args and returns its combined output and error,
// for tests that expect failure.
func Try(t testing.TB, args ...string) (string, error) {
	t.Helper()
	bin := Wimlib(t)
	var buf bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout = &buf
	cmd.Stderr = &buf
	err := cmd.Run()
	return buf.String(), err
}
