package lzms

import (
	"encoding/binary"
	"math/bits"
)

// x86 filter parameters.
const (
	x86IDWindow  = 65535 // two uses of one target this close mark likely code
	x86MaxOffset = 1023  // translate only this close to the last likely code
	x86Margin    = 16    // the last 16 bytes of a chunk are never translated
)

// isOpcode reports whether b can start a translated instruction: 0x48, 0x4C,
// 0xE8, 0xE9, 0xF0 or 0xFF.
func isOpcode(b byte) bool {
	return b&0xFB == 0x48 || b&0xFE == 0xE8 || b == 0xF0 || b == 0xFF
}

// opcodeBytes tests the 8 bytes of x (little-endian) with isOpcode at once.
// The result is non-zero if any byte qualifies, and its lowest set bit lies
// in the first such byte (the usual zero-byte test can only misreport bytes
// above a true zero).
func opcodeBytes(x uint64) uint64 {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	zero := func(v uint64) uint64 { return (v - ones) &^ v & highs }
	return zero(x&0xFBFBFBFBFBFBFBFB^0x4848484848484848) |
		zero(x&0xFEFEFEFEFEFEFEFE^0xE8E8E8E8E8E8E8E8) |
		zero(x^0xF0F0F0F0F0F0F0F0) |
		zero(^x)
}

// x86State is the filter's memory of where each 16-bit target was last used.
// Positions are stored as base + chunk position, and base advances past every
// chunk by more than x86IDWindow, so entries from earlier chunks read as
// "long ago" without clearing the 64K-entry table for every chunk.
type x86State struct {
	base  int64
	usage [1 << 16]int32
}

// init empties the table.
func (x *x86State) init() {
	clear(x.usage[:])
	x.base = x86IDWindow + 1
}

// undo reverses the compressor's x86 translation on a decoded chunk.
func (x *x86State) undo(buf []byte) { x.filter(buf, true) }

// apply makes the compressor's x86 translation of a chunk, the exact inverse
// of undo: both find the same instructions, as translation changes only
// operands, which neither side scans for opcodes, and both key the usage
// table on the target computed from the untranslated operand.
func (x *x86State) apply(buf []byte) { x.filter(buf, false) }

// filter translates (undo false) or restores (undo true) the operands of
// the likely instructions in buf.
func (x *x86State) filter(buf []byte, undo bool) {
	n := len(buf)
	if n <= x86Margin+1 {
		return
	}
	if x.base+int64(n) > 1<<31-1 {
		x.init()
	}
	base := x.base
	x.base += int64(n) + x86IDWindow + 1

	usage := &x.usage
	lastX86 := -x86MaxOffset - 1 // position of the last likely instruction
	end := n - x86Margin         // opcodes are looked for in buf[1:end]
	for p := 1; p < end; {
		// Find the next byte that can start an instruction, 8 at a time;
		// the 16 bytes after end make reading a whole word safe.
		// Where there is none in the first word, the rest of a run
		// without one is skipped 16 bytes at a time (opcodeScan); in
		// machine code, candidates come every few bytes, and the word
		// test finds them without a call.
		if m := opcodeBytes(binary.LittleEndian.Uint64(buf[p : p+8])); m != 0 {
			p += bits.TrailingZeros64(m) >> 3
		} else {
			p = opcodeScan(buf, p+8, end)
		}
		if p >= end {
			break
		}
		op := buf[p]
		// An instruction at p reads at most buf[p:p+7] (3 opcode bytes and a
		// 4-byte operand), which lies within buf since p < n-16.
		w := buf[p : p+7 : p+7]
		var nb, maxOff int
		switch op {
		case 0xE8: // CALL rel32: common, so demand more evidence
			nb, maxOff = 1, x86MaxOffset>>1
		case 0xE9: // JMP rel32: deliberately not translated
			p += 5
			continue
		case 0xFF: // CALL [rip+disp32]
			if w[1] != 0x15 {
				p++
				continue
			}
			nb, maxOff = 2, x86MaxOffset
		case 0xF0: // LOCK ADD [rip+disp32], imm8
			if w[1] != 0x83 || w[2] != 0x05 {
				p++
				continue
			}
			nb, maxOff = 3, x86MaxOffset
		default: // 0x48, 0x4C: REX.W LEA/MOV with (loosely) RIP-relative ModR/M
			if w[2]&0x07 != 0x05 || !(w[1] == 0x8D || (w[1] == 0x8B && op&0x04 == 0 && w[2]&0xF0 == 0)) {
				p++
				continue
			}
			nb, maxOff = 3, x86MaxOffset
		}
		operand := w[nb : nb+4]
		var target uint16
		if !undo {
			target = uint16(p + int(binary.LittleEndian.Uint16(operand)))
		}
		if p-lastX86 <= maxOff {
			v := binary.LittleEndian.Uint32(operand)
			if undo {
				v -= uint32(p)
			} else {
				v += uint32(p)
			}
			binary.LittleEndian.PutUint32(operand, v)
		}
		if undo {
			target = uint16(p + int(binary.LittleEndian.Uint16(operand)))
		}
		last := p + nb + 3 // position of the operand's last byte
		g := base + int64(last)
		if g-int64(usage[target]) <= x86IDWindow {
			lastX86 = last
		}
		usage[target] = int32(g)
		p += nb + 4
	}
}
