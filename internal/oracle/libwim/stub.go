//go:build !libwim

package libwim

import "errors"

// Available reports whether this build links libwim.
const Available = false

// Compression types, as wimlib numbers them.
const (
	XPRESS = 1
	LZX    = 2
	LZMS   = 3
)

var errNotBuilt = errors.New("libwim: built without the libwim tag")

// Compress is unavailable without the libwim build tag.
func Compress(ctype, maxChunk, level int, data []byte) ([]byte, error) { return nil, errNotBuilt }

// Decompress is unavailable without the libwim build tag.
func Decompress(ctype, maxChunk int, comp []byte, size int) ([]byte, error) {
	return nil, errNotBuilt
}
