package wim

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/wimconsole/wimconsole/engine/progress"
	"github.com/wimconsole/wimconsole/engine/wim/lzms"
	"github.com/wimconsole/wimconsole/internal/oracle"
)

// TestExportSolidMemory: an export to solid resources of large chunks (WIM
// to ESD) holds, while its chunks are compressed, the compressor, its
// chunk and output buffers and a few words per blob to copy: not the
// source image's tree, nor a sort key per blob (together about 400 bytes
// a file: 13 MB for an image of 33,000 files). The tree is read
// again for the metadata once the chunks are written. The ESD reads back
// here and passes wimlib-imagex verify and apply and 7z t.
func TestExportSolidMemory(t *testing.T) {
	const files = 20000
	const chunk = 1 << 20
	const perBlob = 100 // the plan, the writer's digest set and its solid blob list
	ctx := context.Background()
	dir := t.TempDir()
	src := filepath.Join(dir, "src.wim")
	w, err := Create(src, WriteOptions{Compression: LZX})
	if err != nil {
		t.Fatal(err)
	}
	datas := make(map[string][]byte, files)
	var folders []*File
	for i := range files {
		if i%100 == 0 {
			folders = append(folders, &File{Name: fmt.Sprintf("dir%03d", i/100), Attributes: AttrDirectory, SecurityID: -1})
		}
		data := solidText(uint64(i), 100+i%100)
		h, err := w.WriteBlob(ctx, bytes.NewReader(data), int64(len(data)))
		if err != nil {
			w.Abort()
			t.Fatal(err)
		}
		name := fmt.Sprintf("file%05d.txt", i)
		f := folders[len(folders)-1]
		f.Children = append(f.Children, &File{Name: name, Attributes: AttrNormal, SecurityID: -1, Hash: h, Size: int64(len(data))})
		datas[f.Name+"/"+name] = data
	}
	img := &Image{Root: &File{Attributes: AttrDirectory, SecurityID: -1, Children: folders}}
	if _, err := w.AddImage(ctx, img, ImageInfo{Name: "many files"}); err != nil {
		w.Abort()
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	img, folders = nil, nil

	// The compressor alone, on a chunk of the same size.
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	c, err := lzms.NewCompressor(chunk)
	if err != nil {
		t.Fatal(err)
	}
	in := make([]byte, chunk, chunk+lzms.InPlacePad)
	copy(in, solidText(1, chunk))
	c.CompressInPlace(make([]byte, chunk-1), in)
	runtime.ReadMemStats(&after)
	comp := after.TotalAlloc - before.TotalAlloc
	c, in = nil, nil

	r, err := Open(src, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var base runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&base)
	// Measured once, while the export writes its chunks: after the first
	// chunk is written and before the last.
	var measured atomic.Bool
	var held atomic.Int64
	report := func(p progress.Report) {
		if p.Phase != PhaseWrite || p.Done == 0 || p.Done >= p.Total || measured.Swap(true) {
			return
		}
		var m runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m)
		held.Store(int64(m.HeapAlloc) - int64(base.HeapAlloc))
	}
	dest := filepath.Join(dir, "dest.esd")
	if _, err := Export(ctx, r, []int{1}, dest, ExportOptions{Solid: true, SolidChunkSize: chunk, Threads: 1, Progress: report}); err != nil {
		t.Fatal(err)
	}
	if !measured.Load() {
		t.Fatal("no progress report came while the chunks were written")
	}
	limit := int64(comp) + (chunk + solidPad) + chunk + files*perBlob
	t.Logf("compressor %d bytes; the export held %d bytes while compressing, limit %d", comp, held.Load(), limit)
	if held.Load() > limit {
		t.Errorf("exporting %d files to solid LZMS in %d-byte chunks held %d bytes while compressing, over %d (the compressor's %d, a chunk buffer, an output buffer and %d bytes per file)",
			files, chunk, held.Load(), limit, comp, perBlob)
	}

	// The metadata, read again, is the source's: every file reads back.
	e, err := Open(dest, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	got, err := e.Image(1)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, d := range got.Root.Children {
		for _, f := range d.Children {
			want, ok := datas[d.Name+"/"+f.Name]
			if !ok {
				t.Fatalf("%s/%s is in the ESD, not in the source", d.Name, f.Name)
			}
			if n%997 == 0 {
				b, err := e.ReadBlob(f.Hash, 1<<20)
				if err != nil || !bytes.Equal(b, want) {
					t.Fatalf("%s/%s reads back as %d bytes (%v), want the %d exported", d.Name, f.Name, len(b), err, len(want))
				}
			}
			n++
		}
	}
	if n != files {
		t.Fatalf("the ESD's image has %d files, want %d", n, files)
	}
	oracle.Run(t, "verify", dest)
	applied := filepath.Join(t.TempDir(), "apply")
	oracle.Run(t, "apply", dest, "1", applied)
	for _, p := range []string{"dir000/file00000.txt", "dir123/file12345.txt", "dir199/file19999.txt"} {
		if b, err := os.ReadFile(filepath.Join(applied, filepath.FromSlash(p))); err != nil || !bytes.Equal(b, datas[p]) {
			t.Errorf("wimlib applied %s as %d bytes (%v), want the %d exported", p, len(b), err, len(datas[p]))
		}
	}
	solidCheck7z(t, dest)
}
