package lzms

import (
	"iter"
	mbits "math/bits"
	"slices"
	"unsafe"
)

// Suffix array construction by induced sorting (SA-IS: Nong, Zhang and
// Chan, "Two Efficient Algorithms for Linear Time Suffix Array
// Construction", 2011), in linear time and without allocating: the caller
// lends a scratch array as long as the text (plus a few hundred entries for
// tiny texts), which holds the suffix types and the bucket table of each
// level of the recursion. The reduced problem lives in the two halves of sa
// itself.
//
// The text has no sentinel: the end of the text sorts before every byte,
// so the last suffix is of type L and opens its bucket in the L pass.

// saEmpty is a group count (see saFlag) no bucket has had yet.
const saEmpty = ^uint32(0)

// saisScratch is the scratch an n-byte text needs: the type bits of every
// level (at most n/16 words in all), the largest bucket table (n/2 names
// below the top level) and the top level's 256 buckets.
func saisScratch(n int) int { return n/2 + n/16 + 2*256 + 64 }

// buildSA writes the suffix array of text into sa (len(sa) == len(text)),
// with tmp (len >= saisScratch(len(text))) as scratch. The sum it returns
// keeps early loads (see induce).
func buildSA(text []byte, sa, tmp []uint32) uint32 {
	if len(text) == 0 {
		return 0
	}
	return sais(text, sa, 256, tmp, nil)
}

// saTypes marks the S-type suffixes of s in bits (1: S, 0: L).
func saTypes[T byte | uint32](s []T, bits []uint32) {
	n := len(s)
	// A word at a time, without branches: a word is stored once its
	// lowest position is done; the one holding only the last suffix
	// (if any) stays clear.
	bits[(n-1)>>5] = 0
	var t, w uint32 // the type of suffix i+1 (the last is L); the word so far
	c1 := s[n-1]
	for i := n - 2; i >= 0; i-- {
		c0 := s[i]
		t = saB2U(c0 < c1) | saB2U(c0 == c1)&t
		w |= t << (i & 31)
		if i&31 == 0 {
			bits[i>>5] = w
			w = 0
		}
		c1 = c0
	}
}

// saB2U is 1 for true, 0 for false.
func saB2U(b bool) uint32 {
	var x uint32
	if b {
		x = 1
	}
	return x
}

// lmsMask is the word w of the LMS bits: suffix i is leftmost S (S-type
// after an L-type) if bit i&31 of lmsMask(bits, i>>5) is set. Suffix 0 is
// never LMS.
func lmsMask(bits []uint32, w int) uint32 {
	carry := uint32(1)
	if w > 0 {
		carry = bits[w-1] >> 31
	}
	c := bits[w]
	return c &^ (c<<1 | carry)
}

// saLMS yields the positions of the LMS suffixes in text order, a word of
// type bits at a time (see lmsMask).
func saLMS(bits []uint32) iter.Seq[int] {
	return func(yield func(int) bool) {
		for w := range bits {
			for m := lmsMask(bits, w); m != 0; m &= m - 1 {
				if !yield(w<<5 | mbits.TrailingZeros32(m)) {
					return
				}
			}
		}
	}
}

// saLMSRev yields the positions of the LMS suffixes in reverse text order.
func saLMSRev(bits []uint32) iter.Seq[int] {
	return func(yield func(int) bool) {
		for w := len(bits) - 1; w >= 0; w-- {
			for m := lmsMask(bits, w); m != 0; {
				b := 31 - mbits.LeadingZeros32(m)
				if !yield(w<<5 | b) {
					return
				}
				m &^= 1 << b
			}
		}
	}
}

// saCount fills cnt with each symbol's count in s.
func saCount[T byte | uint32](s []T, cnt []uint32) {
	clear(cnt)
	for _, c := range s {
		cnt[c]++
	}
}

