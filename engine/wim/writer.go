package wim

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/binary"
	"fmt"
	"hash"
	"io"
	"math"
	"math/bits"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wimconsole/wimconsole/engine/progress"
	"github.com/wimconsole/wimconsole/engine/wim/lzms"
	"github.com/wimconsole/wimconsole/engine/wim/lzx"
	"github.com/wimconsole/wimconsole/engine/wim/xpress"
)

// DefaultChunkSize is the chunk size of compressed resources written by
// default: 32 KiB, the only one Microsoft's tools accept for XPRESS and LZX.
const DefaultChunkSize = 32768

// Progress phases reported by writing operations.
const (
	PhaseWrite     = "writing"   // file data and metadata being written
	PhaseIntegrity = "integrity" // integrity table being computed
)

// WriteOptions configure a Writer.
type WriteOptions struct {
	// Compression is the codec of the file's non-solid resources (its
	// header's): None, XPRESS, LZX or LZMS. It applies to new files only;
	// an appended file keeps its own.
	Compression Compression
	// ChunkSize is the uncompressed size of a compressed chunk; 0 means
	// DefaultChunkSize (DefaultLZMSChunkSize for LZMS). New files only.
	ChunkSize int
	// Solid packs file blobs into solid resources (an ESD file when the
	// codec is LZMS): many blobs compressed together, in chunks of
	// SolidChunkSize with SolidCompression. Image metadata is never solid;
	// it uses Compression. An appended file that has solid resources gets
	// new ones whatever Solid says, with the codec and chunk size of its
	// last one.
	Solid bool
	// SolidCompression is the codec of solid resources: LZMS (the
	// default, for the zero value None), LZX or XPRESS.
	SolidCompression Compression
	// SolidChunkSize is the chunk size of solid resources; 0 means the
	// codec's default (DefaultSolidLZMSChunkSize for LZMS,
	// DefaultSolidOtherChunkSize for the others).
	SolidChunkSize int
	// LZXLevel is the LZX compression level: lzx.LevelFast, LevelDefault,
	// LevelSlow or a wimlib-style 1..100 (see lzx.NewCompressorLevel); 0
	// is the default. It is the level of file data; image metadata is
	// compressed at the level metadataLZXLevel picks.
	LZXLevel int
	// Integrity writes an integrity table. An appended file that has one
	// keeps it regardless.
	Integrity bool
	// ResourceOnly marks the file as holding only file data and no
	// images (header flag 0x10: a WDS Res.rwm). New files only.
	ResourceOnly bool
	// MetadataOnly marks the file as holding image metadata whose file
	// data lives in another WIM (header flag 0x20: a WDS image .wim). Its
	// images may reference blobs the file does not hold. New files only.
	MetadataOnly bool
	// RPFix sets the header flag recording that absolute link targets were
	// made relative to the image root at capture. New files only.
	RPFix bool
	// Recompress makes CopyBlob (and AddImageFrom) decompress and
	// compress again resources it could otherwise copy as they are stored.
	Recompress bool
	// Threads is the number of compression workers; 0 means one per CPU.
	Threads int
	// Progress receives reports of bytes written (phase PhaseWrite) out of
	// the total set with SetTotal, and of the integrity table.
	Progress progress.Func
	// NoSync leaves making the file durable to the caller: Close neither
	// syncs the file nor, for a new file, its folder after the rename.
	// For writing many small files and syncing them at once; the header
	// is still written last.
	NoSync bool
	// StartWriteback hands the data to the disk as it is written (every
	// few MiB, without waiting; Linux only), so that the sync at Close
	// waits only for the last of it: for a caller that waits on that sync
	// (an image store's add-image), not one for which the kernel's own
	// writeback during a long write is enough. Ignored with NoSync.
	StartWriteback bool
	// Pipable makes a new file a pipable WIM (wimlib's streamable variant,
	// see pipable.go): Close writes the file as usual, then lays it out
	// again as a pipable WIM (WritePipable) before renaming it into place.
	Pipable bool
}

// A Writer writes a WIM file: a new one (Create), or an existing one grown
// in place (OpenAppend). File data goes in with WriteBlob and CopyBlob,
// images with AddImage; Close writes the blob table, XML data, optional
// integrity table and, last, the header.
//
// Blobs are written once: a blob whose SHA-1 digest the file already holds
// is skipped. Compression runs in a pool of workers, one per CPU, chunk by
// chunk, while data is read and written in order; memory stays bounded by a
// few chunks per worker whatever the size of the data.
//
// A Writer's methods must be called from one goroutine at a time.
type Writer struct {
	name   string // the WIM being written, as named by the caller
	path   string // the file actually written (a temporary file for Create)
	f      *os.File
	create bool
	// hold keeps the lock on a new file's temporary file (see lockTemp)
	// until it is renamed or removed.
	hold *os.File
	opts WriteOptions

	hdr   Header
	codec Compression
	chunk int // chunk size of compressed resources
	piece int // uncompressed bytes per pipeline task
	info  *Info

	// The existing file (OpenAppend).
	origSize  int64  // its size when opened
	origFlags uint32 // its header flags when opened
	oldTable  []byte // its blob table as stored, entry by entry
	oldMeta   []int  // indexes in oldTable of the images' metadata entries
	// old is its blob table as read: the file blobs it holds, found by
	// digest. They are not copied into have: a Res.rwm has an entry per
	// file of its group.
	old          *blobTable
	oldIntegrity *integrityTable
	oldTableEnd  int64
	oldSolidSize map[int64]int64 // uncompressed size of its solid resources, by offset
	// oldVersionSolid: its version is VersionSolid (solid flags count).
	oldVersionSolid bool
	removed         map[int]bool // old images removed (1-based)
	bootIndex       int          // 1-based, among the images at Close

	mu      sync.Mutex
	have    map[Hash]int64 // file blobs added (new, queued), not in old: size
	newBlob []BlobEntry    // file blobs written, in file order
	newMeta []*metaSlot    // metadata resources of added images
	refs    map[Hash]uint32
	err     error // first error of the pipeline

	solid solidState // file blobs packed into solid resources

	// Pipeline.
	order   chan *wtask
	work    chan *wtask
	writerD chan struct{}
	workers sync.WaitGroup
	out     outBuf
	done    atomic.Int64 // uncompressed bytes written, for progress
	total   atomic.Int64
	srcBuf  []byte // raw copy buffer (write goroutine)
	run     *wtask // raw copies not yet queued, to copy in one read

	finished      bool
	headerWritten bool

	// aborting is set by Abort and by a call whose context ended while it
	// waited on the pipeline: the workers and the write goroutine then
	// drop what is queued instead of compressing and writing it.
	aborting atomic.Bool
	// closeCtx is the context of CloseContext: checked before the header
	// (and, for a new file, the rename) commits the file.
	closeCtx context.Context
	// pipableIntegrity: WriteOptions.Integrity of a pipable file, whose
	// integrity table is computed when it is laid out again.
	pipableIntegrity bool
	// oldLock holds the writers' lock on the file a pipable append
	// replaces, until it is replaced or the writing aborted.
	oldLock *os.File
}

// copyPiece bounds the bytes copied as stored (inside the kernel or
// through a buffer) between two checks for cancellation.
const copyPiece = 16 << 20

// metaSlot receives the location of an added image's metadata resource.
type metaSlot struct {
	res  ResourceHeader
	hash Hash
	ok   bool
}

// Kinds of pipeline tasks.
const (
	taskChunk   = iota // one chunk of a blob
	taskAbort          // the blob's data could not be read: drop what was written
	taskRaw            // copy a stored resource as it is
	taskBarrier        // flush and signal
	taskSolid          // one chunk of a solid resource
)

// wtask is one unit of work for the write goroutine, in file order.
type wtask struct {
	kind int
	b    *wblob
	sres *solidRes // taskSolid: the resource
	idx  int64
	last bool
	data []byte          // uncompressed chunk (pooled)
	comp []byte          // compressed chunk (pooled), nil when it is stored raw
	done chan struct{}   // closed when compression is done; nil when none is needed
	ctx  context.Context // the call that queued it; nil for barriers and aborts

	src     *WIM           // taskRaw: file to copy from
	srcRes  ResourceHeader // taskRaw: the resource as stored there
	srcHash Hash
	meta    *metaSlot // taskRaw: the resource is this image's metadata
	more    []rawItem // taskRaw: resources stored right after srcRes, copied with it
	// taskRaw: srcRes is a whole solid resource, copied as stored into
	// this one (see copySolidRaw)
	rawSolid *solidRes
	barrier  chan struct{}
	barrierF bool // taskBarrier: fsync too
}

