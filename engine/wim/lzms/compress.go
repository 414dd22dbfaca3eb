package lzms

import "fmt"

// The compressor. A chunk goes through the x86 filter (on a copy, or in
// place: see CompressInPlace), then is parsed and coded window by window
// (compress_parse.go): binary-tree match finding (compress_match.go; in
// chunks of lcpitMinChunk bytes and more, the LCP-interval tree of
// compress_lcpit.go) and a delta match finder (compress_match.go) feed a
// minimum-cost path search priced with the models' state at the window's
// start, and the path found is coded at once with the range coder, the
// backwards bitstream and the adaptive Huffman codes (compress_enc.go),
// which moves the models on for the next window exactly as the decoder's
// will move.

// Compressor parameters.
const (
	encSearchDepth = 12 // tree nodes visited per position
	encNiceLen     = 64 // a match this long is taken without looking further
	encPad         = 8  // zero bytes after the chunk in buf, for hashing
)

// InPlacePad is the room past a chunk that CompressInPlace needs to
// compress it without a copy: cap(src) >= len(src)+InPlacePad.
const InPlacePad = encPad

// Compressor compresses LZMS chunks. Not safe for concurrent use; reuse it.
//
// Its memory grows with the largest chunk compressed: about 9 bytes per
// byte of chunk (a filtered copy and the match finder's trees or, from
// lcpitMinChunk bytes, its suffix array and interval tree), plus up to
// 5 MiB of tables; the output is written in place in dst. CompressInPlace
// spares the copy: 8 bytes per byte of chunk.
type Compressor struct {
	maxChunk int
	own      []byte      // Compress's filtered copy of the chunk, kept for the next
	buf      []byte      // while compressing: the chunk after the x86 filter, then encPad zeros
	mf       matchFinder // chunks under lcpitMinChunk
	lcp      lcpFinder   // larger chunks (see useLCP)
	useLCP   bool
	matches  []lzMatch
	df       deltaFinder
	dfound   [deltaPowers]deltaFound
	x86      x86State

	main     [numMainProbs]probEntry
	match    [numMatchProbs]probEntry
	lz       [numOtherProbs]probEntry
	delta    [numOtherProbs]probEntry
	lzRep    [numLZReps - 1][numOtherProbs]probEntry
	deltaRep [numLZReps - 1][numOtherProbs]probEntry

	literal     encCode
	lzOffset    encCode
	length      encCode
	deltaOffset encCode
	deltaPower  encCode
	scratch     buildScratch

	// Decision contexts and the recent-offset queue, exactly as the
	// decoder keeps them (see matchState).
	mainState, matchState, lzState, deltaState uint32
	lzRepState, deltaRepState                  [numLZReps - 1]uint32
	recentLZ                                   [numRepSlots]uint32
	recentDelta                                [numRepSlots]deltaPair
	prev                                       int

	ins int // positions below ins have been through the match finders

	// The delta finder runs in a window only while it pays, or as a
	// probe (see gateDelta).
	deltaOn   bool
	deltaIdle int // windows since the delta finder last paid
	deltaGain int // positions of the window where it paid
	deltaSeen int // positions of the windows since the last decision
	deltaPaid int // and where the finder paid in them

	nodes  []optNode    // the minimum-cost parse's window
	states []parseState // the state of each node's cheapest path
	costs  windowCosts
	items  []parseItem

	offSlots *[fastOffsets]uint16
	lenSlots *[fastLengths]uint8

	out chunkOut // the chunk being written, in the caller's dst
	rc  rangeEncoder
	bw  bitWriter

	sink uint32 // keeps the parse's early table loads (mf.ahead, where not prefetches) from being dropped
}

// NewCompressor returns a compressor for chunks of at most maxChunk bytes;
// error if maxChunk is zero or above the format's limit (MaxChunkSize).
func NewCompressor(maxChunk int) (*Compressor, error) {
	if maxChunk <= 0 || maxChunk > MaxChunkSize {
		return nil, fmt.Errorf("lzms: chunk size %d out of range 1..%d", maxChunk, MaxChunkSize)
	}
	c := &Compressor{maxChunk: maxChunk, nodes: make([]optNode, encWindow+1), states: make([]parseState, encWindow+1)}
	resetNodes(c.nodes) // and so each window leaves them (parseWindow)
	c.offSlots, c.lenSlots = slotTables()
	c.x86.init()
	return c, nil
}

