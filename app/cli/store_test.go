package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wimconsole/wimconsole/internal/oracle"
)

// TestStoreCommands drives the store commands end to end, checking the
// results with wimlib-imagex.
func TestStoreCommands(t *testing.T) {
	oracle.Wimlib(t)
	st := filepath.Join(t.TempDir(), "RemoteInstall")
	tree := writeTree(t, "s1")
	src := filepath.Join(t.TempDir(), "install.wim")
	oracle.Run(t, "capture", tree, src, "One")
	oracle.Run(t, "append", tree, src, "Two")
	do := func(want int, args ...string) string {
		t.Helper()
		code, out, errOut := run(t, append([]string{"--store", st}, args...)...)
		if code != want {
			t.Fatalf("%v: exit %d, want %d\n%s%s", args, code, want, out, errOut)
		}
		return out + errOut
	}
	do(0, "add-image-group", "Win11")
	do(1, "add-image-group", "Win11")
	do(2, "add-image-group", "../x", "extra")
	do(0, "add-image", src, "--group", "Win11")
	out := do(0, "get-all-images", "--json")
	var ims []map[string]any
	if err := json.Unmarshal([]byte(out), &ims); err != nil || len(ims) != 2 {
		t.Fatalf("get-all-images --json: %v\n%s", err, out)
	}
	do(0, "get-image", "Win11/install", "--json")
	do(2, "get-image", "../install")
	do(0, "set-image", "Win11/install-(2)", "--enabled", "no", "--name", "Two renamed")
	out = do(0, "get-image", "Win11/install-(2).wim")
	if !strings.Contains(out, "disabled") || !strings.Contains(out, "Two renamed") {
		t.Fatalf("get-image after set-image:\n%s", out)
	}
	do(1, "install-image", "Win11/install-(2)", filepath.Join(t.TempDir(), "x"))
	dest := filepath.Join(t.TempDir(), "inst")
	do(0, "install-image", "Win11/install", dest)
	sameFiles(t, tree, dest)
	exp := filepath.Join(t.TempDir(), "e.wim")
	do(0, "export-image", "Win11/install", exp)
	do(1, "export-image", "Win11/install", exp)
	do(0, "export-image", "Win11/install-(2)", exp, "--overwrite", "append")
	oracle.Run(t, "verify", exp)
	do(0, "copy-image", "Win11/install", "--filename", "copy")
	do(0, "remove-image", "Win11/install")
	out = do(0, "space", "Win11", "--json")
	if !strings.Contains(out, "dead_bytes") {
		t.Fatalf("space:\n%s", out)
	}
	do(0, "replace-image", "Win11/install-(2)", src, "--source-index", "1", "--force")
	out = do(0, "regroup", "Win11", "--into", "Win11b")
	if !strings.Contains(out, "before") {
		t.Fatal(out)
	}
	do(0, "verify-store")
	out = do(0, "get-all-image-groups", "--json")
	if !strings.Contains(out, "Win11b") || strings.Contains(out, `"Win11"`) {
		t.Fatalf("groups after regroup --into:\n%s", out)
	}
	res := filepath.Join(st, "Images", "Win11b", "Res.rwm")
	o2 := filepath.Join(t.TempDir(), "o2")
	oracle.Run(t, "apply", filepath.Join(st, "Images", "Win11b", "copy.wim"), "1", o2, "--ref="+res)
	sameFiles(t, tree, o2)
	do(0, "set-image-group", "Win11b", "--name", "Final")
	do(1, "remove-image-group", "Final")
	do(0, "remove-image-group", "Final", "--force")
	if _, err := os.Stat(filepath.Join(st, "Images", "Final")); err == nil {
		t.Fatal("group still there")
	}
	do(0, "verify-store")
}
