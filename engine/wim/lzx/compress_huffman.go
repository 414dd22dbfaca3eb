package lzx

import "slices"

// huffBuilder builds length-limited canonical Huffman codes for the
// compressor. Its scratch space is reused from code to code.
type huffBuilder struct {
	keys    []uint64  // freq<<16 | symbol, sorted
	used    []uint16  // the symbols used, in increasing order
	start   []uint32  // counting sort: where each frequency's keys begin
	weight  []uint64  // huffmanLengths: the tree, in place
	pmItems [][]int32 // package-merge: per level, leaf index or -1 for a package
	pmW     [2][]uint64
}

// build computes codeword lengths (at most maxLen bits) for the symbols of
// freq and the canonical codewords for them. Symbols of zero frequency get
// length 0, except when only one symbol is used: decoders accept only
// complete (or empty) codes, so that symbol and another (0, or 1) get one
// bit each.
func (h *huffBuilder) build(freq []uint32, maxLen int, lens []uint8, codes []uint32) {
	n := len(freq)
	keys := h.sortKeys(freq)
	clear(lens[:n])
	used := h.used
	var pair [2]uint16
	switch len(keys) {
	case 0:
	case 1:
		s := int(keys[0] & 0xFFFF)
		other := 0
		if s == 0 {
			other = 1
		}
		lens[s], lens[other] = 1, 1
		pair = [2]uint16{uint16(min(s, other)), uint16(max(s, other))}
		used = pair[:]
	default:
		if !h.huffmanLengths(keys, maxLen, lens) {
			h.packageMerge(keys, maxLen, lens)
		}
	}
	clear(codes[:n])
	canonicalCodesOf(lens, codes, used, maxLen)
}

// sortKeys returns the keys freq<<16 | symbol of the symbols of freq that
// are used, in increasing order, and leaves those symbols, in order, in
// h.used. Most frequencies are small: those below a bound (twice the
// number of symbols used, at most the alphabet's size) are sorted by
// counting (symbols in increasing order within a frequency, as the key
// order wants), and only the few above by comparison. (slices.Sort of all
// of them was a tenth of the fast level's time on small files, wimlib's
// make_huffman_code sorts the same way; the bound keeps the counting to
// the symbols used, a few of the hundreds of a small block's alphabet.)
func (h *huffBuilder) sortKeys(freq []uint32) []uint64 {
	// The used symbols are gathered without a branch (each symbol is
	// written, and kept by moving on past it only if used): in the
	// sparse counts of a small block a branch on each was mispredicted
	// often.
	if cap(h.used) < len(freq) {
		h.used = make([]uint16, len(freq))
	}
	all := h.used[:len(freq)]
	k := 0
	for s, f := range freq {
		all[k] = uint16(s)
		k += int((f | -f) >> 31) // 1 if f != 0
	}
	used := all[:k]
	h.used = used
	nb := min(len(freq), 2*len(used)+2)
	if cap(h.start) < nb+1 {
		h.start = make([]uint32, nb+1)
	}
	start := h.start[:nb+1] // start[f]: keys of frequency f; start[nb]: all larger ones
	clear(start)
	for _, s := range used {
		start[min(freq[s], uint32(nb))]++
	}
	if cap(h.keys) < len(used) {
		h.keys = make([]uint64, len(used), max(len(used), len(freq)))
	}
	keys := h.keys[:len(used)]
	sum := uint32(0)
	for f, k := range start {
		start[f] = sum
		sum += k
	}
	big := start[nb]
	for _, s := range used {
		f := freq[s]
		b := min(f, uint32(nb))
		keys[start[b]] = uint64(f)<<16 | uint64(s)
		start[b]++
	}
	slices.Sort(keys[big:])
	return keys
}