// Compress compresses src (len(src) <= maxChunk) into dst and returns the
// number of bytes written, or 0 if the result would not fit in dst (callers
// pass dst = make([]byte, len(src)-1) to demand that the data shrink).
//
// An empty src, or one longer than the chunk size, also gives 0. The output
// is one whole LZMS chunk as a WIM stores it; Decompress, given len(src),
// restores src. Src is only read: the x86 filter goes to a copy the
// compressor keeps for the next chunk.
func (c *Compressor) Compress(dst, src []byte) int {
	n := len(src)
	if n == 0 || n > c.maxChunk || len(dst) < 4 {
		return 0
	}
	if cap(c.own) < n+encPad {
		c.own = make([]byte, n+encPad)
	}
	buf := c.own[:n+encPad]
	copy(buf, src)
	clear(buf[n:])
	c.x86.apply(buf[:n])
	return c.compress(dst, buf, n)
}

// CompressInPlace is Compress without the copy, as wimlib compresses: it
// applies the x86 filter to src itself, writes InPlacePad zero bytes past
// its end (within cap(src)), compresses, and undoes the filter before it
// returns, also when the output does not fit or a panic unwinds it, so
// that src is then as it was given. The output is Compress's, byte for
// byte. Nothing else may read or write src or the pad meanwhile. With
// cap(src) under len(src)+InPlacePad it compresses a copy, as Compress.
func (c *Compressor) CompressInPlace(dst, src []byte) int {
	n := len(src)
	if n == 0 || n > c.maxChunk || len(dst) < 4 {
		return 0
	}
	if cap(src) < n+encPad {
		return c.Compress(dst, src)
	}
	buf := src[:n+encPad]
	clear(buf[n:])
	// The filter's state is keyed on positions that move on by more than
	// its window for every call, as the decoder's does for every chunk:
	// undo, a call after apply, restores exactly what apply changed.
	c.x86.apply(src)
	defer c.x86.undo(src)
	return c.compress(dst, buf, n)
}

// compressHook, when set (by tests), is called before each window is
// parsed, with its start.
var compressHook func(pos int)

// compress compresses the filtered chunk buf[:n] (buf has encPad zero bytes
// past it) into dst.
func (c *Compressor) compress(dst, buf []byte, n int) int {
	data := buf[:n]
	c.buf = buf
	c.reset(data)
	c.out.reset(dst)
	defer c.release() // keep no reference to the caller's buffers

	for pos := 0; pos < n && !c.out.full; {
		if compressHook != nil {
			compressHook(pos)
		}
		c.deltaGain = 0
		next := c.parseWindow(data, pos)
		if !c.useLCP {
			c.gateDelta(next - pos)
		}
		pos = next
	}
	c.rc.finish()
	c.bw.finish()
	if c.out.full {
		return 0
	}
	front, back, end := c.out.front, c.out.back, c.out.end
	copy(dst[front:], dst[end-back:end])
	return front + back
}

// release drops the compressor's references to the chunk and the output
// buffer of the call that ends.
func (c *Compressor) release() {
	c.buf = nil
	c.out.reset(nil)
}

// reset puts the models in their initial state for the chunk data, and
// loads it into the match finder its size calls for.
func (c *Compressor) reset(data []byte) {
	n := len(data)
	for _, t := range [][]probEntry{c.main[:], c.match[:], c.lz[:], c.delta[:],
		c.lzRep[0][:], c.lzRep[1][:], c.deltaRep[0][:], c.deltaRep[1][:]} {
		for i := range t {
			t[i] = probEntry{recent: initRecent, zeros: initZeros}
		}
	}
	slots := numOffsetSlots(n)
	c.literal.reset(numLiteralSyms, literalRebuild, nil, &c.scratch)
	c.lzOffset.reset(slots, lzOffsetRebuild, offsetExtra[:], &c.scratch)
	c.length.reset(numLengthSyms, lengthRebuild, lengthExtra[:], &c.scratch)
	c.deltaOffset.reset(slots, deltaOffsetRebuild, offsetExtra[:], &c.scratch)
	c.deltaPower.reset(numDeltaPowerSyms, deltaPowerRebuild, nil, &c.scratch)
	c.mainState, c.matchState, c.lzState, c.deltaState = 0, 0, 0, 0
	c.lzRepState = [numLZReps - 1]uint32{}
	c.deltaRepState = [numLZReps - 1]uint32{}
	c.recentLZ = [numRepSlots]uint32{1, 2, 3, 4}
	c.recentDelta = [numRepSlots]deltaPair{{0, 1}, {0, 2}, {0, 3}, {0, 4}}
	c.prev = itemLiteral
	c.ins = 0
	c.deltaOn, c.deltaIdle, c.deltaSeen, c.deltaPaid = true, 0, 0, 0
	c.dfound = [deltaPowers]deltaFound{}
	c.useLCP = n >= lcpitMinChunk && n <= lcpitMaxChunk
	if c.useLCP {
		c.lcp.load(data)
	} else {
		c.mf.reset(n)
	}
	c.df.reset(n)
	c.rc.reset(&c.out)
	c.bw.reset(&c.out)
}

