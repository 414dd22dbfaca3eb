//go:build libwim

package lzms

import (
	"os"
	"testing"

	"github.com/wimconsole/wimconsole/internal/oracle/libwim"
)

// BenchmarkTreeVsLibwim compares the compressor with wimlib's on a real
// folder in non-solid 128 KiB chunks, as capture --compress lzms writes
// them (libwim.CompareTree: wall time, best round of each).
//
//	WIMBENCH_TREE=~/.cache/wimconsole-bench-small/corpus/A go test -tags libwim \
//	    -run '^$' -bench TreeVsLibwim -benchtime 3x ./engine/wim/lzms/
func BenchmarkTreeVsLibwim(b *testing.B) {
	const cs = 128 << 10
	c := mustCompressor(b, cs)
	libwim.CompareTree(b, libwim.LZMS, cs, c.Compress)
}

// BenchmarkTree compresses the same chunks as BenchmarkTreeVsLibwim with
// ours and with libwim's (a compressor made once), each reporting
// cpu-MB/s (the thread's CPU time, which other load on a shared machine
// hardly moves) and the output size over the input's; -count 3 runs them
// interleaved. Every $WIMBENCH_EVERY-th file (default 10) is taken.
//
//	WIMBENCH_TREE=~/.cache/wimconsole-bench-small/corpus/A go test -tags libwim \
//	    -run '^$' -bench 'Tree$' -benchtime 1x -count 3 ./engine/wim/lzms/
func BenchmarkTree(b *testing.B) {
	const cs = 128 << 10
	chunks, total := benchTreeChunks(b, cs)
	run := func(b *testing.B, compress func(dst, src []byte) int) {
		dst := make([]byte, cs)
		var out int
		benchLoop(b, total, func() {
			out = 0
			for _, ch := range chunks {
				n := compress(dst[:len(ch)-1], ch)
				if n == 0 {
					n = len(ch)
				}
				out += n
			}
		})
		b.ReportMetric(float64(out)/float64(total), "ratio")
	}
	b.Run("ours", func(b *testing.B) {
		run(b, mustCompressor(b, cs).Compress)
	})
	b.Run("libwim", func(b *testing.B) {
		libwim.Need(b)
		w, err := libwim.NewCodec(libwim.LZMS, cs, 0)
		if err != nil {
			b.Fatal(err)
		}
		defer w.Close()
		run(b, w.Compress)
	})
}

// benchTreeChunks reads every $WIMBENCH_EVERY-th file (default 10) under
// $WIMBENCH_TREE (the benchmark skips without it) in chunks of up to size
// bytes, as the WIM writer cuts files; it returns them and their total.
func benchTreeChunks(b *testing.B, size int) ([][]byte, int) {
	b.Helper()
	tree := os.Getenv("WIMBENCH_TREE")
	if tree == "" {
		b.Skip("WIMBENCH_TREE not set")
	}
	chunks := libwim.TreeChunks(b, tree, size, 10)
	total := 0
	for _, c := range chunks {
		total += len(c)
	}
	return chunks, total
}
