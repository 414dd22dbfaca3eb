package wim

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"math"
	"os"

	"github.com/wimconsole/wimconsole/engine/progress"
)

// pipeReader reads a pipable WIM from a stream, in one pass (see
// pipable.go for the layout).
type pipeReader struct {
	r     *bufio.Reader
	name  string
	pos   int64 // bytes read so far
	codec Compression
	chunk int64
	used  bool
	total int64           // bytes of the image being applied, from the XML data
	held  map[Hash][]byte // reparse data of links, kept for makeLink
	dec   decompressor
	parts uint16          // parts of the split set (1: a whole WIM)
	seen  map[uint16]bool // parts whose header came through the pipe
	cbuf  []byte          // stored chunk
	ubuf  []byte          // decompressed chunk
}

// noSeek stands for the data of a WIM read from a pipe: nothing can be
// read again.
type noSeek struct{ name string }

func (n noSeek) ReadAt([]byte, int64) (int, error) {
	return 0, fmt.Errorf("%s is read from a pipe, in one pass: only one image can be applied from it", n.name)
}

// OpenPipe reads the header and the XML data of a pipable WIM from r (a
// pipe: it is read once, never seeked), named name in messages. The WIM it
// returns tells its images (ImageCount, XML) and can apply one of them
// with ApplyPipe; nothing else reads from it. A normal WIM cannot be read
// this way: its blob table is at its end.
func OpenPipe(r io.Reader, name string) (*WIM, error) {
	p := &pipeReader{r: bufio.NewReaderSize(r, 1<<20), name: name}
	var b [HeaderSize]byte
	if err := p.read(b[:]); err != nil {
		return nil, p.ended(err, "the header")
	}
	if !IsPipableMagic(b[:]) {
		if [8]byte(b[:8]) == Magic {
			return nil, fmt.Errorf("%s: this is a normal WIM, which cannot be read from a pipe; give its file name instead, or make it pipable with export --pipable", name)
		}
		return nil, errAt(name, 0, "not a pipable WIM (bad magic)")
	}
	copy(b[:], Magic[:])
	h, err := ParseHeader(b[:])
	if err != nil {
		var fe *FormatError
		if errors.As(err, &fe) {
			fe.File = name
		}
		return nil, err
	}
	h.Magic = pipableMagic
	if h.Part != 1 {
		return nil, fmt.Errorf("%s: part %d of a split set; part 1 must be sent first", name, h.Part)
	}
	p.codec, p.chunk = h.Compression(), int64(h.ChunkSize)
	p.parts, p.seen = h.TotalParts, map[uint16]bool{1: true}
	if p.codec != None && p.chunk > maxChunkSize {
		return nil, errAt(name, 0x14, "chunk size %d is larger than %d", p.chunk, maxChunkSize)
	}

	bh, err := p.blobHeader(false)
	if err != nil {
		return nil, err
	}
	if bh.flags&ResMetadata == 0 {
		return nil, errAt(name, p.pos-pwmBlobHeaderSize, "expected the XML data after the header, found file data")
	}
	if bh.size > maxXMLSize {
		return nil, errAt(name, p.pos, "XML data: %d bytes is too large", bh.size)
	}
	xml, err := p.readAll(bh, "XML data")
	if err != nil {
		return nil, err
	}
	info, err := parseXMLData(xml)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(info.Images) != int(h.ImageCount) {
		return nil, errAt(name, HeaderSize, "XML data describes %d images but the header says %d", len(info.Images), h.ImageCount)
	}
	return &WIM{name: name, ra: noSeek{name}, hdr: h, info: info, table: &blobTable{}, pipe: p}, nil
}

