package wim

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/wimconsole/wimconsole/engine/progress"
	"github.com/wimconsole/wimconsole/engine/wim/lzms"
)

// Chunk sizes written by default, as wimlib's: non-solid LZMS resources
// use 128 KiB chunks; solid LZMS resources (ESD files) 64 MiB chunks, solid
// XPRESS and LZX resources 32 KiB.
const (
	DefaultLZMSChunkSize       = 128 << 10
	DefaultSolidLZMSChunkSize  = 64 << 20
	DefaultSolidOtherChunkSize = 32 << 10
)

// Bounds of the chunk table reserved at the start of a solid resource (in
// entries of 4 bytes). A resource ends when its table is full; a blob
// never spans two resources.
const (
	minSolidReserve = 16
	maxSolidReserve = 8192
)

// solidMemory bounds the chunk buffers of solid resources in flight
// (uncompressed and compressed, the chunk being filled included): with
// 64 MiB chunks, at most 6 chunks at a time (fewer with fewer workers: see
// setSolid).
const solidMemory = 768 << 20

// solidPad is the room kept past every solid chunk buffer: what the LZMS
// compressor needs to compress a chunk where it lies (see compressSolid).
const solidPad = lzms.InPlacePad

// bigSolidChunk is the chunk size from which a solid chunk takes long
// enough to compress that one buffer per worker keeps every worker busy
// (see setSolid).
const bigSolidChunk = 1 << 20

// defaultChunkSize returns the chunk size written for codec c when none is
// given: of non-solid resources, or of solid ones.
func defaultChunkSize(c Compression, solid bool) int {
	switch {
	case c == None:
		return 0
	case solid && c == LZMS:
		return DefaultSolidLZMSChunkSize
	case solid:
		return DefaultSolidOtherChunkSize
	case c == LZMS:
		return DefaultLZMSChunkSize
	}
	return DefaultChunkSize
}

// solidRes is a solid resource being written: the file blobs packed in
// it, compressed together chunk by chunk.
type solidRes struct {
	// Producer side (the goroutine calling WriteBlob and CopyBlob).
	reserve int64       // chunk table entries reserved in the file
	ended   atomic.Bool // its last chunk is queued (set before it is)
	nchunks int64       // chunks queued
	size    int64       // uncompressed bytes queued, dead bytes included
	blobs   []solidBlob // blobs in it, by offset

	// Write goroutine side.
	start     int64    // where its reserved header and table start
	dataStart int64    // where its first chunk starts
	csizes    []uint32 // stored size of each chunk written
	usize     int64    // uncompressed bytes written
	res       ResourceHeader
	ok        bool // written in full: res locates it
}

// solidBlob is a blob inside a solid resource.
type solidBlob struct {
	hash      Hash
	off, size int64
}

// solidState is the part of a Writer that packs file blobs into solid
// resources (WriteOptions.Solid, or an appended file that has them).
type solidState struct {
	on     bool
	codec  Compression
	chunk  int
	buf    []byte      // the chunk being filled (producer)
	cur    *solidRes   // the resource being filled (producer)
	all    []*solidRes // every solid resource started, in file order
	queued int64       // bytes queued into solid resources (producer)
	// slots holds one token per chunk buffer in use: the chunk being
	// filled (held: the producer has one for buf) and each chunk queued,
	// until it is written or dropped.
	slots chan struct{}
	held  bool

	// Compressors for solid chunks: at most one per chunk in flight; and
	// the buffers their output goes to, kept apart from the chunks'
	// (a pool shared with them would soon hand out whole chunks as
	// output buffers: each of those pages stays in memory, where a buffer
	// only ever used for output has just its first pages touched, as far
	// as the largest compressed chunk reached).
	cmu   sync.Mutex
	comps []chunkCompressor
	outs  [][]byte
	ins   [][]byte // whole-chunk buffers to fill again (see putSolidBuffer)
	frees []func() // of the buffers mapped outside the Go heap (see solidBuf)
	// Output buffers mapped outside the heap, by their first byte: their
	// pages are dropped once their chunk is written (see putSolidOut).
	mappedOuts map[*byte]bool
}

