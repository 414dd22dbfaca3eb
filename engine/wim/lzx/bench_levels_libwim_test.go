//go:build libwim && linux

package lzx

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

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
	every := 5
	if v := os.Getenv("WIMBENCH_EVERY"); v != "" {
		if _, err := fmt.Sscan(v, &every); err != nil || every < 1 {
			b.Fatalf("WIMBENCH_EVERY=%q: want a positive number", v)
		}
	}
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
						t0 := ctThreadCPU()
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
						*side.cpu += ctThreadCPU() - t0
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

// ctThreadCPU returns the CPU time (user+sys) of the calling OS thread.
func ctThreadCPU() time.Duration {
	const rusageThread = 1 // RUSAGE_THREAD
	var ru syscall.Rusage
	if syscall.Getrusage(rusageThread, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
