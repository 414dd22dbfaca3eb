package lzms

import (
	"runtime"
	"sync"
	"testing"

	"github.com/wimconsole/wimconsole/internal/cputime"
)

// benchLoop runs f in a b.Loop and, where the thread's CPU time can be read,
// also reports throughput per CPU second as "cpu-MB/s": on a machine shared
// with other work, the wall-clock MB/s of the standard output varies with
// the load, while this figure hardly does.
func benchLoop(b *testing.B, bytes int, f func()) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.SetBytes(int64(bytes))
	start := cputime.Thread()
	n := 0
	for b.Loop() {
		f()
		n++
	}
	if end := cputime.Thread(); cputime.ThreadSupported && end > start {
		b.ReportMetric(float64(bytes)*float64(n)/1e6/(end-start).Seconds(), "cpu-MB/s")
	}
}

type benchCase struct {
	name      string
	chunkSize int
}

type benchSet struct {
	chunks [][]byte
	sizes  []int
	total  int
}

var benchCache sync.Map // chunk size -> *benchSet

func benchCorpusCached(b *testing.B, chunkSize int) ([][]byte, []int, int) {
	if v, ok := benchCache.Load(chunkSize); ok {
		s := v.(*benchSet)
		return s.chunks, s.sizes, s.total
	}
	chunks, sizes, total := benchCorpus(b, chunkSize)
	benchCache.Store(chunkSize, &benchSet{chunks, sizes, total})
	return chunks, sizes, total
}

// BenchmarkDecompress measures decompression of several MiB of real mixed
// data (system binaries and text) compressed by libwim at level 50, in
// chunks of 64 KiB, 1 MiB and 8 MiB. It needs -tags libwim to make the
// data; without it, it runs on the (smaller, synthetic) golden chunks.
func BenchmarkDecompress(b *testing.B) {
	for _, bc := range benchCases {
		cs := bc.chunkSize
		b.Run(bc.name, func(b *testing.B) {
			chunks, sizes, total := benchCorpusCached(b, cs)
			d := mustDecompressor(b, cs)
			out := make([]byte, cs)
			benchLoop(b, total, func() {
				for i, c := range chunks {
					if err := d.Decompress(out[:sizes[i]], c); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