// setSolid turns solid writing on with codec c and chunk size chunk (0:
// the codec's default) and sizes the window of chunks in flight.
func (w *Writer) setSolid(c Compression, chunk int, threads int) error {
	switch c {
	case XPRESS, LZX, LZMS:
	default:
		return fmt.Errorf("wim: %s: cannot write solid resources with %v compression (use LZMS, LZX or XPRESS)", w.name, c)
	}
	if chunk == 0 {
		chunk = defaultChunkSize(c, true)
	}
	if chunk < 0 || chunk > 1<<30 || !c.ValidChunkSize(uint32(chunk)) {
		return fmt.Errorf("wim: %s: invalid solid chunk size %d for %v", w.name, chunk, c)
	}
	// Chunk buffers, the one being filled included: with large chunks,
	// one per worker, as wimlib has (each costs a chunk, its compressed
	// copy up to another, next to a compressor of about 8 bytes per byte
	// of chunk for LZMS, which works on the chunk where it lies): filling
	// one takes a fraction of a second where compressing it takes a
	// minute, so a worker waits little for its next chunk. Small chunks
	// need a deeper window (as the non-solid pipeline's) for the handoffs
	// not to leave workers idle. Memory bounds both.
	n := max(1, threads)
	want := n
	if chunk < bigSolidChunk {
		want = max(64, 8*n) + 1
	}
	inFlight := min(want, max(2, solidMemory/(2*chunk)))
	w.solid = solidState{on: true, codec: c, chunk: chunk, slots: make(chan struct{}, inFlight)}
	w.hdr.Version = VersionSolid
	return nil
}

// solidReserve returns the chunk table entries to reserve for a new solid
// resource whose first blob has size bytes: enough for what is left to
// write as far as SetTotal tells, within bounds.
func (w *Writer) solidReserve(size int64) int64 {
	cs := int64(w.solid.chunk)
	est := max(size, w.total.Load()-w.solid.queued)
	n := (est+cs-1)/cs + 1
	need := (size + cs - 1) / cs
	return max(need, min(max(n, minSolidReserve), maxSolidReserve))
}

// writeSolid packs a file blob into the current solid resource, hashing
// it. A duplicate found once the data is read is taken back when its bytes
// are all still in the chunk being filled; otherwise they stay in the
// resource unreferenced (a capture hashes first the files that may be
// duplicates, so this is rare).
func (w *Writer) writeSolid(ctx context.Context, r io.Reader, size int64, want *Hash, hashed bool) (Hash, error) {
	s := &w.solid
	cs := int64(s.chunk)
	if c := s.cur; c != nil && (c.size+size+cs-1)/cs > c.reserve {
		if err := w.endSolid(ctx); err != nil {
			return Hash{}, err
		}
	}
	if s.cur == nil {
		s.cur = &solidRes{reserve: w.solidReserve(size)}
		s.all = append(s.all, s.cur)
	}
	res := s.cur
	start, startChunks, startFill := res.size, res.nchunks, len(s.buf)
	takeBack := func() {
		if res.nchunks == startChunks {
			s.buf = s.buf[:startFill]
			s.queued -= res.size - start
			res.size = start
		}
	}
	sha := newBlobHasher(r, size, want, hashed)
	for left := size; left > 0; {
		if err := ctx.Err(); err != nil {
			takeBack()
			return Hash{}, err
		}
		if err := w.failed(); err != nil {
			takeBack()
			return Hash{}, err
		}
		if len(s.buf) == s.chunk {
			if err := w.submitSolid(ctx, res, false); err != nil {
				return Hash{}, err
			}
		}
		if err := w.holdSolidSlot(ctx); err != nil {
			return Hash{}, err
		}
		n := int(min(left, int64(s.chunk-len(s.buf))))
		w.growSolidBuf(n)
		k := len(s.buf)
		p := s.buf[k : k+n]
		if _, err := io.ReadFull(r, p); err != nil {
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				err = fmt.Errorf("data ended at byte %d of %d (did the file change?)", size-left, size)
			}
			takeBack()
			return Hash{}, err
		}
		s.buf = s.buf[:k+n]
		sha.add(p)
		left -= int64(n)
		res.size += int64(n)
		s.queued += int64(n)
	}
	if err := sha.check(); err != nil {
		takeBack()
		return Hash{}, err
	}
	h := sha.sum()
	if want != nil && h != *want {
		takeBack()
		return Hash{}, fmt.Errorf("data hashes to %s, not %s (did the file change?)", h, *want)
	}
	w.mu.Lock()
	dup := !w.claim(h, size)
	w.mu.Unlock()
	if dup {
		takeBack()
		return h, nil
	}
	res.blobs = append(res.blobs, solidBlob{hash: h, off: start, size: size})
	return h, nil
}

