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

