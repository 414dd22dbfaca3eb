package wim

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/wimconsole/wimconsole/internal/oracle"
)

// The metadata and blob-table benchmarks read a WIM of many files, as
// add-image, apply, verify, mount and info all do first:
//
//	WIMBENCH_WIM=FILE      that WIM (image 1)
//	WIMBENCH_TREE=DIR      a WIM wimlib-imagex captures from DIR (LZX), e.g.
//	                       ~/.cache/wimconsole-bench-small/corpus/A
//
// and otherwise one captured from a generated tree of 20,000 small files in
// 400 folders.
//
//	WIMBENCH_TREE=~/.cache/wimconsole-bench-small/corpus/A go test -tags libwim \
//	    -run '^$' -bench 'ParseMetadata|ReadImage|OpenBlobTable' -benchmem ./engine/wim/
var metaBench struct {
	once sync.Once
	dir  string
	name string
	err  error
}

// metaBenchWIM returns the WIM the metadata benchmarks read.
func metaBenchWIM(b *testing.B) string {
	b.Helper()
	if name := os.Getenv("WIMBENCH_WIM"); name != "" {
		return name
	}
	oracle.Wimlib(b)
	metaBench.once.Do(func() {
		metaBench.dir, metaBench.err = os.MkdirTemp("", "wimbench-meta")
		if metaBench.err != nil {
			return
		}
		tree := os.Getenv("WIMBENCH_TREE")
		if tree == "" {
			tree = filepath.Join(metaBench.dir, "src")
			for d := range 400 {
				dir := filepath.Join(tree, fmt.Sprintf("folder %03d", d), "sub")
				if metaBench.err = os.MkdirAll(dir, 0o755); metaBench.err != nil {
					return
				}
				for f := range 50 {
					data := fmt.Appendf(nil, "file %d of folder %d\n", f, d)
					if metaBench.err = os.WriteFile(filepath.Join(dir, fmt.Sprintf("File_%02d.dll", f)), data, 0o644); metaBench.err != nil {
						return
					}
				}
			}
		}
		metaBench.name = filepath.Join(metaBench.dir, "meta.wim")
		if _, err := oracle.Try(b, "capture", tree, metaBench.name, "--compress=lzx"); err != nil {
			metaBench.err = err
		}
	})
	if metaBench.err != nil {
		b.Fatal(metaBench.err)
	}
	return metaBench.name
}

func TestMain(m *testing.M) {
	code := m.Run()
	if metaBench.dir != "" {
		os.RemoveAll(metaBench.dir)
	}
	os.Exit(code)
}

// BenchmarkParseMetadata parses image 1's metadata resource (already read
// and decompressed): the tree of directory entries and their names.
func BenchmarkParseMetadata(b *testing.B) {
	w, err := Open(metaBenchWIM(b), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	data, err := w.MetadataResource(1)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := ParseMetadata(data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReadImage is (*WIM).Image(1): the metadata resource read,
// decompressed, parsed, and every stream's size looked up.
func BenchmarkReadImage(b *testing.B) {
	benchImageRead(b, func(w *WIM) error { _, err := w.Image(1); return err })
}

// benchImageRead times read on the benchmark WIM, opened once.
func benchImageRead(b *testing.B, read func(*WIM) error) {
	w, err := Open(metaBenchWIM(b), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if err := read(w); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOpenBlobTable is Open and Close of the WIM: the header, XML
// data and blob table read and checked (ParseBlobTable: the table alone,
// already read).
func BenchmarkOpenBlobTable(b *testing.B) {
	name := metaBenchWIM(b)
	b.Run("Open", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			w, err := Open(name, nil)
			if err != nil {
				b.Fatal(err)
			}
			w.Close()
		}
	})
	b.Run("ParseBlobTable", func(b *testing.B) {
		w, err := openKeepTable(name)
		if err != nil {
			b.Fatal(err)
		}
		defer w.Close()
		raw := w.rawTable
		b.SetBytes(int64(len(raw)))
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			if _, err := parseBlobTable(raw, &w.hdr, w.ra, w.size, w.name, w.hdr.BlobTable.Offset); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkImageRefs is (*WIM).ImageRefs(1), what add-image reads of a
// source image whose metadata resource it copies as stored: the resource
// read, decompressed and checked against its digest, then scanned for the
// streams and hard links (no tree built).
func BenchmarkImageRefs(b *testing.B) {
	benchImageRead(b, func(w *WIM) error { _, err := w.ImageRefs(1); return err })
}
