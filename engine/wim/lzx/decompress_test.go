package lzx

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/wimconsole/wimconsole/internal/oracle/libwim"
)

// ---------------------------------------------------------------------------
// Test inputs

// dtFiles returns up to limit bytes read from the regular files matching
// the glob patterns, in sorted order, skipping files smaller than minSize.
func dtFiles(limit, minSize int, patterns ...string) []byte {
	var names []string
	for _, p := range patterns {
		m, _ := filepath.Glob(p)
		names = append(names, m...)
	}
	slices.Sort(names)
	var out []byte
	for _, name := range names {
		if len(out) >= limit {
			break
		}
		fi, err := os.Stat(name)
		if err != nil || !fi.Mode().IsRegular() || fi.Size() < int64(minSize) {
			continue
		}
		b, err := os.ReadFile(name)
		if err != nil {
			continue
		}
		out = append(out, b[:min(len(b), limit-len(out), 512<<10)]...)
	}
	return out
}

var dtInputsOnce = sync.OnceValue(func() map[string][]byte {
	goroot := goRoot()
	text := dtFiles(3<<20, 1000,
		filepath.Join(goroot, "src/net/http/*.go"),
		filepath.Join(goroot, "src/go/*/*.go"),
		"/usr/share/common-licenses/*")
	bin := dtFiles(3<<20, 4000, "/usr/bin/*", "/usr/lib/x86_64-linux-gnu/*.so*")
	// BSD-licensed x86 code, for the chunks saved in testdata.
	gobin := dtFiles(1<<20, 4000, filepath.Join(goroot, "bin/*"), filepath.Join(goroot, "pkg/tool/*/*"))
	rnd := make([]byte, 1<<20)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range rnd {
		rnd[i] = byte(r.Uint32())
	}
	// Low-entropy bytes: skewed literals and short repeats.
	skew := make([]byte, 1<<20)
	for i := range skew {
		switch v := r.IntN(100); {
		case v < 60:
			skew[i] = 'a' + byte(v%3)
		case v < 90 && i > 300:
			skew[i] = skew[i-1-r.IntN(300)]
		default:
			skew[i] = byte(r.Uint32())
		}
	}
	// E8 bytes everywhere, including the last 10 of every chunk.
	e8 := make([]byte, 1<<20)
	for i := range e8 {
		if r.IntN(4) == 0 {
			e8[i] = 0xE8
		} else {
			e8[i] = byte(r.IntN(8))
		}
	}
	mixed := slices.Concat(text[:min(len(text), 1<<20)], bin[:min(len(bin), 1<<20)], make([]byte, 100000), rnd[:200000], skew[:300000])
	return map[string][]byte{
		"text":   text,
		"binary": bin,
		"gobin":  gobin,
		"zeros":  make([]byte, 3<<20),
		"random": rnd,
		"skewed": skew,
		"e8":     e8,
		"mixed":  mixed,
	}
})

// dtInputs returns the named test inputs, failing if the machine lacks the
// text or binary files the differential tests rely on.
func dtInputs(t testing.TB) map[string][]byte {
	t.Helper()
	in := dtInputsOnce()
	if len(in["text"]) < 1<<20 || len(in["binary"]) < 1<<20 || len(in["gobin"]) < 1<<20 {
		t.Fatalf("too few text (%d bytes) or binary (%d and %d bytes) files found for test input", len(in["text"]), len(in["binary"]), len(in["gobin"]))
	}
	return in
}

// dtChunks splits data into chunks of chunkSize bytes (the last shorter),
// keeping at most max chunks spread evenly over data.
func dtChunks(data []byte, chunkSize, max int) [][]byte {
	var all [][]byte
	for off := 0; off < len(data); off += chunkSize {
		all = append(all, data[off:min(off+chunkSize, len(data))])
	}
	if len(all) <= max {
		return all
	}
	var out [][]byte
	for i := range max {
		out = append(out, all[i*len(all)/max])
	}
	// Always keep the short last chunk.
	if last := all[len(all)-1]; len(last) != chunkSize {
		out[len(out)-1] = last
	}
	return out
}

// ---------------------------------------------------------------------------
// Differential tests against libwim's compressor

func TestNewDecompressor(t *testing.T) {
	for _, size := range []int{32768, 65536, 1 << 17, 1 << 18, 1 << 19, 1 << 20, 1 << 21} {
		d, err := NewDecompressor(size)
		if err != nil || d == nil {
			t.Errorf("NewDecompressor(%d): %v", size, err)
		}
	}
	for _, size := range []int{-1, 0, 1, 32767, 32769, 40000, 1<<21 + 1, 1 << 22} {
		if d, err := NewDecompressor(size); err == nil || d != nil {
			t.Errorf("NewDecompressor(%d) = %v, nil; want an error", size, d)
		}
	}
}

func TestWindowParameters(t *testing.T) {
	want := map[int]int{15: 30, 16: 32, 17: 34, 18: 36, 19: 38, 20: 42, 21: 50}
	for order, slots := range want {
		if got := numOffsetSlots(order); got != slots {
			t.Errorf("numOffsetSlots(%d) = %d, want %d", order, got, slots)
		}
		if got := numMainSyms(order); got != 256+8*slots {
			t.Errorf("numMainSyms(%d) = %d, want %d", order, got, 256+8*slots)
		}
	}
	for in, want := range map[int]int{0: 0, -5: 0, 1: 15, 32768: 15, 32769: 16, 1 << 21: 21, 1<<21 + 1: 0} {
		if got := windowOrder(in); got != want {
			t.Errorf("windowOrder(%d) = %d, want %d", in, got, want)
		}
	}
	for s := 1; s < maxOffsetSlots; s++ {
		if slotBase[s] != slotBase[s-1]+1<<extraBits[s-1] {
			t.Errorf("slot %d: base %d does not follow slot %d (base %d, %d extra bits)", s, slotBase[s], s-1, slotBase[s-1], extraBits[s-1])
		}
	}
}

