package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wimconsole/wimconsole/internal/oracle"
)

// TestCaptureLZXLevels captures one folder at each LZX level
// (--compress lzx:fast, lzx:slow, wimlib's numeric lzx:N) and has
// wimlib-imagex verify and apply every file; the fast level's file is
// larger than the default's (the level reaches the compressor), and a
// level on another codec, or out of range, is a usage error.
func TestCaptureLZXLevels(t *testing.T) {
	oracle.Wimlib(t)
	tree := writeTree(t, "levels")
	// Some text with short and far repeats, where the levels differ.
	var sb strings.Builder
	for i := range 40000 {
		fmt.Fprintf(&sb, "line %d: value %d of %s\n", i, (i*7919)%1000, []string{"alpha", "bravo", "charlie", "delta"}[i%4])
	}
	if err := os.WriteFile(filepath.Join(tree, "text.log"), []byte(sb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	size := map[string]int64{}
	for _, comp := range []string{"lzx", "lzx:fast", "lzx:slow", "lzx:20", "LZX:100"} {
		file := filepath.Join(t.TempDir(), "c.wim")
		if code, _, errs := wimCLI(t, "capture", tree, file, "--name", "L", "--compress", comp); code != 0 {
			t.Fatalf("capture --compress %s: exit %d: %s", comp, code, errs)
		}
		checkWIM(t, file, tree)
		if info := oracle.Run(t, "info", file); !strings.Contains(info, "Compression:    LZX") {
			t.Errorf("--compress %s: wimlib info says\n%s", comp, info)
		}
		fi, err := os.Stat(file)
		if err != nil {
			t.Fatal(err)
		}
		size[comp] = fi.Size()
	}
	t.Logf("sizes: %v", size)
	if size["lzx:fast"] <= size["lzx"] {
		t.Errorf("lzx:fast wrote %d bytes, the default %d: the level did not reach the compressor", size["lzx:fast"], size["lzx"])
	}
	if size["lzx:fast"] != size["lzx:20"] {
		t.Errorf("lzx:fast wrote %d bytes, lzx:20 %d: want the same level", size["lzx:fast"], size["lzx:20"])
	}
	for _, comp := range []string{"xpress:20", "lzx:0", "lzx:quick"} {
		file := filepath.Join(t.TempDir(), "x.wim")
		if code, _, errs := wimCLI(t, "capture", tree, file, "--name", "x", "--compress", comp); code != ExitUsage || !strings.Contains(errs, comp) {
			t.Errorf("--compress %s: exit %d, want %d and a message naming it: %s", comp, code, ExitUsage, errs)
		}
	}
}
