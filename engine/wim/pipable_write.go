package wim

import (
	"bufio"
	"context"
	"crypto/sha1"
	"encoding/binary"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
)

// WritePipable writes src, a whole WIM file (every blob in the file itself,
// none in a solid resource), to out as a pipable WIM (see pipable.go), in
// one pass: out may be a pipe. Compressed resources keep their chunks as
// stored; only their layout changes. With integrity, an integrity table is
// computed as the data goes out.
func WritePipable(ctx context.Context, out io.Writer, src *WIM, integrity bool) error {
	h := src.Header()
	if h.TotalParts != 1 {
		return fmt.Errorf("wim: %s: part %d of a split set cannot be written as a pipable WIM", src.name, h.Part)
	}
	if len(src.table.solids) > 0 {
		return fmt.Errorf("wim: %s: solid resources cannot be written to a pipable WIM; export without solid compression first", src.name)
	}
	rawXML, err := src.rawXML()
	if err != nil {
		return err
	}
	info, err := parseXMLData(rawXML)
	if err != nil {
		return fmt.Errorf("wim: %s: %w", src.name, err)
	}
	p := &pwmWriter{ctx: ctx, bw: bufio.NewWriterSize(out, 1<<20), src: src, integrity: integrity}

	first := Header{Magic: pipableMagic, Version: VersionDefault, Flags: h.Flags &^ FlagWriteInProgress,
		ChunkSize: h.ChunkSize, GUID: h.GUID, Part: 1, TotalParts: 1, ImageCount: h.ImageCount, BootIndex: h.BootIndex}
	if h.Compression() == None {
		first.ChunkSize = 0
	}
	hb, _ := first.MarshalBinary()
	p.write(hb)

	// The XML data a pipe reader needs first (its TOTALBYTES is unknown:
	// left out, as wimlib does).
	info.noTotal = true
	xml, err := info.Marshal()
	if err != nil {
		return fmt.Errorf("wim: %s: %w", src.name, err)
	}
	p.buffer(xml, ResMetadata)

	var table []byte
	meta := make([]ResourceHeader, 0, h.ImageCount)
	for i := 1; i <= int(h.ImageCount); i++ {
		e, err := src.MetadataEntry(i)
		if err != nil {
			return err
		}
		res := p.resource(&e, fmt.Sprintf("metadata resource of image %d", i))
		meta = append(meta, res)
		table = BlobEntry{Res: res, Part: 1, RefCount: max(e.RefCount, 1), Hash: e.Hash}.appendEncode(table)
	}
	for _, e := range sortedByLocation(src.table.entries) {
		if e.IsMetadata() || e.Size() == 0 {
			continue
		}
		res := p.resource(&e, "blob "+e.Hash.String())
		table = BlobEntry{Res: res, Part: 1, RefCount: e.RefCount, Hash: e.Hash}.appendEncode(table)
	}
	h2 := first
	h2.BlobTable = p.buffer(table, ResMetadata)
	integ := p.stopIntegrity()
	info.TotalBytes, info.noTotal = p.pos, false
	if xml, err = info.Marshal(); err != nil {
		return fmt.Errorf("wim: %s: %w", src.name, err)
	}
	h2.XML = p.buffer(xml, ResMetadata)
	if h2.BootIndex > 0 && int(h2.BootIndex) <= len(meta) {
		h2.BootMetadata = meta[h2.BootIndex-1]
	} else {
		h2.BootIndex = 0
	}
	if integ != nil {
		b, err := integ.MarshalBinary()
		if err != nil {
			return err
		}
		h2.Integrity = ResourceHeader{Offset: p.pos, StoredSize: int64(len(b)), Size: int64(len(b))}
		p.write(b)
	}
	hb, _ = h2.MarshalBinary()
	p.write(hb)
	if p.err == nil {
		if err := p.bw.Flush(); err != nil {
			p.err = fmt.Errorf("wim: writing pipable WIM: %w", err)
		}
	}
	return p.err
}

// pwmWriter writes a pipable WIM in order, keeping its position and the
// digests of the integrity table.
type pwmWriter struct {
	ctx       context.Context
	bw        *bufio.Writer
	src       *WIM
	pos       int64
	err       error
	buf       []byte
	integrity bool
	sha       hash.Hash
	fill      int64 // bytes in sha
	hashes    []Hash
}

// write appends b to the output, feeding the integrity digests.
func (p *pwmWriter) write(b []byte) {
	if p.err != nil {
		return
	}
	if _, err := p.bw.Write(b); err != nil {
		p.err = fmt.Errorf("wim: writing pipable WIM: %w", err)
		return
	}
	if p.integrity {
		d := b
		if p.pos < HeaderSize {
			d = d[min(int64(len(d)), HeaderSize-p.pos):]
		}
		for len(d) > 0 {
			if p.sha == nil {
				p.sha = sha1.New()
			}
			n := min(int64(len(d)), integrityChunkSize-p.fill)
			p.sha.Write(d[:n])
			p.fill += n
			d = d[n:]
			if p.fill == integrityChunkSize {
				p.endChunk()
			}
		}
	}
	p.pos += int64(len(b))
}

