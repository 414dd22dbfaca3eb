package wim

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime/debug"
	"slices"

	"github.com/wimconsole/wimconsole/engine/progress"
)

// ExportOptions configure Export.
type ExportOptions struct {
	// Name and Description replace those of the exported image; only
	// when one image is exported.
	Name, Description string
	// Compression is the codec of a new destination file; nil keeps the
	// source's (an ESD's LZMS too, non-solid unless Solid says otherwise; give
	// LZX for a WIM that every Windows tool reads).
	// ChunkSize goes with it (0: the source's when the codec is the same,
	// else DefaultChunkSize). Both are ignored when appending.
	Compression *Compression
	ChunkSize   int
	// Solid packs the file data of a new destination into solid
	// resources (see WriteOptions.Solid): WIM to ESD with the default
	// LZMS. With no Compression, the metadata's codec is the solid one.
	// An existing destination that has solid resources gets new ones
	// regardless.
	Solid            bool
	SolidCompression Compression // LZMS for None
	SolidChunkSize   int
	// LZXLevel is the level of data compressed again with LZX (see
	// WriteOptions); 0: the default.
	LZXLevel int
	// Recompress decompresses and compresses again blobs that could be
	// copied as stored, and encodes the images' metadata afresh.
	Recompress bool
	Integrity  bool // write an integrity table
	Boot       bool // mark the (first) exported image bootable
	// Pipable writes a new destination as a pipable WIM (see
	// WriteOptions.Pipable); an existing one cannot be.
	Pipable  bool
	Threads  int
	Progress progress.Func
}

// Export copies images (1-based indexes) of src, with the blobs they
// reference from src or its references, into the WIM file dest: a new file,
// or, when dest exists, the existing file grown in place (OpenAppend). It
// returns the new images' indexes in dest.
//
// Blobs dest already holds are not written again. Blobs stored with dest's
// codec and chunk size are copied as they are, without decompressing them;
// the others are decompressed, checked and compressed again.
func Export(ctx context.Context, src *WIM, images []int, dest string, o ExportOptions) ([]int, error) {
	if len(images) == 0 {
		return nil, fmt.Errorf("wim: export: no images given")
	}
	seen := make(map[int]bool)
	for _, i := range images {
		if i < 1 || i > src.ImageCount() {
			return nil, fmt.Errorf("wim: export: %s has no image %d (it has %d)", src.Name(), i, src.ImageCount())
		}
		if seen[i] {
			return nil, fmt.Errorf("wim: export: image %d given twice", i)
		}
		seen[i] = true
	}
	if len(images) > 1 && (o.Name != "" || o.Description != "") {
		return nil, fmt.Errorf("wim: export: a name or description applies to one image, not %d", len(images))
	}
	if st, err := os.Stat(dest); err == nil {
		if sst, err := src.f.Stat(); err == nil && os.SameFile(st, sst) {
			return nil, fmt.Errorf("wim: export: %s is the source file", dest)
		}
	}
	// Read the images first: nothing is written if one is damaged or
	// misses blobs.
	imgs := make([]*Image, len(images))
	for k, i := range images {
		img, err := src.Image(i)
		if err != nil {
			return nil, err
		}
		imgs[k] = img
	}

	srcHdr := src.Header()
	wo := WriteOptions{Integrity: o.Integrity, Recompress: o.Recompress, LZXLevel: o.LZXLevel, Threads: o.Threads, Progress: o.Progress,
		RPFix: srcHdr.Flags&FlagRPFix != 0, Solid: o.Solid, SolidCompression: o.SolidCompression, SolidChunkSize: o.SolidChunkSize}
	var w *Writer
	_, err := os.Stat(dest)
	appending := err == nil
	switch {
	case appending && o.Pipable && !isPipableFile(dest):
		return nil, fmt.Errorf("wim: export: %s exists and is not pipable; it cannot become pipable in place: remove it or choose another name", dest)
	case appending:
		w, err = OpenAppend(dest, wo)
		if err == nil && srcHdr.Flags&FlagRPFix != 0 {
			w.hdr.Flags |= FlagRPFix
		}
	case errors.Is(err, fs.ErrNotExist):
		want := o.Compression
		if o.Solid && want == nil {
			sc := o.SolidCompression
			if sc == None {
				sc = LZMS
			}
			want = &sc
		}
		wo.Compression, wo.ChunkSize = exportCodec(srcHdr, want, o.ChunkSize)
		wo.Pipable = o.Pipable
		w, err = Create(dest, wo)
	}
	if err != nil {
		return nil, err
	}
	out, err := exportInto(ctx, w, src, images, imgs, o, !appending)
	if err != nil {
		w.Abort()
		return nil, err
	}
	if err := w.CloseContext(ctx); err != nil {
		return nil, err
	}
	return out, nil
}

