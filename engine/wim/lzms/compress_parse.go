package lzms

// The minimum-cost parse. The chunk is parsed in windows of encWindow
// positions: every position of a window gets its matches (hash chains,
// delta finder, and the repeat sources of the cheapest way to reach it),
// and a forward search finds the cheapest path of literals and matches
// through the window, with the probabilities and codes frozen at the
// window's start. Each node keeps the recent-source queues and the
// decision contexts of the cheapest path to it, so repeat matches are found
// and every item is priced as the decoder will see them. The path is then coded, which moves the models on for the next
// window. A match of encNiceLen bytes or more ends the window early: the
// path to its start is coded, then the match. In the binary trees'
// chunks, so does a position that every path goes through (no item
// offered so far reaches past it): the path to it is then final and is
// coded at once.
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
// queues (laid out as the decoder keeps them), the kind of the last item
// and the decision contexts (the models' states, masked: which entry of
// each probability table codes the next decision of its kind).
//
// The contexts are the path's own, not the window start's: a literal's or
// a match's price depends on the kinds of the last items, and priced with
// the window start's contexts the parse misjudged runs of short matches
// and literals (tree A's gettext catalogs).
type parseState struct {
	lz    [numRepSlots]uint32
	delta [numRepSlots]deltaPair
	prev  int8
	decisionStates
}

// decisionStates are a path's decision contexts, apart from its queues so
// that a step priced ahead of the path (relaxAt's match + literal + rep0)
// moves a copy of eight bytes on by the same transitions as arrive does.
type decisionStates struct {
	mainS, matchS     uint8
	lzS, deltaS       uint8
	lzRepS, deltaRepS [numLZReps - 1]uint8
}

// literal moves the contexts on for a literal.
func (d *decisionStates) literal() {
	d.mainS = d.mainS << 1 & (numMainProbs - 1)
}

// lzKind and deltaKind move on the contexts of the decisions that pick an
// LZ or a delta match, repeat or explicit (a repeat match's source moves
// the repeat contexts too: see useRepeat). Small enough to be inlined, in
// useLZ and useDelta and in relaxAt, which moves a copy on.
func (d *decisionStates) lzKind(repeat bool) {
	var r uint8
	if repeat {
		r = 1
	}
	d.mainS = (d.mainS<<1 | 1) & (numMainProbs - 1)
	d.matchS = d.matchS << 1 & (numMatchProbs - 1)
	d.lzS = (d.lzS<<1 | r) & (numOtherProbs - 1)
}

func (d *decisionStates) deltaKind(repeat bool) {
	var r uint8
	if repeat {
		r = 1
	}
	d.mainS = (d.mainS<<1 | 1) & (numMainProbs - 1)
	d.matchS = (d.matchS<<1 | 1) & (numMatchProbs - 1)
	d.deltaS = (d.deltaS<<1 | r) & (numOtherProbs - 1)
}

// useLiteral updates s for a literal.
func (s *parseState) useLiteral() {
	s.prev = itemLiteral
	s.decisionStates.literal()
}

// useRepeat moves the repeat decision contexts states on for a repeat
// source rep, as putRepeat does.
func useRepeat(states *[numLZReps - 1]uint8, rep int) {
	for i := range rep {
		states[i] = (states[i]<<1 | 1) & (numOtherProbs - 1)
	}
	if rep < numLZReps-1 {
		states[rep] = states[rep] << 1 & (numOtherProbs - 1)
	}
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
	s.lzKind(rep >= 0)
	if rep < 0 {
		q[3], q[2], q[1] = q[2], q[1], q[0]
	} else {
		for i := rep + s.lzBase(); i > 0; i-- {
			q[i] = q[i-1]
		}
		useRepeat(&s.lzRepS, rep)
	}
	q[0] = off
	s.prev = itemLZ
}

func (s *parseState) useDelta(p deltaPair, rep int) {
	q := &s.delta
	s.deltaKind(rep >= 0)
	if rep < 0 {
		q[3], q[2], q[1] = q[2], q[1], q[0]
	} else {
		for i := rep + s.deltaBase(); i > 0; i-- {
			q[i] = q[i-1]
		}
		useRepeat(&s.deltaRepS, rep)
	}
	q[0] = p
	s.prev = itemDelta
}

