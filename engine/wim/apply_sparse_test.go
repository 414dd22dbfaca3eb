//go:build linux

package wim

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/wimconsole/wimconsole/internal/oracle"
)

// sparseMark is the data written at each mark of a sparse test file.
func sparseMark(off int64) []byte { return fmt.Appendf(nil, "MARK%012d", off) }

// writeSparseFile creates a file of size bytes, all holes but a mark at
// each offset.
func writeSparseFile(t testing.TB, path string, size int64, marks ...int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	for _, off := range marks {
		if _, err := f.WriteAt(sparseMark(off)[:min(16, size-off)], off); err != nil {
			t.Fatal(err)
		}
	}
}

// diskBytes is the space a file takes on disk, as du counts it.
func diskBytes(t testing.TB, path string) int64 {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Blocks * 512
}

// dataExtents lists the [start, end) ranges of f that hold data, by
// SEEK_DATA and SEEK_HOLE.
func dataExtents(t testing.TB, f *os.File, size int64) [][2]int64 {
	t.Helper()
	var ext [][2]int64
	fd := int(f.Fd())
	for off := int64(0); off < size; {
		start, err := unix.Seek(fd, off, unix.SEEK_DATA)
		if err == unix.ENXIO {
			break
		}
		if err != nil {
			t.Fatalf("SEEK_DATA %s at %d: %v", f.Name(), off, err)
		}
		end, err := unix.Seek(fd, start, unix.SEEK_HOLE)
		if err != nil {
			t.Fatalf("SEEK_HOLE %s at %d: %v", f.Name(), start, err)
		}
		ext = append(ext, [2]int64{start, end})
		off = end
	}
	return ext
}

// sameSparseContent checks that two files have the same size and bytes,
// reading only the ranges where either holds data: everywhere else both
// are holes, so zeros.
func sameSparseContent(t testing.TB, got, want string) {
	t.Helper()
	g, err := os.Open(got)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	w, err := os.Open(want)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	gi, _ := g.Stat()
	wi, _ := w.Stat()
	if gi.Size() != wi.Size() {
		t.Fatalf("%s: %d bytes, want %d", got, gi.Size(), wi.Size())
	}
	size := wi.Size()
	ranges := append(dataExtents(t, g, size), dataExtents(t, w, size)...)
	a, b := make([]byte, 1<<20), make([]byte, 1<<20)
	for _, r := range ranges {
		for off := r[0]; off < r[1]; off += int64(len(a)) {
			n := int(min(int64(len(a)), r[1]-off))
			if _, err := g.ReadAt(a[:n], off); err != nil && err != io.EOF {
				t.Fatal(err)
			}
			if _, err := w.ReadAt(b[:n], off); err != nil && err != io.EOF {
				t.Fatal(err)
			}
			if !bytes.Equal(a[:n], b[:n]) {
				t.Fatalf("%s differs from %s in the %d bytes at %d", got, want, n, off)
			}
		}
	}
}

// needHoles skips the test where the temporary folder's file system does
// not keep holes, or does not store zeros written out (compression).
func needHoles(t *testing.T) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "probe")
	writeSparseFile(t, p, 64<<20)
	if diskBytes(t, p) > 1<<20 {
		t.Skip("the file system of the temporary folder does not keep holes")
	}
	z := filepath.Join(t.TempDir(), "zeros")
	if err := os.WriteFile(z, make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	if diskBytes(t, z) < 1<<20 {
		t.Skip("the file system of the temporary folder does not store zeros written out")
	}
}

