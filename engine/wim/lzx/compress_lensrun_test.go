package lzx

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// TestWriteLensSlidingMin checks that writeLens, which finds the cheapest
// end of zero runs with a sliding minimum, writes bit for bit what the scan
// of every run length it replaced (ctWriteLensScan) writes: code lengths
// of every shape, from the previous block's or from zeros, with runs of
// zeros and of equal lengths around the limits 4, 19, 20 and 51, at the
// default level (two passes) and the fast one (one).
func TestWriteLensSlidingMin(t *testing.T) {
	def, err := NewCompressor(32768)
	if err != nil {
		t.Fatal(err)
	}
	fast, err := NewCompressorLevel(32768, LevelFast)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	gen := func(m int, zeroBias int) []uint8 {
		l := make([]uint8, 0, m)
		for len(l) < m {
			n := 1 + rng.IntN(60)
			v := uint8(0)
			if rng.IntN(100) >= zeroBias {
				v = uint8(1 + rng.IntN(16))
			}
			if rng.IntN(3) == 0 {
				n = []int{3, 4, 5, 18, 19, 20, 21, 50, 51, 52, 53, 100}[rng.IntN(12)]
			}
			for ; n > 0 && len(l) < m; n-- {
				if v != 0 && rng.IntN(4) == 0 {
					l = append(l, uint8(1+rng.IntN(16)))
					continue
				}
				l = append(l, v)
			}
		}
		return l
	}
	for tc := range 4000 {
		c := def
		if tc%2 == 1 {
			c = fast // one pass of the shortest path
		}
		m := []int{numChars, numMainSyms(15) - numChars, numMainSyms(21) - numChars, numLenSyms, 1, 7, 60}[tc%7]
		lens := gen(m, []int{0, 30, 60, 90, 100}[tc/2%5])
		prev := make([]uint8, m)
		if tc%3 != 0 {
			prev = gen(m, 50)
		}
		c.bw.reset(4096)
		c.writeLens(lens, prev)
		got := append([]byte(nil), c.bw.finish()...)
		c.bw.reset(4096)
		ctWriteLensScan(c, lens, prev)
		want := c.bw.finish()
		if !bytes.Equal(got, want) {
			t.Fatalf("case %d (%d lengths %v, previous %v): writeLens wrote %x, the scan %x", tc, m, lens, prev, got, want)
		}
	}
}

// ctWriteLensScan is writeLens as it was before the sliding minimum (every
// run length of every zero run tried in turn), with the fast level's one
// pass.
func ctWriteLensScan(c *Compressor, lens, prev []uint8) {
	m := len(lens)
	if cap(c.preBest) < m+1 {
		c.preBest = make([]uint32, m+1)
		c.preStep = make([]uint16, m+1)
		c.preZero = make([]uint16, m+1)
		c.preSame = make([]uint16, m+1)
	}
	best, step := c.preBest[:m+1], c.preStep[:m+1]
	zrun, srun := c.preZero[:m+1], c.preSame[:m+1]
	zrun[m], srun[m] = 0, 0
	for i := m - 1; i >= 0; i-- {
		srun[i] = 1
		if i+1 < m && lens[i+1] == lens[i] {
			srun[i] = srun[i+1] + 1
		}
		zrun[i] = 0
		if lens[i] == 0 {
			zrun[i] = srun[i]
		}
	}
	var cost [numPreSyms]uint32
	for s := range cost {
		cost[s] = 4
	}
	var freq [numPreSyms]uint32
	var preLens [numPreSyms]uint8
	var preCodes [numPreSyms]uint32
	passes := 2
	if c.params.fast {
		passes = 1
	}
	for iter := 0; iter < passes; iter++ {
		// Shortest path from the end; step encodes the choice: 0 a
		// single delta, otherwise symbol<<8 | run length.
		best[m] = 0
		for i := m - 1; i >= 0; i-- {
			d := (int(prev[i]) - int(lens[i]) + 17) % 17
			b := cost[d] + best[i+1]
			st := uint16(0)
			if z := int(zrun[i]); z >= 4 {
				for k := 4; k <= min(19, z); k++ {
					if v := cost[preZeros4] + 4 + best[i+k]; v < b {
						b, st = v, preZeros4<<8|uint16(k)
					}
				}
				for k := 20; k <= min(51, z); k++ {
					if v := cost[preZeros20] + 5 + best[i+k]; v < b {
						b, st = v, preZeros20<<8|uint16(k)
					}
				}
			}
			if s := int(srun[i]); s >= 4 {
				for k := 4; k <= min(5, s); k++ {
					if v := cost[preSame4] + 1 + cost[d] + best[i+k]; v < b {
						b, st = v, preSame4<<8|uint16(k)
					}
				}
			}
			best[i], step[i] = b, st
		}
		freq = [numPreSyms]uint32{}
		for i := 0; i < m; {
			st := step[i]
			d := (int(prev[i]) - int(lens[i]) + 17) % 17
			switch st >> 8 {
			case 0:
				freq[d]++
				i++
				continue
			case preSame4:
				freq[d]++
			}
			freq[st>>8]++
			i += int(st & 0xFF)
		}
		c.huff.build(freq[:], maxPreCodeLen, preLens[:], preCodes[:])
		for s := range cost {
			cost[s] = uint32(preLens[s])
			if cost[s] == 0 {
				cost[s] = 8
			}
		}
	}
	w := &c.bw
	for _, l := range preLens {
		w.put(uint32(l), preLenBits)
	}
	for i := 0; i < m; {
		st := step[i]
		d := (int(prev[i]) - int(lens[i]) + 17) % 17
		sym := int(st >> 8)
		k := int(st & 0xFF)
		switch sym {
		case 0:
			w.put(preCodes[d], preLens[d])
			i++
			continue
		case preZeros4:
			w.put(preCodes[sym], preLens[sym])
			w.put(uint32(k-4), 4)
		case preZeros20:
			w.put(preCodes[sym], preLens[sym])
			w.put(uint32(k-20), 5)
		case preSame4:
			w.put(preCodes[sym], preLens[sym])
			w.put(uint32(k-4), 1)
			w.put(preCodes[d], preLens[d])
		}
		i += k
	}
}
