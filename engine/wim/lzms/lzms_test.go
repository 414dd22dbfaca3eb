package lzms

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Golden chunks: libwim-compressed chunks of synthetic data, kept in the fuzz
// corpus (testdata/fuzz/FuzzDecompress) and listed in testdata/golden.txt
// with the SHA-256 of their uncompressed data. They are written, and checked
// against libwim, by TestGoldenLibwim (go test -tags libwim -update).

const (
	corpusDir    = "testdata/fuzz/FuzzDecompress"
	goldenList   = "testdata/golden.txt"
	goldenMaxLen = 1 << 16 // chunk size used for all golden chunks
)

type golden struct {
	name string
	src  []byte // compressed chunk
	size int    // uncompressed size
	sum  string // hex SHA-256 of the uncompressed data
}

// parseCorpusFile reads a fuzz corpus file holding a []byte and an int.
func parseCorpusFile(path string) (src []byte, size int, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, err
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 3 || lines[0] != "go test fuzz v1" {
		return nil, 0, fmt.Errorf("%s: not a two-value fuzz corpus file", path)
	}
	b, ok := strings.CutPrefix(lines[1], "[]byte(")
	b, ok2 := strings.CutSuffix(b, ")")
	if !ok || !ok2 {
		return nil, 0, fmt.Errorf("%s: line 2 is not a []byte", path)
	}
	s, err := strconv.Unquote(b)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: line 2: %v", path, err)
	}
	n, ok := strings.CutPrefix(lines[2], "int(")
	n, ok2 = strings.CutSuffix(n, ")")
	if !ok || !ok2 {
		return nil, 0, fmt.Errorf("%s: line 3 is not an int", path)
	}
	size, err = strconv.Atoi(n)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: line 3: %v", path, err)
	}
	return []byte(s), size, nil
}

