package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wimconsole/wimconsole/internal/oracle"
)

// writeTree writes files (path -> content) under a new folder.
func writeTree(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// baseTree is a small tree; variant changes some files.
func baseTree(variant string) map[string]string {
	return map[string]string{
		"Windows/system32/kernel.dll":  strings.Repeat("kernel code shared by all\n", 4000),
		"Windows/system32/drivers.sys": strings.Repeat("driver "+variant+"\n", 3000),
		"Program Files/app/readme.txt": "readme " + variant + "\n",
		"Users/Public/big.bin":         strings.Repeat("\x01\x02\x03"+variant, 30000),
		"empty.txt":                    "",
	}
}

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

// sameTree compares the regular files of got with want.
func sameTree(t testing.TB, want map[string]string, got string) {
	t.Helper()
	n := 0
	filepath.Walk(got, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			n++
		}
		return nil
	})
	if n != len(want) {
		t.Errorf("%s: %d files, want %d", got, n, len(want))
	}
	for name, data := range want {
		b, err := os.ReadFile(filepath.Join(got, filepath.FromSlash(name)))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if string(b) != data {
			t.Errorf("%s: content differs", name)
		}
	}
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