// optNode is a position of the window: the cheapest cost to reach it and
// the item that does (from: the window position it starts at, so its
// length is the node's position less from; src: its kind and source, see
// nodeSrc). The state after the item is kept apart (Compressor.states)
// and only filled in when the parse reaches the node, whose cheapest path
// is then known: the relaxations, which far outnumber the positions, write
// the item alone, and 16-byte nodes put four to a cache line where a
// match's lengths relax one node after another.
//
// Three fields, the source packed in one word: the compiler keeps a
// struct of up to four fields in registers, so a relaxation stores the
// three words straight into the node; with the source's five fields it
// built each node on the stack and copied it over (the relax loops were a
// third of parseWindow's samples). The item's start, not its length, as
// that is the same for every node a match relaxes: the loop then stores
// no value that changes from one node to the next but the cost.
type optNode struct {
	cost uint32
	from uint32
	src  nodeSrc
}

// nodeSrc is a node's item source, packed: the LZ offset or delta raw
// offset in bits 0-31, the delta power in bits 32-39, the item kind in
// bits 40-47, the repeat source in bits 48-55 (0xFF: -1, an explicit
// source) and, for itemLZLitRep, the first match's length in bits 56-63.
type nodeSrc uint64

// itemLZLitRep is a node's three items in one, as the parse offers them
// (see relaxAt): an explicit LZ match of offset off and length lzLen(),
// a literal, then a repeat match of the same offset (now rep0) up to the
// node. Records that differ from an earlier one by a byte here and there
// (gettext catalogs, tables) parse as such runs, but the parse keeps one
// path per node: the cheapest path to the literal's end seldom comes from
// the match, so its rep0 was not the match's offset and the run was never
// found (tree A's .mo chunks were 2-3.5 % larger than wimlib's, which
// offers this sequence too).
const itemLZLitRep = itemDelta + 1

func (s nodeSrc) lzLen() uint32 { return uint32(s >> 56) }

func makeSrc(off, power uint32, kind, rep int8) nodeSrc {
	return nodeSrc(off) | nodeSrc(uint8(power))<<32 | nodeSrc(uint8(kind))<<40 | nodeSrc(uint8(rep))<<48
}

func (s nodeSrc) off() uint32   { return uint32(s) }
func (s nodeSrc) power() uint32 { return uint32(uint8(s >> 32)) }
func (s nodeSrc) kind() int8    { return int8(s >> 40) }
func (s nodeSrc) rep() int8     { return int8(s >> 48) }

// literalSrc is a literal's source.
var literalSrc = makeSrc(0, 0, itemLiteral, 0)

// parseItem is an item of the chosen path.
type parseItem struct {
	length, off, power uint32
	kind               int
}

// windowCosts are the costs of a window, frozen at its start: the
// probabilities and codes do not move within it (nothing is coded while
// it is parsed), but the decision contexts do, along each path (see
// parseState), so a decision's cost is read from its probability entry
// when it is priced (relaxAt): computing the costs of every context at
// each window's start was most of the work where long matches end the
// windows after a few positions.
type windowCosts struct {
	length [encNiceLen + 1]uint32
	lenGen uint32 // the length code's build that length was priced from
}

// windowCosts brings the length prices up to date with the length code.
// Literals are priced from the literal code's own table: windows end
// wherever every path meets (see parseWindow), a few bytes apart in runs
// of literals, and copying the literal prices there at each window's
// start cost more than the parse. The length table is only refreshed
// when the code has been rebuilt since it was filled.
func (c *Compressor) windowCosts(w *windowCosts) {
	if w.lenGen == c.length.gen {
		return
	}
	w.lenGen = c.length.gen
	for l := 1; l <= encNiceLen; l++ {
		w.length[l] = c.lengthCost(uint32(l))
	}
}

// repeatCost is the price of the decisions that pick visible source rep
// (0..numLZReps-1) of a repeat match, in the repeat contexts states of
// the path, whose probability entries are probs.
func repeatCost(probs *[numLZReps - 1][numOtherProbs]probEntry, states *[numLZReps - 1]uint8, rep int) uint32 {
	r0 := &probs[0][states[0]&(numOtherProbs-1)]
	if rep == 0 {
		return r0.cost0()
	}
	r1 := &probs[1][states[1]&(numOtherProbs-1)]
	if rep == 1 {
		return r0.cost1() + r1.cost0()
	}
	return r0.cost1() + r1.cost1()
}

