package lzms

// The match finder for large chunks: an LCP-interval tree over the suffix
// array (the technique of wimlib's lcpit_matchfinder, after Abouelhoda,
// Kurtz and Ohlebusch 2004 and Chen, Puglisi and Smyth 2008). The chunk's
// suffix array (SA-IS, compress_sais.go) and LCP array (Kasai et al. 2001)
// give the tree of lcp-intervals: the sets of suffixes sharing a prefix of
// some length, nested by that length. Walking the positions in order, each
// interval remembers the most recent suffix seen in it; the matches at a
// position are then the intervals above its suffix, each with its most
// recent suffix, longest first. Intervals whose most recent suffix is the
// same are passed in one step through a link kept at that suffix, so the
// walk costs amortised constant time per match and has no depth limit:
// every length gets its nearest match.
//
// Memory: two arrays of a word per byte. intervals first holds the suffix
// array, then the tree: for each interval its parent (a ref:
// lcp<<lcpShift | index) until it is first visited, then its most recent
// suffix (a position, top bits clear). posData is scratch for SA-IS, then
// each position's LCP (see buildLCP), then for each position the deepest
// interval holding its suffix (before the walk reaches it) or the interval
// above the ones it is most recent in (after).
//
// LCPs under lcpMin are stored as 0, so that every such interval is the
// root; LCPs over lcpMax are stored as lcpMax, which bounds the tree's
// depth: a match reported at lcpMax may run longer, and the caller extends
// it. Position 0 is never a match's source (see advance).

const (
	lcpBits  = 6
	lcpMax   = 1<<lcpBits - 1 // 63, one under encNiceLen: see find
	lcpShift = 32 - lcpBits
	lcpMask  = uint32(lcpMax) << lcpShift
	posMask  = 1<<lcpShift - 1
	lcpMin   = 3 // the binary trees' shortest match too

	// lcpitMinChunk is the smallest chunk the compressor gives this
	// finder; smaller ones use the binary trees (compress_match.go).
	// wimlib's LZMS compressor uses the interval tree at every size. In
	// 128 KiB chunks (non-solid WIMs) the trees' depth limit loses little
	// (output 0.3% larger) and they cost no more CPU, less on data that
	// does not compress, where the suffix array is pure cost; in solid
	// chunks (64 MiB) the trees' output is 1.7% larger than the interval
	// tree's for the same CPU time.
	lcpitMinChunk = 1 << 20

	// lcpitMaxChunk is the largest chunk the packing (26-bit positions)
	// can index; larger chunks use the binary trees.
	lcpitMaxChunk = posMask + 1
)

type lcpFinder struct {
	intervals []uint32
	posData   []uint32 // lcpitPad entries past the chunk, zero
	pos       int      // the next position to advance over

	// The mappings holding intervals and posData (nil: on the heap).
	ivMap, pdMap *wordMap

	// Loads a few positions ahead, which start their cache misses early
	// (see advance), by position modulo lcpitGap; sink keeps them from
	// being dropped.
	ahead1, ahead2 [lcpitGap]uint32
	sink           uint32
}

// lcpitPad is how far ahead of a position the walks read.
const lcpitPad = 8

// lcpitGap is how many positions apart the walk's prefetches follow one
// another (see advance): a word prefetched at one position is loaded
// lcpitGap positions on, to name the next word to prefetch, so that the
// first step at a position is prefetched 3*lcpitGap positions ahead. With
// a gap of one position, the walk alone over the first 64 MiB chunk of
// tree A took a median 151 ns a byte; with two, 128 (shared machine,
// interleaved runs). A power of two, with 3*lcpitGap < lcpitPad.
const lcpitGap = 2

var (
	_ [lcpitPad - 3*lcpitGap - 1]struct{} // 3*lcpitGap < lcpitPad
	_ [1 - lcpitGap&(lcpitGap-1)]struct{} // a power of two
)

// load builds the interval tree of data (len(data) <= lcpitMaxChunk).
// data's backing array has encPad readable bytes past its end.
func (f *lcpFinder) load(data []byte) { f.loadSteps(data, nil) }

