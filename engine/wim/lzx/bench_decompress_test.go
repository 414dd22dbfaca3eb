package lzx

import (
	"fmt"
	"slices"
	"testing"

	"github.com/wimconsole/wimconsole/internal/oracle/libwim"
)

// dtBenchChunk is one compressed chunk of the benchmark corpus.
type dtBenchChunk struct {
	comp []byte
	size int
}

// dtBenchCorpus compresses about 6 MiB of real text and binary files with
// libwim at its default level in chunkSize chunks. Chunks that do not
// shrink are left out, as a WIM stores them raw.
func dtBenchCorpus(b *testing.B, chunkSize int) (chunks []dtBenchChunk, total int64) {
	b.Helper()
	libwim.Need(b)
	in := dtInputs(b)
	data := slices.Concat(in["text"], in["binary"])
	for off := 0; off < len(data); off += chunkSize {
		chunk := data[off:min(off+chunkSize, len(data))]
		c := dtCompress(b, chunkSize, 0, chunk)
		if c == nil {
			continue
		}
		chunks = append(chunks, dtBenchChunk{c, len(chunk)})
		total += int64(len(chunk))
	}
	return chunks, total
}

// BenchmarkDecompress decompresses the corpus with this package and, under
// the libwim build tag, with libwim (whose oracle wrapper also creates a
// decompressor and copies the data through C memory on every call).
func BenchmarkDecompress(b *testing.B) {
	for _, cs := range []int{1 << 15, 1 << 20} {
		chunks, total := dtBenchCorpus(b, cs)
		b.Run(fmt.Sprintf("chunk=%d/impl=go", cs), func(b *testing.B) {
			d, err := NewDecompressor(cs)
			if err != nil {
				b.Fatal(err)
			}
			out := make([]byte, cs)
			b.SetBytes(total)
			b.ReportAllocs()
			for b.Loop() {
				for _, c := range chunks {
					if err := d.Decompress(out[:c.size], c.comp); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
		b.Run(fmt.Sprintf("chunk=%d/impl=libwim", cs), func(b *testing.B) {
			b.SetBytes(total)
			for b.Loop() {
				for _, c := range chunks {
					if _, err := libwim.Decompress(libwim.LZX, cs, c.comp, c.size); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