// saBuckets fills bkt[:k] with each symbol's bucket start (end false) or
// end (one past its last slot), from the counts in cnt, or with cnt nil,
// from counting s again.
func saBuckets[T byte | uint32](s []T, cnt, bkt []uint32, k int, end bool) {
	bkt = bkt[:k]
	if cnt == nil {
		saCount(s, bkt)
		cnt = bkt
	}
	var sum uint32
	for i, c := range cnt[:k] {
		sum += c
		if end {
			bkt[i] = sum
		} else {
			bkt[i] = sum - c
		}
	}
}

// The induced sorts scan sa in blocks of saBlock entries; before each
// block they prefetch the text the entries saDist on will read (the scans
// are bound by those cache misses: the suffixes' positions are random).
const (
	saBlock = 64
	saDist  = 256
)

// saPrefetch starts the cache misses of s[j-1] for each entry j of sa (see
// saPrefetch8); the sum it returns keeps the loads where there is no
// prefetch instruction.
func saPrefetch[T byte | uint32](s []T, sa []uint32) uint32 {
	if len(sa) == 0 {
		return 0
	}
	if unsafe.Sizeof(s[0]) == 1 {
		return saPrefetch8((*byte)(unsafe.Pointer(&s[0])), &sa[0], len(sa), uint32(len(s)))
	}
	return saPrefetch32((*uint32)(unsafe.Pointer(&s[0])), &sa[0], len(sa), uint32(len(s)))
}

// saPrefetchBucket starts the cache misses of bkt[s[j-1]] for each entry j
// of sa when s has 32-bit symbols (a reduced text, whose bucket table is
// too large for the cache; the byte text's 256 buckets stay in it). The
// symbols should be in the cache already (saPrefetch, saDist on).
func saPrefetchBucket[T byte | uint32](s []T, bkt, sa []uint32) uint32 {
	if len(sa) == 0 || unsafe.Sizeof(s[0]) == 1 {
		return 0
	}
	return saPrefetchBkt((*uint32)(unsafe.Pointer(&s[0])), &bkt[0], &sa[0], len(sa), uint32(len(s)))
}

// The induced sorts mark a suffix array entry by storing it complemented
// (^j, its top bit set): in the L pass, an L-type suffix whose predecessor
// is S-type, which induces nothing then; in the S pass, an S-type suffix
// whose predecessor is L-type (an LMS suffix) or that has none. The type
// of each suffix placed follows from the type its bucket's pass gives it
// and the symbol before it, so the passes read no type bits (after Mori's
// sais-lite). Texts are shorter than 1<<31.

// induceL is the L pass of the induced sorts (cnt as for saBuckets): the
// L-type suffixes in order, induced from the suffixes in sa (the last
// suffix, which is L-type, first). Unmarked entries induce; each visited
// entry has its mark flipped, so that after the pass the L-type suffixes
// whose predecessor is S-type are the unmarked ones. With lms (the LMS
// substring sort), the entries that induced are cleared instead: the S
// pass needs only the others.
func induceL[T byte | uint32](s []T, sa, cnt, bkt []uint32, k int, lms bool) (sink uint32) {
	n := len(s)
	saBuckets(s, cnt, bkt, k, false)
	last := n - 1
	last32 := uint32(last)
	c1 := s[last]
	b := bkt[c1]
	v := last32
	if s[last-1] < c1 {
		v = ^v
	}
	sa[b] = v
	b++
	for i0 := 0; i0 < n; i0 += saBlock {
		if a := i0 + saDist; a < n {
			sink += saPrefetch(s, sa[a:min(a+saBlock, n)])
		}
		if a := i0 + saDist/2; a < n {
			sink += saPrefetchBucket(s, bkt, sa[a:min(a+saBlock, n)])
		}
		for i := i0; i < min(i0+saBlock, n); i++ {
			j := sa[i]
			if int32(j) <= 0 {
				// Marked, or empty (which the S pass skips
				// either way).
				if j != 0 || !lms {
					sa[i] = ^j
				}
				continue
			}
			if lms {
				sa[i] = 0
			} else {
				sa[i] = ^j
			}
			j--
			if c0 := s[j]; c0 != c1 {
				bkt[c1] = b
				c1 = c0
				b = bkt[c1]
			}
			v := j
			if j > 0 && s[j-1] < c1 {
				v = ^j
			}
			sa[b] = v
			b++
		}
	}
	return sink
}