func loadGoldens(t testing.TB) []golden {
	t.Helper()
	f, err := os.Open(goldenList)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var gs []golden
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		if len(fields) != 2 {
			t.Fatalf("%s: bad line %q", goldenList, sc.Text())
		}
		src, size, err := parseCorpusFile(filepath.Join(corpusDir, fields[0]))
		if err != nil {
			t.Fatal(err)
		}
		gs = append(gs, golden{name: fields[0], src: src, size: size, sum: fields[1]})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(gs) < 10 {
		t.Fatalf("%s lists only %d golden chunks", goldenList, len(gs))
	}
	return gs
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func mustDecompressor(t testing.TB, maxChunk int) *Decompressor {
	t.Helper()
	d, err := NewDecompressor(maxChunk)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestGolden(t *testing.T) {
	d := mustDecompressor(t, goldenMaxLen)
	for _, g := range loadGoldens(t) {
		out := make([]byte, g.size)
		if err := d.Decompress(out, g.src); err != nil {
			t.Errorf("%s: %v", g.name, err)
			continue
		}
		if got := sha256Hex(out); got != g.sum {
			t.Errorf("%s: SHA-256 of output %s, want %s", g.name, got, g.sum)
		}
	}
}

func TestNewDecompressor(t *testing.T) {
	for _, tc := range []struct {
		max int
		ok  bool
	}{
		{-1, false}, {0, false}, {1, true}, {32768, true}, {64 << 20, true},
		{MaxChunkSize, true}, {MaxChunkSize + 1, false},
	} {
		d, err := NewDecompressor(tc.max)
		if (err == nil) != tc.ok || (d != nil) != tc.ok {
			t.Errorf("NewDecompressor(%d) = %v, %v; want ok=%v", tc.max, d, err, tc.ok)
		}
	}
}

func TestDecompressArgs(t *testing.T) {
	d := mustDecompressor(t, 1000)
	valid := []byte{0, 0, 0, 0, 0, 0}
	for _, tc := range []struct {
		name     string
		dst, src int
		want     string
	}{
		{"empty dst", 0, 6, "empty output"},
		{"dst over max", 1001, 6, "exceeds"},
		{"src empty", 10, 0, "too short"},
		{"src 2 bytes", 10, 2, "too short"},
		{"src odd", 10, 5, "odd length"},
	} {
		src := make([]byte, tc.src)
		copy(src, valid)
		err := d.Decompress(make([]byte, tc.dst), src)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
}

// TestCorrupt damages the golden chunks in many ways. Nothing may panic and
// the work is bounded by the output size; some damage must be reported.
func TestCorrupt(t *testing.T) {
	d := mustDecompressor(t, 4*goldenMaxLen)
	type mutation struct {
		name string
		f    func(src []byte, size int) ([]byte, int)
		// minFail is the fraction of the golden chunks of 1000 bytes or
		// more that must be rejected (as they are now: this guards the
		// detection against regressions).
		minFail float64
	}
	muts := []mutation{
		{"truncate to half", func(s []byte, n int) ([]byte, int) { return s[:len(s)/2&^1], n }, 0.9},
		{"drop last unit", func(s []byte, n int) ([]byte, int) { return s[:len(s)-2], n }, 0.75},
		{"drop first half", func(s []byte, n int) ([]byte, int) { return s[len(s)/2&^1:], n }, 0.9},
		{"keep 4 bytes", func(s []byte, n int) ([]byte, int) { return s[:4], n }, 1},
		{"size doubled", func(s []byte, n int) ([]byte, int) { return s, 2 * n }, 0.9},
		{"size plus 1000", func(s []byte, n int) ([]byte, int) { return s, n + 1000 }, 0.75},
		{"size minus 1", func(s []byte, n int) ([]byte, int) { return s, n - 1 }, 0},
		{"size halved", func(s []byte, n int) ([]byte, int) { return s, n / 2 }, 0},
		{"all 0xFF", func(s []byte, n int) ([]byte, int) { return bytes.Repeat([]byte{0xFF}, len(s)), n }, 0.9},
		{"all zero", func(s []byte, n int) ([]byte, int) { return make([]byte, len(s)), n }, 0},
		{"random garbage", func(s []byte, n int) ([]byte, int) { return randomBytes(len(s), int64(n)), n }, 0.9},
		{"zero last 8 bytes", func(s []byte, n int) ([]byte, int) {
			c := bytes.Clone(s)
			clear(c[max(0, len(c)-8):])
			return c, n
		}, 0},
	}
	for i := range 16 {
		muts = append(muts, mutation{fmt.Sprintf("flip bit %d/16", i), func(s []byte, n int) ([]byte, int) {
			c := bytes.Clone(s)
			bit := (len(c)*8 - 1) * i / 15
			c[bit/8] ^= 1 << (bit % 8)
			return c, n
		}, 0})
	}
	gs := loadGoldens(t)
	for _, m := range muts {
		tried, failed := 0, 0
		for _, g := range gs {
			src, size := m.f(g.src, g.size)
			if size <= 0 {
				continue
			}
			out := make([]byte, size)
			err := d.Decompress(out, src)
			if g.size < 1000 {
				continue
			}
			tried++
			if err != nil {
				failed++
			}
		}
		frac := float64(failed) / float64(tried)
		t.Logf("%-20s rejected %2d of %2d", m.name, failed, tried)
		if frac < m.minFail {
			t.Errorf("%s: rejected %d of %d chunks, want at least %.0f%%", m.name, failed, tried, 100*m.minFail)
		}
	}
	// The decompressor still works after all that.
	for _, g := range gs {
		out := make([]byte, g.size)
		if err := d.Decompress(out, g.src); err != nil || sha256Hex(out) != g.sum {
			t.Errorf("%s after the damaged chunks: error %v, output correct: %v", g.name, err, sha256Hex(out) == g.sum)
		}
	}
}

// TestReuse checks that a Decompressor carries nothing from one chunk to the
// next (including the x86 filter's table) and survives errors.
func TestReuse(t *testing.T) {
	gs := loadGoldens(t)
	want := make(map[string][]byte)
	for _, g := range gs {
		out := make([]byte, g.size)
		if err := mustDecompressor(t, g.size).Decompress(out, g.src); err != nil {
			t.Fatalf("%s: %v", g.name, err)
		}
		want[g.name] = out
	}
	d := mustDecompressor(t, 4*goldenMaxLen)
	for round := range 3 {
		for i := range gs {
			g := gs[(i*7+round)%len(gs)]
			out := make([]byte, g.size)
			if err := d.Decompress(out, g.src); err != nil {
				t.Fatalf("round %d, %s: %v", round, g.name, err)
			}
			if !bytes.Equal(out, want[g.name]) {
				t.Fatalf("round %d, %s: output differs from a fresh decompressor's", round, g.name)
			}
			// An error in between changes nothing.
			_ = d.Decompress(make([]byte, 2*g.size+10), g.src[:len(g.src)/2&^1])
		}
	}
}

// TestX86Undo checks the filter on hand-made input: a CALL whose target was
// used shortly before marks code, and the next CALL close enough after it is
// translated back from absolute to relative.
func TestX86Undo(t *testing.T) {
	const size = 1088
	// pair puts two CALLs to the same target (low 16 bits 0x1000) at q and
	// q+5: the second one flags likely code at q+9, the last byte of its
	// operand.
	pair := func(buf []byte, q int) {
		buf[q] = 0xE8
		binary.LittleEndian.PutUint32(buf[q+1:], uint32(0x1000-q))
		buf[q+5] = 0xE8
		binary.LittleEndian.PutUint32(buf[q+6:], uint32(0x1000-q-5))
	}
	for _, tc := range []struct {
		name   string
		op     []byte
		at     int // position of the instruction
		gap    int // its distance from the flagged position
		change bool
	}{
		{"CALL near code", []byte{0xE8}, 600, 1, true},
		{"CALL 511 after", []byte{0xE8}, 600, 511, true},
		{"CALL 512 after", []byte{0xE8}, 600, 512, false},
		{"JMP", []byte{0xE9}, 600, 1, false},
		{"CALL [rip]", []byte{0xFF, 0x15}, 600, 1, true},
		{"CALL [rip] 1023 after", []byte{0xFF, 0x15}, 1060, 1023, true},
		{"CALL [rip] 1024 after", []byte{0xFF, 0x15}, 1060, 1024, false},
		{"FF other", []byte{0xFF, 0x25}, 600, 1, false},
		{"LOCK ADD", []byte{0xF0, 0x83, 0x05}, 600, 1, true},
		{"LOCK other", []byte{0xF0, 0x83, 0x04}, 600, 1, false},
		{"LEA rax,[rip]", []byte{0x48, 0x8D, 0x05}, 600, 1, true},
		{"LEA r15,[rip]", []byte{0x4C, 0x8D, 0x3D}, 600, 1, true},
		{"MOV rax,[rip]", []byte{0x48, 0x8B, 0x05}, 600, 1, true},
		{"MOV r8,[rip] (excluded)", []byte{0x4C, 0x8B, 0x05}, 600, 1, false},
		{"MOV high reg bits", []byte{0x48, 0x8B, 0x15}, 600, 1, false},
		{"LEA lax ModR/M", []byte{0x48, 0x8D, 0x85}, 600, 1, true},
		{"ADD (other opcode)", []byte{0x48, 0x03, 0x05}, 600, 1, false},
		{"last position", []byte{0xE8}, size - 17, 1, true},
		{"in last 16 bytes", []byte{0xE8}, size - 16, 1, false},
	} {
		buf := make([]byte, size)
		pair(buf, tc.at-tc.gap-9)
		copy(buf[tc.at:], tc.op)
		opnd := tc.at + len(tc.op)
		binary.LittleEndian.PutUint32(buf[opnd:], 0x12345678)
		want := bytes.Clone(buf)
		if tc.change {
			binary.LittleEndian.PutUint32(want[opnd:], 0x12345678-uint32(tc.at))
		}
		var x x86State
		x.init()
		x.undo(buf)
		if !bytes.Equal(buf, want) {
			t.Errorf("%s: operand %x, want %x", tc.name, buf[opnd:opnd+4], want[opnd:opnd+4])
		}
	}

	prefix := func() []byte {
		buf := make([]byte, 64)
		pair(buf, 1)
		return buf
	}
	// A decompressor's filter starts afresh on every chunk: target uses in
	// one chunk are not evidence in the next.
	var x x86State
	x.init()
	x.undo(prefix())
	buf := make([]byte, 64)
	buf[1] = 0xE8 // the target used in the previous chunk
	binary.LittleEndian.PutUint32(buf[2:], 0x1000-1)
	buf[11] = 0xE8 // translated if that counted as evidence
	binary.LittleEndian.PutUint32(buf[12:], 0x12345678)
	want := bytes.Clone(buf)
	x.undo(buf)
	if !bytes.Equal(buf, want) {
		t.Errorf("second chunk changed: %x", buf)
	}

	// Chunks of 17 bytes or fewer are left alone.
	short := bytes.Repeat([]byte{0xE8}, 17)
	x.undo(short)
	if !bytes.Equal(short, bytes.Repeat([]byte{0xE8}, 17)) {
		t.Errorf("17-byte chunk changed: %x", short)
	}
}

func TestOpcodeBytes(t *testing.T) {
	for b := range 256 {
		for pos := range 8 {
			// Non-candidates everywhere else, including bytes just
			// around the candidates' values.
			var w [8]byte
			for i := range w {
				w[i] = 0x47
			}
			w[pos] = byte(b)
			m := opcodeBytes(binary.LittleEndian.Uint64(w[:]))
			if (m != 0) != isOpcode(byte(b)) {
				t.Fatalf("byte %#x at %d: mask %#x", b, pos, m)
			}
			if m != 0 && bitsTZ(m)/8 != pos {
				t.Fatalf("byte %#x at %d: first flagged byte %d", b, pos, bitsTZ(m)/8)
			}
		}
	}
	for b := range 256 {
		want := b == 0x48 || b == 0x4C || b == 0xE8 || b == 0xE9 || b == 0xF0 || b == 0xFF
		if isOpcode(byte(b)) != want {
			t.Errorf("isOpcode(%#x) = %v", b, !want)
		}
	}
}

func bitsTZ(m uint64) int {
	n := 0
	for m&1 == 0 {
		m >>= 1
		n++
	}
	return n
}

func TestTables(t *testing.T) {
	if got := offsetBase[maxOffsetSyms]; got != 1180427428+1 {
		t.Errorf("offset limit %d", got)
	}
	if got := lengthBase[numLengthSyms]; got != 1073809578+1 {
		t.Errorf("length limit %d", got)
	}
	for _, tc := range []struct{ n, slots int }{
		{0, 0}, {1, 0}, {2, 1}, {3, 2}, {9, 8}, {10, 9}, {13, 9}, {14, 10},
		{32768, 0}, {32769, 0}, {1 << 20, 0}, {64 << 20, 0}, {MaxChunkSize, 0},
	} {
		want := tc.slots
		if want == 0 && tc.n >= 2 {
			// Brute force: the slots needed to reach offset n-1.
			for offsetBase[want] <= uint32(tc.n-1) {
				want++
			}
		}
		if got := numOffsetSlots(tc.n); got != want {
			t.Errorf("numOffsetSlots(%d) = %d, want %d", tc.n, got, want)
		}
	}
}

// TestNoAllocs checks that decompressing allocates nothing.
func TestNoAllocs(t *testing.T) {
	d := mustDecompressor(t, goldenMaxLen)
	out := make([]byte, goldenMaxLen)
	for _, g := range loadGoldens(t) {
		allocs := testing.AllocsPerRun(3, func() {
			if err := d.Decompress(out[:g.size], g.src); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations per Decompress", g.name, allocs)
		}
	}
}

// TestCopyMatchExact checks copyMatch against a byte-by-byte copy, for
// every short offset and length and some long ones, at the start, middle
// and end of the output: the result must be the same and nothing past the
// match written, since the decoder queues matches and stores the literals
// after them first.
func TestCopyMatchExact(t *testing.T) {
	const n = 300
	pattern := make([]byte, n)
	for i := range pattern {
		pattern[i] = byte(i*7 + i>>3)
	}
	got, want := make([]byte, n), make([]byte, n)
	for _, pos := range []int{130, 200, n - 70, n - 9, n - 1} {
		for off := 1; off <= pos && off <= 80; off++ {
			for length := 1; length <= n-pos && length <= 140; length++ {
				copy(got, pattern)
				copy(want, pattern)
				for i := range length {
					want[pos+i] = want[pos-off+i]
				}
				copyMatch(got, pos, off, length)
				if !bytes.Equal(got, want) {
					t.Fatalf("copyMatch(pos %d, off %d, length %d): output differs", pos, off, length)
				}
			}
		}
	}
}

// TestOpcodeScan checks opcodeScan against a byte-by-byte search, over
// buffers with candidates from dense to absent, from every start and to
// every end the filter uses (its 16-byte margin after end).
func TestOpcodeScan(t *testing.T) {
	for _, every := range []int{2, 9, 40, 300} {
		buf := make([]byte, 200)
		for i := range buf {
			buf[i] = byte(i*37 + i>>2)
			if isOpcode(buf[i]) {
				buf[i] ^= 0x10 // none of the six values stays one
			}
			if isOpcode(buf[i]) {
				t.Fatalf("byte %#x still a candidate", buf[i])
			}
		}
		cands := []byte{0x48, 0x4C, 0xE8, 0xE9, 0xF0, 0xFF}
		for i := 5; i < len(buf); i += every {
			buf[i] = cands[i%len(cands)]
		}
		for end := 0; end+16 <= len(buf); end++ {
			for p := 0; p <= end; p++ {
				want := p
				for want < end && !isOpcode(buf[want]) {
					want++
				}
				got := opcodeScan(buf, p, end)
				if got != want && !(want == end && got >= end) {
					t.Fatalf("every %d: opcodeScan(p %d, end %d) = %d, want %d", every, p, end, got, want)
				}
			}
		}
	}
}
