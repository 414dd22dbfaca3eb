//go:build !windows

package filetree

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wimconsole/wimconsole/internal/testtree"
)

func TestCopy(t *testing.T) {
	for _, c := range []struct {
		name string
		o    Options
		mode fs.FileMode // the executable's mode in the copy
	}{
		{"source modes", Options{}, 0o750},
		{"fixed mode", Options{FileMode: 0o644}, 0o644},
	} {
		t.Run(c.name, func(t *testing.T) {
			src := testtree.Write(t, filepath.Join(t.TempDir(), "src"), map[string]string{
				"a.txt": "alpha", "sub/b.txt": "beta", "sub/deep/run.sh": "#!/bin/sh\n", "empty/.keep": "",
			})
			must(t, os.Chmod(filepath.Join(src, "sub/deep/run.sh"), 0o750))
			must(t, os.Link(filepath.Join(src, "a.txt"), filepath.Join(src, "sub/a-again.txt")))
			must(t, os.Symlink("../a.txt", filepath.Join(src, "sub/rel-link")))
			must(t, os.Symlink(filepath.Join(src, "sub"), filepath.Join(src, "abs-link")))
			old := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
			must(t, os.Chtimes(filepath.Join(src, "sub/b.txt"), old, old))

			var links []string
			o := c.o
			o.Link = func(path, rel string, fi fs.FileInfo) error {
				if fi.Mode()&fs.ModeSymlink == 0 || filepath.Join(src, rel) != path {
					t.Errorf("Link(%s, %s, %v)", path, rel, fi.Mode())
				}
				links = append(links, filepath.ToSlash(rel))
				return nil
			}
			dst := filepath.Join(t.TempDir(), "new", "dst") // parents made
			must(t, Copy(src, dst, o))

			for name, want := range map[string]string{"a.txt": "alpha", "sub/b.txt": "beta", "sub/a-again.txt": "alpha", "sub/deep/run.sh": "#!/bin/sh\n", "empty/.keep": ""} {
				if got, err := os.ReadFile(filepath.Join(dst, name)); err != nil || string(got) != want {
					t.Errorf("%s: %q, %v; want %q", name, got, err, want)
				}
			}
			a, _ := os.Stat(filepath.Join(dst, "a.txt"))
			again, _ := os.Stat(filepath.Join(dst, "sub/a-again.txt"))
			if !os.SameFile(a, again) {
				t.Error("the two names of one file became two files")
			}
			srcA, _ := os.Stat(filepath.Join(src, "a.txt"))
			if os.SameFile(a, srcA) {
				t.Error("the copy is a link to the source")
			}
			for name, want := range map[string]string{"sub/rel-link": "../a.txt", "abs-link": filepath.Join(src, "sub")} {
				if got, err := os.Readlink(filepath.Join(dst, name)); err != nil || got != want {
					t.Errorf("link %s: %q, %v; want target %q", name, got, err, want)
				}
			}
			if strings.Join(links, ",") != "abs-link,sub/rel-link" {
				t.Errorf("Link called for %v", links)
			}
			if st, _ := os.Stat(filepath.Join(dst, "sub/b.txt")); !st.ModTime().Equal(old) {
				t.Errorf("modification time %v, want %v", st.ModTime(), old)
			}
			if st, _ := os.Stat(filepath.Join(dst, "sub/deep/run.sh")); st.Mode().Perm() != c.mode {
				t.Errorf("mode %v, want %v", st.Mode().Perm(), c.mode)
			}
		})
	}
}

func TestCopyOneFile(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "f")
	must(t, os.WriteFile(src, []byte("one"), 0o600))
	dst := filepath.Join(dir, "a", "b", "f")
	must(t, Copy(src, dst, Options{}))
	if got, _ := os.ReadFile(dst); string(got) != "one" {
		t.Errorf("copy holds %q", got)
	}
}

func TestCopyRefused(t *testing.T) {
	src := testtree.Write(t, filepath.Join(t.TempDir(), "src"), map[string]string{"a": "x"})
	must(t, syscall.Mkfifo(filepath.Join(src, "pipe"), 0o644))

	if err := Copy(src, filepath.Join(t.TempDir(), "d"), Options{}); err == nil || !strings.Contains(err.Error(), "pipe") {
		t.Errorf("a named pipe: %v, want refused naming it", err)
	}
	dst := filepath.Join(t.TempDir(), "d")
	if err := Copy(src, dst, Options{SkipSpecial: true}); err != nil {
		t.Errorf("SkipSpecial: %v", err)
	}
	if _, err := os.Lstat(filepath.Join(dst, "pipe")); err == nil {
		t.Error("SkipSpecial copied the pipe")
	}
	// dst must not exist.
	if err := Copy(src, dst, Options{SkipSpecial: true}); err == nil {
		t.Error("copied over an existing folder")
	}
	// An error from Link ends the copy.
	must(t, os.Symlink("a", filepath.Join(src, "l")))
	if err := Copy(src, filepath.Join(t.TempDir(), "d"), Options{SkipSpecial: true, Link: func(string, string, fs.FileInfo) error { return fs.ErrPermission }}); err != fs.ErrPermission {
		t.Errorf("Link's error: got %v", err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