// ApplyPipe extracts image index of a WIM opened with OpenPipe into dir,
// as ApplyImage does, reading the rest of the pipe in one pass: the images'
// metadata, then each blob as it comes, written to every file that has
// it. It can be called once; the data after the last blob needed is not
// read.
func (w *WIM) ApplyPipe(ctx context.Context, index int, dir string, report progress.Func) (*ApplyStats, error) {
	p := w.pipe
	if p == nil {
		return nil, fmt.Errorf("%s: not opened with OpenPipe", w.name)
	}
	if p.used {
		return nil, fmt.Errorf("%s: an image was already applied from this pipe", w.name)
	}
	p.used = true
	if index < 1 || index > w.ImageCount() {
		return nil, fmt.Errorf("%s: no image %d (it has %d)", w.name, index, w.ImageCount())
	}
	var data []byte
	for i := 1; i <= w.ImageCount(); i++ {
		what := fmt.Sprintf("metadata resource of image %d", i)
		bh, err := p.blobHeader(false)
		if err != nil {
			return nil, err
		}
		if bh.flags&ResMetadata == 0 {
			return nil, errAt(w.name, p.pos-pwmBlobHeaderSize, "expected the %s, found file data", what)
		}
		if i != index {
			if err := p.skip(bh); err != nil {
				return nil, err
			}
			continue
		}
		if bh.size > MaxMetadataSize {
			return nil, errAt(w.name, p.pos, "%s is %d bytes, more than the limit of %d", what, bh.size, MaxMetadataSize)
		}
		if data, err = p.readAll(bh, what); err != nil {
			return nil, err
		}
	}
	img, err := ParseMetadata(data)
	if err != nil {
		var fe *FormatError
		if errors.As(err, &fe) {
			return nil, &FormatError{File: w.name, Offset: fe.Offset,
				Msg: fmt.Sprintf("metadata resource of image %d (offset in its data): %s", index, fe.Msg)}
		}
		return nil, err
	}
	img.Index = index
	p.total = w.info.Images[index-1].TotalBytes
	return w.ApplyImage(ctx, img, dir, report)
}

// writeFiles is ApplyImage's step for files and their data, from a pipe:
// empty files first, then each blob as it comes, written to its files.
func (p *pipeReader) writeFiles(ctx context.Context, pl *applyPlan, st *ApplyStats, report progress.Func) error {
	jobs := make(map[Hash]*blobJob)
	for _, ino := range pl.inodes {
		if ino.hash.IsZero() {
			if err := writeData(ino, nil); err != nil {
				return err
			}
			st.Files++
			continue
		}
		j := jobs[ino.hash]
		if j == nil {
			j = &blobJob{hash: ino.hash}
			jobs[ino.hash] = j
		}
		j.inodes = append(j.inodes, ino)
	}
	links := make(map[Hash]bool)
	for _, l := range pl.links {
		if rp, _ := l.f.Reparse(); !rp.Hash.IsZero() {
			links[rp.Hash] = true
		}
	}
	p.held = make(map[Hash][]byte)
	total := p.total
	var done, last int64
	report.Send(progress.Report{Phase: PhaseApplyData, Total: total})
	progressed := func(n int64) {
		done += n
		if report != nil && done-last >= 1<<20 {
			last = done
			report(progress.Report{Phase: PhaseApplyData, Done: done, Total: max(total, done)})
		}
	}
	buf := make([]byte, 256<<10)
	for len(jobs)+len(links) > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		bh, err := p.blobHeader(true)
		if err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
				if p.parts > 1 && len(p.seen) < int(p.parts) {
					return fmt.Errorf("%s: the pipe ended with the data of %d files or links still missing: only %d of the %d parts of the split set came through it; send every part, part 1 first (cat install.swm install2.swm … |)", p.name, len(jobs)+len(links), len(p.seen), p.parts)
				}
				return fmt.Errorf("%s: the pipe ended with the data of %d files or links still missing", p.name, len(jobs)+len(links))
			}
			return err
		}
		if bh.size < 0 {
			continue // the header of a further part
		}
		j, link := jobs[bh.hash], links[bh.hash]
		if bh.flags&ResMetadata != 0 || j == nil && !link {
			if err := p.skip(bh); err != nil {
				return err
			}
			continue
		}
		what := "blob " + bh.hash.String()
		var writers []io.Writer
		var files []*os.File
		closeAll := func() error {
			var first error
			for _, f := range files {
				if err := f.Close(); err != nil && first == nil {
					first = fmt.Errorf("wim: apply: %w", err)
				}
			}
			files = nil
			return first
		}
		var batch []*planInode
		if j != nil {
			batch = j.inodes[:min(len(j.inodes), maxTargetsAtOnce)]
			for _, ino := range batch {
				f, err := createFile(ino.path(0))
				if err != nil {
					closeAll()
					return err
				}
				files = append(files, f)
				writers = append(writers, f)
			}
			what = batch[0].files[0].Path()
		}
		var held bytes.Buffer
		if link {
			if bh.size > maxReparseData {
				closeAll()
				return fmt.Errorf("%s: reparse data %s is %d bytes, more than the limit of %d", p.name, bh.hash, bh.size, maxReparseData)
			}
			writers = append(writers, &held)
		}
		dst := &pipeWriter{ctx: ctx, w: io.MultiWriter(writers...), each: int64(len(batch)), progressed: progressed}
		_, err = io.CopyBuffer(dst, p.open(bh, what), buf)
		if cerr := closeAll(); err == nil {
			err = cerr
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("wim: apply: %s: %w", what, err)
		}
		if link {
			p.held[bh.hash] = held.Bytes()
			delete(links, bh.hash)
		}
		if j == nil {
			continue
		}
		delete(jobs, bh.hash)
		// Files beyond the first batch: copies of the first file.
		for _, ino := range j.inodes[len(batch):] {
			if err := copyApplied(ctx, batch[0].path(0), ino.path(0), buf); err != nil {
				return err
			}
			progressed(bh.size)
		}
		for _, ino := range j.inodes {
			if err := setTimes(ino); err != nil {
				return err
			}
			st.Files++
		}
	}
	st.Bytes = done
	report.Send(progress.Report{Phase: PhaseApplyData, Done: done, Total: max(total, done)})
	return nil
}

