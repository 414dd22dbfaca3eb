//go:build libwim

package libwim

import (
	"os"
	"testing"
	"time"
)

// CompareTree is the body of a benchmark that compresses a real folder
// with our compressor and with wimlib's at its default level, alternately,
// and reports the ratios of size and of time (ours/wimlib; the best round
// of each): the encoder alone, without reading, hashing or writing.
// wimlib's time includes copying each chunk into C memory and back.
//
// The folder is $WIMBENCH_TREE (the benchmark skips without it); every
// $WIMBENCH_EVERY-th file (default 5: a third of a GB of the benchmark
// corpus's tree A) is read and cut into chunks of chunkSize bytes, as the
// WIM writer cuts files. compress has Compress's contract: dst one byte
// shorter than src, 0 when the data does not shrink.
func CompareTree(b *testing.B, ctype, chunkSize int, compress func(dst, src []byte) int) {
	Need(b)
	tree := os.Getenv("WIMBENCH_TREE")
	if tree == "" {
		b.Skip("WIMBENCH_TREE not set")
	}
	chunks := TreeChunks(b, tree, chunkSize, 5)
	w, err := NewCodec(ctype, chunkSize, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	dst := make([]byte, chunkSize)
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
		s, d := run(compress)
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
