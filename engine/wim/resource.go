package wim

import (
	"context"
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"hash"
	"io"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
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
	r := &resource{w: w, what: what, off: res.Offset, stored: res.StoredSize, size: res.Size}
	if res.Flags&ResSolid != 0 {
		return nil, errAt(w.name, res.Offset, "%s: unexpected solid resource", what)
	}
	if res.Compressed() {
		r.chunked = true
		r.pipable = w.pipable
		r.codec = w.hdr.Compression()
		if r.codec == None {
			return nil, errAt(w.name, res.Offset, "%s: compressed resource in a WIM without compression", what)
		}
		r.chunk = int64(w.hdr.ChunkSize)
	}
	return r, r.check()
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
}

func (r *resource) iter() *chunkIter { return &chunkIter{r: r} }

// entry returns chunk table entry j.
func (it *chunkIter) entry(j int64) (int64, error) {
	r := it.r
	if j < it.first || j >= it.first+it.count {
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

// bufCap is the capacity of chunk buffers: the chunk size, or less for a
// resource smaller than one chunk.
func (r *resource) bufCap() int { return int(min(r.chunk, r.size)) }

// decode reads chunk c into dst[:c.usize], decompressing with d (taken
// from the pool on first need and returned through *d) and using *cbuf for
// the compressed bytes.
func (r *resource) decode(c chunkRef, dst []byte, d *decompressor, cbuf *[]byte) error {
	dst = dst[:c.usize]
	if c.csize == c.usize {
		if _, err := r.w.ra.ReadAt(dst, c.fileOff); err != nil {
			return errAt(r.w.name, c.fileOff, "%s: reading chunk %d: %v", r.what, c.index, err)
		}
		return nil
	}
	if cap(*cbuf) < c.csize {
		// One buffer for all chunks when chunks are small; for large
		// ones, only what this chunk needs.
		n := c.csize
		if bc := r.bufCap(); bc <= 4<<20 {
			n = max(n, bc)
		}
		*cbuf = make([]byte, n)
	}
	src := (*cbuf)[:c.csize]
	if _, err := r.w.ra.ReadAt(src, c.fileOff); err != nil {
		return errAt(r.w.name, c.fileOff, "%s: reading chunk %d: %v", r.what, c.index, err)
	}
	return r.decompress(c, dst, src, d)
}

// decompress decompresses src, the stored bytes of compressed chunk c,
// into dst[:c.usize] with d (taken from the pool on first need and
// returned through *d).
func (r *resource) decompress(c chunkRef, dst, src []byte, d *decompressor) error {
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
	if err := decompressChunk(*d, dst, src); err != nil {
		return errAt(r.w.name, c.fileOff, "%s: chunk %d (%d bytes, %v): %v", r.what, c.index, c.csize, r.codec, err)
	}
	return nil
}

// decompressChunk calls d, turning a codec panic (a codec bug on hostile
// input) into an error rather than bringing down the process.
func decompressChunk(d decompressor, dst, src []byte) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = errors.New("decompressor failed on invalid data")
		}
	}()
	return d.Decompress(dst, src)
}

// open returns a reader of n bytes of the resource's uncompressed data from
// offset start. Chunks are decompressed in parallel when more than one is
// needed.
func (r *resource) open(start, n int64) (io.ReadCloser, error) {
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
	if workers < 2 || r.chunk > maxParallelChunk {
		s.it = r.iter()
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
				j.buf = getBuffer(r.bufCap(), j.c.usize)
				j.err = Guard(func() error { return r.decode(j.c, j.buf, &d, &cbuf) })
				close(j.done)
			}
			if d != nil {
				putDecompressor(r.codec, int(r.chunk), d)
			}
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
	var data []byte
	if s.order != nil {
		j := <-s.order
		if j.claimed.CompareAndSwap(false, true) {
			// No worker has started on it: decoding it here beats
			// sleeping until one has (a wake-up can cost a thread
			// switch, when the reading goroutine is locked to its
			// thread, as a GUI program's main goroutine is).
			j.buf = getBuffer(s.r.bufCap(), j.c.usize)
			// Under Guard as in the workers, so that a chunk fails
			// the same way whichever goroutine decodes it.
			j.err = Guard(func() error { return s.r.decode(j.c, j.buf, &s.dec, &s.cbuf) })
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
		data, err = s.decodeCached(c)
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

// decodeCached decodes chunk c in sequential mode, through the WIM's cache
// of large solid chunks.
func (s *chunkStream) decodeCached(c chunkRef) ([]byte, error) {
	r := s.r
	cacheable := r.solid && c.usize >= cacheMinChunk
	key := chunkKey{r.off, c.index}
	if cacheable {
		if b := r.w.cache.get(key); b != nil {
			return b, nil
		}
	}
	var buf []byte
	if cacheable {
		buf = make([]byte, c.usize)
	} else {
		buf = getBuffer(r.bufCap(), c.usize)
		s.curBuf = buf
	}
	if err := r.decode(c, buf, &s.dec, &s.cbuf); err != nil {
		return nil, err
	}
	if cacheable {
		r.w.cache.put(key, buf)
	}
	return buf, nil
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
	if s.curBuf != nil && len(s.cur) == 0 {
		putBuffer(s.curBuf)
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

// chunkCache keeps the last two large solid chunks decompressed, so that
// reading the many small blobs of one chunk one by one decompresses it
// once.
type chunkCache struct {
	mu      sync.Mutex
	keys    [2]chunkKey
	vals    [2][]byte
	lastUse int
}

func (c *chunkCache) get(k chunkKey) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range c.keys {
		if c.vals[i] != nil && c.keys[i] == k {
			c.lastUse = i
			return c.vals[i]
		}
	}
	return nil
}

func (c *chunkCache) put(k chunkKey, b []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	i := 1 - c.lastUse
	c.keys[i], c.vals[i], c.lastUse = k, b, i
}

func (c *chunkCache) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.vals = [2][]byte{}
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
	if err == nil && h.remain == 0 {
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

func (h *hashingReader) Close() error {
	if h.err == nil {
		h.err = errClosed
	}
	return h.src.Close()
}