// induceS is the S pass: the S-type suffixes in reverse order, induced
// from the unmarked entries. Without lms, marked entries are unmarked as
// they are passed, and sa ends as the suffix array; with lms, entries that
// induced are cleared, and the marked ones left: the LMS suffixes (and
// suffix 0 if S-type, as ^0).
func induceS[T byte | uint32](s []T, sa, cnt, bkt []uint32, k int, lms bool) (sink uint32) {
	n := len(s)
	saBuckets(s, cnt, bkt, k, true)
	var c1 T
	b := bkt[c1]
	for i1 := n; i1 > 0; i1 -= saBlock {
		i0 := max(i1-saBlock, 0)
		if a := i1 - saDist; a > 0 {
			sink += saPrefetch(s, sa[max(i0-saDist, 0):a])
		}
		if a := i1 - saDist/2; a > 0 {
			sink += saPrefetchBucket(s, bkt, sa[max(i0-saDist/2, 0):a])
		}
		for i := i1 - 1; i >= i0; i-- {
			j := sa[i]
			if int32(j) <= 0 {
				if !lms {
					sa[i] = ^j
				}
				continue
			}
			if lms {
				sa[i] = 0
			}
			j--
			if c0 := s[j]; c0 != c1 {
				bkt[c1] = b
				c1 = c0
				b = bkt[c1]
			}
			b--
			v := j
			if j == 0 || s[j-1] > c1 {
				v = ^j
			}
			sa[b] = v
		}
	}
	return sink
}

// The byte text's LMS substrings are named as they are sorted (after
// libsais), not by comparing them afterwards: each entry the sorts place
// carries saFlag if its key (the suffix up to and including the next LMS
// position, whose suffix counts only by its symbol and type) differs from
// the key of the entry placed before it in its bucket. Two suffixes placed
// one after the other in a bucket have equal keys when those that induced
// them do: when no flag was passed between them in the scan (d, the flags
// counted so far, is the same). Positions are below saFlag.
const saFlag = 1 << 30

// induceLNamed is induceL of the LMS substring sort, for a text of bytes
// whose LMS suffixes are in place (the lowest in each bucket flagged),
// carrying the flags (see saFlag). It leaves, unmarked, only the L-type
// suffixes whose predecessor is S-type, each but the highest flagged if
// its key differs from that of the one the S pass visits before it (the
// next left above).
func induceLNamed[T byte | uint32](s []T, sa, cnt, bkt []uint32, k int) (sink uint32) {
	n := len(s)
	saBuckets(s, cnt, bkt, k, false)
	var lastD [256]uint32 // the d of each bucket's latest entry
	for i := range lastD[:k] {
		lastD[i] = saEmpty
	}
	last := n - 1
	c1 := s[last]
	b := bkt[c1]
	v := uint32(last) | saFlag // its key, up to the end, is unique
	if s[last-1] < c1 {
		v = ^v
	}
	sa[b] = v
	b++
	ld := saEmpty - 1 // a d no scanned entry has
	d := uint32(0)
	var pend uint32 // the flags passed since the last entry left
	kept := -1      // where the last entry left is
	for i0 := 0; i0 < n; i0 += saBlock {
		if a := i0 + saDist; a < n {
			sink += saPrefetch(s, sa[a:min(a+saBlock, n)])
		}
		for i := i0; i < min(i0+saBlock, n); i++ {
			v := sa[i]
			if v == 0 {
				continue
			}
			if int32(v) < 0 {
				// An L-type suffix whose predecessor is S-type:
				// it stays, for the S pass to induce from. The
				// one left before it learns whether the keys
				// between differ.
				u := ^v
				f := u & saFlag
				d += f >> 30
				if kept >= 0 {
					sa[kept] |= f | pend
				}
				sa[i] = u &^ saFlag
				kept = i
				pend = 0
				continue
			}
			f := v & saFlag
			d += f >> 30
			pend |= f
			sa[i] = 0
			j := v &^ saFlag
			if j == 0 {
				continue
			}
			j--
			if c0 := s[j]; c0 != c1 {
				bkt[c1] = b
				lastD[c1] = ld
				c1 = c0
				b = bkt[c1]
				ld = lastD[c1]
			}
			v = j | saB2U(ld != d)<<30
			ld = d
			if j > 0 && s[j-1] < c1 {
				v = ^v
			}
			sa[b] = v
			b++
		}
	}
	// The last entry left (the highest) keeps no flag: the S pass visits
	// it first, before any entry it could be told apart from, so its
	// flag would only raise every later d by one (the passes compare d
	// for equality only) and reach, through pend, the flag of the
	// highest LMS suffix, which the gather in saisReduce drops (it says
	// whether that one differs from the one above it: there is none).
	// TestSAISNamesAsSorted checks the names with it left out.
	return sink
}

