package wim

import (
	"errors"
	"fmt"
)

// Image reads and parses the metadata resource of image index (1-based)
// and fills in the size of every stream from the blob tables of w and its
// references. A stream whose blob is in none of them is a
// *MissingBlobError naming the path that needs it; a damaged tree is a
// *FormatError (see ParseMetadata).
func (w *WIM) Image(index int) (*Image, error) {
	img, err := w.ImageTree(index)
	if err != nil {
		return nil, err
	}
	for f := range img.All() {
		if !f.Hash.IsZero() {
			_, e := w.find(f.Hash)
			if e == nil {
				return nil, w.missingFor(f.Hash, img.pathOf(f), index)
			}
			f.Size = e.Size()
		}
		for i := range f.Streams {
			s := &f.Streams[i]
			if s.Hash.IsZero() {
				continue
			}
			_, e := w.find(s.Hash)
			if e == nil {
				return nil, w.missingFor(s.Hash, img.pathOf(f), index)
			}
			s.Size = e.Size()
		}
	}
	return img, nil
}

// missingFor is the error for blob h, needed by path of image index, that
// no open file holds.
// ImageTree is Image without the sizes: it reads and parses the metadata
// resource of image index and leaves every file's and stream's Size zero,
// needing no blob table. It is for a metadata-only file opened without the
// file that holds its data, whose blob table the caller reads anyway (a
// servicing commit, which appends to it).
func (w *WIM) ImageTree(index int) (*Image, error) {
	if index < 1 || index > w.ImageCount() {
		return nil, fmt.Errorf("wim: %s: no image %d (the file has %d)", w.Name(), index, w.ImageCount())
	}
	data, err := w.MetadataResource(index)
	if err != nil {
		return nil, err
	}
	img, err := ParseMetadata(data)
	if err != nil {
		var fe *FormatError
		if errors.As(err, &fe) {
			return nil, &FormatError{File: w.Name(), Offset: fe.Offset,
				Msg: fmt.Sprintf("metadata resource of image %d (offset in its data): %s", index, fe.Msg)}
		}
		return nil, err
	}
	img.Index = index
	return img, nil
}

func (w *WIM) missingFor(h Hash, path string, index int) error {
	err := w.missing(h)
	var mb *MissingBlobError
	if errors.As(err, &mb) {
		mb.Hint = fmt.Sprintf("needed by %s in image %d; %s", path, index, mb.Hint)
	}
	return err
}
