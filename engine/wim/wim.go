// Package wim reads and writes Windows Imaging (WIM) files: the
// container format of install.wim, boot.wim, ESD files, split .swm sets and
// the Res.rwm resource files of Windows Deployment Services.
//
// A WIM file is a 208-byte header, resources (each a blob of file data or
// an image's metadata, stored raw, compressed in independent chunks, or
// packed with others into a solid resource), a blob table that locates
// every blob by its SHA-1 digest, UTF-16 XML data describing the images,
// and an optional integrity table. Open reads the header, XML data and blob
// table and checks them against the file; blobs are read on demand, with
// their digests verified, and large ones are decompressed in parallel.
//
// Files that share blobs (the parts of a split set, or a metadata-only
// image WIM and its Res.rwm) are opened together with OpenOptions.Refs;
// blobs are looked up by digest across all of them.
//
// Codecs live in the subpackages xpress, lzx and lzms. Every error about
// invalid data is a *FormatError or *ChecksumError naming the file and the
// offset of the bad data; none of them panics or allocates beyond what the
// file's size allows.
package wim

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// OpenOptions adjust Open and NewReader.
type OpenOptions struct {
	// Name is what messages call the data NewReader reads, as they name
	// the file Open opens ("" stands for "WIM data"). Open ignores it.
	Name string
	// Refs names more WIM files to take blobs from, by digest: the other
	// parts of a split set, or the Res.rwm of a WDS image group. A name
	// that is not a file but a glob pattern ("install*.swm", as
	// wimlib-imagex --ref takes) stands for the files it matches. The file
	// being opened may be among them, in which case it is skipped.
	Refs []string
	// Shared are WIMs already open to take blobs from, searched before
	// Refs. They stay the caller's: it keeps them open while this WIM is
	// in use and closes them itself (a store opens a group's Res.rwm once
	// for all its images this way).
	Shared []*WIM
	// CheckIntegrity verifies the integrity table, when the file has one,
	// before Open returns.
	CheckIntegrity bool
	// NoSplitSearch stops Open from looking for the missing parts of a
	// split set next to part 1 (name2.swm, name3.swm, ...). Sets of more
	// than 1000 parts are never searched, nor are they for NewReader,
	// whose data has no folder to search.
	NoSplitSearch bool
}

// maxSplitSearch is the largest split set whose parts Open looks for.
const maxSplitSearch = 1000

// WIM is an open WIM file, together with the files it takes blobs from.
// Its methods are safe for concurrent use.
type WIM struct {
	name  string
	ra    io.ReaderAt // the file's data
	f     *os.File    // the open file; nil for in-memory WIMs
	size  int64
	hdr   Header
	info  *Info
	table *blobTable
	refs  []*WIM // files blobs are also taken from, in order
	lent  int    // refs[:lent] are OpenOptions.Shared: not closed with w
	cache chunkCache
	// tables: the chunk tables of solid resources, for blob readers.
	tables solidTables
	// pipable: the file is wimlib's pipable variant (see pipable.go).
	pipable bool
	// pipe: blobs come from a pipe, in file order (see OpenPipe).
	pipe *pipeReader
	// keepTable asks load to keep the blob table as read in rawTable
	// (OpenAppend, which copies it entry by entry).
	keepTable bool
	rawTable  []byte

	closeOnce sync.Once
	closeErr  error
}

// Open opens the WIM file name: it reads and checks the header, XML data
// and blob table, then opens each reference file. A split set's part 1
// finds its sibling parts itself when they follow wimlib's naming
// (name.swm, name2.swm, ...) and are not among the references.
func Open(name string, opts *OpenOptions) (*WIM, error) {
	f, size, err := openOS(name)
	if err != nil {
		return nil, err
	}
	w, err := newReader(name, f, f, size, opts)
	if err != nil {
		f.Close()
		return nil, err
	}
	return w, nil
}

