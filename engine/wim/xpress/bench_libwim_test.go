//go:build libwim

package xpress

import (
	"testing"

	"github.com/wimconsole/wimconsole/internal/oracle/libwim"
)

// BenchmarkLibwimCompress is BenchmarkCompress with wimlib's compressor at
// its default level, reused across chunks; the figure includes copying each
// chunk into and out of C memory.
func BenchmarkLibwimCompress(b *testing.B) {
	libwim.Need(b)
	for _, set := range benchSets(b) {
		b.Run(set.name, func(b *testing.B) {
			w, err := libwim.NewCodec(libwim.XPRESS, 32768, 0)
			if err != nil {
				b.Fatal(err)
			}
			defer w.Close()
			dst := make([]byte, 32768)
			b.SetBytes(int64(set.total))
			for b.Loop() {
				for _, ch := range set.raw {
					w.Compress(dst[:len(ch)-1], ch)
				}
			}
		})
	}
}

// BenchmarkLibwimDecompress is BenchmarkDecompress with wimlib's
// decompressor, on wimlib's own compressed chunks.
func BenchmarkLibwimDecompress(b *testing.B) {
	libwim.Need(b)
	for _, set := range benchSets(b) {
		b.Run(set.name, func(b *testing.B) {
			w, err := libwim.NewCodec(libwim.XPRESS, 32768, 0)
			if err != nil {
				b.Fatal(err)
			}
			defer w.Close()
			comp := make([][]byte, len(set.raw))
			for i, ch := range set.raw {
				dst := make([]byte, len(ch)-1)
				if n := w.Compress(dst, ch); n > 0 {
					comp[i] = dst[:n]
				}
			}
			out := make([]byte, 32768)
			b.SetBytes(int64(set.total))
			for b.Loop() {
				for i, ch := range set.raw {
					if comp[i] == nil {
						copy(out, ch)
						continue
					}
					if err := w.Decompress(out[:len(ch)], comp[i]); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
