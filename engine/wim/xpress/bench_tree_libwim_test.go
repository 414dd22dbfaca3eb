//go:build libwim

package xpress

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/wimconsole/wimconsole/engine/wim/xpress/internal/wimxpress"
	"github.com/wimconsole/wimconsole/internal/oracle/libwim"
)

// BenchmarkTreeVsLibwim compresses every file of the folder $WIMBENCH_TREE
// (every $WIMBENCH_EVERY-th file, default 5: a third of a GB of the
// benchmark corpus's tree A) in 32 KiB chunks with our compressor and with
// wimlib's at its default level, alternately, and reports the ratios of
// size and of time (ours/wimlib; best of the rounds): the encoder alone,
// without reading, hashing or writing. wimlib's time includes copying each
// chunk into C memory and back.
//
//	WIMBENCH_TREE=~/.cache/wimconsole-bench/corpus/A go test -tags libwim \
//	    -run '^$' -bench TreeVsLibwim -benchtime 3x ./engine/wim/xpress/
func BenchmarkTreeVsLibwim(b *testing.B) {
	libwim.Need(b)
	tree := os.Getenv("WIMBENCH_TREE")
	if tree == "" {
		b.Skip("WIMBENCH_TREE not set")
	}
	chunks := treeChunks(b, tree, 32768)
	c, err := NewCompressor(32768)
	if err != nil {
		b.Fatal(err)
	}
	w, err := wimxpress.New(32768, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	dst := make([]byte, 32768)
	run := func(compress func(dst, src []byte) int) (size int, d time.Duration) {
		start := time.Now()
		for _, ch := range chunks {
			n := compress(dst[:len(ch)-1], ch)
			if n == 0 {
				n = len(ch)
			}
			size += n
		}
		return size, time.Since(start)
	}
	var ours, theirs time.Duration
	var sizeOurs, sizeTheirs, total int
	for _, ch := range chunks {
		total += len(ch)
	}
	b.SetBytes(int64(total))
	for i := 0; b.Loop(); i++ {
		s, d := run(c.Compress)
		if i == 0 || d < ours {
			ours = d
		}
		sizeOurs = s
		s, d = run(w.Compress)
		if i == 0 || d < theirs {
			theirs = d
		}
		sizeTheirs = s
	}
	b.ReportMetric(float64(sizeOurs)/float64(sizeTheirs), "size-ratio")
	b.ReportMetric(ours.Seconds()/theirs.Seconds(), "time-ratio")
}

// treeChunks reads the sampled files of tree and cuts them into chunks of
// up to size bytes (empty files give none).
func treeChunks(b *testing.B, tree string, size int) [][]byte {
	b.Helper()
	every := 5
	if v := os.Getenv("WIMBENCH_EVERY"); v != "" {
		if _, err := fmt.Sscan(v, &every); err != nil || every < 1 {
			b.Fatalf("WIMBENCH_EVERY=%q: want a positive number", v)
		}
	}
	var out [][]byte
	k := 0
	err := filepath.WalkDir(tree, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		if k++; k%every != 0 {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		out = append(out, chunks(data, size)...)
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	if len(out) == 0 {
		b.Fatalf("%s: no files", tree)
	}
	return out
}
