package wim

import (
	"fmt"
	"sync"

	"github.com/wimconsole/wimconsole/engine/wim/lzms"
	"github.com/wimconsole/wimconsole/engine/wim/lzx"
	"github.com/wimconsole/wimconsole/engine/wim/xpress"
)

// decompressor is what the codec packages provide: one chunk in, one chunk
// out, len(dst) being the exact uncompressed size. A decompressor is not safe
// for concurrent use; each goroutine takes its own from the pool.
type decompressor interface {
	Decompress(dst, src []byte) error
}

// newDecompressor makes a decompressor for codec c and chunks of up to
// maxChunk bytes.
func newDecompressor(c Compression, maxChunk int) (decompressor, error) {
	switch c {
	case XPRESS:
		return xpress.NewDecompressor(), nil
	case LZX:
		d, err := lzx.NewDecompressor(maxChunk)
		if err != nil {
			return nil, err
		}
		return d, nil
	case LZMS:
		d, err := lzms.NewDecompressor(maxChunk)
		if err != nil {
			return nil, err
		}
		return d, nil
	}
	return nil, fmt.Errorf("no decompressor for %v", c)
}

type codecKey struct {
	c     Compression
	chunk int
}

// decompressors pools decompressors by codec and chunk size: making one
// can cost more than decompressing a small chunk.
var decompressors sync.Map // codecKey -> *sync.Pool

func getDecompressor(c Compression, maxChunk int) (decompressor, error) {
	if p, ok := decompressors.Load(codecKey{c, maxChunk}); ok {
		if d, _ := p.(*sync.Pool).Get().(decompressor); d != nil {
			return d, nil
		}
	}
	return newDecompressor(c, maxChunk)
}

func putDecompressor(c Compression, maxChunk int, d decompressor) {
	p, _ := decompressors.LoadOrStore(codecKey{c, maxChunk}, new(sync.Pool))
	p.(*sync.Pool).Put(d)
}

// chunkBuffers pools chunk-sized buffers by size.
var chunkBuffers sync.Map // int -> *sync.Pool

// getBuffer returns a buffer of length n <= size: a pooled one of capacity
// size when n is a whole chunk, else one of exactly n bytes (a short last
// chunk should not cost a whole large chunk's memory).
func getBuffer(size, n int) []byte {
	if n != size {
		return make([]byte, n)
	}
	if p, ok := chunkBuffers.Load(size); ok {
		if b, _ := p.(*sync.Pool).Get().(*[]byte); b != nil {
			return (*b)[:n]
		}
	}
	return make([]byte, n, size)
}

// putBuffer recycles a buffer from getBuffer. Only whole-chunk buffers
// (power-of-two capacities) are kept, so the pools stay few.
func putBuffer(b []byte) {
	if c := cap(b); c < 4096 || c&(c-1) != 0 {
		return
	}
	b = b[:cap(b)]
	p, _ := chunkBuffers.LoadOrStore(len(b), new(sync.Pool))
	p.(*sync.Pool).Put(&b)
}
