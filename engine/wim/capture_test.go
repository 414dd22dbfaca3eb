package wim

import (
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wimconsole/wimconsole/internal/oracle"
)

// TestCapture captures the sample tree with each codec and checks the
// result with wimlib (verify, apply, XML) and with our reader.
func TestCapture(t *testing.T) {
	oracle.Wimlib(t)
	src := wtSampleTree(t, 1)
	for _, c := range []Compression{None, XPRESS, LZX} {
		t.Run(c.String(), func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "c.wim")
			before := time.Now().Add(-time.Second)
			idx, err := Capture(context.Background(), src, file, CaptureOptions{
				Name: "Sample", Description: "the sample tree", Compression: c, Integrity: true, Boot: true})
			if err != nil {
				t.Fatal(err)
			}
			if idx != 1 {
				t.Errorf("index %d, want 1", idx)
			}
			wtCheckWimlib(t, file, nil, src)
			wtCheckOurs(t, file, nil, src)

			// XML fields, as wimlib reads them, against wimlib's own
			// capture of the same tree.
			ref := filepath.Join(t.TempDir(), "ref.wim")
			oracle.Run(t, "capture", src, ref, "Sample")
			for _, f := range []string{"NAME", "DIRCOUNT", "FILECOUNT", "TOTALBYTES", "HARDLINKBYTES"} {
				if got, want := wtXMLField(t, file, 1, f), wtXMLField(t, ref, 1, f); got != want {
					t.Errorf("%s = %q, wimlib's capture has %q", f, got, want)
				}
			}
			if got := wtXMLField(t, file, 1, "DESCRIPTION"); got != "the sample tree" {
				t.Errorf("DESCRIPTION = %q", got)
			}
			w := imgOpenW(t, file)
			info := w.XML().Image(1)
			if info.Created.Before(before) || info.Modified.Before(before) {
				t.Errorf("times %v, %v: not set to now", info.Created, info.Modified)
			}
			for _, f := range []string{"CREATIONTIME", "LASTMODIFICATIONTIME"} {
				if v := wtXMLField(t, file, 1, f); !strings.HasPrefix(v, "<HIGHPART>0x") {
					t.Errorf("%s = %q", f, v)
				}
			}
			hdr := w.Header()
			if hdr.Version != VersionDefault || hdr.Compression() != c || hdr.BootIndex != 1 || hdr.BootMetadata.IsZero() ||
				hdr.Integrity.IsZero() || hdr.Flags&FlagRPFix == 0 || (c != None && hdr.ChunkSize != 32768) {
				t.Errorf("header %+v", hdr)
			}
			if err := w.CheckIntegrity(context.Background()); err != nil {
				t.Error(err)
			}
			if info := oracle.Run(t, "info", file); !strings.Contains(info, "Boot Index:     1") {
				t.Errorf("wimlib sees no boot index:\n%s", info)
			}
		})
	}
}