// growSolidBuf makes room for n more bytes in the chunk being filled,
// growing it by doubling up to the chunk size: a small file does not cost
// a whole 64 MiB chunk.
func (w *Writer) growSolidBuf(n int) {
	s := &w.solid
	need := len(s.buf) + n
	if need+solidPad <= cap(s.buf) {
		return
	}
	c := max(need, 2*cap(s.buf), 64<<10)
	// Only the first chunk of a resource grows: after it, or with a
	// chunk's worth of data still to come, the chunk fills whole, and
	// growing it again would leave a chunk's worth of garbage each time.
	if c > s.chunk || need > s.chunk/2 || (s.cur != nil && s.cur.nchunks > 0) || w.total.Load()-s.queued >= int64(s.chunk) {
		c = s.chunk
	}
	var b []byte
	if c == s.chunk {
		s.cmu.Lock()
		if k := len(s.ins); k > 0 {
			b = s.ins[k-1][:len(s.buf)]
			s.ins = s.ins[:k-1]
		}
		s.cmu.Unlock()
		if b == nil {
			b = w.solidBuf(s.chunk+solidPad, true)[:len(s.buf)]
		}
	} else {
		b = make([]byte, len(s.buf), c+solidPad)
	}
	copy(b, s.buf)
	s.buf = b
}

// solidBuf returns a zero buffer of n bytes for a whole chunk or a
// chunk's output. With large chunks it lies outside the Go heap, in huge
// pages if huge (a chunk is all written; an output buffer only as far as
// the compressed chunk reaches), until the pipeline stops: those buffers
// live as long as the writer, and on the heap their 4 chunks' worth (256
// MiB with 64 MiB chunks, 2 workers) set the collector's goal, which then
// let as much garbage pile up, in pages the process holds, before a
// collection (the runtime forces one every two minutes, a few chunks
// apart). Tree A's capture --solid: peak RSS rose 10-20 MiB a chunk.
func (w *Writer) solidBuf(n int, huge bool) []byte {
	s := &w.solid
	if s.chunk >= bigSolidChunk && solidBufMapped {
		if b, free := mapBuf(int64(n), huge); b != nil {
			s.cmu.Lock()
			s.frees = append(s.frees, free)
			if !huge {
				if s.mappedOuts == nil {
					s.mappedOuts = make(map[*byte]bool)
				}
				s.mappedOuts[unsafe.SliceData(b)] = true
			}
			s.cmu.Unlock()
			return b
		}
	}
	return make([]byte, n)
}

// solidBufMapped is whether solidBuf maps large chunks' buffers outside
// the heap (tests turn it off to compare).
var solidBufMapped = true

// freeSolidBufs unmaps the buffers of solidBuf, once the pipeline's
// goroutines have ended: nothing refers to them after.
func (w *Writer) freeSolidBufs() {
	s := &w.solid
	s.cmu.Lock()
	frees := s.frees
	s.frees, s.ins, s.outs, s.mappedOuts = nil, nil, nil, nil
	s.cmu.Unlock()
	s.buf = nil
	for _, f := range frees {
		f()
	}
}

// holdSolidSlot takes a slot for the chunk being filled unless the
// producer holds one: it waits while every chunk buffer is in use.
func (w *Writer) holdSolidSlot(ctx context.Context) error {
	s := &w.solid
	if s.held {
		return nil
	}
	select {
	case s.slots <- struct{}{}:
		s.held = true
		return nil
	case <-ctx.Done():
		w.cancelled(ctx.Err())
		return ctx.Err()
	}
}

// releaseSolidFill gives back the chunk being filled and its slot, when
// it is not to be written.
func (w *Writer) releaseSolidFill() {
	s := &w.solid
	w.putSolidBuffer(s.buf)
	s.buf = nil
	if s.held {
		s.held = false
		<-s.slots
	}
}

