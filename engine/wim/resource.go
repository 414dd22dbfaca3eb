package wim

import (
	"context"
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"hash"
	"io"
	"math"
	"os"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Limits on what reading a resource may hold in memory at once.
const (
	// chunkTableBatch is how many chunk table entries are read at a time.
	chunkTableBatch = 8192
	// inflightBudget bounds the decompressed chunks a parallel reader
	// keeps queued ahead of its consumer (at least two are always allowed).
	inflightBudget = 128 << 20
	// cacheMinChunk is the smallest solid chunk worth caching between
	// reads: decompressing a 64 MiB LZMS chunk for each small blob in it
	// would be slow.
	cacheMinChunk = 1 << 20
	// maxParallelChunk is the largest chunk size read in parallel: larger
	// chunks (up to the format's 1 GiB) are read one at a time to bound
	// memory.
	maxParallelChunk = 64 << 20
)

// Chunks over bombChunk bytes must be stored in at least 1/bombRatio of
// their size: no real data compresses further, and a few bytes claiming a
// 1 GiB chunk would otherwise make us allocate 1 GiB.
const (
	bombChunk = 64 << 20
	bombRatio = 4096
)

// maxChunkSize is the largest chunk size read: the format's limit (LZMS
// allows 1 GiB). A chunk is decompressed into a buffer of its size, so this
// bounds the memory one reader needs; fuzz tests lower it.
var maxChunkSize int64 = 1 << 30

// resource is a stored resource ready to be read: a non-solid resource
// (one blob, or the blob table, XML data or a metadata resource), or a solid
// resource holding many blobs.
type resource struct {
	w      *WIM
	what   string // "blob <hash>", "XML data", ...: the subject of messages
	off    int64  // file offset
	stored int64  // size in the file
	size   int64  // uncompressed size

	chunked bool // compressed: chunk table and chunks
	pipable bool // pipable layout: sized chunks, chunk table last
	solid   bool // solid layout: 16-byte header, table of chunk sizes
	codec   Compression
	chunk   int64 // uncompressed chunk size

	// Chunk geometry, set by check for chunked resources.
	nchunks  int64
	entSize  int64 // chunk table entry size: 4 or 8
	tableOff int64 // file offset of the chunk table
	nentries int64 // number of chunk table entries
	dataOff  int64 // file offset of the first chunk
	dataLen  int64 // bytes of chunk data
}

// resourceFor returns the resource that holds the data of reshdr res
// (non-solid) in w.
func (w *WIM) resourceFor(res ResourceHeader, what string) (*resource, error) {
	r := &resource{}
	if err := w.setResource(r, res, what); err != nil {
		return nil, err
	}
	return r, nil
}

// setResource makes r the resource that holds the data of reshdr res
// (non-solid) in w, checked.
func (w *WIM) setResource(r *resource, res ResourceHeader, what string) error {
	*r = resource{w: w, what: what, off: res.Offset, stored: res.StoredSize, size: res.Size}
	if res.Flags&ResSolid != 0 {
		return errAt(w.name, res.Offset, "%s: unexpected solid resource", what)
	}
	if res.Compressed() {
		r.chunked = true
		r.pipable = w.pipable
		r.codec = w.hdr.Compression()
		if r.codec == None {
			return errAt(w.name, res.Offset, "%s: compressed resource in a WIM without compression", what)
		}
		r.chunk = int64(w.hdr.ChunkSize)
	}
	return r.check()
}

// checkStored checks, as resourceFor does, the non-solid resource res of
// w holding the data of what+h ("blob ", h), for a copy as stored, which
// needs no resource: nothing is allocated and the subject of messages is
// only put together for an error.
func (w *WIM) checkStored(res ResourceHeader, what string, h Hash) error {
	var r resource
	if w.setResource(&r, res, "") == nil {
		return nil
	}
	return w.setResource(&r, res, what+h.String())
}

// solidResource returns the resource for solid resource s of w.
func (w *WIM) solidResource(s *SolidResource, what string) (*resource, error) {
	r := &resource{w: w, what: what, off: s.Res.Offset, stored: s.Res.StoredSize, size: s.Size,
		chunked: true, solid: true, codec: s.Compression, chunk: int64(s.ChunkSize)}
	return r, r.check()
}

// blobResource returns the resource holding blob e of w and the blob's
// position in its uncompressed data.
func (w *WIM) blobResource(e *BlobEntry, what string) (r *resource, start int64, err error) {
	if e.Solid != nil {
		r, err = w.solidResource(e.Solid, what)
		return r, e.SolidOffset, err
	}
	r, err = w.resourceFor(e.Res, what)
	return r, 0, err
}

// check validates the resource's placement and chunk geometry against the
// file, so that reading it never allocates or seeks beyond what the file
// can hold.
func (r *resource) check() error {
	name, fsize := r.w.name, r.w.size
	if r.off < 0 || r.stored < 0 || r.size < 0 {
		return errAt(name, r.off, "%s: invalid resource (offset %d, stored size %d, size %d)", r.what, r.off, r.stored, r.size)
	}
	if r.off > fsize || r.stored > fsize-r.off {
		return errAt(name, r.off, "%s: resource of %d bytes extends past the end of the file (size %d)", r.what, r.stored, fsize)
	}
	if !r.chunked {
		if r.stored != r.size {
			return errAt(name, r.off, "%s: uncompressed resource has stored size %d but size %d", r.what, r.stored, r.size)
		}
		return nil
	}
	if r.chunk <= 0 || r.chunk&(r.chunk-1) != 0 || r.chunk > maxChunkSize {
		return errAt(name, r.off, "%s: invalid chunk size %d", r.what, r.chunk)
	}
	r.nchunks = (r.size + r.chunk - 1) / r.chunk // no overflow: size < 2^63, chunk <= 2^30
	hdr := int64(0)
	if r.solid {
		hdr = solidHeaderSize
		r.entSize = 4
		r.nentries = r.nchunks
	} else {
		r.entSize = 4
		if r.size > math.MaxUint32 {
			r.entSize = 8
		}
		r.nentries = max(r.nchunks-1, 0)
	}
	if r.stored < hdr || r.nentries > (r.stored-hdr)/r.entSize {
		return errAt(name, r.off, "%s: chunk table of %d entries does not fit in a resource of %d bytes", r.what, r.nentries, r.stored)
	}
	r.tableOff = r.off + hdr
	r.dataOff = r.tableOff + r.nentries*r.entSize
	r.dataLen = r.stored - hdr - r.nentries*r.entSize
	if r.pipable {
		// Each chunk has a size in front; the table comes last.
		if r.dataLen-r.nchunks*pwmChunkHdrSize < r.nchunks {
			return errAt(name, r.off, "%s: %d bytes cannot hold %d chunks", r.what, r.dataLen, r.nchunks)
		}
		r.dataOff = r.off
		r.dataLen -= r.nchunks * pwmChunkHdrSize
		r.tableOff = r.off + r.stored - r.nentries*r.entSize
	}
	if r.dataLen < r.nchunks {
		return errAt(name, r.off, "%s: %d bytes cannot hold %d chunks", r.what, r.dataLen, r.nchunks)
	}
	return nil
}

// chunkRef locates one chunk of a chunked resource.
type chunkRef struct {
	index   int64
	fileOff int64
	csize   int // stored size; equal to usize when stored raw
	usize   int // uncompressed size
}

// chunkIter walks the chunk table of a resource forwards, reading entries
// in batches so that memory stays bounded whatever the table's size.
type chunkIter struct {
	r     *resource
	next  int64 // index of the next chunk
	pos   int64 // offset of chunk next in the data area
	buf   []byte
	first int64 // table index of the entry at buf[0]
	count int64 // entries in buf
	// shared: buf is the WIM's copy of the whole table (see
	// solidTables), read by other iterators too: never read into.
	shared bool
}

func (r *resource) iter() *chunkIter { return &chunkIter{r: r} }

// blobIter returns an iterator over r's chunk table for a reader of one
// blob: for a solid resource, over the WIM's copy of its table, read once
// for all its blobs (an apply of tree A's ESD opens 37,000 blobs in one
// resource, each of which read the table again: one pread each).
func (r *resource) blobIter() *chunkIter {
	it := r.iter()
	if r.solid {
		if b := r.w.tables.get(r); b != nil {
			it.buf, it.first, it.count, it.shared = b, 0, r.nentries, true
		}
	}
	return it
}

// solidTables keeps the chunk tables of a WIM's solid resources, as read
// from the file, for blobIter. Only tables of up to chunkTableBatch
// entries are kept (a table is then read whole, as the first read of an
// iterator reads it anyway), and at most solidTablesMax bytes of them: a
// hostile blob table can name any number of solid resources.
type solidTables struct {
	mu    sync.Mutex
	m     map[solidTableKey][]byte
	bytes int
}

// solidTableKey names a table by what is read, its offset and length in
// bytes: resources of a hostile file may share an offset and differ in
// their tables' entry count or entry size (4 or 8 bytes), and a reader
// indexes its table by its own; keyed by bytes, a table is shared only
// by readers of the same bytes, of the length each expects.
type solidTableKey struct{ off, n int64 }

// solidTablesMax bounds the bytes of tables kept: 32 tables of the
// largest size kept, thousands of an ESD's (a 4 GB image in 64 MiB
// chunks has a table of 256 bytes).
const solidTablesMax = 32 * chunkTableBatch * 4

// get returns r's chunk table, reading it on first use, or nil when it is
// not kept (too large, no room, or a read error, left for the iterator's
// own read to report).
func (t *solidTables) get(r *resource) []byte {
	n := r.nentries * r.entSize
	if r.nentries > chunkTableBatch || n > solidTablesMax {
		return nil
	}
	key := solidTableKey{r.tableOff, n}
	t.mu.Lock()
	b, ok := t.m[key]
	t.mu.Unlock()
	if ok {
		return b
	}
	b = make([]byte, n)
	if _, err := r.w.ra.ReadAt(b, r.tableOff); err != nil {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if old, ok := t.m[key]; ok {
		return old // read meanwhile by another reader
	}
	if t.bytes+len(b) > solidTablesMax {
		return nil
	}
	if t.m == nil {
		t.m = make(map[solidTableKey][]byte)
	}
	t.m[key] = b
	t.bytes += len(b)
	return b
}

// entry returns chunk table entry j.
func (it *chunkIter) entry(j int64) (int64, error) {
	r := it.r
	if j < it.first || j >= it.first+it.count {
		if it.shared {
			it.buf, it.shared = nil, false
		}
		n := min(chunkTableBatch, r.nentries-j)
		if need := int(n * r.entSize); cap(it.buf) < need {
			it.buf = make([]byte, need)
		}
		b := it.buf[:n*r.entSize]
		off := r.tableOff + j*r.entSize
		if _, err := r.w.ra.ReadAt(b, off); err != nil {
			return 0, errAt(r.w.name, off, "%s: reading chunk table: %v", r.what, err)
		}
		it.first, it.count = j, n
	}
	k := (j - it.first) * r.entSize
	if r.entSize == 4 {
		return int64(binary.LittleEndian.Uint32(it.buf[k:])), nil
	}
	v := binary.LittleEndian.Uint64(it.buf[k:])
	if v > math.MaxInt64 {
		return 0, errAt(r.w.name, r.tableOff+j*r.entSize, "%s: chunk table entry %d is invalid (0x%x)", r.what, j, v)
	}
	return int64(v), nil
}

// seek positions the iterator at chunk i.
func (it *chunkIter) seek(i int64) error {
	if it.r.solid {
		// Entries are sizes: sum them, checking each as next() would.
		if i < it.next {
			it.next, it.pos = 0, 0
		}
		for it.next < i {
			if _, err := it.nextChunk(); err != nil {
				return err
			}
		}
		return nil
	}
	it.next, it.pos = i, 0
	if i > 0 {
		p, err := it.entry(i - 1)
		if err != nil {
			return err
		}
		if p > it.r.dataLen {
			return errAt(it.r.w.name, it.r.tableOff+(i-1)*it.r.entSize, "%s: chunk table entry %d points past end of resource", it.r.what, i-1)
		}
		it.pos = p
	}
	return nil
}

// nextChunk returns the location of the next chunk and advances.
func (it *chunkIter) nextChunk() (chunkRef, error) {
	r := it.r
	i := it.next
	if i >= r.nchunks {
		return chunkRef{}, errAt(r.w.name, r.off, "%s: read past the last chunk", r.what)
	}
	usize := r.chunk
	if i == r.nchunks-1 {
		usize = r.size - i*r.chunk
	}
	var csize int64
	// entOff is where a bad chunk is reported: its table entry, or the
	// chunk itself for the first chunk of a non-solid resource.
	entOff := r.tableOff + i*r.entSize
	if r.solid {
		v, err := it.entry(i)
		if err != nil {
			return chunkRef{}, err
		}
		csize = v
	} else {
		if i == r.nchunks-1 {
			entOff = r.dataOff + it.pos
		}
		end := r.dataLen
		if i < r.nchunks-1 {
			v, err := it.entry(i)
			if err != nil {
				return chunkRef{}, err
			}
			if v < it.pos {
				return chunkRef{}, errAt(r.w.name, entOff, "%s: chunk table entry %d (0x%x) is below the previous one (0x%x)", r.what, i, v, it.pos)
			}
			if v > r.dataLen {
				return chunkRef{}, errAt(r.w.name, entOff, "%s: chunk table entry %d points past end of resource", r.what, i)
			}
			end = v
		}
		csize = end - it.pos
	}
	if csize <= 0 || csize > usize {
		return chunkRef{}, errAt(r.w.name, entOff, "%s: chunk %d has stored size %d for %d bytes of data", r.what, i, csize, usize)
	}
	if csize > r.dataLen-it.pos {
		return chunkRef{}, errAt(r.w.name, entOff, "%s: chunk %d points past end of resource", r.what, i)
	}
	if usize > bombChunk && csize < usize/bombRatio {
		return chunkRef{}, errAt(r.w.name, entOff, "%s: chunk %d claims %d bytes from %d; refusing a likely decompression bomb", r.what, i, usize, csize)
	}
	c := chunkRef{index: i, fileOff: r.dataOff + it.pos, csize: int(csize), usize: int(usize)}
	if r.pipable {
		c.fileOff += (i + 1) * pwmChunkHdrSize
	}
	it.pos += csize
	it.next++
	return c, nil
}

// poolChunkMax is the largest chunk size whose buffers are always whole
// chunks from the pool: for a short last chunk, a resource smaller than a
// chunk or compressed data too. Reading the many small blobs of a WIM
// then leaves no garbage to collect, which would add to the memory held
// between collections (by half the live heap, with GOGC at 50: 700 MB
// when an ESD's LZMS compressors are at work); larger chunks get buffers
// of their size, not to hold 64 MiB for a few bytes.
const poolChunkMax = 1 << 20

// pooled reports whether r's chunk buffers are whole pooled chunks.
func (r *resource) pooled() bool { return r.chunk <= poolChunkMax }

// chunkBuf returns a buffer of n bytes for an uncompressed chunk, to give
// back with putBuffer.
func (r *resource) chunkBuf(n int) []byte {
	if r.pooled() {
		return getBuffer(int(r.chunk), int(r.chunk))[:n]
	}
	return getBuffer(int(min(r.chunk, r.size)), n)
}

// decode reads chunk c into dst[:c.usize], decompressing with d (taken
// from the pool on first need and returned through *d) and using *cbuf for
// the compressed bytes; release, if not nil, is told as the decompressor
// goes which compressed bytes it has read for good (see
// releasingDecompressor).
func (r *resource) decode(c chunkRef, dst []byte, d *decompressor, cbuf *[]byte, release func(front, back int)) error {
	dst = dst[:c.usize]
	if c.csize == c.usize {
		if _, err := r.w.ra.ReadAt(dst, c.fileOff); err != nil {
			return errAt(r.w.name, c.fileOff, "%s: reading chunk %d: %v", r.what, c.index, err)
		}
		return nil
	}
	if cap(*cbuf) < c.csize {
		// One pooled buffer for all chunks when chunks are small (its
		// owner gives it back with putBuffer); for large ones, only
		// what this chunk needs.
		if r.pooled() {
			*cbuf = getBuffer(int(r.chunk), int(r.chunk))
		} else {
			*cbuf = make([]byte, c.csize)
		}
	}
	src := (*cbuf)[:c.csize]
	if _, err := r.w.ra.ReadAt(src, c.fileOff); err != nil {
		return errAt(r.w.name, c.fileOff, "%s: reading chunk %d: %v", r.what, c.index, err)
	}
	return r.decompress(c, dst, src, d, release)
}

// decompress decompresses src, the stored bytes of compressed chunk c,
// into dst[:c.usize] with d (taken from the pool on first need and
// returned through *d); release as for decode.
func (r *resource) decompress(c chunkRef, dst, src []byte, d *decompressor, release func(front, back int)) error {
	dst = dst[:c.usize]
	if r.codec == None {
		return errAt(r.w.name, c.fileOff, "%s: chunk %d is compressed (%d of %d bytes) but the resource has no codec", r.what, c.index, c.csize, c.usize)
	}
	if *d == nil {
		dec, err := getDecompressor(r.codec, int(r.chunk))
		if err != nil {
			return errAt(r.w.name, r.off, "%s: %v decompressor for %d-byte chunks: %v", r.what, r.codec, r.chunk, err)
		}
		*d = dec
	}
	if err := decompressChunk(*d, dst, src, release); err != nil {
		return errAt(r.w.name, c.fileOff, "%s: chunk %d (%d bytes, %v): %v", r.what, c.index, c.csize, r.codec, err)
	}
	return nil
}

// decompressChunk calls d, turning a codec panic (a codec bug on hostile
// input) into an error rather than bringing down the process. Release, if
// not nil, goes to a releasingDecompressor.
func decompressChunk(d decompressor, dst, src []byte, release func(front, back int)) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = errors.New("decompressor failed on invalid data")
		}
	}()
	if rd, ok := d.(releasingDecompressor); ok && release != nil {
		return rd.DecompressReleasing(dst, src, releaseStep, release)
	}
	return d.Decompress(dst, src)
}