// rawItem is a resource to copy as stored.
type rawItem struct {
	res  ResourceHeader
	hash Hash
}

// wblob is a blob being written.
type wblob struct {
	size    int64
	nchunks int64
	meta    *metaSlot // non-nil for an image's metadata resource
	// Set by the producer before the last task is queued.
	hash Hash
	drop bool // a duplicate: roll back what was written

	// Write goroutine state.
	start   int64
	entSize int
	table   []byte
	csum    int64
	rawOnly bool // every chunk stored raw
}

// Create starts a new WIM file name. The data is written to a temporary
// file in the same folder, which Close syncs and renames to name (replacing
// any file of that name); Abort removes it.
func Create(name string, opts WriteOptions) (*Writer, error) {
	c := opts.Compression
	chunk := opts.ChunkSize
	switch c {
	case None:
		chunk = 0
	case XPRESS, LZX, LZMS:
		if chunk == 0 {
			chunk = defaultChunkSize(c, false)
		}
		if chunk < 0 || chunk > math.MaxUint32 || !c.ValidChunkSize(uint32(chunk)) {
			return nil, fmt.Errorf("wim: %s: invalid chunk size %d for %v", name, chunk, c)
		}
	default:
		return nil, fmt.Errorf("wim: %s: cannot write %v compression", name, c)
	}
	sc := opts.SolidCompression
	if opts.Solid && sc == None {
		sc = LZMS
	}
	if opts.ResourceOnly && opts.MetadataOnly {
		return nil, fmt.Errorf("wim: %s: a file cannot be both resource-only and metadata-only", name)
	}
	dir, base := filepath.Split(name)
	if dir == "" {
		dir = "."
	}
	RemoveStaleTemps(dir) // best effort: leftovers of killed writers
	f, hold, err := createTemp(dir, base)
	if err != nil {
		return nil, fmt.Errorf("wim: %w", err)
	}
	// A replaced file keeps its permissions; a new one gets the usual
	// 0666 less the umask.
	if st, err := os.Stat(name); err == nil && st.Mode().IsRegular() {
		f.Chmod(st.Mode().Perm())
	}
	w := &Writer{name: name, path: f.Name(), f: f, hold: hold, create: true, opts: opts, codec: c, chunk: chunk, info: &Info{}}
	if opts.Pipable {
		w.pipableIntegrity, w.opts.Integrity = opts.Integrity, false
	}
	w.hdr = Header{Magic: Magic, Version: VersionDefault, Part: 1, TotalParts: 1}
	w.hdr.SetCompression(c, uint32(chunk))
	if _, err := rand.Read(w.hdr.GUID[:]); err != nil {
		f.Close()
		os.Remove(f.Name())
		w.releaseTemp()
		return nil, fmt.Errorf("wim: GUID: %w", err)
	}
	if opts.ResourceOnly {
		w.hdr.Flags |= FlagResourceOnly
	}
	if opts.MetadataOnly {
		w.hdr.Flags |= FlagMetadataOnly
	}
	if opts.RPFix {
		w.hdr.Flags |= FlagRPFix
	}
	if opts.Solid {
		if err := w.setSolid(sc, opts.SolidChunkSize, w.threads()); err != nil {
			f.Close()
			os.Remove(f.Name())
			w.releaseTemp()
			return nil, err
		}
	}
	// The header is written last; until then the file starts with zeros.
	w.origSize = 0
	w.init()
	w.out.zeros(HeaderSize)
	return w, nil
}

// init sets up the state shared by Create and OpenAppend and starts the
// pipeline.
func (w *Writer) init() {
	if w.have == nil {
		w.have = make(map[Hash]int64)
	}
	w.refs = make(map[Hash]uint32)
	w.removed = make(map[int]bool)
	w.piece = w.chunk
	if w.codec == None {
		w.piece = 256 << 10
	}
	w.out.f = w.f
	w.out.writeback = w.opts.StartWriteback && !w.opts.NoSync
	n := w.threads()
	// The window of chunks in flight: enough that workers and the writer
	// rarely wait on each other (each handoff can cost a scheduling delay
	// on a busy machine), small enough to bound memory (a few MiB).
	// Compressed chunks get eight per worker (at least 16): each holds its
	// data and its compressed copy, and the pools keep as many again. The
	// 64 of before, on 2 CPUs, raised an LZX capture's peak RSS (418 MB
	// tree) from 74 to 82 MiB, twice wimlib's, at the same CPU time.
	compress := w.codec != None || (w.solid.on && w.solid.codec != None)
	window := max(64, 8*n)
	if compress {
		window = max(16, 8*n)
	}
	if w.piece > 0 {
		window = min(window, max(4*n+4, (64<<20)/w.piece))
	}
	w.order = make(chan *wtask, window)
	w.writerD = make(chan struct{})
	if compress {
		w.work = make(chan *wtask, window)
		for range n {
			w.workers.Add(1)
			go w.compressLoop()
		}
	}
	go w.writeLoop()
}

// threads returns the number of compression workers.
func (w *Writer) threads() int {
	if n := w.opts.Threads; n > 0 {
		return n
	}
	return runtime.GOMAXPROCS(0)
}

// Name returns the name of the WIM being written.
func (w *Writer) Name() string { return w.name }

// Compression returns the codec of the file's resources.
func (w *Writer) Compression() Compression { return w.codec }

// ChunkSize returns the chunk size of compressed resources (0 for None).
func (w *Writer) ChunkSize() int { return w.chunk }

// Solid reports whether new file blobs go into solid resources.
func (w *Writer) Solid() bool { return w.solid.on }

// ImageCount returns the number of images the file will have.
func (w *Writer) ImageCount() int { return len(w.info.Images) }

// Info returns the XML data to be written. Callers may change the fields
// of existing images (name, description, ...) before Close; Close sets the
// file's TOTALBYTES.
func (w *Writer) Info() *Info { return w.info }

// SetTotal sets the total reported with progress (bytes of data to write).
func (w *Writer) SetTotal(n int64) { w.total.Store(n) }

// HasBlob reports whether the file holds (or will hold) blob h.
func (w *Writer) HasBlob(h Hash) bool {
	_, ok := w.blobSize(h)
	return ok
}

// BlobSize returns the size of blob h, and whether the file holds (or
// will hold) it.
func (w *Writer) BlobSize(h Hash) (int64, bool) { return w.blobSize(h) }

