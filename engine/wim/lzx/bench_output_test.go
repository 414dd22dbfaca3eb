package lzx

import (
	"slices"
	"testing"
)

// ctOutputBlock is one block of the fast level as its output meets it: the
// chunk's bytes (after E8 translation), and the block's items and symbol
// counts.
type ctOutputBlock struct {
	block []byte
	items []parseItem
	freqs symbolFreqs
}

// ctFastBlocks compresses data in 32 KiB chunks at the fast level and
// returns the chunks that are one compressed block.
func ctFastBlocks(b *testing.B, data []byte) []ctOutputBlock {
	b.Helper()
	const chunk = 32768
	c, err := NewCompressorLevel(chunk, LevelFast)
	if err != nil {
		b.Fatal(err)
	}
	dst := make([]byte, chunk)
	var out []ctOutputBlock
	for off := 0; off < len(data); off += chunk {
		src := data[off:min(off+chunk, len(data))]
		if len(src) < 2 || c.Compress(dst[:len(src)-1], src) == 0 || c.rawBlocks > 0 || len(c.bounds) != 1 {
			continue
		}
		out = append(out, ctOutputBlock{
			block: slices.Clone(c.buf[:len(src)]),
			items: slices.Clone(c.items),
			freqs: c.freqs,
		})
	}
	if len(out) == 0 {
		b.Skip("no block of one chunk in the benchmark buffer")
	}
	return out
}

// blockOutputSetup returns the one-block chunks of the benchmark buffer
// (ctFastBlocks), a fast-level compressor for them, and their total size,
// which it sets as the benchmark's bytes.
func blockOutputSetup(b *testing.B) ([]ctOutputBlock, *Compressor, int) {
	blocks := ctFastBlocks(b, ctBenchInput(b))
	c, err := NewCompressorLevel(32768, LevelFast)
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	for _, k := range blocks {
		n += len(k.block)
	}
	b.SetBytes(int64(n))
	return blocks, c, n
}

// BenchmarkBlockOutput times the output of the fast level's blocks, apart
// from the parse that finds their items: the Huffman codes (buildCodes)
// and the block (writeBlock: header, code lengths, items), over the chunks
// of the benchmark buffer that are one block. It reports the speed by CPU time as well (cpu-MB/s), a
// figure a busy machine disturbs less:
//
//	go test -run '^$' -bench BlockOutput -benchtime 300x ./engine/wim/lzx/
func BenchmarkBlockOutput(b *testing.B) {
	blocks, c, n := blockOutputSetup(b)
	cpu0 := ctCPUTime()
	for b.Loop() {
		for i := range blocks {
			k := &blocks[i]
			c.freqs = k.freqs
			c.items = k.items
			clear(c.prevMain)
			clear(c.prevLen)
			c.compressedSeen = false
			c.bw.reset(32768 + 32768/2 + 4096)
			c.buildCodes()
			c.writeBlock(k.block, 0, len(k.block), recentInit)
		}
	}
	ctReportCPU(b, cpu0, n)
}

// BenchmarkBuildCodes times buildCodes alone over the blocks of
// BenchmarkBlockOutput (the bytes reported are those of the blocks).
func BenchmarkBuildCodes(b *testing.B) {
	blocks, c, n := blockOutputSetup(b)
	cpu0 := ctCPUTime()
	for b.Loop() {
		for i := range blocks {
			c.freqs = blocks[i].freqs
			c.buildCodes()
		}
	}
	ctReportCPU(b, cpu0, n)
}
