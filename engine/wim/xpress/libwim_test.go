//go:build libwim

package xpress

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/wimconsole/wimconsole/internal/oracle/libwim"
)

// TestLibwimDecodesOurs: everything our compressor emits, libwim decodes to
// the original data.
func TestLibwimDecodesOurs(t *testing.T) {
	libwim.Need(t)
	c, _ := NewCompressor(MaxChunkSize)
	for _, tc := range testInputs(t) {
		src := tc.data
		if len(src) == 0 {
			continue // libwim has nothing to decode
		}
		big := make([]byte, len(src)+len(src)/8+1024)
		n := c.Compress(big, src)
		got, err := libwim.Decompress(libwim.XPRESS, MaxChunkSize, big[:n], len(src))
		if err != nil {
			t.Errorf("%s: libwim rejects our %d-byte output: %v", tc.name, n, err)
			continue
		}
		if !bytes.Equal(got, src) {
			t.Errorf("%s: libwim decodes our output differently at byte %d", tc.name, firstDiff(got, src))
		}
	}
}

// TestOursDecodesLibwim: everything libwim's compressor emits, at its
// greedy, lazy (default) and near-optimal levels, we decode.
func TestOursDecodesLibwim(t *testing.T) {
	libwim.Need(t)
	d := NewDecompressor()
	for _, level := range []int{1, 0, 100} {
		for _, tc := range testInputs(t) {
			src := tc.data
			comp, err := libwim.Compress(libwim.XPRESS, MaxChunkSize, level, src)
			if err != nil {
				t.Fatal(err)
			}
			if comp == nil {
				continue // did not shrink
			}
			out := make([]byte, len(src))
			if err := d.Decompress(out, comp); err != nil {
				t.Errorf("level %d, %s: %v", level, tc.name, err)
			} else if !bytes.Equal(out, src) {
				t.Errorf("level %d, %s: wrong data at byte %d", level, tc.name, firstDiff(out, src))
			}
		}
	}
}

// TestCorruptAgainstLibwim decodes damaged streams with both decoders.
// Where we accept a stream, libwim must accept it and agree on the data;
// where libwim rejects one, so must we. (We reject more: libwim reads
// missing input as zeros.)
func TestCorruptAgainstLibwim(t *testing.T) {
	libwim.Need(t)
	c, _ := NewCompressor(MaxChunkSize)
	d := NewDecompressor()
	rng := rand.New(rand.NewPCG(7, 8))
	accepted := 0
	for _, tc := range testInputs(t)[:26] {
		src := tc.data
		if len(src) == 0 {
			continue
		}
		big := make([]byte, len(src)+len(src)/8+1024)
		comp := big[:c.Compress(big, src)]
		bad := make([]byte, len(comp))
		out := make([]byte, len(src))
		for range 40 {
			copy(bad, comp)
			i := tableBytes + rng.IntN(len(bad)-tableBytes)
			bad[i] ^= 1 << rng.IntN(8)
			err := d.Decompress(out, bad)
			ref, refErr := libwim.Decompress(libwim.XPRESS, MaxChunkSize, bad, len(src))
			switch {
			case err == nil && refErr != nil:
				t.Fatalf("%s: we accept a stream libwim rejects (%v)", tc.name, refErr)
			case err == nil && !bytes.Equal(out, ref):
				t.Fatalf("%s: we and libwim decode a damaged stream differently at byte %d", tc.name, firstDiff(out, ref))
			case err == nil:
				accepted++
			}
		}
	}
	t.Logf("%d damaged streams decoded alike", accepted)
}

// TestCompressionRatio compresses a corpus of real files in 32 KiB chunks
// with our compressor and with libwim at its default level, storing a chunk
// raw when it does not shrink (as WIM does). Ours must be within 2%.
func TestCompressionRatio(t *testing.T) {
	libwim.Need(t)
	c, _ := NewCompressor(32768)
	var totalIn, totalOurs, totalLib int
	for _, f := range loadCorpus(t, 1<<20) {
		var ours, lib int
		for _, ch := range chunks(f.data, 32768) {
			dst := make([]byte, len(ch)-1)
			n := c.Compress(dst, ch)
			if n == 0 {
				n = len(ch)
			}
			ours += n
			ref, err := libwim.Compress(libwim.XPRESS, 32768, 0, ch)
			if err != nil {
				t.Fatal(err)
			}
			if ref == nil {
				lib += len(ch)
			} else {
				lib += len(ref)
			}
		}
		t.Logf("%-50.50s %8d -> ours %8d libwim %8d (%.4f)", f.name, len(f.data), ours, lib, float64(ours)/float64(lib))
		totalIn += len(f.data)
		totalOurs += ours
		totalLib += lib
	}
	ratio := float64(totalOurs) / float64(totalLib)
	t.Logf("total %d -> ours %d libwim %d: ours/libwim = %.4f", totalIn, totalOurs, totalLib, ratio)
	if ratio > 1.02 {
		t.Errorf("compressed size %.4f times libwim's, want at most 1.02", ratio)
	}
}

// FuzzDecompressLibwim decodes arbitrary input with both decoders: where we
// accept it, libwim must too, with the same data.
func FuzzDecompressLibwim(f *testing.F) {
	libwim.Need(f)
	c, _ := NewCompressor(MaxChunkSize)
	dst := make([]byte, 4096)
	for _, s := range fuzzSeeds {
		n := c.Compress(dst, s)
		f.Add(append([]byte(nil), dst[:n]...), uint16(len(s)))
	}
	d := NewDecompressor()
	out := make([]byte, 1<<16)
	f.Fuzz(func(t *testing.T, src []byte, size uint16) {
		if size == 0 || d.Decompress(out[:size], src) != nil {
			return
		}
		ref, err := libwim.Decompress(libwim.XPRESS, MaxChunkSize, src, int(size))
		if err != nil {
			t.Fatalf("we accept what libwim rejects: %v", err)
		}
		if !bytes.Equal(ref, out[:size]) {
			t.Fatalf("we and libwim differ at byte %d", firstDiff(ref, out[:size]))
		}
	})
}
