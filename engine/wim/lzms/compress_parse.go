package lzms

// The minimum-cost parse. The chunk is parsed in windows of encWindow
// positions: every position of a window gets its matches (hash chains,
// delta finder, and the repeat sources of the cheapest way to reach it),
// and a forward search finds the cheapest path of literals and matches
// through the window, with costs frozen from the models' state at the
// window's start. Each node keeps the recent-source queues of the cheapest
// path to it, so repeat matches are found and priced as the decoder will
// see them. The path is then coded, which moves the models on for the next
// window. A match of encNiceLen bytes or more ends the window early: the
// path to its start is coded, then the match.
//
// Chunks of lcpitMinChunk bytes and more take their matches from the
// LCP-interval tree (compress_lcpit.go) instead of the binary trees.
//
// Windows of 2048 positions, wimlib's: costs frozen over half the span of
// 4096 follow the models more closely (output 0.17 % smaller on the solid
// ratio test's 8 MiB chunk; 1024 and 3072 both lose to 2048; 0.05 %
// smaller on the 128 KiB chunks of TestCompressRatioVsLibwim, once the
// delta gate stopped deciding per window).

import (
	"encoding/binary"
	"math/bits"
)

const (
	encWindow = 2048
	infCost   = ^uint32(0)
)

// parseState is what the parse tracks along a path: the recent-source
// queues (laid out as the decoder keeps them) and the kind of the last item.
type parseState struct {
	lz    [numRepSlots]uint32
	delta [numRepSlots]deltaPair
	prev  int8
}

// lzBase and deltaBase are the queue index of the first visible source.
func (s *parseState) lzBase() int {
	if s.prev == itemLZ {
		return 1
	}
	return 0
}

func (s *parseState) deltaBase() int {
	if s.prev == itemDelta {
		return 1
	}
	return 0
}

// useLZ updates s for an LZ match with offset off: explicit (rep < 0) or
// visible source rep.
func (s *parseState) useLZ(off uint32, rep int) {
	q := &s.lz
	if rep < 0 {
		q[3], q[2], q[1] = q[2], q[1], q[0]
	} else {
		for i := rep + s.lzBase(); i > 0; i-- {
			q[i] = q[i-1]
		}
	}
	q[0] = off
	s.prev = itemLZ
}

func (s *parseState) useDelta(p deltaPair, rep int) {
	q := &s.delta
	if rep < 0 {
		q[3], q[2], q[1] = q[2], q[1], q[0]
	} else {
		for i := rep + s.deltaBase(); i > 0; i-- {
			q[i] = q[i-1]
		}
	}
	q[0] = p
	s.prev = itemDelta
}

// optNode is a position of the window: the cheapest cost to reach it and
// the item that does (length 0: none yet; 1 with kind literal: a literal;
// rep: the visible recent source a match repeats, or -1 for an explicit
// source). The state after the item is kept apart (Compressor.states) and
// only filled in when the parse reaches the node, whose cheapest path is
// then known: the relaxations, which far outnumber the positions, write
// the item alone, and 16-byte nodes put four to a cache line where a
// match's lengths relax one node after another.
type optNode struct {
	cost   uint32
	length uint32
	off    uint32 // LZ offset or delta raw offset
	power  uint8
	kind   int8
	rep    int8
}

// parseItem is an item of the chosen path.
type parseItem struct {
	length, off, power uint32
	kind               int
}

// windowCosts are the costs of a window, frozen at its start.
type windowCosts struct {
	lit                       [numLiteralSyms]uint32
	lzExplicit, deltaExplicit uint32
	lzRep, deltaRep           [numLZReps]uint32
	length                    [encNiceLen + 1]uint32
}

