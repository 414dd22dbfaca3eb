package servicing

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wimconsole/wimconsole/engine/servicing/hive/hivetest"
	"github.com/wimconsole/wimconsole/engine/store"
	"github.com/wimconsole/wimconsole/engine/store/storetest"
	"github.com/wimconsole/wimconsole/internal/oracle"
)

// writeTree is shared with the store's tests.
var writeTree = storetest.WriteTree

// baseFiles is the content of the test image.
func baseFiles() map[string]string {
	return map[string]string{
		"Windows/System32/kernel.dll":      strings.Repeat("kernel code\n", 5000),
		"Windows/System32/config/SOFTWARE": string(hivetest.Minimal("ROOT")),
		"Windows/System32/config/SYSTEM":   string(hivetest.Minimal("SYS")),
		"Windows/System32/startnet.cmd":    "wpeinit\r\n",
		"Program Files/app/readme.txt":     "readme\n",
		"Program Files/app/app.exe":        strings.Repeat("\x01\x02app", 3000),
		"Users/Public/notes.txt":           "notes\n",
	}
}

func clone(m map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

// newStore makes a store with group G holding image G/install (disabled)
// captured by wimlib-imagex from files.
func newStore(t testing.TB, files map[string]string) (*store.Store, store.ImageRef) {
	t.Helper()
	oracle.Wimlib(t)
	return newStoreDir(t, writeTree(t, files))
}

// newStoreDir is newStore with the image captured from the folder dir.
func newStoreDir(t testing.TB, dir string) (*store.Store, store.ImageRef) {
	t.Helper()
	src := filepath.Join(t.TempDir(), "install.wim")
	oracle.Run(t, "capture", dir, src, "Test Image", "--compress=lzx")
	s, err := store.Open(filepath.Join(t.TempDir(), "RemoteInstall"))
	if err != nil {
		t.Fatal(err)
	}
	refs, err := s.AddImage(context.Background(), src, store.AddOptions{Group: "G", FileName: "install"})
	if err != nil {
		t.Fatal(err)
	}
	off := false
	if err := s.SetImage(context.Background(), refs[0], store.SetOptions{Enabled: &off}); err != nil {
		t.Fatal(err)
	}
	return s, refs[0]
}

// applied extracts image r with wimlib-imagex (--ref Res.rwm), verifies it
// with wimlib-imagex, and returns the folder.
func applied(t testing.TB, s *store.Store, r store.ImageRef) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "apply")
	oracle.Run(t, "apply", s.ImagePath(r), "1", out, "--ref="+s.ResPath(r.Group))
	oracle.Run(t, "verify", s.ImagePath(r), "--ref="+s.ResPath(r.Group))
	return out
}

// sameTree checks that dir holds exactly the files of want (and the
// folders dirs, when given, besides those files' parents).
func sameTree(t testing.TB, dir string, want map[string]string) {
	t.Helper()
	got := map[string]string{}
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			t.Error(err)
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if fi.Mode().IsRegular() {
			b, _ := os.ReadFile(p)
			got[rel] = string(b)
		} else if fi.IsDir() && rel != "." {
			ents, _ := os.ReadDir(p)
			if len(ents) == 0 {
				got[rel+"/"] = ""
			}
		}
		return nil
	})
	for k, v := range want {
		g, ok := got[k]
		if !ok {
			t.Errorf("%s: missing", k)
		} else if g != v {
			t.Errorf("%s: content differs (%d bytes, want %d)", k, len(g), len(v))
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: not expected", k)
		}
	}
}

func mustVerify(t testing.TB, s *store.Store) {
	t.Helper()
	if res, err := s.VerifyStore(context.Background(), "", nil); err != nil {
		t.Fatalf("verify-store: %v (%+v)", err, res)
	}
}

func fileSize(t testing.TB, p string) int64 {
	t.Helper()
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}