// huffmanLengths sets lens for the sorted keys (two or more) to optimal
// (unlimited) Huffman code lengths and reports whether none exceeds
// maxLen.
//
// The tree is built in place in one array of the weights (Moffat and
// Katajainen's method, as wimlib's make_canonical_huffman_code): the
// two-queue construction (leaves in order, internal nodes created in
// non-decreasing weight order, a leaf taken before a node of equal weight)
// writes each internal node's weight over a consumed leaf and each
// consumed node's parent over its weight; then the nodes' depths replace
// the parents, and the leaves' depths are handed out by level, the
// lightest leaves deepest, which are the depths of the tree's own leaves
// (its leaves' depths fall as their weights grow).
func (h *huffBuilder) huffmanLengths(keys []uint64, maxLen int, lens []uint8) bool {
	m := len(keys)
	if cap(h.weight) < m {
		h.weight = make([]uint64, m)
	}
	a := h.weight[:m]
	for i, k := range keys {
		a[i] = k >> 16
	}
	// Internal node k (0..m-2) is at a[k]: its weight until it is
	// taken, then its parent's index.
	a[0] += a[1]
	root, leaf := 0, 2
	for next := 1; next < m-1; next++ {
		if leaf >= m || a[root] < a[leaf] {
			a[next] = a[root]
			a[root] = uint64(next)
			root++
		} else {
			a[next] = a[leaf]
			leaf++
		}
		if leaf >= m || (root < next && a[root] < a[leaf]) {
			a[next] += a[root]
			a[root] = uint64(next)
			root++
		} else {
			a[next] += a[leaf]
			leaf++
		}
	}
	// Depths of the internal nodes, from the root (m-2) down.
	a[m-2] = 0
	for k := m - 3; k >= 0; k-- {
		a[k] = a[a[k]] + 1
	}
	// Leaves by level: the nodes at each depth leave twice as many
	// places at the next, the places no node takes are leaves, given
	// from the heaviest leaf (m-1) down.
	avail, depth := 1, uint64(0)
	root, next := m-2, m-1
	for avail > 0 {
		used := 0
		for root >= 0 && a[root] == depth {
			used++
			root--
		}
		for ; avail > used; avail-- {
			a[next] = depth
			next--
		}
		avail = 2 * used
		depth++
	}
	if a[0] > uint64(maxLen) { // the lightest leaf is the deepest
		return false
	}
	for i, k := range keys {
		lens[k&0xFFFF] = uint8(a[i])
	}
	return true
}

// packageMerge sets lens for the sorted keys to optimal code lengths of at
// most maxLen bits (the package-merge algorithm).
func (h *huffBuilder) packageMerge(keys []uint64, maxLen int, lens []uint8) {
	m := len(keys)
	if cap(h.pmItems) < maxLen {
		h.pmItems = make([][]int32, maxLen)
	}
	items := h.pmItems[:maxLen]
	prevW := h.pmW[0][:0]
	for i := range keys {
		prevW = append(prevW, keys[i]>>16)
	}
	items[0] = items[0][:0]
	for i := 0; i < m; i++ {
		items[0] = append(items[0], int32(i))
	}
	curW := h.pmW[1][:0]
	for lvl := 1; lvl < maxLen; lvl++ {
		// Merge the leaves with the packages (pairs) of the previous list.
		np := len(prevW) / 2
		it := items[lvl][:0]
		curW = curW[:0]
		li, pi := 0, 0
		for li < m || pi < np {
			if pi >= np || (li < m && keys[li]>>16 <= prevW[2*pi]+prevW[2*pi+1]) {
				curW = append(curW, keys[li]>>16)
				it = append(it, int32(li))
				li++
			} else {
				curW = append(curW, prevW[2*pi]+prevW[2*pi+1])
				it = append(it, -1)
				pi++
			}
		}
		items[lvl] = it
		prevW, curW = curW, prevW
	}
	h.pmW[0], h.pmW[1] = prevW, curW
	for _, k := range keys {
		lens[k&0xFFFF] = 0
	}
	take := 2*m - 2
	for lvl := maxLen - 1; lvl >= 0 && take > 0; lvl-- {
		packages := 0
		for _, v := range items[lvl][:take] {
			if v < 0 {
				packages++
			} else {
				lens[keys[v]&0xFFFF]++
			}
		}
		take = 2 * packages
	}
}

// canonicalCodesOf assigns canonical codewords (shorter codes first, then
// by symbol) for lens to the symbols used (in increasing order; all others
// have length 0), leaving the codes of the others as they are.
func canonicalCodesOf(lens []uint8, codes []uint32, used []uint16, maxLen int) {
	var count [maxMainCodeLen + 2]uint32
	for _, s := range used {
		count[lens[s]]++
	}
	var next [maxMainCodeLen + 2]uint32
	code := uint32(0)
	for l := 1; l <= maxLen; l++ {
		code = (code + count[l-1]) << 1
		next[l] = code
	}
	for _, s := range used {
		l := lens[s]
		codes[s] = next[l]
		next[l]++
	}
}