// dtCompress compresses chunk with libwim, failing the test on error; it
// returns nil when the chunk does not shrink.
func dtCompress(t testing.TB, chunkSize, level int, chunk []byte) []byte {
	t.Helper()
	c, err := libwim.Compress(libwim.LZX, chunkSize, level, chunk)
	if err != nil {
		t.Fatalf("libwim compress (chunk %d, level %d, %d bytes): %v", chunkSize, level, len(chunk), err)
	}
	return c
}

// dtCheck decompresses c and compares the result with want.
func dtCheck(t *testing.T, d *Decompressor, c, want []byte, what string) {
	t.Helper()
	got := make([]byte, len(want))
	if err := d.Decompress(got, c); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if !bytes.Equal(got, want) {
		i := 0
		for i < len(got) && got[i] == want[i] {
			i++
		}
		t.Fatalf("%s: output differs from the original at byte %d of %d", what, i, len(want))
	}
}

func TestLibwimDifferential(t *testing.T) {
	libwim.Need(t)
	inputs := dtInputs(t)
	levels := []int{0, 1, 20, 100}
	chunkSizes := []int{1 << 15, 1 << 16, 1 << 17, 1 << 18, 1 << 19, 1 << 20, 1 << 21}
	names := slices.Sorted(func(yield func(string) bool) {
		for k := range inputs {
			if !yield(k) {
				return
			}
		}
	})
	for _, cs := range chunkSizes {
		d, err := NewDecompressor(cs)
		if err != nil {
			t.Fatal(err)
		}
		for _, level := range levels {
			// Input budget per (chunk size, level, input): more at the
			// fast levels, and at least one chunk.
			budget := 512 << 10
			if level == 0 || level == 100 {
				budget = 256 << 10
			}
			for _, name := range names {
				// Keep the slow cases (libwim's near-optimal parser on
				// big chunks) few, and random data, which does not
				// compress, to one level.
				switch {
				case name == "random" && level != 0,
					cs >= 1<<19 && level == 100 && name != "text" && name != "gobin",
					cs >= 1<<20 && level == 0 && name != "text" && name != "mixed":
					continue
				}
				data := inputs[name]
				t.Run(fmt.Sprintf("chunk=%d/level=%d/%s", cs, level, name), func(t *testing.T) {
					n := 0
					for i, chunk := range dtChunks(data, cs, max(1, budget/cs)) {
						c := dtCompress(t, cs, level, chunk)
						if c == nil {
							continue
						}
						n++
						dtCheck(t, d, c, chunk, fmt.Sprintf("chunk %d (%d bytes, %d compressed)", i, len(chunk), len(c)))
					}
					if n == 0 && name != "random" {
						t.Errorf("libwim compressed none of the chunks")
					}
				})
			}
		}
	}
}

// TestLibwimSizes covers chunk lengths around the edges: tiny, odd, one
// byte, exactly 32 KiB and others that are not powers of two.
func TestLibwimSizes(t *testing.T) {
	libwim.Need(t)
	inputs := dtInputs(t)
	sizes := []int{1, 2, 3, 4, 5, 9, 10, 11, 12, 16, 17, 31, 64, 100, 255, 256, 1000, 4095, 6500, 10000, 32767, 32768}
	for _, cs := range []int{1 << 15, 1 << 16, 1 << 21} {
		d, err := NewDecompressor(cs)
		if err != nil {
			t.Fatal(err)
		}
		sz := sizes
		if cs > 1<<15 {
			sz = append(slices.Clone(sizes), 32769, 65535, 65536, 65537, 99999, 100001, cs-1, cs)
		}
		for _, name := range []string{"text", "binary", "zeros", "e8", "skewed"} {
			data := inputs[name]
			for _, size := range sz {
				if size > cs || size >= len(data) {
					continue
				}
				levels := []int{0, 1, 100}
				if cs > 1<<16 {
					levels = []int{1} // libwim sets up big windows slowly
				}
				for _, level := range levels {
					off := (size * 7919) % (len(data) - size)
					chunk := data[off : off+size]
					c := dtCompress(t, cs, level, chunk)
					if c == nil {
						continue
					}
					dtCheck(t, d, c, chunk, fmt.Sprintf("%s: chunk size %d, level %d, %d bytes", name, cs, level, size))
				}
			}
		}
	}
}