// blobSize returns the size of blob h if the file holds it.
func (w *Writer) blobSize(h Hash) (int64, bool) {
	if n, ok := w.oldSize(h); ok {
		return n, true
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	n, ok := w.have[h]
	return n, ok
}

// oldSize returns the size of blob h if the file held it when opened
// (OpenAppend). The old table does not change: no lock.
func (w *Writer) oldSize(h Hash) (int64, bool) {
	if w.old == nil {
		return 0, false
	}
	i, ok := w.old.find(h)
	if !ok {
		return 0, false
	}
	return w.old.entries[i].Size(), true
}

// claim records blob h of size bytes as added unless the file holds it
// already, and reports whether it did; w.mu must be held.
func (w *Writer) claim(h Hash, size int64) bool {
	if _, ok := w.oldSize(h); ok {
		return false
	}
	if _, dup := w.have[h]; dup {
		return false
	}
	w.have[h] = size
	return true
}

// blobSizes yields the size of every file blob the file holds (or will
// hold).
func (w *Writer) blobSizes(yield func(int64)) {
	if w.old != nil {
		for _, e := range w.old.entries {
			if !e.IsMetadata() {
				yield(e.Size())
			}
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, n := range w.have {
		yield(n)
	}
}

// AddRef adds n references to blob h, which the file holds: the reference
// counts recorded in the blob table. AddImage counts the references of its
// image itself; AddRef is for blobs used from other files (a Res.rwm's
// blobs used by its group's image files).
func (w *Writer) AddRef(h Hash, n uint32) {
	w.mu.Lock()
	w.refs[h] += n
	w.mu.Unlock()
}

// SetBootIndex marks image index (1-based) as the bootable one; 0 clears
// the mark.
func (w *Writer) SetBootIndex(index int) error {
	if index < 0 || index > len(w.info.Images) {
		return fmt.Errorf("wim: %s: boot index %d out of range (%d images)", w.name, index, len(w.info.Images))
	}
	w.bootIndex = index
	return nil
}

// failed returns the first pipeline error.
func (w *Writer) failed() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

func (w *Writer) setErr(err error) {
	w.mu.Lock()
	if w.err == nil {
		w.err = err
	}
	w.mu.Unlock()
}

// WriteBlob writes a blob of size bytes read from r, unless the file
// already holds a blob with the same digest, and returns its SHA-1 digest.
// Reading r and compressing overlap with the caller's next calls: a write
// error may be reported by a later call or by Close. An empty blob is not
// stored; its digest is the zero Hash.
func (w *Writer) WriteBlob(ctx context.Context, r io.Reader, size int64) (Hash, error) {
	return w.writeStream(ctx, r, size, nil, false, nil)
}

// WriteBlobHash is WriteBlob for a blob whose digest the caller knows: it
// skips the blob without calling open when the file holds it already.
// Otherwise it reads the data from open and checks it against h.
func (w *Writer) WriteBlobHash(ctx context.Context, h Hash, size int64, open func() (io.ReadCloser, error)) error {
	if size == 0 || w.HasBlob(h) {
		return nil
	}
	rc, err := open()
	if err != nil {
		return err
	}
	defer rc.Close()
	_, err = w.writeStream(ctx, rc, size, &h, false, nil)
	return err
}

// writeMetadata writes an image's metadata resource through the pipeline.
func (w *Writer) writeMetadata(ctx context.Context, data []byte, slot *metaSlot) error {
	_, err := w.writeStream(ctx, bytes.NewReader(data), int64(len(data)), nil, false, slot)
	return err
}

// writeHashed writes data, whose SHA-1 digest the caller computed from
// these very bytes as h, without hashing it again.
func (w *Writer) writeHashed(ctx context.Context, data []byte, h Hash) error {
	_, err := w.writeStream(ctx, bytes.NewReader(data), int64(len(data)), &h, true, nil)
	return err
}

// pieceBuffer returns a buffer of n <= w.piece bytes for the pipeline (give
// it back with putBuffer): a pooled one of the power of two at or above n
// (at least 4 KiB, at most the piece), so that a short piece (a small
// file, a compressed chunk) costs no allocation or zeroing once the pools
// are warm, and at most twice its size. A capture of a tree of small files
// allocated a buffer for each file and each compressed chunk before: 550
// MB for the 418 MB of tree A of the bench corpus, a GC cycle every few MB.
func (w *Writer) pieceBuffer(n int) []byte {
	c := max(4096, 1<<bits.Len(uint(max(n, 1)-1)))
	if c > w.piece {
		c = w.piece
	}
	return getBuffer(c, c)[:n]
}

// ownedPiece is a blob of at most one piece that its caller read into a
// buffer from pieceBuffer and hands over to writeStream, which queues that
// very buffer instead of copying it into one of its own (see writeOwned).
type ownedPiece struct {
	buf   []byte
	taken bool // writeStream queued buf: it is the writer's now
}

// Read is for a writeStream that does not take buf as it is (it is then
// read as any reader).
func (o *ownedPiece) Read(p []byte) (int, error) {
	if o.taken || len(o.buf) == 0 {
		return 0, io.EOF
	}
	n := copy(p, o.buf)
	o.buf = o.buf[n:]
	return n, nil
}

// ownedBuffer returns a buffer of n bytes from pieceBuffer for data to hand
// to writeOwned, or nil when a blob of n bytes cannot be handed over
// whole: longer than a piece, or for a solid resource (which has buffers
// of its own).
func (w *Writer) ownedBuffer(n int64) []byte {
	if w.solid.on || n <= 0 || n > int64(w.piece) {
		return nil
	}
	return w.pieceBuffer(int(n))
}

// writeOwned is writeHashed for data in a buffer from ownedBuffer, which
// the writer takes over: queued as it is, or given back to the pool.
func (w *Writer) writeOwned(ctx context.Context, data []byte, h Hash) error {
	o := &ownedPiece{buf: data}
	_, err := w.writeStream(ctx, o, int64(len(data)), &h, true, nil)
	if !o.taken {
		putBuffer(data) // a duplicate, or the writer failed
	}
	return err
}

// blobHasher hashes a blob's bytes as they are fed to the writer, unless
// their digest is known already (computed by the caller from these very
// bytes, in memory), or r hashes them itself (see newBlobHasher).
type blobHasher struct {
	sha   hash.Hash // nil when known
	known *Hash
	// self, when set, is the reader that hashes the bytes on their way
	// and checks them against *known: check asks for its verdict.
	self *hashingReader
}

// newBlobHasher returns the hasher of size bytes read from r: one that
// computes the digest; with hashed, one that returns *want as it; and when
// r is a blob of a WIM read whole through a hashingReader that checks its
// bytes against *want (an export's blob decompressed to be compressed
// again), one that leaves the hashing to r, for hashing them here too
// would hash every byte twice (SHA-1 of an export's 418 MB: ~0.3 s).
func newBlobHasher(r io.Reader, size int64, want *Hash, hashed bool) blobHasher {
	if hashed {
		return blobHasher{known: want}
	}
	if hr, ok := r.(*hashingReader); ok && want != nil && hr.want == *want && hr.remain == size && hr.err == nil {
		return blobHasher{known: want, self: hr}
	}
	return blobHasher{sha: sha1.New()}
}

// check returns, once the blob's bytes have all been fed, what the reader
// that hashed them found wrong (see hashingReader.checkedAll); nil when
// the hasher hashes them itself (sum is then compared with the digest
// wanted).
func (b blobHasher) check() error {
	if b.self != nil {
		return b.self.checkedAll()
	}
	return nil
}

func (b blobHasher) add(p []byte) {
	if b.sha != nil {
		b.sha.Write(p)
	}
}

func (b blobHasher) sum() (h Hash) {
	if b.known != nil {
		return *b.known
	}
	b.sha.Sum(h[:0])
	return h
}

// writeStream feeds a blob to the pipeline chunk by chunk, hashing it and,
// when want is set, checking it against *want: data read again from a file
// may have changed since the caller hashed it. With hashed, *want is the
// digest of r's bytes as they are (the caller hashed them in memory), and
// they are not hashed again.
func (w *Writer) writeStream(ctx context.Context, r io.Reader, size int64, want *Hash, hashed bool, meta *metaSlot) (Hash, error) {
	if w.finished {
		return Hash{}, fmt.Errorf("wim: %s: writer is closed", w.name)
	}
	if size < 0 {
		return Hash{}, fmt.Errorf("wim: negative blob size %d", size)
	}
	if err := w.failed(); err != nil {
		return Hash{}, err
	}
	if size == 0 && meta == nil {
		return Hash{}, nil
	}
	if want != nil && w.HasBlob(*want) {
		return *want, nil
	}
	if w.solid.on && meta == nil {
		return w.writeSolid(ctx, r, size, want, hashed)
	}
	piece := int64(w.piece)
	b := &wblob{size: size, nchunks: max(1, (size+piece-1)/piece), meta: meta}
	sha := newBlobHasher(r, size, want, hashed)
	queued := false
	abort := func(err error) (Hash, error) {
		if queued {
			w.send(&wtask{kind: taskAbort, b: b})
		}
		return Hash{}, err
	}
	for i := int64(0); i < b.nchunks; i++ {
		if err := ctx.Err(); err != nil {
			return abort(err)
		}
		if err := w.failed(); err != nil {
			return abort(err)
		}
		n := min(piece, size-i*piece)
		var buf []byte
		if o, ok := r.(*ownedPiece); ok && int64(len(o.buf)) == n && b.nchunks == 1 {
			buf, o.taken = o.buf, true // the caller's pooled buffer: no copy
		} else {
			buf = w.pieceBuffer(int(n))
			if _, err := io.ReadFull(r, buf); err != nil {
				putBuffer(buf)
				if err == io.EOF || err == io.ErrUnexpectedEOF {
					err = fmt.Errorf("data ended at byte %d of %d (did the file change?)", i*piece+int64(len(buf)), size)
				}
				return abort(err)
			}
		}
		sha.add(buf)
		t := &wtask{kind: taskChunk, b: b, idx: i, data: buf, last: i == b.nchunks-1, ctx: ctx}
		if t.last {
			if err := sha.check(); err != nil {
				putBuffer(buf)
				return abort(err)
			}
			b.hash = sha.sum()
			if want != nil && b.hash != *want {
				putBuffer(buf)
				return abort(fmt.Errorf("data hashes to %s, not %s (did the file change?)", b.hash, *want))
			}
			if meta == nil {
				w.mu.Lock()
				b.drop = !w.claim(b.hash, size)
				w.mu.Unlock()
			}
			if b.drop && !queued {
				putBuffer(buf) // a one-chunk duplicate: nothing to undo
				return b.hash, nil
			}
		}
		if err := w.submit(ctx, t); err != nil {
			return Hash{}, err
		}
		queued = true
	}
	return b.hash, nil
}

// submit queues t in file order and hands it to a compression worker.
// When ctx ends while it waits for room, the writer is marked failed (so
// Close aborts it) and ctx's error returned.
func (w *Writer) submit(ctx context.Context, t *wtask) error {
	if (t.kind == taskChunk && w.codec != None) || (t.kind == taskSolid && w.solid.codec != None) {
		t.done = make(chan struct{})
		if err := w.sendCtx(ctx, t); err != nil {
			close(t.done)
			if t.kind == taskSolid {
				// The write goroutine never sees it: give back its slot.
				w.putSolidBuffer(t.data)
				<-w.solid.slots
			} else {
				putBuffer(t.data)
			}
			return err
		}
		select {
		case w.work <- t:
		case <-ctx.Done():
			// The write goroutine waits on t.done: it finds the
			// writer failed and drops the chunk.
			w.cancelled(ctx.Err())
			close(t.done)
			return ctx.Err()
		}
		return nil
	}
	return w.sendCtx(ctx, t)
}

// send queues t for the write goroutine, after any pending run of raw
// copies.
func (w *Writer) send(t *wtask) {
	w.sendCtx(context.Background(), t)
}

// sendCtx is send that gives up when ctx ends while the queue is full: the
// writer is then marked failed and ctx's error returned.
func (w *Writer) sendCtx(ctx context.Context, t *wtask) error {
	if t != nil && t.kind != taskSolid && w.solid.cur != nil {
		// What is queued now goes after the solid resource being filled.
		if err := w.endSolid(ctx); err != nil {
			return err
		}
	}
	if r := w.run; r != nil {
		w.run = nil
		select {
		case w.order <- r:
		case <-ctx.Done():
			w.cancelled(ctx.Err())
			return ctx.Err()
		}
	}
	if t != nil {
		select {
		case w.order <- t:
		case <-ctx.Done():
			w.cancelled(ctx.Err())
			return ctx.Err()
		}
	}
	return nil
}

// cancelled marks the writer failed with err (a context's error): what is
// queued is dropped, and Close aborts.
func (w *Writer) cancelled(err error) {
	w.setErr(err)
	w.aborting.Store(true)
}

// dropping reports whether the task t is not to be done: the writer is
// aborting or t's call was cancelled (which then fails the writer).
func (w *Writer) dropping(t *wtask) bool {
	if w.aborting.Load() {
		return true
	}
	if t.ctx != nil {
		if err := t.ctx.Err(); err != nil {
			w.cancelled(err)
			return true
		}
	}
	return false
}

// maxRawRun bounds the bytes copied as stored in one read.
const maxRawRun = 4 << 20

// queueRaw queues the copy of blob h, stored as res in o. Blobs stored one
// after the other are copied together, in one read.
func (w *Writer) queueRaw(ctx context.Context, o *WIM, res ResourceHeader, h Hash) error {
	if r := w.run; r != nil && r.src == o {
		last := r.srcRes
		if len(r.more) > 0 {
			last = r.more[len(r.more)-1].res
		}
		if res.Offset == last.End() && res.End()-r.srcRes.Offset <= maxRawRun {
			r.more = append(r.more, rawItem{res, h})
			return nil
		}
	}
	if err := w.sendCtx(ctx, nil); err != nil {
		return err
	}
	w.run = &wtask{kind: taskRaw, src: o, srcRes: res, srcHash: h, ctx: ctx}
	return nil
}

// compressLoop is a compression worker.
func (w *Writer) compressLoop() {
	defer w.workers.Done()
	// The compressor is made for the first chunk: a writer that only
	// copies resources as stored (a metadata-only image file) never needs
	// one, and an LZX compressor's tables cost more than such a file.
	// Metadata resources have their own (see metadataLZXLevel), made for
	// their first chunk.
	var c, mc chunkCompressor
	var err error
	mlevel := metadataLZXLevel(w.opts.LZXLevel)
	for t := range w.work {
		if t.kind == taskSolid {
			if len(t.data) > 1 && !w.dropping(t) {
				if e := w.compressSolidChunk(t); e != nil {
					w.setErr(fmt.Errorf("wim: %s: %w", w.name, e))
					w.aborting.Store(true)
				}
			}
			close(t.done)
			continue
		}
		if c == nil && err == nil {
			c, err = newCompressor(w.codec, w.chunk, w.opts.LZXLevel)
			if err != nil {
				// Storing the data raw instead would be silent: fail.
				w.setErr(fmt.Errorf("wim: %s: %w", w.name, err))
				w.aborting.Store(true)
			}
		}
		cc := c
		if err == nil && t.b.meta != nil && w.codec == LZX && mlevel != w.opts.LZXLevel {
			if mc == nil {
				if mc, err = newCompressor(LZX, w.chunk, mlevel); err != nil {
					w.setErr(fmt.Errorf("wim: %s: %w", w.name, err))
					w.aborting.Store(true)
				}
			}
			cc = mc
		}
		if err == nil && len(t.data) > 1 && !w.dropping(t) {
			dst := w.pieceBuffer(len(t.data) - 1)
			if n := compressChunk(cc, dst, t.data); n > 0 && n < len(t.data) {
				t.comp = dst[:n]
			} else {
				putBuffer(dst)
			}
		}
		close(t.done)
	}
}

// metadataLZXLevel returns the LZX level of image metadata in a file whose
// data is compressed at level (see WriteOptions.LZXLevel): the fast level,
// unless level asks for something faster still or for the slow setting.
// On a metadata resource (entries of similar fields, names, little long-range
// repetition) the fast level's hash chains and lazy parse compress about
// as well as the default level's minimum-cost paths — on a 6.4 MB resource
// of 33,000 files, 1.6% smaller — in an eighth of the time: the metadata is
// what a servicing commit of a small change compresses, and the serial end
// of a capture.
func metadataLZXLevel(level int) int {
	switch {
	case level == 0:
		return lzx.LevelFast
	case level <= lzx.LevelFast, lzx.LevelName(level) == "slow":
		return level
	}
	return lzx.LevelFast
}

// chunkCompressor is what the codec packages provide.
type chunkCompressor interface {
	Compress(dst, src []byte) int
}

func newCompressor(c Compression, chunk, lzxLevel int) (chunkCompressor, error) {
	switch c {
	case XPRESS:
		return xpress.NewCompressor(chunk)
	case LZX:
		return lzx.NewCompressorLevel(chunk, lzxLevel)
	case LZMS:
		return lzms.NewCompressor(chunk)
	}
	return nil, fmt.Errorf("wim: no compressor for %v", c)
}

// inPlaceCompressor is a compressor that can work on the caller's chunk
// where it lies, given room past it, and restores it before it returns,
// also when it panics (the LZMS compressor: see lzms.CompressInPlace).
type inPlaceCompressor interface {
	CompressInPlace(dst, src []byte) int
}

// compressChunk calls c, turning a codec panic into "did not shrink": the
// chunk is then stored raw, which is always correct.
func compressChunk(c chunkCompressor, dst, src []byte) (n int) {
	defer func() {
		if recover() != nil {
			n = 0
		}
	}()
	return c.Compress(dst, src)
}

// compressChunkInPlace is compressChunk for a chunk the caller gives up
// while it runs (src's backing array has room past it, which it may
// overwrite): a compressor that can, compresses it where it lies, without
// a copy.
func compressChunkInPlace(c chunkCompressor, dst, src []byte) (n int) {
	ic, ok := c.(inPlaceCompressor)
	if !ok {
		return compressChunk(c, dst, src)
	}
	defer func() {
		if recover() != nil {
			n = 0
		}
	}()
	return ic.CompressInPlace(dst, src)
}

// writeLoop is the write goroutine: it takes the tasks in file order and
// writes them.
func (w *Writer) writeLoop() {
	defer close(w.writerD)
	for t := range w.order {
		switch t.kind {
		case taskBarrier:
			w.out.flush()
			if t.barrierF && w.out.err == nil {
				if err := w.f.Sync(); err != nil {
					w.out.err = err
				}
			}
			if w.out.err != nil {
				w.setErr(fmt.Errorf("wim: %s: %w", w.path, w.out.err))
			}
			close(t.barrier)
		case taskRaw:
			if !w.dropping(t) {
				w.copyRaw(t)
			}
		case taskAbort:
			if t.b.start != 0 {
				w.out.rollback(t.b.start)
			}
		case taskChunk:
			if w.dropping(t) {
				w.dropChunk(t)
			} else {
				w.writeChunk(t)
			}
		case taskSolid:
			if w.dropping(t) {
				w.dropSolidChunk(t)
			} else {
				w.writeSolidChunk(t)
			}
		}
		if w.out.err != nil {
			w.setErr(fmt.Errorf("wim: %s: %w", w.path, w.out.err))
		}
	}
	w.out.flush()
	if w.out.err != nil {
		w.setErr(fmt.Errorf("wim: %s: %w", w.path, w.out.err))
	}
}

// dropChunk releases a chunk that is not written (the writer is aborting).
func (w *Writer) dropChunk(t *wtask) {
	if t.done != nil {
		<-t.done
	}
	putBuffer(t.data)
	if t.comp != nil {
		putBuffer(t.comp)
	}
}

// writeChunk writes one chunk of a blob, starting or finishing the blob's
// resource as needed.
func (w *Writer) writeChunk(t *wtask) {
	b := t.b
	if t.idx == 0 {
		b.start = w.out.pos()
		b.rawOnly = true
		if w.codec != None && b.nchunks > 1 {
			b.entSize = 4
			if b.size > math.MaxUint32 {
				b.entSize = 8
			}
			b.table = make([]byte, 0, (b.nchunks-1)*int64(b.entSize))
			w.out.zeros(int((b.nchunks - 1) * int64(b.entSize)))
		}
	}
	if t.done != nil {
		<-t.done
	}
	data := t.data
	if t.comp != nil {
		data = t.comp
		b.rawOnly = false
	}
	w.out.write(data)
	b.csum += int64(len(data))
	if b.entSize != 0 && !t.last {
		if b.entSize == 4 {
			b.table = binary.LittleEndian.AppendUint32(b.table, uint32(b.csum))
		} else {
			b.table = binary.LittleEndian.AppendUint64(b.table, uint64(b.csum))
		}
	}
	n := int64(len(t.data))
	putBuffer(t.data)
	if t.comp != nil {
		putBuffer(t.comp)
	}
	done := w.done.Add(n)
	w.opts.Progress.Send(progress.Report{Phase: PhaseWrite, Done: done, Total: max(w.total.Load(), done)})
	if !t.last {
		return
	}
	if b.drop {
		w.out.rollback(b.start)
		return
	}
	if len(b.table) > 0 {
		w.out.patch(b.start, b.table)
	}
	res := ResourceHeader{Offset: b.start, StoredSize: w.out.pos() - b.start, Size: b.size}
	if w.codec != None && !(b.nchunks == 1 && b.rawOnly) {
		res.Flags |= ResCompressed
	}
	if b.meta != nil {
		res.Flags |= ResMetadata
		b.meta.res, b.meta.hash, b.meta.ok = res, b.hash, true
		return
	}
	w.mu.Lock()
	w.newBlob = append(w.newBlob, BlobEntry{Res: res, Part: 1, Hash: b.hash})
	w.mu.Unlock()
	if crashHook != nil {
		crashHook("blob")
	}
}

// copyRaw copies a stored resource from another WIM as it is.
func (w *Writer) copyRaw(t *wtask) {
	if t.src.pipable && t.srcRes.Compressed() {
		w.copyUnpiped(t) // chunks laid out differently (see pipable.go)
		return
	}
	pos := w.out.pos()
	n := t.srcRes.StoredSize
	if len(t.more) > 0 {
		n = t.more[len(t.more)-1].res.End() - t.srcRes.Offset
	}
	if n <= outBufSize/4 {
		// Small: read it straight into the write buffer.
		b := w.out.grow(int(n))
		if b == nil {
			return
		}
		if _, err := t.src.ra.ReadAt(b, t.srcRes.Offset); err != nil {
			w.setErr(fmt.Errorf("wim: %s: reading blob %s at offset 0x%x: %w", t.src.name, t.srcHash, t.srcRes.Offset, err))
			w.out.rollback(pos)
			return
		}
		w.rawDone(t, pos)
		return
	}
	w.out.flush()
	if w.out.err != nil {
		return
	}
	// In the kernel where the source is a file; the rest (or all of an
	// in-memory source) through the buffer.
	// Piece by piece, so that a cancel stops a copy of gigabytes.
	k := int64(0)
	for t.src.f != nil && k < n {
		if w.dropping(t) {
			w.out.rollback(pos)
			return
		}
		m := min(int64(copyPiece), n-k)
		c := w.out.copyFrom(t.src.f, t.srcRes.Offset+k, m)
		k += c
		if c < m {
			break
		}
	}
	if k < n && w.srcBuf == nil {
		w.srcBuf = make([]byte, 1<<20)
	}
	for i := 0; k < n; i++ {
		if i%(copyPiece/(1<<20)) == 0 && w.dropping(t) {
			w.out.rollback(pos)
			return
		}
		m := min(int64(len(w.srcBuf)), n-k)
		if _, err := t.src.ra.ReadAt(w.srcBuf[:m], t.srcRes.Offset+k); err != nil {
			w.setErr(fmt.Errorf("wim: %s: reading blob %s at offset 0x%x: %w", t.src.name, t.srcHash, t.srcRes.Offset+k, err))
			w.out.rollback(pos)
			return
		}
		w.out.writeDirect(w.srcBuf[:m])
		if w.out.err != nil {
			return
		}
		k += m
	}
	w.rawDone(t, pos)
}

// rawDone records the resources of t, copied as stored at pos: blobs, an
// image's metadata, or a whole solid resource.
func (w *Writer) rawDone(t *wtask, pos int64) {
	if res := t.rawSolid; res != nil {
		res.res = ResourceHeader{Offset: pos, StoredSize: t.srcRes.StoredSize, Size: solidResourceMagic, Flags: ResSolid}
		res.ok = true
		var n int64
		for _, b := range res.blobs {
			n += b.size
		}
		done := w.done.Add(n)
		w.opts.Progress.Send(progress.Report{Phase: PhaseWrite, Done: done, Total: max(w.total.Load(), done)})
		return
	}
	w.rawRecord(t, t.srcRes, t.srcHash, pos)
	for _, it := range t.more {
		w.rawRecord(t, it.res, it.hash, pos+it.res.Offset-t.srcRes.Offset)
	}
}

// rawRecord records one resource res of t, copied as stored at pos.
func (w *Writer) rawRecord(t *wtask, res ResourceHeader, hash Hash, pos int64) {
	res.Offset = pos
	res.Flags &^= ResSolid | ResSpanned | ResFree | ResMetadata
	if t.meta != nil {
		res.Flags |= ResMetadata
		t.meta.res, t.meta.hash, t.meta.ok = res, hash, true
		return
	}
	w.mu.Lock()
	w.newBlob = append(w.newBlob, BlobEntry{Res: res, Part: 1, Hash: hash})
	w.mu.Unlock()
	done := w.done.Add(res.Size)
	w.opts.Progress.Send(progress.Report{Phase: PhaseWrite, Done: done, Total: max(w.total.Load(), done)})
}

// CopyBlob copies blob h from src (or one of its references) into the
// file, unless the file holds it already. A resource compressed with the
// file's codec and chunk size is copied as stored, without decompressing
// it (its digest is taken from src's blob table); any other is read,
// checked against its digest and compressed again.
func (w *Writer) CopyBlob(ctx context.Context, src *WIM, h Hash) error {
	if want, err := w.wantsBlob(h); !want {
		return err
	}
	o, e := src.find(h)
	if o == nil {
		return src.missing(h)
	}
	return w.copyFound(ctx, foundBlob{h: h, o: o, e: e})
}

// wantsBlob reports whether blob h is still to be copied into the file:
// not the zero hash and not held already; false with the error once the
// writer has failed.
func (w *Writer) wantsBlob(h Hash) (bool, error) {
	if h.IsZero() || w.HasBlob(h) {
		return false, nil
	}
	if err := w.failed(); err != nil {
		return false, err
	}
	return true, nil
}

// copyFound is CopyBlob's copy of a blob looked up already, and wanted
// (wantsBlob): CopyImageBlobs looks each up once, to plan the copy.
func (w *Writer) copyFound(ctx context.Context, f foundBlob) error {
	h, o, e := f.h, f.o, f.e
	if !w.solid.on && w.canRawCopy(o, e) {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := o.checkStored(e.Res, "blob ", h); err != nil {
			return err
		}
		w.mu.Lock()
		w.have[h] = e.Size()
		w.mu.Unlock()
		return w.queueRaw(ctx, o, e.Res, h)
	}
	rc, err := o.openEntry(e, "blob")
	if err != nil {
		return err
	}
	defer rc.Close()
	_, err = w.writeStream(ctx, rc, e.Size(), &h, false, nil)
	return err
}

// canRawCopy reports whether blob e of o can be copied as stored.
func (w *Writer) canRawCopy(o *WIM, e *BlobEntry) bool {
	return !w.opts.Recompress && storedAs(o, e, w.codec, w.chunk)
}

// storedAs reports whether blob e of o can be copied as stored into a
// file of codec c and chunk size chunk.
func storedAs(o *WIM, e *BlobEntry, c Compression, chunk int) bool {
	if e.Solid != nil || e.Res.Flags&(ResSolid|ResFree) != 0 {
		return false
	}
	oc := o.hdr.Compression()
	if e.Res.Compressed() {
		return c != None && oc == c && int(o.hdr.ChunkSize) == chunk
	}
	// A blob stored raw: the same bytes whatever the codec, and what
	// compressing it with the same codec would give again.
	return c == None || (oc == c && int(o.hdr.ChunkSize) == chunk)
}

// MetadataStoredAs reports whether the metadata resource of image index
// can be copied as stored into a file of codec c and chunk size chunk
// (written without Recompress): AddImageFrom then copies it so, and
// AddImageRefs can add the image.
func (w *WIM) MetadataStoredAs(index int, c Compression, chunk int) bool {
	e, err := w.MetadataEntry(index)
	if err != nil {
		return false
	}
	if c == None {
		chunk = 0
	}
	return storedAs(w, &e, c, chunk)
}

// Flush waits until everything queued so far is written to the file and,
// when sync is true, synced to disk.
func (w *Writer) Flush(sync bool) error {
	if w.finished {
		return fmt.Errorf("wim: %s: writer is closed", w.name)
	}
	t := &wtask{kind: taskBarrier, barrier: make(chan struct{}), barrierF: sync}
	w.send(t)
	<-t.barrier
	return w.failed()
}

// stopPipeline ends the goroutines once everything queued is written.
func (w *Writer) stopPipeline() {
	if w.finished {
		return
	}
	if w.aborting.Load() || w.failed() != nil {
		w.solid.cur = nil
	} else if err := w.endSolid(context.Background()); err != nil {
		w.setErr(err)
	}
	if w.solid.on {
		w.releaseSolidFill() // a buffer left unused or unwritten
	}
	w.send(nil)
	w.finished = true
	close(w.order)
	<-w.writerD
	if w.work != nil {
		close(w.work)
		w.workers.Wait()
	}
	w.freeSolidBufs()
}

// Abort discards the writing: a new file's temporary file is removed; an
// appended file is cut back to its size and its header flags restored.
func (w *Writer) Abort() error {
	if w.f == nil {
		return nil
	}
	w.aborting.Store(true)
	w.stopPipeline()
	w.out.release()
	defer func() { w.f = nil }()
	if w.create {
		w.f.Close()
		defer w.releaseTemp()
		return os.Remove(w.path)
	}
	var err error
	if st, e := w.f.Stat(); e == nil && st.Size() > w.origSize {
		err = w.f.Truncate(w.origSize)
	}
	var fl [4]byte
	// The flags as they were: an export may have added the reparse-point
	// fix flag to w.hdr meanwhile.
	binary.LittleEndian.PutUint32(fl[:], w.origFlags&^FlagWriteInProgress)
	if _, e := w.f.WriteAt(fl[:], 0x10); err == nil {
		err = e
	}
	if e := w.f.Close(); err == nil {
		err = e
	}
	return err
}

// hook calls the test hook for a named step of Close.
func (w *Writer) hook(step string) {
	if crashHook != nil {
		crashHook(step)
	}
}

// crashHook is set by tests to stop the process at named steps: "blob"
// after each blob written, and the steps of Close.
var crashHook func(step string)

// Close finishes the file: it waits for the data, writes the blob table,
// the XML data and the integrity table, syncs, and writes the header last.
// A new file is then renamed into place. On error the writing is aborted
// (see Abort) and the file left as it was.
func (w *Writer) Close() error {
	return w.close(nil)
}

// CloseContext is Close that gives up, aborting the writing (see Abort),
// when ctx ends before the file is committed: before the header is
// written and, for a new file, before the rename. Once the header of an
// appended file is written the append stands.
func (w *Writer) CloseContext(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		if w.f == nil {
			return fmt.Errorf("wim: %s: writer is closed", w.name)
		}
		w.Abort()
		w.releaseTemp()
		return err
	}
	w.closeCtx = ctx
	return w.close(nil)
}

// closeCancelled returns the error of CloseContext's context once it has
// ended.
func (w *Writer) closeCancelled() error {
	if w.closeCtx == nil {
		return nil
	}
	return w.closeCtx.Err()
}

// close is Close with a function run between syncing the new file and
// renaming it into place (Optimize closes its source there).
func (w *Writer) close(beforeRename func()) error {
	if w.f == nil {
		return fmt.Errorf("wim: %s: writer is closed", w.name)
	}
	// The temporary file stays locked until renamed or removed.
	defer w.releaseTemp()
	w.stopPipeline()
	if err := w.failed(); err != nil {
		w.Abort()
		return err
	}
	err := w.finish()
	w.out.release()
	if err != nil {
		if w.headerWritten {
			// The new header is on disk: the file is complete, only
			// syncing or tidying failed. Keep it.
			w.f.Close()
			w.f = nil
			if w.create {
				os.Remove(w.path)
			}
			return err
		}
		w.Abort()
		return err
	}
	f := w.f
	w.f = nil
	if err := f.Close(); err != nil {
		if w.create {
			os.Remove(w.path)
		}
		return fmt.Errorf("wim: %s: %w", w.path, err)
	}
	if !w.create {
		return nil
	}
	if w.opts.Pipable {
		if err := w.convertPipable(); err != nil {
			os.Remove(w.path)
			return err
		}
	}
	if beforeRename != nil {
		beforeRename()
	}
	if err := w.closeCancelled(); err != nil {
		os.Remove(w.path)
		return err
	}
	if err := os.Rename(w.path, w.name); err != nil {
		os.Remove(w.path)
		return fmt.Errorf("wim: %w", err)
	}
	if !w.opts.NoSync {
		syncDir(filepath.Dir(w.name))
	}
	return nil
}

// releaseTemp drops the lock on a new file's temporary file.
func (w *Writer) releaseTemp() {
	if w.hold != nil {
		w.hold.Close()
		w.hold = nil
	}
	if w.oldLock != nil {
		w.oldLock.Close()
		w.oldLock = nil
	}
}

// syncDir makes a rename in dir durable where the system allows it.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync() // not supported on every system: best effort
		d.Close()
	}
}

