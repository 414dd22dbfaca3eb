package lzms

import (
	"bytes"
	"encoding/binary"
	"math/rand"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Test inputs. Real files are used where the machine has them (Debian's
// /usr/bin, /usr/lib, /usr/share/perl), with the test binary itself and
// synthetic data as fallbacks, so every input is always non-empty.

// readFiles concatenates the files matching the globs, in sorted order, up
// to limit bytes.
func readFiles(limit int, globs ...string) []byte {
	var names []string
	for _, g := range globs {
		m, _ := filepath.Glob(g)
		sort.Strings(m)
		names = append(names, m...)
	}
	var out []byte
	for _, name := range names {
		if len(out) >= limit {
			break
		}
		fi, err := os.Stat(name)
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		b, err := os.ReadFile(name)
		if err != nil {
			continue
		}
		out = append(out, b...)
	}
	if len(out) > limit {
		out = out[:limit]
	}
	return out
}

// realText returns up to limit bytes of real text (Perl modules and
// licences), topped up with synthetic text.
func realText(limit int) []byte {
	b := readFiles(limit, "/usr/share/perl/*/*.pm", "/usr/share/perl/*/*/*.pm",
		"/usr/share/perl/*/*/*/*.pm", "/usr/share/common-licenses/*")
	if len(b) < limit {
		b = append(b, synthText(limit-len(b), 7)...)
	}
	return b
}

// realCode returns up to limit bytes of x86-64 machine code: the named
// system files if present, else the test binary (compiled Go code).
func realCode(limit int, globs ...string) []byte {
	b := readFiles(limit, globs...)
	if len(b) < limit {
		if exe, err := os.Executable(); err == nil {
			b = append(b, readFiles(limit-len(b), exe)...)
		}
	}
	if len(b) < limit {
		b = append(b, synthX86(limit-len(b), 3)...)
	}
	return b
}

var words = strings.Fields(`the of and to in is that for it as with was on be by this are from at
	or an which have not has but were all their been one can its more other when will there
	would about into than them these some could only time file image windows boot driver
	server group install capture apply export volume header resource chunk table offset
	length stream directory security descriptor compression solid integrity reference`)

// synthText returns n bytes of word salad with punctuation and line breaks.
func synthText(n int, seed int64) []byte {
	r := rand.New(rand.NewSource(seed))
	var b bytes.Buffer
	col := 0
	for b.Len() < n {
		w := words[int(float64(len(words))*r.Float64()*r.Float64())]
		if r.Intn(12) == 0 {
			w = strings.ToUpper(w[:1]) + w[1:]
		}
		b.WriteString(w)
		col += len(w)
		switch {
		case r.Intn(15) == 0:
			b.WriteString(". ")
		case col > 70:
			b.WriteByte('\n')
			col = 0
			continue
		default:
			b.WriteByte(' ')
		}
		col++
	}
	return b.Bytes()[:n]
}

// synthX86 returns n bytes shaped like x86-64 code: filler opcodes mixed with
// relative calls, jumps, RIP-relative LEA/MOV, indirect calls and LOCK ADDs
// that refer to a small set of targets, so that the filter's detection of
// likely code kicks in and translations happen.
func synthX86(n int, seed int64) []byte {
	r := rand.New(rand.NewSource(seed))
	funcs := make([]int, 40)
	for i := range funcs {
		funcs[i] = r.Intn(n + 1)
	}
	filler := []byte{0x89, 0xC3, 0x55, 0x5D, 0x31, 0xC0, 0x0F, 0x1F, 0x44, 0x00, 0x83, 0xEC, 0x8B, 0x45}
	b := make([]byte, 0, n+16)
	rel := func(op []byte, target int) {
		b = append(b, op...)
		b = binary.LittleEndian.AppendUint32(b, uint32(target-(len(b)+4)))
	}
	for len(b) < n {
		t := funcs[r.Intn(len(funcs))]
		switch r.Intn(10) {
		case 0, 1, 2:
			rel([]byte{0xE8}, t)
		case 3:
			rel([]byte{0xE9}, t)
		case 4:
			rel([]byte{0x48, 0x8D, 0x05 | byte(r.Intn(8))<<3}, t)
		case 5:
			rel([]byte{0x48, 0x8B, 0x05}, t)
		case 6:
			rel([]byte{0xFF, 0x15}, t)
		case 7:
			rel([]byte{0xF0, 0x83, 0x05}, t)
			b = append(b, 1)
		default:
			for k := r.Intn(6); k >= 0; k-- {
				b = append(b, filler[r.Intn(len(filler))])
			}
		}
	}
	return b[:n]
}

// synthDelta returns n bytes of an image-like raster of 3-byte pixels whose
// rows are linear ramps offset from each other, sprinkled with noise, the
// kind of data delta matches are for, with some 16-bit sample ramps mixed in.
func synthDelta(n int, seed int64) []byte {
	r := rand.New(rand.NewSource(seed))
	const width = 97 // pixels per row
	b := make([]byte, 0, n+width*3)
	for y := 0; len(b) < n; y++ {
		if y%16 == 15 {
			v := uint16(r.Intn(65536))
			step := uint16(r.Intn(64))
			for x := 0; x < width*3/2; x++ {
				if r.Intn(30) == 0 {
					v += uint16(r.Intn(1000))
				}
				b = binary.LittleEndian.AppendUint16(b, v)
				v += step
			}
			continue
		}
		base := [3]int{y * 3, 200 - y, y * 7}
		for x := 0; x < width; x++ {
			for c := range 3 {
				v := byte(base[c] + x*(c+1))
				if r.Intn(25) == 0 {
					v = byte(r.Intn(256))
				}
				b = append(b, v)
			}
		}
	}
	return b[:n]
}

// randomBytes returns n incompressible bytes.
func randomBytes(n int, seed int64) []byte {
	b := make([]byte, n)
	rand.New(rand.NewSource(seed)).Read(b)
	return b
}
