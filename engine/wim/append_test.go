package wim

import (
	"bytes"
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"

	"github.com/wimconsole/wimconsole/internal/oracle"
)

// TestAppendIntegrity appends to a file with an integrity table larger
// than one integrity chunk: the table is kept, its unchanged chunks
// reused, and it checks out with wimlib and our reader.
func TestAppendIntegrity(t *testing.T) {
	oracle.Wimlib(t)
	ctx := context.Background()
	src := wtSampleTree(t, 31)
	big := make([]byte, 11<<20)
	rand.Read(big)
	if err := os.WriteFile(filepath.Join(src, "big.rnd"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	wtSetTimes(t, src)
	file := filepath.Join(t.TempDir(), "i.wim")
	if _, err := Capture(ctx, src, file, CaptureOptions{Name: "a", Integrity: true}); err != nil {
		t.Fatal(err)
	}
	src2 := wtSampleTree(t, 32)
	if _, err := Capture(ctx, src2, file, CaptureOptions{Name: "b", Append: true}); err != nil {
		t.Fatal(err)
	}
	w := imgOpenW(t, file)
	if w.Header().Integrity.IsZero() {
		t.Fatal("append dropped the integrity table")
	}
	if err := w.CheckIntegrity(ctx); err != nil {
		t.Fatal(err)
	}
	oracle.Run(t, "verify", file) // checks the integrity table too
	wtCheckWimlib(t, file, nil, src, src2)
	wtCheckOurs(t, file, nil, src, src2)
}

// TestAppendAfterInterruption appends to a file that has junk after its
// end, as an interrupted append leaves it: the junk is overwritten and cut
// off.
func TestAppendAfterInterruption(t *testing.T) {
	oracle.Wimlib(t)
	ctx := context.Background()
	src := wtSampleTree(t, 33)
	file := filepath.Join(t.TempDir(), "j.wim")
	if _, err := Capture(ctx, src, file, CaptureOptions{Name: "a", Compression: XPRESS}); err != nil {
		t.Fatal(err)
	}
	size := fileSize(t, file)
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(bytes.Repeat([]byte("junk"), 300000))
	f.Close()
	// Also leave the write-in-progress flag, as a killed writer does.
	w0, err := OpenAppend(file, WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w0.stopPipeline()
	w0.f.Close() // no Abort: the flag stays set
	oracle.Run(t, "verify", file)
	wtCheckOurs(t, file, nil, src)

	src2 := wtSampleTree(t, 34)
	if _, err := Capture(ctx, src2, file, CaptureOptions{Name: "b", Append: true}); err != nil {
		t.Fatal(err)
	}
	if got := fileSize(t, file); got > size+600000 { // the junk was 1.2 MB
		t.Errorf("file is %d bytes: junk was kept (was %d)", got, size)
	}
	w := imgOpenW(t, file)
	if w.Header().Flags&FlagWriteInProgress != 0 {
		t.Error("write-in-progress flag left set")
	}
	wtCheckWimlib(t, file, nil, src, src2)
	wtCheckOurs(t, file, nil, src, src2)
}

// TestSoftDelete deletes images in place and checks what remains.
func TestSoftDelete(t *testing.T) {
	oracle.Wimlib(t)
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), "s.wim")
	var srcs []string
	for i := 0; i < 3; i++ {
		src := wtSampleTree(t, uint64(40+i))
		srcs = append(srcs, src)
		if _, err := Capture(ctx, src, file, CaptureOptions{Name: string(rune('a' + i)), Compression: LZX, Append: i > 0, Boot: i == 2}); err != nil {
			t.Fatal(err)
		}
	}
	size := fileSize(t, file)
	if err := DeleteImage(ctx, file, 2, true); err != nil {
		t.Fatal(err)
	}
	if fileSize(t, file) < size {
		t.Error("a soft delete shrank the file")
	}
	wtCheckWimlib(t, file, nil, srcs[0], srcs[2])
	wtCheckOurs(t, file, nil, srcs[0], srcs[2])
	w := imgOpenW(t, file)
	if w.XML().Image(1).Name != "a" || w.XML().Image(2).Name != "c" || w.BootIndex() != 2 {
		t.Errorf("after deleting image 2: names %q, %q, boot %d", w.XML().Image(1).Name, w.XML().Image(2).Name, w.BootIndex())
	}
	if err := DeleteImage(ctx, file, 2, true); err != nil {
		t.Fatal(err)
	}
	if b := imgOpenW(t, file).BootIndex(); b != 0 {
		t.Errorf("boot index %d after deleting the boot image", b)
	}
	if err := DeleteImage(ctx, file, 5, true); err == nil {
		t.Error("deleting image 5 of 1 succeeded")
	}
	wtCheckWimlib(t, file, nil, srcs[0])
	wtCheckOurs(t, file, nil, srcs[0])
}

// TestAppendResourceOnly grows a Res.rwm in place with the blobs of a new
// image whose metadata goes to its own metadata-only file, as a WDS group
// gains an image.
func TestAppendResourceOnly(t *testing.T) {
	oracle.Wimlib(t)
	ctx := context.Background()
	dir := t.TempDir()
	res := filepath.Join(dir, "Res.rwm")
	var srcs, files []string
	for i := 0; i < 2; i++ {
		src := wtSampleTree(t, uint64(50+i))
		srcs = append(srcs, src)
		var rw *Writer
		var err error
		if i == 0 {
			rw, err = Create(res, WriteOptions{Compression: XPRESS, ResourceOnly: true})
		} else {
			rw, err = OpenAppend(res, WriteOptions{})
		}
		if err != nil {
			t.Fatal(err)
		}
		img, err := rw.CaptureTree(ctx, src, TreeOptions{RPFix: true})
		if err != nil {
			t.Fatal(err)
		}
		if err := rw.Close(); err != nil {
			t.Fatal(err)
		}
		name := filepath.Join(dir, string(rune('a'+i))+".wim")
		mw, err := Create(name, WriteOptions{Compression: XPRESS, MetadataOnly: true, RPFix: true})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := mw.AddImage(ctx, img, ImageInfo{Name: "img"}); err != nil {
			t.Fatal(err)
		}
		if err := mw.Close(); err != nil {
			t.Fatal(err)
		}
		files = append(files, name)
	}
	r := imgOpenW(t, res)
	if r.Header().Flags&FlagResourceOnly == 0 || r.ImageCount() != 0 {
		t.Errorf("Res.rwm: flags 0x%x, %d images", r.Header().Flags, r.ImageCount())
	}
	oracle.Run(t, "verify", res)
	for i, f := range files {
		wtCheckWimlib(t, f, []string{res}, srcs[i])
		wtCheckOurs(t, f, []string{res}, srcs[i])
	}
	// A resource-only file takes no image.
	rw, err := OpenAppend(res, WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer rw.Abort()
	if _, err := rw.AddImage(ctx, &Image{}, ImageInfo{}); err == nil {
		t.Error("AddImage to a resource-only file succeeded")
	}
}

// TestAppendRefuses checks files that cannot be appended to. (An LZMS file
// can be, since issue 17; without an LZMS compressor in the build, adding
// data to it is refused: TestLZMSFiles.)
func TestAppendRefuses(t *testing.T) {
	for _, name := range []string{"split.swm"} {
		p := filepath.Join("testdata", "container", name)
		if _, err := os.Stat(p); err != nil {
			t.Skipf("no fixture %s", p)
		}
		tmp := filepath.Join(t.TempDir(), name)
		data, _ := os.ReadFile(p)
		os.WriteFile(tmp, data, 0o644)
		if w, err := OpenAppend(tmp, WriteOptions{}); err == nil {
			w.Abort()
			t.Errorf("OpenAppend %s succeeded", name)
		}
		if got, _ := os.ReadFile(tmp); !bytes.Equal(got, data) {
			t.Errorf("%s changed", name)
		}
	}
}

// TestAppendLock: a second writer is refused while one has the file open.
func TestAppendLock(t *testing.T) {
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), "l.wim")
	if _, err := Capture(ctx, wtSampleTree(t, 35), file, CaptureOptions{Name: "a", Compression: XPRESS}); err != nil {
		t.Fatal(err)
	}
	w, err := OpenAppend(file, WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if w2, err := OpenAppend(file, WriteOptions{}); err == nil {
		w2.Abort()
		if lockFile(nil) == nil {
			t.Skip("no file locks on this system")
		}
		t.Error("a second OpenAppend succeeded")
	}
	if err := Optimize(ctx, file, OptimizeOptions{}); err == nil {
		t.Error("Optimize during an append succeeded")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	w2, err := OpenAppend(file, WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w2.Abort()
}

// TestReplaceImage removes an image and adds another in one in-place
// write: one header commits both.
func TestReplaceImage(t *testing.T) {
	oracle.Wimlib(t)
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), "r.wim")
	a, b, c := wtSampleTree(t, 36), wtSampleTree(t, 37), wtSampleTree(t, 38)
	for i, s := range []string{a, b} {
		if _, err := Capture(ctx, s, file, CaptureOptions{Name: string(rune('a' + i)), Compression: LZX, Append: i > 0}); err != nil {
			t.Fatal(err)
		}
	}
	w, err := OpenAppend(file, WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.RemoveImage(1); err != nil {
		t.Fatal(err)
	}
	img, err := w.CaptureTree(ctx, c, TreeOptions{RPFix: true})
	if err != nil {
		t.Fatal(err)
	}
	if idx, err := w.AddImage(ctx, img, ImageInfo{Name: "a"}); err != nil || idx != 2 {
		t.Fatalf("AddImage: %d, %v", idx, err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	wtCheckWimlib(t, file, nil, b, c)
	wtCheckOurs(t, file, nil, b, c)
}
