package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestCLIQuietInCLocale runs the real binary's command line under the C
// locales of servers and containers: stderr must stay empty (Fyne's locale
// lookup once logged a parse error on every run).
func TestCLIQuietInCLocale(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "wimconsole")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, lang := range []string{"", "C", "C.UTF-8", "POSIX"} {
		cmd := exec.Command(bin, "version")
		cmd.Env = append(os.Environ(), "LANG="+lang, "LC_ALL=", "LC_MESSAGES=", "LANGUAGE=")
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("LANG=%s: %v\n%s", lang, err, stderr.String())
		}
		if stderr.Len() != 0 || stdout.Len() == 0 {
			t.Errorf("LANG=%s: stdout %q, stderr %q", lang, stdout.String(), stderr.String())
		}
	}
}