// finish writes the tables and the header (the pipeline has stopped).
func (w *Writer) finish() error {
	w.hook("after-data")
	// Image metadata entries, image order, then file blobs.
	var table []byte
	var meta []ResourceHeader // metadata resources of the images, in order
	nOld := len(w.oldTable) / blobEntrySize
	oldEntry := func(i int) BlobEntry { return decodeBlobEntry(w.oldTable[i*blobEntrySize:]) }
	keepOld := make([]bool, nOld)
	for i := range keepOld {
		keepOld[i] = true
	}
	for k, i := range w.oldMeta {
		if w.removed[k+1] {
			keepOld[i] = false
		}
	}
	w.mu.Lock()
	refs := w.refs
	newBlob := w.newBlob
	w.mu.Unlock()
	oldSolid := w.oldVersionSolid
	// first reports whether old entry i is the first of the table with its
	// digest: the one that counts the references. Only asked when there
	// are references to count or solid runs to move.
	var oldIdx map[Hash]int
	first := func(i int, e *BlobEntry) bool {
		if e.IsMetadata() || e.Hash.IsZero() {
			return false
		}
		if oldIdx == nil {
			oldIdx = make(map[Hash]int, nOld)
			for j := nOld - 1; j >= 0; j-- {
				if o := oldEntry(j); !o.IsMetadata() && !o.Hash.IsZero() {
					oldIdx[o.Hash] = j
				}
			}
		}
		return oldIdx[e.Hash] == i
	}
	table = slices.Grow(table, blobEntrySize*(len(w.newMeta)+len(newBlob)))
	// The table is written in pieces: runs of old entries that stay as
	// they are, from the old table as stored (a Res.rwm's is megabytes,
	// not worth copying), and the entries encoded anew, from table.
	var pieces [][]byte
	fresh := 0 // entries of table from here are not in pieces yet
	takeFresh := func() {
		if len(table) > fresh {
			pieces = append(pieces, table[fresh:len(table):len(table)])
			fresh = len(table)
		}
	}
	same := -1 // the run of old entries kept as stored starts here
	endSame := func(i int) {
		if same >= 0 {
			pieces = append(pieces, w.oldTable[same*blobEntrySize:i*blobEntrySize])
			same = -1
		}
	}
	// Solid entries of the old table move, run by run, into the one solid
	// run written last (see appendSolidTable).
	var runs []solidRun
	oldFirst := make(map[Hash]bool)
	prevSolid := false
	for i := range nOld {
		e := oldEntry(i)
		solid := e.Res.Flags&ResSolid != 0
		startsRun := !prevSolid
		prevSolid = solid
		if !keepOld[i] {
			endSame(i)
			continue
		}
		if oldSolid {
			if solid {
				if i == 0 || startsRun {
					runs = append(runs, solidRun{})
				}
				r := &runs[len(runs)-1]
				r.entries = append(r.entries, e)
				if first(i, &e) {
					oldFirst[e.Hash] = true
				}
				endSame(i)
				continue
			}
		}
		stored := e
		if !oldSolid && w.solid.on {
			// The flag means nothing in the old version: keep it so.
			e.Res.Flags &^= ResSolid
		}
		if len(refs) > 0 && first(i, &e) {
			e.RefCount = satAdd(e.RefCount, refs[e.Hash])
		}
		if e == stored {
			if same < 0 {
				takeFresh()
				same = i
			}
			continue
		}
		endSame(i)
		table = e.appendEncode(table)
	}
	endSame(nOld)
	for k, i := range w.oldMeta {
		if !w.removed[k+1] {
			meta = append(meta, oldEntry(i).Res)
		}
	}
	for _, s := range w.newMeta {
		if !s.ok {
			return fmt.Errorf("wim: %s: metadata resource was not written", w.name)
		}
		e := BlobEntry{Res: s.res, Part: 1, RefCount: 1, Hash: s.hash}
		table = e.appendEncode(table)
		meta = append(meta, s.res)
	}
	slices.SortStableFunc(newBlob, func(a, b BlobEntry) int { return cmpInt64(a.Res.Offset, b.Res.Offset) })
	for _, e := range newBlob {
		e.RefCount = max(1, refs[e.Hash])
		table = e.appendEncode(table)
	}
	if len(runs) > 0 || len(w.solid.all) > 0 {
		var err error
		if table, err = w.appendSolidTable(table, runs, refs, oldFirst); err != nil {
			return err
		}
	}
	takeFresh()
	var tableSize int64
	for _, p := range pieces {
		tableSize += int64(len(p))
	}
	if len(meta) != len(w.info.Images) {
		return fmt.Errorf("wim: %s: %d metadata resources for %d images in the XML data", w.name, len(meta), len(w.info.Images))
	}

	h := w.hdr
	h.Flags &^= FlagWriteInProgress
	h.ImageCount = uint32(len(w.info.Images))
	pos := w.out.pos()
	h.BlobTable = ResourceHeader{Offset: pos, StoredSize: tableSize, Size: tableSize, Flags: ResMetadata}
	for _, p := range pieces {
		w.out.write(p)
	}
	w.hook("after-table")

	w.info.TotalBytes = w.out.pos()
	xmlData, err := w.info.Marshal()
	if err != nil {
		return fmt.Errorf("wim: %s: %w", w.name, err)
	}
	h.XML = ResourceHeader{Offset: w.out.pos(), StoredSize: int64(len(xmlData)), Size: int64(len(xmlData)), Flags: ResMetadata}
	w.out.write(xmlData)

	boot := w.bootIndex
	if boot > len(meta) {
		boot = 0
	}
	h.BootIndex = uint32(boot)
	h.BootMetadata = ResourceHeader{}
	if boot > 0 {
		h.BootMetadata = meta[boot-1]
	}
	h.Integrity = ResourceHeader{}
	w.out.flush()
	if w.out.err != nil {
		return fmt.Errorf("wim: %s: %w", w.path, w.out.err)
	}
	if w.opts.Integrity {
		t, err := w.integrity(h.BlobTable.End())
		if err != nil {
			return err
		}
		b, err := t.MarshalBinary()
		if err != nil {
			return err
		}
		h.Integrity = ResourceHeader{Offset: w.out.pos(), StoredSize: int64(len(b)), Size: int64(len(b))}
		w.out.write(b)
		w.out.flush()
	}
	end := w.out.pos()
	if w.out.err != nil {
		return fmt.Errorf("wim: %s: %w", w.path, w.out.err)
	}
	if !w.opts.NoSync {
		if err := w.f.Sync(); err != nil {
			return fmt.Errorf("wim: %s: %w", w.path, err)
		}
	}
	w.hook("before-header")
	if err := w.closeCancelled(); err != nil {
		return err
	}
	hb, _ := h.MarshalBinary()
	w.headerWritten = true // from here on the file must not be cut back
	if _, err := w.f.WriteAt(hb, 0); err != nil {
		return fmt.Errorf("wim: %s: writing header: %w", w.path, err)
	}
	if !w.opts.NoSync {
		if err := w.f.Sync(); err != nil {
			return fmt.Errorf("wim: %s: %w", w.path, err)
		}
	}
	w.hook("after-header")
	// Drop what lies past the new end: the rest of a longer old file, or
	// data of an interrupted earlier append. Nothing references it.
	if st, err := w.f.Stat(); err == nil && st.Size() > end {
		if err := w.f.Truncate(end); err == nil {
			w.f.Sync()
		}
	}
	w.hdr = h
	return nil
}