func (p *pwmWriter) endChunk() {
	var h Hash
	p.sha.Sum(h[:0])
	p.hashes = append(p.hashes, h)
	p.sha, p.fill = nil, 0
}

// stopIntegrity ends the data the integrity table covers (the file from
// the end of the header to the end of the blob table) and returns the
// table, or nil when none is written.
func (p *pwmWriter) stopIntegrity() *integrityTable {
	if !p.integrity {
		return nil
	}
	if p.fill > 0 {
		p.endChunk()
	}
	p.integrity = false
	return &integrityTable{ChunkSize: integrityChunkSize, Hashes: p.hashes}
}

// buffer writes data as an uncompressed resource with its blob header and
// returns its reshdr.
func (p *pwmWriter) buffer(data []byte, flags uint8) ResourceHeader {
	var b [pwmBlobHeaderSize]byte
	pwmBlobHeader{size: int64(len(data)), hash: sha1.Sum(data), flags: flags}.encode(b[:])
	p.write(b[:])
	res := ResourceHeader{Offset: p.pos, StoredSize: int64(len(data)), Size: int64(len(data)), Flags: flags}
	p.write(data)
	return res
}

// resource copies blob e of the source with its blob header, giving
// compressed resources the pipable layout, and returns its new reshdr.
func (p *pwmWriter) resource(e *BlobEntry, what string) ResourceHeader {
	if p.err != nil {
		return ResourceHeader{}
	}
	if err := p.ctx.Err(); err != nil {
		p.err = err
		return ResourceHeader{}
	}
	flags := e.Res.Flags & (ResMetadata | ResCompressed)
	var b [pwmBlobHeaderSize]byte
	pwmBlobHeader{size: e.Size(), hash: e.Hash, flags: flags}.encode(b[:])
	p.write(b[:])
	res := ResourceHeader{Offset: p.pos, Size: e.Size(), Flags: flags}
	r, err := p.src.resourceFor(e.Res, what)
	if err != nil {
		p.err = err
		return res
	}
	if !r.chunked {
		// Stored as is: copy it, checking its digest on the way.
		sha := sha1.New()
		for off := int64(0); off < r.size && p.err == nil; {
			n := min(r.size-off, 1<<20)
			buf := p.grow(int(n))
			if _, err := p.src.ra.ReadAt(buf, r.off+off); err != nil {
				p.err = errAt(p.src.name, r.off+off, "%s: %v", what, err)
				break
			}
			sha.Write(buf)
			p.write(buf)
			off += n
		}
		var got Hash
		sha.Sum(got[:0])
		if p.err == nil && got != e.Hash {
			p.err = &ChecksumError{File: p.src.name, Offset: r.off, What: what, Want: e.Hash, Got: got}
		}
		res.StoredSize = r.size
		return res
	}
	// Chunk after chunk, each behind its stored size; then the chunk
	// table, whose offsets do not count those sizes.
	it := r.iter()
	entSize := chunkTableEntrySize(r.size)
	table := make([]byte, 0, (r.nchunks-1)*entSize)
	var offset int64
	for i := int64(0); i < r.nchunks && p.err == nil; i++ {
		c, err := it.nextChunk()
		if err != nil {
			p.err = err
			break
		}
		buf := p.grow(pwmChunkHdrSize + c.csize)
		binary.LittleEndian.PutUint32(buf, uint32(c.csize))
		if _, err := p.src.ra.ReadAt(buf[pwmChunkHdrSize:], c.fileOff); err != nil {
			p.err = errAt(p.src.name, c.fileOff, "%s: reading chunk %d: %v", what, i, err)
			break
		}
		p.write(buf)
		offset += int64(c.csize)
		if i < r.nchunks-1 {
			if entSize == 4 {
				table = binary.LittleEndian.AppendUint32(table, uint32(offset))
			} else {
				table = binary.LittleEndian.AppendUint64(table, uint64(offset))
			}
		}
	}
	p.write(table)
	res.StoredSize = offset + r.nchunks*pwmChunkHdrSize + int64(len(table))
	return res
}

func (p *pwmWriter) grow(n int) []byte {
	if cap(p.buf) < n {
		p.buf = make([]byte, n)
	}
	return p.buf[:n]
}

