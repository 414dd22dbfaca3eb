package lzx

// runMin finds, for writeLens's shortest path, the cheapest place to end a
// run of zero lengths: the minimum of best[j] over a window of positions
// j that slides down a run of zeros as writeLens walks it backwards. It is
// a monotonic queue: positions enter at the low end (each one below all
// those in the window) and leave at the high end, so every step costs
// O(1) amortized instead of a scan of the window (up to 32 positions),
// which took two thirds of writeLens's time.
//
// Among positions of equal cost the lowest wins, as the scan upwards that
// it replaces chose (a shorter run).
type runMin struct {
	idx        [64]int32 // ring: oldest (highest position) at head
	head, tail uint32
}

func (r *runMin) reset() { r.head, r.tail = 0, 0 }

// push adds position j, below every position in the window. Positions
// that cost no less than j can no longer be the minimum and leave.
func (r *runMin) push(j int, best []uint32) {
	v := best[j]
	for r.tail != r.head && best[r.idx[(r.tail-1)&63]] >= v {
		r.tail--
	}
	r.idx[r.tail&63] = int32(j)
	r.tail++
}

// drop removes the positions above hi.
func (r *runMin) drop(hi int) {
	for r.head != r.tail && int(r.idx[r.head&63]) > hi {
		r.head++
	}
}

// min returns the lowest position of least cost in the window (which must
// not be empty).
func (r *runMin) min() int { return int(r.idx[r.head&63]) }
