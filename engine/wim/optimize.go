package wim

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/wimconsole/wimconsole/engine/progress"
)

// OptimizeOptions configure Optimize and DeleteImage.
type OptimizeOptions struct {
	// Compression is the codec of the rebuilt file; nil keeps the file's
	// own. ChunkSize goes with
	// it, as in ExportOptions. A file with solid resources (an ESD) is
	// rebuilt solid, as wimlib-imagex optimize does, with its own solid
	// codec and chunk size: Compression is then that of the rest (image
	// metadata); Export makes a non-solid copy.
	Compression *Compression
	ChunkSize   int
	LZXLevel    int // see WriteOptions; 0: the default
	// Recompress compresses every blob again instead of copying those
	// already stored with the right codec.
	Recompress bool
	// Integrity adds an integrity table; a file that has one keeps it.
	Integrity bool
	// Refs names the files holding the blobs of a metadata-only file (its
	// group's Res.rwm), used for the images' statistics.
	Refs     []string
	Threads  int
	Progress progress.Func
}

// Optimize rebuilds the WIM file name without holes (left by in-place
// appends and soft deletions) and without blobs no image references,
// optionally with another codec. The new file is written next to the old
// one under a temporary name, synced, then renamed over it: a crash leaves
// the old file intact.
//
// A resource-only file keeps all its blobs, since the images using them are
// in other files.
func Optimize(ctx context.Context, name string, o OptimizeOptions) error {
	return rebuild(ctx, name, o, 0)
}

// DeleteImage removes image index (1-based) from the WIM file name.
//
// With soft, only the image's metadata entry and XML element go: a new blob
// table and XML data are appended and the header rewritten last, as for an
// in-place append, so the operation is quick and crash-safe but frees no
// space. Otherwise the file is rebuilt without the image and the data only
// it used (see Optimize).
func DeleteImage(ctx context.Context, name string, index int, soft bool) error {
	if !soft || isPipableFile(name) { // a pipable file cannot change in place
		return rebuild(ctx, name, OptimizeOptions{}, index)
	}
	w, err := OpenAppend(name, WriteOptions{})
	if err != nil {
		return err
	}
	if err := w.RemoveImage(index); err != nil {
		w.Abort()
		return err
	}
	return w.Close()
}

// rebuild writes a new copy of name without image skip (0: none).
func rebuild(ctx context.Context, name string, o OptimizeOptions, skip int) error {
	// Hold the writers' lock while rebuilding: an append meanwhile would
	// be lost with the old file.
	lf, err := os.Open(name)
	if err != nil {
		return fmt.Errorf("wim: %w", err)
	}
	defer lf.Close()
	if err := lockFile(lf); err != nil {
		return fmt.Errorf("wim: %s: %w", name, err)
	}
	src, err := Open(name, &OpenOptions{Refs: o.Refs, NoSplitSearch: true})
	if err != nil {
		return err
	}
	closed := false
	defer func() {
		if !closed {
			src.Close()
		}
	}()
	h := src.Header()
	if h.TotalParts != 1 {
		return fmt.Errorf("wim: %s: cannot rebuild part %d of a split set", name, h.Part)
	}
	if h.Flags&FlagReadOnly != 0 {
		return fmt.Errorf("wim: %s: the file is marked read-only", name)
	}
	if skip < 0 || skip > src.ImageCount() {
		return fmt.Errorf("wim: %s: no image %d (the file has %d)", name, skip, src.ImageCount())
	}
	c, chunk := exportCodec(h, o.Compression, o.ChunkSize)
	wo := WriteOptions{
		Compression:  c,
		ChunkSize:    chunk,
		LZXLevel:     o.LZXLevel,
		Integrity:    o.Integrity || !h.Integrity.IsZero(),
		ResourceOnly: h.Flags&FlagResourceOnly != 0,
		MetadataOnly: h.Flags&FlagMetadataOnly != 0,
		RPFix:        h.Flags&FlagRPFix != 0,
		Recompress:   o.Recompress,
		Threads:      o.Threads,
		Progress:     o.Progress,
		Pipable:      src.pipable, // as wimlib: a pipable file stays pipable
	}
	// As wimlib: a file with solid resources (an ESD) stays solid, with
	// the codec and chunk size of its last solid resource (those an
	// append gives new ones; LZMS's defaults for a codec or chunk size we
	// do not write), whatever codec the rest gets.
	if solids := src.solidResources(); len(solids) > 0 && h.Version == VersionSolid && !src.pipable {
		last := solids[len(solids)-1]
		wo.Solid, wo.SolidCompression = true, LZMS
		switch sc := last.Compression; sc {
		case XPRESS, LZX, LZMS:
			if sc.ValidChunkSize(last.ChunkSize) && last.ChunkSize <= 1<<30 {
				wo.SolidCompression, wo.SolidChunkSize = sc, int(last.ChunkSize)
			}
		}
	}
	w, err := Create(name, wo)
	if err != nil {
		return err
	}
	if err := rebuildInto(ctx, w, src, skip); err != nil {
		w.Abort()
		return err
	}
	return w.close(func() {
		// Windows cannot rename over an open file.
		src.Close()
		lf.Close()
		closed = true
	})
}