// Delta match finding costs a third of the compressor's time and pays on
// little data besides images, sampled sound and tables of numbers. The
// gate decides over periods of deltaPeriod positions or more: windows end
// early at long matches, and decisions on short windows turned the finder
// off for most of a 128 KiB chunk of delta-like data after two windows of
// a few hundred positions (BenchmarkCompressKinds' delta data: output 34 %
// of the input instead of 26 %), and periods of 2048 positions (the parse
// window) did so on TestCompressRatioVsLibwim's delta input (output twice
// libwim's). A period where the delta finder's longest match beats the
// longest LZ match (repeat or explicit) by deltaGainMin bytes or more at
// 1/deltaPaysDiv of its positions or more is one where it paid. It runs in
// every period of a chunk until deltaKeep periods in a row have not paid,
// then in probes of deltaKeep periods every deltaProbe periods, which turn
// it back on where it pays again: one period is not enough, as the
// finder's table starts out empty or stale. Two periods in a row that
// did not pay turned it off for most of a chunk of delta-like data whose
// first periods after the first one happen to pay little (the second
// chunk of TestCompressDeltaGateShortWindows: 62 % of its input instead of
// 26 %) once windows ended where every path meets, which moved the
// periods' ends: deltaKeep is 3. (Probes every 8 windows cost
// 7 % more CPU on tree A's 128 KiB chunks than every 16, for no smaller
// output there or on the test inputs.) Repeat delta matches are always
// looked for. Chunks that use the interval tree (solid ones) keep it on:
// there the gate made the output of TestCompressSolidRatioVsLibwim 0.8 %
// larger. Looser solid thresholds (a delta match 1 byte longer than the LZ
// ones at 1/1024 of a period's positions) kept almost all of the finder's
// gain on tree A (16 MiB chunks 1 and 6: CPU -13 %, output +0.07 %), but
// not on that test's binaries: 1.0033 -> 1.0076 times libwim's, 1.0085
// with the table still filled (stores only) while the search was off.
// (Counting the delta matches the path takes instead would never
// turn it on: while the delta codes are untrained, delta matches cost too
// much to be taken.)
const (
	deltaPeriod  = 4096
	deltaGainMin = 4
	deltaPaysDiv = 64
	deltaKeep    = 3
	deltaProbe   = 16
)

// gateDelta decides whether the delta finder runs in the next window, after
// a window of n bytes: it counts the window into the period, and at the
// period's end decides for the next one.
func (c *Compressor) gateDelta(n int) {
	c.deltaSeen += n
	c.deltaPaid += c.deltaGain
	if c.deltaSeen < deltaPeriod {
		return
	}
	if c.deltaPaid*deltaPaysDiv >= c.deltaSeen {
		c.deltaIdle = 0
	} else {
		c.deltaIdle++
	}
	c.deltaSeen, c.deltaPaid = 0, 0
	on := c.deltaIdle%deltaProbe < deltaKeep
	if c.deltaOn && !on {
		c.dfound = [deltaPowers]deltaFound{}
	}
	c.deltaOn = on
}

func (c *Compressor) offsetSlot(off uint32) int {
	if off < fastOffsets {
		return int(c.offSlots[off])
	}
	return slotOf(offsetBase[:], off)
}

func (c *Compressor) lengthSlot(length uint32) int {
	if length < fastLengths {
		return int(c.lenSlots[length])
	}
	return slotOf(lengthBase[:], length)
}

// offsetCost is the parse's price of an explicit LZ offset: its slot's
// codeword and extra bits.
func (c *Compressor) offsetCost(off uint32) uint32 {
	return c.lzOffset.cost[offsetSlotOf(off)]
}

