//go:build libwim && linux

package lzx

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/wimconsole/wimconsole/internal/cputime"
	"github.com/wimconsole/wimconsole/internal/oracle/libwim"
)

// BenchmarkTreeLevels compares each level with the wimlib level it stands
// against (fast: 20, default: 50, slow: 100) on a real folder, file by file
// in 32 KiB chunks as the WIM writer cuts them, every WIMBENCH_EVERY-th
// file (default 5):
//
//	WIMBENCH_TREE=~/.cache/wimconsole-bench-small/corpus/A go test -tags libwim \
//	    -run '^$' -bench TreeLevels -benchtime 1x -count 3 ./engine/wim/lzx/
//
// Both sides run on one locked OS thread and are timed by that thread's CPU
// time (user+sys), which a busy machine disturbs less than wall time; the
// time to read the files is in neither. It reports size-ratio and cpu-ratio
// (ours / wimlib's) and each side's cpu-MB/s.
func BenchmarkTreeLevels(b *testing.B) {
	libwim.Need(b)
	tree := os.Getenv("WIMBENCH_TREE")
	if tree == "" {
		b.Skip("WIMBENCH_TREE not set")
	}
	every := ctEvery(b, 5)
	files := ctTreeFiles(b, tree, every)
	const chunk = 32768
	for _, lv := range ctBenchLevels {
		b.Run(lv.name, func(b *testing.B) {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			c, err := NewCompressorLevel(chunk, lv.level)
			if err != nil {
				b.Fatal(err)
			}
			w, err := libwim.NewCodec(libwim.LZX, chunk, lv.level)
			if err != nil {
				b.Fatal(err)
			}
			defer w.Close()
			dst := make([]byte, chunk)
			var total, sizeOurs, sizeTheirs int
			var ours, theirs time.Duration
			for b.Loop() {
				total, sizeOurs, sizeTheirs, ours, theirs = 0, 0, 0, 0, 0
				for _, p := range files {
					data, err := os.ReadFile(p)
					if err != nil {
						b.Fatal(err)
					}
					total += len(data)
					for _, side := range []struct {
						compress func(dst, src []byte) int
						size     *int
						cpu      *time.Duration
					}{{c.Compress, &sizeOurs, &ours}, {w.Compress, &sizeTheirs, &theirs}} {
						t0 := cputime.Thread()
						for off := 0; off < len(data); off += chunk {
							src := data[off:min(off+chunk, len(data))]
							n := 0
							if len(src) > 1 {
								n = side.compress(dst[:len(src)-1], src)
							}
							if n == 0 {
								n = len(src)
							}
							*side.size += n
						}
						*side.cpu += cputime.Thread() - t0
					}
				}
			}
			b.SetBytes(int64(total))
			b.ReportMetric(float64(sizeOurs)/float64(sizeTheirs), "size-ratio")
			b.ReportMetric(float64(sizeOurs), "ours-bytes")
			b.ReportMetric(float64(sizeTheirs), "wimlib-bytes")
			b.ReportMetric(ours.Seconds()/theirs.Seconds(), "cpu-ratio")
			b.ReportMetric(float64(total)/1e6/ours.Seconds(), "ours-cpu-MB/s")
			b.ReportMetric(float64(total)/1e6/theirs.Seconds(), "wimlib-cpu-MB/s")
		})
	}
}

