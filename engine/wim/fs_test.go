//go:build linux

package wim

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

// imageFSOf captures src with wimlib-imagex and the options, and returns
// image 1 of the result as a file system.
func imageFSOf(t *testing.T, src string, opts ...string) (fs.FS, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "img.wim")
	imgCapture(t, src, path, opts...)
	w := imgOpen(t, path)
	fsys, err := w.ImageFS(1)
	if err != nil {
		t.Fatal(err)
	}
	return fsys, path
}

// TestImageFS runs testing/fstest on images wimlib-imagex captured (every
// kind of entry, in chunked and solid resources), and checks what fs.WalkDir
// sees against `wimlib-imagex dir --detailed` and the files' data against
// the source tree.
func TestImageFS(t *testing.T) {
	src := makeSourceTree(t)
	for _, opts := range [][]string{{"--compress=none"}, {"--compress=lzx"}, {"--solid"}} {
		t.Run(opts[0], func(t *testing.T) {
			fsys, path := imageFSOf(t, src, opts...)
			if err := fstest.TestFS(fsys, "a.txt", "big.txt", "random.bin", "empty", "emptydir",
				"d1/sub/deeper/deepest/leaf.txt", "日本語フォルダ/ファイル.txt", "Case", "case", "rel", "dup/copy07"); err != nil {
				t.Fatal(err)
			}
			want := wimlibDetailed(t, path, 1, nil)
			err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				key := "/" + p
				if p == "." {
					key = "/"
				}
				wd := want[key]
				if wd == nil {
					t.Errorf("%s: not listed by wimlib-imagex dir --detailed", key)
					return nil
				}
				delete(want, key)
				info, err := d.Info()
				if err != nil {
					return err
				}
				f, ok := info.Sys().(*File)
				if !ok {
					t.Fatalf("%s: Sys() is %T, not *File", p, info.Sys())
				}
				if f.Path() != key || f.Attributes != wd.attributes {
					t.Errorf("%s: Sys() is %s with attributes 0x%x; wimlib says 0x%x", key, f.Path(), f.Attributes, wd.attributes)
				}
				if got := wimlibTime(info.ModTime()); got != wd.written {
					t.Errorf("%s: ModTime %s, wimlib's last write time %s", key, got, wd.written)
				}
				var mode fs.FileMode
				switch {
				case wd.attributes&AttrReparsePoint != 0:
					mode = fs.ModeSymlink
				case wd.attributes&AttrDirectory != 0:
					mode = fs.ModeDir
				}
				if info.Mode().Type() != mode || d.Type() != mode || info.IsDir() != (mode == fs.ModeDir) {
					t.Errorf("%s: mode %v (entry %v), want type %v", key, info.Mode(), d.Type(), mode)
				}
				if mode == 0 && info.Size() != wd.streams[""].size {
					t.Errorf("%s: size %d, wimlib %d", key, info.Size(), wd.streams[""].size)
				}
				if mode == 0 {
					got, err := fs.ReadFile(fsys, p)
					if err != nil {
						return err
					}
					if wantData, err := os.ReadFile(filepath.Join(src, filepath.FromSlash(p))); err != nil || !bytes.Equal(got, wantData) {
						t.Errorf("%s: %d bytes differ from the source's (%v)", key, len(got), err)
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			for p := range want {
				t.Errorf("%s: listed by wimlib but not walked", p)
			}
			rl := fsys.(fs.ReadLinkFS)
			if target, err := rl.ReadLink("rel"); err != nil || target != "a.txt" {
				t.Errorf("ReadLink(rel) = %q, %v; want a.txt", target, err)
			}
			if target, err := fs.ReadLink(fsys, "dirlink"); err != nil || target != "d1" {
				t.Errorf("ReadLink(dirlink) = %q, %v; want d1", target, err)
			}
			if _, err := rl.ReadLink("a.txt"); err == nil {
				t.Error("ReadLink of a file succeeded")
			}
		})
	}
}

// TestImageFSPaths checks the path rules: exact, case-preserving names;
// '\' and ':' as ordinary characters; links not followed through; invalid
// paths refused with fs.ErrInvalid, absent ones with fs.ErrNotExist.
func TestImageFSPaths(t *testing.T) {
	src := filepath.Join(t.TempDir(), "src")
	for rel, data := range map[string]string{
		"man/File::Spec.3pm": "perl\n",
		`man/back\slash`:     "backslash\n",
		"Dir/X.txt":          "upper\n",
		"dir/x.txt":          "lower\n",
	} {
		p := filepath.Join(src, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("man", filepath.Join(src, "link")); err != nil {
		t.Fatal(err)
	}
	fsys, _ := imageFSOf(t, src)
	for _, tc := range []struct {
		path, data string
		err        error
	}{
		{"man/File::Spec.3pm", "perl\n", nil},
		{`man/back\slash`, "backslash\n", nil},
		{"Dir/X.txt", "upper\n", nil},
		{"dir/x.txt", "lower\n", nil},
		{"DIR/x.txt", "", fs.ErrNotExist},
		{"dir/X.txt", "", fs.ErrNotExist},
		{`man\back`, "", fs.ErrNotExist},
		{"link/File::Spec.3pm", "", fs.ErrNotExist},
		{"dir/x.txt/more", "", fs.ErrNotExist},
		{"/dir/x.txt", "", fs.ErrInvalid},
		{"dir/../dir/x.txt", "", fs.ErrInvalid},
		{"dir//x.txt", "", fs.ErrInvalid},
		{"dir/", "", fs.ErrInvalid},
		{"", "", fs.ErrInvalid},
		{"a\xffb", "", fs.ErrInvalid},
	} {
		got, err := fs.ReadFile(fsys, tc.path)
		if !errors.Is(err, tc.err) || string(got) != tc.data {
			t.Errorf("ReadFile(%q) = %q, %v; want %q, %v", tc.path, got, err, tc.data, tc.err)
		}
		var pe *fs.PathError
		if err != nil && (!errors.As(err, &pe) || pe.Path != tc.path) {
			t.Errorf("ReadFile(%q): error %v is not a *PathError naming the path", tc.path, err)
		}
		if _, err := fs.Stat(fsys, tc.path); !errors.Is(err, tc.err) {
			t.Errorf("Stat(%q): %v, want %v", tc.path, err, tc.err)
		}
	}
	ents, err := fs.ReadDir(fsys, "man")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if got := strings.Join(names, "|"); got != `File::Spec.3pm|back\slash` {
		t.Errorf("ReadDir(man) = %s", got)
	}
	// fs.ReadDir sorts by name, not in the image's case-insensitive order.
	ents, err = fs.ReadDir(fsys, ".")
	if err != nil {
		t.Fatal(err)
	}
	names = names[:0]
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if got := strings.Join(names, "|"); got != "Dir|dir|link|man" {
		t.Errorf("ReadDir(.) = %s", got)
	}
	if info, err := fs.Stat(fsys, "link"); err != nil || info.Mode().Type() != fs.ModeSymlink || info.Size() != 0 {
		t.Errorf("Stat(link) = %v, %v; want the link itself", info, err)
	}
}

// TestImageFSReadSeek reads a file of an image in pieces: after seeks and to the end, where a damaged blob reports its checksum
// error instead of io.EOF.
func TestImageFSReadSeek(t *testing.T) {
	src := makeSourceTree(t)
	want, err := os.ReadFile(filepath.Join(src, "big.txt"))
	if err != nil {
		t.Fatal(err)
	}
	fsys, path := imageFSOf(t, src, "--compress=none")
	f, err := fsys.Open("big.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rs := f.(io.ReadSeeker)
	for _, off := range []int64{int64(len(want)) - 10, 1 << 20, 5, 0, int64(len(want))} {
		if n, err := rs.Seek(off, io.SeekStart); err != nil || n != off {
			t.Fatalf("Seek(%d) = %d, %v", off, n, err)
		}
		buf := make([]byte, 100)
		n, err := io.ReadFull(rs, buf)
		end := min(off+100, int64(len(want)))
		if !bytes.Equal(buf[:n], want[off:end]) || (end-off == 100) != (err == nil) {
			t.Errorf("read at %d: %d bytes, %v", off, n, err)
		}
	}
	if _, err := rs.Seek(-1, io.SeekStart); err == nil {
		t.Error("Seek to -1 succeeded")
	}

	// Damage the stored data of big.txt (stored raw: find its bytes).
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(data, want[1000:1100])
	if i < 0 {
		t.Fatal("big.txt not stored raw")
	}
	data[i] ^= 0xff
	w, err := NewReader(bytes.NewReader(data), int64(len(data)), &OpenOptions{Name: "damaged.wim"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	dfs, err := w.ImageFS(1)
	if err != nil {
		t.Fatal(err)
	}
	_, err = fs.ReadFile(dfs, "big.txt")
	var ce *ChecksumError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "big.txt") || !strings.Contains(err.Error(), "damaged.wim") {
		t.Errorf("ReadFile of damaged data: %v, want a ChecksumError naming big.txt and damaged.wim", err)
	}
	df, err := dfs.Open("big.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer df.Close()
	if _, err := io.ReadAll(df); !errors.As(err, &ce) {
		t.Errorf("reading damaged data to the end: %v, want a ChecksumError", err)
	}
}

// TestImageFSHTTP serves an image with http.FileServer: a whole file, a
// range of one, and a folder listing.
func TestImageFSHTTP(t *testing.T) {
	src := makeSourceTree(t)
	want, err := os.ReadFile(filepath.Join(src, "big.txt"))
	if err != nil {
		t.Fatal(err)
	}
	fsys, _ := imageFSOf(t, src)
	srv := httptest.NewServer(http.FileServer(http.FS(fsys)))
	defer srv.Close()
	get := func(path, rng string) (int, []byte) {
		t.Helper()
		req, err := http.NewRequest("GET", srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if rng != "" {
			req.Header.Set("Range", rng)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, b
	}
	if code, b := get("/big.txt", ""); code != http.StatusOK || !bytes.Equal(b, want) {
		t.Errorf("GET /big.txt: status %d, %d bytes (want %d)", code, len(b), len(want))
	}
	if code, b := get("/big.txt", "bytes=700000-700099"); code != http.StatusPartialContent || !bytes.Equal(b, want[700000:700100]) {
		t.Errorf("GET /big.txt with a range: status %d, %q", code, b)
	}
	if code, b := get("/d1/", ""); code != http.StatusOK || !bytes.Contains(b, []byte(`href="sub/"`)) {
		t.Errorf("GET /d1/: status %d, %s", code, b)
	}
	if code, _ := get("/nothing", ""); code != http.StatusNotFound {
		t.Errorf("GET /nothing: status %d", code)
	}
}