// releasingDecompressor is a decompressor that tells, every step bytes of
// output, how far it has read its input: it reads src[:front] and
// src[back:] no more (LZMS's: its range coder reads from the front, its
// bitstream from the back).
type releasingDecompressor interface {
	DecompressReleasing(dst, src []byte, step int, release func(front, back int)) error
}

// releaseStep is how much output a releasingDecompressor writes between
// reports: the compressed bytes read during one step are what the chunk
// cache holds beyond the chunk at the end of a chunk.
const releaseStep = 1 << 20

// pageReleaser returns a release function for a releasingDecompressor
// reading b[:n], b mapped by mapBuf: it gives back to the system the
// whole pages of b[:n] the decompressor has read for good.
func pageReleaser(b []byte, n int) func(front, back int) {
	page := os.Getpagesize()
	lo, hi := 0, min(len(b), (n+page-1)/page*page) // the pages still held
	return func(front, back int) {
		if f := min(front/page*page, hi); f > lo {
			dropPages(b[lo:f])
			lo = f
		}
		if k := max((back+page-1)/page*page, lo); k < hi {
			dropPages(b[k:hi])
			hi = k
		}
	}
}

// open returns a reader of n bytes of the resource's uncompressed data from
// offset start, for a reader going through the range once (a group of
// blobs, a metadata resource): chunks are decompressed in parallel when
// more than one is needed.
func (r *resource) open(start, n int64) (io.ReadCloser, error) {
	return r.openMode(start, n, false, nil)
}

