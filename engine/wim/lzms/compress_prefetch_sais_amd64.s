#include "textflag.h"

// func saPrefetch8(s *byte, sa *uint32, m int, n uint32) uint32
TEXT ·saPrefetch8(SB), NOSPLIT, $0-36
	MOVQ s+0(FP), SI
	MOVQ sa+8(FP), DI
	MOVQ m+16(FP), CX
	MOVL n+24(FP), R8
	XORL R9, R9
	TESTQ CX, CX
	JLE done8
loop8:
	MOVL (DI), AX
	MOVL AX, DX
	SARL $31, DX
	XORL DX, AX
	ANDL $0x3fffffff, AX
	DECL AX
	CMPL AX, R8
	CMOVLCC R9, AX
	PREFETCHT0 (SI)(AX*1)
	ADDQ $4, DI
	DECQ CX
	JNZ loop8
done8:
	MOVL $0, ret+32(FP)
	RET

// func saPrefetch32(s *uint32, sa *uint32, m int, n uint32) uint32
TEXT ·saPrefetch32(SB), NOSPLIT, $0-36
	MOVQ s+0(FP), SI
	MOVQ sa+8(FP), DI
	MOVQ m+16(FP), CX
	MOVL n+24(FP), R8
	XORL R9, R9
	TESTQ CX, CX
	JLE done32
loop32:
	MOVL (DI), AX
	MOVL AX, DX
	SARL $31, DX
	XORL DX, AX
	DECL AX
	CMPL AX, R8
	CMOVLCC R9, AX
	PREFETCHT0 (SI)(AX*4)
	ADDQ $4, DI
	DECQ CX
	JNZ loop32
done32:
	MOVL $0, ret+32(FP)
	RET

// func saPrefetchBkt(s, bkt, sa *uint32, m int, n uint32) uint32
TEXT ·saPrefetchBkt(SB), NOSPLIT, $0-44
	MOVQ s+0(FP), SI
	MOVQ bkt+8(FP), BX
	MOVQ sa+16(FP), DI
	MOVQ m+24(FP), CX
	MOVL n+32(FP), R8
	XORL R9, R9
	TESTQ CX, CX
	JLE donek
loopk:
	MOVL (DI), AX
	MOVL AX, DX
	SARL $31, DX
	XORL DX, AX
	DECL AX
	CMPL AX, R8
	CMOVLCC R9, AX
	MOVL (SI)(AX*4), AX
	PREFETCHT0 (BX)(AX*4)
	ADDQ $4, DI
	DECQ CX
	JNZ loopk
donek:
	MOVL $0, ret+40(FP)
	RET

// func saPrefetch16(s *uint16, sa *uint32, m int, n uint32) uint32
TEXT ·saPrefetch16(SB), NOSPLIT, $0-36
	MOVQ s+0(FP), SI
	MOVQ sa+8(FP), DI
	MOVQ m+16(FP), CX
	MOVL n+24(FP), R8
	XORL R9, R9
	TESTQ CX, CX
	JLE done16
loop16:
	MOVL (DI), AX
	MOVL AX, DX
	SARL $31, DX
	XORL DX, AX
	ANDL $0x3fffffff, AX
	DECL AX
	CMPL AX, R8
	CMOVLCC R9, AX
	PREFETCHT0 (SI)(AX*2)
	ADDQ $4, DI
	DECQ CX
	JNZ loop16
done16:
	MOVL $0, ret+32(FP)
	RET