func imgOpenW(t testing.TB, file string, refs ...string) *WIM {
	t.Helper()
	w, err := Open(file, &OpenOptions{Refs: refs})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

// TestCaptureLinks checks the reparse data of captured symbolic links
// against wimlib's capture of the same links, and that a link into the
// tree is made relative to the root (RP fix), as wimlib does.
func TestCaptureLinks(t *testing.T) {
	oracle.Wimlib(t)
	src := filepath.Join(t.TempDir(), "src")
	wtBuild(t, src, []wtNode{
		{path: "dir/file", kind: 'f', data: []byte("x")},
		{path: "rel", kind: 'l', target: "dir/file"},
		{path: "outside", kind: 'l', target: "/etc/hostname"},
		{path: "dirlink", kind: 'l', target: "dir"},
		{path: "dots", kind: 'l', target: "../../x"},
	})
	// An absolute link into the tree.
	abs, _ := filepath.Abs(filepath.Join(src, "dir", "file"))
	if err := os.Symlink(abs, filepath.Join(src, "inside")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(src, filepath.Join(src, "toroot")); err != nil {
		t.Fatal(err)
	}
	ours := filepath.Join(t.TempDir(), "ours.wim")
	if _, err := Capture(context.Background(), src, ours, CaptureOptions{Name: "links"}); err != nil {
		t.Fatal(err)
	}
	ref := filepath.Join(t.TempDir(), "ref.wim")
	oracle.Run(t, "capture", src, ref, "links")
	a, b := imgOpenW(t, ours), imgOpenW(t, ref)
	ia, err := a.Image(1)
	if err != nil {
		t.Fatal(err)
	}
	ib, err := b.Image(1)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"rel", "outside", "dirlink", "dots", "inside", "toroot"} {
		fa, fb := ia.Lookup("/"+name), ib.Lookup("/"+name)
		if fa == nil || fb == nil {
			t.Fatalf("%s missing", name)
		}
		ra, _ := fa.Reparse()
		rb, _ := fb.Reparse()
		if fa.Attributes != fb.Attributes || fa.ReparseTag != fb.ReparseTag || fa.ReparseFlags != fb.ReparseFlags || ra.Hash != rb.Hash {
			t.Errorf("%s: ours attr 0x%x tag 0x%x flags %d data %s; wimlib attr 0x%x tag 0x%x flags %d data %s", name,
				fa.Attributes, fa.ReparseTag, fa.ReparseFlags, ra.Hash, fb.Attributes, fb.ReparseTag, fb.ReparseFlags, rb.Hash)
		}
	}
	if f := ia.Lookup("/inside"); f.ReparseFlags&ReparseNotFixed != 0 {
		t.Error("link into the tree not fixed")
	}
	// wimlib points a fixed link into the target folder when applying.
	out := filepath.Join(t.TempDir(), "out")
	oracle.Run(t, "apply", ours, "1", out)
	target, err := os.Readlink(filepath.Join(out, "inside"))
	if err != nil {
		t.Fatal(err)
	}
	outAbs, _ := filepath.Abs(out)
	if target != filepath.Join(outAbs, "dir", "file") {
		t.Errorf("applied link points to %q", target)
	}
}

func TestSymlinkReparseData(t *testing.T) {
	// Layout: offsets and lengths, flags, then the two names.
	d, err := SymlinkReparseData("a/b")
	if err != nil {
		t.Fatal(err)
	}
	le := binary.LittleEndian
	if le.Uint16(d[2:]) != 6 || le.Uint16(d[4:]) != 8 || le.Uint16(d[6:]) != 6 || le.Uint32(d[8:]) != 1 {
		t.Errorf("relative link header % x", d[:12])
	}
	if got := unitsToString(decodeUnits(d[12:18])); got != `a\b` {
		t.Errorf("substitute name %q", got)
	}
	d, err = SymlinkReparseData("/x")
	if err != nil {
		t.Fatal(err)
	}
	sub := unitsToString(decodeUnits(d[12 : 12+le.Uint16(d[2:])]))
	pr := unitsToString(decodeUnits(d[12+le.Uint16(d[4:]) : 12+le.Uint16(d[4:])+le.Uint16(d[6:])]))
	if sub != `\??\C:\x` || pr != `C:\x` || le.Uint32(d[8:]) != 0 {
		t.Errorf("absolute link: %q, %q, flags %d", sub, pr, le.Uint32(d[8:]))
	}
	if _, err := SymlinkReparseData(strings.Repeat("x", 9000)); err == nil {
		t.Error("overlong target accepted")
	}
	if _, err := SymlinkReparseData("\xff"); err == nil {
		t.Error("invalid UTF-8 accepted")
	}
}

// TestCaptureAppend adds images to a file in place, each time checking
// every image with wimlib and our reader.
func TestCaptureAppend(t *testing.T) {
	oracle.Wimlib(t)
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), "a.wim")
	var srcs []string
	for i := 0; i < 3; i++ {
		src := wtSampleTree(t, uint64(10+i))
		if i == 2 {
			src = wtSampleTree(t, 10) // same content as the first
		}
		srcs = append(srcs, src)
		before := fileSize(t, file)
		idx, err := Capture(ctx, src, file, CaptureOptions{Name: "img" + strconv.Itoa(i), Compression: LZX, Append: i > 0})
		if err != nil {
			t.Fatal(err)
		}
		if idx != i+1 {
			t.Fatalf("index %d, want %d", idx, i+1)
		}
		if i == 2 {
			// Nothing but a metadata resource and tables is new.
			if grow := fileSize(t, file) - before; grow > 20000 {
				t.Errorf("appending the same content grew the file by %d bytes", grow)
			}
		}
		wtCheckWimlib(t, file, nil, srcs...)
		wtCheckOurs(t, file, nil, srcs...)
	}
	// Names must be unique.
	if _, err := Capture(ctx, srcs[0], file, CaptureOptions{Name: "img1", Append: true}); err == nil {
		t.Error("a second image named img1 was accepted")
	}
	wtCheckOurs(t, file, nil, srcs...)
}

func fileSize(t testing.TB, name string) int64 {
	st, err := os.Stat(name)
	if err != nil {
		return 0
	}
	return st.Size()
}

func TestCaptureRefusesBadNames(t *testing.T) {
	for _, name := range []string{"bad\xffutf8"} {
		src := filepath.Join(t.TempDir(), "src")
		if err := os.MkdirAll(src, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(src, name), []byte("x"), 0o644); err != nil {
			t.Skipf("cannot make %q here: %v", name, err)
		}
		file := filepath.Join(t.TempDir(), "x.wim")
		if _, err := Capture(context.Background(), src, file, CaptureOptions{}); err == nil {
			t.Errorf("%q captured", name)
		}
		if _, err := os.Stat(file); err == nil {
			t.Errorf("%q: a file was left", name)
		}
	}
}

// TestCaptureReadsWimlibCapture checks that our reader extracts wimlib's
// capture of the sample tree as the tree itself (the read side of the same
// operation).
func TestCaptureReadsWimlibCapture(t *testing.T) {
	oracle.Wimlib(t)
	src := wtSampleTree(t, 2)
	for _, c := range []string{"none", "xpress", "lzx"} {
		file := filepath.Join(t.TempDir(), c+".wim")
		oracle.Run(t, "capture", src, file, "x", "--compress="+c)
		wtCheckOurs(t, file, nil, src)
	}
}

// TestCaptureIntoItself writes the WIM inside the folder being captured:
// the file being written is left out of the image.
func TestCaptureIntoItself(t *testing.T) {
	ctx := context.Background()
	src := wtSampleTree(t, 3)
	file := filepath.Join(src, "self.wim")
	for i := 0; i < 2; i++ {
		if _, err := Capture(ctx, src, file, CaptureOptions{Name: strconv.Itoa(i), Compression: XPRESS, Append: i > 0}); err != nil {
			t.Fatal(err)
		}
	}
	w := imgOpenW(t, file)
	img1, err := w.Image(1)
	if err != nil {
		t.Fatal(err)
	}
	img2, err := w.Image(2)
	if err != nil {
		t.Fatal(err)
	}
	if img1.Lookup("/self.wim") != nil {
		t.Error("image 1 holds the file being written")
	}
	if img2.Lookup("/self.wim") != nil {
		t.Error("image 2 holds the file it was appended to")
	}
	if err := w.Verify(ctx, nil); err != nil {
		t.Fatal(err)
	}
}
