package lzx

import "slices"

// huffBuilder builds length-limited canonical Huffman codes for the
// compressor. Its scratch space is reused from code to code.
type huffBuilder struct {
	keys    []uint64 // freq<<16 | symbol, sorted
	used    []uint16 // the symbols used, in increasing order
	start   []uint32 // counting sort: where each frequency's keys begin
	weight  []uint64 // tree node weights (leaves then internal nodes)
	parent  []int32
	depth   []uint8
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
	used := h.used[:0]
	for s, f := range freq {
		if f != 0 {
			used = append(used, uint16(s))
		}
	}
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

// huffmanLengths sets lens for the sorted keys to optimal (unlimited)
// Huffman code lengths and reports whether none exceeds maxLen.
func (h *huffBuilder) huffmanLengths(keys []uint64, maxLen int, lens []uint8) bool {
	m := len(keys)
	total := 2*m - 1
	if cap(h.weight) < total {
		h.weight = make([]uint64, total)
		h.parent = make([]int32, total)
		h.depth = make([]uint8, total)
	}
	w := h.weight[:total]
	par := h.parent[:total]
	dep := h.depth[:total]
	for i, k := range keys {
		w[i] = k >> 16
	}
	// Two-queue construction: leaves in order, internal nodes are created
	// in non-decreasing weight order.
	leaf, inner := 0, m
	for next := m; next < total; next++ {
		var pick [2]int
		for j := 0; j < 2; j++ {
			if leaf < m && (inner >= next || w[leaf] <= w[inner]) {
				pick[j] = leaf
				leaf++
			} else {
				pick[j] = inner
				inner++
			}
		}
		w[next] = w[pick[0]] + w[pick[1]]
		par[pick[0]] = int32(next)
		par[pick[1]] = int32(next)
	}
	dep[total-1] = 0
	ok := true
	for i := total - 2; i >= 0; i-- {
		d := dep[par[i]] + 1
		dep[i] = d
		if i < m && int(d) > maxLen {
			ok = false
		}
	}
	if !ok {
		return false
	}
	for i, k := range keys {
		lens[k&0xFFFF] = dep[i]
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