// openBlob returns a reader of n bytes of the resource's uncompressed data
// from offset start, for one blob of many read one by one: the large
// chunks of a solid resource go through the WIM's chunk cache (each is
// decompressed once for all its blobs; see chunkCache), others are read as
// open reads them.
func (r *resource) openBlob(start, n int64) (io.ReadCloser, error) {
	return r.openMode(start, n, true, nil)
}

// openMode is open (blob false) or openBlob (blob true); pin, when not
// nil, is a pin of the first chunk's cache entry for a cached stream to
// take over (see WIM.openBlobPinned).
func (r *resource) openMode(start, n int64, blob bool, pin **cachedChunk) (io.ReadCloser, error) {
	if start < 0 || n < 0 || start > r.size || n > r.size-start {
		return nil, errAt(r.w.name, r.off, "%s: range %d+%d outside resource of %d bytes", r.what, start, n, r.size)
	}
	if !r.chunked {
		return &rawReader{r: r, off: r.off + start, remain: n}, nil
	}
	s := &chunkStream{r: r, pos: start, end: start + n}
	if n == 0 {
		return s, nil
	}
	first, last := start/r.chunk, (start+n-1)/r.chunk
	s.skip = int(start - first*r.chunk)
	workers := min(int64(runtime.GOMAXPROCS(0)), last-first+1)
	s.cached = r.solid && r.chunk >= cacheMinChunk && (blob || workers < 2 || r.chunk > maxParallelChunk)
	if s.cached || workers < 2 || r.chunk > maxParallelChunk {
		if s.cached {
			s.pin = pin
			s.it = r.blobIter()
		} else {
			s.it = r.iter()
		}
		if err := s.it.seek(first); err != nil {
			return nil, err
		}
		return s, nil
	}
	s.startParallel(first, last, int(workers))
	return s, nil
}

