package lzms

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// naiveSA is the suffix array of s by a comparison sort (the end of the
// text sorts first).
func naiveSA[T byte | uint32](s []T) []uint32 {
	sa := make([]uint32, len(s))
	for i := range sa {
		sa[i] = uint32(i)
	}
	slices.SortFunc(sa, func(a, b uint32) int { return slices.Compare(s[a:], s[b:]) })
	return sa
}

// TestSAISReduced: sais on texts of 32-bit symbols, as the recursion gives
// it, with the symbols' counts kept in free room (the recursion's sa has
// some) and counted again for each bucket table (it has too little):
// small and large alphabets, alternating low and high symbols (about half
// the positions LMS, every name distinct), runs and periodic texts.
func TestSAISReduced(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 11))
	type text struct {
		s []uint32
		k int
	}
	in := map[string]text{}
	rnd := func(n, k int) text {
		s := make([]uint32, n)
		for i := range s {
			s[i] = uint32(r.IntN(k))
		}
		return text{s, k}
	}
	in["rand2-3000"] = rnd(3000, 2)
	in["rand300-3000"] = rnd(3000, 300)
	in["rand3000-3000"] = rnd(3000, 3000)
	alt := make([]uint32, 4000)
	for i := range alt {
		if i%2 == 1 {
			alt[i] = 1 + uint32(r.IntN(3999))
		}
	}
	in["alternating-4000"] = text{alt, 4000}
	perm := make([]uint32, 2000)
	for i, v := range r.Perm(2000) {
		perm[i] = uint32(v)
	}
	in["permutation-2000"] = text{perm, 2000}
	runs := make([]uint32, 0, 3000)
	for len(runs) < 3000 {
		c := uint32(r.IntN(500))
		for range 1 + r.IntN(20) {
			runs = append(runs, c)
		}
	}
	in["runs-3000"] = text{runs[:3000], 500}
	period := make([]uint32, 3000)
	for i := range period {
		period[i] = uint32(i%7) * 100
	}
	in["period-7"] = text{period, 700}
	for i := range 3 {
		in[fmt.Sprintf("len-%d", i+1)] = rnd(i+1, 1000)
	}
	for name, tx := range in {
		for _, withFree := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/free=%v", name, withFree), func(t *testing.T) {
				n := len(tx.s)
				sa := make([]uint32, n)
				tmp := make([]uint32, n/32+1+tx.k+n/2+n/16+64)
				var free []uint32
				if withFree {
					free = make([]uint32, tx.k)
				}
				sais(slices.Clone(tx.s), sa, tx.k, tmp, free)
				if want := naiveSA(tx.s); !slices.Equal(sa, want) {
					t.Fatalf("suffix array %v, want %v", sa[:min(n, 20)], want[:min(n, 20)])
				}
			})
		}
	}
}

// TestBuildSAPairs: byte texts built around the 65,536 pairs of bytes (every
// pair once, in order and shuffled, and as runs), short texts, and texts
// whose suffixes share long prefixes, against a comparison sort.
func TestBuildSAPairs(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 13))
	in := map[string][]byte{}
	var pairs []byte
	for p := range 1 << 16 {
		pairs = append(pairs, byte(p>>8), byte(p))
	}
	in["pairs-in-order"] = pairs
	shuf := slices.Clone(pairs)
	r.Shuffle(len(shuf)/2, func(i, j int) {
		shuf[2*i], shuf[2*j] = shuf[2*j], shuf[2*i]
		shuf[2*i+1], shuf[2*j+1] = shuf[2*j+1], shuf[2*i+1]
	})
	in["pairs-shuffled"] = shuf
	var pairRuns []byte
	for p := 0; p < 1<<16; p += 97 {
		pairRuns = append(pairRuns, bytes.Repeat([]byte{byte(p >> 8), byte(p)}, 1+p%5)...)
	}
	in["pair-runs"] = pairRuns
	in["run-then-rise"] = append(bytes.Repeat([]byte{'a'}, 3000), []byte("abcdefgh")...)
	in["period-3-long"] = bytes.Repeat([]byte{2, 0, 1}, 3000) // the comparison sort is quadratic on it: 20,000 took 45 s
	// Named as they are sorted, two L-type suffixes left for the S pass
	// have equal keys only if those passed between them do too (the
	// fuzzer found it).
	in["keys-between"] = []byte("A\x1500\x000\x00A\x150 000\x000")
	for _, s := range []string{"a", "ab", "ba", "aa", "aaa", "aab", "aba", "abb", "baa", "bab", "bba", "abc", "acb", "bac", "cba", "\x00\xff\x00", "\xff\x00\xff"} {
		in["short-"+s] = []byte(s)
	}
	for name, text := range in {
		t.Run(name, func(t *testing.T) {
			n := len(text)
			sa := make([]uint32, n)
			buildSA(text, sa, make([]uint32, saisScratch(n)))
			if want := naiveSA(text); !slices.Equal(sa, want) {
				t.Fatalf("suffix array %v, want %v", sa[:min(n, 20)], want[:min(n, 20)])
			}
		})
	}
}

