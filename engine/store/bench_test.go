package store

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/wimconsole/wimconsole/engine/wim"
	"github.com/wimconsole/wimconsole/internal/oracle"
)

// benchSource captures $WIMBENCH_CORPUS with wimlib-imagex (LZX) once and
// returns the WIM and the corpus size; it skips without a corpus.
func benchSource(b *testing.B) (string, int64) {
	dir := os.Getenv("WIMBENCH_CORPUS")
	if dir == "" {
		b.Skip("set WIMBENCH_CORPUS to a folder tree to benchmark the store against wimlib-imagex")
	}
	oracle.Wimlib(b)
	var size int64
	filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			size += fi.Size()
		}
		return nil
	})
	src := filepath.Join(b.TempDir(), "src.wim")
	// Our capture, leaving out names an image cannot hold (the corpus
	// has man pages named like "Algorithm::Diff.3pm.gz").
	if _, err := wim.Capture(context.Background(), dir, src, wim.CaptureOptions{Name: "Corpus", Compression: wim.LZX, SkipBadNames: true}); err != nil {
		b.Fatal(err)
	}
	return src, size
}

func wimlibRun(b *testing.B, args ...string) {
	b.Helper()
	if out, err := exec.Command("wimlib-imagex", args...).CombinedOutput(); err != nil {
		b.Fatalf("wimlib-imagex %v: %v\n%s", args, err, out)
	}
}

// BenchmarkStoreAddImage: add-image into a group holding a small image, vs
// wimlib-imagex export into an existing WIM.
func BenchmarkStoreAddImage(b *testing.B) {
	src, size := benchSource(b)
	small := captureWIM(b, "lzx", writeTree(b, baseTree("small")))
	b.Run("ours", func(b *testing.B) {
		b.SetBytes(size)
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			s := openStore(b)
			if _, err := s.AddImage(context.Background(), small, AddOptions{Group: "G", FileName: "small"}); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			if _, err := s.AddImage(context.Background(), src, AddOptions{Group: "G"}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("wimlib", func(b *testing.B) {
		b.SetBytes(size)
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			dest := filepath.Join(b.TempDir(), "dest.wim")
			wimlibRun(b, "export", small, "1", dest)
			b.StartTimer()
			wimlibRun(b, "export", src, "1", dest)
		}
	})
}

// BenchmarkStoreExportImage: export-image vs wimlib-imagex export --ref.
func BenchmarkStoreExportImage(b *testing.B) {
	src, size := benchSource(b)
	s := openStore(b)
	refs, err := s.AddImage(context.Background(), src, AddOptions{Group: "G"})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("ours", func(b *testing.B) {
		b.SetBytes(size)
		for i := 0; i < b.N; i++ {
			dest := filepath.Join(b.TempDir(), "out.wim")
			if err := s.ExportImage(context.Background(), refs[0], dest, ExportOptions{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("wimlib", func(b *testing.B) {
		b.SetBytes(size)
		for i := 0; i < b.N; i++ {
			dest := filepath.Join(b.TempDir(), "out.wim")
			wimlibRun(b, "export", s.ImagePath(refs[0]), "1", dest, "--ref="+s.ResPath("G"))
		}
	})
}

// BenchmarkStoreRegroup: regroup vs wimlib-imagex export of all images
// into a new WIM.
func BenchmarkStoreRegroup(b *testing.B) {
	src, size := benchSource(b)
	s := openStore(b)
	refs, err := s.AddImage(context.Background(), src, AddOptions{Group: "G"})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("ours", func(b *testing.B) {
		b.SetBytes(size)
		for i := 0; i < b.N; i++ {
			if _, err := s.Regroup(context.Background(), "G", RegroupOptions{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("wimlib", func(b *testing.B) {
		b.SetBytes(size)
		for i := 0; i < b.N; i++ {
			dest := filepath.Join(b.TempDir(), "all.wim")
			wimlibRun(b, "export", s.ImagePath(refs[0]), "all", dest, "--ref="+s.ResPath("G"))
		}
	})
}

// BenchmarkStoreAddManyImages: add-image of a source of 3,000 small images
// (the same tree, as a WIM of many editions shares its data) into a new
// group of a fresh store: the per-image cost of an add.
func BenchmarkStoreAddManyImages(b *testing.B) {
	oracle.Wimlib(b)
	const n = 3000
	src, _ := manyImagesWIM(b, n)
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		s := openStore(b)
		b.StartTimer()
		refs, err := s.AddImage(context.Background(), src, AddOptions{Group: "G"})
		if err != nil {
			b.Fatal(err)
		}
		if len(refs) != n {
			b.Fatalf("%d images added, want %d", len(refs), n)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N*n), "ms/image")
}
