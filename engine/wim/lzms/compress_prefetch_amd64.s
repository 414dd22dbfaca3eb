#include "textflag.h"

// func prefetch3(a, b, c *uint32) uint32
TEXT ·prefetch3(SB), NOSPLIT, $0-28
	MOVQ a+0(FP), AX
	PREFETCHT0 (AX)
	MOVQ b+8(FP), AX
	PREFETCHT0 (AX)
	MOVQ c+16(FP), AX
	PREFETCHT0 (AX)
	MOVL $0, ret+24(FP)
	RET

// func prefetch3d(a, b, c *uint32, table []uint32, slots *[deltaPowers]uint32) uint32
// deltaPowers is 6 (compress_prefetch_amd64.go checks it at compile time).
TEXT ·prefetch3d(SB), NOSPLIT, $0-60
	MOVQ a+0(FP), AX
	PREFETCHT0 (AX)
	MOVQ b+8(FP), AX
	PREFETCHT0 (AX)
	MOVQ c+16(FP), AX
	PREFETCHT0 (AX)
	MOVQ table+24(FP), AX
	MOVQ slots+48(FP), BX
	MOVL 0(BX), CX
	PREFETCHT0 (AX)(CX*4)
	MOVL 4(BX), CX
	PREFETCHT0 (AX)(CX*4)
	MOVL 8(BX), CX
	PREFETCHT0 (AX)(CX*4)
	MOVL 12(BX), CX
	PREFETCHT0 (AX)(CX*4)
	MOVL 16(BX), CX
	PREFETCHT0 (AX)(CX*4)
	MOVL 20(BX), CX
	PREFETCHT0 (AX)(CX*4)
	MOVL $0, ret+56(FP)
	RET

// func prefetchTails(at *byte, ms []lzMatch)
// at is &data[p]: the byte prefetched is at[1+length-offset].
// lzMatch is {length, offset uint32}: 8 bytes, length first.
TEXT ·prefetchTails(SB), NOSPLIT, $0-32
	MOVQ at+0(FP), AX
	MOVQ ms_base+8(FP), BX
	MOVQ ms_len+16(FP), CX
	TESTQ CX, CX
	JZ done
loop:
	MOVL 0(BX), DX
	MOVL 4(BX), SI
	SUBQ SI, DX
	PREFETCHT0 1(AX)(DX*1)
	ADDQ $8, BX
	DECQ CX
	JNZ loop
done:
	RET

// func prefetchSources(out *byte, ms *[pendBatch]pendingMatch)
// pendingMatch is {pos, off, length, span uint32}: 16 bytes. pendBatch is
// 16 (compress_prefetch_amd64.go checks it at compile time).
TEXT ·prefetchSources(SB), NOSPLIT, $0-16
	MOVQ out+0(FP), AX
	MOVQ ms+8(FP), BX
	MOVQ $16, CX
loop:
	MOVL 0(BX), DX
	MOVL 4(BX), SI
	SUBQ SI, DX
	ADDQ AX, DX
	PREFETCHT0 (DX)
	MOVL 12(BX), SI
	SUBQ SI, DX
	PREFETCHT0 (DX)
	ADDQ $16, BX
	DECQ CX
	JNZ loop
	RET