// sparseTree makes a folder with a sparse file of size bytes with marks,
// also under a second name (link). With more, it also has a sparse copy
// and a copy written out whole (not sparse), sharing the same content, and
// a sparse file of half the size that ends in a hole.
func sparseTree(t testing.TB, size int64, marks []int64, more bool) string {
	t.Helper()
	src := filepath.Join(t.TempDir(), "src")
	if err := os.Mkdir(src, 0o755); err != nil {
		t.Fatal(err)
	}
	writeSparseFile(t, filepath.Join(src, "sparse"), size, marks...)
	if err := os.Link(filepath.Join(src, "sparse"), filepath.Join(src, "link")); err != nil {
		t.Fatal(err)
	}
	if !more {
		return src
	}
	writeSparseFile(t, filepath.Join(src, "copy"), size, marks...)
	writeSparseFile(t, filepath.Join(src, "tail"), size/2, 4096, 100000)
	// The same content written out, zeros included: not sparse.
	full, err := os.Create(filepath.Join(src, "full"))
	if err != nil {
		t.Fatal(err)
	}
	in, err := os.Open(filepath.Join(src, "sparse"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(struct{ io.Writer }{full}, in); err != nil { // a plain copy: no copy_file_range
		t.Fatal(err)
	}
	in.Close()
	if err := full.Close(); err != nil {
		t.Fatal(err)
	}
	return src
}

// sparseNames lists the files of a sparseTree, each with whether it is
// sparse.
func sparseNames(t testing.TB, src string) map[string]bool {
	t.Helper()
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	names := make(map[string]bool)
	for _, e := range ents {
		names[e.Name()] = e.Name() != "full"
	}
	return names
}

// checkSparseApply checks a tree of sparseTree applied into dir.
func checkSparseApply(t *testing.T, src, dir string) {
	t.Helper()
	for name, sparse := range sparseNames(t, src) {
		p := filepath.Join(dir, name)
		n := diskBytes(t, p)
		if sparse && n > 1<<20 {
			t.Errorf("%s takes %d bytes on disk, want at most 1 MiB (it is sparse)", name, n)
		}
		if size := fileSize(t, p); !sparse && n < size {
			t.Errorf("%s takes %d bytes on disk, want all its %d (it is not sparse)", name, n, size)
		}
		sameSparseContent(t, p, filepath.Join(src, name))
	}
	a, err := os.Stat(filepath.Join(dir, "sparse"))
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.Stat(filepath.Join(dir, "link")); err != nil || !os.SameFile(a, b) {
		t.Errorf("sparse and link are not one file (%v)", err)
	}
}

// checkSparseAttr checks which files of a sparseTree capture have the
// sparse attribute.
func checkSparseAttr(t *testing.T, src, file string) {
	t.Helper()
	img, err := imgOpen(t, file).Image(1)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range sparseNames(t, src) {
		f := img.Lookup("/" + name)
		if f == nil {
			t.Fatalf("%s: no %s", file, name)
		}
		if got := f.Attributes&AttrSparseFile != 0; got != want {
			t.Errorf("%s: %s has attributes 0x%x, sparse %v, want %v", file, name, f.Attributes, got, want)
		}
	}
}

// testApplySparse captures a sparseTree with wimlib-imagex and with us,
// applies both with us (and ours with wimlib-imagex) and checks that the
// sparse files stay sparse, with the same content.
func testApplySparse(t *testing.T, size int64, marks []int64, more bool) {
	oracle.Wimlib(t)
	needHoles(t)
	src := sparseTree(t, size, marks, more)
	ctx := context.Background()
	want := size // bytes to extract: link is a second name of sparse
	if more {
		want = 3*size + size/2
	}

	theirs := filepath.Join(t.TempDir(), "wimlib.wim")
	imgCapture(t, src, theirs, "--compress=xpress")
	ours := filepath.Join(t.TempDir(), "ours.wim")
	if _, err := Capture(ctx, src, ours, CaptureOptions{Compression: XPRESS}); err != nil {
		t.Fatal(err)
	}
	for _, file := range []string{theirs, ours} {
		t.Run(filepath.Base(file), func(t *testing.T) {
			checkSparseAttr(t, src, file)
			dir := filepath.Join(t.TempDir(), "out")
			st, err := imgOpen(t, file).ApplyImage(ctx, mustImage(t, file), dir, nil)
			if err != nil {
				t.Fatal(err)
			}
			if st.Bytes != want {
				t.Errorf("%d bytes extracted, want %d", st.Bytes, want)
			}
			checkSparseApply(t, src, dir)
		})
	}
	t.Run("ours by wimlib", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "out")
		oracle.Run(t, "apply", ours, "1", dir)
		checkSparseApply(t, src, dir)
	})
}

// mustImage returns image 1 of file.
func mustImage(t *testing.T, file string) *Image {
	t.Helper()
	img, err := imgOpen(t, file).Image(1)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// TestApplySparse: files with holes keep them through capture and apply,
// as with wimlib-imagex (issue 17). Marks: at the start, across two
// blocks, in the middle and in the last bytes.
func TestApplySparse(t *testing.T) {
	const size = 64 << 20
	testApplySparse(t, size, []int64{0, 100*4096 - 5, 40 << 20, size - 16}, true)
}

// TestApplySparse5GiB is the case of issue 17, a 5 GiB file with 4 marks
// (and a second name). Capturing and applying it read 5 GiB several times
// over (minutes on two cores), so it runs only when WIMCONSOLE_SPARSE_5G is
// set.
func TestApplySparse5GiB(t *testing.T) {
	if os.Getenv("WIMCONSOLE_SPARSE_5G") == "" {
		t.Skip("set WIMCONSOLE_SPARSE_5G=1 to capture and apply 5 GiB sparse files")
	}
	const size = 5 << 30
	testApplySparse(t, size, []int64{0, 1000000000, 3000000000, size - 16}, false)
}

func TestWriteSparse(t *testing.T) {
	data := func(n int, set ...int) []byte {
		p := make([]byte, n)
		for _, i := range set {
			p[i] = 1
		}
		return p
	}
	for _, tc := range []struct {
		name   string
		chunks [][]byte // written one after the other
		blocks int64    // blocks of sparseUnit bytes with data at most
	}{
		{"all zeros", [][]byte{data(5 * sparseUnit)}, 0},
		{"one byte per block", [][]byte{data(3*sparseUnit, 0, sparseUnit, 2*sparseUnit+7)}, 3},
		{"last byte", [][]byte{data(4*sparseUnit+10, 4*sparseUnit+9)}, 1},
		{"chunks off the grid", [][]byte{data(sparseUnit + 100), data(sparseUnit, 10), data(3 * sparseUnit), data(7, 6)}, 2},
		{"data then zeros", [][]byte{data(2*sparseUnit, 1), data(8 * sparseUnit)}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "f")
			f, err := createFile(p)
			if err != nil {
				t.Fatal(err)
			}
			var want []byte
			for _, c := range tc.chunks {
				if err := writeSparse(f, c, int64(len(want))); err != nil {
					t.Fatal(err)
				}
				want = append(want, c...)
			}
			if err := f.Truncate(int64(len(want))); err != nil {
				t.Fatal(err)
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatal("content differs")
			}
			if n := diskBytes(t, p); n > tc.blocks*sparseUnit {
				t.Errorf("%d bytes on disk, want at most %d", n, tc.blocks*sparseUnit)
			}
		})
	}
}
