package wim

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wimconsole/wimconsole/internal/oracle"
)

// wtReferenced returns the blobs the images of w reference.
func wtReferenced(t testing.TB, w *WIM) map[Hash]bool {
	t.Helper()
	refs := map[Hash]bool{}
	for i := 1; i <= w.ImageCount(); i++ {
		img, err := w.Image(i)
		if err != nil {
			t.Fatal(err)
		}
		img.Walk(func(_ string, f *File) error {
			if !f.Hash.IsZero() {
				refs[f.Hash] = true
			}
			for _, s := range f.Streams {
				if !s.Hash.IsZero() {
					refs[s.Hash] = true
				}
			}
			return nil
		})
	}
	return refs
}

// wtFileBlobs counts the file blobs of w's own table.
func wtFileBlobs(w *WIM) int {
	n := 0
	for _, e := range w.Blobs() {
		if !e.IsMetadata() {
			n++
		}
	}
	return n
}

func TestOptimize(t *testing.T) {
	oracle.Wimlib(t)
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), "o.wim")
	var srcs []string
	for i := 0; i < 3; i++ {
		src := wtSampleTree(t, uint64(60+i))
		srcs = append(srcs, src)
		if _, err := Capture(ctx, src, file, CaptureOptions{Name: string(rune('a' + i)), Compression: LZX, Append: i > 0, Boot: i == 1}); err != nil {
			t.Fatal(err)
		}
	}
	// Custom XML survives.
	oracle.Run(t, "info", file, "1", "--image-property", "CUSTOM/THING=kept", "--image-property", "WINDOWS/PRODUCTNAME=Product")
	if err := DeleteImage(ctx, file, 3, true); err != nil {
		t.Fatal(err)
	}
	before := fileSize(t, file)
	w := imgOpenW(t, file)
	if wtFileBlobs(w) <= len(wtReferenced(t, w)) {
		t.Fatal("test setup: no unreferenced blobs")
	}
	guid := w.Header().GUID
	w.Close()

	if err := Optimize(ctx, file, OptimizeOptions{}); err != nil {
		t.Fatal(err)
	}
	if after := fileSize(t, file); after >= before {
		t.Errorf("optimize: %d bytes, was %d", after, before)
	}
	w = imgOpenW(t, file)
	if n, m := wtFileBlobs(w), len(wtReferenced(t, w)); n != m {
		t.Errorf("%d blobs for %d referenced", n, m)
	}
	if w.Header().GUID != guid || w.BootIndex() != 2 || w.Header().Compression() != LZX {
		t.Errorf("header changed: %+v", w.Header())
	}
	if got := wtXMLField(t, file, 1, "CUSTOM"); got != "<THING>kept</THING>" {
		t.Errorf("CUSTOM = %q", got)
	}
	if got := wtXMLField(t, file, 1, "WINDOWS"); !strings.Contains(got, "<PRODUCTNAME>Product</PRODUCTNAME>") {
		t.Errorf("WINDOWS = %q", got)
	}
	wtCheckWimlib(t, file, nil, srcs[0], srcs[1])
	wtCheckOurs(t, file, nil, srcs[0], srcs[1])

	// Recompress into another codec.
	if err := Optimize(ctx, file, OptimizeOptions{Compression: ptr(XPRESS), Integrity: true}); err != nil {
		t.Fatal(err)
	}
	w = imgOpenW(t, file)
	if w.Header().Compression() != XPRESS || w.Header().Integrity.IsZero() {
		t.Errorf("header %+v", w.Header())
	}
	wtCheckWimlib(t, file, nil, srcs[0], srcs[1])
	wtCheckOurs(t, file, nil, srcs[0], srcs[1])

	// Recompress with the same codec.
	if err := Optimize(ctx, file, OptimizeOptions{Recompress: true}); err != nil {
		t.Fatal(err)
	}
	wtCheckWimlib(t, file, nil, srcs[0], srcs[1])
}

func TestDeleteImageRebuild(t *testing.T) {
	oracle.Wimlib(t)
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), "d.wim")
	var srcs []string
	for i := 0; i < 3; i++ {
		src := wtSampleTree(t, uint64(70+i))
		srcs = append(srcs, src)
		if _, err := Capture(ctx, src, file, CaptureOptions{Name: string(rune('a' + i)), Compression: XPRESS, Append: i > 0}); err != nil {
			t.Fatal(err)
		}
	}
	before := fileSize(t, file)
	if err := DeleteImage(ctx, file, 2, false); err != nil {
		t.Fatal(err)
	}
	if fileSize(t, file) >= before {
		t.Error("deleting an image freed nothing")
	}
	w := imgOpenW(t, file)
	if n, m := wtFileBlobs(w), len(wtReferenced(t, w)); n != m {
		t.Errorf("%d blobs for %d referenced", n, m)
	}
	wtCheckWimlib(t, file, nil, srcs[0], srcs[2])
	wtCheckOurs(t, file, nil, srcs[0], srcs[2])
	if err := DeleteImage(ctx, file, 3, false); err == nil {
		t.Error("deleting image 3 of 2 succeeded")
	}
}

