package wim

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/wimconsole/wimconsole/internal/oracle"
)

// wtTwoImages captures two sample trees into a new file with codec c and
// returns the file and the trees.
func wtTwoImages(t testing.TB, c Compression) (string, []string) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "src.wim")
	srcs := []string{wtSampleTree(t, 21), wtSampleTree(t, 22)}
	for i, s := range srcs {
		if _, err := Capture(context.Background(), s, file, CaptureOptions{Name: []string{"one", "two"}[i], Compression: c, Append: i > 0}); err != nil {
			t.Fatal(err)
		}
	}
	return file, srcs
}

func ptr[T any](v T) *T { return &v }

func TestExport(t *testing.T) {
	oracle.Wimlib(t)
	ctx := context.Background()
	srcFile, srcs := wtTwoImages(t, LZX)
	src := imgOpenW(t, srcFile)
	tests := []struct {
		name string
		c    *Compression
		raw  bool // resources copied as stored
	}{
		{"same codec (raw copy)", nil, true},
		{"to XPRESS", ptr(XPRESS), false},
		{"to none", ptr(None), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dest := filepath.Join(t.TempDir(), "dest.wim")
			idx, err := Export(ctx, src, []int{2, 1}, dest, ExportOptions{Compression: tt.c, Integrity: true})
			if err != nil {
				t.Fatal(err)
			}
			if len(idx) != 2 || idx[0] != 1 || idx[1] != 2 {
				t.Fatalf("indexes %v", idx)
			}
			wtCheckWimlib(t, dest, nil, srcs[1], srcs[0])
			wtCheckOurs(t, dest, nil, srcs[1], srcs[0])
			d := imgOpenW(t, dest)
			if d.XML().Image(1).Name != "two" || d.XML().Image(2).Name != "one" {
				t.Errorf("names %q, %q", d.XML().Image(1).Name, d.XML().Image(2).Name)
			}
			// Raw copies keep the stored bytes.
			same := 0
			for _, e := range d.Blobs() {
				if e.IsMetadata() {
					continue
				}
				se, ok := src.Blob(e.Hash)
				if !ok {
					t.Fatalf("blob %s not in the source", e.Hash)
				}
				if se.Res.StoredSize == e.Res.StoredSize && bytes.Equal(wtStored(t, srcFile, se.Res), wtStored(t, dest, e.Res)) {
					same++
				}
			}
			if n := len(d.Blobs()) - d.ImageCount(); tt.raw && same != n {
				t.Errorf("%d of %d blobs copied as stored", same, n)
			}
			// So are the metadata resources.
			for i, j := range []int{2, 1} {
				de, _ := d.MetadataEntry(i + 1)
				se, _ := src.MetadataEntry(j)
				same := de.Hash == se.Hash && bytes.Equal(wtStored(t, srcFile, se.Res), wtStored(t, dest, de.Res))
				if same != tt.raw {
					t.Errorf("image %d: metadata copied as stored = %v", i+1, same)
				}
			}
		})
	}
	t.Run("rename", func(t *testing.T) {
		dest := filepath.Join(t.TempDir(), "dest.wim")
		if _, err := Export(ctx, src, []int{1}, dest, ExportOptions{Name: "renamed", Description: "desc", Boot: true}); err != nil {
			t.Fatal(err)
		}
		if got := wtXMLField(t, dest, 1, "NAME"); got != "renamed" {
			t.Errorf("NAME %q", got)
		}
		if got := wtXMLField(t, dest, 1, "DESCRIPTION"); got != "desc" {
			t.Errorf("DESCRIPTION %q", got)
		}
		if b := imgOpenW(t, dest).BootIndex(); b != 1 {
			t.Errorf("boot index %d", b)
		}
	})
	t.Run("errors", func(t *testing.T) {
		dest := filepath.Join(t.TempDir(), "dest.wim")
		for _, images := range [][]int{nil, {0}, {3}, {1, 1}} {
			if _, err := Export(ctx, src, images, dest, ExportOptions{}); err == nil {
				t.Errorf("images %v accepted", images)
			}
		}
		if _, err := Export(ctx, src, []int{1, 2}, dest, ExportOptions{Name: "x"}); err == nil {
			t.Error("one name for two images accepted")
		}
		if _, err := Export(ctx, src, []int{1}, srcFile, ExportOptions{}); err == nil {
			t.Error("export into the source accepted")
		}
		if _, err := os.Stat(dest); err == nil {
			t.Error("a failed export left a file")
		}
	})
}

