//go:build linux

package wim

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"unicode/utf16"

	"github.com/wimconsole/wimconsole/engine/progress"
)

// smallWIM captures the small tree and returns the open file and image 1.
func smallWIM(t *testing.T, opts ...string) (*WIM, *Image) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "small.wim")
	imgCapture(t, makeSmallTree(t), p, opts...)
	w := imgOpen(t, p)
	img, err := w.Image(1)
	if err != nil {
		t.Fatal(err)
	}
	return w, img
}

func TestApplyTargetFolder(t *testing.T) {
	w, img := smallWIM(t, "--compress=xpress")
	ctx := context.Background()

	// A missing folder is created, parents included.
	nested := filepath.Join(t.TempDir(), "a", "b", "out")
	if err := w.Apply(ctx, 1, nested, nil); err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile(filepath.Join(nested, "x/y/z.txt")); err != nil || string(data) != "zed\n" {
		t.Fatalf("x/y/z.txt: %q %v", data, err)
	}

	// An existing empty folder is used.
	empty := t.TempDir()
	if _, err := w.ApplyImage(ctx, img, empty, nil); err != nil {
		t.Fatal(err)
	}

	// A non-empty folder is refused and left alone.
	full := t.TempDir()
	keep := filepath.Join(full, "keep")
	if err := os.WriteFile(keep, []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := w.ApplyImage(ctx, img, full, nil)
	if err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("non-empty target: %v", err)
	}
	if ents, _ := os.ReadDir(full); len(ents) != 1 {
		t.Fatalf("non-empty target changed: %d entries", len(ents))
	}

	// A file is not a folder.
	_, err = w.ApplyImage(ctx, img, keep, nil)
	if err == nil || !strings.Contains(err.Error(), "not a folder") {
		t.Fatalf("file target: %v", err)
	}

	// No such image.
	if err := w.Apply(ctx, 2, t.TempDir(), nil); err == nil {
		t.Fatal("image 2 of 1 applied")
	}
}

