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
// array with each entry's LCP in its top bits, then the tree: for each
// interval its parent (a ref: lcp<<lcpShift | index) until it is first
// visited, then its most recent suffix (a position, top bits clear).
// posData is scratch for SA-IS, then the inverse suffix array, then for
// each position the deepest interval holding its suffix (before the walk
// reaches it) or the interval above the ones it is most recent in (after).
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

	// lcpitMaxChunk is the largest chunk the packing (26-bit positions)
	// can index; larger chunks use the binary trees.
	lcpitMaxChunk = posMask + 1
)

type lcpFinder struct {
	intervals []uint32
	posData   []uint32
	pos       int // the next position to advance over
}

// load builds the interval tree of data (len(data) <= lcpitMaxChunk).
// data's backing array has encPad readable bytes past its end.
func (f *lcpFinder) load(data []byte) {
	n := len(data)
	scratch := max(n, saisScratch(n))
	if cap(f.intervals) < n {
		f.intervals = make([]uint32, n)
	}
	if cap(f.posData) < scratch {
		f.posData = make([]uint32, scratch)
	}
	sa := f.intervals[:n]
	f.intervals = sa
	buildSA(data, sa, f.posData[:scratch])
	isa := f.posData[:n]
	f.posData = isa
	for r, p := range sa {
		isa[p] = uint32(r)
	}
	buildLCP(data, sa, isa)
	buildTree(sa, isa)
	f.pos = 0
}

// buildLCP adds to each suffix array entry sa[r] (r > 0) the length of the
// prefix it shares with sa[r-1], capped to lcpMax and zeroed under lcpMin.
// Kasai's walk in text order: the shared length drops by at most one from
// one position to the next.
func buildLCP(data []byte, sa, isa []uint32) {
	n := len(data)
	h := 0
	for i := 0; i < n; i++ {
		r := isa[i]
		if r == 0 {
			h = 0
			continue
		}
		j := int(sa[r-1] & posMask)
		lim := n - max(i, j)
		if h < lim {
			h += matchLen(data, j+h, i+h, lim-h)
		}
		l := uint32(h)
		if l < lcpMin {
			l = 0
		} else if l > lcpMax {
			l = lcpMax
		}
		sa[r] |= l << lcpShift
		if h > 0 {
			h--
		}
	}
}

// buildTree turns the suffix array with LCPs into the interval tree, in
// place: a scan in rank order keeps a stack of the intervals opened and not
// yet closed (their lcps strictly rising); each interval is numbered when
// opened, and gets its parent's ref when closed. Every suffix gets in
// posData the deepest interval it lies in. Interval 0 is the root (lcp 0),
// and at most one interval opens per rank, so interval k's slot is free
// (rank k has been read) by the time it is written.
func buildTree(iv, posData []uint32) {
	n := len(iv)
	var stack [lcpMax + 2]uint32
	top := 0
	stack[0] = 0
	next := uint32(1)
	prev := iv[0] & posMask
	iv[0] = 0
	for r := 1; r < n; r++ {
		e := iv[r]
		pos, lcp := e&posMask, e&lcpMask
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
}

// find advances over the next position (pos, which must be f.pos) and
// appends its matches to out in increasing length and offset, as
// matchFinder.find does. A match of lcpMax bytes is extended to its full
// length, up to maxLen (pos+maxLen <= len(data)).
func (f *lcpFinder) find(data []byte, pos, maxLen int, out []lzMatch) []lzMatch {
	first := len(out)
	out = f.advance(pos, out, true)
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
		f.advance(f.pos, nil, false)
	}
}

// advance moves the walk past position cur (== f.pos): every interval
// holding cur's suffix takes cur as its most recent suffix, and with
// record, the matches (lcp, cur - the interval's previous most recent
// suffix) are appended, longest first.
func (f *lcpFinder) advance(cur int, out []lzMatch, record bool) []lzMatch {
	f.pos = cur + 1
	iv, pd := f.intervals, f.posData
	c := uint32(cur)
	ref := pd[c]
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