// induceSNamed is induceS of the LMS substring sort after induceLNamed,
// carrying the flags: each entry it visits is flagged if its key differs
// from that of the entry visited before it. It leaves the LMS suffixes
// marked, each flagged if its LMS substring differs from that of the LMS
// suffix above it, and suffix 0 if S-type, as ^0 or ^saFlag.
func induceSNamed[T byte | uint32](s []T, sa, cnt, bkt []uint32, k int) (sink uint32) {
	n := len(s)
	saBuckets(s, cnt, bkt, k, true)
	var lastD [256]uint32
	for i := range lastD[:k] {
		lastD[i] = saEmpty
	}
	var c1 T
	b := bkt[c1]
	ld := lastD[c1]
	d := uint32(0)
	var pend uint32 // the flags passed since the last LMS suffix
	for i1 := n; i1 > 0; i1 -= saBlock {
		i0 := max(i1-saBlock, 0)
		if a := i1 - saDist; a > 0 {
			sink += saPrefetch(s, sa[max(i0-saDist, 0):a])
		}
		for i := i1 - 1; i >= i0; i-- {
			v := sa[i]
			if v == 0 {
				continue
			}
			if int32(v) < 0 {
				u := ^v
				f := u & saFlag
				d += f >> 30
				if u == f {
					// Suffix 0.
					pend |= f
					continue
				}
				sa[i] = ^(u | pend)
				pend = 0
				continue
			}
			f := v & saFlag
			d += f >> 30
			pend |= f
			sa[i] = 0
			j := v&^saFlag - 1
			if c0 := s[j]; c0 != c1 {
				bkt[c1] = b
				lastD[c1] = ld
				c1 = c0
				b = bkt[c1]
				ld = lastD[c1]
			}
			b--
			v = j | saB2U(ld != d)<<30
			ld = d
			if j == 0 || s[j-1] > c1 {
				v = ^v
			}
			sa[b] = v
		}
	}
	return sink
}