// integrity computes the integrity table of the file up to end, reusing
// the old table's digests for the chunks an append left unchanged.
func (w *Writer) integrity(end int64) (*integrityTable, error) {
	const cs = integrityChunkSize
	t := &integrityTable{ChunkSize: cs}
	total := end - HeaderSize
	n := (total + cs - 1) / cs
	reuse := int64(0)
	if o := w.oldIntegrity; o != nil && o.ChunkSize == cs {
		reuse = min(int64(len(o.Hashes)), (w.oldTableEnd-HeaderSize)/cs, n)
		t.Hashes = append(t.Hashes, o.Hashes[:reuse]...)
	}
	buf := make([]byte, 1<<20)
	w.opts.Progress.Send(progress.Report{Phase: PhaseIntegrity, Total: total})
	for i := reuse; i < n; i++ {
		if err := w.closeCancelled(); err != nil {
			return nil, err
		}
		off := HeaderSize + i*cs
		size := min(int64(cs), end-off)
		sha := sha1.New()
		for k := int64(0); k < size; {
			m := min(int64(len(buf)), size-k)
			if _, err := w.f.ReadAt(buf[:m], off+k); err != nil {
				return nil, fmt.Errorf("wim: %s: integrity: reading offset 0x%x: %w", w.path, off+k, err)
			}
			sha.Write(buf[:m])
			k += m
		}
		var hh Hash
		sha.Sum(hh[:0])
		t.Hashes = append(t.Hashes, hh)
		w.opts.Progress.Send(progress.Report{Phase: PhaseIntegrity, Done: off + size - HeaderSize, Total: total})
	}
	return t, nil
}

