// Package versiontest checks what a built binary's version command prints
// against the build info the Go toolchain stamped into it.
package versiontest

import (
	"debug/buildinfo"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wimconsole/wimconsole/internal/fixtures"
)

// BuildFlags make go build stamp the commit even when GOFLAGS holds
// -buildvcs=false (flags on the command line win over GOFLAGS): auto
// stamps in a git checkout and leaves it out elsewhere.
var BuildFlags = []string{"-buildvcs=auto"}

// Check runs `bin version` and checks that its first line names the
// binary (name), the module version and, when the build stamped one, the
// commit (12 digits), ", modified" exactly when the work tree was, and
// that a binary built from a plain git checkout (a .git folder at the
// module root, which go build stamps) has the commit at all.
func Check(t *testing.T, bin, name string) {
	t.Helper()
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatalf("%s version: %v", name, err)
	}
	line, _, _ := strings.Cut(string(out), "\n")
	if !strings.HasPrefix(line, name+" ") {
		t.Errorf("%s version printed %q, which does not start with %q", name, line, name+" ")
	}
	bi, err := buildinfo.ReadFile(bin)
	if err != nil {
		t.Fatalf("reading the build info of %s: %v", bin, err)
	}
	if !strings.Contains(line, " "+bi.Main.Version) {
		t.Errorf("%s version printed %q, without the module version %q", name, line, bi.Main.Version)
	}
	var rev string
	modified := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if rev == "" {
		if fi, err := os.Stat(filepath.Join(fixtures.ModuleRoot(t), ".git")); err == nil && fi.IsDir() {
			t.Errorf("%s was built from a git checkout but its build info has no commit", name)
		} else {
			t.Logf("not built from a plain git checkout (go build stamps no commit in a linked worktree or an export): %q", line)
		}
		return
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if !strings.Contains(line, "(commit "+rev) {
		t.Errorf("%s version printed %q, without the commit %s", name, line, rev)
	}
	if got := strings.Contains(line, ", modified"); got != modified {
		t.Errorf("%s version printed %q; the build info says modified=%v", name, line, modified)
	}
}
