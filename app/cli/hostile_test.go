package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// shortEntryWIM copies engine/wim's 670-byte WIM whose one directory entry
// claims 100 bytes, ending exactly at the end of its metadata resource
// (which crashed these commands with "index out of range", exit 2), into
// a temporary folder.
func shortEntryWIM(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "engine", "wim", "testdata", "hostile", "short-entry.wim"))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "short-entry.wim")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestShortEntryWIM runs every command that reads an image's tree on it:
// each must exit 1 with one line naming the file and the entry's offset,
// and add-image must leave the store without the image.
func TestShortEntryWIM(t *testing.T) {
	bad := shortEntryWIM(t)
	st := filepath.Join(t.TempDir(), "RemoteInstall")
	tests := [][]string{
		{"dir", bad, "1"},
		{"verify", bad},
		{"apply", bad, "1", filepath.Join(t.TempDir(), "out")},
		{"--store", st, "add-image", bad, "--group", "G"},
	}
	for _, args := range tests {
		t.Run(args[0], func(t *testing.T) {
			code, out, errOut := wimCLI(t, args...)
			if code != ExitFailure {
				t.Fatalf("exit %d, want %d; stderr %q", code, ExitFailure, errOut)
			}
			if strings.Count(errOut, "\n") != 1 || !strings.HasPrefix(errOut, "wimconsole: ") ||
				!strings.Contains(errOut, bad+": ") || !strings.Contains(errOut, "offset 0x8: ") || !strings.Contains(errOut, "less than the 102-byte minimum") {
				t.Fatalf("stderr %q; want one line naming %s at offset 0x8", errOut, bad)
			}
			if strings.Contains(errOut, "internal error") {
				t.Fatalf("a format error reached the command as a panic: %q", errOut)
			}
			t.Log(strings.TrimSpace(errOut))
			if args[0] != "--store" && out != "" {
				t.Fatalf("stdout %q", out)
			}
		})
	}
	code, out, errOut := wimCLI(t, "--store", st, "get-all-images", "--json")
	if code != ExitOK || strings.Contains(out, "short-entry") {
		t.Fatalf("after the failed add-image: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}