func TestApplyCancelled(t *testing.T) {
	w, img := smallWIM(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := w.ApplyImage(ctx, img, filepath.Join(t.TempDir(), "out"), nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestApplyProgress(t *testing.T) {
	w, img := smallWIM(t, "--compress=lzx")
	var mu sync.Mutex
	var reps []progress.Report
	st, err := w.ApplyImage(context.Background(), img, filepath.Join(t.TempDir(), "out"), func(r progress.Report) {
		mu.Lock()
		reps = append(reps, r)
		mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(reps) < 2 {
		t.Fatalf("reports %+v", reps)
	}
	var total int64
	img.Walk(func(_ string, f *File) error { total += f.Size; return nil })
	last := reps[len(reps)-1]
	if last.Phase != PhaseApplyData || last.Done != last.Total || last.Total != st.Bytes || st.Bytes != total || total != 4+13+13 {
		t.Fatalf("last report %+v, stats %+v", last, *st)
	}
	for i := 1; i < len(reps); i++ {
		if reps[i].Done < reps[i-1].Done {
			t.Fatalf("progress went back: %+v", reps)
		}
	}
}

// linkData encodes the reparse data (without its 8-byte header) of a
// symlink (flags >= 0) or junction (flags < 0).
func linkData(sub, print string, flags int) []byte {
	s := utf16.Encode([]rune(sub))
	p := utf16.Encode([]rune(print))
	var b []byte
	le := binary.LittleEndian
	b = le.AppendUint16(b, 0)
	b = le.AppendUint16(b, uint16(2*len(s)))
	b = le.AppendUint16(b, uint16(2*len(s)+2))
	b = le.AppendUint16(b, uint16(2*len(p)))
	if flags >= 0 {
		b = le.AppendUint32(b, uint32(flags))
	}
	for _, u := range s {
		b = le.AppendUint16(b, u)
	}
	b = le.AppendUint16(b, 0)
	for _, u := range p {
		b = le.AppendUint16(b, u)
	}
	return le.AppendUint16(b, 0)
}

func TestLinkTarget(t *testing.T) {
	const rel, junction = 1, -1
	tests := []struct {
		name    string
		tag     uint32
		flags   uint16
		data    []byte
		altroot string
		want    string
		err     string
	}{
		{"relative", ReparseTagSymlink, 0, linkData(`a\b.txt`, `a\b.txt`, rel), "/x", "a/b.txt", ""},
		{"relative dotdot", ReparseTagSymlink, 0, linkData(`..\..\etc`, ``, rel), "/x", "../../etc", ""},
		{"slash swapped", ReparseTagSymlink, 0, linkData(`back/slash`, ``, rel), "", `back\slash`, ""},
		{"absolute fixed", ReparseTagSymlink, 0, linkData(`\??\C:\dir\f`, `C:\dir\f`, 0), "/tmp/out", "/tmp/out/dir/f", ""},
		{"absolute fixed no rpfix", ReparseTagSymlink, 0, linkData(`\??\C:\dir\f`, ``, 0), "", "/dir/f", ""},
		{"absolute not fixed", ReparseTagSymlink, ReparseNotFixed, linkData(`\??\C:\etc\passwd`, ``, 0), "/tmp/out", "/etc/passwd", ""},
		{"device path", ReparseTagSymlink, ReparseNotFixed, linkData(`\Device\HarddiskVolume1\x`, ``, 0), "", "/x", ""},
		{"dosdevices", ReparseTagSymlink, ReparseNotFixed, linkData(`\DosDevices\\D:\y`, ``, 0), "", "/y", ""},
		{"root only", ReparseTagSymlink, ReparseNotFixed, linkData(`\??\C:`, ``, 0), "", "/", ""},
		{"root only fixed", ReparseTagSymlink, 0, linkData(`\??\C:`, ``, 0), "/tmp/out", "/tmp/out", ""},
		{"junction", ReparseTagMountPoint, 0, linkData(`\??\C:\Users`, `C:\Users`, junction), "/r", "/r/Users", ""},
		{"junction not fixed", ReparseTagMountPoint, ReparseNotFixed, linkData(`\??\C:\Users`, ``, junction), "/r", "/Users", ""},
		{"nul ends target", ReparseTagSymlink, 0, linkData("ab\x00cd", ``, rel), "", "ab", ""},
		{"not a link", 0x80000017, 0, linkData(`x`, ``, rel), "", "", "not a link"},
		{"too short", ReparseTagSymlink, 0, []byte{1, 2, 3}, "", "", "too short"},
		{"symlink too short", ReparseTagSymlink, 0, make([]byte, 10), "", "", "too short for a symbolic link"},
		{"odd offsets", ReparseTagSymlink, 0, []byte{1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 'a', 0}, "", "", "misaligned"},
		{"names overflow", ReparseTagSymlink, 0, []byte{0, 0, 0x10, 0, 0, 0, 0, 0, 1, 0, 0, 0, 'a', 0}, "", "", "run past"},
		{"too long", ReparseTagSymlink, 0, make([]byte, maxReparseData+1), "", "", "exceeds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := linkTarget(tt.tag, tt.flags, tt.data, tt.altroot)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("got %q, %v; want error containing %q", got, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// TestApplyNeverEscapes applies hand-built images with hostile shapes (the
// kind ParseMetadata refuses, built directly) next to a sentinel file and
// checks that nothing outside the target folder is created or changed.
func TestApplyNeverEscapes(t *testing.T) {
	w, good := smallWIM(t)
	// A symlink entry whose reparse data points outside: take the blob of
	// a real absolute link.
	src := filepath.Join(t.TempDir(), "links")
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/", filepath.Join(src, "toroot")); err != nil {
		t.Fatal(err)
	}
	lp := filepath.Join(t.TempDir(), "links.wim")
	imgCapture(t, src, lp, "--norpfix")
	lw := imgOpen(t, lp)
	limg, err := lw.Image(1)
	if err != nil {
		t.Fatal(err)
	}
	linkEntry := limg.Lookup("/toroot")
	if linkEntry == nil || !linkEntry.IsSymlink() {
		t.Fatal("no link in fixture")
	}
	newLink := func(name string) *File {
		c := *linkEntry
		c.Name = name
		return &c
	}
	file := func(name string) *File {
		return &File{Name: name, Attributes: AttrNormal, SecurityID: -1, Modified: fixtureTime, Accessed: fixtureTime}
	}
	dir := func(name string, kids ...*File) *File {
		d := &File{Name: name, Attributes: AttrDirectory, SecurityID: -1, Modified: fixtureTime, Accessed: fixtureTime, Children: kids}
		for _, k := range kids {
			k.Parent = d
		}
		return d
	}
	cases := []struct {
		name string
		root *File
		w    *WIM
	}{
		{"dotdot file", dir("", file("..")), w},
		{"dotdot dir", dir("", dir("..", file("evil"))), w},
		{"dot dir", dir("", dir(".", file("evil"))), w},
		{"slash", dir("", file("../evil")), w},
		{"absolute", dir("", file("/tmp/evil")), w},
		// Literal characters on POSIX; refused on Windows.
		{"backslash", dir("", file(`..\evil`)), w},
		{"drive", dir("", file("C:evil")), w},
		{"nul", dir("", file("evil\x00")), w},
		{"empty", dir("", file("")), w},
		// A link and a folder of one name: the folder and its file are
		// created first, then the link fails; nothing is followed.
		{"link shadows folder", dir("", dir("x", file("evil")), newLink("x")), lw},
		// A link that points to / next to files: links come last.
		{"link to root", dir("", newLink("a"), dir("b", file("evil"))), lw},
		// A folder whose child is its own ancestor.
		{"cycle", func() *File {
			r := dir("", dir("d"))
			r.Children[0].Children = []*File{r}
			return r
		}(), w},
	}
	_ = good
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			base := t.TempDir()
			sentinel := filepath.Join(base, "sentinel")
			if err := os.WriteFile(sentinel, []byte("untouched"), 0o644); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(base, "out", "target")
			img := &Image{Index: 1, Root: tc.root}
			_, err := tc.w.ApplyImage(context.Background(), img, out, nil)
			t.Logf("ApplyImage: %v", err)
			ents, _ := os.ReadDir(base)
			if len(ents) != 2 {
				var names []string
				for _, e := range ents {
					names = append(names, e.Name())
				}
				t.Fatalf("outside the target: %q", names)
			}
			if ents, _ := os.ReadDir(filepath.Join(base, "out")); len(ents) != 1 {
				t.Fatalf("%d entries beside the target", len(ents))
			}
			if data, _ := os.ReadFile(sentinel); !bytes.Equal(data, []byte("untouched")) {
				t.Fatal("sentinel changed")
			}
			if _, err := os.Lstat("/tmp/evil"); err == nil {
				t.Fatal("/tmp/evil created")
			}
			if _, err := os.Lstat("/evil"); err == nil {
				t.Fatal("/evil created")
			}
			if strings.HasPrefix(tc.name, "link ") {
				// The link itself must have been created inside, or failed.
				if err == nil {
					if _, lerr := os.Lstat(filepath.Join(out, "a")); lerr != nil {
						t.Fatal("link missing")
					}
				}
				return
			}
			if tc.name == "backslash" || tc.name == "drive" {
				// Not hostile here: the name is created as it is, inside.
				if err != nil {
					t.Fatalf("%s: %v", tc.name, err)
				}
				if _, err := os.Lstat(filepath.Join(out, tc.root.Children[0].Name)); err != nil {
					t.Fatalf("literal name not created inside the target: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("hostile image applied without error")
			}
		})
	}
}

// TestApplyMissingBlob checks that a blob found nowhere stops the
// extraction with an error naming the path.
func TestApplyMissingBlob(t *testing.T) {
	w, _ := smallWIM(t)
	f := &File{Name: "lost", Attributes: AttrNormal, SecurityID: -1, Hash: mh(0xAB), Size: 10}
	root := &File{Attributes: AttrDirectory, SecurityID: -1, Children: []*File{f}}
	f.Parent = root
	_, err := w.ApplyImage(context.Background(), &Image{Index: 1, Root: root}, t.TempDir(), nil)
	var mb *MissingBlobError
	if !errors.As(err, &mb) || mb.Hash != mh(0xAB) || !strings.Contains(err.Error(), "/lost") {
		t.Fatalf("err = %v", err)
	}
}

// TestApplyCancelMidway cancels while file data is being written: the
// extraction stops with the context's error before creating any link.
func TestApplyCancelMidway(t *testing.T) {
	p := filepath.Join(t.TempDir(), "src.wim")
	imgCapture(t, makeSourceTree(t), p, "--compress=xpress")
	w := imgOpen(t, p)
	img, err := w.Image(1)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := filepath.Join(t.TempDir(), "out")
	_, err = w.ApplyImage(ctx, img, out, func(r progress.Report) {
		if r.Done > 0 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if _, err := os.Lstat(filepath.Join(out, "rel")); err == nil {
		t.Fatal("links created after cancellation")
	}
}
