package wim

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wimconsole/wimconsole/engine/progress"
	"github.com/wimconsole/wimconsole/internal/oracle"
)

// solidCheck7z fails unless 7-Zip tests file as sound.
func solidCheck7z(t *testing.T, file string) {
	t.Helper()
	out, err := exec.Command(oracle.Need(t, "7z"), "t", file).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Everything is Ok") {
		t.Errorf("7z t %s: %v\n%s", file, err, out)
	}
}

// solidAddFile adds a file to the top of a sample tree, with a time a WIM
// holds exactly.
func solidAddFile(t *testing.T, dir, name, data string) {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, wtTime(7), wtTime(7)); err != nil {
		t.Fatal(err)
	}
}

// solidCheckRefs fails unless every file blob's reference count is the
// number of references the images make to it.
func solidCheckRefs(t *testing.T, file string) {
	t.Helper()
	w, err := Open(file, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	compareWithWimlib(t, w) // wimlib's view of every blob: offsets, sizes, references
	want := map[Hash]uint32{}
	for i := 1; i <= w.ImageCount(); i++ {
		img, err := w.Image(i)
		if err != nil {
			t.Fatal(err)
		}
		for f := range img.All() {
			if !f.Hash.IsZero() {
				want[f.Hash]++
			}
			for _, st := range f.Streams {
				if !st.Hash.IsZero() {
					want[st.Hash]++
				}
			}
		}
	}
	for _, e := range w.Blobs() {
		if !e.IsMetadata() && e.RefCount != want[e.Hash] {
			t.Errorf("blob %s: reference count %d, images make %d", e.Hash, e.RefCount, want[e.Hash])
		}
	}
}

// solidStats opens file and returns its version and number of solid
// resources.
func solidStats(t *testing.T, file string) (uint32, int) {
	t.Helper()
	w, err := Open(file, nil)
	if err != nil {
		t.Fatalf("Open %s: %v", file, err)
	}
	defer w.Close()
	return w.Header().Version, len(w.solidResources())
}

// writeTwoImages writes a new file holding the two folders as images 1
// and 2, each capture ending in its own solid resource.
func writeTwoImages(t *testing.T, file string, opts WriteOptions, dirs ...string) {
	t.Helper()
	ctx := context.Background()
	w, err := Create(file, opts)
	if err != nil {
		t.Fatal(err)
	}
	for i, dir := range dirs {
		img, err := w.CaptureTree(ctx, dir, TreeOptions{})
		if err != nil {
			w.Abort()
			t.Fatal(err)
		}
		if _, err := w.AddImage(ctx, img, ImageInfo{Name: "img" + string(rune('1'+i))}); err != nil {
			w.Abort()
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestSolidWriteReadByWimlib writes solid files with LZX and XPRESS solid
// resources (several chunks, several resources in one run) and checks
// them with our reader, wimlib-imagex verify and apply, and 7z t.
func TestSolidWriteReadByWimlib(t *testing.T) {
	oracle.Wimlib(t)
	a, b := wtSampleTree(t, 1), wtSampleTree(t, 2)
	solidAddFile(t, b, "only-in-b.txt", strings.Repeat("bee ", 50000))
	cases := []struct {
		name   string
		header Compression
		solid  Compression
		chunk  int
	}{
		{"lzx-32k", LZX, LZX, 32768},
		{"lzx-64k-header-xpress", XPRESS, LZX, 65536},
		{"xpress-4k", XPRESS, XPRESS, 4096},
		{"xpress-header-none", None, XPRESS, 16384},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "out.esd")
			writeTwoImages(t, file, WriteOptions{Compression: c.header, Solid: true, SolidCompression: c.solid, SolidChunkSize: c.chunk, Threads: 2}, a, b)
			v, n := solidStats(t, file)
			if v != VersionSolid || n < 2 {
				t.Fatalf("version 0x%x with %d solid resources, want 0x%x with 2 or more", v, n, VersionSolid)
			}
			wtCheckOurs(t, file, nil, a, b)
			wtCheckWimlib(t, file, nil, a, b)
			solidCheckRefs(t, file)
			out := oracle.Run(t, "info", file)
			if !strings.Contains(out, "Solid") && !strings.Contains(out, "solid") {
				t.Logf("wimlib info:\n%s", out)
			}
			solidCheck7z(t, file)
		})
	}
}

// TestSolidAppend appends images into solid files: a wimlib-made solid
// LZX file, one of ours, and a non-solid file turned solid; wimlib then
// verifies and applies every image.
func TestSolidAppend(t *testing.T) {
	oracle.Wimlib(t)
	a, b, c := wtSampleTree(t, 3), wtSampleTree(t, 4), wtSampleTree(t, 5)
	solidAddFile(t, c, "only-in-c.bin", strings.Repeat("sea ", 40000))
	ctx := context.Background()
	cases := []struct {
		name  string
		make  func(t *testing.T, file string)
		opts  CaptureOptions
		solid bool // the result has solid resources
	}{
		{"wimlib-solid-lzx", func(t *testing.T, file string) {
			oracle.Run(t, "capture", a, file, "img1", "--solid", "--solid-compress=lzx", "--solid-chunk-size=32768", "--compress=lzx")
			oracle.Run(t, "append", b, file, "img2", "--solid", "--solid-compress=lzx", "--solid-chunk-size=32768")
		}, CaptureOptions{}, true},
		{"wimlib-solid-xpress-header-lzx", func(t *testing.T, file string) {
			oracle.Run(t, "capture", a, file, "img1", "--solid", "--solid-compress=xpress", "--compress=lzx")
			oracle.Run(t, "append", b, file, "img2", "--solid", "--solid-compress=xpress")
		}, CaptureOptions{}, true},
		{"ours-solid-xpress", func(t *testing.T, file string) {
			writeTwoImages(t, file, WriteOptions{Compression: XPRESS, Solid: true, SolidCompression: XPRESS, SolidChunkSize: 8192}, a, b)
		}, CaptureOptions{}, true},
		{"non-solid-made-solid", func(t *testing.T, file string) {
			writeTwoImages(t, file, WriteOptions{Compression: LZX}, a, b)
		}, CaptureOptions{Solid: true, SolidCompression: LZX, SolidChunkSize: 32768}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "x.esd")
			tc.make(t, file)
			o := tc.opts
			o.Append, o.Name, o.NoRPFix = true, "img3", true
			idx, err := Capture(ctx, c, file, o)
			if err != nil {
				t.Fatalf("append: %v", err)
			}
			if idx != 3 {
				t.Fatalf("new image is %d, want 3", idx)
			}
			if v, n := solidStats(t, file); tc.solid && (v != VersionSolid || n < 2) {
				t.Fatalf("version 0x%x with %d solid resources after append", v, n)
			}
			wtCheckWimlib(t, file, nil, "", "", c)
			wtCheckOurs(t, file, nil, "", "", c)
			solidCheck7z(t, file)
			// And once more: a file we appended to takes another.
			if _, err := Capture(ctx, a, file, CaptureOptions{Append: true, Name: "img4", NoRPFix: true}); err != nil {
				t.Fatalf("second append: %v", err)
			}
			wtCheckWimlib(t, file, nil, "", "", c, "")
			solidCheckRefs(t, file)
		})
	}
}