func (c *Compressor) lengthCost(length uint32) uint32 {
	return c.length.cost[c.lengthSlot(length)]
}

// putLiteral codes a literal.
func (c *Compressor) putLiteral(b byte) {
	c.rc.encode(&c.main[c.mainState&(numMainProbs-1)], 0)
	c.mainState <<= 1
	c.literal.put(&c.bw, int(b), &c.scratch)
	c.prev = itemLiteral
}

// putLZ codes an LZ match with an explicit offset (rep < 0) or the visible
// recent offset rep, and updates the recent-offset queue as the decoder
// does.
func (c *Compressor) putLZ(length, off uint32, rep int) {
	c.rc.encode(&c.main[c.mainState&(numMainProbs-1)], 1)
	c.mainState = c.mainState<<1 | 1
	c.rc.encode(&c.match[c.matchState&(numMatchProbs-1)], 0)
	c.matchState <<= 1
	lzE := &c.lz[c.lzState&(numOtherProbs-1)]
	q := &c.recentLZ
	if rep < 0 {
		c.rc.encode(lzE, 0)
		c.lzState <<= 1
		s := c.offsetSlot(off)
		c.lzOffset.put(&c.bw, s, &c.scratch)
		if x := uint(offsetExtra[s]); x != 0 {
			c.bw.put(off-offsetBase[s], x)
		}
		q[3], q[2], q[1] = q[2], q[1], q[0]
	} else {
		c.rc.encode(lzE, 1)
		c.lzState = c.lzState<<1 | 1
		c.putRepeat(rep, &c.lzRep, &c.lzRepState)
		i := rep
		if c.prev == itemLZ {
			i++
		}
		for ; i > 0; i-- {
			q[i] = q[i-1]
		}
	}
	c.putLength(length)
	q[0] = off
	c.prev = itemLZ
}

// putRepeat codes which recent source (0..numLZReps-1) a repeat match
// uses, with the decisions and states of its kind (LZ or delta): a 1 for
// each source passed over, then a 0 unless it is the last.
func (c *Compressor) putRepeat(rep int, probs *[numLZReps - 1][numOtherProbs]probEntry, states *[numLZReps - 1]uint32) {
	for i := range rep {
		st := &states[i]
		c.rc.encode(&probs[i][*st&(numOtherProbs-1)], 1)
		*st = *st<<1 | 1
	}
	if rep < numLZReps-1 {
		st := &states[rep]
		c.rc.encode(&probs[rep][*st&(numOtherProbs-1)], 0)
		*st <<= 1
	}
}

// putLength codes a match length: its slot, then the slot's extra bits.
func (c *Compressor) putLength(length uint32) {
	s := c.lengthSlot(length)
	c.length.put(&c.bw, s, &c.scratch)
	if x := uint(lengthExtra[s]); x != 0 {
		c.bw.put(length-lengthBase[s], x)
	}
}

// putDelta codes a delta match with an explicit source (rep < 0) or the
// visible recent source rep, and updates the recent-source queue as the
// decoder does.
func (c *Compressor) putDelta(length, power, raw uint32, rep int) {
	c.rc.encode(&c.main[c.mainState&(numMainProbs-1)], 1)
	c.mainState = c.mainState<<1 | 1
	c.rc.encode(&c.match[c.matchState&(numMatchProbs-1)], 1)
	c.matchState = c.matchState<<1 | 1
	dE := &c.delta[c.deltaState&(numOtherProbs-1)]
	q := &c.recentDelta
	if rep < 0 {
		c.rc.encode(dE, 0)
		c.deltaState <<= 1
		c.deltaPower.put(&c.bw, int(power), &c.scratch)
		s := c.offsetSlot(raw)
		c.deltaOffset.put(&c.bw, s, &c.scratch)
		if x := uint(offsetExtra[s]); x != 0 {
			c.bw.put(raw-offsetBase[s], x)
		}
		q[3], q[2], q[1] = q[2], q[1], q[0]
	} else {
		c.rc.encode(dE, 1)
		c.deltaState = c.deltaState<<1 | 1
		c.putRepeat(rep, &c.deltaRep, &c.deltaRepState)
		i := rep
		if c.prev == itemDelta {
			i++
		}
		for ; i > 0; i-- {
			q[i] = q[i-1]
		}
	}
	c.putLength(length)
	q[0] = deltaPair{power, raw}
	c.prev = itemDelta
}
