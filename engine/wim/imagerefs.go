package wim

import (
	"cmp"
	"fmt"
	"iter"
	"slices"
)

// ImageRefs is what adding an image to another file needs of it when its
// metadata resource is copied as stored (Writer.AddImageRefs): the blobs
// it uses, with their sizes, and the statistics of its XML data. Reading
// it ((*WIM).ImageRefs) checks the metadata resource as ParseMetadata
// does, but builds no tree: no entries, names, streams or security data
// are kept, for an add-image that copies the image's data as stored spent
// most of its time and memory on them.
type ImageRefs struct {
	index int
	// src holds every blob of refs (in it or its references): it gives
	// their sizes.
	src  *WIM
	refs []Hash // a blob per stream with data, one for each reference
	// at is where src found each blob of refs (nil when the refs come
	// from a tree): planImageBlobs takes it instead of looking every
	// reference up again, tens of thousands for an add-image.
	at    []blobAt
	stats imageStats
}

// blobAt locates a blob in a WIM and its references: the file (0 the WIM
// itself, k its reference k-1, as findIndex searches them) and the index
// of its entry in that file's table.
type blobAt struct {
	file, entry uint32
}

// Index returns the image's index in the file it was read from.
func (r *ImageRefs) Index() int { return r.index }

// BlobRefs yields the digest and size of every data stream of the image
// that has data, as (*Image).BlobRefs does, though not in its order.
func (r *ImageRefs) BlobRefs() iter.Seq2[Hash, int64] {
	return func(yield func(Hash, int64) bool) {
		for _, h := range r.refs {
			_, e := r.src.find(h)
			if !yield(h, e.Size()) {
				return
			}
		}
	}
}

// BlobUser is what uses blobs: an image's tree (*Image) or its
// references alone (*ImageRefs).
type BlobUser interface {
	BlobRefs() iter.Seq2[Hash, int64]
}

// blobHashes yields the digests BlobRefs yields, without the sizes: for
// callers that look each digest up themselves. An ImageRefs finds every
// size in its source's blob table, a lookup per reference that such a
// caller would make twice (an add-image's tens of thousands).
func blobHashes(u BlobUser) iter.Seq[Hash] {
	if r, ok := u.(*ImageRefs); ok {
		return slices.Values(r.refs)
	}
	return func(yield func(Hash) bool) {
		for h := range u.BlobRefs() {
			if !yield(h) {
				return
			}
		}
	}
}

// refScan is the light reading of a metadata resource (see
// scanMetadataRefs): what each entry adds, the entries themselves
// forgotten.
type refScan struct {
	scratch File // the entry being read
	// dir stands for every folder: a light scan keeps no names, so its
	// errors are not what the caller reports (it parses the tree again).
	dir         File
	refs        []Hash
	dirs, files int64
	links       []linkRef
}

// linkRef is an entry with a hard-link identity: its streams are
// refs[first:end].
type linkRef struct {
	key        HardLinkKey
	first, end int
}

// entry records entry f of the tree.
func (s *refScan) entry(f *File) {
	if f.IsDir() {
		s.dirs++
	} else {
		s.files++
	}
	first := len(s.refs)
	if !f.Hash.IsZero() {
		s.refs = append(s.refs, f.Hash)
	}
	for _, st := range f.Streams {
		if !st.Hash.IsZero() {
			s.refs = append(s.refs, st.Hash)
		}
	}
	if k := f.HardLinkKey(); k != (HardLinkKey{}) {
		s.links = append(s.links, linkRef{key: k, first: first, end: len(s.refs)})
	}
}