// The parse prices every explicit match's offset by its slot. Slots come
// in runs of equal width (offsetSlotRuns), and the offsets of one bit
// length meet at most three runs, so a slot is a run found from the bit
// length and two comparisons, then a shift: no binary search over 799
// bases (4 % of a solid chunk's CPU went to it) and no 128 KiB table
// (c.offSlots) to miss in the cache. The comparisons are done in
// arithmetic, not branches: which run an offset falls in is as good as
// random to the branch predictor, and the loop over the runs this
// replaces spent most of its samples after its mispredicted exits.
type offsetRun struct {
	start uint32 // the run's first offset
	slot  uint16 // the run's first slot
	bits  uint8  // its slots' extra bits
}

// offsetLenRuns are the runs that hold the offsets of one bit length:
// first, first+1 from end0 on, first+2 from end1 on.
type offsetLenRuns struct {
	end0, end1 uint32
	first      uint8
}

var offsetRuns, offsetLens = offsetRunTables()

// offsetRunTables returns the runs of offset slots (32 entries, so that a
// run number masked to 5 bits needs no bounds check) and, for each bit
// length L of an offset (index 0..32; 0 and the lengths of offsets of 1<<30
// and more are never looked up), the runs holding offsets of that length.
func offsetRunTables() (runs [32]offsetRun, lens [33]offsetLenRuns) {
	var ends [32]uint64
	start, slot := uint32(1), uint16(0)
	for i, r := range offsetSlotRuns {
		runs[i] = offsetRun{start, slot, r.bits}
		end := uint64(start) + uint64(r.count)<<r.bits
		ends[i] = end
		start, slot = uint32(min(end, 1<<32-1)), slot+uint16(r.count)
	}
	// The last run's end is past 1<<30, so the runs found are real
	// ones (ends past the last run read 0 but are never reached).
	for l := 1; l <= 30; l++ {
		low, high := uint64(1)<<(l-1), uint64(1)<<l // offsets low <= off < high
		r := 0
		for ends[r] <= low {
			r++
		}
		lr := offsetLenRuns{end0: 1<<32 - 1, end1: 1<<32 - 1, first: uint8(r)}
		if ends[r] < high {
			lr.end0 = uint32(ends[r])
			if ends[r+1] < high {
				lr.end1 = uint32(ends[r+1])
				if ends[r+2] < high {
					panic("lzms: offsets of one bit length in more than three slot runs")
				}
			}
		}
		lens[l] = lr
	}
	return runs, lens
}

// offsetSlotOf returns the slot of an offset (1 <= off < 1<<30).
func offsetSlotOf(off uint32) int {
	lr := &offsetLens[bits.Len32(off)]
	// off-end wraps to a number with bit 63 set where off < end.
	o := uint64(off)
	r := uint64(lr.first) + 2 - (o-uint64(lr.end0))>>63 - (o-uint64(lr.end1))>>63
	run := &offsetRuns[r&31]
	return int(run.slot) + int((off-run.start)>>run.bits)
}

// relaxRun offers the nodes ns the path through node from with an item of
// source src reaching each of them, costing head plus the item length's
// cost in ls (len(ls) <= len(ns)).
//
// Its callers slice and bound the runs: the loop over subslices of equal
// length has no bounds checks, few enough values live for the compiler
// to keep them in registers (a counter running lo..hi in the parse's own
// loop went to the stack), and is small enough to be inlined.
func relaxRun(ns []optNode, ls []uint32, from, head uint32, src nodeSrc) {
	ns = ns[:len(ls)]
	for j, l := range ls {
		if cost := head + l; cost < ns[j].cost {
			ns[j] = optNode{cost, from, src}
		}
	}
}

