package lzx

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/wimconsole/wimconsole/internal/oracle/libwim"
)

func TestLevelName(t *testing.T) {
	for _, tc := range []struct {
		level int
		want  string
	}{
		{0, "default"}, {1, "fast"}, {LevelFast, "fast"}, {34, "fast"},
		{35, "default"}, {LevelDefault, "default"}, {69, "default"},
		{70, "slow"}, {LevelSlow, "slow"}, {1000, "slow"}, {-1, ""},
	} {
		if got := LevelName(tc.level); got != tc.want {
			t.Errorf("LevelName(%d) = %q, want %q", tc.level, got, tc.want)
		}
		_, err := NewCompressorLevel(32768, tc.level)
		if (err != nil) != (tc.want == "") {
			t.Errorf("NewCompressorLevel(32768, %d): error %v", tc.level, err)
		}
	}
}

// TestCompressLevelsRoundTrip checks that our decompressor and (with
// -tags libwim) libwim's restore the chunks of every level, of every kind
// of data and window size, whether dst is one byte short of the chunk or
// has room to spare.
func TestCompressLevelsRoundTrip(t *testing.T) {
	syn := ctSynthetic()
	all := slices.Concat(syn["text"], syn["e8code"], syn["records"], syn["mixed"], syn["skew"], syn["random"][:50000])
	for _, tc := range []struct{ level, chunk int }{
		{LevelFast, 32768}, {LevelFast, 65536}, {LevelFast, 1 << 20},
		{LevelSlow, 32768}, {LevelSlow, 1 << 20},
	} {
		level, chunk := tc.level, tc.chunk
		c, err := NewCompressorLevel(chunk, level)
		if err != nil {
			t.Fatal(err)
		}
		d, err := NewDecompressor(chunk)
		if err != nil {
			t.Fatal(err)
		}
		var in, out int
		for off := 0; off < len(all); off += chunk {
			src := all[off:min(off+chunk, len(all))]
			n := ctRoundTrip(t, c, d, chunk, src, len(src)-1)
			if n == 0 {
				n = len(src)
			}
			in += len(src)
			out += n
		}
		// Small and odd sizes, and the tail of a chunk.
		for _, size := range []int{1, 2, 3, 4, 5, 63, 1000, 4099} {
			ctRoundTrip(t, c, d, chunk, syn["text"][:size], 3*size+1024)
			ctRoundTrip(t, c, d, chunk, syn["e8code"][777:777+size], 3*size+1024)
		}
		t.Logf("level %3d chunk %7d: %d -> %d bytes", level, chunk, in, out)
	}
}

// TestCompressLevelsOrder checks the sizes along the levels on the
// synthetic data: slow no larger than default, default smaller than fast.
func TestCompressLevelsOrder(t *testing.T) {
	syn := ctSynthetic()
	all := slices.Concat(syn["text"], syn["e8code"], syn["records"], syn["mixed"], syn["skew"])
	const chunk = 32768
	size := map[int]int{}
	for _, level := range []int{LevelFast, LevelDefault, LevelSlow} {
		c, err := NewCompressorLevel(chunk, level)
		if err != nil {
			t.Fatal(err)
		}
		dst := make([]byte, chunk)
		for off := 0; off < len(all); off += chunk {
			src := all[off:min(off+chunk, len(all))]
			n := c.Compress(dst[:len(src)-1], src)
			if n == 0 {
				n = len(src)
			}
			size[level] += n
		}
	}
	t.Logf("fast %d, default %d, slow %d bytes", size[LevelFast], size[LevelDefault], size[LevelSlow])
	if size[LevelSlow] > size[LevelDefault] || size[LevelDefault] >= size[LevelFast] {
		t.Errorf("sizes fast %d, default %d, slow %d: not in order", size[LevelFast], size[LevelDefault], size[LevelSlow])
	}
}

// TestLevelsRatioVsLibwim compares our fast and slow levels with libwim's
// levels 20 and 100 over the corpus of real files in 32 KiB chunks: fast
// must be no larger than wimlib's 20, slow smaller than wimlib's 100.
func TestLevelsRatioVsLibwim(t *testing.T) {
	libwim.Need(t)
	if testing.Short() {
		t.Skip("compares the levels over 3 MB with libwim's")
	}
	const chunk = 32768
	corpus := ctCorpus(*ctRatioCorpus)
	if len(corpus) < 4 {
		t.Fatalf("only %d kinds of corpus files found on this machine", len(corpus))
	}
	// Log lines, where the lazy parse once took far matches a byte
	// longer over repeat offsets and wrote 21% more than wimlib's 20.
	var log strings.Builder
	for i := range 20000 {
		fmt.Fprintf(&log, "line %d: value %d of %s\n", i, (i*7919)%1000, []string{"alpha", "bravo", "charlie", "delta"}[i%4])
	}
	corpus = append(corpus, struct {
		name string
		data []byte
	}{"log", []byte(log.String())})
	for _, lv := range []struct{ ours, theirs int }{{LevelFast, 20}, {LevelSlow, 100}} {
		c, err := NewCompressorLevel(chunk, lv.ours)
		if err != nil {
			t.Fatal(err)
		}
		dst := make([]byte, chunk)
		var ours, theirs int
		for _, k := range corpus {
			var o, l int
			for off := 0; off < len(k.data); off += chunk {
				src := k.data[off:min(off+chunk, len(k.data))]
				n := c.Compress(dst[:len(src)-1], src)
				if n == 0 {
					n = len(src)
				}
				lc, err := libwim.Compress(libwim.LZX, chunk, lv.theirs, src)
				if err != nil {
					t.Fatal(err)
				}
				ln := len(lc)
				if lc == nil {
					ln = len(src)
				}
				o += n
				l += ln
			}
			if k.name == "log" && o > l {
				t.Errorf("level %s on log lines: %d bytes, wimlib level %d: %d", LevelName(lv.ours), o, lv.theirs, l)
			}
			ours += o
			theirs += l
		}
		ratio := float64(ours) / float64(theirs)
		t.Logf("%s vs wimlib level %d: ours %d, libwim %d, ratio %.4f", LevelName(lv.ours), lv.theirs, ours, theirs, ratio)
		if ours > theirs {
			t.Errorf("level %s: %d bytes, larger than wimlib level %d's %d", LevelName(lv.ours), ours, lv.theirs, theirs)
		}
	}
}
