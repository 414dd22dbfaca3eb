package cli

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wimconsole/wimconsole/engine/store"
	"github.com/wimconsole/wimconsole/engine/store/storetest"
	"github.com/wimconsole/wimconsole/internal/oracle"
)

// TestReadOnlyStoreCommands: on a store on a read-only mount the listing
// and show commands work and a changing one fails naming the store.
func TestReadOnlyStoreCommands(t *testing.T) {
	oracle.Wimlib(t)
	dir, seal := storetest.ReadOnlyMount(t)
	st := filepath.Join(dir, "RemoteInstall")
	s, err := store.Open(st)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddImage(context.Background(), storetest.VariantsWIM(t, "a", "b"), store.AddOptions{Group: "G"}); err != nil {
		t.Fatal(err)
	}
	seal()
	do := func(want int, args ...string) string {
		t.Helper()
		code, out, errOut := run(t, append([]string{"--store", st}, args...)...)
		if code != want {
			t.Fatalf("%v: exit %d, want %d\n%s%s", args, code, want, out, errOut)
		}
		return out + errOut
	}
	if out := do(0, "get-all-images"); !strings.Contains(out, "Image a") || !strings.Contains(out, "Image b") {
		t.Fatalf("get-all-images:\n%s", out)
	}
	do(0, "get-image", "G/install-(2)")
	do(0, "get-all-image-groups")
	do(0, "space", "G")
	do(0, "verify-store")
	do(0, "info", filepath.Join(st, "Images", "G", "install.wim"))
	exp := filepath.Join(t.TempDir(), "e.wim")
	do(0, "export-image", "G/install", exp)
	oracle.Run(t, "verify", exp)
	want := "the store " + st + " is read-only (read-only file system): cannot delete an image"
	if out := do(1, "remove-image", "G/install"); !strings.Contains(out, want) {
		t.Fatalf("remove-image on a read-only store:\n%s\nwant %q", out, want)
	}
}