// submitSolid queues the chunk being filled, of res, with its slot; last
// ends res.
func (w *Writer) submitSolid(ctx context.Context, res *solidRes, last bool) error {
	s := &w.solid
	if err := w.holdSolidSlot(ctx); err != nil {
		return err
	}
	t := &wtask{kind: taskSolid, sres: res, idx: res.nchunks, data: s.buf, last: last, ctx: ctx}
	s.buf, s.held = nil, false
	if last {
		res.ended.Store(true)
	}
	res.nchunks++
	return w.submit(ctx, t)
}

// putSolidBuffer keeps a chunk buffer of a whole chunk (and solidPad) for
// another chunk of this writer. Not in the pool shared by writers: a
// collection empties that (the runtime forces one every two minutes, and
// an LZMS chunk can take longer to compress), and each new 64 MiB chunk
// buffer then adds to the memory the process holds, the freed ones staying
// with it until the heap reaches twice its live size.
func (w *Writer) putSolidBuffer(b []byte) {
	s := &w.solid
	if cap(b) == s.chunk+solidPad {
		s.cmu.Lock()
		s.ins = append(s.ins, b[:0])
		s.cmu.Unlock()
	}
}

// endSolid ends the current solid resource: its last chunk is queued and
// the next blob starts a new resource. Anything else queued for the file
// (a metadata resource, a copy) must come after it.
func (w *Writer) endSolid(ctx context.Context) error {
	s := &w.solid
	res := s.cur
	if res == nil {
		return nil
	}
	s.cur = nil
	if res.size == 0 {
		// Every blob was taken back: nothing to write.
		s.all = s.all[:len(s.all)-1]
		return nil
	}
	return w.submitSolid(ctx, res, true)
}

// compressSolidChunk is compressSolid, then, if that let its compressor
// go, the return of the compressor's memory to the system.
func (w *Writer) compressSolidChunk(t *wtask) error {
	letGo, err := w.compressSolid(t)
	if letGo {
		debug.FreeOSMemory()
	}
	return err
}

// drainSolid ends the solid resource being filled, if its chunks are large,
// and waits until every chunk of it is written: its compressors are then
// let go (see compressSolid), and what comes next (an image's metadata,
// encoded and compressed) takes their memory rather than adding to it.
// The workers are all at those chunks meanwhile, so nothing waits longer.
func (w *Writer) drainSolid(ctx context.Context) error {
	s := &w.solid
	if s.cur == nil || s.chunk < bigSolidChunk {
		return nil
	}
	if err := w.endSolid(ctx); err != nil {
		return err
	}
	if s.held {
		// Every blob of the resource was taken back: nothing was queued.
		w.releaseSolidFill()
	}
	for range cap(s.slots) {
		select {
		case s.slots <- struct{}{}:
		case <-ctx.Done():
			w.cancelled(ctx.Err())
			return ctx.Err()
		}
	}
	for range cap(s.slots) {
		<-s.slots
	}
	return w.failed()
}

// compressSolid compresses the solid chunk of t with a compressor of its
// own, made on first need; at most one exists per chunk in flight. It
// reports whether it let the compressor go rather than keep it for
// another chunk.
func (w *Writer) compressSolid(t *wtask) (letGo bool, err error) {
	s := &w.solid
	s.cmu.Lock()
	var c chunkCompressor
	if n := len(s.comps); n > 0 {
		c = s.comps[n-1]
		s.comps[n-1] = nil // a compressor let go must not stay reachable from the array
		s.comps = s.comps[:n-1]
	}
	s.cmu.Unlock()
	if c == nil {
		if c, err = newCompressor(s.codec, s.chunk, w.opts.LZXLevel); err != nil {
			return false, err
		}
	}
	// A whole chunk's buffer, reused: a fresh 64 MiB for every chunk
	// would have the heap grow between collections.
	s.cmu.Lock()
	var dst []byte
	if n := len(s.outs); n > 0 {
		dst = s.outs[n-1]
		s.outs = s.outs[:n-1]
	}
	s.cmu.Unlock()
	if dst == nil {
		dst = w.solidBuf(s.chunk, false)
	}
	dst = dst[:len(t.data)-1]
	// The chunk is the worker's until t.done: an LZMS compressor filters
	// it where it lies and restores it (the chunk is written as it is if
	// it does not shrink), rather than keep a copy of its own as large.
	if n := compressChunkInPlace(c, dst, t.data); n > 0 && n < len(t.data) {
		t.comp = dst[:n]
	} else {
		w.putSolidOut(dst)
	}
	// Large chunks' compressors (an LZMS one holds 8 bytes per byte of
	// chunk: 512 MiB for 64 MiB chunks) are let go once their resource's
	// chunks are all queued, and their memory given back at once, rather
	// than held to the writer's end: what follows (the metadata, its
	// compression, another image's scan) would otherwise come on top of
	// them, and the collector, its goal set by them, would not run before
	// the process holds half as much again. A resource started after
	// makes new ones.
	if t.sres.ended.Load() && s.chunk >= bigSolidChunk {
		return true, nil
	}
	s.cmu.Lock()
	s.comps = append(s.comps, c)
	s.cmu.Unlock()
	return false, nil
}

