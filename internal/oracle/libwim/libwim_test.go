package libwim

import (
	"bytes"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	Need(t)
	data := bytes.Repeat([]byte("hello, wim world "), 2000)
	for _, ct := range []int{XPRESS, LZX, LZMS} {
		c, err := Compress(ct, 32768, 0, data[:32768])
		if err != nil || c == nil {
			t.Fatalf("ctype %d: compress: %v (nil=%v)", ct, err, c == nil)
		}
		d, err := Decompress(ct, 32768, c, 32768)
		if err != nil || !bytes.Equal(d, data[:32768]) {
			t.Fatalf("ctype %d: round trip failed: %v", ct, err)
		}
	}
}