func satAdd(a, b uint32) uint32 {
	if a > math.MaxUint32-b {
		return math.MaxUint32
	}
	return a + b
}

// outBuf is the write goroutine's buffered, positioned writer.
type outBuf struct {
	f    *os.File
	base int64 // file offset of buf[0]
	buf  []byte
	err  error
	// writeback (WriteOptions.StartWriteback): the file is synced when
	// it is closed, so the disk starts on what is written at once (see
	// startWriteback) instead of all of it waiting for the sync; started
	// is where the data not yet handed to it begins (0: nothing written).
	writeback bool
	started   int64
}

// writebackStep is how much written data makes outBuf start its
// writeback: large enough that the calls cost nothing next to the data,
// small enough that the disk starts early.
const writebackStep = 4 << 20

// kick notes a write that began at from and ended at the current
// position, and starts the writeback of what was written since the last
// start once there is writebackStep of it.
func (o *outBuf) kick(from int64) {
	if !o.writeback || o.err != nil {
		return
	}
	if o.started == 0 || o.started > from {
		// The first write, or one after a rollback.
		o.started = from
	}
	if o.base-o.started >= writebackStep {
		startWriteback(o.f, o.started, o.base-o.started)
		o.started = o.base
	}
}

const outBufSize = 1 << 20

