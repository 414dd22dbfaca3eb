//go:build libwim

package lzms

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/wimconsole/wimconsole/internal/oracle/libwim"
)

// Differential tests against libwim (go test -tags libwim): chunks that
// libwim's LZMS compressor emits must decompress to the original data, and on
// damaged or arbitrary input our output must equal libwim's whenever libwim
// accepts it.

var update = flag.Bool("update", false, "rewrite the golden chunks in testdata with libwim")

// libwimLevels are the compression levels tested: 0 is libwim's default
// (50), 1 its fastest, 100 its strongest; delta matches start at 35.
var libwimLevels = []int{0, 1, 50, 100}

func compressLZMS(t testing.TB, maxChunk, level int, data []byte) []byte {
	t.Helper()
	c, err := libwim.Compress(libwim.LZMS, maxChunk, level, data)
	if err != nil {
		t.Fatalf("libwim compress (%d bytes, level %d): %v", len(data), level, err)
	}
	return c
}

// checkChunks compresses data with libwim in chunks of chunkSize and checks
// that each chunk libwim could shrink decompresses to the original.
func checkChunks(t *testing.T, d *Decompressor, data []byte, chunkSize, level int) (compressed int) {
	t.Helper()
	out := make([]byte, chunkSize)
	for off := 0; off < len(data); off += chunkSize {
		chunk := data[off:min(off+chunkSize, len(data))]
		c := compressLZMS(t, chunkSize, level, chunk)
		if c == nil {
			continue // stored raw in a WIM: nothing to decompress
		}
		compressed++
		got := out[:len(chunk)]
		if err := d.Decompress(got, c); err != nil {
			t.Fatalf("chunk at %d (%d bytes -> %d), level %d: %v", off, len(chunk), len(c), level, err)
		}
		if !bytes.Equal(got, chunk) {
			i := 0
			for got[i] == chunk[i] {
				i++
			}
			t.Fatalf("chunk at %d (%d bytes), level %d: output differs from byte %d", off, len(chunk), level, i)
		}
	}
	return compressed
}

type namedInput struct {
	name string
	data []byte
}

var inputsOnce = sync.OnceValue(func() []namedInput {
	var mixed []byte
	for _, p := range [][]byte{realText(96 << 10), realCode(96<<10, "/usr/bin/bash"),
		synthDelta(48<<10, 1), make([]byte, 16<<10), randomBytes(16<<10, 2)} {
		mixed = append(mixed, p...)
	}
	return []namedInput{
		{"text", realText(1 << 20)},
		{"bash", realCode(1<<20, "/usr/bin/bash")},
		{"libc", realCode(1<<20, "/usr/lib/x86_64-linux-gnu/libc.so.6")},
		{"gobinary", realCode(1<<20, "/nonexistent")}, // the test binary
		{"synthx86", synthX86(256<<10, 5)},
		{"delta", synthDelta(256<<10, 6)},
		{"zeros", make([]byte, 256<<10)},
		{"random", randomBytes(256<<10, 7)},
		{"mixed", mixed},
	}
})

// TestLibwimChunks is the main differential test: every input, in WIM-sized
// chunks (32 KiB, 64 KiB; 4.5 chunks of each input, so the last is partial)
// and 1 MiB chunks of the larger inputs, at every level.
func TestLibwimChunks(t *testing.T) {
	libwim.Need(t)
	for _, cs := range []int{32 << 10, 64 << 10, 1 << 20} {
		for _, level := range libwimLevels {
			t.Run(fmt.Sprintf("chunk=%dK/level=%d", cs>>10, level), func(t *testing.T) {
				t.Parallel()
				d := mustDecompressor(t, cs)
				n := 0
				for _, in := range inputsOnce() {
					data := in.data
					if cs < 1<<20 {
						data = data[:min(len(data), cs*9/2)]
					} else if len(data) < 1<<20 {
						continue
					}
					n += checkChunks(t, d, data, cs, level)
				}
				if n == 0 {
					t.Fatal("libwim compressed nothing")
				}
			})
		}
	}
}

// TestLibwimTiny covers chunks of a few bytes (libwim compresses nothing
// under 4 bytes) up to just over the x86 filter's 17-byte threshold.
func TestLibwimTiny(t *testing.T) {
	libwim.Need(t)
	d := mustDecompressor(t, 1<<16)
	n := 0
	for _, in := range inputsOnce() {
		for _, size := range []int{1, 2, 3, 4, 5, 8, 16, 17, 18, 19, 20, 33, 64, 100, 255, 1000, 4097} {
			for _, level := range libwimLevels {
				for _, at := range []int{0, 1000} {
					chunk := in.data[at : at+size]
					c := compressLZMS(t, 1<<16, level, chunk)
					if c == nil {
						continue
					}
					n++
					got := make([]byte, size)
					if err := d.Decompress(got, c); err != nil || !bytes.Equal(got, chunk) {
						t.Fatalf("%s[%d:+%d], level %d: %v (output equal: %v)", in.name, at, size, level, err, bytes.Equal(got, chunk))
					}
				}
			}
		}
	}
	if n < 100 {
		t.Fatalf("only %d tiny chunks compressed", n)
	}
}