// loadSteps is load, calling mark (if not nil) after each of its steps:
// the suffix array, the LCPs and the tree (benchmarks time them).
func (f *lcpFinder) loadSteps(data []byte, mark func()) {
	n := len(data)
	scratch := max(n+lcpitPad, saisScratch(n))
	if cap(f.intervals) < n+lcpitPad {
		f.intervals = growWords(&f.ivMap, n+lcpitPad)
	}
	if cap(f.posData) < scratch {
		f.posData = growWords(&f.pdMap, scratch)
	}
	f.intervals = f.intervals[:n+lcpitPad]
	f.posData = f.posData[:scratch]
	sa := f.intervals[:n]
	f.sink += buildSA(data, sa, f.posData)
	if mark != nil {
		mark()
	}
	pd := f.posData[:n+lcpitPad]
	clear(pd[n:])
	clear(f.intervals[n:])
	f.sink += buildLCP(data, f.intervals, pd)
	if mark != nil {
		mark()
	}
	f.sink += buildTree(f.intervals, pd, n)
	if mark != nil {
		mark()
	}
	f.posData = pd
	f.pos = 0
	f.ahead1, f.ahead2 = [lcpitGap]uint32{}, [lcpitGap]uint32{}
}

// growWords returns n zero words in a mapping of their own (see wordMap),
// or on the heap where the system refuses, after freeing the mapping *m
// (the words the caller is replacing): *m becomes the new one.
func growWords(m **wordMap, n int) []uint32 {
	(*m).free()
	s, nm := mapWords(n)
	*m = nm
	if s == nil {
		s = make([]uint32, n)
	}
	return s
}

// buildLCP writes into phi, for each position p, the length of the prefix
// suffix p shares with the suffix ranked just before it (0 for rank 0),
// capped to lcpMax and zeroed under lcpMin: the permuted LCP array (the Φ
// method of Kärkkäinen, Manzini and Puglisi, 2009). phi[p] is first the
// suffix ranked just before p, then the length, found in text order,
// where it drops by at most one from one position to the next. Unlike
// Kasai's walk, that one reads the suffix array in order. buildTree takes
// each rank's LCP from phi as it reads the suffix array, which saves a
// pass that would add them to sa: its write of the same entry then finds
// it in the cache. sa and phi have lcpitPad entries past the chunk, zero,
// and data's backing array a byte past its end; the returned sum keeps the
// loads that start the cache misses of the entries lcpitPad places on.
func buildLCP(data []byte, sa, phi []uint32) uint32 {
	n := len(data)
	none := uint32(n) // rank 0 has no predecessor
	phi[sa[0]] = none
	for r := 1; r < n; r++ {
		phi[sa[r]] = sa[r-1]
	}
	buf := data[:n+1]
	var sink uint32
	h := 0
	for i := 0; i < n; i++ {
		sink += uint32(buf[phi[i+lcpitPad]])
		j := phi[i]
		if j == none {
			phi[i] = 0
			h = 0
			continue
		}
		lim := n - max(i, int(j))
		if h < lim {
			h += matchLen(data, int(j)+h, i+h, lim-h)
		}
		l := uint32(h)
		if l < lcpMin {
			l = 0
		} else if l > lcpMax {
			l = lcpMax
		}
		phi[i] = l
		if h > 0 {
			h--
		}
	}
	return sink
}

// buildTree turns the suffix array into the interval tree, in place,
// with each suffix's LCP from posData (see buildLCP): a scan in rank order
// keeps a stack of the intervals opened and not yet closed (their lcps
// strictly rising); each interval is numbered when opened, and gets its
// parent's ref when closed. Every suffix gets in posData the deepest
// interval it lies in, written a rank after its LCP is read there. Interval
// 0 is the root (lcp 0), and at most one interval opens per rank, so
// interval k's slot is free (rank k has been read) by the time it is
// written. iv and posData have lcpitPad entries past the chunk's n; see
// buildLCP for the returned sum.
func buildTree(iv, posData []uint32, n int) uint32 {
	var sink uint32
	var stack [lcpMax + 2]uint32
	top := 0
	stack[0] = 0
	next := uint32(1)
	prev := iv[0]
	iv[0] = 0
	for r := 1; r < n; r++ {
		pos := iv[r]
		lcp := posData[pos] << lcpShift
		sink += posData[iv[r+lcpitPad]]
		t := stack[top]
		switch {
		case lcp == t&lcpMask:
			posData[prev] = t
		case lcp > t&lcpMask:
			top++
			stack[top] = lcp | next
			next++
			posData[prev] = stack[top]
		default:
			posData[prev] = t
			for {
				closed := stack[top] & posMask
				top--
				up := stack[top]
				if lcp == up&lcpMask {
					iv[closed] = up
					break
				}
				if lcp > up&lcpMask {
					// A new interval between the closed one and
					// its parent on the stack.
					top++
					stack[top] = lcp | next
					next++
					iv[closed] = stack[top]
					break
				}
				iv[closed] = up
			}
		}
		prev = pos
	}
	posData[prev] = stack[top]
	for ; top > 0; top-- {
		iv[stack[top]&posMask] = stack[top-1]
	}
	return sink
}