func (c *Compressor) windowCosts(w *windowCosts) {
	main := &c.main[c.mainState&(numMainProbs-1)]
	lit0 := main.cost0()
	for b := range w.lit {
		w.lit[b] = uint32(c.literal.lens[b])<<costShift + lit0
	}
	matchE := &c.match[c.matchState&(numMatchProbs-1)]
	lzE := &c.lz[c.lzState&(numOtherProbs-1)]
	dE := &c.delta[c.deltaState&(numOtherProbs-1)]
	lzHead := main.cost1() + matchE.cost0()
	dHead := main.cost1() + matchE.cost1()
	w.lzExplicit = lzHead + lzE.cost0()
	w.deltaExplicit = dHead + dE.cost0()
	r0 := &c.lzRep[0][c.lzRepState[0]&(numOtherProbs-1)]
	r1 := &c.lzRep[1][c.lzRepState[1]&(numOtherProbs-1)]
	w.lzRep = [numLZReps]uint32{r0.cost0(), r0.cost1() + r1.cost0(), r0.cost1() + r1.cost1()}
	d0 := &c.deltaRep[0][c.deltaRepState[0]&(numOtherProbs-1)]
	d1 := &c.deltaRep[1][c.deltaRepState[1]&(numOtherProbs-1)]
	w.deltaRep = [numLZReps]uint32{d0.cost0(), d0.cost1() + d1.cost0(), d0.cost1() + d1.cost1()}
	for r := range numLZReps {
		w.lzRep[r] += lzHead + lzE.cost1()
		w.deltaRep[r] += dHead + dE.cost1()
	}
	for l := 1; l <= encNiceLen; l++ {
		w.length[l] = c.lengthCost(uint32(l))
	}
}

// The parse prices every explicit match's offset by its slot. Slots come
// in runs of equal width (offsetSlotRuns), and the offsets of one bit
// length meet at most three runs, so a slot is a run found from the bit
// length and at most two steps, then a shift: no binary search over 799
// bases (4 % of a solid chunk's CPU went to it) and no 128 KiB table
// (c.offSlots) to miss in the cache.
type offsetRun struct {
	start, end uint32 // the run's offsets: start <= off < end
	slot       uint16 // the run's first slot
	bits       uint8  // its slots' extra bits
}

var offsetRuns, offsetRunAt = offsetRunTables()

// offsetRunTables returns the runs of offset slots and, for each bit
// length L of an offset, the first run holding offsets of that length.
func offsetRunTables() ([]offsetRun, [33]uint8) {
	runs := make([]offsetRun, len(offsetSlotRuns))
	start, slot := uint32(1), uint16(0)
	for i, r := range offsetSlotRuns {
		end := start + uint32(r.count)<<r.bits
		runs[i] = offsetRun{start, end, slot, r.bits}
		start, slot = end, slot+uint16(r.count)
	}
	var at [33]uint8
	for l := 1; l <= 32; l++ {
		low := uint64(1) << (l - 1)
		r := 0
		for r < len(runs)-1 && uint64(runs[r].end) <= low {
			r++
		}
		at[l] = uint8(r)
	}
	return runs, at
}

// offsetSlotOf returns the slot of an offset (1 <= off < 1<<30).
func offsetSlotOf(off uint32) int {
	r := int(offsetRunAt[bits.Len32(off)])
	for off >= offsetRuns[r].end {
		r++
	}
	run := &offsetRuns[r]
	return int(run.slot) + int((off-run.start)>>run.bits)
}

// relaxRun offers nodes[lo..hi] the path through nodes[0] with an item of
// that length and the given source (rep as in optNode), costing head plus
// the length's cost.
func relaxRun(nodes []optNode, lo, hi int, head uint32, length *[encNiceLen + 1]uint32, off, power uint32, kind, rep int8) {
	if hi > encNiceLen {
		hi = encNiceLen // longer matches end the window before this
	}
	if hi >= len(nodes) || lo < 0 {
		return
	}
	for k := lo; k <= hi; k++ {
		cost := head + length[k]
		nd := &nodes[k]
		if cost < nd.cost {
			*nd = optNode{cost, uint32(k), off, uint8(power), kind, rep}
		}
	}
}

// arrive fills in states[i] (i > 0), the state after nodes[i]'s cheapest
// item, which is final: the state of the node the item starts from, moved
// on by the item.
func arrive(nodes []optNode, states []parseState, i int) {
	nd := &nodes[i]
	st := &states[i]
	*st = states[i-int(nd.length)]
	switch nd.kind {
	case itemLiteral:
		st.prev = itemLiteral
	case itemLZ:
		st.useLZ(nd.off, int(nd.rep))
	default:
		st.useDelta(deltaPair{uint32(nd.power), nd.off}, int(nd.rep))
	}
}