// FuzzBuildSA checks the suffix array of the input against a comparison
// sort, its LMS substrings' names as sorted against those by comparison
// (reduceBoth), and, read as 16-bit symbols, sais's on a large alphabet.
func FuzzBuildSA(f *testing.F) {
	f.Add([]byte("mississippi"))
	f.Add(bytes.Repeat([]byte("abc"), 50))
	f.Add([]byte{0, 9, 0, 7, 0, 5, 0, 3, 0, 1})
	f.Fuzz(func(t *testing.T, text []byte) {
		n := len(text)
		if n == 0 || n > 8192 {
			return
		}
		sa := make([]uint32, n)
		buildSA(text, sa, make([]uint32, saisScratch(n)))
		if want := naiveSA(text); !slices.Equal(sa, want) {
			t.Fatalf("suffix array %v, want %v", sa, want)
		}
		if n >= 2 {
			if err := reduceBoth(text); err != nil {
				t.Fatal(err)
			}
		}
		s := make([]uint32, n/2)
		for i := range s {
			s[i] = uint32(text[2*i])<<8 | uint32(text[2*i+1])
		}
		if len(s) == 0 {
			return
		}
		const k = 1 << 16
		sa = sa[:len(s)]
		for _, free := range [][]uint32{nil, make([]uint32, k)} {
			sais(slices.Clone(s), sa, k, make([]uint32, len(s)/32+1+k+len(s)/2+len(s)/16+64), free)
			if want := naiveSA(s); !slices.Equal(sa, want) {
				t.Fatalf("16-bit symbols: suffix array %v, want %v", sa, want)
			}
		}
	})
}

// TestBuildSAExhaustive: every text of up to 9 symbols over three bytes
// (which exercises the byte text's LMS substrings named as they are sorted:
// suffix 0 of either type, equal substrings next to the one that runs into
// the end of the text, none at all), against a comparison sort and against
// sais on the same text as 32-bit symbols (whose substrings are compared).
func TestBuildSAExhaustive(t *testing.T) {
	syms := []byte{'a', 'b', 'c'}
	for n := 1; n <= 9; n++ {
		total := 1
		for range n {
			total *= len(syms)
		}
		text := make([]byte, n)
		wide := make([]uint32, n)
		sa := make([]uint32, n)
		saWide := make([]uint32, n)
		tmp := make([]uint32, saisScratch(n))
		for x := range total {
			for i, v := 0, x; i < n; i, v = i+1, v/len(syms) {
				text[i] = syms[v%len(syms)]
				wide[i] = uint32(text[i])
			}
			buildSA(text, sa, tmp)
			sais(wide, saWide, 256, make([]uint32, n/32+1+256+n/2+n/16+64), nil)
			want := naiveSA(text)
			if !slices.Equal(sa, want) || !slices.Equal(saWide, want) {
				t.Fatalf("%q: suffix array %v (as 32-bit symbols %v), want %v", text, sa, saWide, want)
			}
		}
	}
}

// reduceBoth reduces the byte text s both ways saisReduce can (naming the
// LMS substrings as they are sorted, and by comparing them) and returns
// an error if the reduced strings differ: the names are the substrings'
// ranks either way, so a flag too many (two equal substrings named apart,
// which still gives the right suffix array from a larger recursion) fails
// as surely as one too few.
func reduceBoth(s []byte) error {
	n := len(s)
	bits := make([]uint32, (n+31)/32)
	saTypes(s, bits)
	cnt := make([]uint32, 256)
	saCount(s, cnt)
	var red [2][]uint32
	var names [2]uint32
	for i, named := range []bool{true, false} {
		sa := make([]uint32, n)
		n1, name, _, _ := saisReduce(s, sa, 256, bits, cnt, make([]uint32, 256), named)
		red[i], names[i] = sa[n-n1:], name
	}
	if names[0] != names[1] || !slices.Equal(red[0], red[1]) {
		return fmt.Errorf("%q: named as sorted: %d names, %v; compared: %d names, %v", s, names[0], red[0], names[1], red[1])
	}
	return nil
}

// TestSAISNamesAsSorted: the byte text's LMS substrings named as the
// induced sorts place them (saFlag) get the names comparing them gives,
// on every text of up to 10 symbols over three bytes and random texts over
// two to five (where equal LMS substrings are common).
func TestSAISNamesAsSorted(t *testing.T) {
	syms := []byte{'a', 'b', 'c'}
	for n := 2; n <= 10; n++ {
		total := 1
		for range n {
			total *= len(syms)
		}
		text := make([]byte, n)
		for x := range total {
			for i, v := 0, x; i < n; i, v = i+1, v/len(syms) {
				text[i] = syms[v%len(syms)]
			}
			if err := reduceBoth(text); err != nil {
				t.Fatal(err)
			}
		}
	}
	r := rand.New(rand.NewPCG(7, 17))
	for range 3000 {
		text := make([]byte, 2+r.IntN(300))
		k := 2 + r.IntN(4)
		for i := range text {
			text[i] = byte(r.IntN(k))
		}
		if err := reduceBoth(text); err != nil {
			t.Fatal(err)
		}
	}
}