// scanMetadataRefs reads the metadata resource data as ParseMetadata does,
// accepting and refusing exactly what it does, but only records each
// entry's streams, kind and hard-link identity. Its errors do not name
// paths: the caller parses the tree for the message.
func scanMetadataRefs(data []byte) (*refScan, error) {
	sec, rootOff, err := parseSecurity(data)
	if err != nil {
		return nil, err
	}
	// Room for a stream per entry the data can hold: the pages not
	// written cost nothing, a slice doubling as it fills costs copies.
	s := &refScan{refs: make([]Hash, 0, len(data)/direntMinSize+1)}
	s.dir.Attributes = AttrDirectory
	p := &metaParser{
		data:       data,
		maxEntries: len(data)/direntMinSize + 1,
		nsec:       int64(len(sec)),
		lists:      make(map[uint64]bool),
		light:      s,
	}
	root, err := p.readEntry(rootOff, nil)
	if err != nil {
		return nil, err
	}
	if root.f == nil {
		s.dirs = 1 // an empty image: a root folder alone
		return s, nil
	}
	if !root.f.IsDir() {
		return nil, p.errf(rootOff, "the root entry is not a folder (attributes 0x%x)", root.f.Attributes)
	}
	s.entry(root.f)
	if root.subdir != 0 {
		if err := p.readChildren(&s.dir, root.subdir, rootOff, 1); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// bigBufMin is the size from which ImageRefs reads a metadata resource
// into a buffer of bigBuf (tests lower it).
var bigBufMin int64 = 4 << 20

// ImageRefs reads what adding image index to another file needs of it
// when its metadata resource is copied as stored: see ImageRefs. Every
// blob the image uses must be in w or its references. Errors are those of
// Image.
func (w *WIM) ImageRefs(index int) (*ImageRefs, error) {
	if index < 1 || index > w.ImageCount() {
		return nil, fmt.Errorf("wim: %s: no image %d (the file has %d)", w.Name(), index, w.ImageCount())
	}
	e, err := w.MetadataEntry(index)
	if err != nil {
		return nil, err
	}
	// The resource is read into memory of its own, freed once scanned
	// (the scan keeps nothing of it): in huge pages, most of the page
	// faults of a first touch of megabytes go (7 MB for 40,000 files).
	free := func() {}
	data, err := w.readEntryIn(&e, fmt.Sprintf("metadata resource of image %d", index), MaxMetadataSize, func(n int64) []byte {
		var b []byte
		if n >= bigBufMin {
			b, free = bigBuf(n)
		}
		return b
	})
	if err != nil {
		free()
		return nil, err
	}
	s, err := scanMetadataRefs(data)
	data = nil
	free()
	if err == nil {
		if r, ok := w.imageRefs(index, s); ok {
			return r, nil
		}
	}
	// Refused, a blob missing, or hard links of unequal sizes: the tree
	// says what is wrong (naming the path), or gives the figures.
	img, err := w.Image(index)
	if err != nil {
		return nil, err
	}
	return w.refsOfImage(img), nil
}

// imageRefs completes the light scan s of image index with the blobs'
// sizes; false when a blob is missing, or when the statistics need the
// tree's order (entries of one hard-linked file with unequal sizes).
func (w *WIM) imageRefs(index int, s *refScan) (*ImageRefs, bool) {
	r := &ImageRefs{index: index, src: w, refs: s.refs, at: make([]blobAt, len(s.refs))}
	r.stats.DirCount, r.stats.FileCount = s.dirs, s.files
	for k, h := range s.refs {
		file, i := w.findAt(h)
		if file < 0 {
			return nil, false
		}
		r.at[k] = blobAt{file: uint32(file), entry: uint32(i)}
		r.stats.TotalBytes += w.fileAt(file).table.entries[i].Size()
	}
	if len(s.links) > 0 {
		// HARDLINKBYTES counts every name of a file but its first: with
		// names of equal size, which name is first does not matter.
		size := func(l linkRef) int64 {
			var n int64
			for _, h := range r.refs[l.first:l.end] {
				_, e := w.find(h)
				n += e.Size()
			}
			return n
		}
		links := s.links // sorted in place: nothing reads the scan after
		slices.SortFunc(links, func(a, b linkRef) int {
			if c := cmp.Compare(a.key.Group, b.key.Group); c != 0 {
				return c
			}
			return slices.Compare(a.key.Hash[:], b.key.Hash[:])
		})
		for i := 1; i < len(links); i++ {
			if links[i].key != links[i-1].key {
				continue
			}
			n := size(links[i])
			if n != size(links[i-1]) {
				return nil, false
			}
			r.stats.HardLinkBytes += n
		}
	}
	return r, true
}

// refsOfImage is ImageRefs from an image's tree.
func (w *WIM) refsOfImage(img *Image) *ImageRefs {
	r := &ImageRefs{index: img.Index, src: w, stats: img.treeStats()}
	for h := range img.BlobRefs() {
		r.refs = append(r.refs, h)
	}
	return r
}
