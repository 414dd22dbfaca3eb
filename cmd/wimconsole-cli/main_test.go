package main

import (
	"bytes"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wimconsole/wimconsole/internal/versiontest"
)

// TestNoGUILibraries keeps the command-line build free of the GUI: none of
// the packages it links may be Fyne's, the native dialogs' or the views'.
func TestNoGUILibraries(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		for _, gui := range []string{"fyne.io/", "github.com/sqweek/dialog", "github.com/go-gl/", "github.com/wimconsole/wimconsole/views"} {
			if strings.HasPrefix(pkg, gui) {
				t.Errorf("wimconsole-cli links %s", pkg)
			}
		}
	}
}

// TestBinary builds wimconsole-cli and checks that it runs commands, names
// itself in help, errors and its version (with the commit it was built
// from), and exits with the documented codes.
func TestBinary(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "wimconsole-cli")
	build := append(append([]string{"build"}, versiontest.BuildFlags...), "-o", bin, ".")
	if out, err := exec.Command("go", build...).CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	versiontest.Check(t, bin, "wimconsole-cli")
	tests := []struct {
		args       []string
		code       int
		stdout     string
		stderr     string
		notInStdio string
	}{
		{args: []string{"version"}, stdout: "wimconsole-cli "},
		{args: nil, stdout: "wimconsole-cli [command]", notInStdio: "open the console window"},
		{args: []string{"capture", "--help"}, stdout: "wimconsole-cli capture"},
		{args: []string{"nosuch"}, code: 2, stderr: "wimconsole-cli: unknown command"},
		{args: []string{"info", filepath.Join(t.TempDir(), "missing.wim")}, code: 1, stderr: "wimconsole-cli: "},
	}
	for _, tt := range tests {
		var stdout, stderr bytes.Buffer
		cmd := exec.Command(bin, tt.args...)
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("%v: %v", tt.args, err)
		}
		if code != tt.code {
			t.Errorf("%v: exit code %d, want %d (stderr %q)", tt.args, code, tt.code, stderr.String())
		}
		if !strings.Contains(stdout.String(), tt.stdout) {
			t.Errorf("%v: stdout %q lacks %q", tt.args, stdout.String(), tt.stdout)
		}
		if !strings.Contains(stderr.String(), tt.stderr) {
			t.Errorf("%v: stderr %q lacks %q", tt.args, stderr.String(), tt.stderr)
		}
		if tt.notInStdio != "" && strings.Contains(stdout.String(), tt.notInStdio) {
			t.Errorf("%v: stdout says %q", tt.args, tt.notInStdio)
		}
	}
}