// sais writes the suffix array of s (symbols below k) into sa, with tmp as
// scratch: the type bits first, then the bucket table, which a recursive
// call may reuse once this level is done with it. free, if at least k
// long, keeps the symbols' counts for the whole call (it is the room the
// caller's sa has left between the reduced text and its suffix array).
func sais[T byte | uint32](s []T, sa []uint32, k int, tmp, free []uint32) (sink uint32) {
	n := len(s)
	if n == 1 {
		sa[0] = 0
		return 0
	}
	nw := (n + 31) / 32
	bits := tmp[:nw]
	bkt := tmp[nw : nw+k]
	saTypes(s, bits)
	// Small alphabets (the text's bytes) are counted once, and so are
	// larger ones that fit in free; the others again for each bucket
	// table, as the scratch holds one table.
	var small [256]uint32
	var cnt []uint32
	if k <= len(small) {
		cnt = small[:k]
	} else if k <= len(free) {
		cnt = free[:k]
	}
	if cnt != nil {
		saCount(s, cnt)
	}

	named := unsafe.Sizeof(s[0]) == 1 && n < saFlag
	n1, name, lmsCnt, sk := saisReduce(s, sa, k, bits, cnt, bkt, named)
	sink += sk
	if n1 == 0 {
		// No LMS suffix (a non-increasing text): the last suffix
		// alone induces every other.
		clear(sa)
		sink += induceL(s, sa, cnt, bkt, k, false)
		sink += induceS(s, sa, cnt, bkt, k, false)
		return sink
	}
	s1 := sa[n-n1:]
	sa1 := sa[:n1]
	if int(name) < n1 {
		sink += sais(s1, sa1, int(name), tmp[nw:], sa[n1:n-n1])
	} else {
		for i, c := range s1 {
			sa1[c] = uint32(i)
		}
	}
	// sa1 holds the LMS suffixes sorted by their rank in s1: map them to
	// text positions, then induce the whole array from them.
	j := 0
	for i := range saLMS(bits) {
		s1[j] = uint32(i)
		j++
	}
	for i0 := 0; i0 < n1; i0 += saBlock {
		if a := i0 + saDist; a < n1 {
			// s1[1:][j-1] is s1[j].
			sink += saPrefetch(s1[1:], sa1[a:min(a+saBlock, n1)])
		}
		for i := i0; i < min(i0+saBlock, n1); i++ {
			sa1[i] = s1[sa1[i]]
		}
	}
	clear(sa[n1:])
	saBuckets(s, cnt, bkt, k, true)
	if named {
		// The symbols of the sorted LMS suffixes rise: place them
		// by the counts, without reading the text.
		i := n1 - 1
		for c := k - 1; c >= 0; c-- {
			b := bkt[c]
			for range lmsCnt[c] {
				p := sa[i]
				sa[i] = 0
				b--
				sa[b] = p
				i--
			}
		}
	} else {
		// The symbols and their buckets are at random: prefetch
		// them (s[1:][p-1] is s[p]) saDist and saDist/2 on.
		for i1 := n1; i1 > 0; i1 -= saBlock {
			i0 := max(i1-saBlock, 0)
			if a := i1 - saDist; a > 0 {
				sink += saPrefetch(s[1:], sa[max(i0-saDist, 0):a])
			}
			if a := i1 - saDist/2; a > 0 {
				sink += saPrefetchBucket(s[1:], bkt, sa[max(i0-saDist/2, 0):a])
			}
			for i := i1 - 1; i >= i0; i-- {
				p := sa[i]
				sa[i] = 0
				c := s[p]
				bkt[c]--
				sa[bkt[c]] = p
			}
		}
	}
	sink += induceL(s, sa, cnt, bkt, k, false)
	sink += induceS(s, sa, cnt, bkt, k, false)
	return sink
}