// NewReader reads the WIM held in the size bytes of r, as Open reads a
// file: the header, XML data and blob table are read and checked now
// (integrity too with opts.CheckIntegrity), blobs on demand, through r,
// which may be used concurrently. Reference files (opts.Refs, opts.Shared)
// are taken as Open takes them. Close closes the reference files NewReader
// opened, never r.
func NewReader(r io.ReaderAt, size int64, opts *OpenOptions) (*WIM, error) {
	name := "WIM data"
	if opts != nil && opts.Name != "" {
		name = opts.Name
	}
	if size < 0 {
		return nil, fmt.Errorf("%s: negative size %d", name, size)
	}
	return newReader(name, r, nil, size, opts)
}

// newReader reads the WIM in the size bytes of ra, named name in messages;
// f is the open file ra reads, or nil. On error nothing is left open but f.
func newReader(name string, ra io.ReaderAt, f *os.File, size int64, opts *OpenOptions) (*WIM, error) {
	if opts == nil {
		opts = &OpenOptions{}
	}
	w, err := newWIM(name, ra, size)
	if err != nil {
		return nil, err
	}
	w.f = f
	if opts.CheckIntegrity && !w.hdr.Integrity.IsZero() {
		if err := w.CheckIntegrity(context.Background()); err != nil {
			return nil, err
		}
	}
	if err := w.openRefs(opts); err != nil {
		w.closeRefs()
		return nil, err
	}
	return w, nil
}

// openOS opens file name for reading and returns its size.
func openOS(name string) (*os.File, int64, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, 0, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, st.Size(), nil
}

// openFile opens one file, without references.
func openFile(name string) (*WIM, error) {
	f, size, err := openOS(name)
	if err != nil {
		return nil, err
	}
	w, err := newWIM(name, f, size)
	if err != nil {
		f.Close()
		return nil, err
	}
	w.f = f
	return w, nil
}

// newWIM reads the header, XML data and blob table of the size bytes of ra.
func newWIM(name string, ra io.ReaderAt, size int64) (*WIM, error) {
	w := &WIM{name: name, ra: ra, size: size}
	if err := w.load(); err != nil {
		return nil, err
	}
	return w, nil
}

// load reads the header, XML data and blob table.
func (w *WIM) load() error {
	var b [HeaderSize]byte
	n, err := w.ra.ReadAt(b[:], 0)
	if n < HeaderSize {
		if err == io.EOF {
			return errAt(w.name, int64(n), "file too short for a WIM header (%d of %d bytes)", n, HeaderSize)
		}
		return fmt.Errorf("%s: reading header: %w", w.name, err)
	}
	if w.pipable, err = w.readPipableHeader(b[:]); err != nil {
		return err
	}
	w.hdr, err = ParseHeader(b[:])
	if err != nil {
		var fe *FormatError
		if errors.As(err, &fe) {
			fe.File = w.name
		}
		return err
	}
	if w.pipable {
		w.hdr.Magic = pipableMagic
	}
	h := &w.hdr
	if h.BlobTable.Size == 0 && h.XML.Size == 0 {
		return errAt(w.name, 0x30, "WIM is incomplete: no blob table and no XML data (was it being written?)")
	}
	// The blob table, XML data and integrity table are normally stored
	// raw; whatever their form, none can be larger than the file.
	for _, t := range []struct {
		res  ResourceHeader
		what string
		off  int64
	}{{h.BlobTable, "blob table", 0x30}, {h.XML, "XML data", 0x48}, {h.Integrity, "integrity table", 0x7C}} {
		if t.res.Size < 0 || t.res.Size > w.size {
			return errAt(w.name, t.off, "%s claims %d bytes, more than the file's %d", t.what, uint64(t.res.Size), w.size)
		}
	}

	w.info, err = w.parseXML()
	if err != nil {
		var fe *FormatError
		if errors.As(err, &fe) && fe.File == "" {
			fe.File, fe.Offset = w.name, h.XML.Offset
		}
		return err
	}
	if w.info.Encrypted() {
		return errAt(w.name, h.XML.Offset, "encrypted ESD files cannot be read")
	}
	if len(w.info.Images) != int(h.ImageCount) {
		return errAt(w.name, h.XML.Offset, "XML data describes %d images but the header says %d", len(w.info.Images), h.ImageCount)
	}

	table, err := w.readHeaderResource(h.BlobTable, "blob table")
	if err != nil {
		return err
	}
	if w.keepTable {
		w.rawTable = table
	}
	w.table, err = parseBlobTable(table, h, w.ra, w.size, w.name, h.BlobTable.Offset)
	return err
}