// putSolidOut keeps an output buffer of compressSolid for another chunk,
// its pages given back to the system if it is mapped outside the heap:
// otherwise every page a chunk's output ever reached would stay in memory
// to the writer's end, as far as the whole chunk for one that barely
// compresses (the compressor writes halfway through the buffer, then at
// its end, and joins the parts), where the next chunks may need a fraction
// of it. Page faults of 12 MB of output (a chunk of tree A) are
// milliseconds beside the chunk's minute of compression.
func (w *Writer) putSolidOut(b []byte) {
	s := &w.solid
	b = b[:cap(b)]
	s.cmu.Lock()
	mapped := s.mappedOuts[unsafe.SliceData(b)]
	s.cmu.Unlock()
	if mapped {
		dropPages(b)
	}
	s.cmu.Lock()
	s.outs = append(s.outs, b)
	s.cmu.Unlock()
}

// writeSolidChunk writes one chunk of a solid resource: the first
// reserves the resource's header and chunk table, the last fills them in
// (the header goes right before the table, which ends where the data
// starts; what the reservation spared stays unused before it, as wimlib
// does).
func (w *Writer) writeSolidChunk(t *wtask) {
	res := t.sres
	if t.idx == 0 {
		res.start = w.out.pos()
		w.out.zeros(solidHeaderSize + int(res.reserve)*4)
		res.dataStart = w.out.pos()
	}
	if t.done != nil {
		<-t.done
	}
	data := t.data
	if t.comp != nil {
		data = t.comp
	}
	if len(data) > 0 {
		// (A last chunk is empty when a blob's data failed to come
		// right after the chunk before was queued: no chunk then.)
		w.out.write(data)
		res.csizes = append(res.csizes, uint32(len(data)))
	}
	n := int64(len(t.data))
	res.usize += n
	w.putSolidBuffer(t.data)
	if t.comp != nil {
		w.putSolidOut(t.comp)
	}
	done := w.done.Add(n)
	w.opts.Progress.Send(progress.Report{Phase: PhaseWrite, Done: done, Total: max(w.total.Load(), done)})
	<-w.solid.slots // after the report: what is read is never more than the slots ahead of it
	if !t.last {
		return
	}
	if int64(len(res.csizes)) > res.reserve {
		w.setErr(fmt.Errorf("wim: %s: solid resource of %d chunks overflows its table of %d", w.name, len(res.csizes), res.reserve))
		return
	}
	tableOff := res.dataStart - 4*int64(len(res.csizes))
	hdrOff := tableOff - solidHeaderSize
	b := make([]byte, solidHeaderSize, solidHeaderSize+4*len(res.csizes))
	binary.LittleEndian.PutUint64(b[0:], uint64(res.usize))
	binary.LittleEndian.PutUint32(b[8:], uint32(w.solid.chunk))
	binary.LittleEndian.PutUint32(b[12:], uint32(w.solid.codec))
	for _, c := range res.csizes {
		b = binary.LittleEndian.AppendUint32(b, c)
	}
	w.out.patch(hdrOff, b)
	res.res = ResourceHeader{Offset: hdrOff, StoredSize: w.out.pos() - hdrOff, Size: solidResourceMagic, Flags: ResSolid}
	res.ok = true
	if crashHook != nil {
		crashHook("blob")
	}
}