// outBufPool keeps write buffers between writers: a program writing
// thousands of small files (a metadata-only image each) allocates and
// clears one buffer, not one per file.
var outBufPool = sync.Pool{New: func() any { b := make([]byte, 0, outBufSize); return &b }}

func newOutBuf() []byte { return (*outBufPool.Get().(*[]byte))[:0] }

// release returns the buffer to the pool; the writer is done with it.
func (o *outBuf) release() {
	if o.buf != nil && cap(o.buf) == outBufSize {
		b := o.buf[:0]
		outBufPool.Put(&b)
	}
	o.buf = nil
}

func (o *outBuf) pos() int64 { return o.base + int64(len(o.buf)) }

func (o *outBuf) write(p []byte) {
	if o.err != nil {
		o.buf = o.buf[:0]
		o.base += int64(len(p))
		return
	}
	if o.buf == nil {
		o.buf = newOutBuf()
	}
	if len(o.buf)+len(p) > cap(o.buf) {
		o.flush()
		if len(p) >= cap(o.buf) {
			o.writeDirect(p)
			return
		}
	}
	o.buf = append(o.buf, p...)
}

// grow extends the buffer by n bytes (n at most outBufSize) and returns
// them to be filled, or nil after a write error.
func (o *outBuf) grow(n int) []byte {
	if o.err != nil {
		return nil
	}
	if o.buf == nil {
		o.buf = newOutBuf()
	}
	if len(o.buf)+n > cap(o.buf) {
		o.flush()
		if o.err != nil {
			return nil
		}
	}
	k := len(o.buf)
	o.buf = o.buf[:k+n]
	return o.buf[k:]
}

