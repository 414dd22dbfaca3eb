package cli

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/wimconsole/wimconsole/engine/wim"
)

// run executes the command line and returns exit code, stdout and stderr.
func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Execute(args, &Env{Stdout: &out, Stderr: &errb})
	return code, out.String(), errb.String()
}

func TestHelpListsCommands(t *testing.T) {
	code, out, _ := run(t, "help")
	if code != ExitOK {
		t.Fatalf("help exit %d", code)
	}
	for _, want := range []string{"initialize-server", "version", "completion", "help"} {
		if !strings.Contains(out, want) {
			t.Errorf("help output lacks %q:\n%s", want, out)
		}
	}
}

func TestEveryCommandHasHelp(t *testing.T) {
	root := NewRoot(&Env{Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}})
	for _, c := range root.Commands() {
		code, out, errOut := run(t, c.Name(), "--help")
		if code != ExitOK || !strings.Contains(out, "Usage:") {
			t.Errorf("%s --help: exit %d, stdout %q, stderr %q", c.Name(), code, out, errOut)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"unknown command", []string{"frobnicate"}},
		{"unknown flag", []string{"version", "--frob"}},
		{"unknown global flag", []string{"--frob"}},
		{"extra argument", []string{"version", "extra"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := run(t, tt.args...)
			if code != ExitUsage {
				t.Fatalf("exit %d, want %d (stderr %q)", code, ExitUsage, errOut)
			}
			lines := strings.Split(strings.TrimSpace(errOut), "\n")
			if len(lines) != 2 || !strings.HasPrefix(lines[0], "wimconsole: ") || !strings.Contains(lines[1], "--help") {
				t.Fatalf("want a one-line error and a hint, got stderr %q", errOut)
			}
			if out != "" {
				t.Fatalf("stdout should be empty, got %q", out)
			}
		})
	}
}

// TestArgumentCountErrors: a wrong number of arguments is a usage error
// that names the command with its parents and what it expects.
func TestArgumentCountErrors(t *testing.T) {
	st := filepath.Join(t.TempDir(), "RemoteInstall")
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"library", "list", "a", "b"}, "library list expects at most a library name (got 2 arguments)"},
		{[]string{"library", "verify"}, "library verify expects a library name and optionally a group (got 0 arguments)"},
		{[]string{"space", "a", "b"}, "space expects at most one group (got 2 arguments)"},
		{[]string{"verify-store", "a", "b"}, "verify-store expects at most one group (got 2 arguments)"},
		{[]string{"service", "status", "a", "b"}, "service status expects at most an image (got 2 arguments)"},
		{[]string{"reg", "set", "G/install", "SOFTWARE"}, "reg set expects an image, a hive, a key, a value name, a type and data (got 2 arguments)"},
		{[]string{"split", "a.wim"}, "split expects a WIM file and the first part's name (got 1 argument)"},
	} {
		code, out, errOut := run(t, append([]string{"--store", st}, tt.args...)...)
		if code != ExitUsage || out != "" || !strings.Contains(errOut, tt.want) {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit 2 and %q", tt.args, code, out, errOut, tt.want)
		}
	}
}

func TestInitializeServer(t *testing.T) {
	root := filepath.Join(t.TempDir(), "RemoteInstall")
	code, out, errOut := run(t, "initialize-server", "--store", root)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if strings.TrimSpace(out) != root {
		t.Fatalf("printed %q, want %q", out, root)
	}
	if _, err := os.Stat(filepath.Join(root, "WdsConsole", "catalog.db")); err != nil {
		t.Fatal(err)
	}
	// WIMCONSOLE_STORE is the default for --store.
	other := filepath.Join(t.TempDir(), "viaenv")
	t.Setenv("WIMCONSOLE_STORE", other)
	if code, out, _ := run(t, "initialize-server"); code != ExitOK || strings.TrimSpace(out) != other {
		t.Fatalf("WIMCONSOLE_STORE not used: exit %d, %q", code, out)
	}
}

func TestFailureExitCode(t *testing.T) {
	f := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(f, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := run(t, "initialize-server", "--store", f)
	if code != ExitFailure || !strings.Contains(errOut, "not a folder") {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
}

func TestBareCommandOpensConsole(t *testing.T) {
	var got string
	opened := false
	env := &Env{Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}, Console: func(s string) error {
		opened, got = true, s
		return nil
	}}
	if code := Execute([]string{"--store", "/tmp/x"}, env); code != ExitOK || !opened || got != "/tmp/x" {
		t.Fatalf("exit %d opened=%v store=%q", code, opened, got)
	}
}

// TestPanicIsInternalError adds commands that panic (in the command, and in
// a worker goroutine whose panic wim.Guard turned into an error) and checks
// that each is exit 1 with one "internal error" line naming the command
// line and its file, with the stack only under WIMCONSOLE_DEBUG.
func TestPanicIsInternalError(t *testing.T) {
	run := func(t *testing.T, args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		env := &Env{Stdout: &out, Stderr: &errb}
		root := NewRoot(env)
		root.AddCommand(&cobra.Command{Use: "crash FILE", Hidden: true, RunE: func(*cobra.Command, []string) error {
			var entry []byte
			_ = entry[100] // the index out of range the short-entry WIM caused
			return nil
		}})
		root.AddCommand(&cobra.Command{Use: "crash-worker FILE", Hidden: true, RunE: func(*cobra.Command, []string) error {
			done := make(chan error)
			go func() { done <- wim.Guard(func() error { panic("worker") }) }()
			return fmt.Errorf("reading: %w", <-done)
		}})
		code := execute(root, args, env)
		return code, out.String(), errb.String()
	}
	tests := []struct {
		args  []string
		debug string
		want  string
	}{
		{[]string{"crash", "/srv/bad.wim"}, "", "internal error: runtime error: index out of range [100] with length 0 (running: crash /srv/bad.wim); set WIMCONSOLE_DEBUG=1 to print the stack"},
		{[]string{"crash-worker", "/srv/bad.wim"}, "0", "internal error: worker (running: crash-worker /srv/bad.wim); set WIMCONSOLE_DEBUG=1 to print the stack"},
		{[]string{"crash", "/srv/bad.wim"}, "1", "internal error: runtime error: index out of range [100] with length 0 (running: crash /srv/bad.wim)"},
		{[]string{"crash-worker", "/srv/bad.wim"}, "1", "internal error: worker (running: crash-worker /srv/bad.wim)"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " ")+" debug="+tt.debug, func(t *testing.T) {
			t.Setenv(DebugEnv, tt.debug)
			code, out, errOut := run(t, tt.args...)
			if code != ExitFailure || out != "" {
				t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
			}
			first, rest, _ := strings.Cut(errOut, "\n")
			if first != "wimconsole: "+tt.want {
				t.Fatalf("first line %q, want %q", first, "wimconsole: "+tt.want)
			}
			if tt.debug == "1" {
				if !strings.Contains(rest, "goroutine ") || !strings.Contains(rest, "root_test.go") {
					t.Fatalf("no stack under %s=1:\n%s", DebugEnv, rest)
				}
			} else if rest != "" {
				t.Fatalf("more than one line: %q", errOut)
			}
		})
	}
}
