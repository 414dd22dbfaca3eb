package app

import (
	"strings"
	"testing"

	"github.com/wimconsole/wimconsole/engine/wim"
	"github.com/wimconsole/wimconsole/engine/wim/lzx"
)

func TestParseCompressionLevel(t *testing.T) {
	for _, tc := range []struct {
		in      string
		c       Compression
		level   int
		errWant string // "" for none
	}{
		{"lzx", wim.LZX, 0, ""},
		{"LZX:Fast", wim.LZX, lzx.LevelFast, ""},
		{"lzx:slow", wim.LZX, lzx.LevelSlow, ""},
		{"lzx:default", wim.LZX, lzx.LevelDefault, ""},
		{"lzx:20", wim.LZX, 20, ""},
		{"lzx:100", wim.LZX, 100, ""},
		{"maximum:1", wim.LZX, 1, ""},
		{"xpress", wim.XPRESS, 0, ""},
		{"none", wim.None, 0, ""},
		{"xpress:20", 0, 0, "only lzx takes a level"},
		{"lzx:0", 0, 0, "from 1 to 100"},
		{"lzx:-5", 0, 0, "from 1 to 100"},
		{"lzx:quick", 0, 0, "fast, default, slow"},
		{"lzx:", 0, 0, "from 1 to 100"},
		{"zip:20", 0, 0, "want none, xpress, lzx or lzms"},
	} {
		c, level, err := ParseCompressionLevel(tc.in)
		switch {
		case tc.errWant != "" && (err == nil || !strings.Contains(err.Error(), tc.errWant)):
			t.Errorf("%q: error %v, want one saying %q", tc.in, err, tc.errWant)
		case tc.errWant == "" && err != nil:
			t.Errorf("%q: %v", tc.in, err)
		case tc.errWant == "" && (c != tc.c || level != tc.level):
			t.Errorf("%q: %v level %d, want %v level %d", tc.in, c, level, tc.c, tc.level)
		}
	}
}