var zeroBlock [4096]byte

func (o *outBuf) zeros(n int) {
	for n > 0 {
		k := min(n, len(zeroBlock))
		o.write(zeroBlock[:k])
		n -= k
	}
}

// writeDirect writes p at the current position, bypassing the buffer
// (which must be empty).
func (o *outBuf) writeDirect(p []byte) {
	if o.err == nil {
		_, o.err = o.f.WriteAt(p, o.base)
	}
	o.base += int64(len(p))
	o.kick(o.base - int64(len(p)))
}

// copyFrom copies up to n bytes of src at off to the current position
// inside the kernel where it can (the buffer must be empty) and returns
// how many it copied.
func (o *outBuf) copyFrom(src *os.File, off, n int64) int64 {
	if o.err != nil {
		return 0
	}
	k := copyFileRange(o.f, o.base, src, off, n)
	o.base += k
	o.kick(o.base - k)
	return k
}

func (o *outBuf) flush() {
	if len(o.buf) > 0 && o.err == nil {
		_, o.err = o.f.WriteAt(o.buf, o.base)
	}
	o.base += int64(len(o.buf))
	o.kick(o.base - int64(len(o.buf)))
	o.buf = o.buf[:0]
}

// patch overwrites bytes already written at off.
func (o *outBuf) patch(off int64, p []byte) {
	if o.err != nil {
		return
	}
	if off < o.base {
		n := min(int64(len(p)), o.base-off)
		if _, err := o.f.WriteAt(p[:n], off); err != nil {
			o.err = err
			return
		}
		p, off = p[n:], off+n
	}
	if len(p) > 0 {
		copy(o.buf[off-o.base:], p)
	}
}

// rollback moves the position back to off, discarding what follows.
func (o *outBuf) rollback(off int64) {
	if off >= o.base {
		o.buf = o.buf[:off-o.base]
		return
	}
	o.buf = o.buf[:0]
	o.base = off
}

// now is the clock of new images (tests may replace it).
var now = func() time.Time { return time.Now().UTC() }

// AddImage adds img as a new image described by info, and returns its
// 1-based index. The image's metadata resource is encoded (encodeMetadata)
// and written; its statistics (DIRCOUNT, FILECOUNT, TOTALBYTES,
// HARDLINKBYTES) are computed from the tree, whose Size fields must be set;
// CREATIONTIME and LASTMODIFICATIONTIME are set to now when zero. Every
// other field of info, unknown elements included, is written as given.
//
// Every blob the image references must be in the file already (WriteBlob,
// CopyBlob), unless the file is metadata-only; each reference is counted in
// the blob's reference count.
func (w *Writer) AddImage(ctx context.Context, img *Image, info ImageInfo) (int, error) {
	return w.addImage(ctx, img, info, nil, 0)
}

// AddImageFrom adds image index of src, img being src.Image(index), as
// AddImage does, but copies its metadata resource as stored when the two
// files share codec and chunk size (and Recompress is off): faster, and
// exact to the byte.
func (w *Writer) AddImageFrom(ctx context.Context, src *WIM, index int, img *Image, info ImageInfo) (int, error) {
	return w.addImage(ctx, img, info, src, index)
}

// AddImageRefs adds image refs.Index() of src as AddImageFrom does, from
// what (*WIM).ImageRefs read of it, its metadata resource copied as
// stored: the file must take it so (see (*WIM).MetadataStoredAs), or it
// is an error.
func (w *Writer) AddImageRefs(ctx context.Context, src *WIM, refs *ImageRefs, info ImageInfo) (int, error) {
	return w.addImageWith(ctx, nil, refs, info, src, refs.index)
}

func (w *Writer) addImage(ctx context.Context, img *Image, info ImageInfo, src *WIM, index int) (int, error) {
	return w.addImageWith(ctx, img, nil, info, src, index)
}

// addImageWith adds an image from its tree img, or from its references
// alone (refs: src and index are then set and the metadata resource is
// copied as stored).
func (w *Writer) addImageWith(ctx context.Context, img *Image, lite *ImageRefs, info ImageInfo, src *WIM, index int) (int, error) {
	if w.finished {
		return 0, fmt.Errorf("wim: %s: writer is closed", w.name)
	}
	if w.hdr.Flags&FlagResourceOnly != 0 {
		return 0, fmt.Errorf("wim: %s: a resource-only file holds no images", w.name)
	}
	if len(w.info.Images) >= maxImages {
		return 0, fmt.Errorf("wim: %s: already %d images", w.name, len(w.info.Images))
	}
	if info.Name != "" {
		for _, im := range w.info.Images {
			if im.Name == info.Name {
				return 0, fmt.Errorf("wim: %s: there is already an image named %q", w.name, info.Name)
			}
		}
	}
	metaOnly := w.hdr.Flags&FlagMetadataOnly != 0
	refs := make(map[Hash]uint32)
	var missing error
	count := func(f *File, h Hash, size *int64) {
		if h.IsZero() || missing != nil {
			return
		}
		n, ok := w.blobSize(h)
		if ok {
			if *size == 0 {
				*size = n
			}
			refs[h]++
			return
		}
		if !metaOnly {
			missing = &MissingBlobError{Hash: h, File: w.name, Hint: "needed by " + img.pathOf(f) + " of the new image; write it first"}
		}
	}
	if lite != nil {
		for h := range blobHashes(lite) {
			if h.IsZero() {
				continue
			}
			if _, ok := w.blobSize(h); ok {
				refs[h]++
			} else if !metaOnly {
				return 0, &MissingBlobError{Hash: h, File: w.name, Hint: fmt.Sprintf("needed by image %d of %s, the new image; write it first", index, src.name)}
			}
		}
	} else {
		for f := range img.All() {
			count(f, f.Hash, &f.Size)
			for i := range f.Streams {
				count(f, f.Streams[i].Hash, &f.Streams[i].Size)
			}
		}
	}
	if missing != nil {
		return 0, missing
	}
	slot := &metaSlot{}
	raw := false
	if src != nil {
		e, err := src.MetadataEntry(index)
		if err != nil {
			return 0, err
		}
		if w.canRawCopy(src, &e) {
			if _, err := src.resourceFor(e.Res, fmt.Sprintf("metadata resource of image %d", index)); err != nil {
				return 0, err
			}
			if err := w.sendCtx(ctx, &wtask{kind: taskRaw, src: src, srcRes: e.Res, srcHash: e.Hash, meta: slot, ctx: ctx}); err != nil {
				return 0, err
			}
			raw = true
		}
	}
	if !raw && lite != nil {
		return 0, fmt.Errorf("wim: %s: the metadata resource of image %d of %s cannot be copied as stored (codec or chunk size differ)", w.name, index, src.name)
	}
	if !raw {
		if err := w.drainSolid(ctx); err != nil {
			return 0, err
		}
		data, err := encodeMetadata(img)
		if err != nil {
			return 0, err
		}
		if err := w.writeMetadata(ctx, data, slot); err != nil {
			return 0, err
		}
	}
	w.newMeta = append(w.newMeta, slot)
	w.mu.Lock()
	if len(w.refs) == 0 {
		w.refs = refs // the first image: no merging, no second map
	} else {
		for h, n := range refs {
			w.refs[h] += n
		}
	}
	w.mu.Unlock()
	var st imageStats
	if lite != nil {
		st = lite.stats
	} else {
		st = img.treeStats()
	}
	info.DirCount, info.FileCount = st.DirCount, st.FileCount
	info.TotalBytes, info.HardLinkBytes = st.TotalBytes, st.HardLinkBytes
	t := now()
	if info.Created.IsZero() {
		info.Created = t
	}
	if info.Modified.IsZero() {
		info.Modified = t
	}
	info.Index = len(w.info.Images) + 1
	w.info.Images = append(w.info.Images, info)
	return info.Index, nil
}
