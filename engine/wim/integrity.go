package wim

import (
	"context"
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/wimconsole/wimconsole/engine/progress"
)

// integrityChunkSize is the chunk size of the integrity tables wimlib and
// Microsoft's tools write (10 MiB).
const integrityChunkSize = 10 << 20

// ErrNoIntegrity is returned by CheckIntegrity for a file without an
// integrity table.
var ErrNoIntegrity = errors.New("wim: file has no integrity table")

// integrityTable holds the SHA-1 digest of each chunk of a WIM file from
// the end of the header to the end of the blob table.
type integrityTable struct {
	ChunkSize uint32
	Hashes    []Hash
}

// parseIntegrityTable decodes an integrity table: {u32 size, u32 count,
// u32 chunk size} and count digests.
func parseIntegrityTable(b []byte) (*integrityTable, error) {
	if len(b) < 12 {
		return nil, &FormatError{Msg: fmt.Sprintf("integrity table of %d bytes is too short", len(b))}
	}
	size := binary.LittleEndian.Uint32(b[0:])
	count := binary.LittleEndian.Uint32(b[4:])
	t := &integrityTable{ChunkSize: binary.LittleEndian.Uint32(b[8:])}
	if uint64(size) != uint64(len(b)) || uint64(size) != uint64(count)*20+12 {
		return nil, &FormatError{Msg: fmt.Sprintf("integrity table size %d does not match its %d entries and resource size %d", size, count, len(b))}
	}
	if t.ChunkSize == 0 {
		return nil, &FormatError{Offset: 8, Msg: "integrity table chunk size is 0"}
	}
	t.Hashes = make([]Hash, count)
	for i := range t.Hashes {
		copy(t.Hashes[i][:], b[12+20*i:])
	}
	return t, nil
}

// MarshalBinary encodes the table in its on-disk form.
func (t *integrityTable) MarshalBinary() ([]byte, error) {
	size := 12 + 20*uint64(len(t.Hashes))
	if size > 1<<32-1 {
		return nil, errors.New("wim: integrity table too large")
	}
	b := make([]byte, 12, size)
	binary.LittleEndian.PutUint32(b[0:], uint32(size))
	binary.LittleEndian.PutUint32(b[4:], uint32(len(t.Hashes)))
	binary.LittleEndian.PutUint32(b[8:], t.ChunkSize)
	for _, h := range t.Hashes {
		b = append(b, h[:]...)
	}
	return b, nil
}

// computeIntegrity computes the integrity table of the file bytes from
// HeaderSize to end (the end of the blob table) in chunks of chunkSize.
func computeIntegrity(ctx context.Context, r io.ReaderAt, end int64, chunkSize uint32, report progress.Func) (*integrityTable, error) {
	if chunkSize == 0 {
		return nil, errors.New("wim: integrity chunk size 0")
	}
	if end < HeaderSize {
		return nil, fmt.Errorf("wim: integrity: end offset %d is inside the header", end)
	}
	total := end - HeaderSize
	n := (total + int64(chunkSize) - 1) / int64(chunkSize)
	t := &integrityTable{ChunkSize: chunkSize, Hashes: make([]Hash, 0, min(n, 1<<20))}
	err := hashChunks(ctx, r, total, chunkSize, report, "integrity", func(i int64, h Hash) error {
		t.Hashes = append(t.Hashes, h)
		return nil
	})
	return t, err
}

// hashChunks hashes the file bytes [HeaderSize, HeaderSize+total) in chunks
// of chunkSize, calling fn with each digest.
func hashChunks(ctx context.Context, r io.ReaderAt, total int64, chunkSize uint32, report progress.Func, phase string, fn func(int64, Hash) error) error {
	buf := make([]byte, min(int64(chunkSize), 1<<20))
	off := int64(HeaderSize)
	done := int64(0)
	report.Send(progress.Report{Phase: phase, Total: total})
	for i := int64(0); done < total; i++ {
		n := min(int64(chunkSize), total-done)
		sha := sha1.New()
		for k := int64(0); k < n; {
			if err := ctx.Err(); err != nil {
				return err
			}
			m := min(int64(len(buf)), n-k)
			if _, err := r.ReadAt(buf[:m], off+k); err != nil {
				return fmt.Errorf("reading offset 0x%x: %w", off+k, err)
			}
			sha.Write(buf[:m])
			k += m
		}
		var h Hash
		sha.Sum(h[:0])
		if err := fn(i, h); err != nil {
			return err
		}
		off += n
		done += n
		report.Send(progress.Report{Phase: phase, Done: done, Total: total})
	}
	return nil
}

// integrityTable reads and checks the file's integrity table; it returns
// ErrNoIntegrity when there is none.
func (w *WIM) readIntegrityTable() (*integrityTable, error) {
	res := w.hdr.Integrity
	if res.IsZero() || res.Size == 0 {
		return nil, ErrNoIntegrity
	}
	b, err := w.readHeaderResource(res, "integrity table")
	if err != nil {
		return nil, err
	}
	t, err := parseIntegrityTable(b)
	if err != nil {
		var fe *FormatError
		if errors.As(err, &fe) {
			fe.File, fe.Offset = w.name, res.Offset+fe.Offset
		}
		return nil, err
	}
	end := w.hdr.BlobTable.End()
	if end < HeaderSize || end > w.size {
		return nil, errAt(w.name, 0x30, "integrity: blob table end 0x%x is outside the file", end)
	}
	want := (end - HeaderSize + int64(t.ChunkSize) - 1) / int64(t.ChunkSize)
	if int64(len(t.Hashes)) != want {
		return nil, errAt(w.name, res.Offset, "integrity table has %d entries; %d bytes in %d-byte chunks need %d", len(t.Hashes), end-HeaderSize, t.ChunkSize, want)
	}
	return t, nil
}

// CheckIntegrity verifies the file against its integrity table: the SHA-1
// digest of every chunk from the end of the header to the end of the blob
// table. It returns ErrNoIntegrity when the file has no table, and a
// *FormatError naming the first chunk that does not match.
func (w *WIM) CheckIntegrity(ctx context.Context) error {
	return w.checkIntegrity(ctx, nil)
}

func (w *WIM) checkIntegrity(ctx context.Context, report progress.Func) error {
	t, err := w.readIntegrityTable()
	if err != nil {
		return err
	}
	total := w.hdr.BlobTable.End() - HeaderSize
	err = hashChunks(ctx, w.ra, total, t.ChunkSize, report, "integrity", func(i int64, h Hash) error {
		if h != t.Hashes[i] {
			off := HeaderSize + i*int64(t.ChunkSize)
			return errAt(w.name, off, "integrity check failed: chunk %d (%d bytes from offset 0x%x) has changed", i, min(int64(t.ChunkSize), total-i*int64(t.ChunkSize)), off)
		}
		return nil
	})
	if err != nil && !errors.Is(err, ErrCorrupt) && ctx.Err() == nil {
		return fmt.Errorf("%s: integrity check: %w", w.name, err)
	}
	return err
}