// convertPipable turns the finished temporary file of a new pipable WIM
// into its pipable form, in a second temporary file that then stands for
// the first (see WriteOptions.Pipable).
func (w *Writer) convertPipable() error {
	src, err := openFile(w.path)
	if err != nil {
		return err
	}
	defer src.Close()
	dir, base := filepath.Split(w.name)
	if dir == "" {
		dir = "."
	}
	f, hold, err := createTemp(dir, base)
	if err != nil {
		return fmt.Errorf("wim: %w", err)
	}
	if st, err := os.Stat(w.path); err == nil {
		f.Chmod(st.Mode().Perm())
	}
	ctx := w.closeCtx
	if ctx == nil {
		ctx = context.Background()
	}
	err = WritePipable(ctx, f, src, w.pipableIntegrity)
	if err == nil && !w.opts.NoSync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		hold.Close()
		return fmt.Errorf("wim: %s: %w", w.name, err)
	}
	os.Remove(w.path)
	if w.hold != nil {
		w.hold.Close()
	}
	w.path, w.hold = f.Name(), hold
	if w.oldLock != nil {
		// Windows cannot rename over an open file.
		w.oldLock.Close()
		w.oldLock = nil
	}
	return nil
}

// copyUnpiped copies a compressed resource of a pipable WIM into the file
// being written without decompressing it: its chunks as stored, without
// their size prefixes, behind the chunk table the normal layout puts first.
func (w *Writer) copyUnpiped(t *wtask) {
	pos := w.out.pos()
	what := "blob " + t.srcHash.String()
	r, err := t.src.resourceFor(t.srcRes, what)
	if err != nil {
		w.setErr(err)
		return
	}
	it := r.iter()
	chunks := make([]chunkRef, 0, r.nchunks)
	entSize := chunkTableEntrySize(r.size)
	table := make([]byte, 0, (r.nchunks-1)*entSize)
	var offset int64
	for i := int64(0); i < r.nchunks; i++ {
		c, err := it.nextChunk()
		if err != nil {
			w.setErr(err)
			return
		}
		chunks = append(chunks, c)
		offset += int64(c.csize)
		if i < r.nchunks-1 {
			if entSize == 4 {
				table = binary.LittleEndian.AppendUint32(table, uint32(offset))
			} else {
				table = binary.LittleEndian.AppendUint64(table, uint64(offset))
			}
		}
	}
	w.out.write(table)
	for _, c := range chunks {
		if w.dropping(t) {
			w.out.rollback(pos)
			return
		}
		if cap(w.srcBuf) < c.csize {
			w.srcBuf = make([]byte, max(c.csize, 1<<20))
		}
		b := w.srcBuf[:c.csize]
		if _, err := t.src.ra.ReadAt(b, c.fileOff); err != nil {
			w.setErr(errAt(t.src.name, c.fileOff, "%s: reading chunk %d: %v", what, c.index, err))
			w.out.rollback(pos)
			return
		}
		w.out.write(b)
	}
	if w.out.err != nil {
		return
	}
	res := t.srcRes
	res.StoredSize = int64(len(table)) + offset
	w.rawRecord(t, res, t.srcHash, pos)
}

// isPipableFile reports whether the file name starts with the pipable
// magic.
func isPipableFile(name string) bool {
	f, err := os.Open(name)
	if err != nil {
		return false
	}
	defer f.Close()
	var b [8]byte
	_, err = io.ReadFull(f, b[:])
	return err == nil && IsPipableMagic(b[:])
}

// appendPipable is OpenAppend for a pipable WIM, which cannot grow in
// place (its tables and header must stay last, after the file data): as
// wimlib does, the file is written again whole, still pipable, with its
// images followed by what is added, and renamed over the old one at Close.
// Its compressed data is copied as stored.
func appendPipable(name string, opts WriteOptions) (*Writer, error) {
	// The writers' lock, held until Close: an append meanwhile would be
	// lost with the old file.
	lf, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("wim: %w", err)
	}
	if err := lockFile(lf); err != nil {
		lf.Close()
		return nil, fmt.Errorf("wim: %s: %w", name, err)
	}
	src, err := Open(name, &OpenOptions{NoSplitSearch: true})
	if err != nil {
		lf.Close()
		return nil, err
	}
	defer src.Close()
	h := src.Header()
	if h.Flags&FlagReadOnly != 0 {
		return nil, fmt.Errorf("wim: %s: the file is marked read-only", name)
	}
	c := h.Compression()
	if c == LZMS {
		return nil, fmt.Errorf("wim: %s: cannot append to an LZMS-compressed file", name)
	}
	opts.Compression, opts.ChunkSize, opts.Pipable = c, int(h.ChunkSize), true
	opts.Integrity = opts.Integrity || !h.Integrity.IsZero()
	opts.ResourceOnly = h.Flags&FlagResourceOnly != 0
	opts.MetadataOnly = h.Flags&FlagMetadataOnly != 0
	opts.RPFix = h.Flags&FlagRPFix != 0
	w, err := Create(name, opts)
	if err != nil {
		lf.Close()
		return nil, err
	}
	w.oldLock = lf
	// Everything copied before src is closed.
	if err := rebuildInto(context.Background(), w, src, 0); err != nil {
		w.Abort()
		return nil, err
	}
	if err := w.Flush(false); err != nil {
		w.Abort()
		return nil, err
	}
	return w, nil
}