// parseXML parses the XML data as it is read from the file, so that only
// the parsed tree is held, never the UTF-16 text (which RawXML reads
// again when asked).
func (w *WIM) parseXML() (*Info, error) {
	res := w.hdr.XML
	if res.Size == 0 {
		return parseXMLData(nil)
	}
	if res.Size > maxXMLSize {
		return nil, xmlError("%d bytes is too large", res.Size)
	}
	rc, err := w.openHeaderResource(res, "XML data")
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	// The parser reads to the end of the data, so a short resource is an
	// error from rc.
	return parseXMLFrom(rc, res.Size)
}

// openHeaderResource opens a resource the header locates (blob table, XML
// data, integrity table). Its size was checked against the file's. The
// reader reports data that ends early as an error rather than io.EOF.
func (w *WIM) openHeaderResource(res ResourceHeader, what string) (io.ReadCloser, error) {
	res.Flags &^= ResSolid
	r, err := w.resourceFor(res, what)
	if err != nil {
		return nil, err
	}
	if r.chunked && r.size > maxHeaderResource {
		return nil, errAt(w.name, res.Offset, "%s: compressed to %d bytes, more than the limit of %d", what, r.size, maxHeaderResource)
	}
	rc, err := r.open(0, r.size)
	if err != nil {
		return nil, err
	}
	return &sizedReader{rc: rc, remain: r.size, file: w.name, off: res.Offset, what: what}, nil
}

// sizedReader reads a resource of known size, turning an early end into a
// *FormatError.
type sizedReader struct {
	rc     io.ReadCloser
	remain int64
	file   string
	off    int64
	what   string
}

func (s *sizedReader) Read(p []byte) (int, error) {
	if s.remain == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > s.remain {
		p = p[:s.remain]
	}
	n, err := s.rc.Read(p)
	s.remain -= int64(n)
	if err == io.EOF && s.remain > 0 || err == io.ErrUnexpectedEOF {
		err = errAt(s.file, s.off, "%s: data ends early", s.what)
	}
	if err == nil && s.remain == 0 {
		err = io.EOF
	}
	return n, err
}

func (s *sizedReader) Close() error { return s.rc.Close() }

// readHeaderResource reads a resource the header locates (blob table, XML
// data, integrity table) whole. Its size was checked against the file's.
func (w *WIM) readHeaderResource(res ResourceHeader, what string) ([]byte, error) {
	if res.Size == 0 {
		return nil, nil
	}
	rc, err := w.openHeaderResource(res, what)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return readAllSized(rc, res.Size)
}

// maxHeaderResource bounds a compressed blob table or XML data (wimlib
// never compresses them; Microsoft's tools cannot read them compressed).
const maxHeaderResource = 256 << 20

// readAllSized reads size bytes from r, then expects io.EOF (or nil, at
// the end of a resource). Callers have bounded size by what the file can
// hold (its size, a chunk table's geometry) and by a limit.
//
// The buffer is allocated once, at its final size: growing it as the data
// arrives would leave a trail of copies up to twice the size behind it
// (and the garbage collector lets the heap reach twice what is live). Pages
// of zeros are not written into it, since a new allocation is zero already:
// its untouched pages cost no memory, so a resource padded with zeros (a
// decompression bomb's usual filler) costs address space, not memory.
func readAllSized(r io.Reader, size int64) ([]byte, error) {
	return readAllSizedIn(r, size, nil)
}