// find advances over the next position (pos, which must be f.pos) and
// appends its matches to out in increasing length and offset, as
// matchFinder.find does. A match of lcpMax bytes is extended to its full
// length, up to maxLen (pos+maxLen <= len(data)).
func (f *lcpFinder) find(data []byte, pos, maxLen int, out []lzMatch) []lzMatch {
	return f.findAhead(data, pos, maxLen, out, nil)
}

// findAhead is find that, with df not nil, also starts the cache misses of
// the delta finder's table entries for the position deltaAhead on, whose
// slots df.keysAt has just computed: they ride on the walk's own prefetch call
// (see prefetch3d).
func (f *lcpFinder) findAhead(data []byte, pos, maxLen int, out []lzMatch, df *deltaFinder) []lzMatch {
	first := len(out)
	out = f.advance(pos, out, true, df)
	// Longest first as found: reverse.
	m := out[first:]
	for i, j := 0, len(m)-1; i < j; i, j = i+1, j-1 {
		m[i], m[j] = m[j], m[i]
	}
	if k := len(m); k > 0 && m[k-1].length == lcpMax && maxLen > lcpMax {
		src := pos - int(m[k-1].offset)
		m[k-1].length += uint32(matchLen(data, src+lcpMax, pos+lcpMax, maxLen-lcpMax))
	}
	return out
}

// skip advances over positions up to stop, finding no matches.
func (f *lcpFinder) skip(stop int) {
	for f.pos < stop {
		f.advance(f.pos, nil, false, nil)
	}
}

// advance moves the walk past position cur (== f.pos): every interval
// holding cur's suffix takes cur as its most recent suffix, and with
// record, the matches (lcp, cur - the interval's previous most recent
// suffix) are appended, longest first. With df not nil, the delta table
// entries of cur+deltaAhead are prefetched too (see findAhead).
func (f *lcpFinder) advance(cur int, out []lzMatch, record bool, df *deltaFinder) []lzMatch {
	f.pos = cur + 1
	iv, pd := f.intervals, f.posData
	c := uint32(cur)
	ref := pd[c]
	// Start the cache misses of later positions' first steps: with g =
	// lcpitGap, the interval above the suffix 3g positions on, the
	// suffix link of the one 2g on (its interval prefetched g positions
	// ago), and the interval that link names for the one g on (the link
	// prefetched g positions ago). ahead1 and ahead2 keep what each of
	// the last g positions found, for the position g on. Stale values
	// cost only a wasted prefetch.
	k := c & (lcpitGap - 1)
	p1 := &iv[pd[f.ahead1[k]]&posMask]
	f.ahead1[k] = iv[f.ahead2[k]] & posMask
	p2 := &pd[f.ahead1[k]]
	f.ahead2[k] = pd[c+3*lcpitGap] & posMask
	if df != nil {
		f.sink += prefetch3d(p1, p2, &iv[f.ahead2[k]], df.table, &df.slots[(cur+deltaAhead)&(deltaRing-1)])
	} else {
		f.sink += prefetch3(p1, p2, &iv[f.ahead2[k]])
	}
	pd[c] = 0
	if c == 0 {
		// Position 0 visits nothing: a most recent suffix of 0 would
		// read as the root's mark (see the loop below), and the
		// intervals it would close off would hide their parents'
		// later suffixes.
		return out
	}
	// Intervals not yet visited: link them to cur on the way up to the
	// first visited one (or the root).
	var up uint32
	for {
		up = iv[ref&posMask]
		if up&lcpMask == 0 {
			break
		}
		iv[ref&posMask] = c
		ref = up
	}
	if up == 0 {
		// ref is the root, a child of the root not yet visited, or an
		// interval last visited at position 0: no match.
		if ref != 0 {
			iv[ref&posMask] = c
		}
		return out
	}
	// up is the most recent suffix of the visited interval ref. Go on up
	// through the links kept at the suffixes: a link that points below
	// ref is out of date (a deeper interval since visited by a later
	// suffix), and its interval's most recent suffix is followed instead.
	match := up
	for {
		for {
			up = pd[match]
			if up <= ref {
				break
			}
			match = iv[up&posMask]
		}
		iv[ref&posMask] = c
		pd[match] = ref
		if record {
			out = append(out, lzMatch{ref >> lcpShift, c - match})
		}
		if up == 0 {
			return out
		}
		ref = up
		match = iv[ref&posMask]
	}
}
