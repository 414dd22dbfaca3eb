package wim

// TableRefs returns the file blobs of w's own blob table that have a
// nonzero reference count, as references of no image (Index 0, no
// statistics): what Writer.CopyBlobsOf copies to take every blob the file
// says it uses, without reading any image's metadata. A file of one image
// normally holds that image's blobs and no others, so that an add-image
// can copy them while the image's metadata is still being read, and ask
// Writer.CopiedFor once it is read whether the guess held.
func (w *WIM) TableRefs() *ImageRefs {
	n := len(w.table.entries)
	r := &ImageRefs{src: w, refs: make([]Hash, 0, n), at: make([]blobAt, 0, n)}
	for i := range w.table.entries {
		e := &w.table.entries[i]
		if e.IsMetadata() || e.RefCount == 0 {
			continue
		}
		r.refs = append(r.refs, e.Hash)
		r.at = append(r.at, blobAt{file: 0, entry: uint32(i)})
	}
	return r
}

// CopiedFor reports whether copying the blobs of table (TableRefs of a
// source, given to CopyBlobsOf with nothing else copied into w before)
// added to w exactly the blobs users (images of that source) need that w
// did not hold when it was opened: then the copy stands for
// CopyBlobsOf(src, users...), to the byte (the same blobs, in the same
// order, with the same table entries). It is false when an image uses a
// blob table does not give (one of another file, or of a zero reference
// count) or table gave a blob no image uses.
func (w *Writer) CopiedFor(table *ImageRefs, users ...BlobUser) bool {
	src := table.src
	if table.at == nil {
		return false
	}
	held := func(h Hash) bool { _, ok := w.oldSize(h); return ok }
	used := make([]bool, len(src.table.entries))
	for _, u := range users {
		if r, ok := u.(*ImageRefs); ok && r.src == src && r.at != nil {
			for k, a := range r.at {
				if a.file != 0 {
					if !held(r.refs[k]) {
						return false
					}
					continue
				}
				used[a.entry] = true
			}
			continue
		}
		for h := range blobHashes(u) {
			if h.IsZero() {
				continue
			}
			file, i := src.findAt(h)
			if file != 0 {
				if !held(h) {
					return false
				}
				continue
			}
			used[i] = true
		}
	}
	given := make([]bool, len(src.table.entries))
	for k, a := range table.at {
		given[a.entry] = true
		if !used[a.entry] && !held(table.refs[k]) {
			return false // copied, and no image uses it
		}
	}
	for i, u := range used {
		if u && !given[i] && !held(src.table.entries[i].Hash) {
			return false // needed, and not copied
		}
	}
	return true
}