// TestLibwimCorrupt damages libwim-compressed chunks and compares our
// decoder with libwim's: neither may crash; when both accept the data they
// must produce the same bytes; we may reject only what libwim also rejects,
// except truncation (libwim reads zeros past the end of its input) and the
// one case where its alignment before uncompressed blocks differs (see
// alignForBytes).
func TestLibwimCorrupt(t *testing.T) {
	libwim.Need(t)
	inputs := dtInputs(t)
	r := rand.New(rand.NewPCG(3, 4))
	stats := map[string]int{}
	for _, cs := range []int{1 << 15, 1 << 17} {
		d, err := NewDecompressor(cs)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"text", "binary", "skewed"} {
			for _, chunk := range dtChunks(inputs[name], cs, 3) {
				c := dtCompress(t, cs, 0, chunk)
				if c == nil {
					continue
				}
				for trial := range 300 {
					bad := slices.Clone(c)
					switch trial % 4 {
					case 0: // flip one bit
						i := r.IntN(len(bad))
						bad[i] ^= 1 << r.IntN(8)
					case 1: // flip a bit in the headers
						i := r.IntN(min(len(bad), 200))
						bad[i] ^= 1 << r.IntN(8)
					case 2: // overwrite a run with garbage
						i := r.IntN(len(bad))
						for j := i; j < min(len(bad), i+1+r.IntN(16)); j++ {
							bad[j] = byte(r.Uint32())
						}
					case 3: // truncate
						bad = bad[:r.IntN(len(bad))]
					}
					got := make([]byte, len(chunk))
					ourErr := d.Decompress(got, bad)
					want, libErr := libwim.Decompress(libwim.LZX, cs, bad, len(chunk))
					switch {
					case ourErr != nil && !errors.Is(ourErr, ErrCorrupt):
						t.Fatalf("error does not wrap ErrCorrupt: %v", ourErr)
					case ourErr == nil && libErr == nil:
						if !bytes.Equal(got, want) && !d.wimlibAlignDiffers {
							t.Fatalf("%s trial %d: both accept damaged data but outputs differ", name, trial)
						}
						stats["both accept"]++
					case ourErr == nil && libErr != nil:
						t.Fatalf("%s trial %d: we accept damaged data that libwim rejects (%v)", name, trial, libErr)
					case ourErr != nil && libErr == nil:
						if !strings.Contains(ourErr.Error(), "truncated") && !d.wimlibAlignDiffers {
							t.Fatalf("%s trial %d: we reject data libwim accepts: %v", name, trial, ourErr)
						}
						stats["we reject truncation"]++
					default:
						stats["both reject"]++
					}
				}
			}
		}
	}
	t.Logf("outcomes: %v", stats)
}

// ---------------------------------------------------------------------------
// Golden chunks: libwim output saved in testdata, checked without libwim.

// dtGolden lists the saved chunks: their input, chunk size and level.
var dtGolden = []struct {
	name       string
	input      string
	off, size  int
	chunk, lvl int
}{
	{"text-32k-l0", "text", 0, 32768, 1 << 15, 0},
	{"text-32k-l1", "text", 40000, 32768, 1 << 15, 1},
	{"text-32k-l100", "text", 80000, 32768, 1 << 15, 100},
	{"text-odd-l20", "text", 5, 20001, 1 << 15, 20},
	{"bin-32k-l0", "gobin", 200000, 32768, 1 << 15, 0},
	{"bin-32k-l100", "gobin", 300000, 32768, 1 << 15, 100},
	{"bin-64k-l0", "gobin", 500000, 65536, 1 << 16, 0},
	{"bin-128k-l20", "gobin", 0, 1 << 17, 1 << 17, 20},
	{"bin-4k-l100", "gobin", 123456, 4096, 1 << 15, 100},
	{"text-4k-l20", "text", 654321, 4096, 1 << 15, 20},
	{"text-1m-odd-l1", "text", 77, 100000, 1 << 20, 1},
	{"skewed-32k-l0", "skewed", 0, 32768, 1 << 15, 0},
	{"e8-32k-l0", "e8", 0, 32768, 1 << 15, 0},
	{"zeros-2m-l0", "zeros", 0, 1 << 21, 1 << 21, 0},
	{"zeros-tiny-l0", "zeros", 0, 200, 1 << 15, 0},
}

// TestGolden decompresses the saved libwim chunks in testdata/golden, whose
// names give chunk size and output size and whose expected SHA-256 digests
// are in testdata/golden/SHA256SUMS.
func TestGolden(t *testing.T) {
	sums, err := os.ReadFile("testdata/golden/SHA256SUMS")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for line := range strings.Lines(string(sums)) {
		f := strings.Fields(line)
		if len(f) != 4 {
			t.Fatalf("bad SHA256SUMS line %q", line)
		}
		sum, name := f[0], f[1]
		cs, err1 := strconv.Atoi(f[2])
		size, err2 := strconv.Atoi(f[3])
		if err1 != nil || err2 != nil {
			t.Fatalf("bad SHA256SUMS line %q", line)
		}
		c, err := os.ReadFile(filepath.Join("testdata/golden", name))
		if err != nil {
			t.Fatal(err)
		}
		d, err := NewDecompressor(cs)
		if err != nil {
			t.Fatal(err)
		}
		got := make([]byte, size)
		if err := d.Decompress(got, c); err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		h := sha256.Sum256(got)
		if hex.EncodeToString(h[:]) != sum {
			t.Errorf("%s: output's SHA-256 differs", name)
		}
		n++
	}
	if n < len(dtGolden) {
		t.Errorf("only %d golden chunks checked, want %d", n, len(dtGolden))
	}
}