// TestLibwim64MiB decompresses one 64 MiB chunk of mixed real data, the
// chunk size of ESD solid resources. Level 1 keeps libwim's compression time
// down; set LZMS_TEST_LEVEL to try another.
func TestLibwim64MiB(t *testing.T) {
	libwim.Need(t)
	if testing.Short() {
		t.Skip("64 MiB chunk skipped in -short mode")
	}
	const size = 64 << 20
	data := bigMixed(size)
	level := 1
	if s := os.Getenv("LZMS_TEST_LEVEL"); s != "" {
		fmt.Sscan(s, &level)
	}
	c := compressLZMS(t, size, level, data)
	if c == nil {
		t.Fatal("libwim did not compress the 64 MiB chunk")
	}
	d := mustDecompressor(t, size)
	got := make([]byte, size)
	if err := d.Decompress(got, c); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatal("64 MiB chunk: output differs")
	}
	t.Logf("64 MiB at level %d: %d compressed bytes", level, len(c))
}

// bigMixed returns n bytes of real system binaries and text, interleaved.
func bigMixed(n int) []byte {
	code := realCode(n*3/4, "/usr/lib/x86_64-linux-gnu/*.so*", "/usr/bin/*")
	text := realText(n / 4)
	out := make([]byte, 0, n)
	for len(out) < n {
		k := min(1<<20, len(code))
		out, code = append(out, code[:k]...), code[k:]
		k = min(256<<10, len(text))
		out, text = append(out, text[:k]...), text[k:]
		if len(code) == 0 && len(text) == 0 {
			out = append(out, synthText(n-len(out), 9)...)
		}
	}
	return out[:n]
}

// sameAsLibwim decompresses src to size bytes with both decoders and checks
// that they agree: equal output when both accept it, both reject or neither.
// The only allowed difference is errInputExhausted, a check libwim lacks.
func sameAsLibwim(t *testing.T, d *Decompressor, src []byte, size int, what string) (accepted bool) {
	t.Helper()
	want, werr := libwim.Decompress(libwim.LZMS, MaxChunkSize, src, size)
	got := make([]byte, size)
	err := d.Decompress(got, src)
	switch {
	case err == nil && werr == nil:
		if !bytes.Equal(got, want) {
			t.Fatalf("%s: output differs from libwim's", what)
		}
		return true
	case err != nil && werr != nil:
	case errors.Is(err, errInputExhausted) && werr == nil:
	default:
		t.Fatalf("%s: we say %v, libwim says %v", what, err, werr)
	}
	return false
}

// TestLibwimDamaged flips bits in and truncates real chunks: whatever libwim
// makes of them, we must make the same (libwim's own checks are the same as
// ours, except that it crashes on output sizes 1 and 2, which are skipped).
func TestLibwimDamaged(t *testing.T) {
	libwim.Need(t)
	d := mustDecompressor(t, MaxChunkSize)
	r := rand.New(rand.NewSource(11))
	accepted, total := 0, 0
	for _, in := range inputsOnce() {
		for _, level := range []int{1, 100} {
			chunk := in.data[:min(len(in.data), 20000)]
			c := compressLZMS(t, 1<<16, level, chunk)
			if c == nil {
				continue
			}
			for i := range 40 {
				src := bytes.Clone(c)
				size := len(chunk)
				switch i % 4 {
				case 0:
					src[r.Intn(len(src))] ^= 1 << r.Intn(8)
				case 1:
					for range 1 + r.Intn(8) {
						src[r.Intn(len(src))] = byte(r.Intn(256))
					}
				case 2:
					src = src[:len(src)-2*(1+r.Intn(max(1, len(src)/2-2)))]
				case 3:
					size = 3 + r.Intn(2*size)
				}
				total++
				if sameAsLibwim(t, d, src, size, fmt.Sprintf("%s level %d case %d", in.name, level, i)) {
					accepted++
				}
			}
		}
	}
	t.Logf("damaged chunks: %d of %d decoded without error (same output as libwim)", accepted, total)
}

// TestLibwimGarbage compares the decoders on random data of random sizes.
func TestLibwimGarbage(t *testing.T) {
	libwim.Need(t)
	d := mustDecompressor(t, MaxChunkSize)
	r := rand.New(rand.NewSource(12))
	accepted := 0
	const iters = 20000
	for i := range iters {
		src := randomBytes(4+2*r.Intn(40), int64(i))
		size := 3 + r.Intn([]int{4, 20, 200, 3000}[i%4])
		if sameAsLibwim(t, d, src, size, fmt.Sprintf("garbage %d (%x, size %d)", i, src, size)) {
			accepted++
		}
	}
	if accepted < iters/20 {
		t.Fatalf("only %d of %d random chunks decoded: the comparison tests too little", accepted, iters)
	}
	t.Logf("random chunks: %d of %d decoded without error (same output as libwim)", accepted, iters)
}

