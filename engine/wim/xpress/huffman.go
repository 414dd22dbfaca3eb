package xpress

import "slices"

// huffmanBuilder makes length-limited canonical Huffman codes for the 512
// XPRESS symbols. Its buffers are reused between chunks.
type huffmanBuilder struct {
	syms   []uint16 // the symbols with a codeword, ascending
	keys   []uint64 // freq<<16 | symbol, sorted ascending
	tmp    []uint64
	weight []uint64 // node weights: leaves, then internal nodes
	parent []int32
	depth  []uint8

	// package-merge state, used only when plain Huffman exceeds maxCodeLen
	pmCur, pmNext []uint64
	pmIsLeaf      [][]bool
}

// build sets lens and codes from freqs. Every code it makes is complete:
// with a single used symbol, a second one gets a codeword too (as wimlib
// does); with none, all lengths are zero. The codes of symbols of length 0
// are left as they were: nothing reads them. The work beyond clearing lens
// grows with the number of symbols used, not with the alphabet, as most
// chunks of a folder of small files use a small part of it.
func (h *huffmanBuilder) build(freqs *[numSymbols]uint32, lens *[numSymbols]uint8, codes *[numSymbols]uint16) {
	*lens = [numSymbols]uint8{}
	h.keys = h.keys[:0]
	h.syms = h.syms[:0]
	var maxFreq uint32
	for s, f := range freqs {
		if f != 0 {
			h.keys = append(h.keys, uint64(f)<<16|uint64(s))
			h.syms = append(h.syms, uint16(s))
			maxFreq = max(maxFreq, f)
		}
	}
	n := len(h.keys)
	switch n {
	case 0:
		return
	case 1:
		s := h.syms[0]
		other := uint16(0)
		if s == 0 {
			other = 1
		}
		lens[s], lens[other] = 1, 1
		h.syms = append(h.syms, other)
		if other < s {
			h.syms[0], h.syms[1] = other, s
		}
	default:
		h.sortKeys(maxFreq)
		if !h.huffman(lens) {
			h.packageMerge(lens)
		}
	}
	h.makeCodes(lens, codes)
}

// sortKeys sorts the keys, which are in symbol order, by frequency: a
// stable radix sort on 9-bit digits of the frequency, as many passes as
// maxFreq needs (one for most small chunks, at most two).
func (h *huffmanBuilder) sortKeys(maxFreq uint32) {
	h.tmp = slices.Grow(h.tmp[:0], len(h.keys))[:len(h.keys)]
	src, dst := h.keys, h.tmp
	for shift := 16; maxFreq>>(shift-16) != 0; shift += 9 {
		var count [1 << 9]uint16 // n <= 512
		for _, k := range src {
			count[k>>shift&(1<<9-1)]++
		}
		sum := uint16(0)
		for i, c := range count {
			count[i] = sum
			sum += c
		}
		for _, k := range src {
			d := k >> shift & (1<<9 - 1)
			dst[count[d]] = k
			count[d]++
		}
		src, dst = dst, src
	}
	h.keys, h.tmp = src, dst
}

// huffman computes optimal unlimited code lengths with the two-queue
// method over the sorted leaves. It reports false, leaving lens
// unspecified, if a codeword would be longer than maxCodeLen.
func (h *huffmanBuilder) huffman(lens *[numSymbols]uint8) bool {
	n := len(h.keys)
	total := 2*n - 1
	h.weight = slices.Grow(h.weight[:0], total)[:total]
	h.parent = slices.Grow(h.parent[:0], total)[:total]
	h.depth = slices.Grow(h.depth[:0], total)[:total]
	for i, k := range h.keys {
		h.weight[i] = k >> 16
	}
	leaf, node := 0, n // next unused leaf; next unused internal node
	pick := func(next int) int {
		// The smaller of the next leaf and the next internal node; ties go
		// to the leaf, which keeps the tree shallow.
		if leaf < n && (node >= next || h.weight[leaf] <= h.weight[node]) {
			leaf++
			return leaf - 1
		}
		node++
		return node - 1
	}
	for next := n; next < total; next++ {
		a := pick(next)
		b := pick(next)
		h.weight[next] = h.weight[a] + h.weight[b]
		h.parent[a] = int32(next)
		h.parent[b] = int32(next)
	}
	// Parents come after their children, so walk down from the root.
	h.depth[total-1] = 0
	for i := total - 2; i >= 0; i-- {
		d := h.depth[h.parent[i]] + 1
		if d > maxCodeLen {
			return false
		}
		h.depth[i] = d
	}
	for i, k := range h.keys {
		lens[k&0xffff] = h.depth[i]
	}
	return true
}