// rawReader reads an uncompressed resource.
type rawReader struct {
	r      *resource
	off    int64
	remain int64
}

func (rr *rawReader) Read(p []byte) (int, error) {
	if rr.remain == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > rr.remain {
		p = p[:rr.remain]
	}
	n, err := rr.r.w.ra.ReadAt(p, rr.off)
	rr.off += int64(n)
	rr.remain -= int64(n)
	if n == len(p) {
		err = nil
	}
	if err != nil {
		return n, errAt(rr.r.w.name, rr.off, "%s: %v", rr.r.what, err)
	}
	return n, nil
}

func (rr *rawReader) Close() error { return nil }

// chunkJob is one chunk handed to a worker.
type chunkJob struct {
	c    chunkRef
	buf  []byte
	err  error
	done chan struct{}
	// claimed is set by whoever decodes the chunk: a worker, or the
	// reader itself when it needs the chunk before any worker took it.
	claimed atomic.Bool
}

// chunkStream reads a range of a chunked resource, in order, one chunk at a
// time (sequential mode) or through a bounded pool of workers.
type chunkStream struct {
	r        *resource
	pos, end int64 // uncompressed offsets: next byte to deliver, end of range
	skip     int   // bytes to drop from the first chunk
	cur      []byte
	curBuf   []byte // pooled buffer behind cur, to recycle
	err      error

	// sequential mode
	it   *chunkIter
	dec  decompressor
	cbuf []byte
	// cached: chunks come from the WIM's chunk cache; held is the one
	// cur is in; pin, until the first chunk is acquired, the caller's pin
	// of it to take over (see WIM.openBlobPinned).
	cached bool
	held   *cachedChunk
	pin    **cachedChunk

	// parallel mode
	cancel context.CancelFunc
	order  chan *chunkJob
}