// TestLZMSFiles covers wimlib's LZMS files: non-solid LZMS and a solid
// LZMS ESD. An image is removed in place (no compression needed) and one
// appended: with an LZMS compressor in the build wimlib verifies the
// result, without one the append is refused in plain words and the file
// stays as it was.
func TestLZMSFiles(t *testing.T) {
	oracle.Wimlib(t)
	a, b := wtSampleTree(t, 6), wtSampleTree(t, 7)
	ctx := context.Background()
	for _, args := range [][]string{{"--compress=lzms"}, {"--solid"}} {
		t.Run(strings.TrimPrefix(args[0], "--"), func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "x.esd")
			oracle.Run(t, append([]string{"capture", a, file, "img1"}, args...)...)
			oracle.Run(t, append([]string{"append", b, file, "img2"}, args...)...)
			if err := DeleteImage(ctx, file, 1, true); err != nil {
				t.Fatalf("soft delete: %v", err)
			}
			wtCheckWimlib(t, file, nil, b)
			if _, err := Capture(ctx, a, file, CaptureOptions{Append: true, Name: "again", NoRPFix: true}); err != nil {
				t.Fatalf("append: %v", err)
			}
			wtCheckWimlib(t, file, nil, b, a)
		})
	}
}

// TestExportSolid converts between WIM and ESD: a WIM exported with Solid
// (LZX solid until LZMS can be written) and a wimlib ESD exported to an
// LZX WIM, checked by wimlib and 7z.
func TestExportSolid(t *testing.T) {
	oracle.Wimlib(t)
	a, b := wtSampleTree(t, 8), wtSampleTree(t, 9)
	ctx := context.Background()
	dir := t.TempDir()

	wimFile := filepath.Join(dir, "src.wim")
	writeTwoImages(t, wimFile, WriteOptions{Compression: LZX}, a, b)
	src, err := Open(wimFile, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	esd := filepath.Join(dir, "out.esd")
	if _, err := Export(ctx, src, []int{1, 2}, esd, ExportOptions{Solid: true, SolidCompression: LZMS, SolidChunkSize: 1 << 15}); err != nil {
		t.Fatalf("WIM to ESD: %v", err)
	}
	if v, n := solidStats(t, esd); v != VersionSolid || n == 0 {
		t.Fatalf("ESD has version 0x%x and %d solid resources", v, n)
	}
	wtCheckWimlib(t, esd, nil, a, b)
	solidCheck7z(t, esd)

	wesd := filepath.Join(dir, "wimlib.esd")
	oracle.Run(t, "capture", a, wesd, "one", "--solid")
	oracle.Run(t, "append", b, wesd, "two", "--solid")
	es, err := Open(wesd, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer es.Close()
	lzx := LZX
	back := filepath.Join(dir, "back.wim")
	if _, err := Export(ctx, es, []int{2}, back, ExportOptions{Compression: &lzx}); err != nil {
		t.Fatalf("ESD to WIM: %v", err)
	}
	if v, n := solidStats(t, back); v != VersionDefault || n != 0 {
		t.Fatalf("WIM has version 0x%x and %d solid resources", v, n)
	}
	wtCheckWimlib(t, back, nil, b)
	solidCheck7z(t, back)
}

// TestSolidChunkOptions checks the codec and chunk size checks and
// defaults of solid writing.
func TestSolidChunkOptions(t *testing.T) {
	cases := []struct {
		o       WriteOptions
		ok      bool
		codec   Compression
		chunk   int
		version uint32
	}{
		{WriteOptions{Compression: LZX, Solid: true, SolidCompression: LZX}, true, LZX, 32768, VersionSolid},
		{WriteOptions{Compression: XPRESS, Solid: true, SolidCompression: XPRESS}, true, XPRESS, 32768, VersionSolid},
		{WriteOptions{Compression: LZX, Solid: true, SolidCompression: LZX, SolidChunkSize: 1 << 21}, true, LZX, 1 << 21, VersionSolid},
		{WriteOptions{Compression: LZX, Solid: true, SolidCompression: LZX, SolidChunkSize: 1 << 22}, false, 0, 0, 0},
		{WriteOptions{Compression: LZX, Solid: true, SolidCompression: XPRESS, SolidChunkSize: 1 << 17}, false, 0, 0, 0},
		{WriteOptions{Compression: LZX, Solid: true, SolidCompression: Compression(7)}, false, 0, 0, 0},
		{WriteOptions{Compression: LZX}, true, None, 0, VersionDefault},
	}
	for _, c := range cases {
		w, err := Create(filepath.Join(t.TempDir(), "x.wim"), c.o)
		if (err == nil) != c.ok {
			t.Errorf("Create(%+v): %v", c.o, err)
			continue
		}
		if err != nil {
			continue
		}
		if w.solid.codec != c.codec || w.solid.chunk != c.chunk || w.hdr.Version != c.version {
			t.Errorf("Create(%+v): solid %v/%d version 0x%x, want %v/%d 0x%x", c.o, w.solid.codec, w.solid.chunk, w.hdr.Version, c.codec, c.chunk, c.version)
		}
		w.Abort()
	}
	if got := defaultChunkSize(LZMS, true); got != 64<<20 {
		t.Errorf("solid LZMS chunk %d", got)
	}
	if got := defaultChunkSize(LZMS, false); got != 128<<10 {
		t.Errorf("LZMS chunk %d", got)
	}
}

// TestSolidExportCancel cancels solid exports from the progress callback
// part-way: Export returns the context's error, a new destination is not
// left behind (nor its temporary file) and an appended one keeps its bytes;
// nothing hangs on the window of solid chunks in flight.
func TestSolidExportCancel(t *testing.T) {
	src := cancelSource(t, true, 4, 4, 4)
	s, err := Open(src, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, appendTo := range []bool{false, true} {
		dir := t.TempDir()
		dest := filepath.Join(dir, "out.esd")
		var before []byte
		if appendTo {
			w, err := Create(dest, WriteOptions{Compression: XPRESS, Solid: true, SolidCompression: XPRESS})
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			before, _ = os.ReadFile(dest)
		}
		ctx, cancel := context.WithCancel(context.Background())
		o := ExportOptions{Solid: true, SolidCompression: XPRESS, SolidChunkSize: 1 << 16, Threads: 2,
			Progress: func(r progress.Report) {
				if r.Done > 3<<20 {
					cancel()
				}
			}}
		done := make(chan error, 1)
		go func() {
			_, err := Export(ctx, s, []int{1}, dest, o)
			done <- err
		}()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("append=%v: Export = %v, want context.Canceled", appendTo, err)
			}
		case <-time.After(60 * time.Second):
			t.Fatalf("append=%v: Export did not return after the cancel", appendTo)
		}
		cancel()
		ents, _ := os.ReadDir(dir)
		if appendTo {
			after, _ := os.ReadFile(dest)
			if !bytes.Equal(before, after) || len(ents) != 1 {
				t.Errorf("cancelled append changed the file (%d bytes, was %d) or left %d entries", len(after), len(before), len(ents))
				for i := range min(len(before), len(after)) {
					if before[i] != after[i] {
						t.Errorf("first difference at 0x%x", i)
						break
					}
				}
			}
		} else if len(ents) != 0 {
			t.Errorf("cancelled export left %v", ents)
		}
	}
}

// TestLZMSSevenZipEnd: 7-Zip reads every LZMS chunk we write, chunks whose
// range coder ends with a range at most 0xFFFF included. The file in
// testdata is such a chunk (389 bytes cut from an image's metadata, which
// 7-Zip 16.02 refused with "Data Error" while the encoder flushed three
// units, not wimlib's four); the short random files end in many other
// states.
func TestLZMSSevenZipEnd(t *testing.T) {
	seven := oracle.Need(t, "7z")
	end, err := os.ReadFile(filepath.Join("testdata", "lzms-7zip-end.bin"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	solidAddFile(t, dir, "end.bin", string(end))
	r := rand.New(rand.NewSource(7))
	for i := range 40 {
		b := make([]byte, 20+r.Intn(3000))
		for j := range b {
			b[j] = "ab \x00\xe8\xff"[r.Intn(6)] // compressible, with x86-filter bytes
		}
		solidAddFile(t, dir, fmt.Sprintf("r%02d.bin", i), string(b))
	}
	for _, o := range []CaptureOptions{
		{Compression: LZMS},
		{Solid: true, SolidCompression: LZMS, SolidChunkSize: 1 << 15},
	} {
		dest := filepath.Join(t.TempDir(), "x.wim")
		if _, err := Capture(context.Background(), dir, dest, o); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(seven, "t", dest).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "Everything is Ok") {
			t.Errorf("solid %v: 7z t: %v\n%s", o.Solid, err, out)
		}
	}
}