// readAllSizedIn is readAllSized into buf, zero and of the size, when it
// is not nil.
func readAllSizedIn(r io.Reader, size int64, buf []byte) ([]byte, error) {
	if buf == nil {
		buf = make([]byte, size)
	}
	scratch := make([]byte, min(size, 256<<10))
	var n int64
	for n < size {
		k, err := r.Read(scratch[:min(int64(len(scratch)), size-n)])
		copyNonZero(buf[n:], scratch[:k], n)
		n += int64(k)
		if err == io.EOF {
			if n < size {
				return nil, io.ErrUnexpectedEOF
			}
			break
		}
		if err != nil {
			return nil, err
		}
	}
	return buf, nil
}

// zeroPage is a page of zeros to compare with.
var zeroPage [4096]byte

// copyNonZero copies src into dst, which is zero and lies at offset base of
// its allocation, skipping the pages of src that are all zeros.
func copyNonZero(dst, src []byte, base int64) {
	for len(src) > 0 {
		n := min(len(src), len(zeroPage)-int(base%int64(len(zeroPage))))
		if !bytes.Equal(src[:n], zeroPage[:n]) {
			copy(dst, src[:n])
		}
		dst, src, base = dst[n:], src[n:], base+int64(n)
	}
}

// openRefs opens the reference files and, for part 1 of a split set, its
// sibling parts.
func (w *WIM) openRefs(opts *OpenOptions) error {
	seen := []os.FileInfo{}
	if w.f != nil {
		if st, err := w.f.Stat(); err == nil {
			seen = append(seen, st)
		}
	}
	parts := map[uint16]bool{w.hdr.Part: true}
	for _, r := range opts.Shared {
		if r.f != nil {
			if st, err := r.f.Stat(); err == nil {
				seen = append(seen, st)
			}
		}
		if r.hdr.GUID == w.hdr.GUID {
			parts[r.hdr.Part] = true
		}
		w.refs = append(w.refs, r)
	}
	w.lent = len(w.refs)
	add := func(name string, mustMatch bool) error {
		st, err := os.Stat(name)
		if err != nil {
			if mustMatch {
				return nil // an optional sibling part that is not there
			}
			return fmt.Errorf("%s: reference: %w", w.name, err)
		}
		for _, s := range seen {
			if os.SameFile(s, st) {
				return nil
			}
		}
		r, err := openFile(name)
		if err != nil {
			if mustMatch {
				return nil
			}
			return err
		}
		if mustMatch && (r.hdr.GUID != w.hdr.GUID || r.hdr.TotalParts != w.hdr.TotalParts || parts[r.hdr.Part]) {
			r.Close()
			return nil
		}
		seen = append(seen, st)
		if r.hdr.GUID == w.hdr.GUID {
			parts[r.hdr.Part] = true
		}
		w.refs = append(w.refs, r)
		return nil
	}
	for _, name := range opts.Refs {
		names := []string{name}
		if _, err := os.Stat(name); err != nil && strings.ContainsAny(name, "*?[") {
			names, _ = filepath.Glob(name)
			if len(names) == 0 {
				return fmt.Errorf("%s: reference %q matches no files", w.name, name)
			}
		}
		for _, n := range names {
			if err := add(n, false); err != nil {
				return err
			}
		}
	}
	if w.hdr.TotalParts > 1 && w.hdr.TotalParts <= maxSplitSearch && !opts.NoSplitSearch && w.f != nil {
		for p := 1; p <= int(w.hdr.TotalParts); p++ {
			if !parts[uint16(p)] {
				if err := add(w.partName(uint16(p)), true); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// partName returns the name wimlib-imagex split gives part p of the set w
// belongs to, assuming w is part 1: "x.swm" -> "x2.swm".
func (w *WIM) partName(p uint16) string {
	dir, base := filepath.Split(w.name)
	ext := filepath.Ext(base)
	stem := strings.TrimSuffix(base, ext)
	if w.hdr.Part != 1 {
		// Strip this part's own number to find the base name.
		stem = strings.TrimSuffix(stem, strconv.Itoa(int(w.hdr.Part)))
	}
	if p == 1 {
		return filepath.Join(dir, stem+ext)
	}
	return filepath.Join(dir, stem+strconv.Itoa(int(p))+ext)
}

// Close closes the file and its reference files.
func (w *WIM) Close() error {
	w.closeOnce.Do(func() {
		w.cache.reset()
		var err error
		if w.f != nil {
			err = w.f.Close()
		}
		if e := w.closeRefs(); err == nil {
			err = e
		}
		w.closeErr = err
	})
	return w.closeErr
}

// closeRefs closes the reference files w opened itself.
func (w *WIM) closeRefs() error {
	var err error
	for _, r := range w.refs[w.lent:] {
		if e := r.Close(); err == nil {
			err = e
		}
	}
	return err
}

// Name returns the file name w was opened with.
func (w *WIM) Name() string { return w.name }

// Size returns the size of the file in bytes.
func (w *WIM) Size() int64 { return w.size }

// Header returns the file's header.
func (w *WIM) Header() Header { return w.hdr }

// XML returns the parsed XML data. The caller must not modify it; to change
// it, parse RawXML afresh.
func (w *WIM) XML() *Info { return w.info }

// RawXML returns the XML data as stored (UTF-16LE), read from the file
// again (Open keeps only the parsed form); nil if it cannot be read now.
func (w *WIM) RawXML() []byte {
	b, _ := w.rawXML()
	return b
}

// rawXML reads the XML data as stored.
func (w *WIM) rawXML() ([]byte, error) {
	return w.readHeaderResource(w.hdr.XML, "XML data")
}

// ImageCount returns the number of images (the header's count, which Open
// checked against the XML data).
func (w *WIM) ImageCount() int { return int(w.hdr.ImageCount) }

// BootIndex returns the 1-based index of the bootable image, or 0 when
// there is none or the header's index is out of range.
func (w *WIM) BootIndex() int {
	if w.hdr.BootIndex > w.hdr.ImageCount {
		return 0
	}
	return int(w.hdr.BootIndex)
}

// Refs returns the reference files opened with w (including split parts
// found next to it), in order.
func (w *WIM) Refs() []*WIM { return w.refs }

// Blobs returns the usable entries of this file's own blob table, in table
// order: image metadata resources and file blobs. Entries a reader ignores
// (zero digest or size, another part's, repeated digests, unreferenced
// metadata) and the entries that describe solid resources are left out;
// see solidResources. The slice is the caller's.
func (w *WIM) Blobs() []BlobEntry { return slices.Clone(w.table.entries) }

// solidResources returns the file's solid resources, in table order.
func (w *WIM) solidResources() []*SolidResource { return w.table.solids }

// Blob looks up a file blob by digest in this file, then in the reference
// files in order.
func (w *WIM) Blob(h Hash) (BlobEntry, bool) {
	o, e := w.find(h)
	if o == nil {
		return BlobEntry{}, false
	}
	return *e, true
}

// find returns the file holding blob h and its entry.
func (w *WIM) find(h Hash) (*WIM, *BlobEntry) {
	o, i := w.findIndex(h)
	if o == nil {
		return nil, nil
	}
	return o, &o.table.entries[i]
}

// findIndex returns the file holding blob h and the index of its entry in
// that file's table.
func (w *WIM) findIndex(h Hash) (*WIM, int) {
	file, i := w.findAt(h)
	if file < 0 {
		return nil, 0
	}
	return w.fileAt(file), i
}

// fileAt returns file number file of findAt: 0 w, k its reference k-1.
func (w *WIM) fileAt(file int) *WIM {
	if file == 0 {
		return w
	}
	return w.refs[file-1]
}

// findAt returns where findIndex finds blob h: the file (0 w, k its
// reference k-1; -1 none) and the index of the entry in its table.
func (w *WIM) findAt(h Hash) (file, i int) {
	if i, ok := w.table.find(h); ok {
		return 0, i
	}
	for k, r := range w.refs {
		if i, ok := r.table.find(h); ok {
			return k + 1, i
		}
	}
	return -1, 0
}

// missing builds the error for a blob that no file holds, guessing which
// file is absent.
func (w *WIM) missing(h Hash) error {
	e := &MissingBlobError{Hash: h, File: w.name}
	have := map[uint16]bool{w.hdr.Part: true}
	for _, r := range w.refs {
		if r.hdr.GUID == w.hdr.GUID {
			have[r.hdr.Part] = true
		}
	}
	var absent []string
	nabsent := 0
	for p := 1; p <= int(w.hdr.TotalParts); p++ {
		if !have[uint16(p)] {
			nabsent++
			if len(absent) < 10 {
				absent = append(absent, strconv.Itoa(p))
			}
		}
	}
	if nabsent > len(absent) {
		absent = append(absent, fmt.Sprintf("and %d more", nabsent-len(absent)))
	}
	switch {
	case nabsent > 0:
		e.Hint = fmt.Sprintf("split part(s) %s of %d are not open: pass them as references (--ref)", strings.Join(absent, ", "), w.hdr.TotalParts)
	case len(w.refs) == 0:
		e.Hint = "the file has no reference files: if its data lives in another WIM (a WDS Res.rwm, another split part), pass that file as a reference (--ref)"
	default:
		e.Hint = fmt.Sprintf("not in any of its %d reference file(s) either: a reference WIM (Res.rwm?) is missing or incomplete", len(w.refs))
	}
	return e
}

// OpenBlob returns a reader of the data of blob h, which may be in this
// file or a reference file. The reader checks the data's SHA-1 digest and
// size at the end and reports a mismatch (a *ChecksumError) instead of
// io.EOF. Memory use is bounded whatever the blob's size.
func (w *WIM) OpenBlob(h Hash) (io.ReadCloser, error) {
	return w.openBlobPinned(h, nil)
}

// openBlobPinned is OpenBlob for a caller holding, in *pin, a pin of the
// chunk cache's entry of the chunk where the blob starts (see
// chunkCache.pin; nil or *pin nil: none): the reader takes that pin over
// as its hold on the chunk when it reads it, and sets *pin to nil; a pin
// it has not taken (the reader closed first, or the chunk's entry gone
// from the cache) stays the caller's to release.
func (w *WIM) openBlobPinned(h Hash, pin **cachedChunk) (io.ReadCloser, error) {
	o, e := w.find(h)
	if o == nil {
		return nil, w.missing(h)
	}
	return o.openEntryPinned(e, "blob", pin)
}

// openEntry opens the data of entry e of w, checked against its digest.
func (w *WIM) openEntry(e *BlobEntry, what string) (io.ReadCloser, error) {
	return w.openEntryPinned(e, what, nil)
}

// openEntryPinned is openEntry with a pin to take over (see
// openBlobPinned).
func (w *WIM) openEntryPinned(e *BlobEntry, what string, pin **cachedChunk) (io.ReadCloser, error) {
	r, start, err := w.blobResource(e, what+" "+e.Hash.String())
	if err != nil {
		return nil, err
	}
	rc, err := r.openMode(start, e.Size(), true, pin)
	if err != nil {
		return nil, err
	}
	return newHashingReader(rc, e.Size(), e.Hash, w.name, r.off, what), nil
}

// openBlobRange returns a reader of n bytes of the data of blob h from
// offset off, which must lie within the blob. A range is not checked
// against the digest (only the whole blob can be); data that ends early is
// a *FormatError.
func (w *WIM) openBlobRange(h Hash, off, n int64) (io.ReadCloser, error) {
	o, e := w.find(h)
	if o == nil {
		return nil, w.missing(h)
	}
	what := "blob " + h.String()
	if off < 0 || n < 0 || off > e.Size() || n > e.Size()-off {
		return nil, fmt.Errorf("%s: %s: range of %d bytes at %d is outside its %d bytes", o.name, what, n, off, e.Size())
	}
	r, start, err := o.blobResource(e, what)
	if err != nil {
		return nil, err
	}
	rc, err := r.openBlob(start+off, n)
	if err != nil {
		return nil, err
	}
	return &sizedReader{rc: rc, remain: n, file: o.name, off: r.off, what: what}, nil
}

// ReadBlob returns the whole data of blob h, refusing a blob larger than
// limit bytes. The digest is checked.
func (w *WIM) ReadBlob(h Hash, limit int64) ([]byte, error) {
	if w.pipe != nil {
		return w.pipe.heldBlob(h)
	}
	o, e := w.find(h)
	if o == nil {
		return nil, w.missing(h)
	}
	return o.readEntry(e, "blob", limit)
}

func (w *WIM) readEntry(e *BlobEntry, what string, limit int64) ([]byte, error) {
	return w.readEntryIn(e, what, limit, nil)
}

// readEntryIn is readEntry reading into buf(size) when buf is not nil:
// a zero buffer of the size asked.
func (w *WIM) readEntryIn(e *BlobEntry, what string, limit int64, buf func(int64) []byte) ([]byte, error) {
	if e.Size() > limit {
		return nil, fmt.Errorf("%s: %s %s is %d bytes, more than the limit of %d", w.name, what, e.Hash, e.Size(), limit)
	}
	rc, err := w.openEntry(e, what)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	var into []byte
	if buf != nil {
		into = buf(e.Size())
	}
	data, err := readAllSizedIn(rc, e.Size(), into)
	if err != nil {
		return nil, err
	}
	// Reading exactly the size does not reach the digest check; the
	// next read does.
	if _, err := rc.Read(make([]byte, 1)); err != io.EOF {
		if err == nil {
			err = errAt(w.name, e.Res.Offset, "%s %s: longer than recorded", what, e.Hash)
		}
		return nil, err
	}
	return data, nil
}

// MaxMetadataSize is the largest metadata resource MetadataResource reads:
// far above the ~100 MB of a full Windows image.
const MaxMetadataSize = 1 << 30

// MetadataResource returns the uncompressed metadata resource of image
// index (1-based), its digest checked.
func (w *WIM) MetadataResource(index int) ([]byte, error) {
	e, err := w.MetadataEntry(index)
	if err != nil {
		return nil, err
	}
	return w.readEntry(&e, fmt.Sprintf("metadata resource of image %d", index), MaxMetadataSize)
}

// MetadataEntry returns the blob table entry of image index's metadata
// resource.
func (w *WIM) MetadataEntry(index int) (BlobEntry, error) {
	if index < 1 || index > int(w.hdr.ImageCount) {
		return BlobEntry{}, fmt.Errorf("%s: no image %d (the file has %d)", w.name, index, w.hdr.ImageCount)
	}
	if w.hdr.Part != 1 {
		return BlobEntry{}, fmt.Errorf("%s: image metadata is in part 1 of the split set; this is part %d", w.name, w.hdr.Part)
	}
	if index > len(w.table.metadata) {
		return BlobEntry{}, errAt(w.name, w.hdr.BlobTable.Offset, "blob table has no metadata resource for image %d (found %d)", index, len(w.table.metadata))
	}
	return w.table.metadata[index-1], nil
}
