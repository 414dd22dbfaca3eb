package wim

import (
	"context"
	"crypto/rand"
	"crypto/sha1"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/wimconsole/wimconsole/engine/progress"
)

// DefaultPartSize is the part size of Split when none is given: 3.8 GiB,
// below FAT32's 4 GiB file limit with room for a part's tables, as DISM
// users pick for a USB stick.
const DefaultPartSize = 3891 << 20

// PhaseSplit is the phase of Split's progress reports.
const PhaseSplit = "splitting"

// SplitOptions configure Split.
type SplitOptions struct {
	// PartSize bounds the size of each part; 0 means DefaultPartSize. A
	// blob is never cut, so a part holding a blob larger than PartSize is
	// larger (as DISM and wimlib do).
	PartSize int64
	// Integrity writes an integrity table in every part. A source that
	// has one gives its parts one too, as wimlib-imagex split does.
	Integrity bool
	// Progress receives the bytes copied out of the total.
	Progress progress.Func
}

// SplitPartNames returns the names of the parts of a split set whose first
// part is dest: dest itself, then the base name with the part number
// before the extension (install.swm, install2.swm, install3.swm …), as
// DISM and wimlib name them and Windows Setup looks for them.
func SplitPartNames(dest string, parts int) []string {
	ext := filepath.Ext(dest)
	base := strings.TrimSuffix(dest, ext)
	names := []string{dest}
	for i := 2; i <= parts; i++ {
		names = append(names, base+strconv.Itoa(i)+ext)
	}
	return names
}

// splitItem is one resource of a split set: a file blob or an image's
// metadata, where it is in its source file.
type splitItem struct {
	src   *WIM
	entry BlobEntry
}

// Split writes the images of src (with the file data they use, from src or
// its references) as a split set: parts that share one GUID, each with its
// part number and the total count, the spanned flag and a blob table of
// the resources it holds. Part 1 holds every image's metadata, and each
// part the XML data of all images. Resources are copied as they are stored,
// without decompressing them. dest names part 1 (see SplitPartNames); none
// of the parts may exist yet. The parts are written under temporary names
// and renamed into place only when all are complete, part 1 last: a split
// that fails or is cancelled leaves nothing behind. It returns the names
// of the parts.
//
// A pipable src (wimlib's streamable variant, see pipable.go) is split
// into pipable parts, as wimlib-imagex split does: each part has the
// pipable layout (a first header without tables, a copy of the XML data,
// part 1's metadata, the part's blobs, each behind its blob header, then
// the blob table, the XML data and the complete header last), so that the
// parts sent one after the other through a pipe apply in one pass
// (wimlib-imagex apply - ; our apply -).
func Split(ctx context.Context, src *WIM, dest string, o SplitOptions) ([]string, error) {
	if o.PartSize == 0 {
		o.PartSize = DefaultPartSize
	}
	if o.PartSize < 0 {
		return nil, fmt.Errorf("wim: part size %d: want a positive size", o.PartSize)
	}
	items, err := splitItems(src)
	if err != nil {
		return nil, err
	}
	parts := planParts(items, src.ImageCount(), o.PartSize)
	names := SplitPartNames(dest, len(parts))
	for _, n := range names {
		if _, err := os.Lstat(n); err == nil {
			return nil, fmt.Errorf("wim: %s already exists: remove it (and the other parts of its set) or choose another name", n)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("wim: %w", err)
		}
	}
	s := &splitter{src: src, total: len(parts), report: o.Progress, pipable: src.pipable,
		integrity: o.Integrity || !src.hdr.Integrity.IsZero()}
	if _, err := rand.Read(s.guid[:]); err != nil {
		return nil, fmt.Errorf("wim: GUID: %w", err)
	}
	for _, p := range parts {
		for _, it := range p {
			s.bytes += it.entry.Res.StoredSize
		}
	}
	var temps []*splitTemp
	defer func() {
		for _, t := range temps {
			t.discard()
		}
	}()
	for i, p := range parts {
		t, err := s.writePart(ctx, names[i], i+1, p)
		if err != nil {
			return nil, err
		}
		temps = append(temps, t)
	}
	// Every part is complete and synced: rename them into place, part 1
	// last, so that a reader never finds part 1 of an incomplete set.
	for i := len(temps) - 1; i >= 0; i-- {
		if err := temps[i].commit(); err != nil {
			for _, n := range names[i+1:] {
				os.Remove(n)
			}
			return nil, err
		}
	}
	temps = nil
	syncDir(filepath.Dir(dest))
	return names, nil
}

