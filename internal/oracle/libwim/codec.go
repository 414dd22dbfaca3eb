//go:build libwim

package libwim

/*
#cgo LDFLAGS: -lwim
#include <stdlib.h>
#include <string.h>
#include <wimlib.h>
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// Codec holds one libwim compressor and decompressor and C buffers for one
// chunk, so that benchmarks compare our codecs with wimlib's without
// counting wimlib's per-call setup (which Compress and Decompress include).
// Call Close when done.
type Codec struct {
	comp     *C.struct_wimlib_compressor
	decomp   *C.struct_wimlib_decompressor
	in, out  unsafe.Pointer
	maxChunk int
}

// NewCodec returns a Codec of compression type ctype (XPRESS, LZX, LZMS)
// for chunks of up to maxChunk bytes at the given compression level (0 is
// wimlib's default).
func NewCodec(ctype, maxChunk, level int) (*Codec, error) {
	c := &Codec{maxChunk: maxChunk}
	if rc := C.wimlib_create_compressor(C.enum_wimlib_compression_type(ctype), C.size_t(maxChunk), C.uint(level), &c.comp); rc != 0 {
		return nil, fmt.Errorf("wimlib_create_compressor: error %d", int(rc))
	}
	if rc := C.wimlib_create_decompressor(C.enum_wimlib_compression_type(ctype), C.size_t(maxChunk), &c.decomp); rc != 0 {
		C.wimlib_free_compressor(c.comp)
		return nil, fmt.Errorf("wimlib_create_decompressor: error %d", int(rc))
	}
	// Room for a chunk that grew (decompressor input) as well as the data.
	c.in = C.malloc(C.size_t(2*maxChunk + 1024))
	c.out = C.malloc(C.size_t(2*maxChunk + 1024))
	return c, nil
}

// Close frees the C resources.
func (c *Codec) Close() {
	C.wimlib_free_compressor(c.comp)
	C.wimlib_free_decompressor(c.decomp)
	C.free(c.in)
	C.free(c.out)
}

// Compress compresses src into dst (len(dst) bytes available) and returns
// the compressed size, or 0 if it did not fit.
func (c *Codec) Compress(dst, src []byte) int {
	if len(src) == 0 || len(src) > c.maxChunk {
		return 0
	}
	C.memcpy(c.in, unsafe.Pointer(&src[0]), C.size_t(len(src)))
	n := int(C.wimlib_compress(c.in, C.size_t(len(src)), c.out, C.size_t(min(len(dst), 2*c.maxChunk)), c.comp))
	if n > 0 {
		C.memcpy(unsafe.Pointer(&dst[0]), c.out, C.size_t(n))
	}
	return n
}

// Decompress decompresses src into dst, whose length is the uncompressed size.
func (c *Codec) Decompress(dst, src []byte) error {
	if len(dst) == 0 || len(dst) > c.maxChunk || len(src) == 0 || len(src) > 2*c.maxChunk+1024 {
		return fmt.Errorf("libwim: sizes out of range")
	}
	C.memcpy(c.in, unsafe.Pointer(&src[0]), C.size_t(len(src)))
	if rc := C.wimlib_decompress(c.in, C.size_t(len(src)), c.out, C.size_t(len(dst)), c.decomp); rc != 0 {
		return fmt.Errorf("wimlib_decompress: data rejected (%d)", int(rc))
	}
	C.memcpy(unsafe.Pointer(&dst[0]), c.out, C.size_t(len(dst)))
	return nil
}