// dropSolidChunk releases a solid chunk that is not written.
func (w *Writer) dropSolidChunk(t *wtask) {
	if t.done != nil {
		<-t.done
	}
	w.putSolidBuffer(t.data)
	if t.comp != nil {
		w.putSolidOut(t.comp)
	}
	<-w.solid.slots
}

// solidRun is a run of blob table entries with the solid flag: resource
// entries and the entries of the blobs in them.
type solidRun struct {
	entries []BlobEntry
}

// appendSolidTable appends to table the solid resources of the file as
// one solid run, as wimlib writes them: the old runs of an appended file
// as they were, then the new resources, each resource's entry before its
// blobs'. A blob's offset counts from the start of the run's first
// resource.
func (w *Writer) appendSolidTable(table []byte, old []solidRun, refs map[Hash]uint32, oldFirst map[Hash]bool) ([]byte, error) {
	var base int64
	for _, run := range old {
		var size int64
		for _, e := range run.entries {
			if e.Res.Size == solidResourceMagic {
				n, ok := w.oldSolidSize[e.Res.Offset]
				if !ok {
					return nil, fmt.Errorf("wim: %s: solid resource at offset 0x%x is not in the file's blob table", w.name, e.Res.Offset)
				}
				size += n
			}
		}
		for _, e := range run.entries {
			if e.Res.Size != solidResourceMagic {
				e.Res.Offset += base
				if oldFirst[e.Hash] {
					e.RefCount = satAdd(e.RefCount, refs[e.Hash])
				}
			}
			table = e.appendEncode(table)
		}
		base += size
	}
	for _, res := range w.solid.all {
		if !res.ok {
			return nil, fmt.Errorf("wim: %s: a solid resource was not written", w.name)
		}
		table = BlobEntry{Res: res.res, Part: 1, RefCount: 1}.appendEncode(table)
		for _, b := range res.blobs {
			e := BlobEntry{Res: ResourceHeader{Offset: base + b.off, StoredSize: b.size, Flags: ResSolid}, Part: 1, RefCount: max(1, refs[b.hash]), Hash: b.hash}
			table = e.appendEncode(table)
		}
		base += res.usize
	}
	return table, nil
}

// solidRawShare is the share of a source solid resource's data that the
// blobs to copy must make up for the resource to be copied whole, as
// stored, rather than its blobs compressed again: two thirds, as wimlib
// decides. The rest stays in the copy, unreferenced (an optimize drops it
// with --recompress).
const solidRawNum, solidRawDen = 2, 3

// solidRawOK reports whether solid resource s of file o can be copied as
// stored into the file's solid resources: the same codec and chunk size
// as the file writes, and no recompression asked for.
func (w *Writer) solidRawOK(o *WIM, s *SolidResource) bool {
	return w.solid.on && !w.opts.Recompress && !o.pipable &&
		s.Compression == w.solid.codec && int(s.ChunkSize) == w.solid.chunk
}

// copySolidRaw copies solid resource s of file o as stored, after the
// solid resource being filled, holding blobs (their offsets in s's data):
// they are not read, checked or compressed again, as a non-solid blob
// copied as stored is not (their digests come from o's blob table).
func (w *Writer) copySolidRaw(ctx context.Context, o *WIM, s *SolidResource, blobs []solidBlob) error {
	if err := w.failed(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	slices.SortFunc(blobs, func(a, b solidBlob) int { return cmpInt64(a.off, b.off) })
	res := &solidRes{blobs: blobs, usize: s.Size}
	w.mu.Lock()
	for _, b := range blobs {
		w.have[b.hash] = b.size
	}
	w.mu.Unlock()
	var first Hash
	if len(blobs) > 0 {
		first = blobs[0].hash
	}
	// sendCtx ends the resource being filled first: this one follows it.
	t := &wtask{kind: taskRaw, src: o, srcRes: s.Res, srcHash: first, ctx: ctx, rawSolid: res}
	if err := w.sendCtx(ctx, t); err != nil {
		return err
	}
	w.solid.all = append(w.solid.all, res)
	return nil
}
