package store

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/wimconsole/wimconsole/internal/oracle"
)

// TestBootImages: a boot image is a standalone WIM under Boot/<arch>/Images
// that wimlib verifies and applies as the source; disable refuses installs;
// export and remove work; the store verifies throughout.
func TestBootImages(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	files := map[string]string{"Windows/System32/startnet.cmd": "wpeinit\n", "Windows/boot.sdi": "sdi"}
	src := captureWIM(t, "lzx", writeTree(t, files))
	refs, err := s.AddImage(ctx, src, AddOptions{Boot: true, Arch: "x64", Name: "WinPE x64"})
	if err != nil {
		t.Fatal(err)
	}
	if len(refs) != 1 || !refs[0].Boot || refs[0].Arch != "x64" {
		t.Fatalf("refs %+v", refs)
	}
	r := refs[0]
	path := s.ImagePath(r)
	if filepath.Dir(path) != filepath.Join(s.Root(), "Boot", "x64", "Images") {
		t.Fatalf("boot image at %s", path)
	}
	oracle.Run(t, "verify", path)
	out := filepath.Join(t.TempDir(), "out")
	oracle.Run(t, "apply", path, "1", out)
	sameTree(t, files, out)

	im, err := s.GetImage(ctx, r)
	if err != nil || im.Name != "WinPE x64" || !im.Enabled {
		t.Fatalf("image %+v, %v", im, err)
	}
	no := false
	if err := s.SetImage(ctx, r, SetOptions{Enabled: &no}); err != nil {
		t.Fatal(err)
	}
	if err := s.InstallImage(ctx, r, filepath.Join(t.TempDir(), "x"), "client", nil); err == nil {
		t.Fatal("a disabled boot image was installed")
	}
	dest := filepath.Join(t.TempDir(), "boot.wim")
	if err := s.ExportImage(ctx, r, dest, ExportOptions{}); err != nil {
		t.Fatal(err)
	}
	oracle.Run(t, "verify", dest)
	mustVerify(t, s)
	if err := s.RemoveImage(ctx, r); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err == nil {
		t.Fatal("boot image file still there after remove")
	}
	mustVerify(t, s)
}