// exportCodec chooses the codec of a new file made from a file with header
// h: the one asked for, or h's own.
func exportCodec(h Header, want *Compression, chunk int) (Compression, int) {
	c := h.Compression()
	if want != nil {
		if *want != c && chunk == 0 {
			return *want, 0
		}
		c = *want
	}
	if chunk == 0 && c != None {
		chunk = int(h.ChunkSize)
		if !c.ValidChunkSize(uint32(chunk)) {
			chunk = 0
		}
	}
	return c, chunk
}

func exportInto(ctx context.Context, w *Writer, src *WIM, images []int, imgs []*Image, o ExportOptions, newFile bool) ([]int, error) {
	// Names must stay unique in the destination.
	names := make(map[string]bool)
	for _, im := range w.Info().Images {
		names[im.Name] = true
	}
	infos := make([]ImageInfo, len(images))
	for k, i := range images {
		info := *src.XML().Image(i)
		if o.Name != "" {
			info.Name = o.Name
		}
		if o.Description != "" {
			info.Description = o.Description
		}
		if info.Name != "" && names[info.Name] {
			return nil, fmt.Errorf("wim: export: %s already has an image named %q; give another name", w.Name(), info.Name)
		}
		names[info.Name] = true
		infos[k] = info
	}
	plan, err := w.planImageBlobs(src, blobUsers(imgs))
	if err != nil {
		return nil, err
	}
	// Solid resources of large chunks (an ESD): the compressors, a
	// chunk buffer and its output per worker hold more than a gigabyte
	// until the last chunk is written. The images' trees are not needed
	// meanwhile: they go, with what reading and planning left behind,
	// back to the system before the first chunk is compressed, and are
	// read again for their metadata once the chunks are written (a
	// fraction of a second next to the minutes the chunks take).
	// Likewise when the blobs come out of solid resources of large
	// chunks (an ESD exported to LZX): the source's chunk cache then
	// holds a chunk (64 MiB) and, while it decompresses the next, that
	// chunk's compressed bytes (38 MB for one of tree A's); the trees
	// (12 MB for tree A, and half as much again in the collector's
	// headroom) would come on top of them.
	reread := (w.solid.on && w.solid.chunk >= bigSolidChunk) || plan.readsBigSolid()
	if reread {
		clear(imgs)
		debug.FreeOSMemory()
	}
	if err := w.copyPlanned(ctx, plan); err != nil {
		return nil, err
	}
	out := make([]int, len(images))
	for k := range images {
		img := imgs[k]
		if img == nil {
			// The compressors go first (see drainSolid): the tree
			// takes their memory.
			if err := w.drainSolid(ctx); err != nil {
				return nil, err
			}
			if img, err = src.Image(images[k]); err != nil {
				return nil, err
			}
		}
		idx, err := w.AddImageFrom(ctx, src, images[k], img, infos[k])
		if err != nil {
			return nil, err
		}
		out[k] = idx
		if (o.Boot && k == 0) || (newFile && !o.Boot && images[k] == src.BootIndex()) {
			if err := w.SetBootIndex(idx); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// CopyImageBlobs copies into w every blob the images reference that w
// does not hold, from src or its references (see CopyBlob), reading them in
// the order they are stored. The images come from src.Image; their sizes
// give the progress total.
func (w *Writer) CopyImageBlobs(ctx context.Context, src *WIM, imgs ...*Image) error {
	return w.CopyBlobsOf(ctx, src, blobUsers(imgs)...)
}

func blobUsers(imgs []*Image) []BlobUser {
	users := make([]BlobUser, len(imgs))
	for i, img := range imgs {
		users[i] = img
	}
	return users
}

// CopyBlobsOf is CopyImageBlobs for images given as trees or as their
// references alone (ImageRefs). Into a solid file, the trees' names give
// the order of the data (see solidSortKey); the blobs of references alone
// keep their order in src.
func (w *Writer) CopyBlobsOf(ctx context.Context, src *WIM, users ...BlobUser) error {
	plan, err := w.planImageBlobs(src, users)
	if err != nil {
		return err
	}
	if !w.solid.on {
		// An entry per blob copied: room made once, not doubled as they
		// are recorded.
		w.mu.Lock()
		w.newBlob = slices.Grow(w.newBlob, len(plan.blobs))
		w.mu.Unlock()
	}
	return w.copyPlanned(ctx, plan)
}

// blobPlan is the copy CopyImageBlobs plans: the blobs to copy in the
// order to copy them, and the source solid resources to copy whole (see
// wholeSolidCopies). It holds no image tree and no sort key: only what the
// copy needs, for it is kept while the copy runs.
type blobPlan struct {
	blobs []foundBlob
	whole map[*SolidResource][]solidBlob
}

// readsBigSolid reports whether the plan decompresses blobs out of solid
// resources of large chunks (see chunkCache).
func (p blobPlan) readsBigSolid() bool {
	for _, f := range p.blobs {
		if s := f.e.Solid; s != nil && p.whole[s] == nil && int64(s.ChunkSize) >= bigSolidChunk {
			return true
		}
	}
	return false
}

// planImageBlobs plans CopyImageBlobs's copy of the blobs of imgs (images
// of src) that w does not hold, and sets the progress total.
func (w *Writer) planImageBlobs(src *WIM, imgs []BlobUser) (blobPlan, error) {
	// loc holds no pointer, so that the collector does not scan locs:
	// its array is sized for every reference and mostly left untouched
	// (an add-image's new blobs are a fraction of its references), and
	// a scan would fault in every page of it.
	type loc struct {
		h     Hash
		file  int   // in files
		entry int   // in the table of files[file]
		off   int64 // of its resource
		inner int64 // in a solid resource
		size  int64
		// key is index+1 in keys for the file blobs of a solid file (see
		// solidSortKey); 0 stands for the zero key.
		key int
	}
	var keys []solidSortKey
	var names map[Hash]string
	if w.solid.on {
		// The name of each file's data, for the solid order: that of the
		// first file that has it, in tree order, and of a hard-linked file
		// its shortest name, as capture picks it (see solidInodes) and as
		// wimlib picks it. Blobs already in solid resources keep their
		// order, as wimlib keeps it.
		names = make(map[Hash]string)
		for _, u := range imgs {
			img, ok := u.(*Image)
			if !ok {
				continue
			}
			var linked map[uint64]string // hard link group: shortest name
			for f := range img.All() {
				if f.LinkGroup == 0 || f.Hash.IsZero() {
					continue
				}
				if linked == nil {
					linked = make(map[uint64]string)
				}
				if cur, ok := linked[f.LinkGroup]; !ok || shorterName(f.Name, cur) {
					linked[f.LinkGroup] = f.Name
				}
			}
			for f := range img.All() {
				if _, ok := names[f.Hash]; ok || f.Hash.IsZero() || f.Name == "" {
					continue
				}
				if f.LinkGroup != 0 {
					names[f.Hash] = linked[f.LinkGroup]
				} else {
					names[f.Hash] = f.Name
				}
			}
		}
	}
	files := append([]*WIM{src}, src.Refs()...)
	// Each blob is taken once: seen marks it by its entry in the file
	// that holds it (no map of every digest the images use).
	seen := make([][]bool, len(files))
	// Room for every reference that is known ahead: the part not used
	// costs no memory, a slice doubling as it fills costs copies.
	n := 0
	for _, u := range imgs {
		if r, ok := u.(*ImageRefs); ok {
			n += len(r.refs)
		}
	}
	locs := make([]loc, 0, n)
	var missing error
	// addAt plans blob h, found in file files[file] at entry i.
	addAt := func(h Hash, file, i int) {
		o := files[file]
		if seen[file] == nil {
			seen[file] = make([]bool, len(o.table.entries))
		}
		if seen[file][i] {
			return
		}
		seen[file][i] = true
		if w.HasBlob(h) {
			return
		}
		e := &o.table.entries[i]
		l := loc{h: h, file: file, entry: i, off: e.Res.Offset, size: e.Size()}
		if e.Solid != nil {
			l.off, l.inner = e.Solid.Res.Offset, e.Res.Offset
		} else if w.solid.on {
			keys = append(keys, newSolidSortKey(names[h]))
			l.key = len(keys)
		}
		locs = append(locs, l)
	}
	add := func(h Hash) {
		if h.IsZero() || missing != nil {
			return
		}
		file, i := src.findAt(h)
		if file < 0 {
			if !w.HasBlob(h) {
				missing = src.missing(h)
			}
			return
		}
		addAt(h, file, i)
	}
	for _, img := range imgs {
		if r, ok := img.(*ImageRefs); ok && r.src == src && r.at != nil {
			// Found when the image was read: no lookup again.
			for k, h := range r.refs {
				addAt(h, int(r.at[k].file), int(r.at[k].entry))
			}
			continue
		}
		for h := range blobHashes(img) {
			add(h)
		}
	}
	if missing != nil {
		return blobPlan{}, missing
	}
	// In the order the sources are stored, for reading; for solid
	// resources, files alike together first (see solidSortKey).
	var zero solidSortKey
	key := func(k int) solidSortKey {
		if k == 0 {
			return zero
		}
		return keys[k-1]
	}
	slices.SortStableFunc(locs, func(a, b loc) int {
		if (a.key != 0 || b.key != 0) && a.key != b.key {
			if c := key(a.key).compare(key(b.key)); c != 0 {
				return c
			}
		}
		if a.file != b.file {
			return a.file - b.file
		}
		if c := cmpInt64(a.off, b.off); c != 0 {
			return c
		}
		return cmpInt64(a.inner, b.inner)
	})
	var total int64
	for _, l := range locs {
		total += l.size
	}
	w.SetTotal(w.done.Load() + total)
	found := make([]foundBlob, len(locs))
	for i, l := range locs {
		o := files[l.file]
		found[i] = foundBlob{h: l.h, o: o, e: &o.table.entries[l.entry]}
	}
	return blobPlan{blobs: found, whole: w.wholeSolidCopies(found)}, nil
}

// copyPlanned copies the blobs of plan (see planImageBlobs).
func (w *Writer) copyPlanned(ctx context.Context, plan blobPlan) error {
	whole := plan.whole
	for _, f := range plan.blobs {
		if f.e.Solid != nil {
			if blobs, ok := whole[f.e.Solid]; ok {
				// The first of its blobs copies the whole resource.
				if blobs != nil {
					if err := w.copySolidRaw(ctx, f.o, f.e.Solid, blobs); err != nil {
						return err
					}
					whole[f.e.Solid] = nil
				}
				continue
			}
		}
		if want, err := w.wantsBlob(f.h); !want {
			if err != nil {
				return err
			}
			continue
		}
		if err := w.copyFound(ctx, f); err != nil {
			return err
		}
	}
	return nil
}

// foundBlob is a blob of a source and where it was found: the file
// holding it (the source or one of its references) and its entry there.
type foundBlob struct {
	h Hash
	o *WIM
	e *BlobEntry
}

// wholeSolidCopies returns the source solid resources to copy whole, as
// stored, each with the blobs of found it holds: those the file can take
// as they are (solidRawOK) of which the blobs make up enough of the data
// (solidRawShare).
func (w *Writer) wholeSolidCopies(found []foundBlob) map[*SolidResource][]solidBlob {
	if !w.solid.on || w.opts.Recompress {
		return nil
	}
	whole := make(map[*SolidResource][]solidBlob)
	used := make(map[*SolidResource]int64)
	for _, f := range found {
		e := f.e
		if e.Solid == nil || !w.solidRawOK(f.o, e.Solid) {
			continue
		}
		whole[e.Solid] = append(whole[e.Solid], solidBlob{hash: f.h, off: e.SolidOffset, size: e.Size()})
		used[e.Solid] += e.Size()
	}
	for s, n := range used {
		if n*solidRawDen < s.Size*solidRawNum {
			delete(whole, s)
		}
	}
	return whole
}