// parseWindow parses and codes the window starting at pos and returns where
// the next one starts.
func (c *Compressor) parseWindow(data []byte, pos int) int {
	n := len(data)
	end := min(encWindow, n-pos)
	w := &c.costs
	c.windowCosts(w)
	nodes := c.nodes[:end+1]
	states := c.states[:end+1]
	nodes[0] = optNode{}
	states[0] = parseState{c.recentLZ, c.recentDelta, int8(c.prev)}
	for k := 1; k <= end; k++ {
		nodes[k].cost = infCost
	}

	for i := 0; i < end; i++ {
		p := pos + i
		maxLen := n - p
		var ms []lzMatch
		if c.useLCP {
			// The delta finder's keys of the position deltaAhead
			// on, whose table entries the walk then prefetches.
			var df *deltaFinder
			if p+deltaAhead < n && c.deltaOn {
				c.df.keysAt(c.buf, p+deltaAhead)
				df = &c.df
			}
			ms = c.lcp.findAhead(c.buf, p, maxLen, c.matches[:0], df)
		} else {
			if p+1 < n {
				// Start the next position's root table reads
				// now: their cache misses then overlap this
				// position's work. (Touching the delta finder's
				// table too, as the interval tree's path does,
				// cost 12 % more CPU on 128 KiB chunks of a
				// Windows tree than it saved.)
				c.sink += c.mf.touch(c.buf, p+1)
			}
			ms = c.mf.find(c.buf, p, maxLen, min(encNiceLen, maxLen), encSearchDepth, c.matches[:0])
		}
		c.matches = ms
		var dmask uint32 // the powers with an explicit delta match
		if c.deltaOn {
			dmask = c.df.insert(data, p, &c.dfound)
		}
		c.ins++
		if i > 0 {
			arrive(nodes, states, i)
		}
		base := nodes[i].cost
		st := &states[i]

		// A long match ends the window.
		var long parseItem
		if k := len(ms); k > 0 && ms[k-1].length >= encNiceLen {
			long = parseItem{ms[k-1].length, ms[k-1].offset, 0, itemLZ}
		}
		// Repeat LZ matches.
		lb := st.lzBase()
		var repLen [numLZReps]int
		for r := range numLZReps {
			off := st.lz[lb+r]
			if int(off) > p || maxLen < 2 {
				continue
			}
			// Matches under 2 bytes are not used: most sources
			// fail on the first two bytes, one 16-bit load each,
			// without a call.
			src := p - int(off)
			if binary.LittleEndian.Uint16(data[src:]) != binary.LittleEndian.Uint16(data[p:]) {
				continue
			}
			l := matchLen(data, src, p, maxLen)
			repLen[r] = l
			if l >= encNiceLen && uint32(l) > long.length {
				long = parseItem{uint32(l), off, 0, itemLZ}
			}
		}
		// Repeat delta matches.
		db := st.deltaBase()
		var dRepLen [numLZReps]int
		for r := range numLZReps {
			dp := st.delta[db+r]
			span, off := 1<<dp.power, int(dp.raw)<<dp.power
			if off+span > p || maxLen < 2 {
				continue
			}
			if data[p]-data[p-span] != data[p-off]-data[p-off-span] ||
				data[p+1]-data[p+1-span] != data[p+1-off]-data[p+1-off-span] {
				continue // as deltaLen would find under 2 bytes
			}
			l := deltaLen(data, p, off, span, maxLen)
			dRepLen[r] = l
			if l >= encNiceLen && uint32(l) > long.length {
				long = parseItem{uint32(l), dp.raw, dp.power, itemDelta}
			}
		}
		var bestD uint32 // the longest explicit delta match
		for m := dmask; m != 0; m &= m - 1 {
			power := bits.TrailingZeros32(m)
			f := c.dfound[power]
			bestD = max(bestD, f.length)
			if f.length >= encNiceLen && f.length > long.length {
				long = parseItem{f.length, f.raw, uint32(power), itemDelta}
			}
		}
		if bestD > 0 && !c.useLCP {
			// The delta finder pays where it finds clearly
			// longer matches than the LZ ones (see gateDelta,
			// which only runs on the binary trees' chunks).
			bestLZ := max(repLen[0], repLen[1], repLen[2])
			if k := len(ms); k > 0 {
				bestLZ = max(bestLZ, int(ms[k-1].length))
			}
			if int(bestD) >= bestLZ+deltaGainMin {
				c.deltaGain++
			}
		}
		if long.length != 0 {
			c.codePath(data, pos, i)
			c.codeItem(long)
			// The positions inside the match stay out of the trees,
			// which remain valid without them: later positions find
			// this data at the match's source instead.
			stop := p + int(long.length)
			if c.useLCP {
				// The interval tree's walk takes every
				// position in turn.
				c.lcp.skip(stop)
			}
			for ; c.deltaOn && c.ins < stop; c.ins++ {
				c.df.insert(data, c.ins, nil)
			}
			c.ins = stop
			return stop
		}

		// Literal.
		if cost := base + w.lit[data[p]]; cost < nodes[i+1].cost {
			nx := &nodes[i+1]
			nx.cost, nx.length, nx.kind = cost, 1, itemLiteral
		}
		room := end - i
		next := nodes[i:]
		for r, l := range repLen {
			if l < 2 {
				continue
			}
			relaxRun(next, 2, min(l, room), base+w.lzRep[r], &w.length, st.lz[lb+r], 0, itemLZ, int8(r))
		}
		prevLen := 2
		for _, m := range ms {
			if m.offset == st.lz[lb] || m.offset == st.lz[lb+1] || m.offset == st.lz[lb+2] {
				prevLen = int(m.length)
				continue // the repeat match is cheaper
			}
			if hi := min(int(m.length), room); hi > prevLen {
				relaxRun(next, prevLen+1, hi, base+w.lzExplicit+c.offsetCost(m.offset), &w.length, m.offset, 0, itemLZ, -1)
			}
			prevLen = int(m.length)
		}
		for r, l := range dRepLen {
			if l < 2 {
				continue
			}
			dp := st.delta[db+r]
			relaxRun(next, 2, min(l, room), base+w.deltaRep[r], &w.length, dp.raw, dp.power, itemDelta, int8(r))
		}
		for m := dmask; m != 0; m &= m - 1 {
			power := bits.TrailingZeros32(m)
			f := c.dfound[power]
			s := offsetSlotOf(f.raw)
			dc := base + w.deltaExplicit + (uint32(c.deltaPower.lens[power])+uint32(c.deltaOffset.lens[s])+uint32(offsetExtra[s]))<<costShift
			relaxRun(next, deltaMinLen, min(int(f.length), room), dc, &w.length, f.raw, uint32(power), itemDelta, -1)
		}
	}
	c.codePath(data, pos, end)
	return pos + end
}

