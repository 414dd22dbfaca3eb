package wim

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"slices"
)

// OpenAppend opens the existing WIM file name to add blobs and images in
// place. New data goes after everything the current header references,
// then a new blob table and XML data; Close writes the header last, after
// syncing, so that a crash at any point leaves a file that opens with every
// image it had before. The codec, chunk size and header flags are the
// file's own; opts.Compression and opts.ChunkSize are ignored.
//
// A file that has solid resources (an ESD) keeps them and gets new file
// blobs in new solid resources, with the codec and chunk size of its last
// one. opts.Solid makes a file without any start having them (with
// opts.SolidCompression and opts.SolidChunkSize); its version becomes the
// solid one.
//
// The header's write-in-progress flag (0x40) is set on disk until Close or
// Abort, as wimlib does; readers ignore it. Where the system has flock, the
// file is locked against other writers (wimlib takes the same lock) until
// Close or Abort.
//
// A pipable WIM cannot grow in place: it is written again whole, still
// pipable, and replaced at Close (see appendPipable).
func OpenAppend(name string, opts WriteOptions) (*Writer, error) {
	src, err := openKeepTable(name)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	if src.pipable {
		src.Close()
		return appendPipable(name, opts)
	}
	h := src.Header()
	if h.TotalParts != 1 {
		return nil, fmt.Errorf("wim: %s: cannot append to part %d of a split set", name, h.Part)
	}
	if h.Flags&FlagReadOnly != 0 {
		return nil, fmt.Errorf("wim: %s: the file is marked read-only", name)
	}
	c := h.Compression()
	raw := src.rawTable
	f, err := os.OpenFile(name, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("wim: %w", err)
	}
	if err := lockFile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("wim: %s: %w", name, err)
	}
	RemoveStaleTemps(filepath.Dir(name)) // best effort: leftovers of killed writers
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !os.SameFile(st, mustStat(src.f)) {
		f.Close()
		return nil, fmt.Errorf("wim: %s changed while being opened", name)
	}
	w := &Writer{name: name, path: name, f: f, opts: opts, codec: c, chunk: int(h.ChunkSize), hdr: h, origSize: st.Size(), origFlags: h.Flags}
	if c == None {
		w.chunk = 0
	}
	// Keep the XML data as read, unknown elements included.
	rawXML, err := src.rawXML()
	if err != nil {
		f.Close()
		return nil, err
	}
	info, err := parseXMLData(rawXML)
	if err != nil {
		f.Close()
		return nil, err
	}
	w.info = info
	w.oldVersionSolid = h.Version == VersionSolid
	w.oldSolidSize = make(map[int64]int64)
	solids := src.solidResources()
	for _, s := range solids {
		w.oldSolidSize[s.Res.Offset] = s.Size
	}
	if n := len(solids); n > 0 || opts.Solid {
		sc, chunk := opts.SolidCompression, opts.SolidChunkSize
		if n > 0 {
			sc, chunk = solids[n-1].Compression, int(solids[n-1].ChunkSize)
		} else if sc == None {
			sc = LZMS
		}
		if err := w.setSolid(sc, chunk, w.threads()); err != nil {
			f.Close()
			return nil, err
		}
	}
	// The old blobs are found through the table as read, not copied into
	// have, which holds only the blobs added.
	w.old = src.table
	w.init()
	fail := func(err error) (*Writer, error) {
		w.stopPipeline()
		f.Close()
		return nil, err
	}

	// The old table, entry by entry, as stored.
	end := max(int64(HeaderSize), h.BlobTable.End(), h.XML.End(), h.Integrity.End())
	w.oldTableEnd = h.BlobTable.End()
	metaSeen := 0
	w.oldTable = raw[:len(raw)/blobEntrySize*blobEntrySize]
	for i := 0; i < len(w.oldTable); i += blobEntrySize {
		e := decodeBlobEntry(raw[i:])
		if e.Res.Flags&ResSolid == 0 || h.Version != VersionSolid {
			end = max(end, e.Res.End())
		}
		if e.IsMetadata() && e.Part == h.Part && e.RefCount != 0 && !e.Hash.IsZero() && e.Res.Size != 0 && metaSeen < int(h.ImageCount) {
			w.oldMeta = append(w.oldMeta, i/blobEntrySize)
			metaSeen++
		}
	}
	for _, s := range solids {
		end = max(end, s.Res.End())
	}
	if len(w.oldMeta) != int(h.ImageCount) {
		return fail(errAt(name, h.BlobTable.Offset, "blob table has %d metadata resources for %d images", len(w.oldMeta), h.ImageCount))
	}
	if end > st.Size() {
		return fail(errAt(name, 0, "resources extend to offset %d, past the end of the file (%d bytes)", end, st.Size()))
	}
	w.bootIndex = src.BootIndex()
	if !h.Integrity.IsZero() {
		if t, err := src.readIntegrityTable(); err == nil {
			w.oldIntegrity = t
		}
		w.opts.Integrity = true
	}
	// Mark the file as being written.
	var fl [4]byte
	binary.LittleEndian.PutUint32(fl[:], h.Flags|FlagWriteInProgress)
	if _, err := f.WriteAt(fl[:], 0x10); err != nil {
		return fail(fmt.Errorf("wim: %s: %w", name, err))
	}
	w.out.base = end
	return w, nil
}

// openKeepTable opens the WIM file name alone (no reference files, no
// split parts), keeping its blob table as read: the table is read once,
// not again for OpenAppend's copy of it (it has an entry per blob of the
// file, megabytes for a large image group's Res.rwm).
func openKeepTable(name string) (*WIM, error) {
	f, size, err := openOS(name)
	if err != nil {
		return nil, err
	}
	w := &WIM{name: name, ra: f, f: f, size: size, keepTable: true}
	if err := w.load(); err != nil {
		f.Close()
		return nil, err
	}
	return w, nil
}

func mustStat(f *os.File) os.FileInfo {
	st, err := f.Stat()
	if err != nil {
		return nil
	}
	return st
}

// RemoveImage drops image index (1-based, numbered as when the file was
// opened with OpenAppend) from the file: its metadata entry and its XML
// element go when Close writes the new tables; its file data stays,
// unreferenced, until the file is rebuilt (Optimize). With AddImage in the
// same Writer it replaces an image in one crash-safe step.
func (w *Writer) RemoveImage(index int) error {
	if w.finished {
		return fmt.Errorf("wim: %s: writer is closed", w.name)
	}
	if index < 1 || index > len(w.oldMeta) || w.removed[index] {
		return fmt.Errorf("wim: %s: no image %d", w.name, index)
	}
	// Position in the current XML: earlier removals shift it.
	pos := index - 1
	for i := range w.removed {
		if i < index {
			pos--
		}
	}
	w.removed[index] = true
	w.info.Images = slices.Delete(w.info.Images, pos, pos+1)
	switch b := w.bootIndex; {
	case b == pos+1:
		w.bootIndex = 0
	case b > pos+1:
		w.bootIndex--
	}
	return nil
}