// saisReduce sorts the LMS substrings of s (type bits in bits, counts in
// cnt as for saBuckets, bkt a bucket table to use) and names them, equal
// substrings alike, in sorted order: it leaves the sorted LMS positions in
// sa[:n1] and the reduced string (the names in text order, name of them)
// in sa[len(s)-n1:]. Named (a text of bytes), the names are found as the
// induced sorts place the substrings (see saFlag), and lmsCnt counts the
// LMS suffixes of each symbol; otherwise by comparing the substrings.
func saisReduce[T byte | uint32](s []T, sa []uint32, k int, bits, cnt, bkt []uint32, named bool) (n1 int, name uint32, lmsCnt [256]uint32, sink uint32) {
	n := len(s)
	// Sort the LMS substrings: place the LMS suffixes at their bucket
	// ends and induce; the LMS suffixes come out marked, in order.
	clear(sa)
	saBuckets(s, cnt, bkt, k, true)
	for i := range saLMS(bits) {
		c := s[i]
		bkt[c]--
		sa[bkt[c]] = uint32(i)
	}
	if named {
		// The lowest LMS suffix of each bucket starts a key.
		var end [256]uint32
		saBuckets(s, cnt, end[:], k, true)
		for c, e := range end[:k] {
			if bkt[c] != e {
				sa[bkt[c]] |= saFlag
				lmsCnt[c] = e - bkt[c]
			}
		}
	}
	if named {
		sink += induceLNamed(s, sa, cnt, bkt, k)
		sink += induceSNamed(s, sa, cnt, bkt, k)
	} else {
		sink += induceL(s, sa, cnt, bkt, k, true)
		sink += induceS(s, sa, cnt, bkt, k, true)
	}

	// Gather the sorted LMS positions at the front; named, each
	// flagged if it starts a name (the one before it, below, differs
	// from the one above it).
	if named {
		next := uint32(saFlag)
		for i := 0; i < n; i++ {
			if v := sa[i]; int32(v) < 0 {
				u := ^v
				if j := u &^ saFlag; j != 0 {
					sa[n1] = j | next
					next = u & saFlag
					n1++
				}
			}
		}
	} else {
		for i := 0; i < n; i++ {
			if j := sa[i]; int32(j) < 0 && j != ^uint32(0) {
				sa[n1] = ^j
				n1++
			}
		}
	}
	if n1 == 0 {
		return 0, 0, lmsCnt, sink
	}
	// Name the LMS substrings in sorted order; equal substrings share a
	// name. sa[n1 + pos/2] keeps the name of the substring at pos (LMS
	// positions are at least 2 apart). The byte text's substrings were
	// named as they were sorted (see saFlag); the others are compared
	// (saNameLMS).
	names := sa[n1:]
	if named {
		for i0 := 0; i0 < n1; i0 += saBlock {
			if a := i0 + saDist; a < n1 {
				e := min(a+saBlock, n1)
				sink += saPrefetch16((*uint16)(unsafe.Pointer(&names[0])), &sa[a], e-a, uint32(n))
			}
			for i := i0; i < min(i0+saBlock, n1); i++ {
				v := sa[i]
				name += v >> 30
				pos := v &^ saFlag
				sa[i] = pos
				names[pos/2] = name - 1
			}
		}
	} else {
		var sk uint32
		name, sk = saNameLMS(s, sa[:n1], names, bits)
		sink += sk
	}
	// Pack the names in text order at the end of sa: the reduced string.
	// The slot written is never below the one read (as many LMS
	// positions as follow pos take twice as many bytes).
	j := n - 1
	for pos := range saLMSRev(bits) {
		sa[j] = names[pos/2]
		j--
	}
	return n1, name, lmsCnt, sink
}

// saNameLMS names the sorted LMS substrings of s at sa by comparing them,
// each in names[pos/2] for the substring at pos (see sais), and returns how
// many names there are. Before its name, a substring's slot keeps its
// length (up to the next LMS position; 0 for the last, which runs into the
// end of the text and differs from every other), so that the naming
// compares lengths and symbols only (after sais-lite).
func saNameLMS[T byte | uint32](s []T, sa, names, bits []uint32) (name, sink uint32) {
	n := len(s)
	n1 := len(sa)
	prev := -1
	for i := range saLMS(bits) {
		if prev >= 0 {
			names[prev/2] = uint32(i - prev)
		}
		prev = i
	}
	names[prev/2] = 0
	prev = -1
	prevLen := uint32(0)
	for i0 := 0; i0 < n1; i0 += saBlock {
		// lmsEqual reads the text at random positions, and the
		// length and name are in a random slot: prefetch them (one
		// position early) saDist on.
		if a := i0 + saDist; a < n1 {
			e := min(a+saBlock, n1)
			sink += saPrefetch(s, sa[a:e])
			sink += saPrefetch16((*uint16)(unsafe.Pointer(&names[0])), &sa[a], e-a, uint32(n))
		}
		for i := i0; i < min(i0+saBlock, n1); i++ {
			pos := int(sa[i])
			l := names[pos/2]
			if l == 0 || l != prevLen || !lmsEqual(s, prev, pos, int(l)) {
				name++
			}
			prev = pos
			prevLen = l
			names[pos/2] = name - 1
		}
	}
	return name, sink
}

// lmsEqual reports whether the LMS substrings at a and b, both l long
// (up to the next LMS position, which neither is the last before the end
// of the text), are equal. The symbols decide: the types follow from them
// and the type at the end (S for both).
func lmsEqual[T byte | uint32](s []T, a, b, l int) bool {
	return slices.Equal(s[a:a+l+1], s[b:b+l+1])
}