// ctTreeFiles returns every every-th regular file of tree (WalkDir order).
func ctTreeFiles(b *testing.B, tree string, every int) []string {
	b.Helper()
	var files []string
	k := 0
	err := filepath.WalkDir(tree, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		if k++; k%every == 0 {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return files
}

// ctEvery returns WIMBENCH_EVERY (default def).
func ctEvery(b *testing.B, def int) int {
	b.Helper()
	every := def
	if v := os.Getenv("WIMBENCH_EVERY"); v != "" {
		if _, err := fmt.Sscan(v, &every); err != nil || every < 1 {
			b.Fatalf("WIMBENCH_EVERY=%q: want a positive number", v)
		}
	}
	return every
}

// ctSizeClasses are the chunk size classes BenchmarkTreeClasses reports
// apart: chunks below 4 KiB, 4 KiB to below 32 KiB, and whole 32 KiB
// chunks.
var ctSizeClasses = []struct {
	name   string
	lo, hi int // chunk lengths lo <= n < hi
}{
	{"lt4k", 0, 4 << 10},
	{"4k-32k", 4 << 10, 32 << 10},
	{"32k", 32 << 10, 32<<10 + 1},
}

// BenchmarkTreeClasses is BenchmarkTreeLevels at one level (fast unless
// WIMBENCH_LEVEL says otherwise) with the chunks of the tree grouped by
// size (ctSizeClasses), every WIMBENCH_EVERY-th file (default 1): per
// class, the CPU time of each side over its chunks, so that costs per call
// (table clears, Huffman codes, block headers) show apart from those per
// byte:
//
//	WIMBENCH_TREE=~/.cache/wimconsole-bench-small/corpus/A go test -tags libwim \
//	    -run '^$' -bench TreeClasses -benchtime 1x -count 3 ./engine/wim/lzx/
//
// Each class is run ours, wimlib's, ours, wimlib's (the minimum of each
// side's two runs is reported), the chunks held in memory.
func BenchmarkTreeClasses(b *testing.B) {
	libwim.Need(b)
	tree := os.Getenv("WIMBENCH_TREE")
	if tree == "" {
		b.Skip("WIMBENCH_TREE not set")
	}
	level := LevelFast
	if v := os.Getenv("WIMBENCH_LEVEL"); v != "" {
		if _, err := fmt.Sscan(v, &level); err != nil {
			b.Fatalf("WIMBENCH_LEVEL=%q: want a level", v)
		}
	}
	const chunk = 32768
	classes := make([][][]byte, len(ctSizeClasses))
	for _, p := range ctTreeFiles(b, tree, ctEvery(b, 1)) {
		data, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		for off := 0; off < len(data); off += chunk {
			src := data[off:min(off+chunk, len(data))]
			for k, cl := range ctSizeClasses {
				if len(src) >= cl.lo && len(src) < cl.hi {
					classes[k] = append(classes[k], src)
				}
			}
		}
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	c, err := NewCompressorLevel(chunk, level)
	if err != nil {
		b.Fatal(err)
	}
	w, err := libwim.NewCodec(libwim.LZX, chunk, level)
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	dst := make([]byte, chunk)
	run := func(compress func(dst, src []byte) int, chunks [][]byte) (int, time.Duration) {
		size := 0
		t0 := cputime.Thread()
		for _, src := range chunks {
			n := 0
			if len(src) > 1 {
				n = compress(dst[:len(src)-1], src)
			}
			if n == 0 {
				n = len(src)
			}
			size += n
		}
		return size, cputime.Thread() - t0
	}
	var allOurs, allTheirs time.Duration
	for b.Loop() {
		allOurs, allTheirs = 0, 0
		for k, cl := range ctSizeClasses {
			total := 0
			for _, src := range classes[k] {
				total += len(src)
			}
			var ours, theirs time.Duration
			var sizeOurs, sizeTheirs int
			for r := range 2 {
				so, o := run(c.Compress, classes[k])
				st, t := run(w.Compress, classes[k])
				if r == 0 || o < ours {
					ours = o
				}
				if r == 0 || t < theirs {
					theirs = t
				}
				sizeOurs, sizeTheirs = so, st
			}
			allOurs += ours
			allTheirs += theirs
			b.Logf("%-7s %6d chunks %8.1f MB: ours %6.3f s, wimlib %6.3f s (cpu-ratio %.3f, gap %+.3f s, %+.0f ns/chunk), size-ratio %.5f",
				cl.name, len(classes[k]), float64(total)/1e6, ours.Seconds(), theirs.Seconds(),
				ours.Seconds()/theirs.Seconds(), (ours - theirs).Seconds(),
				float64((ours-theirs).Nanoseconds())/float64(max(len(classes[k]), 1)),
				float64(sizeOurs)/float64(sizeTheirs))
			b.ReportMetric(ours.Seconds()/theirs.Seconds(), "cpu-ratio-"+cl.name)
		}
	}
	b.ReportMetric(allOurs.Seconds()/allTheirs.Seconds(), "cpu-ratio")
	b.ReportMetric(allOurs.Seconds(), "ours-cpu-s")
	b.ReportMetric(allTheirs.Seconds(), "wimlib-cpu-s")
}
