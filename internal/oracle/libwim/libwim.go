//go:build libwim

// Package libwim calls libwim's single-chunk compression API (Debian
// libwim-dev) so codec tests can compare our encoders and decoders with
// wimlib's, chunk by chunk. It is built only with the "libwim" build tag
// (the Makefile's test target sets it); without it, Available is false.
package libwim

/*
#cgo LDFLAGS: -lwim
#include <stdlib.h>
#include <wimlib.h>
*/
import "C"

import (
	"fmt"
)

// Available reports whether this build links libwim.
const Available = true

// Compression types, as wimlib numbers them.
const (
	XPRESS = 1
	LZX    = 2
	LZMS   = 3
)

// Compress compresses one chunk with libwim at the given level (0 means
// wimlib's default). It returns nil when the data does not shrink.
func Compress(ctype, maxChunk, level int, data []byte) ([]byte, error) {
	var c *C.struct_wimlib_compressor
	if rc := C.wimlib_create_compressor(C.enum_wimlib_compression_type(ctype), C.size_t(maxChunk), C.uint(level), &c); rc != 0 {
		return nil, fmt.Errorf("wimlib_create_compressor(%d, %d): error %d", ctype, maxChunk, int(rc))
	}
	defer C.wimlib_free_compressor(c)
	if len(data) == 0 {
		return nil, nil
	}
	in := C.CBytes(data)
	defer C.free(in)
	out := C.malloc(C.size_t(len(data)))
	defer C.free(out)
	n := C.wimlib_compress(in, C.size_t(len(data)), out, C.size_t(len(data)-1), c)
	if n == 0 {
		return nil, nil
	}
	return C.GoBytes(out, C.int(n)), nil
}

// Decompress decompresses one chunk with libwim; size is the uncompressed size.
func Decompress(ctype, maxChunk int, comp []byte, size int) ([]byte, error) {
	var d *C.struct_wimlib_decompressor
	if rc := C.wimlib_create_decompressor(C.enum_wimlib_compression_type(ctype), C.size_t(maxChunk), &d); rc != 0 {
		return nil, fmt.Errorf("wimlib_create_decompressor(%d, %d): error %d", ctype, maxChunk, int(rc))
	}
	defer C.wimlib_free_decompressor(d)
	if size == 0 {
		return []byte{}, nil
	}
	in := C.CBytes(comp)
	defer C.free(in)
	out := C.malloc(C.size_t(size))
	defer C.free(out)
	if rc := C.wimlib_decompress(in, C.size_t(len(comp)), out, C.size_t(size), d); rc != 0 {
		return nil, fmt.Errorf("wimlib_decompress: data rejected (%d)", int(rc))
	}
	return C.GoBytes(out, C.int(size)), nil
}
