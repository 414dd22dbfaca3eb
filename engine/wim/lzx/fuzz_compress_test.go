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
		limit := 32768 << k
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
			n := cs[k].Compress(dst, src)
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
			if err := ds[k].Decompress(out, dst[:n]); err != nil {
				t.Fatalf("decompress (%d -> %d bytes): %v", len(src), n, err)
			}
			if !bytes.Equal(out, src) {
				t.Fatalf("round trip of %d bytes differs at %d", len(src), ctFirstDiff(out, src))
			}
		}
	})
}