// TestWriteTestdata regenerates testdata/golden and the FuzzDecompress seed
// corpus from libwim's compressor. It runs only when LZX_WRITE_TESTDATA is
// set (and -tags libwim is given).
func TestWriteTestdata(t *testing.T) {
	if os.Getenv("LZX_WRITE_TESTDATA") == "" {
		t.Skip("set LZX_WRITE_TESTDATA=1 to regenerate testdata")
	}
	libwim.Need(t)
	inputs := dtInputs(t)
	if err := os.MkdirAll("testdata/golden", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll("testdata/fuzz/FuzzDecompress", 0o755); err != nil {
		t.Fatal(err)
	}
	var sums strings.Builder
	for _, g := range dtGolden {
		chunk := inputs[g.input][g.off : g.off+g.size]
		c := dtCompress(t, g.chunk, g.lvl, chunk)
		if c == nil {
			t.Fatalf("%s: did not compress", g.name)
		}
		name := g.name + ".lzx"
		if err := os.WriteFile(filepath.Join("testdata/golden", name), c, 0o644); err != nil {
			t.Fatal(err)
		}
		h := sha256.Sum256(chunk)
		fmt.Fprintf(&sums, "%x %s %d %d\n", h, name, g.chunk, g.size)
		// Fuzz seeds: the smaller chunks.
		if len(c) <= 8000 {
			seed := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\nuint32(%d)\nuint8(%d)\n", c, g.size, windowOrder(g.chunk)-minWindowOrder)
			if err := os.WriteFile(filepath.Join("testdata/fuzz/FuzzDecompress", g.name), []byte(seed), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := os.WriteFile("testdata/golden/SHA256SUMS", []byte(sums.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// ---------------------------------------------------------------------------
// Hand-built streams: a small LZX writer for the cases libwim's compressor
// never produces (uncompressed blocks, pretree runs of every kind, odd
// codes) and for precise corruption.

// dtBitWriter writes 16-bit little-endian words, most significant bit first.
type dtBitWriter struct {
	out []byte
	acc uint32
	n   uint
}

func (w *dtBitWriter) put(v uint32, k uint) {
	for i := int(k) - 1; i >= 0; i-- {
		w.acc = w.acc<<1 | v>>uint(i)&1
		w.n++
		if w.n == 16 {
			w.out = append(w.out, byte(w.acc), byte(w.acc>>8))
			w.acc, w.n = 0, 0
		}
	}
}

// flush pads the last word with zero bits.
func (w *dtBitWriter) flush() {
	if w.n > 0 {
		w.put(0, 16-w.n)
	}
}

// dtCanonical returns the canonical codewords for lens.
func dtCanonical(lens []uint8) []uint32 {
	codes := make([]uint32, len(lens))
	code := uint32(0)
	for l := uint8(1); l <= 16; l++ {
		for s, sl := range lens {
			if sl == l {
				codes[s] = code
				code++
			}
		}
		code <<= 1
	}
	return codes
}

// dtFlatLens returns code lengths for n symbols forming a complete code
// over the used ones (at least two, padding with the lowest unused).
func dtFlatLens(n int, used ...int) []uint8 {
	set := map[int]bool{}
	for _, s := range used {
		set[s] = true
	}
	for s := 0; len(set) < 2; s++ {
		set[s] = true
	}
	syms := slices.Sorted(func(yield func(int) bool) {
		for s := range set {
			if !yield(s) {
				return
			}
		}
	})
	k := len(syms)
	L := 1
	for 1<<L < k {
		L++
	}
	lens := make([]uint8, n)
	short := 1<<L - k // symbols of length L-1
	for i, s := range syms {
		if i < short {
			lens[s] = uint8(L - 1)
		} else {
			lens[s] = uint8(L)
		}
	}
	return lens
}

// dtTok is a literal (length 0) or a match: explicit offset, or repeat
// offset rep-1 when rep is 1..3.
type dtTok struct {
	lit    byte
	length int
	offset int
	rep    int
}

func dtL(s string) []dtTok {
	var t []dtTok
	for i := range len(s) {
		t = append(t, dtTok{lit: s[i]})
	}
	return t
}
func dtM(length, offset int) dtTok { return dtTok{length: length, offset: offset} }
func dtR(length, rep int) dtTok    { return dtTok{length: length, rep: rep + 1} }

// dtSlot returns the position slot and extra bits value of a match offset.
func dtSlot(offset int) (int, uint32) {
	f := uint32(offset + offsetAdjust)
	s := maxOffsetSlots - 1
	for slotBase[s] > f {
		s--
	}
	return s, f - slotBase[s]
}

// dtStream builds one LZX chunk.
type dtStream struct {
	w        dtBitWriter
	order    int
	numMain  int
	prevMain []uint8
	prevLen  []uint8
	runs     bool // use pretree run codes 17, 18, 19
	size     int  // if nonzero, the size the next block header declares
}

func newDtStream(order int) *dtStream {
	nm := numMainSyms(order)
	return &dtStream{order: order, numMain: nm, prevMain: make([]uint8, nm), prevLen: make([]uint8, numLenSyms), runs: true}
}

func (s *dtStream) header(btype, size int) {
	if s.size != 0 {
		size, s.size = s.size, 0
	}
	s.w.put(uint32(btype), 3)
	if size == defaultBlockSize {
		s.w.put(1, 1)
		return
	}
	s.w.put(0, 1)
	if s.order > minWindowOrder {
		s.w.put(uint32(size), 24)
	} else {
		s.w.put(uint32(size), 16)
	}
}

// lens writes code lengths through a flat pretree as deltas against prev,
// using run codes when s.runs is set, and updates prev.
func (s *dtStream) lens(lens, prev []uint8) {
	pre := make([]uint8, numPreSyms)
	for i := range pre {
		pre[i] = 5
		if i < 12 {
			pre[i] = 4
		}
	}
	pc := dtCanonical(pre)
	for _, l := range pre {
		s.w.put(uint32(l), 4)
	}
	sym := func(v int) { s.w.put(pc[v], uint(pre[v])) }
	for i := 0; i < len(lens); {
		run := 1
		for i+run < len(lens) && lens[i+run] == lens[i] {
			run++
		}
		switch {
		case s.runs && lens[i] == 0 && run >= 20:
			run = min(run, 51)
			sym(18)
			s.w.put(uint32(run-20), 5)
		case s.runs && lens[i] == 0 && run >= 4:
			run = min(run, 19)
			sym(17)
			s.w.put(uint32(run-4), 4)
		case s.runs && run >= 4:
			run = min(run, 5)
			sym(19)
			s.w.put(uint32(run-4), 1)
			sym(int(prev[i]+17-lens[i]) % 17)
		default:
			run = 1
			sym(int(prev[i]+17-lens[i]) % 17)
		}
		i += run
	}
	copy(prev, lens)
}

// compressed writes a verbatim or aligned block of toks with the given
// codes (nil: a flat code over the symbols toks use).
func (s *dtStream) compressed(btype int, toks []dtTok, mainLens, lenLens, alignedLens []uint8) {
	size := 0
	var usedMain, usedLen, usedAligned []int
	for _, t := range toks {
		if t.length == 0 {
			size++
			usedMain = append(usedMain, int(t.lit))
			continue
		}
		size += t.length
		slot, extra := t.rep-1, uint32(0)
		if t.rep == 0 {
			slot, extra = dtSlot(t.offset)
		}
		usedMain = append(usedMain, numChars+slot*numLenHeaders+min(t.length-minMatchLen, numPrimaryLens))
		if t.length-minMatchLen >= numPrimaryLens {
			usedLen = append(usedLen, t.length-minMatchLen-numPrimaryLens)
		}
		usedAligned = append(usedAligned, int(extra&alignedMask))
	}
	if mainLens == nil {
		mainLens = dtFlatLens(s.numMain, usedMain...)
	}
	if lenLens == nil {
		lenLens = dtFlatLens(numLenSyms, usedLen...)
	}
	if alignedLens == nil {
		alignedLens = dtFlatLens(numAligned, usedAligned...)
	}
	s.header(btype, size)
	if btype == blockAligned {
		for _, l := range alignedLens {
			s.w.put(uint32(l), alignedLenBits)
		}
	}
	s.lens(mainLens[:numChars], s.prevMain[:numChars])
	s.lens(mainLens[numChars:], s.prevMain[numChars:])
	s.lens(lenLens, s.prevLen)
	mc, lc, ac := dtCanonical(mainLens), dtCanonical(lenLens), dtCanonical(alignedLens)
	for _, t := range toks {
		if t.length == 0 {
			s.w.put(mc[t.lit], uint(mainLens[t.lit]))
			continue
		}
		slot, extra := t.rep-1, uint32(0)
		if t.rep == 0 {
			slot, extra = dtSlot(t.offset)
		}
		hdr := min(t.length-minMatchLen, numPrimaryLens)
		ms := numChars + slot*numLenHeaders + hdr
		s.w.put(mc[ms], uint(mainLens[ms]))
		if hdr == numPrimaryLens {
			ls := t.length - minMatchLen - numPrimaryLens
			s.w.put(lc[ls], uint(lenLens[ls]))
		}
		if t.rep != 0 {
			continue
		}
		eb := uint(extraBits[slot])
		if btype == blockAligned && slot >= minAlignedSlot {
			s.w.put(extra>>alignedBits, eb-alignedBits)
			s.w.put(ac[extra&alignedMask], uint(alignedLens[extra&alignedMask]))
		} else {
			s.w.put(extra, eb)
		}
	}
}

// uncompressed writes an uncompressed block; pad controls the padding byte
// after odd-sized data.
func (s *dtStream) uncompressed(data []byte, r [3]uint32, pad bool) {
	s.header(blockUncompressed, len(data))
	if s.w.n == 0 {
		s.w.put(0, 16)
	} else {
		s.w.flush()
	}
	for _, v := range r {
		s.w.out = append(s.w.out, byte(v), byte(v>>8), byte(v>>16), byte(v>>24))
	}
	s.w.out = append(s.w.out, data...)
	if len(data)%2 == 1 && pad {
		s.w.out = append(s.w.out, 0)
	}
}

func (s *dtStream) bytes() []byte {
	s.w.flush()
	return s.w.out
}

// dtExpand plays toks as the reference for the expected output, with its
// own recent offsets queue r.
func dtExpand(out []byte, toks []dtTok, r *[3]int) []byte {
	for _, t := range toks {
		if t.length == 0 {
			out = append(out, t.lit)
			continue
		}
		off := t.offset
		switch t.rep {
		case 0:
			r[0], r[1], r[2] = off, r[0], r[1]
		case 1:
			off = r[0]
		case 2:
			off = r[1]
			r[0], r[1] = r[1], r[0]
		case 3:
			off = r[2]
			r[0], r[2] = r[2], r[0]
		}
		for range t.length {
			out = append(out, out[len(out)-off])
		}
	}
	return out
}

func TestHandBuilt(t *testing.T) {
	text := "The quick brown fox jumps over the lazy dog; "
	type blk struct {
		btype int
		toks  []dtTok
		raw   string
		r     [3]uint32
		pad   bool
	}
	for _, tc := range []struct {
		name   string
		order  int
		noRuns bool
		blocks []blk
	}{
		{name: "uncompressed only", order: 15, blocks: []blk{{btype: 3, raw: "abc", r: [3]uint32{1, 1, 1}, pad: true}}},
		{name: "uncompressed odd last without pad", order: 15, blocks: []blk{{btype: 3, raw: "hello", r: [3]uint32{1, 1, 1}}}},
		{name: "uncompressed even", order: 16, blocks: []blk{{btype: 3, raw: "ab", r: [3]uint32{1, 1, 1}}}},
		{name: "two uncompressed", order: 15, blocks: []blk{
			{btype: 3, raw: "hello", r: [3]uint32{1, 1, 1}, pad: true},
			{btype: 3, raw: " world", r: [3]uint32{1, 2, 3}},
		}},
		{name: "uncompressed then verbatim using its offsets", order: 15, blocks: []blk{
			{btype: 3, raw: "abcdefghijk", r: [3]uint32{3, 5, 7}, pad: true},
			{btype: 1, toks: []dtTok{dtR(4, 0), dtR(3, 1), dtR(5, 2), dtL("xyz")[0], dtR(2, 0), dtR(9, 2)}},
		}},
		{name: "verbatim", order: 15, blocks: []blk{{btype: 1, toks: append(dtL(text), dtM(40, 45), dtM(3, 1), dtR(2, 0), dtM(257, 30), dtR(8, 1), dtR(8, 2))}}},
		{name: "verbatim without runs", order: 15, noRuns: true, blocks: []blk{{btype: 1, toks: append(dtL(text), dtM(40, 45), dtM(9, 2))}}},
		{name: "aligned", order: 15, blocks: []blk{{btype: 2, toks: append(dtL(text+text), dtM(10, 17), dtM(10, 22), dtM(30, 80), dtM(12, 81), dtM(6, 45), dtR(7, 1))}}},
		{name: "verbatim then aligned then verbatim", order: 17, blocks: []blk{
			{btype: 1, toks: append(dtL(text), dtM(20, 45))},
			{btype: 2, toks: append(dtL("0123456789"), dtM(50, 64), dtM(33, 100), dtR(3, 0))},
			{btype: 1, toks: append(dtL("zz"), dtM(70, 120), dtR(4, 2))},
		}},
		{name: "uncompressed then aligned", order: 21, blocks: []blk{
			{btype: 3, raw: text, r: [3]uint32{1, 1, 1}, pad: true},
			{btype: 2, toks: []dtTok{dtM(30, 45), dtM(100, 40), dtL("!")[0]}},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newDtStream(tc.order)
			s.runs = !tc.noRuns
			var want []byte
			r := [3]int{1, 1, 1}
			for _, b := range tc.blocks {
				if b.btype == blockUncompressed {
					s.uncompressed([]byte(b.raw), b.r, b.pad)
					want = append(want, b.raw...)
					r = [3]int{int(b.r[0]), int(b.r[1]), int(b.r[2])}
				} else {
					s.compressed(b.btype, b.toks, nil, nil, nil)
					want = dtExpand(want, b.toks, &r)
				}
			}
			e8Postprocess(want)
			c := s.bytes()
			d, err := NewDecompressor(1 << tc.order)
			if err != nil {
				t.Fatal(err)
			}
			dtCheck(t, d, c, want, "ours")
			if libwim.Available {
				got, err := libwim.Decompress(libwim.LZX, 1<<tc.order, c, len(want))
				if err != nil || !bytes.Equal(got, want) {
					t.Errorf("libwim disagrees with the hand-built stream (err %v)", err)
				}
			}
		})
	}
}

// TestUncompressedAfterCompressed puts an uncompressed block after a
// verbatim block at every bit phase. We follow [MS-PATCH] 2.3.2.1 (skip 1
// to 16 bits to the next 16-bit boundary); libwim, whose reader drops its
// whole lookahead buffer there, must agree when the block size is explicit.
func TestUncompressedAfterCompressed(t *testing.T) {
	d, err := NewDecompressor(1 << 15)
	if err != nil {
		t.Fatal(err)
	}
	agree := 0
	for n := 1; n <= 40; n++ {
		lits := strings.Repeat("ab", n)[:n+1]
		s := newDtStream(15)
		toks := dtL(lits)
		// A code with one 1-bit and many long codewords varies the phase.
		s.compressed(blockVerbatim, toks, nil, nil, nil)
		s.uncompressed([]byte("RAW!"), [3]uint32{1, 2, 3}, true)
		toks2 := []dtTok{dtR(3, 1), dtR(2, 2)} // uses the stored R1, R2
		s.compressed(blockVerbatim, toks2, nil, nil, nil)
		var want []byte
		r := [3]int{1, 1, 1}
		want = dtExpand(want, toks, &r)
		want = append(want, "RAW!"...)
		r = [3]int{1, 2, 3}
		want = dtExpand(want, toks2, &r)
		c := s.bytes()
		dtCheck(t, d, c, want, fmt.Sprintf("%d literals", len(lits)))
		if d.wimlibAlignDiffers {
			t.Fatal("wimlibAlignDiffers set for an explicitly sized block")
		}
		if libwim.Available {
			got, err := libwim.Decompress(libwim.LZX, 1<<15, c, len(want))
			if err == nil && bytes.Equal(got, want) {
				agree++
			}
		}
	}
	if libwim.Available && agree != 40 {
		t.Errorf("libwim agrees on only %d of 40 phases", agree)
	}
}

// TestDefaultSizeUncompressedAfterCompressed is the one case where wimlib's
// decoder can depart from the documented padding: a 32768-byte
// uncompressed block (size given by the 1-bit flag) after a compressed
// block in a larger window.
func TestDefaultSizeUncompressedAfterCompressed(t *testing.T) {
	d, err := NewDecompressor(1 << 16)
	if err != nil {
		t.Fatal(err)
	}
	raw := bytes.Repeat([]byte("0123456789abcdef"), 2048)
	agree := 0
	for n := 1; n <= 32; n++ {
		lits := strings.Repeat("xy", n)[:n+1]
		s := newDtStream(16)
		toks := dtL(lits)
		s.compressed(blockVerbatim, toks, nil, nil, nil)
		s.uncompressed(raw, [3]uint32{1, 2, 3}, true)
		var want []byte
		r := [3]int{1, 1, 1}
		want = dtExpand(want, toks, &r)
		want = append(want, raw...)
		c := s.bytes()
		dtCheck(t, d, c, want, fmt.Sprintf("%d literals", len(lits)))
		if !d.wimlibAlignDiffers {
			t.Fatal("wimlibAlignDiffers not set")
		}
		if libwim.Available {
			got, err := libwim.Decompress(libwim.LZX, 1<<16, c, len(want))
			if err == nil && bytes.Equal(got, want) {
				agree++
			}
		}
	}
	if libwim.Available {
		t.Logf("libwim agrees on %d of 32 phases", agree)
	}
}

// dtBuild returns the chunk f writes with a stream for the given window.
func dtBuild(order int, f func(s *dtStream)) []byte {
	s := newDtStream(order)
	f(s)
	return s.bytes()
}

func TestCorrupt(t *testing.T) {
	text := "The quick brown fox jumps over the lazy dog; "
	flat := func(n int) []uint8 {
		return dtFlatLens(n, slices.Collect(func(yield func(int) bool) {
			for i := range n {
				if !yield(i) {
					return
				}
			}
		})...)
	}
	mainLens := flat(numMainSyms(15))
	for _, tc := range []struct {
		name  string
		order int
		size  int // output size
		chunk []byte
		want  string // in the error message
	}{
		{"block type 0", 15, 10, dtBuild(15, func(s *dtStream) { s.header(0, 10) }), "invalid block type 0"},
		{"block type 4", 15, 10, dtBuild(15, func(s *dtStream) { s.header(4, 10) }), "invalid block type 4"},
		{"block type 7", 16, 10, dtBuild(16, func(s *dtStream) { s.header(7, 10) }), "invalid block type 7"},
		{"block size 0", 15, 10, dtBuild(15, func(s *dtStream) { s.uncompressed(nil, [3]uint32{1, 1, 1}, true) }), "block size 0"},
		{"block larger than chunk", 15, 2, dtBuild(15, func(s *dtStream) { s.uncompressed([]byte("abc"), [3]uint32{1, 1, 1}, true) }), "overruns the chunk"},
		{"default size in short chunk", 15, 100, dtBuild(15, func(s *dtStream) { s.header(blockVerbatim, defaultBlockSize) }), "block size 32768"},
		{"24-bit size too large", 16, 100, dtBuild(16, func(s *dtStream) { s.header(blockUncompressed, 1<<20) }), "overruns the chunk"},
		{"second block overruns", 15, 8, dtBuild(15, func(s *dtStream) {
			s.uncompressed([]byte("abcd"), [3]uint32{1, 1, 1}, true)
			s.uncompressed([]byte("efghi"), [3]uint32{1, 1, 1}, true)
		}), "at output position 4 overruns"},
		{"R0 zero", 15, 3, dtBuild(15, func(s *dtStream) { s.uncompressed([]byte("abc"), [3]uint32{0, 1, 1}, true) }), "R0 to 0"},
		{"R2 zero", 15, 3, dtBuild(15, func(s *dtStream) { s.uncompressed([]byte("abc"), [3]uint32{1, 1, 0}, true) }), "R2 to 0"},
		{"uncompressed data truncated", 15, 10, dtBuild(15, func(s *dtStream) {
			s.uncompressed([]byte("abcdefghij"), [3]uint32{1, 1, 1}, true)
			s.w.out = s.w.out[:len(s.w.out)-3]
		}), "truncated"},
		{"uncompressed header truncated", 15, 10, dtBuild(15, func(s *dtStream) {
			s.uncompressed([]byte("abcdefghij"), [3]uint32{1, 1, 1}, true)
			s.w.out = s.w.out[:8]
		}), "truncated"},
		{"offset before start", 15, 5, dtBuild(15, func(s *dtStream) {
			s.compressed(blockVerbatim, []dtTok{dtL("a")[0], dtM(4, 2)}, nil, nil, nil)
		}), "match offset 2 at output position 1"},
		{"repeat offset before start", 15, 4, dtBuild(15, func(s *dtStream) {
			s.compressed(blockVerbatim, []dtTok{dtR(4, 0)}, nil, nil, nil)
		}), "match offset 1 at output position 0"},
		{"stored repeat offset before start", 15, 8, dtBuild(15, func(s *dtStream) {
			s.uncompressed([]byte("abcd"), [3]uint32{1, 9, 1}, true)
			s.compressed(blockVerbatim, []dtTok{dtR(4, 1)}, nil, nil, nil)
		}), "match offset 9 at output position 4"},
		{"match overruns block", 15, 20, dtBuild(15, func(s *dtStream) {
			s.size = 10
			s.compressed(blockVerbatim, append(dtL("abcde"), dtM(10, 5), dtM(5, 5)), nil, nil, nil)
		}), "overruns its block, which ends at 10"},
		{"main code oversubscribed", 15, 10, dtBuild(15, func(s *dtStream) {
			l := slices.Repeat([]uint8{8}, numMainSyms(15))
			s.compressed(blockVerbatim, dtL("abcdefghij"), l, nil, nil)
		}), "invalid main code lengths"},
		{"main code incomplete", 15, 10, dtBuild(15, func(s *dtStream) {
			l := slices.Clone(mainLens)
			l[300] = 0
			s.compressed(blockVerbatim, dtL("abcdefghij"), l, nil, nil)
		}), "invalid main code lengths"},
		{"main code single codeword", 15, 10, dtBuild(15, func(s *dtStream) {
			l := make([]uint8, numMainSyms(15))
			l['a'] = 1
			s.compressed(blockVerbatim, dtL("aaaaaaaaaa"), l, nil, nil)
		}), "invalid main code lengths"},
		{"length code incomplete", 15, 10, dtBuild(15, func(s *dtStream) {
			l := flat(numLenSyms)
			l[0] = 0
			s.compressed(blockVerbatim, dtL("abcdefghij"), nil, l, nil)
		}), "invalid length code lengths"},
		{"aligned code oversubscribed", 15, 10, dtBuild(15, func(s *dtStream) {
			s.compressed(blockAligned, dtL("abcdefghij"), nil, nil, []uint8{1, 1, 1, 0, 0, 0, 0, 0})
		}), "invalid aligned offset code lengths"},
		{"aligned code incomplete", 15, 10, dtBuild(15, func(s *dtStream) {
			s.compressed(blockAligned, dtL("abcdefghij"), nil, nil, []uint8{1, 2, 0, 0, 0, 0, 0, 0})
		}), "invalid aligned offset code lengths"},
		{"pretree oversubscribed", 15, 10, dtBuild(15, func(s *dtStream) {
			s.header(blockVerbatim, 10)
			for range numPreSyms {
				s.w.put(1, 4)
			}
		}), "invalid pretree code lengths"},
		{"pretree incomplete", 15, 10, dtBuild(15, func(s *dtStream) {
			s.header(blockVerbatim, 10)
			s.w.put(1, 4)
			for range numPreSyms - 1 {
				s.w.put(0, 4)
			}
		}), "invalid pretree code lengths"},
		{"run code 19 then 18", 15, 10, dtBuild(15, func(s *dtStream) {
			s.header(blockVerbatim, 10)
			pre := make([]uint8, numPreSyms)
			pre[18], pre[19] = 1, 1 // 18 = "0", 19 = "1"
			for _, l := range pre {
				s.w.put(uint32(l), 4)
			}
			s.w.put(1, 1) // 19
			s.w.put(0, 1) // run of 4
			s.w.put(0, 1) // 18
		}), "pretree symbol 18 after a same-length run code"},
		{"empty input", 15, 10, nil, "truncated"},
		{"header only", 15, 10, dtBuild(15, func(s *dtStream) { s.header(blockVerbatim, 10) }), "truncated"},
		{"literals truncated", 15, 45, dtBuild(15, func(s *dtStream) {
			s.compressed(blockVerbatim, dtL(text), nil, nil, nil)
			s.w.flush()
			s.w.out = s.w.out[:len(s.w.out)-4]
		}), "truncated"},
		{"output larger than data", 15, 46, dtBuild(15, func(s *dtStream) { s.compressed(blockVerbatim, dtL(text), nil, nil, nil) }), "truncated"},
		{"output smaller than data", 15, 44, dtBuild(15, func(s *dtStream) { s.compressed(blockVerbatim, dtL(text), nil, nil, nil) }), "block size 45 at output position 0 overruns the chunk's 44 bytes"},
		{"output larger than chunk size", 15, 32769, nil, "larger than the chunk size"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := NewDecompressor(1 << tc.order)
			if err != nil {
				t.Fatal(err)
			}
			err = d.Decompress(make([]byte, tc.size), tc.chunk)
			if err == nil {
				t.Fatalf("no error, want one containing %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q, want one containing %q", err, tc.want)
			}
			if tc.size <= 1<<tc.order && !errors.Is(err, ErrCorrupt) {
				t.Errorf("error %q does not wrap ErrCorrupt", err)
			}
			// The decoder must still work.
			refChunks, refWants := dtFuzzRef()
			dtCheck(t, d, refChunks[tc.order], refWants[tc.order], "valid chunk after the error")
		})
	}
}

// TestCorruptNoPanic truncates and damages valid chunks in every way a
// short loop can: each truncation must fail, and nothing may panic.
func TestCorruptNoPanic(t *testing.T) {
	files, err := filepath.Glob("testdata/golden/*-32k-*.lzx")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden chunks: %v", err)
	}
	d, err := NewDecompressor(1 << 15)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]byte, 1<<15)
	r := rand.New(rand.NewPCG(5, 6))
	for _, name := range files {
		c, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Decompress(out, c); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for n := 0; n < len(c); n += 1 + n/50 {
			if err := d.Decompress(out, c[:n]); err == nil {
				t.Fatalf("%s: truncated to %d of %d bytes: no error", name, n, len(c))
			}
		}
		for range 500 {
			bad := slices.Clone(c)
			for range 1 + r.IntN(3) {
				bad[r.IntN(len(bad))] ^= byte(1 + r.IntN(255))
			}
			_ = d.Decompress(out, bad) // must not panic
		}
		garbage := make([]byte, len(c))
		for i := range garbage {
			garbage[i] = byte(r.Uint32())
		}
		_ = d.Decompress(out, garbage)
	}
}

// TestEmptyCode checks the case wimlib allows: a main code with no
// codewords decodes as literal zeros without reading bits.
func TestEmptyCode(t *testing.T) {
	c := dtBuild(15, func(s *dtStream) {
		s.size = 7
		s.compressed(blockVerbatim, nil, make([]uint8, numMainSyms(15)), make([]uint8, numLenSyms), nil)
	})
	d, err := NewDecompressor(1 << 15)
	if err != nil {
		t.Fatal(err)
	}
	dtCheck(t, d, c, make([]byte, 7), "empty code")
	if libwim.Available {
		got, err := libwim.Decompress(libwim.LZX, 1<<15, c, 7)
		if err != nil || !bytes.Equal(got, make([]byte, 7)) {
			t.Errorf("libwim: %v %q", err, got)
		}
	}
}

// goRoot is the Go installation's root, from the go command (tests run
// beside it), for its source files as sample text.
func goRoot() string {
	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}
