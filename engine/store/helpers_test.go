package store

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/wimconsole/wimconsole/engine/store/storetest"
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