// wtStored returns the bytes of res as stored in file.
func wtStored(t testing.TB, file string, res ResourceHeader) []byte {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, res.StoredSize)
	if _, err := f.ReadAt(b, res.Offset); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestExportAppend exports into an existing file: blobs it holds are not
// written again, and every image stays readable.
func TestExportAppend(t *testing.T) {
	oracle.Wimlib(t)
	ctx := context.Background()
	srcFile, srcs := wtTwoImages(t, XPRESS)
	src := imgOpenW(t, srcFile)
	dest := filepath.Join(t.TempDir(), "dest.wim")
	if _, err := Export(ctx, src, []int{1}, dest, ExportOptions{}); err != nil {
		t.Fatal(err)
	}
	before := fileSize(t, dest)
	// Image 1 again under a new name: only metadata is new.
	if _, err := Export(ctx, src, []int{1}, dest, ExportOptions{Name: "again"}); err != nil {
		t.Fatal(err)
	}
	if grow := fileSize(t, dest) - before; grow > 20000 {
		t.Errorf("exporting known data grew the file by %d bytes", grow)
	}
	if _, err := Export(ctx, src, []int{1}, dest, ExportOptions{}); err == nil {
		t.Error("a second image named \"one\" was accepted")
	}
	if _, err := Export(ctx, src, []int{2}, dest, ExportOptions{}); err != nil {
		t.Fatal(err)
	}
	wtCheckWimlib(t, dest, nil, srcs[0], srcs[0], srcs[1])
	wtCheckOurs(t, dest, nil, srcs[0], srcs[0], srcs[1])
}