// codePath codes the cheapest path from the window's start (pos) to node
// i.
func (c *Compressor) codePath(data []byte, pos, i int) {
	items := c.items[:0]
	for i > 0 {
		nd := &c.nodes[i]
		items = append(items, parseItem{nd.length, nd.off, uint32(nd.power), int(nd.kind)})
		i -= int(nd.length)
	}
	c.items = items
	p := pos
	for k := len(items) - 1; k >= 0; k-- {
		it := items[k]
		if it.kind == itemLiteral {
			c.putLiteral(data[p])
		} else {
			c.codeItem(it)
		}
		p += int(it.length)
	}
}

// codeItem codes a match, as a repeat match when its source is visible in
// the recent-source queue, else with an explicit source.
func (c *Compressor) codeItem(it parseItem) {
	if it.kind == itemLZ {
		q, b := &c.recentLZ, 0
		if c.prev == itemLZ {
			b = 1
		}
		rep := -1
		for r := range numLZReps {
			if q[b+r] == it.off {
				rep = r
				break
			}
		}
		c.putLZ(it.length, it.off, rep)
		return
	}
	q, b := &c.recentDelta, 0
	if c.prev == itemDelta {
		b = 1
	}
	rep := -1
	for r := range numLZReps {
		if q[b+r] == (deltaPair{it.power, it.off}) {
			rep = r
			break
		}
	}
	c.putDelta(it.length, it.power, it.off, rep)
}
