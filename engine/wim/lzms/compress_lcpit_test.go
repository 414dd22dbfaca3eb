package lzms

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// lcpitInputs are texts for the suffix array and match finder tests:
// random bytes over small and full alphabets, runs, periodic and
// self-similar texts, and real text and code.
func lcpitInputs(t testing.TB, big bool) map[string][]byte {
	r := rand.New(rand.NewPCG(7, 17))
	rnd := func(n, k int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.IntN(k))
		}
		return b
	}
	fib := func(n int) []byte {
		a, b := []byte("a"), []byte("ab")
		for len(b) < n {
			a, b = b, append(slices.Clone(b), a...)
		}
		return b[:n]
	}
	in := map[string][]byte{
		"one":         {'x'},
		"two-same":    {'x', 'x'},
		"two-up":      {'a', 'b'},
		"two-down":    {'b', 'a'},
		"falling":     []byte("zyxwvutsrqponmlkjihgfedcba"),
		"rising":      []byte("abcdefghijklmnopqrstuvwxyz"),
		"mississippi": []byte("mississippi"),
		"zeros-300":   make([]byte, 300),
		"abab":        bytes.Repeat([]byte("ab"), 200),
		"period-7":    bytes.Repeat([]byte("abcabdx"), 50),
		"fib-1000":    fib(1000),
		"rand2-2000":  rnd(2000, 2),
		"rand4-3000":  rnd(3000, 4),
		"rand-4000":   rnd(4000, 256),
	}
	for i := range 20 {
		in[fmt.Sprintf("small-%d", i)] = rnd(1+r.IntN(60), 1+r.IntN(4))
	}
	if big {
		in["rand3-1M"] = rnd(1<<20, 3)
		in["rand-1M"] = rnd(1<<20, 256)
		in["fib-1M"] = fib(1 << 20)
		in["text-1M"] = realText(1 << 20)
		rep := rnd(1<<16, 256)
		var b []byte
		for len(b) < 256<<10 {
			b = append(b, rep[:1+r.IntN(len(rep))]...)
			b = append(b, rnd(r.IntN(100), 256)...)
		}
		in["repeats-256K"] = b[:256<<10]
	}
	return in
}

// TestBuildSA: SA-IS sorts every suffix, checked against a comparison sort
// on small texts and by neighbour order on large ones.
func TestBuildSA(t *testing.T) {
	for name, text := range lcpitInputs(t, !testing.Short()) {
		t.Run(name, func(t *testing.T) {
			n := len(text)
			sa := make([]uint32, n)
			tmp := make([]uint32, saisScratch(n))
			buildSA(text, sa, tmp)
			if n <= 5000 {
				want := make([]uint32, n)
				for i := range want {
					want[i] = uint32(i)
				}
				slices.SortFunc(want, func(a, b uint32) int { return bytes.Compare(text[a:], text[b:]) })
				if !slices.Equal(sa, want) {
					t.Fatalf("suffix array %v, want %v", sa[:min(n, 20)], want[:min(n, 20)])
				}
				return
			}
			// Large texts: a permutation whose neighbours are in
			// order, each pair checked in constant time from the
			// ranks of the suffixes one byte on (Burkhardt and
			// Kärkkäinen's check).
			rank := make([]int, n+1)
			rank[n] = -1 // the end sorts first
			seen := make([]bool, n)
			for r, p := range sa {
				if int(p) >= n || seen[p] {
					t.Fatalf("rank %d: position %d repeated or out of range", r, p)
				}
				seen[p] = true
				rank[p] = r
			}
			for r := 1; r < n; r++ {
				a, b := sa[r-1], sa[r]
				if text[a] > text[b] || (text[a] == text[b] && rank[a+1] >= rank[b+1]) {
					t.Fatalf("ranks %d and %d (positions %d, %d) out of order", r-1, r, a, b)
				}
			}
		})
	}
}

// naiveMatches returns the matches at pos the LCP-interval finder must
// report: for each length from lcpMin, the nearest earlier position (above
// 0) sharing that many bytes, kept where a longer length needs a farther
// one; lengths capped at lcpMax, then the longest extended up to maxLen.
func naiveMatches(data []byte, pos int) []lzMatch {
	var out []lzMatch
	best := 0
	for src := pos - 1; src >= 1; src-- {
		l := 0
		for pos+l < len(data) && data[src+l] == data[pos+l] {
			l++
		}
		capped := min(l, lcpMax)
		if capped >= lcpMin && capped > best {
			best = capped
			out = append(out, lzMatch{uint32(capped), uint32(pos - src)})
			if capped == lcpMax {
				out[len(out)-1].length = uint32(l)
				break
			}
		}
	}
	return out
}