func (s *chunkStream) startParallel(first, last int64, workers int) {
	r := s.r
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	window := int(max(2, min(int64(2*workers), inflightBudget/r.chunk)))
	s.order = make(chan *chunkJob, window)
	// Buffered, so that the jobs reach order (where the reader may take
	// one no worker has started on) without waiting for a free worker.
	work := make(chan *chunkJob, window)
	for range workers {
		go func() {
			var d decompressor
			var cbuf []byte
			for j := range work {
				if !j.claimed.CompareAndSwap(false, true) {
					continue // the reader decoded it
				}
				j.buf = r.chunkBuf(j.c.usize)
				j.err = Guard(func() error { return r.decode(j.c, j.buf, &d, &cbuf, nil) })
				close(j.done)
			}
			if d != nil {
				putDecompressor(r.codec, int(r.chunk), d)
			}
			putBuffer(cbuf)
		}()
	}
	go func() {
		defer close(work)
		it := r.iter()
		err := Guard(func() error { return it.seek(first) })
		for i := first; i <= last; i++ {
			var c chunkRef
			if err == nil {
				err = Guard(func() (err error) {
					c, err = it.nextChunk()
					return err
				})
			}
			j := &chunkJob{c: c, done: make(chan struct{})}
			if err != nil {
				j.err = err
				j.claimed.Store(true)
				close(j.done)
			}
			select {
			case s.order <- j:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
			select {
			case work <- j:
			case <-ctx.Done():
				return
			}
		}
	}()
}

// fill makes cur hold the next bytes of the range.
func (s *chunkStream) fill() error {
	if s.curBuf != nil {
		putBuffer(s.curBuf)
		s.curBuf = nil
	}
	if s.held != nil {
		s.r.w.cache.release(s.held)
		s.held = nil
	}
	var data []byte
	if s.order != nil {
		j := <-s.order
		if j.claimed.CompareAndSwap(false, true) {
			// No worker has started on it: decoding it here beats
			// sleeping until one has (a wake-up can cost a thread
			// switch, when the reading goroutine is locked to its
			// thread, as a GUI program's main goroutine is).
			j.buf = s.r.chunkBuf(j.c.usize)
			// Under Guard as in the workers, so that a chunk fails
			// the same way whichever goroutine decodes it.
			j.err = Guard(func() error { return s.r.decode(j.c, j.buf, &s.dec, &s.cbuf, nil) })
		} else {
			<-j.done
		}
		if j.err != nil {
			putBuffer(j.buf)
			return j.err
		}
		data, s.curBuf = j.buf, j.buf
	} else {
		c, err := s.it.nextChunk()
		if err != nil {
			return err
		}
		if s.cached {
			data, err = s.fromCache(c)
		} else {
			data = s.r.chunkBuf(c.usize)
			s.curBuf = data
			err = s.r.decode(c, data, &s.dec, &s.cbuf, nil)
		}
		if err != nil {
			return err
		}
	}
	data = data[s.skip:]
	s.skip = 0
	if int64(len(data)) > s.end-s.pos {
		data = data[:s.end-s.pos]
	}
	s.cur = data
	return nil
}

// fromCache returns chunk c from the WIM's chunk cache, telling it the
// chunk after c (when the iterator can read its place) to decompress ahead.
func (s *chunkStream) fromCache(c chunkRef) ([]byte, error) {
	var next *chunkRef
	if c.index+1 < s.r.nchunks {
		peek := *s.it
		if peek.next < peek.first || peek.next >= peek.first+peek.count {
			// A batch of entries of its own, not over s.it's.
			peek.buf, peek.count, peek.shared = nil, 0, false
		}
		if n, err := peek.nextChunk(); err == nil {
			next = &n
		}
	}
	e, err := s.r.w.cache.acquire(s.r, c, next, s.pin)
	s.pin = nil
	if err != nil {
		return nil, err
	}
	s.held = e
	return e.buf[:c.usize], nil
}

func (s *chunkStream) Read(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	if s.pos >= s.end {
		s.release()
		return 0, io.EOF
	}
	if len(s.cur) == 0 {
		if err := s.fill(); err != nil {
			s.err = err
			s.release()
			return 0, err
		}
	}
	n := copy(p, s.cur)
	s.cur = s.cur[n:]
	s.pos += int64(n)
	return n, nil
}

// release frees the stream's resources; it is safe to call more than once.
func (s *chunkStream) release() {
	if s.cancel != nil {
		s.cancel()
	}
	if s.dec != nil {
		putDecompressor(s.r.codec, int(s.r.chunk), s.dec)
		s.dec = nil
	}
	putBuffer(s.cbuf)
	s.cbuf = nil
	if s.curBuf != nil && len(s.cur) == 0 {
		putBuffer(s.curBuf)
	}
	if s.held != nil {
		s.r.w.cache.release(s.held)
		s.held = nil
	}
	s.curBuf, s.cur = nil, nil
}

func (s *chunkStream) Close() error {
	s.release()
	if s.err == nil {
		s.err = errClosed
	}
	return nil
}

var errClosed = errors.New("wim: read from closed blob reader")

// chunkKey names a chunk of a resource in the WIM's chunk cache.
type chunkKey struct {
	res   int64
	index int64
}

// readAhead reports whether the chunk cache decompresses the next chunk
// ahead of an in-order reader. Only with more than two processors: with
// two, the writer's compression workers use both (an export to LZX), and
// the chunk decompressed ahead would cost a chunk buffer (64 MiB, and half
// that again in heap growth between collections) for little time: an LZMS
// chunk decompresses at about 200 MB/s, a tenth of the time its data takes
// to compress again.
func readAhead() bool { return runtime.GOMAXPROCS(0) > 2 }

// cachedChunk is a chunk in the cache, decompressed or being decompressed.
type cachedChunk struct {
	key    chunkKey
	buf    []byte        // the chunk's data, in mem
	mem    *cacheBuf     // the buffer behind buf
	ready  chan struct{} // closed once buf holds the data, or err is set
	err    error
	refs   int  // readers holding it or pins (under the cache's lock)
	done   bool // ready is closed (under the cache's lock)
	orphan bool // out of the cache (failed, or the cache reset): its buffer goes to spare once no reader holds it
}

// idle reports whether no reader holds or pins c and it is not being
// decompressed: a chunk the cache may evict, or dispose of once out of
// it. Under the cache's lock.
func (c *cachedChunk) idle() bool { return c.refs == 0 && c.done }

// cacheBuf is a buffer of the chunk cache, outside the Go heap where the
// system allows. On the heap, a 64 MiB chunk and its compressed bytes (an
// ESD's) set the collector's goal: with GOGC at 50, half as much again
// in garbage (40 MB) piled up before a collection, on top of the buffers
// themselves; an ESD's export to LZX peaked at 229 MiB where wimlib's
// takes 136. Mapped, a buffer is freed as soon as it leaves the cache with
// no reader holding it, when the cache is reset, or failing those (a WIM
// never closed) once the collector finds it unreachable.
type cacheBuf struct {
	b       []byte
	unmap   func() // nil: on the heap
	cleanup runtime.Cleanup
}

// hugePage is the size of a huge page (amd64's; elsewhere only a unit in
// which chunk buffers are kept).
const hugePage = 2 << 20

// newCacheBuf returns a zero buffer of n bytes, in huge pages if huge (a
// chunk is written whole; compressed bytes only as far as the largest
// chunk reaches); on the heap where the system maps nothing.
func newCacheBuf(n int, huge bool) *cacheBuf {
	b, unmap := mapBuf(int64(n), huge)
	if b == nil {
		return &cacheBuf{b: make([]byte, n)}
	}
	m := &cacheBuf{b: b, unmap: unmap}
	m.cleanup = runtime.AddCleanup(m, func(f func()) { f() }, unmap)
	return m
}

// free unmaps a mapped buffer: nothing may refer to it after.
func (m *cacheBuf) free() {
	if m != nil && m.unmap != nil {
		m.cleanup.Stop()
		m.unmap()
		m.unmap, m.b = nil, nil
	}
}

// chunkCache keeps the large solid chunks of a WIM decompressed while they
// are read, so that reading the many blobs of one chunk one by one (as an
// export or an apply does) decompresses it once, whichever blob needs it
// first and however many readers wait for it. A reader going through the
// chunks in order has the next one decompressed ahead while it reads, as
// the writer compresses what it read.
//
// Chunks are decompressed one at a time, with one decompressor and one
// buffer of compressed data, and the chunk buffers of evicted chunks are
// reused: the memory held is that of one chunk (two when reading ahead),
// one compressed chunk and a decompressor, whatever the number of chunks
// or blobs read. While every chunk cached is held by a reader (several
// readers in neighbouring chunks, as an apply's workers), the next one
// takes a buffer of its own, and the cache holds one more chunk until it
// next needs room. The buffers are cacheBufs, outside the heap: one is
// freed only when no reader holds it (readers' slices of it must not
// outlive their release).
type chunkCache struct {
	mu       sync.Mutex
	ents     []*cachedChunk // most recently used last
	spare    *cacheBuf      // an orphan's buffer, to reuse
	last     chunkKey       // the chunk last asked for, for readahead
	closed   bool
	prefetch sync.WaitGroup

	// One decompression at a time, with these.
	decMu    sync.Mutex
	dec      decompressor
	decCodec Compression
	decChunk int64
	cbuf     *cacheBuf // compressed bytes, its pages given back after each chunk
	fills    int       // chunks decompressed (under decMu), for tests

	// freed, when not nil, is closed when a chunk stops being in use
	// (see waitFree); under mu.
	freed chan struct{}
	waits int // waits for a chunk to be freed that ended so (under mu), for tests
}

// freeWait is the longest acquire waits for a reader to give back a chunk
// before it takes a buffer of its own for the next (see waitFree). A
// holder gives it back within milliseconds on a quiet machine; with 250
// ms, one apply of an ESD in seven still took a second buffer on a host
// loaded tenfold (likely a worker writing a large file from the chunk,
// descheduled past the wait). Only a goroutine that holds a chunk while
// it asks for another waits it out.
const freeWait = time.Second

// waitFree waits, when the cache is full and every chunk in it held, for
// one of them to be given back (at most freeWait), so that the next chunk
// reuses its buffer: an apply's workers, one still writing a file from the
// chunk the other has just gone past, had each new chunk take a buffer of
// its own, and kept two (64 MiB each for an ESD, their pages faulted in
// again at each reuse). A chunk's holder is about to give it back: a
// stream gives back its chunk before it asks for the next, and an apply
// worker's pin becomes its reader's hold (see WIM.openBlobPinned). The
// wait is bounded because a goroutine may still hold a chunk while it
// asks for another (two streams read in turn): past freeWait, the chunk
// gets a buffer of its own, as it did without waiting. Called with the
// lock held, which it releases while waiting.
func (cc *chunkCache) waitFree(key chunkKey, slots int) {
	var timer *time.Timer
	for !cc.closed && len(cc.ents) >= slots {
		busy := true // every chunk held or being decompressed
		for _, x := range cc.ents {
			if x.key == key || x.idle() {
				busy = false // cached already, or one to evict
				break
			}
		}
		if !busy {
			return
		}
		if timer == nil {
			timer = time.NewTimer(freeWait)
			defer timer.Stop()
		}
		if cc.freed == nil {
			cc.freed = make(chan struct{})
		}
		freed := cc.freed
		cc.mu.Unlock()
		select {
		case <-freed:
			cc.mu.Lock()
			cc.waits++
		case <-timer.C:
			cc.mu.Lock()
			return
		}
	}
}

// signalFree wakes waitFree's waiters once e is neither held nor being
// decompressed. Called with the lock held.
func (cc *chunkCache) signalFree(e *cachedChunk) {
	if e.idle() && cc.freed != nil {
		close(cc.freed)
		cc.freed = nil
	}
}

// cacheSlots is how many chunks the cache keeps: one, and the chunk
// decompressed ahead when reading ahead.
func cacheSlots() int {
	if readAhead() {
		return 2
	}
	return 1
}

// acquire returns chunk c of r decompressed, held until release; next, if
// not nil, is the chunk after it, to decompress ahead when the chunks are
// being read in order. A pin of the chunk's entry in *pin (see pin) becomes
// the returned hold: the caller's reference is the pin's, taken over
// (*pin set to nil), rather than one more. A pin of another entry (one
// gone from the cache) is left to its holder.
func (cc *chunkCache) acquire(r *resource, c chunkRef, next *chunkRef, pin **cachedChunk) (*cachedChunk, error) {
	key := chunkKey{r.off, c.index}
	cc.mu.Lock()
	sequential := cc.last == chunkKey{r.off, c.index - 1}
	cc.last = key
	cc.waitFree(key, cacheSlots())
	e, fresh := cc.lookup(key, c.usize, int(r.chunk))
	if pin != nil && *pin == e {
		*pin = nil
	} else {
		e.refs++
	}
	var ahead *cachedChunk
	if sequential && next != nil && !cc.closed && readAhead() {
		if a, aFresh := cc.lookup(chunkKey{r.off, next.index}, next.usize, int(r.chunk)); aFresh {
			ahead = a
			cc.prefetch.Add(1)
		}
	}
	cc.mu.Unlock()
	if fresh {
		cc.fill(r, c, e)
	}
	if ahead != nil {
		go func() {
			defer cc.prefetch.Done()
			cc.fill(r, *next, ahead)
		}()
	}
	<-e.ready
	if e.err != nil {
		err := e.err
		cc.release(e)
		return nil, err
	}
	return e, nil
}

// pin holds chunk key, if the cache has it, for a reader about to ask for
// it, so that it is not evicted in the meantime; it returns the entry to
// give back with release, or nil. A stream opened with the pin takes it
// over as its hold when it acquires the chunk (see acquire).
func (cc *chunkCache) pin(key chunkKey) *cachedChunk {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	for _, x := range cc.ents {
		if x.key == key {
			x.refs++
			return x
		}
	}
	return nil
}

// lookup returns the entry of key, or a new one (fresh) to decompress,
// with a buffer of size bytes: an evicted chunk's when one is free, else
// a new one of chunk bytes (mapped: the pages a short last chunk leaves
// untouched cost nothing), so that any chunk of the resource fits in it
// later. Called with the lock held.
func (cc *chunkCache) lookup(key chunkKey, size, chunk int) (e *cachedChunk, fresh bool) {
	for i, x := range cc.ents {
		if x.key == key {
			cc.ents = append(append(cc.ents[:i:i], cc.ents[i+1:]...), x)
			return x, false
		}
	}
	var mem *cacheBuf
	if cc.spare != nil && cap(cc.spare.b) >= size {
		mem, cc.spare = cc.spare, nil
	}
	for len(cc.ents) >= cacheSlots() {
		// Not one held by a reader (or pinned) or being decompressed.
		i := slices.IndexFunc(cc.ents, (*cachedChunk).idle)
		if i < 0 {
			// Every chunk is in use: the cache holds one more
			// for a while. Its readers would keep the buffer of
			// one evicted now anyway, and another reader still
			// finds it: an apply's two workers, one still to
			// read a chunk the other has just gone past, had it
			// decompressed again (tree A's ESD: 9 to 11 fills
			// for its 7 chunks in some runs).
			break
		}
		if x := cc.ents[i]; mem == nil && cap(x.mem.b) >= size {
			mem = x.mem
		} else {
			x.mem.free()
		}
		cc.ents = slices.Delete(cc.ents, i, i+1)
	}
	if mem == nil {
		mem = newCacheBuf(max(size, chunk), true)
		if mem.unmap == nil {
			// On the heap, a short last chunk gets no more.
			mem.b = mem.b[:size]
		}
	}
	e = &cachedChunk{key: key, buf: mem.b[:size], mem: mem, ready: make(chan struct{})}
	cc.ents = append(cc.ents, e)
	return e, true
}

// fill decompresses chunk c of r into e. A chunk that cannot be read
// leaves the cache, with its error, so that reading it again tries again.
func (cc *chunkCache) fill(r *resource, c chunkRef, e *cachedChunk) {
	cc.decMu.Lock()
	if cc.dec != nil && (cc.decCodec != r.codec || cc.decChunk != r.chunk) {
		putDecompressor(cc.decCodec, int(cc.decChunk), cc.dec)
		cc.dec = nil
	}
	cc.decCodec, cc.decChunk = r.codec, r.chunk
	cc.fills++
	if cc.cbuf == nil || cap(cc.cbuf.b) < c.csize {
		// One buffer for the largest chunk's compressed bytes, in
		// small pages: only the pages a chunk's bytes reach count.
		cc.cbuf.free()
		cc.cbuf = newCacheBuf(max(c.csize, int(r.chunk)), false)
	}
	cbuf := cc.cbuf.b[:0]
	var release func(front, back int)
	if e.mem.unmap != nil {
		// What the buffer held (an evicted chunk) is not needed, but
		// its pages are only given back as far as the chunk's
		// compressed bytes, about to be read, take their place: the
		// chunk and its compressed bytes are then not all held at once
		// (see below), and the pages kept are written again without a
		// fault. Dropping them all had the kernel fault in and zero the
		// whole chunk again (huge pages: 17% of an ESD's apply).
		keep := 0
		if c.csize < c.usize {
			keep = (c.usize - c.csize) / hugePage * hugePage
		}
		dropPages(e.mem.b[min(keep, len(e.mem.b)):])
	}
	if cc.cbuf.unmap != nil {
		// The compressed bytes' pages go back as the decompressor reads
		// them for good (LZMS's), and the rest once it is done, rather
		// than add to what the process holds: at the end of a chunk,
		// the whole chunk and its compressed bytes (an ESD's chunk of
		// tree A: 64 MiB and 38 MB) made the export's peak.
		release = pageReleaser(cc.cbuf.b, c.csize)
	}
	err := Guard(func() error { return r.decode(c, e.buf, &cc.dec, &cbuf, release) })
	if cc.cbuf.unmap != nil && c.csize < c.usize {
		dropPages(cc.cbuf.b[:c.csize])
	}
	cc.decMu.Unlock()
	cc.mu.Lock()
	if err != nil {
		e.err = err
		if i := slices.Index(cc.ents, e); i >= 0 {
			cc.ents = slices.Delete(cc.ents, i, i+1)
		}
		e.orphan = true
	}
	e.done = true
	cc.signalFree(e)
	if e.orphan && e.refs == 0 {
		// Decompressed ahead, and out of the cache already: no reader
		// will release it.
		cc.dispose(e)
	}
	cc.mu.Unlock()
	close(e.ready)
}

// release gives back a chunk from acquire.
func (cc *chunkCache) release(e *cachedChunk) {
	cc.mu.Lock()
	e.refs--
	cc.signalFree(e)
	if e.orphan && e.idle() {
		cc.dispose(e)
	}
	cc.mu.Unlock()
}

// dispose takes the buffer of e, out of the cache and held by no reader:
// the larger one waits in spare for the next chunk, the other is freed.
// Called with the lock held.
func (cc *chunkCache) dispose(e *cachedChunk) {
	m := e.mem
	e.mem, e.buf = nil, nil
	if m == nil {
		return
	}
	if !cc.closed && (cc.spare == nil || cap(m.b) > cap(cc.spare.b)) {
		m, cc.spare = cc.spare, m
	}
	m.free()
}

// reset empties the cache, once any chunk being decompressed ahead is done;
// none is decompressed ahead after it. The buffers of chunks readers still
// hold are freed as they release them.
func (cc *chunkCache) reset() {
	cc.mu.Lock()
	cc.closed = true
	if cc.freed != nil {
		close(cc.freed) // waitFree returns once closed
		cc.freed = nil
	}
	cc.mu.Unlock()
	cc.prefetch.Wait()
	cc.mu.Lock()
	for _, e := range cc.ents {
		e.orphan = true
		if e.idle() {
			cc.dispose(e)
		}
	}
	cc.spare.free()
	cc.ents, cc.spare = nil, nil
	cc.mu.Unlock()
	cc.decMu.Lock()
	if cc.dec != nil {
		putDecompressor(cc.decCodec, int(cc.decChunk), cc.dec)
		cc.dec = nil
	}
	cc.cbuf.free()
	cc.cbuf = nil
	cc.decMu.Unlock()
}

// hashingReader checks the SHA-1 digest and size of what it passes through
// and reports a mismatch in place of io.EOF.
type hashingReader struct {
	src    io.ReadCloser
	sha    hash.Hash
	remain int64
	want   Hash
	file   string
	off    int64
	what   string
	err    error
}

func newHashingReader(src io.ReadCloser, size int64, want Hash, file string, off int64, what string) *hashingReader {
	return &hashingReader{src: src, sha: sha1.New(), remain: size, want: want, file: file, off: off, what: what}
}

func (h *hashingReader) Read(p []byte) (int, error) {
	if h.err != nil {
		return 0, h.err
	}
	if h.remain == 0 {
		h.err = h.verify()
		return 0, h.err
	}
	if int64(len(p)) > h.remain {
		p = p[:h.remain]
	}
	n, err := h.src.Read(p)
	h.sha.Write(p[:n])
	h.remain -= int64(n)
	if err == io.EOF && h.remain > 0 {
		err = &FormatError{File: h.file, Offset: h.off, Msg: h.what + ": data ends early"}
	}
	if (err == nil || err == io.EOF) && h.remain == 0 {
		// The last bytes, with or without the source's io.EOF: the
		// digest's verdict takes its place.
		err = h.verify()
	}
	if err != nil {
		h.err = err
	}
	return n, err
}

// verify compares the digest once all the data has been read.
func (h *hashingReader) verify() error {
	var got Hash
	h.sha.Sum(got[:0])
	if got != h.want {
		return &ChecksumError{File: h.file, Offset: h.off, What: h.what, Want: h.want, Got: got}
	}
	return io.EOF
}

// checkedAll returns nil when every byte has been read and they hash to
// the digest wanted, else what is wrong (a *ChecksumError, or the error
// reading them). A caller that reads exactly the blob's size (io.ReadFull)
// never sees the report that takes io.EOF's place, for nothing is read
// after the last byte: one that leaves the hashing to the reader (see
// newBlobHasher) asks for it with this.
func (h *hashingReader) checkedAll() error {
	if h.err == nil {
		if h.remain > 0 {
			return &FormatError{File: h.file, Offset: h.off, Msg: h.what + ": not read to its end"}
		}
		h.err = h.verify()
	}
	if h.err == io.EOF {
		return nil
	}
	return h.err
}

func (h *hashingReader) Close() error {
	if h.err == nil {
		h.err = errClosed
	}
	return h.src.Close()
}