// splitItems returns what a split set of src holds: the images' metadata,
// then every file blob they use, in the order they are stored (so that the
// source is read front to back).
func splitItems(src *WIM) ([]splitItem, error) {
	files := append([]*WIM{src}, src.Refs()...)
	for _, f := range files {
		if len(f.solidResources()) > 0 {
			return nil, fmt.Errorf("wim: %s holds solid (ESD) resources, which a split set cannot carry: export it without solid compression first", f.Name())
		}
		if f != src && (f.hdr.Compression() != src.hdr.Compression() || f.hdr.ChunkSize != src.hdr.ChunkSize) {
			return nil, fmt.Errorf("wim: %s is compressed differently from %s (%v, not %v): export them into one file first", f.Name(), src.Name(), f.hdr.Compression(), src.hdr.Compression())
		}
		if f != src && f.pipable != src.pipable && src.hdr.Compression() != None {
			// Compressed resources are laid out differently in the two.
			p, n := f, src
			if src.pipable {
				p, n = src, f
			}
			return nil, fmt.Errorf("wim: %s is a pipable WIM and %s is not, so their compressed data cannot be copied into one split set: export them into one file first", p.Name(), n.Name())
		}
	}
	var items []splitItem
	seen := make(map[Hash]bool)
	var blobs []splitItem
	for i := 1; i <= src.ImageCount(); i++ {
		me, err := src.MetadataEntry(i)
		if err != nil {
			return nil, err
		}
		items = append(items, splitItem{src, me})
		img, err := src.Image(i)
		if err != nil {
			return nil, err
		}
		for h := range img.BlobRefs() {
			if seen[h] {
				continue
			}
			seen[h] = true
			o, e := src.find(h)
			if o == nil {
				return nil, src.missing(h)
			}
			blobs = append(blobs, splitItem{o, *e})
		}
	}
	slices.SortStableFunc(blobs, func(a, b splitItem) int {
		if a.src != b.src {
			return slices.Index(files, a.src) - slices.Index(files, b.src)
		}
		return cmpInt64(a.entry.Res.Offset, b.entry.Res.Offset)
	})
	return append(items, blobs...), nil
}

// planParts deals the items (metadata first) into parts of at most size
// stored bytes each: a part is full when the next blob would reach size,
// except that the metadata all goes into part 1 and every part takes at
// least one blob.
func planParts(items []splitItem, metadata int, size int64) [][]splitItem {
	parts := [][]splitItem{nil}
	var used int64
	for k, it := range items {
		n := it.entry.Res.StoredSize
		cur := len(parts) - 1
		if k >= metadata && used > 0 && used+n >= size {
			parts = append(parts, nil)
			cur++
			used = 0
		}
		parts[cur] = append(parts[cur], it)
		used += n
	}
	return parts
}

// splitter writes the parts of one split set.
type splitter struct {
	src    *WIM
	guid   [16]byte
	total  int
	bytes  int64 // stored bytes of all parts' resources
	done   int64
	report progress.Func
	buf    []byte
	// pipable: the parts are written pipable (the source is).
	pipable bool
	// integrity: every part gets an integrity table.
	integrity bool
}

// splitTemp is a complete part under its temporary name.
type splitTemp struct {
	f, hold *os.File
	name    string
}

func (t *splitTemp) discard() {
	if t.f != nil {
		os.Remove(t.f.Name())
		t.f.Close()
		t.f = nil
	}
	if t.hold != nil {
		t.hold.Close()
		t.hold = nil
	}
}

