package lzms

// Slot tables. An LZ offset, a delta raw offset or a match length is coded as
// a Huffman-coded slot followed by a number of verbatim "extra" bits that
// depends on the slot; the value is the slot's base plus the extra bits. The
// bases are dense: each slot starts where the previous one ends, so the tables
// are fully described by the number of extra bits of each slot, given here as
// runs of (extra bits, number of slots).

const (
	numLiteralSyms    = 256
	numLengthSyms     = 54
	numDeltaPowerSyms = 8
	maxOffsetSyms     = 799
)

type slotRun struct{ bits, count uint8 }

var offsetSlotRuns = []slotRun{
	{0, 8}, {2, 9}, {3, 7}, {4, 10}, {5, 15}, {6, 15}, {7, 20}, {8, 20},
	{9, 30}, {10, 33}, {11, 40}, {12, 42}, {13, 45}, {14, 60}, {15, 73},
	{16, 80}, {17, 85}, {18, 95}, {19, 105}, {20, 6}, {30, 1},
}

var lengthSlotRuns = []slotRun{
	{0, 26}, {1, 4}, {2, 6}, {3, 4}, {4, 5}, {5, 2}, {6, 1}, {7, 1}, {8, 1},
	{9, 1}, {10, 1}, {16, 1}, {30, 1},
}

var (
	// offsetBase[s] is the smallest offset of slot s; offsetBase[799] is one
	// past the largest offset the format can express (1180427428).
	offsetBase  [maxOffsetSyms + 1]uint32
	offsetExtra [maxOffsetSyms]uint8
	lengthBase  [numLengthSyms + 1]uint32
	lengthExtra [numLengthSyms]uint8
)

func init() {
	expand(offsetSlotRuns, offsetBase[:], offsetExtra[:])
	expand(lengthSlotRuns, lengthBase[:], lengthExtra[:])
}

func expand(runs []slotRun, base []uint32, extra []uint8) {
	s, b := 0, uint32(1)
	for _, r := range runs {
		for range r.count {
			base[s], extra[s] = b, r.bits
			b += 1 << r.bits
			s++
		}
	}
	if s != len(extra) {
		panic("lzms: slot table size mismatch")
	}
	base[s] = b
}

// numOffsetSlots returns how many offset slots (the size of the LZ and delta
// offset alphabets) a chunk of n uncompressed bytes uses: enough for an
// offset of n-1.
func numOffsetSlots(n int) int {
	if n < 2 {
		return 0
	}
	v := uint32(n - 1)
	lo, hi := 0, maxOffsetSyms-1
	for lo < hi { // find the last slot whose base is <= v
		mid := (lo + hi + 1) / 2
		if offsetBase[mid] <= v {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return lo + 1
}
