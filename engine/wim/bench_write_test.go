package wim

import (
	"context"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
	"unicode/utf8"
)

// Write benchmarks against wimlib-imagex on a real tree. They run only when
// WIMBENCH_CORPUS names a folder (e.g. a tree built by
// shared/bench/make-corpus.sh), once per run:
//
//	WIMBENCH_CORPUS=~/.cache/wimconsole-bench-small/corpus/A \
//	  go test -run '^$' -bench 'Write' -benchtime 1x ./engine/wim/
//
// Each reports MB/s of tree data, the output size, and ours/wimlib ratios
// of time and size (wimlib run once, with its default thread count, on the
// same machine right after ours).

// benchCorpus returns a hard-linked copy of the corpus without the entries
// an image cannot hold (names with ':' and the like, which wimlib stores
// but CheckName refuses), so both tools capture the same files, and the
// size of its file data.
func benchCorpus(b *testing.B) (string, int64) {
	b.Helper()
	src := os.Getenv("WIMBENCH_CORPUS")
	if src == "" {
		b.Skip("set WIMBENCH_CORPUS to a folder to run write benchmarks")
	}
	if _, err := exec.LookPath("wimlib-imagex"); err != nil {
		b.Skip("wimlib-imagex not installed")
	}
	dst := filepath.Join(b.TempDir(), "corpus")
	var size int64
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if rel != "." && (!utf8.ValidString(d.Name()) || CheckName(d.Name()) != nil) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		q := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(q, 0o755)
		case d.Type()&fs.ModeSymlink != 0:
			t, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(t, q)
		case d.Type().IsRegular():
			fi, err := d.Info()
			if err != nil {
				return err
			}
			size += fi.Size()
			// Read it once, so that neither tool meets a cold cache.
			if f, err := os.Open(p); err == nil {
				io.Copy(io.Discard, f)
				f.Close()
			}
			return os.Link(p, q)
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return dst, size
}

// benchWimlib runs wimlib-imagex and returns how long it took.
func benchWimlib(b *testing.B, args ...string) time.Duration {
	b.Helper()
	start := time.Now()
	if out, err := exec.Command("wimlib-imagex", args...).CombinedOutput(); err != nil {
		b.Fatalf("wimlib-imagex %v: %v\n%s", args, err, out)
	}
	return time.Since(start)
}

func benchSize(b *testing.B, name string) int64 {
	st, err := os.Stat(name)
	if err != nil {
		b.Fatal(err)
	}
	return st.Size()
}

// benchReport adds the comparison with wimlib to the benchmark line.
func benchReport(b *testing.B, ours time.Duration, oursSize int64, wimlib time.Duration, wimlibSize int64) {
	b.ReportMetric(float64(oursSize)/1e6, "out-MB")
	b.ReportMetric(wimlib.Seconds(), "wimlib-s")
	b.ReportMetric(ours.Seconds()/wimlib.Seconds(), "time/wimlib")
	if wimlibSize > 0 {
		b.ReportMetric(float64(oursSize)/float64(wimlibSize), "size/wimlib")
	}
}

func BenchmarkWriteCapture(b *testing.B) {
	corpus, size := benchCorpus(b)
	for _, c := range []Compression{None, XPRESS, LZX} {
		b.Run(c.String(), func(b *testing.B) {
			dir := b.TempDir()
			ours, ref := filepath.Join(dir, "ours.wim"), filepath.Join(dir, "wimlib.wim")
			b.SetBytes(size)
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				if _, err := Capture(context.Background(), corpus, ours, CaptureOptions{Name: "A", Compression: c}); err != nil {
					b.Fatal(err)
				}
			}
			el := time.Since(start) / time.Duration(b.N)
			b.StopTimer()
			wt := benchWimlib(b, "capture", corpus, ref, "A", "--compress="+c.String())
			benchReport(b, el, benchSize(b, ours), wt, benchSize(b, ref))
		})
	}
}

// benchSource captures the corpus with wimlib (LZX) as the source of the
// export and optimize benchmarks.
func benchSource(b *testing.B) (string, int64) {
	corpus, size := benchCorpus(b)
	src := filepath.Join(b.TempDir(), "src.wim")
	benchWimlib(b, "capture", corpus, src, "A", "--compress=lzx")
	return src, size
}

func BenchmarkWriteExport(b *testing.B) {
	src, size := benchSource(b)
	w, err := Open(src, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	for _, tc := range []struct {
		name string
		c    Compression
	}{{"raw", LZX}, {"recompress-xpress", XPRESS}} {
		b.Run(tc.name, func(b *testing.B) {
			dir := b.TempDir()
			ours, ref := filepath.Join(dir, "ours.wim"), filepath.Join(dir, "wimlib.wim")
			b.SetBytes(size)
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				os.Remove(ours)
				if _, err := Export(context.Background(), w, []int{1}, ours, ExportOptions{Compression: ptr(tc.c)}); err != nil {
					b.Fatal(err)
				}
			}
			el := time.Since(start) / time.Duration(b.N)
			b.StopTimer()
			wt := benchWimlib(b, "export", src, "1", ref, "--compress="+tc.c.String())
			benchReport(b, el, benchSize(b, ours), wt, benchSize(b, ref))
			if tc.name == "raw" {
				// The disk-copy reference: cp of the source file.
				start := time.Now()
				if out, err := exec.Command("cp", src, filepath.Join(dir, "copy.wim")).CombinedOutput(); err != nil {
					b.Fatalf("cp: %v\n%s", err, out)
				}
				b.ReportMetric(el.Seconds()/time.Since(start).Seconds(), "time/cp")
			}
		})
	}
}

func BenchmarkWriteOptimize(b *testing.B) {
	src, size := benchSource(b)
	for _, recompress := range []bool{false, true} {
		name := "raw"
		if recompress {
			name = "recompress"
		}
		b.Run(name, func(b *testing.B) {
			dir := b.TempDir()
			ours, ref := filepath.Join(dir, "ours.wim"), filepath.Join(dir, "wimlib.wim")
			b.SetBytes(size)
			var el time.Duration
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				copyFileB(b, src, ours)
				b.StartTimer()
				start := time.Now()
				if err := Optimize(context.Background(), ours, OptimizeOptions{Recompress: recompress}); err != nil {
					b.Fatal(err)
				}
				el += time.Since(start)
			}
			el /= time.Duration(b.N)
			b.StopTimer()
			copyFileB(b, src, ref)
			args := []string{"optimize", ref}
			if recompress {
				args = append(args, "--recompress")
			}
			wt := benchWimlib(b, args...)
			benchReport(b, el, benchSize(b, ours), wt, benchSize(b, ref))
		})
	}
}

func copyFileB(b *testing.B, from, to string) {
	if out, err := exec.Command("cp", from, to).CombinedOutput(); err != nil {
		b.Fatalf("cp: %v\n%s", err, out)
	}
}