// pipeWriter writes to w, counting what is written (each times: once per
// file) and stopping on cancellation.
type pipeWriter struct {
	ctx        context.Context
	w          io.Writer
	each       int64
	progressed func(int64)
}

func (p *pipeWriter) Write(b []byte) (int, error) {
	if err := p.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := p.w.Write(b)
	p.progressed(int64(n) * p.each)
	return n, err
}

// copyApplied creates dst with the contents of src.
func copyApplied(ctx context.Context, src, dst string, buf []byte) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("wim: apply: %w", err)
	}
	defer in.Close()
	out, err := createFile(dst)
	if err != nil {
		return err
	}
	_, err = io.CopyBuffer(&pipeWriter{ctx: ctx, w: out, progressed: func(int64) {}}, in, buf)
	if cerr := out.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("wim: apply: %s: %w", dst, err)
	}
	return nil
}

// heldBlob returns the reparse data kept for a link while the data went by.
func (p *pipeReader) heldBlob(h Hash) ([]byte, error) {
	if b, ok := p.held[h]; ok {
		return b, nil
	}
	return nil, fmt.Errorf("%s: blob %s did not come through the pipe", p.name, h)
}

// read fills b from the pipe.
func (p *pipeReader) read(b []byte) error {
	n, err := io.ReadFull(p.r, b)
	p.pos += int64(n)
	return err
}

// ended describes an early end or a read error of the pipe.
func (p *pipeReader) ended(err error, what string) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errAt(p.name, p.pos, "the pipe ended in %s (was the WIM sent whole?)", what)
	}
	return fmt.Errorf("%s: reading %s: %w", p.name, what, err)
}

// blobHeader reads the blob header of the next resource. Where partOK,
// the header of a further split part may come instead: it is skipped and
// reported with size -1.
func (p *pipeReader) blobHeader(partOK bool) (pwmBlobHeader, error) {
	if partOK {
		if err := p.skipIntegrity(); err != nil {
			return pwmBlobHeader{}, err
		}
	}
	var b [pwmBlobHeaderSize]byte
	at := p.pos
	if err := p.read(b[:]); err != nil {
		if err == io.EOF && partOK {
			return pwmBlobHeader{}, err
		}
		return pwmBlobHeader{}, p.ended(err, "a blob header")
	}
	if IsPipableMagic(b[:]) && partOK {
		var rest [HeaderSize - pwmBlobHeaderSize]byte
		if err := p.read(rest[:]); err != nil {
			return pwmBlobHeader{}, p.ended(err, "a part header")
		}
		if p.seen != nil {
			// The part number, at 0x28 of the header.
			p.seen[binary.LittleEndian.Uint16(rest[0x28-pwmBlobHeaderSize:])] = true
		}
		return pwmBlobHeader{size: -1}, nil
	}
	le := binary.LittleEndian
	if le.Uint64(b[0:]) != pwmBlobMagic {
		return pwmBlobHeader{}, errAt(p.name, at, "expected a blob header (the data is not a pipable WIM, or is damaged)")
	}
	size := le.Uint64(b[8:])
	if size == 0 || size > math.MaxInt64 {
		return pwmBlobHeader{}, errAt(p.name, at, "blob header gives an invalid size (%d)", size)
	}
	flags := le.Uint32(b[36:])
	if flags&ResCompressed != 0 && p.codec == None {
		return pwmBlobHeader{}, errAt(p.name, at, "compressed resource in a WIM without compression")
	}
	h := pwmBlobHeader{size: int64(size), flags: uint8(flags)}
	copy(h.hash[:], b[16:36])
	return h, nil
}