// goldenSpecs are the golden chunks: synthetic data (so that the repository
// holds no third-party bytes), at the levels given.
func goldenSpecs() []struct {
	name   string
	data   []byte
	levels []int
} {
	type spec = struct {
		name   string
		data   []byte
		levels []int
	}
	text := synthText(1<<16, 21)
	x86 := synthX86(1<<16, 22)
	return []spec{
		{"text-64k", text, []int{1, 100}},
		{"x86-64k", x86, []int{1, 100}},
		{"x86-40000", x86[:40000], []int{50}},
		{"delta-32k", synthDelta(32<<10, 23), []int{100}},
		{"zeros-64k", make([]byte, 1<<16), []int{1}},
		{"mixed-48k", append(append(bytes.Clone(text[:16<<10]), x86[:16<<10]...), synthDelta(16<<10, 24)...), []int{50}},
		{"text-1000", text[:1000], []int{100}},
		{"x86-300", bytes.Repeat(x86[:100], 3), []int{100}},
		{"rep-18", bytes.Repeat([]byte("abc"), 6), []int{100}},
		{"rep-17", bytes.Repeat([]byte("abc"), 6)[:17], []int{100}},
	}
}

// TestGoldenLibwim checks that the golden chunks are what libwim makes of
// their data, and with -update writes them.
func TestGoldenLibwim(t *testing.T) {
	libwim.Need(t)
	var list strings.Builder
	list.WriteString("# Golden LZMS chunks (testdata/fuzz/FuzzDecompress/NAME): NAME SHA-256-of-uncompressed-data\n")
	list.WriteString("# Written by: go test -tags libwim -run TestGoldenLibwim -update\n")
	for _, g := range goldenSpecs() {
		for _, level := range g.levels {
			name := fmt.Sprintf("%s-level%d", g.name, level)
			c := compressLZMS(t, goldenMaxLen, level, g.data)
			if c == nil {
				t.Fatalf("%s: libwim did not compress it", name)
			}
			path := filepath.Join(corpusDir, name)
			if *update {
				if err := os.MkdirAll(corpusDir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, corpusFile(c, len(g.data)), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			src, size, err := parseCorpusFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(src, c) || size != len(g.data) {
				t.Errorf("%s: stored chunk is not libwim's output for its data (run with -update)", name)
			}
			fmt.Fprintf(&list, "%s %s\n", name, sha256Hex(g.data))
		}
	}
	if *update {
		if err := os.WriteFile(goldenList, []byte(list.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := os.ReadFile(goldenList); err != nil || string(got) != list.String() {
		t.Errorf("%s is out of date (run with -update): %v", goldenList, err)
	}
}

// benchCorpus is the benchmark data: several MiB of real binaries and text,
// compressed by libwim (level 50) in chunks of the given size.
func benchCorpus(b *testing.B, chunkSize int) (chunks [][]byte, sizes []int, total int) {
	libwim.Need(b)
	data := benchData()
	for off := 0; off < len(data); off += chunkSize {
		chunk := data[off:min(off+chunkSize, len(data))]
		c := compressLZMS(b, chunkSize, 50, chunk)
		if c == nil {
			continue
		}
		chunks = append(chunks, c)
		sizes = append(sizes, len(chunk))
		total += len(chunk)
	}
	return chunks, sizes, total
}

var benchData = sync.OnceValue(func() []byte { return bigMixed(8 << 20) })

var benchCases = []benchCase{{"chunk=64K", 64 << 10}, {"chunk=1M", 1 << 20}, {"chunk=8M", 8 << 20}}

// BenchmarkLibwimDecompress is libwim's decompression of BenchmarkDecompress's
// data. Its figures include the cgo wrapper's copies of input and output
// and the creation of a libwim decompressor per chunk.
func BenchmarkLibwimDecompress(b *testing.B) {
	for _, bc := range benchCases {
		cs := bc.chunkSize
		b.Run(bc.name, func(b *testing.B) {
			chunks, sizes, total := benchCorpusCached(b, cs)
			benchLoop(b, total, func() {
				for i, c := range chunks {
					if _, err := libwim.Decompress(libwim.LZMS, cs, c, sizes[i]); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// corpusFile is a fuzz corpus file holding the chunk src and its
// uncompressed size (written by -update).
func corpusFile(src []byte, size int) []byte {
	return fmt.Appendf(nil, "go test fuzz v1\n[]byte(%q)\nint(%d)\n", src, size)
}
