//go:build libwim

package lzms

import (
	"crypto/sha1"
	"fmt"
	"os"
	"strconv"
	"testing"
)

// BenchmarkSolidTreeSum is BenchmarkSolidTree's ours alone, which also logs
// the SHA-1 of each chunk's output: a change meant to leave the output as
// it was is checked on real data by comparing the sums of the old and the
// new binary, whose runs interleave (old, new, old, new...).
// $WIMBENCH_CHUNK_MIB sets the chunk size (default 64): 16 MiB chunks of the
// same stream take a quarter of the time, for more rounds on a busy machine.
//
//	WIMBENCH_TREE=~/.cache/wimconsole-bench-small/corpus/A \
//	    go test -tags libwim -run '^$' -bench 'SolidTreeSum$/chunk=0' -benchtime 1x ./engine/wim/lzms/
func BenchmarkSolidTreeSum(b *testing.B) {
	cs := 64 << 20
	if v := os.Getenv("WIMBENCH_CHUNK_MIB"); v != "" {
		mib, err := strconv.Atoi(v)
		if err != nil || mib < 1 || mib > 64 {
			b.Fatalf("WIMBENCH_CHUNK_MIB=%q: want 1 to 64", v)
		}
		cs = mib << 20
	}
	chunks := solidTreeChunks(b, cs)
	for i, ch := range chunks {
		b.Run(fmt.Sprintf("chunk=%d", i), func(b *testing.B) {
			c := mustCompressor(b, cs)
			dst := make([]byte, len(ch)-1)
			var out int
			benchParLoop(b, len(ch), []func(){func() { out = c.Compress(dst, ch) }})
			b.ReportMetric(float64(out)/float64(len(ch)), "ratio")
			b.Logf("chunk %d: %d bytes in, %d out, sha1 %x", i, len(ch), out, sha1.Sum(dst[:out]))
		})
	}
}
