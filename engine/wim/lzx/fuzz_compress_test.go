package lzx

import (
	"bytes"
	"testing"
)

// FuzzRoundTrip compresses the input (grown by up to 255*32 bytes of
// varied copies of itself, to reach larger sizes cheaply) with a 32 KiB or
// 64 KiB compressor, as the WIM writer does (dst one byte shorter) and with
// room to spare, and checks that our decompressor restores it.
func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte("hello, hello, hello world"), uint8(0), uint16(0))
	f.Add([]byte{0xE8, 0, 0, 0, 0, 0xE8, 0xFF, 0xFF, 0xFF, 0xFF, 0xE8, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, uint8(1), uint16(40))
	f.Add(make([]byte, 100), uint8(0), uint16(200))
	f.Add([]byte("abcabcabdabcabcabd0123456789"), uint8(1), uint16(255))
	f.Add([]byte{0}, uint8(0), uint16(0))
	f.Add(bytes.Repeat([]byte{0xE8, 0x00, 0x10, 0x00, 0x00, 0x90, 0x90}, 20), uint8(0), uint16(511))
	var cs [2]*Compressor
	var ds [2]*Decompressor
	for i, size := range []int{32768, 65536} {
		var err error
		if cs[i], err = NewCompressor(size); err != nil {
			f.Fatal(err)
		}
		if ds[i], err = NewDecompressor(size); err != nil {
			f.Fatal(err)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, which uint8, grow uint16) {
		k := int(which & 1)
		fuzzRoundTrip(t, cs[k], ds[k], 32768<<k, data, grow)
	})
}

// FuzzRoundTripLevels is FuzzRoundTrip at every level: bit 0 of which
// picks the chunk size (32 KiB or 64 KiB), the rest the level (fast,
// default, slow).
func FuzzRoundTripLevels(f *testing.F) {
	f.Add([]byte("hello, hello, hello world"), uint8(0), uint16(0))
	f.Add([]byte("abcabcabdabcabcabd0123456789"), uint8(1), uint16(255))
	f.Add([]byte("abcabcabdabcabcabd0123456789"), uint8(2), uint16(255))
	f.Add([]byte("abcabcabdabcabcabd0123456789"), uint8(4), uint16(255))
	f.Add(bytes.Repeat([]byte{0xE8, 0x00, 0x10, 0x00, 0x00, 0x90, 0x90}, 20), uint8(3), uint16(511))
	f.Add([]byte("aaaabaaaabaaaacaaaab xyz xyz xyzw"), uint8(2), uint16(300))
	f.Add([]byte{0, 1, 2, 3, 0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 5}, uint8(5), uint16(1000))
	levels := []int{LevelFast, LevelDefault, LevelSlow}
	var cs [3][2]*Compressor
	var ds [2]*Decompressor
	for i, size := range []int{32768, 65536} {
		var err error
		for l, level := range levels {
			if cs[l][i], err = NewCompressorLevel(size, level); err != nil {
				f.Fatal(err)
			}
		}
		if ds[i], err = NewDecompressor(size); err != nil {
			f.Fatal(err)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, which uint8, grow uint16) {
		k := int(which & 1)
		l := int(which>>1) % len(levels)
		fuzzRoundTrip(t, cs[l][k], ds[k], 32768<<k, data, grow)
	})
}

// fuzzRoundTrip grows data by up to 255*32 bytes (by the low byte of grow),
// compresses it with c into a dst one byte shorter and into one with room
// to spare, and checks that d restores it.
func fuzzRoundTrip(t *testing.T, c *Compressor, d *Decompressor, limit int, data []byte, grow uint16) {
	src := data
	if want := min(len(data)+32*int(grow&0xFF), limit); len(data) > 0 && want > len(data) {
		src = make([]byte, 0, want)
		for len(src) < want {
			src = append(src, data[:min(len(data), want-len(src))]...)
			// Vary the copies a little so that they are not all
			// exact repeats.
			if len(src) < want {
				src = append(src, byte(len(src)))
			}
		}
	}
	if len(src) > limit {
		src = src[:limit]
	}
	for _, room := range []int{len(src) - 1, 2*len(src) + 1024} {
		if room < 0 {
			continue
		}
		dst := make([]byte, room)
		n := c.Compress(dst, src)
		if n < 0 || n > room || (n > 0 && len(src) == 0) {
			t.Fatalf("Compress returned %d for %d bytes into %d", n, len(src), room)
		}
		if n == 0 {
			if room > len(src) && len(src) > 0 {
				t.Fatalf("Compress of %d bytes did not fit in %d", len(src), room)
			}
			continue
		}
		out := make([]byte, len(src))
		if err := d.Decompress(out, dst[:n]); err != nil {
			t.Fatalf("decompress (%d -> %d bytes): %v", len(src), n, err)
		}
		if !bytes.Equal(out, src) {
			t.Fatalf("round trip of %d bytes differs at %d", len(src), ctFirstDiff(out, src))
		}
	}
}