// arrive fills in states[i] (i > 0), the state after nodes[i]'s cheapest
// item, which is final: the state of the node the item starts from, moved
// on by the item.
func arrive(nodes []optNode, states []parseState, i int) {
	nd := &nodes[i]
	st := &states[i]
	*st = states[nd.from]
	switch src := nd.src; src.kind() {
	case itemLiteral:
		st.useLiteral()
	case itemLZ:
		st.useLZ(src.off(), int(src.rep()))
	case itemLZLitRep:
		st.useLZ(src.off(), -1)
		st.useLiteral()
		st.useLZ(src.off(), 0)
	default:
		st.useDelta(deltaPair{src.power(), src.off()}, int(src.rep()))
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
	states[0] = parseState{lz: c.recentLZ, delta: c.recentDelta, prev: int8(c.prev), decisionStates: decisionStates{
		mainS: uint8(c.mainState & (numMainProbs - 1)), matchS: uint8(c.matchState & (numMatchProbs - 1)),
		lzS: uint8(c.lzState & (numOtherProbs - 1)), deltaS: uint8(c.deltaState & (numOtherProbs - 1)),
		lzRepS:    [numLZReps - 1]uint8{uint8(c.lzRepState[0] & (numOtherProbs - 1)), uint8(c.lzRepState[1] & (numOtherProbs - 1))},
		deltaRepS: [numLZReps - 1]uint8{uint8(c.deltaRepState[0] & (numOtherProbs - 1)), uint8(c.deltaRepState[1] & (numOtherProbs - 1))}}}
	// Nodes past the window's start are infCost between windows: each
	// window puts back the ones it reached (reach: the farthest node an
	// item was offered to), so that a short window costs no more than
	// its length.
	reach := 0
	defer func() { resetNodes(nodes[1 : reach+1]) }()

	for i := 0; i < end; i++ {
		p := pos + i
		maxLen := n - p
		if i > 0 {
			if reach == i && !c.useLCP {
				// Every path goes through node i: its cheapest
				// path is final, and coding it now moves the
				// probabilities and codes on for what follows,
				// as wimlib does. Windows that always ran to
				// their full length priced long runs of
				// literals and short matches with stale codes:
				// tree A's gettext catalogs in 128 KiB chunks
				// came out 1.5 % larger than wimlib's. Not yet
				// in the interval tree's (solid) chunks: there
				// it made tree A's 64 MiB chunks 0 and 1 only
				// 0.09 % and 0.06 % smaller, for a CPU cost not
				// yet measured in interleaved runs.
				c.codePath(data, pos, i)
				return pos + i
			}
			arrive(nodes, states, i)
		}
		base := nodes[i].cost
		st := &states[i]

		// The repeat matches come before the finders: their sources,
		// often far back, are read first, and the finders' work then
		// overlaps the cache misses. The longest of encNiceLen bytes
		// or more of each kind (lzLong, dLong) are weighed with the
		// finders' below in the order the parse always took: explicit
		// LZ, repeat LZ, repeat delta, explicit delta, the first of the
		// longest winning.
		var lzLong, dLong parseItem
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
			if l >= encNiceLen && uint32(l) > lzLong.length {
				lzLong = parseItem{uint32(l), off, 0, itemLZ}
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
			if l >= encNiceLen && uint32(l) > dLong.length {
				dLong = parseItem{uint32(l), dp.raw, dp.power, itemDelta}
			}
		}
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
			// relaxAt reads each match's source past its end
			// (the match + literal + rep0 check), which the walk
			// never read: start those misses now.
			prefetchTails(&data[p], ms)
		} else {
			if p+1 < n {
				// Start the next position's root table misses
				// now, and the delta finder's deltaAhead
				// positions on: they then overlap this
				// position's work.
				var df *deltaFinder
				if p+deltaAhead < n && c.deltaOn {
					c.df.keysAt(c.buf, p+deltaAhead)
					df = &c.df
				}
				c.sink += c.mf.ahead(c.buf, p+1, df, p+deltaAhead)
			}
			ms = c.mf.find(c.buf, p, maxLen, min(encNiceLen, maxLen), encSearchDepth, c.matches[:0])
		}
		c.matches = ms
		var dmask uint32 // the powers with an explicit delta match
		if c.deltaOn {
			dmask = c.df.insert(data, p, &c.dfound)
		}
		c.ins++
		// A long match ends the window.
		var long parseItem
		if k := len(ms); k > 0 && ms[k-1].length >= encNiceLen {
			long = parseItem{ms[k-1].length, ms[k-1].offset, 0, itemLZ}
		}
		if lzLong.length > long.length {
			long = lzLong
		}
		if dLong.length > long.length {
			long = dLong
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
				// As in the parse, the keys of the position
				// deltaAhead on, and their table entries'
				// misses started now: a position inside a
				// long match has no walk to hide them behind,
				// and their loads in insert stalled it (36 % of
				// insert's samples on tree A's first 64 MiB
				// chunk). Tree A's solid stream in 16 MiB
				// chunks, old and new alternated in one
				// process, 8 pairs on a loaded host, median
				// CPU ratio: chunk 9 (Go sources, gz) 0.95,
				// chunk 0 (binaries) 1.00; output unchanged.
				if a := c.ins + deltaAhead; a < n {
					c.sink += c.df.ahead(c.buf, a)
				}
				c.df.insert(data, c.ins, nil)
			}
			c.ins = stop
			return stop
		}

		reach = max(reach, i+c.relaxAt(data, p, nodes[i:], i, end-i, base, st, ms, &repLen, &dRepLen, dmask))
	}
	c.codePath(data, pos, end)
	return pos + end
}

