package xpress

import (
	"strings"
	"testing"
)

// benchSets are the benchmark inputs: several MiB of mixed real files (the
// whole corpus), and its text files alone, cut into 32 KiB chunks as a WIM
// writer would.
func benchSets(b *testing.B) []benchSet {
	b.Helper()
	var mixed, text benchSet
	mixed.name, text.name = "mixed", "text"
	for _, f := range loadCorpus(b, 1<<20) {
		isText := strings.HasSuffix(f.name, ".py") || strings.HasSuffix(f.name, ".pm") ||
			strings.HasSuffix(f.name, ".xml") || strings.Contains(f.name, "GPL") ||
			strings.Contains(f.name, "symbols/")
		for _, ch := range chunks(f.data, 32768) {
			mixed.add(ch)
			if isText {
				text.add(ch)
			}
		}
	}
	return []benchSet{mixed, text}
}

type benchSet struct {
	name  string
	raw   [][]byte
	total int
}

func (s *benchSet) add(ch []byte) {
	s.raw = append(s.raw, ch)
	s.total += len(ch)
}

func BenchmarkCompress(b *testing.B) {
	for _, set := range benchSets(b) {
		b.Run(set.name, func(b *testing.B) {
			c, err := NewCompressor(32768)
			if err != nil {
				b.Fatal(err)
			}
			dst := make([]byte, 32768)
			b.SetBytes(int64(set.total))
			for b.Loop() {
				for _, ch := range set.raw {
					c.Compress(dst[:len(ch)-1], ch)
				}
			}
		})
	}
}

func BenchmarkDecompress(b *testing.B) {
	for _, set := range benchSets(b) {
		b.Run(set.name, func(b *testing.B) {
			c, err := NewCompressor(32768)
			if err != nil {
				b.Fatal(err)
			}
			comp := make([][]byte, len(set.raw))
			for i, ch := range set.raw {
				dst := make([]byte, len(ch)-1)
				if n := c.Compress(dst, ch); n > 0 {
					comp[i] = dst[:n]
				}
			}
			d := NewDecompressor()
			out := make([]byte, 32768)
			b.SetBytes(int64(set.total))
			for b.Loop() {
				for i, ch := range set.raw {
					if comp[i] == nil {
						copy(out, ch) // stored raw, as a WIM reader would copy it
						continue
					}
					if err := d.Decompress(out[:len(ch)], comp[i]); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