// skipIntegrity passes over an integrity table where one comes next: at
// the end of a part of a split set whose source had one (wimlib-imagex
// split keeps it in every part; its own pipe reader stops there). It is
// recognised by its shape, {u32 size, u32 count, u32 chunk size} with size
// = 12 + 20 × count, where a blob header or a part header would begin.
func (p *pipeReader) skipIntegrity() error {
	b, err := p.r.Peek(12)
	if err != nil {
		return nil // the caller reads the end of the pipe
	}
	le := binary.LittleEndian
	if le.Uint64(b) == pwmBlobMagic || IsPipableMagic(b) {
		return nil
	}
	size, count, chunk := int64(le.Uint32(b)), int64(le.Uint32(b[4:])), le.Uint32(b[8:])
	if count == 0 || size != 12+20*count || chunk == 0 {
		return nil // not one: the blob header check says what is wrong
	}
	if err := discard(p.r, size); err != nil {
		return p.ended(err, "an integrity table")
	}
	p.pos += size
	return nil
}

// readAll reads a whole resource (of a size already bounded), checking its
// digest.
func (p *pipeReader) readAll(bh pwmBlobHeader, what string) ([]byte, error) {
	// Grown as the data comes: a pipe does not tell how much follows, so
	// a size read from it must not be allocated up front.
	r := p.open(bh, what)
	b, err := io.ReadAll(io.LimitReader(r, bh.size))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) != bh.size {
		return nil, p.ended(io.ErrUnexpectedEOF, what)
	}
	// The digest is checked by the read that reaches the end.
	if _, err := r.Read(make([]byte, 1)); err != io.EOF {
		return nil, err
	}
	return b, nil
}

// skip passes over a resource.
func (p *pipeReader) skip(bh pwmBlobHeader) error {
	if bh.flags&ResCompressed == 0 {
		if err := discard(p.r, bh.size); err != nil {
			return p.ended(err, "a resource")
		}
		p.pos += bh.size
		return nil
	}
	nchunks := (bh.size + p.chunk - 1) / p.chunk
	for i := int64(0); i < nchunks; i++ {
		usize := min(p.chunk, bh.size-i*p.chunk)
		csize, err := p.chunkSize(usize, i)
		if err != nil {
			return err
		}
		if err := discard(p.r, csize); err != nil {
			return p.ended(err, "a chunk")
		}
		p.pos += csize
	}
	return p.skipTable(bh.size, nchunks)
}

// chunkSize reads the stored size in front of chunk i.
func (p *pipeReader) chunkSize(usize, i int64) (int64, error) {
	var b [pwmChunkHdrSize]byte
	if err := p.read(b[:]); err != nil {
		return 0, p.ended(err, "a chunk header")
	}
	csize := int64(binary.LittleEndian.Uint32(b[:]))
	if csize == 0 || csize > usize {
		return 0, errAt(p.name, p.pos-pwmChunkHdrSize, "chunk %d has stored size %d for %d bytes of data", i, csize, usize)
	}
	return csize, nil
}

// skipTable passes over the chunk table after the last chunk.
func (p *pipeReader) skipTable(size, nchunks int64) error {
	n := (nchunks - 1) * chunkTableEntrySize(size)
	if err := discard(p.r, n); err != nil {
		return p.ended(err, "a chunk table")
	}
	p.pos += n
	return nil
}