// resetNodes sets the cost of nodes to infCost.
func resetNodes(nodes []optNode) {
	for k := range nodes {
		nodes[k].cost = infCost
	}
}

// relaxAt offers the nodes after window position i (data position p;
// next: the window's nodes from i on; room: how many follow it) every item
// that starts at i: the literal (cost base+lit), the repeat matches of the
// lengths found (repLen, dRepLen), the explicit LZ matches ms, each also
// followed by a literal and a repeat of its offset where the data goes on
// matching after one byte (itemLZLitRep), and the explicit delta matches
// of c.dfound (the powers of dmask), and returns how far past i the
// farthest item offered reaches. It is a function of its own,
// not part of parseWindow's loop: there the loop's state (the finders'
// and the window's) took the registers, and the relax loops kept their
// counters and bounds on the stack.
func (c *Compressor) relaxAt(data []byte, p int, next []optNode, i, room int, base uint32, st *parseState, ms []lzMatch, repLen, dRepLen *[numLZReps]int, dmask uint32) (far int) {
	w := &c.costs
	lit := &c.literal.cost
	far = 1
	// The items' decisions are priced in the contexts of the path to i
	// (st), each where an item needs it: a function filling in every
	// price at once (not inlined) cost more than the items that use
	// them at most positions.
	mp := &c.main[st.mainS&(numMainProbs-1)]
	if cost := base + mp.cost0() + lit[data[p]]; cost < next[1].cost {
		next[1] = optNode{cost, uint32(i), literalSrc}
	}
	mt := &c.match[st.matchS&(numMatchProbs-1)]
	lzHead := base + mp.cost1() + mt.cost0()
	dHead := base + mp.cost1() + mt.cost1()
	from := uint32(i)
	// The match, literal and repeat sequences may reach past encNiceLen,
	// up to the window's end.
	seqRoom := room
	// Longer matches than encNiceLen end the window before this.
	room = min(room, encNiceLen)
	lens := w.length[:]
	lb := st.lzBase()
	lz := &c.lz[st.lzS&(numOtherProbs-1)]
	for r, l := range repLen {
		if hi := min(l, room); hi >= 2 {
			head := lzHead + lz.cost1() + repeatCost(&c.lzRep, &st.lzRepS, r)
			relaxRun(next[2:hi+1], lens[2:hi+1], from, head, makeSrc(st.lz[lb+r], 0, itemLZ, int8(r)))
			far = max(far, hi)
		}
	}
	prevLen := 2
	litRep := infCost // the literal's and rep0's decisions after a match
	for _, m := range ms {
		if m.offset == st.lz[lb] || m.offset == st.lz[lb+1] || m.offset == st.lz[lb+2] {
			prevLen = int(m.length)
			continue // the repeat match is cheaper
		}
		head := lzHead + lz.cost0() + c.offsetCost(m.offset)
		if hi := min(int(m.length), room); hi > prevLen {
			relaxRun(next[prevLen+1:hi+1], lens[prevLen+1:hi+1], from, head, makeSrc(m.offset, 0, itemLZ, -1))
			far = max(far, hi)
		}
		prevLen = int(m.length)
		// The match (shorter than encNiceLen: a longer one ended the
		// window), the byte after it as a literal, then the offset
		// again as rep0 for 2 bytes or more, to at most encNiceLen.
		// The interval tree gives matches without reading their
		// sources, so this read far back was most often a cache miss
		// (15.6% of relaxAt's samples on tree A's 8 MiB chunk 24; now
		// prefetched when the walk returns the matches), but
		// trying the longest match alone left a subset of tree A (19
		// MB, .mo and Go sources) 0.65% larger, the solid ratio test's
		// chunk 0.12%.
		l := int(m.length)
		q := p + l + 1 // where the repeat starts
		if l+3 > seqRoom || q+2 > len(data) ||
			binary.LittleEndian.Uint16(data[q:]) != binary.LittleEndian.Uint16(data[q-int(m.offset):]) {
			continue
		}
		r := matchLen(data, q-int(m.offset), q, min(encNiceLen, len(data)-q, seqRoom-l-1))
		k := l + 1 + r
		if litRep == infCost {
			// The decisions of the literal and the rep0 in the
			// contexts after the match, then the literal: the
			// same for every match of the position, so priced
			// once, at the first match that needs them. The
			// contexts are a copy of the path's moved on by the
			// items, as arrive moves them.
			d := st.decisionStates
			d.lzKind(false)
			litRep = c.main[d.mainS&(numMainProbs-1)].cost0()
			d.literal()
			litRep += c.main[d.mainS&(numMainProbs-1)].cost1() + c.match[d.matchS&(numMatchProbs-1)].cost0() +
				c.lz[d.lzS&(numOtherProbs-1)].cost1() + repeatCost(&c.lzRep, &d.lzRepS, 0)
		}
		cost := head + lens[l] + lit[data[p+l]] + litRep + lens[r]
		far = max(far, k)
		if cost < next[k].cost {
			next[k] = optNode{cost, from, makeSrc(m.offset, 0, itemLZLitRep, -1) | nodeSrc(l)<<56}
		}
	}
	d := &c.delta[st.deltaS&(numOtherProbs-1)]
	db := st.deltaBase()
	for r, l := range dRepLen {
		if hi := min(l, room); hi >= 2 {
			dp := st.delta[db+r]
			head := dHead + d.cost1() + repeatCost(&c.deltaRep, &st.deltaRepS, r)
			relaxRun(next[2:hi+1], lens[2:hi+1], from, head, makeSrc(dp.raw, dp.power, itemDelta, int8(r)))
			far = max(far, hi)
		}
	}
	if c.useLCP && dmask&(dmask-1) != 0 {
		dmask = c.longestDelta(dmask)
	}
	for m := dmask; m != 0; m &= m - 1 {
		power := bits.TrailingZeros32(m)
		f := c.dfound[power]
		if hi := min(int(f.length), room); hi >= deltaMinLen {
			head := dHead + d.cost0() + c.deltaPower.cost[power] + c.deltaOffset.cost[offsetSlotOf(f.raw)]
			relaxRun(next[deltaMinLen:hi+1], lens[deltaMinLen:hi+1], from, head, makeSrc(f.raw, uint32(power), itemDelta, -1))
			far = max(far, hi)
		}
	}
	return far
}

