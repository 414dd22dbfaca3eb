package store

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/wimconsole/wimconsole/engine/store/storetest"
	"github.com/wimconsole/wimconsole/engine/wim"
	"github.com/wimconsole/wimconsole/internal/oracle"
)

// The tree helpers shared with the other packages' tests.
var (
	writeTree = storetest.WriteTree
	baseTree  = storetest.BaseTree
	sameTree  = storetest.SameTree
)

// captureWIM captures trees as images of a new WIM with wimlib-imagex.
func captureWIM(t testing.TB, compress string, trees ...string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "install.wim")
	for i, dir := range trees {
		cmd := "capture"
		if i > 0 {
			cmd = "append"
		}
		args := []string{cmd, dir, out, fmt.Sprintf("Image %d", i+1), "--compress=" + compress}
		if i > 0 {
			args = args[:4]
		}
		oracle.Run(t, args...)
	}
	return out
}

// oracleApply applies image r with wimlib-imagex (--ref Res.rwm) and
// compares it with want; it also runs wimlib-imagex verify.
func oracleApply(t testing.TB, s *Store, r ImageRef, want map[string]string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "apply")
	img := s.ImagePath(r)
	res := s.ResPath(r.Group)
	oracle.Run(t, "apply", img, "1", out, "--ref="+res)
	sameTree(t, want, out)
	oracle.Run(t, "verify", img, "--ref="+res)
}

func mustVerify(t testing.TB, s *Store) {
	t.Helper()
	if res, err := s.VerifyStore(context.Background(), "", nil); err != nil {
		t.Fatalf("verify-store: %v (%+v)", err, res)
	}
}

func openStore(t testing.TB) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "RemoteInstall"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// manyImagesWIM writes a WIM of n images, all the same small tree (their
// metadata copied as stored, under the names "Image 1" ... "Image n"), as
// a source many images long; it returns its path and the tree.
func manyImagesWIM(t testing.TB, n int) (string, map[string]string) {
	t.Helper()
	tree := baseTree("many")
	one := captureWIM(t, "xpress", writeTree(t, tree))
	ctx := context.Background()
	sw, err := wim.Open(one, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sw.Close()
	img, err := sw.Image(1)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "many.wim")
	w, err := wim.Create(out, wim.WriteOptions{Compression: wim.XPRESS})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.CopyImageBlobs(ctx, sw, img); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= n; i++ {
		info := *sw.XML().Image(1)
		info.Name = fmt.Sprintf("Image %d", i)
		if _, err := w.AddImageFrom(ctx, sw, 1, img, info); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out, tree
}