func (t *splitTemp) commit() error {
	if err := os.Rename(t.f.Name(), t.name); err != nil {
		return fmt.Errorf("wim: %w", err)
	}
	t.f.Close()
	t.f = nil
	if t.hold != nil {
		t.hold.Close()
		t.hold = nil
	}
	return nil
}

// writePart writes part number n of the set, holding items, to a
// temporary file next to name, and syncs it.
func (s *splitter) writePart(ctx context.Context, name string, n int, items []splitItem) (*splitTemp, error) {
	dir, base := filepath.Split(name)
	if dir == "" {
		dir = "."
	}
	f, hold, err := createTemp(dir, base)
	if err != nil {
		return nil, fmt.Errorf("wim: %w", err)
	}
	t := &splitTemp{f: f, hold: hold, name: name}
	if err := s.fillPart(ctx, f, n, items); err != nil {
		t.discard()
		return nil, err
	}
	return t, nil
}

func (s *splitter) fillPart(ctx context.Context, f *os.File, n int, items []splitItem) error {
	h := Header{Magic: Magic, Version: s.src.hdr.Version, Flags: s.src.hdr.Flags, ChunkSize: s.src.hdr.ChunkSize, GUID: s.guid,
		Part: uint16(n), TotalParts: uint16(s.total), ImageCount: uint32(s.src.ImageCount())}
	h.Flags |= FlagSpanned
	h.Flags &^= FlagWriteInProgress | FlagResourceOnly | FlagMetadataOnly
	info := s.src.XML()
	if info == nil {
		info = &Info{}
	}
	// Every part keeps the source's TOTALBYTES, as wimlib writes split
	// sets: 7-Zip takes the parts for a damaged set otherwise.
	info = info.Clone()
	xmlData, err := info.Marshal()
	if err != nil {
		return fmt.Errorf("wim: %s: %w", f.Name(), err)
	}
	pos := int64(HeaderSize)
	// put writes data at pos as a resource of the part (behind its blob
	// header in a pipable part) and returns its reshdr.
	put := func(data []byte, what string) (ResourceHeader, error) {
		if s.pipable {
			if err := s.blobHeader(f, pos, pwmBlobHeader{size: int64(len(data)), hash: sha1.Sum(data), flags: ResMetadata}); err != nil {
				return ResourceHeader{}, err
			}
			pos += pwmBlobHeaderSize
		}
		if _, err := f.WriteAt(data, pos); err != nil {
			return ResourceHeader{}, fmt.Errorf("wim: %s: writing %s: %w", f.Name(), what, err)
		}
		res := ResourceHeader{Offset: pos, StoredSize: int64(len(data)), Size: int64(len(data)), Flags: ResMetadata}
		pos += int64(len(data))
		return res, nil
	}
	if s.pipable {
		// The first header, without tables (a pipe reader takes the
		// part's numbers and codec from it), then the XML data a pipe
		// reader needs before the images' metadata (without TOTALBYTES,
		// as wimlib writes this copy).
		first := h
		first.Magic = pipableMagic
		hb, _ := first.MarshalBinary()
		if _, err := f.WriteAt(hb, 0); err != nil {
			return fmt.Errorf("wim: %s: writing header: %w", f.Name(), err)
		}
		early := info.Clone()
		early.noTotal = true
		b, err := early.Marshal()
		if err != nil {
			return fmt.Errorf("wim: %s: %w", f.Name(), err)
		}
		if _, err := put(b, "XML data"); err != nil {
			return err
		}
	}
	var meta, blobs []BlobEntry
	for _, it := range items {
		if err := ctx.Err(); err != nil {
			return err
		}
		e := it.entry
		if s.pipable {
			bh := pwmBlobHeader{size: e.Res.Size, hash: e.Hash, flags: e.Res.Flags & (ResMetadata | ResCompressed)}
			if err := s.blobHeader(f, pos, bh); err != nil {
				return err
			}
			pos += pwmBlobHeaderSize
		}
		if err := s.copyResource(ctx, f, pos, it.src, e.Res); err != nil {
			return err
		}
		e.Res.Offset = pos
		e.Part = uint16(n)
		pos += e.Res.StoredSize
		if e.IsMetadata() {
			meta = append(meta, e)
		} else {
			blobs = append(blobs, e)
		}
	}
	// Image metadata first, image 1 first, as readers expect.
	var table []byte
	for _, e := range append(meta, blobs...) {
		table = e.appendEncode(table)
	}
	if h.BlobTable, err = put(table, "the blob table"); err != nil {
		return err
	}
	if h.XML, err = put(xmlData, "XML data"); err != nil {
		return err
	}
	if s.integrity {
		// After the XML data, covering the part from its first header's
		// end to its blob table's, as in a whole WIM (in a pipable part
		// too, where wimlib puts it there as well).
		t, err := computeIntegrity(ctx, f, h.BlobTable.End(), integrityChunkSize, nil)
		if err != nil {
			return fmt.Errorf("wim: %s: %w", f.Name(), err)
		}
		b, err := t.MarshalBinary()
		if err != nil {
			return err
		}
		if _, err := f.WriteAt(b, pos); err != nil {
			return fmt.Errorf("wim: %s: writing the integrity table: %w", f.Name(), err)
		}
		h.Integrity = ResourceHeader{Offset: pos, StoredSize: int64(len(b)), Size: int64(len(b))}
		pos += int64(len(b))
	}
	if boot := s.src.BootIndex(); n == 1 && boot > 0 && boot <= len(meta) {
		h.BootIndex = uint32(boot)
		h.BootMetadata = meta[boot-1].Res
	}
	at := int64(0)
	if s.pipable {
		// The complete header comes last in a pipable file.
		h.Magic, at = pipableMagic, pos
	}
	hb, _ := h.MarshalBinary()
	if _, err := f.WriteAt(hb, at); err != nil {
		return fmt.Errorf("wim: %s: writing header: %w", f.Name(), err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("wim: %s: %w", f.Name(), err)
	}
	return nil
}

// blobHeader writes the blob header of a pipable part's resource at pos.
func (s *splitter) blobHeader(f *os.File, pos int64, bh pwmBlobHeader) error {
	var b [pwmBlobHeaderSize]byte
	bh.encode(b[:])
	if _, err := f.WriteAt(b[:], pos); err != nil {
		return fmt.Errorf("wim: %s: %w", f.Name(), err)
	}
	return nil
}

// copyResource copies the stored bytes of res in src to f at pos: inside
// the kernel where it can, through a buffer elsewhere, in pieces so that a
// cancel is seen within one piece.
func (s *splitter) copyResource(ctx context.Context, f *os.File, pos int64, src *WIM, res ResourceHeader) error {
	for k := int64(0); k < res.StoredSize; {
		if err := ctx.Err(); err != nil {
			return err
		}
		m := min(int64(copyPiece), res.StoredSize-k)
		c := int64(0)
		if src.f != nil {
			c = copyFileRange(f, pos+k, src.f, res.Offset+k, m)
		}
		for c < m {
			if s.buf == nil {
				s.buf = make([]byte, 1<<20)
			}
			b := s.buf[:min(int64(len(s.buf)), m-c)]
			if _, err := src.ra.ReadAt(b, res.Offset+k+c); err != nil {
				if err == io.EOF {
					err = io.ErrUnexpectedEOF
				}
				return fmt.Errorf("wim: %s: reading the resource at offset 0x%x: %w", src.name, res.Offset+k+c, err)
			}
			if _, err := f.WriteAt(b, pos+k+c); err != nil {
				return fmt.Errorf("wim: %s: %w", f.Name(), err)
			}
			c += int64(len(b))
		}
		k += m
		s.done += m
		if s.report != nil {
			s.report(progress.Report{Phase: PhaseSplit, Done: s.done, Total: s.bytes})
		}
	}
	return nil
}