// longestDelta returns the bit of the power in dmask (two bits or more)
// whose explicit delta match (c.dfound) is the longest, the lowest of
// equal lengths: in the interval tree's (solid) chunks the parse offers
// that match alone. Half the positions of a solid chunk that have delta
// matches have them at several powers (tables of 2-, 4- or 8-byte
// values match at every span from their width to 32), and pricing and
// relaxing each was work the path seldom used: the 8 MiB chunk of
// TestCompressSolidRatioVsLibwim, old and new alternated in one process,
// CPU 0.92 times (median of 8 runs; 0.82-1.07), output 985,562 ->
// 986,142 bytes (1.0033 -> 1.0039 times libwim's); tree A's solid
// stream in 16 MiB chunks, 0 and 8: CPU 0.87 and 0.98 times, output
// 0.042 % larger and 0.061 % smaller. Not in the binary
// trees' (128 KiB) chunks, where fewer positions have several (8 %):
// tree A's files (every 20th), CPU 0.988 times, output 0.043 % larger.
// Offering the matches cheapest first, each only past the lengths the
// ones before it reached (the same output), cost more CPU than it saved.
func (c *Compressor) longestDelta(dmask uint32) uint32 {
	best, bestLen := 0, uint32(0)
	for m := dmask; m != 0; m &= m - 1 {
		power := bits.TrailingZeros32(m)
		if l := c.dfound[power].length; l > bestLen {
			best, bestLen = power, l
		}
	}
	return 1 << best
}

// codePath codes the cheapest path from the window's start (pos) to node
// i.
func (c *Compressor) codePath(data []byte, pos, i int) {
	items := c.items[:0]
	for i > 0 {
		nd := &c.nodes[i]
		n := uint32(i) - nd.from
		if nd.src.kind() == itemLZLitRep {
			// Its three items, last first.
			l, off := nd.src.lzLen(), nd.src.off()
			items = append(items, parseItem{n - l - 1, off, 0, itemLZ},
				parseItem{1, 0, 0, itemLiteral}, parseItem{l, off, 0, itemLZ})
		} else {
			items = append(items, parseItem{n, nd.src.off(), nd.src.power(), int(nd.src.kind())})
		}
		i = int(nd.from)
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