// TestExportWDSGroup exports an image whose data is in a Res.rwm (given
// as a reference) into a standalone file, and a standalone image into a
// group: the file operations WDS image groups are built with.
func TestExportWDSGroup(t *testing.T) {
	oracle.Wimlib(t)
	ctx := context.Background()
	srcFile, srcs := wtTwoImages(t, LZX)
	src := imgOpenW(t, srcFile)
	dir := t.TempDir()
	res := filepath.Join(dir, "Res.rwm")
	rw, err := Create(res, WriteOptions{Compression: LZX, ResourceOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for i := 1; i <= 2; i++ {
		img, err := src.Image(i)
		if err != nil {
			t.Fatal(err)
		}
		if err := rw.CopyImageBlobs(ctx, src, img); err != nil {
			t.Fatal(err)
		}
		name := filepath.Join(dir, []string{"", "one.wim", "two.wim"}[i])
		mw, err := Create(name, WriteOptions{Compression: LZX, MetadataOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := mw.AddImage(ctx, img, *src.XML().Image(i)); err != nil {
			t.Fatal(err)
		}
		if err := mw.Close(); err != nil {
			t.Fatal(err)
		}
		files = append(files, name)
	}
	if err := rw.Close(); err != nil {
		t.Fatal(err)
	}
	for i, f := range files {
		wtCheckWimlib(t, f, []string{res}, srcs[i])
		wtCheckOurs(t, f, []string{res}, srcs[i])
	}
	// Back out of the group into one standalone file.
	g := imgOpenW(t, files[1], res)
	out := filepath.Join(t.TempDir(), "standalone.wim")
	if _, err := Export(ctx, g, []int{1}, out, ExportOptions{}); err != nil {
		t.Fatal(err)
	}
	wtCheckWimlib(t, out, nil, srcs[1])
	wtCheckOurs(t, out, nil, srcs[1])

	// Both images opened on one shared Res.rwm: closing an image leaves
	// the shared file open for the other, and for its owner.
	shared, err := Open(res, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer shared.Close()
	var imgs []*WIM
	for _, f := range files {
		w, err := Open(f, &OpenOptions{Shared: []*WIM{shared}})
		if err != nil {
			t.Fatal(err)
		}
		imgs = append(imgs, w)
	}
	if err := imgs[0].Close(); err != nil {
		t.Fatal(err)
	}
	out2 := filepath.Join(t.TempDir(), "shared.wim")
	if _, err := Export(ctx, imgs[1], []int{1}, out2, ExportOptions{}); err != nil {
		t.Fatalf("export through the shared Res.rwm after the other image closed: %v", err)
	}
	imgs[1].Close()
	wtCheckOurs(t, out2, nil, srcs[1])
	if err := shared.Verify(ctx, nil); err != nil {
		t.Fatalf("the shared Res.rwm after both images closed: %v", err)
	}

	// wimlib's export of the same group image reads the same.
	wout := filepath.Join(t.TempDir(), "wimlib.wim")
	oracle.Run(t, "export", files[1], "1", wout, "--ref="+res)
	wtCheckOurs(t, wout, nil, srcs[1])
}

// TestExportFromSolidAndLZMS exports images of solid and LZMS files (which
// cannot be copied as stored) into new files: the data is decompressed and
// compressed again, and the result applies like the source.
func TestExportFromSolidAndLZMS(t *testing.T) {
	oracle.Wimlib(t)
	ctx := context.Background()
	for _, name := range []string{"solid.esd", "solid-lzx.wim", "lzms.wim"} {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join("testdata", "container", name)
			if _, err := os.Stat(p); err != nil {
				t.Skipf("no fixture %s", p)
			}
			src := imgOpenW(t, p)
			dest := filepath.Join(t.TempDir(), "out.wim")
			var images []int
			for i := 1; i <= src.ImageCount(); i++ {
				images = append(images, i)
			}
			if _, err := Export(ctx, src, images, dest, ExportOptions{}); err != nil {
				t.Fatal(err)
			}
			d := imgOpenW(t, dest)
			// The source's codec is kept (as wimlib-imagex export does),
			// in non-solid resources.
			if c := d.Header().Compression(); c != src.Header().Compression() || d.Header().Version != VersionDefault {
				t.Errorf("wrote %v, version 0x%x; the source is %v", c, d.Header().Version, src.Header().Compression())
			}
			oracle.Run(t, "verify", dest)
			for _, i := range images {
				want, got := t.TempDir(), t.TempDir()
				oracle.Run(t, "apply", p, strconv.Itoa(i), want)
				oracle.Run(t, "apply", dest, strconv.Itoa(i), got)
				wtSameTree(t, want, got)
			}
		})
	}
}

// TestExportDamagedBlob exports a WIM of which one blob's stored bytes are
// damaged, into a file of another codec (the blob decompressed and
// compressed again: writeStream) and into a solid one (writeSolid): each
// export must fail with the *ChecksumError that names the damage, which the
// writer leaves the blob's reader to find (the bytes are hashed once), and
// leave no file behind.
func TestExportDamagedBlob(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	tree := filepath.Join(dir, "tree")
	if err := os.MkdirAll(tree, 0o755); err != nil {
		t.Fatal(err)
	}
	// Several of the writer's pieces, so that the damage lies in a piece
	// before the last, and data that cannot be mistaken for another blob.
	big := make([]byte, 300<<10)
	x := uint32(1)
	for i := range big {
		x = x*1664525 + 1013904223
		big[i] = byte(x >> 24)
	}
	if err := os.WriteFile(filepath.Join(tree, "big.bin"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tree, "small.txt"), []byte("small file\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "raw.wim")
	if _, err := Capture(ctx, tree, file, CaptureOptions{Name: "one", Compression: None}); err != nil {
		t.Fatal(err)
	}
	src := imgOpenW(t, file)
	var off int64 = -1
	for i := range src.table.entries {
		if e := &src.table.entries[i]; e.Size() == int64(len(big)) {
			off = e.Res.Offset
		}
	}
	if off < 0 {
		t.Fatal("big.bin's blob not found")
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data[off:off+int64(len(big))], big) {
		t.Fatal("big.bin not stored raw at its entry's offset")
	}
	data[off+1000] ^= 0x55
	damaged := filepath.Join(dir, "damaged.wim")
	if err := os.WriteFile(damaged, data, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		o    ExportOptions
	}{
		{"lzx", ExportOptions{Compression: ptr(LZX)}},
		{"solid", ExportOptions{Solid: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := imgOpenW(t, damaged)
			dest := filepath.Join(t.TempDir(), "out.wim")
			_, err := Export(ctx, d, []int{1}, dest, tc.o)
			var ce *ChecksumError
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), "damaged.wim") {
				t.Fatalf("export of a damaged blob: %v, want a ChecksumError naming damaged.wim", err)
			}
			if _, err := os.Stat(dest); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("%s left behind: %v", dest, err)
			}
		})
	}
}

// TestExportFromSolidDecodesChunksOnce exports a solid file of several
// chunks to a non-solid one: the blobs are read in the order they are
// stored, through the source's chunk cache, so that each chunk is
// decompressed once for all the blobs in it (an export of tree A's ESD to
// LZX reads 36,000 blobs out of 7 chunks).
func TestExportFromSolidDecodesChunksOnce(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	tree := filepath.Join(dir, "tree")
	if err := os.MkdirAll(tree, 0o755); err != nil {
		t.Fatal(err)
	}
	// Files of every size up to 600 KiB, some across chunk boundaries,
	// 5 MiB or so in all: chunks of 1 MiB (the smallest the cache takes).
	total := 0
	for i := 0; total < 5<<20; i++ {
		n := (i * 37 << 10) % (600 << 10)
		// Lines that compress fast, and no two files alike.
		var b []byte
		for k := 0; len(b) < n; k++ {
			b = append(b, "line "+strconv.Itoa(k)+" of file "+strconv.Itoa(i)+"\n"...)
		}
		b = b[:n]
		if err := os.WriteFile(filepath.Join(tree, "f"+strconv.Itoa(i)), b, 0o644); err != nil {
			t.Fatal(err)
		}
		total += n
	}
	file := filepath.Join(dir, "src.esd")
	if _, err := Capture(ctx, tree, file, CaptureOptions{Name: "one", Compression: XPRESS, Solid: true,
		SolidCompression: LZX, SolidChunkSize: cacheMinChunk}); err != nil {
		t.Fatal(err)
	}
	src := imgOpenW(t, file)
	chunks := 0
	seen := make(map[*SolidResource]bool)
	for i := range src.table.entries {
		if s := src.table.entries[i].Solid; s != nil && !seen[s] {
			seen[s] = true
			chunks += int((s.Size + int64(s.ChunkSize) - 1) / int64(s.ChunkSize))
		}
	}
	if chunks < 5 {
		t.Fatalf("%d solid chunks, want at least 5", chunks)
	}
	dest := filepath.Join(dir, "out.wim")
	if _, err := Export(ctx, src, []int{1}, dest, ExportOptions{Compression: ptr(XPRESS)}); err != nil {
		t.Fatal(err)
	}
	src.cache.decMu.Lock()
	fills := src.cache.fills
	src.cache.decMu.Unlock()
	if fills != chunks {
		t.Errorf("%d solid chunks decompressed for the export of %d", fills, chunks)
	}
	if err := imgOpenW(t, dest).Verify(ctx, nil); err != nil {
		t.Error(err)
	}
}