// TestOptimizeGroupFiles rebuilds the two kinds of WDS group files: a
// Res.rwm keeps every blob and its reference counts; a metadata-only file
// keeps its image (with or without its Res.rwm given).
func TestOptimizeGroupFiles(t *testing.T) {
	oracle.Wimlib(t)
	ctx := context.Background()
	dir := t.TempDir()
	src := wtSampleTree(t, 80)
	res := filepath.Join(dir, "Res.rwm")
	img := filepath.Join(dir, "i.wim")
	rw, err := Create(res, WriteOptions{Compression: LZX, ResourceOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	tree, err := rw.CaptureTree(ctx, src, TreeOptions{RPFix: true})
	if err != nil {
		t.Fatal(err)
	}
	tree.Walk(func(_ string, f *File) error {
		if !f.Hash.IsZero() {
			rw.AddRef(f.Hash, 1)
		}
		return nil
	})
	if err := rw.Close(); err != nil {
		t.Fatal(err)
	}
	mw, err := Create(img, WriteOptions{Compression: LZX, MetadataOnly: true, RPFix: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mw.AddImage(ctx, tree, ImageInfo{Name: "x"}); err != nil {
		t.Fatal(err)
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	r0 := imgOpenW(t, res)
	blobs0 := r0.Blobs()
	r0.Close()
	total := wtXMLField(t, img, 1, "TOTALBYTES")

	if err := Optimize(ctx, res, OptimizeOptions{Compression: ptr(XPRESS)}); err != nil {
		t.Fatal(err)
	}
	r := imgOpenW(t, res)
	if r.Header().Flags&FlagResourceOnly == 0 || len(r.Blobs()) != len(blobs0) {
		t.Errorf("rebuilt Res.rwm: flags 0x%x, %d blobs (was %d)", r.Header().Flags, len(r.Blobs()), len(blobs0))
	}
	for _, e := range blobs0 {
		if got, ok := r.Blob(e.Hash); !ok || got.RefCount != e.RefCount {
			t.Errorf("blob %s: refcount %d, was %d", e.Hash, got.RefCount, e.RefCount)
		}
	}
	r.Close()
	for _, refs := range [][]string{nil, {res}} {
		if err := Optimize(ctx, img, OptimizeOptions{Refs: refs}); err != nil {
			t.Fatal(err)
		}
		if got := wtXMLField(t, img, 1, "TOTALBYTES"); got != total {
			t.Errorf("TOTALBYTES %s, was %s", got, total)
		}
		m := imgOpenW(t, img, res)
		if m.Header().Flags&FlagMetadataOnly == 0 {
			t.Errorf("flags 0x%x", m.Header().Flags)
		}
		m.Close()
		wtCheckWimlib(t, img, []string{res}, src)
		wtCheckOurs(t, img, []string{res}, src)
	}
}

// TestReadsWimlibWrites reads what wimlib writes for the operations this
// package implements: append, soft and full delete, optimize, export.
func TestReadsWimlibWrites(t *testing.T) {
	oracle.Wimlib(t)
	dir := t.TempDir()
	a, b, c := wtSampleTree(t, 110), wtSampleTree(t, 111), wtSampleTree(t, 112)
	file := filepath.Join(dir, "w.wim")
	oracle.Run(t, "capture", a, file, "a", "--compress=xpress", "--check")
	oracle.Run(t, "append", b, file, "b")
	oracle.Run(t, "append", c, file, "c")
	wtCheckOurs(t, file, nil, a, b, c)
	oracle.Run(t, "delete", file, "2", "--soft")
	wtCheckOurs(t, file, nil, a, c)
	oracle.Run(t, "optimize", file, "--compress=lzx")
	wtCheckOurs(t, file, nil, a, c)
	oracle.Run(t, "delete", file, "1")
	wtCheckOurs(t, file, nil, c)
	out := filepath.Join(dir, "e.wim")
	oracle.Run(t, "export", file, "1", out, "--compress=none")
	wtCheckOurs(t, out, nil, c)
}
