package lzms

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
	return sais(text, sa, 256, tmp)
}

// saTypes marks the S-type suffixes of s in bits (1: S, 0: L).
func saTypes[T byte | uint32](s []T, bits []uint32) {
	n := len(s)
	clear(bits[:(n+31)/32])
	sType := false // the last suffix is L: the end sorts first
	for i := n - 2; i >= 0; i-- {
		if s[i] < s[i+1] || (s[i] == s[i+1] && sType) {
			sType = true
			bits[i>>5] |= 1 << (i & 31)
		} else {
			sType = false
		}
	}
}

func isS(bits []uint32, i int) bool { return bits[i>>5]>>(i&31)&1 != 0 }

// isLMS reports whether suffix i is leftmost S: S-type after an L-type.
func isLMS(bits []uint32, i int) bool { return i > 0 && isS(bits, i) && !isS(bits, i-1) }

// saBuckets fills bkt[:k] with each symbol's bucket start (end false) or
// end (one past its last slot).
func saBuckets[T byte | uint32](s []T, bkt []uint32, k int, end bool) {
	bkt = bkt[:k]
	clear(bkt)
	for _, c := range s {
		bkt[c]++
	}
	var sum uint32
	for i, c := range bkt {
		sum += c
		if end {
			bkt[i] = sum
		} else {
			bkt[i] = sum - c
		}
	}
}

// saAhead is how far ahead the induced sorts read the text and types.
const saAhead = 16

// induce sorts the L-type suffixes from the S-type (LMS) ones in sa, then
// the S-type from the L-type. The sum it returns keeps the loads that
// start the cache misses of the suffixes saAhead places on (see
// matchFinder.touch).
func induce[T byte | uint32](s []T, sa, bits, bkt []uint32, k int) uint32 {
	n := len(s)
	saBuckets(s, bkt, k, false)
	last := n - 1
	sa[bkt[s[last]]] = uint32(last)
	bkt[s[last]]++
	last32 := uint32(last)
	var sink uint32
	for i := 0; i < n; i++ {
		// Start the cache misses of the suffix saAhead places on.
		k := min(sa[min(i+saAhead, last)]-1, last32)
		sink += uint32(s[k])
		j := sa[i]
		if j == saEmpty || j == 0 {
			continue
		}
		// Suffix j-1 is L-type if its symbol is above j's, or the
		// same and j is L-type: the type bits are read only then.
		c, d := s[j-1], s[j]
		if c > d || (c == d && !isS(bits, int(j))) {
			sa[bkt[c]] = j - 1
			bkt[c]++
		}
	}
	saBuckets(s, bkt, k, true)
	for i := n - 1; i >= 0; i-- {
		k := min(sa[max(i-saAhead, 0)]-1, last32)
		sink += uint32(s[k])
		j := sa[i]
		if j == saEmpty || j == 0 {
			continue
		}
		c, d := s[j-1], s[j]
		if c < d || (c == d && isS(bits, int(j))) {
			bkt[c]--
			sa[bkt[c]] = j - 1
		}
	}
	return sink
}

// sais writes the suffix array of s (symbols below k) into sa, with tmp as
// scratch: the type bits first, then the bucket table, which a recursive
// call may reuse once this level is done with it.
func sais[T byte | uint32](s []T, sa []uint32, k int, tmp []uint32) (sink uint32) {
	n := len(s)
	if n == 1 {
		sa[0] = 0
		return 0
	}
	nw := (n + 31) / 32
	bits := tmp[:nw]
	bkt := tmp[nw : nw+k]
	saTypes(s, bits)

	// Sort the LMS substrings: place the LMS suffixes at their bucket
	// ends and induce.
	for i := range sa {
		sa[i] = saEmpty
	}
	saBuckets(s, bkt, k, true)
	for i := 1; i < n; i++ {
		if isLMS(bits, i) {
			c := s[i]
			bkt[c]--
			sa[bkt[c]] = uint32(i)
		}
	}
	sink += induce(s, sa, bits, bkt, k)

	// Gather the sorted LMS positions at the front.
	n1 := 0
	for i := 0; i < n; i++ {
		if j := sa[i]; j != saEmpty && isLMS(bits, int(j)) {
			sa[n1] = j
			n1++
		}
	}
	if n1 == 0 {
		// No LMS suffix (a non-increasing text): induce got every
		// suffix from the last one alone.
		return sink
	}
	// Name the LMS substrings in sorted order; equal substrings share a
	// name. sa[n1 + pos/2] keeps the name of the substring at pos (LMS
	// positions are at least 2 apart).
	names := sa[n1:]
	for i := range names {
		names[i] = saEmpty
	}
	name := uint32(0)
	prev := -1
	for i := 0; i < n1; i++ {
		pos := int(sa[i])
		if prev < 0 || !lmsEqual(s, bits, prev, pos) {
			name++
		}
		prev = pos
		names[pos/2] = name - 1
	}
	// Pack the names in text order at the end of sa: the reduced string.
	j := n - 1
	for i := len(names) - 1; i >= 0; i-- {
		if names[i] != saEmpty {
			sa[j] = names[i]
			j--
		}
	}
	s1 := sa[n-n1:]
	sa1 := sa[:n1]
	if int(name) < n1 {
		sink += sais(s1, sa1, int(name), tmp[nw:])
	} else {
		for i, c := range s1 {
			sa1[c] = uint32(i)
		}
	}
	// sa1 holds the LMS suffixes sorted by their rank in s1: map them to
	// text positions, then induce the whole array from them.
	j = 0
	for i := 1; i < n; i++ {
		if isLMS(bits, i) {
			s1[j] = uint32(i)
			j++
		}
	}
	for i := range sa1 {
		sa1[i] = s1[sa1[i]]
	}
	for i := n1; i < n; i++ {
		sa[i] = saEmpty
	}
	saBuckets(s, bkt, k, true)
	for i := n1 - 1; i >= 0; i-- {
		p := sa[i]
		sa[i] = saEmpty
		c := s[p]
		bkt[c]--
		sa[bkt[c]] = p
	}
	sink += induce(s, sa, bits, bkt, k)
	return sink
}

// lmsEqual reports whether the LMS substrings at a and b (a != b) are
// equal: the same symbols and types up to and including the next LMS
// position. One running into the end of the text differs from any other.
func lmsEqual[T byte | uint32](s []T, bits []uint32, a, b int) bool {
	n := len(s)
	for d := 0; ; d++ {
		if a+d == n || b+d == n {
			return false
		}
		if s[a+d] != s[b+d] || isS(bits, a+d) != isS(bits, b+d) {
			return false
		}
		if d > 0 && (isLMS(bits, a+d) || isLMS(bits, b+d)) {
			return true
		}
	}
}
