//go:build libwim && linux

package lzx

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/wimconsole/wimconsole/internal/cputime"
	"github.com/wimconsole/wimconsole/internal/oracle/libwim"
)

// BenchmarkFastTreeSum times the fast level alone on a real folder, every
// WIMBENCH_EVERY-th file (default 5) cut into 32 KiB chunks held in
// memory, by the CPU time of its locked OS thread, and logs the SHA-256 of
// all the compressed chunks (with each one's length): two builds whose sums
// agree wrote the same bytes, which proves a speed change left the output
// as it was:
//
//	WIMBENCH_TREE=~/.cache/wimconsole-bench-small/corpus/A go test -tags libwim \
//	    -run '^$' -bench FastTreeSum -benchtime 3x ./engine/wim/lzx/
//
// It reports cpu-s (the best pass) and out-bytes. On tree A the default run
// logs 8782 chunks, 76633081 bytes in, 21554094 out, sha256 8ea3bdcd...
//
// `go test` builds without the CLI's profile, and the profile changes the
// fast level's code: the CLI's build inlines hashChains16.longest into the
// parse's literal loop (a callsite it knows by its line in the parse).
// To time what the CLI runs, pass -pgo=cmd/wimconsole-cli/default.pgo
// (its path from the repository root). On a loaded host, counts are
// steadier than times: valgrind --tool=cachegrind --cache-sim=yes
// --branch-sim=yes on the test binary, with WIMBENCH_EVERY=50 and
// -test.benchtime 1x, takes a few minutes.
func BenchmarkFastTreeSum(b *testing.B) { benchTreeSum(b, LevelFast) }

// BenchmarkTreeSum is BenchmarkFastTreeSum for the default level (the
// binary trees and the minimum-cost path search), the level capture uses:
//
//	WIMBENCH_TREE=~/.cache/wimconsole-bench-small/corpus/A go test -tags libwim \
//	    -run '^$' -bench '^BenchmarkTreeSum$' -benchtime 3x ./engine/wim/lzx/
//
// On tree A the default run logs 8782 chunks, 76633081 bytes in, 21012194
// out, sha256 78741bd7... (WIMBENCH_EVERY=20: 18478720 in, 5113116 out,
// d9b16b63...; 40: sha256 34bf999e...).
func BenchmarkTreeSum(b *testing.B) { benchTreeSum(b, LevelDefault) }

// benchTreeSum times level on the chunks of every WIMBENCH_EVERY-th file
// (default 5) of $WIMBENCH_TREE and logs the SHA-256 of its output.
func benchTreeSum(b *testing.B, level int) {
	tree := os.Getenv("WIMBENCH_TREE")
	if tree == "" {
		b.Skip("WIMBENCH_TREE not set")
	}
	const chunk = 32768
	var chunks [][]byte
	total := 0
	for _, src := range libwim.TreeChunks(b, tree, chunk, 5) {
		if len(src) > 1 { // a byte is stored as it is
			chunks = append(chunks, src)
			total += len(src)
		}
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	c, err := NewCompressorLevel(chunk, level)
	if err != nil {
		b.Fatal(err)
	}
	dst := make([]byte, chunk)
	var best time.Duration
	var sum string
	var out int
	b.SetBytes(int64(total))
	for i := 0; b.Loop(); i++ {
		h := sha256.New()
		out = 0
		t0 := cputime.Thread()
		for _, src := range chunks {
			n := c.Compress(dst[:len(src)-1], src)
			h.Write([]byte{byte(n), byte(n >> 8), byte(n >> 16)})
			h.Write(dst[:n])
			out += n
		}
		if d := cputime.Thread() - t0; i == 0 || d < best {
			best = d
		}
		sum = hex.EncodeToString(h.Sum(nil))
	}
	b.Logf("%d chunks, %d bytes in, %d out, sha256 %s", len(chunks), total, out, sum)
	b.ReportMetric(best.Seconds(), "cpu-s")
	b.ReportMetric(float64(out), "out-bytes")
}