func rebuildInto(ctx context.Context, w *Writer, src *WIM, skip int) error {
	h := src.Header()
	w.hdr.GUID = h.GUID
	// Keep the file's own XML elements (other than the images).
	info := *src.XML()
	info.Images = nil
	w.info = &info

	if h.Flags&FlagResourceOnly != 0 || src.ImageCount() == 0 {
		// No images to tell what is used: keep every blob.
		var hashes []Hash
		var total int64
		for _, e := range sortedByLocation(src.Blobs()) {
			if !e.IsMetadata() {
				hashes = append(hashes, e.Hash)
				total += e.Size()
			}
		}
		w.SetTotal(total)
		for _, hh := range hashes {
			if err := w.CopyBlob(ctx, src, hh); err != nil {
				return err
			}
		}
		// Keep the reference counts, which count users in other files.
		for _, e := range src.Blobs() {
			if !e.IsMetadata() && e.RefCount > 1 {
				w.AddRef(e.Hash, e.RefCount)
			}
		}
		return nil
	}

	metaOnly := h.Flags&FlagMetadataOnly != 0
	var imgs []*Image
	var indexes []int
	sizesKnown := make([]bool, 0)
	for i := 1; i <= src.ImageCount(); i++ {
		if i == skip {
			continue
		}
		img, err := src.Image(i)
		known := true
		var mb *MissingBlobError
		if err != nil && metaOnly && errors.As(err, &mb) {
			// The group's Res.rwm was not given: the tree is all we
			// need, sizes stay unknown.
			data, err2 := src.MetadataResource(i)
			if err2 != nil {
				return err2
			}
			img, err = ParseMetadata(data)
			known = false
		}
		if err != nil {
			return err
		}
		imgs = append(imgs, img)
		indexes = append(indexes, i)
		sizesKnown = append(sizesKnown, known)
	}
	// Only blobs this file holds are copied: those of a metadata-only
	// file's images live in other files.
	var own []*Image
	for _, img := range imgs {
		own = append(own, ownBlobs(src, img))
	}
	if err := w.CopyImageBlobs(ctx, src, own...); err != nil {
		return err
	}
	boot := src.BootIndex()
	for k, img := range imgs {
		info := *src.XML().Image(indexes[k])
		idx, err := w.AddImageFrom(ctx, src, indexes[k], img, info)
		if err != nil {
			return err
		}
		if !sizesKnown[k] {
			// Keep the recorded sizes rather than the zeros of an
			// image whose blobs were not available.
			w.info.Images[idx-1].TotalBytes = info.TotalBytes
			w.info.Images[idx-1].HardLinkBytes = info.HardLinkBytes
		}
		if indexes[k] == boot {
			if err := w.SetBootIndex(idx); err != nil {
				return err
			}
		}
	}
	return nil
}

// ownBlobs returns a flat view of img listing only the streams whose blobs
// src itself holds (not its references), for copying.
func ownBlobs(src *WIM, img *Image) *Image {
	root := &File{Attributes: AttrDirectory, SecurityID: -1}
	for h := range img.BlobRefs() {
		if _, ok := src.table.find(h); ok {
			root.Children = append(root.Children, &File{Hash: h})
		}
	}
	return &Image{Root: root}
}
