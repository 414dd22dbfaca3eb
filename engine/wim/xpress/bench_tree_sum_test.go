//go:build linux

package xpress

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/wimconsole/wimconsole/internal/cputime"
	"github.com/wimconsole/wimconsole/internal/oracle/libwim"
)

// BenchmarkTreeSum times the encoder alone on a real folder, every
// WIMBENCH_EVERY-th file (default 3) cut into 32 KiB chunks held in memory,
// by the CPU time of its locked OS thread (the best pass), and logs the
// SHA-256 of all the compressed chunks with each one's length, computed
// outside the timed passes: two builds whose sums agree wrote the same
// bytes, so a speed change left the output as it was:
//
//	WIMBENCH_TREE=~/.cache/wimconsole-bench-small/corpus/A go test \
//	    -run '^$' -bench TreeSum -benchtime 3x ./engine/wim/xpress/
//
// WIMBENCH_XPRESS_KNOBS=depth,lazyDepth,nice,lazyNice (24,8,64,16 by
// default) sets the search effort, for sweeps. On tree A the default run
// logs 15508 chunks, 155196403 bytes in, 46071654 out, sha256 42b66b3a...
func BenchmarkTreeSum(b *testing.B) {
	tree := os.Getenv("WIMBENCH_TREE")
	if tree == "" {
		b.Skip("WIMBENCH_TREE not set")
	}
	const chunk = 32768
	var chunks [][]byte
	total := 0
	for _, src := range libwim.TreeChunks(b, tree, chunk, 3) {
		if len(src) > 1 { // a byte is stored as it is
			chunks = append(chunks, src)
			total += len(src)
		}
	}
	c, err := NewCompressor(chunk)
	if err != nil {
		b.Fatal(err)
	}
	if v := os.Getenv("WIMBENCH_XPRESS_KNOBS"); v != "" {
		if _, err := fmt.Sscanf(v, "%d,%d,%d,%d", &c.depth, &c.lazyDepth, &c.nice, &c.lazyNice); err != nil ||
			c.depth < 1 || c.lazyDepth < 1 || c.nice < 4 || c.nice > 255 || c.lazyNice < 4 {
			b.Fatalf("WIMBENCH_XPRESS_KNOBS=%q: want depth,lazyDepth,nice,lazyNice (nice 4 to 255)", v)
		}
	}
	dst := make([]byte, chunk)
	h := sha256.New()
	out := 0
	for _, src := range chunks {
		n := c.Compress(dst[:len(src)-1], src)
		h.Write([]byte{byte(n), byte(n >> 8), byte(n >> 16)})
		h.Write(dst[:n])
		out += n
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var best time.Duration
	b.SetBytes(int64(total))
	for i := 0; b.Loop(); i++ {
		t0 := cputime.Thread()
		for _, src := range chunks {
			c.Compress(dst[:len(src)-1], src)
		}
		if d := cputime.Thread() - t0; i == 0 || d < best {
			best = d
		}
	}
	b.Logf("%d chunks, %d bytes in, %d out, sha256 %s", len(chunks), total, out, hex.EncodeToString(h.Sum(nil)))
	b.ReportMetric(best.Seconds(), "cpu-s")
	b.ReportMetric(float64(out), "out-bytes")
}
