//go:build !libwim

package lzms

import "testing"

var benchCases = []benchCase{{"golden", goldenMaxLen}}

// benchCorpus, without libwim to compress real data, is the golden chunks.
func benchCorpus(b *testing.B, chunkSize int) (chunks [][]byte, sizes []int, total int) {
	for _, g := range loadGoldens(b) {
		chunks = append(chunks, g.src)
		sizes = append(sizes, g.size)
		total += g.size
	}
	return chunks, sizes, total
}
