package wim

import (
	"bytes"
	"context"
	"io"
)

// sparseUnit is the size of the blocks a sparse file is written in: an
// all-zero block at a multiple of it is left as a hole. wimlib assumes the
// same 4096-byte file system block.
const sparseUnit = 4096

var zeroUnit [sparseUnit]byte

// batchWriter writes the data of one blob to each file of a batch, counts
// it (once per file) and stops on cancellation. It writes a file with the
// sparse attribute as wimlib does: blocks of zeros are skipped rather than
// written, so the file system leaves holes there, and the caller sets the
// file's size at the end. Other files are written whole, without looking
// at the data.
type batchWriter struct {
	ctx        context.Context
	files      []*outFile
	sparse     []bool
	off        int64 // offset in the blob of the next byte
	progressed func(int64)
}

// add makes f a target of the blob.
func (b *batchWriter) add(f *outFile, sparse bool) {
	b.files = append(b.files, f)
	b.sparse = append(b.sparse, sparse)
}

func (b *batchWriter) Write(p []byte) (int, error) {
	if err := b.ctx.Err(); err != nil {
		return 0, err
	}
	for i, f := range b.files {
		var err error
		if b.sparse[i] {
			err = writeSparse(f, p, b.off)
		} else {
			_, err = f.Write(p) // an error whenever it writes less
		}
		if err != nil {
			return 0, err
		}
	}
	b.off += int64(len(p))
	b.progressed(int64(len(p)) * int64(len(b.files)))
	return len(p), nil
}

// writeSparse writes p at offset off of f (a new file, all holes), except
// the blocks of sparseUnit bytes (counted from the start of the file) that
// are all zeros. A zero block cut by the end of p is skipped too: what p
// does not write of it reads as zeros already, and the next write fills the
// rest if it is not.
func writeSparse(f io.WriterAt, p []byte, off int64) error {
	start := -1 // start in p of the data not yet written
	for i := 0; i < len(p); {
		end := min(len(p), i+sparseUnit-int((off+int64(i))%sparseUnit))
		if bytes.Equal(p[i:end], zeroUnit[:end-i]) {
			if start >= 0 {
				if _, err := f.WriteAt(p[start:i], off+int64(start)); err != nil {
					return err
				}
				start = -1
			}
		} else if start < 0 {
			start = i
		}
		i = end
	}
	if start >= 0 {
		if _, err := f.WriteAt(p[start:], off+int64(start)); err != nil {
			return err
		}
	}
	return nil
}
