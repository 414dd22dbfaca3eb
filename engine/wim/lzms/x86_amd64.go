package lzms

// opcodeScan returns the position of the first byte of buf[p:end] that can
// start a translated instruction (isOpcode), or a position at or past end
// when there is none. It tests 16 bytes at a time with SSE2, and so reads
// up to 15 bytes past end, which buf must hold (the x86 filter's 16-byte
// margin). In data that is not machine code, candidates are a few in a
// hundred bytes, and the filter's word-at-a-time search (opcodeBytes) was
// most of its time: 8% of the decompression of an ESD.
//
//go:noescape
func opcodeScan(buf []byte, p, end int) int