// packageMerge computes optimal code lengths limited to maxCodeLen.
func (h *huffmanBuilder) packageMerge(lens *[numSymbols]uint8) {
	n := len(h.keys)
	if cap(h.pmIsLeaf) < maxCodeLen {
		h.pmIsLeaf = make([][]bool, maxCodeLen)
	}
	h.pmIsLeaf = h.pmIsLeaf[:maxCodeLen]
	// Level 0 is the leaves alone. Each further level merges the leaves
	// with packages (pairs) of the previous level's items, remembering for
	// each merged item whether it was a leaf.
	h.pmCur = h.pmCur[:0]
	for _, k := range h.keys {
		h.pmCur = append(h.pmCur, k>>16)
	}
	for lvl := 1; lvl < maxCodeLen; lvl++ {
		isLeaf := h.pmIsLeaf[lvl][:0]
		h.pmNext = h.pmNext[:0]
		np := len(h.pmCur) / 2
		li, pi := 0, 0
		for li < n || pi < np {
			if pi >= np || (li < n && h.keys[li]>>16 <= h.pmCur[2*pi]+h.pmCur[2*pi+1]) {
				h.pmNext = append(h.pmNext, h.keys[li]>>16)
				isLeaf = append(isLeaf, true)
				li++
			} else {
				h.pmNext = append(h.pmNext, h.pmCur[2*pi]+h.pmCur[2*pi+1])
				isLeaf = append(isLeaf, false)
				pi++
			}
		}
		h.pmIsLeaf[lvl] = isLeaf
		h.pmCur, h.pmNext = h.pmNext, h.pmCur
	}
	// Take the first 2n-2 items of the last level. Each level's taken
	// leaves are its smallest ones and each gains one bit of length; its
	// taken packages select twice as many items of the level below.
	var depth [numSymbols]uint8
	take := 2*n - 2
	for lvl := maxCodeLen - 1; lvl >= 1 && take > 0; lvl-- {
		packages := 0
		leaves := 0
		for _, l := range h.pmIsLeaf[lvl][:take] {
			if l {
				leaves++
			} else {
				packages++
			}
		}
		for i := 0; i < leaves; i++ {
			depth[i]++
		}
		take = 2 * packages
	}
	for i := 0; i < take; i++ {
		depth[i]++
	}
	for i, k := range h.keys {
		lens[k&0xffff] = depth[i]
	}
}

// makeCodes assigns canonical codewords to h.syms: in order of length,
// then symbol, each codeword is the previous one plus one, shifted left
// when the length grows.
func (h *huffmanBuilder) makeCodes(lens *[numSymbols]uint8, codes *[numSymbols]uint16) {
	var count [maxCodeLen + 1]uint16
	for _, s := range h.syms {
		count[lens[s]&maxCodeLen]++
	}
	var next [maxCodeLen + 1]uint16
	code := uint16(0)
	for l := 1; l <= maxCodeLen; l++ {
		code = (code + count[l-1]) << 1
		next[l] = code
	}
	for _, s := range h.syms {
		l := lens[s] & maxCodeLen
		codes[s] = next[l]
		next[l]++
	}
}