// TestLCPFinderMatches: at every position, the finder reports exactly the
// nearest match of each length, as a naive scan finds them, including
// after skipped stretches.
func TestLCPFinderMatches(t *testing.T) {
	for name, text := range lcpitInputs(t, !testing.Short()) {
		t.Run(name, func(t *testing.T) {
			data := append(slices.Clone(text), make([]byte, encPad)...)[:len(text)]
			var f lcpFinder
			f.load(data)
			n := len(data)
			// Check every position of small texts; on large ones a
			// naive scan is quadratic, so check a sample, reaching the
			// others by find (unchecked) or skip.
			step := 1
			if n > 5000 {
				step = 4999
			}
			var ms []lzMatch
			for pos := 0; pos < n; {
				if pos%step != 0 && pos%3 == 0 {
					stop := min(pos+1+pos%5, n)
					f.skip(stop)
					pos = stop
					continue
				}
				ms = f.find(data, pos, n-pos, ms[:0])
				if pos%step == 0 {
					want := naiveMatches(data, pos)
					if !slices.Equal(ms, want) {
						t.Fatalf("position %d: matches %v, want %v", pos, ms, want)
					}
				}
				pos++
			}
		})
	}
}

// TestLCPFinderMemory: the finder's arrays take 8 bytes per byte of chunk
// (SA-IS's scratch fits in one of them).
func TestLCPFinderMemory(t *testing.T) {
	for _, n := range []int{1 << 10, 128 << 10, 4 << 20} {
		data := realText(n + encPad)[:n]
		var f lcpFinder
		f.load(data)
		got := 4 * (cap(f.intervals) + cap(f.posData))
		if limit := 8*n + 4096; got > limit {
			t.Errorf("%d bytes: finder holds %d bytes, over %d", n, got, limit)
		}
	}
}

// BenchmarkLCPFinder: loading a chunk (suffix array, LCPs, tree) and
// walking it, per kind of data.
func BenchmarkLCPFinder(b *testing.B) {
	for _, n := range []int{128 << 10, 8 << 20} {
		for _, kind := range []string{"text", "code"} {
			var data []byte
			if kind == "text" {
				data = realText(n + encPad)
			} else {
				data = realCode(n+encPad, "/usr/bin/*")
			}
			data = data[:n]
			b.Run(fmt.Sprintf("%s-%dK/sa", kind, n>>10), func(b *testing.B) {
				sa := make([]uint32, n)
				tmp := make([]uint32, saisScratch(n))
				benchLoop(b, n, func() { buildSA(data, sa, tmp) })
			})
			b.Run(fmt.Sprintf("%s-%dK/load", kind, n>>10), func(b *testing.B) {
				var f lcpFinder
				benchLoop(b, n, func() { f.load(data) })
			})
			b.Run(fmt.Sprintf("%s-%dK/walk", kind, n>>10), func(b *testing.B) {
				var f lcpFinder
				var ms []lzMatch
				benchLoop(b, n, func() {
					f.load(data)
					for p := range n {
						ms = f.find(data, p, n-p, ms[:0])
					}
				})
			})
		}
	}
}

// FuzzLCPFinder checks the suffix array and the interval tree's matches at
// every position of the input (up to 4 KiB) against a comparison sort and a
// naive scan.
func FuzzLCPFinder(f *testing.F) {
	f.Add([]byte("mississippi"))
	f.Add([]byte("abracadabra abracadabra abracadabra"))
	f.Add(bytes.Repeat([]byte("ab"), 100))
	f.Add(make([]byte, 70))
	f.Add([]byte{3, 2, 1, 3, 2, 1, 0, 3, 2, 1, 3, 2, 1})
	f.Fuzz(func(t *testing.T, text []byte) {
		if len(text) == 0 || len(text) > 4096 {
			return
		}
		n := len(text)
		sa := make([]uint32, n)
		buildSA(text, sa, make([]uint32, saisScratch(n)))
		for r := 1; r < n; r++ {
			if bytes.Compare(text[sa[r-1]:], text[sa[r]:]) >= 0 {
				t.Fatalf("suffix array out of order at rank %d: %v", r, sa)
			}
		}
		data := append(slices.Clone(text), make([]byte, encPad)...)[:n]
		var lf lcpFinder
		lf.load(data)
		var ms []lzMatch
		for pos := range n {
			ms = lf.find(data, pos, n-pos, ms[:0])
			if want := naiveMatches(data, pos); !slices.Equal(ms, want) {
				t.Fatalf("position %d: matches %v, want %v", pos, ms, want)
			}
		}
	})
}