// open returns a reader of the uncompressed data of the resource whose
// blob header was just read; it checks the digest at the end.
func (p *pipeReader) open(bh pwmBlobHeader, what string) io.Reader {
	return &pipeResource{p: p, bh: bh, what: what, sha: sha1.New(), nchunks: (bh.size + max(p.chunk, 1) - 1) / max(p.chunk, 1)}
}

// pipeResource reads one resource from the pipe.
type pipeResource struct {
	p       *pipeReader
	bh      pwmBlobHeader
	what    string
	sha     hash.Hash
	done    int64 // uncompressed bytes delivered
	next    int64 // next chunk
	nchunks int64
	cur     []byte
	err     error
}

func (r *pipeResource) Read(b []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	p := r.p
	if r.bh.flags&ResCompressed == 0 {
		if r.done == r.bh.size {
			return 0, r.finish()
		}
		b = b[:min(int64(len(b)), r.bh.size-r.done)]
		n, err := io.ReadFull(p.r, b)
		p.pos += int64(n)
		r.done += int64(n)
		r.sha.Write(b[:n])
		if err != nil {
			r.err = p.ended(err, r.what)
			return n, r.err
		}
		return n, nil
	}
	if len(r.cur) == 0 {
		if r.next == r.nchunks {
			if r.err = p.skipTable(r.bh.size, r.nchunks); r.err != nil {
				return 0, r.err
			}
			return 0, r.finish()
		}
		if r.err = r.chunk(); r.err != nil {
			return 0, r.err
		}
	}
	n := copy(b, r.cur)
	r.cur = r.cur[n:]
	return n, nil
}

// chunk reads and decompresses the next chunk into r.cur.
func (r *pipeResource) chunk() error {
	p := r.p
	i := r.next
	usize := min(p.chunk, r.bh.size-i*p.chunk)
	csize, err := p.chunkSize(usize, i)
	if err != nil {
		return err
	}
	at := p.pos
	if usize > bombChunk && csize < usize/bombRatio {
		return errAt(p.name, at, "%s: chunk %d claims %d bytes from %d; refusing a likely decompression bomb", r.what, i, usize, csize)
	}
	src, err := p.readChunk(csize)
	if err != nil {
		return p.ended(err, r.what)
	}
	dst := src // stored raw
	if csize != usize {
		if int64(cap(p.ubuf)) < usize {
			p.ubuf = make([]byte, usize)
		}
		dst = p.ubuf[:usize]
		if p.dec == nil {
			if p.dec, err = getDecompressor(p.codec, int(p.chunk)); err != nil {
				return errAt(p.name, at, "%s: %v decompressor for %d-byte chunks: %v", r.what, p.codec, p.chunk, err)
			}
		}
		if err := decompressChunk(p.dec, dst, src, nil); err != nil {
			return errAt(p.name, at, "%s: chunk %d (%d bytes, %v): %v", r.what, i, csize, p.codec, err)
		}
	}
	r.sha.Write(dst)
	r.done += usize
	r.next++
	r.cur = dst
	return nil
}

// readChunk reads the n stored bytes of a chunk. A large chunk's buffer
// grows as its data comes: a size read from a pipe must not be allocated
// before the data is there.
func (p *pipeReader) readChunk(n int64) ([]byte, error) {
	if int64(cap(p.cbuf)) < n && n <= 1<<20 {
		p.cbuf = make([]byte, n)
	}
	if int64(cap(p.cbuf)) >= n {
		b := p.cbuf[:n]
		return b, p.read(b)
	}
	b, err := io.ReadAll(io.LimitReader(p.r, n))
	p.pos += int64(len(b))
	if err == nil && int64(len(b)) < n {
		err = io.ErrUnexpectedEOF
	}
	p.cbuf = b
	return b, err
}

// finish checks the digest once the data is read whole.
func (r *pipeResource) finish() error {
	var got Hash
	r.sha.Sum(got[:0])
	if got != r.bh.hash {
		r.err = &ChecksumError{File: r.p.name, Offset: r.p.pos, What: r.what, Want: r.bh.hash, Got: got}
		return r.err
	}
	r.err = io.EOF
	return io.EOF
}
