package wim

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/wimconsole/wimconsole/engine/progress"
)

// blobGroup is a set of blobs read together: one non-solid blob, or the
// blobs of one solid resource in order of position.
type blobGroup struct {
	w       *WIM
	solid   *SolidResource
	entries []*BlobEntry
	order   int // position of the group's first blob in the caller's order
}

func (g *blobGroup) fileOffset() int64 {
	if g.solid != nil {
		return g.solid.Res.Offset
	}
	return g.entries[0].Res.Offset
}

// groupBlobs groups entries (of any of the files) by resource, in file and
// location order, so that each solid resource is decompressed once.
func groupBlobs(files []*WIM, entries []located) []*blobGroup {
	var groups []*blobGroup
	solid := map[*SolidResource]*blobGroup{}
	for i, l := range entries {
		if l.e.Solid != nil {
			if g := solid[l.e.Solid]; g != nil {
				g.entries = append(g.entries, l.e)
				continue
			}
			g := &blobGroup{w: l.w, solid: l.e.Solid, entries: []*BlobEntry{l.e}, order: i}
			solid[l.e.Solid] = g
			groups = append(groups, g)
			continue
		}
		groups = append(groups, &blobGroup{w: l.w, entries: []*BlobEntry{l.e}, order: i})
	}
	fileIndex := map[*WIM]int{}
	for i, f := range files {
		fileIndex[f] = i
	}
	slices.SortStableFunc(groups, func(a, b *blobGroup) int {
		if c := cmp.Compare(fileIndex[a.w], fileIndex[b.w]); c != 0 {
			return c
		}
		return cmp.Compare(a.fileOffset(), b.fileOffset())
	})
	for _, g := range groups {
		slices.SortStableFunc(g.entries, func(a, b *BlobEntry) int { return cmp.Compare(a.SolidOffset, b.SolidOffset) })
	}
	return groups
}

// located is a blob entry and the file holding it.
type located struct {
	w *WIM
	e *BlobEntry
}

// entryName describes an entry for messages.
func entryWhat(e *BlobEntry) string {
	if e.IsMetadata() {
		return "metadata resource"
	}
	return "blob"
}

// read calls fn with each blob of the group in turn, then checks the
// blob's digest (reading whatever fn left unread). count, if not nil, is
// called with the number of bytes read as they pass.
func (g *blobGroup) read(ctx context.Context, fn func(BlobEntry, io.Reader) error, count func(int64)) error {
	if g.solid == nil {
		e := g.entries[0]
		rc, err := g.w.openEntry(e, entryWhat(e))
		if err != nil {
			return err
		}
		defer rc.Close()
		return consume(ctx, *e, rc, fn, count)
	}
	r, err := g.w.solidResource(g.solid, fmt.Sprintf("solid resource at 0x%x", g.solid.Res.Offset))
	if err != nil {
		return err
	}
	start := g.entries[0].SolidOffset
	end := start
	for _, e := range g.entries {
		end = max(end, e.SolidOffset+e.Size())
	}
	stream, err := r.open(start, end-start)
	if err != nil {
		return err
	}
	defer stream.Close()
	pos := start
	for _, e := range g.entries {
		if e.SolidOffset < pos {
			// Overlapping entries (legal but odd): read this one on
			// its own.
			rc, err := g.w.openEntry(e, "blob")
			if err != nil {
				return err
			}
			err = consume(ctx, *e, rc, fn, count)
			rc.Close()
			if err != nil {
				return err
			}
			continue
		}
		if gap := e.SolidOffset - pos; gap > 0 {
			if _, err := io.CopyN(io.Discard, stream, gap); err != nil {
				return blobErr(e, err)
			}
			pos += gap
		}
		hr := newHashingReader(io.NopCloser(io.LimitReader(stream, e.Size())), e.Size(), e.Hash, g.w.name, r.off, "blob")
		if err := consume(ctx, *e, hr, fn, count); err != nil {
			return blobErr(e, err)
		}
		pos += e.Size()
	}
	return nil
}

// blobErr adds the blob being read to an error about the data of a shared
// (solid) stream. Errors that name the blob already, and errors of the
// caller's function, pass unchanged.
func blobErr(e *BlobEntry, err error) error {
	var fe *FormatError
	if !errors.As(err, &fe) {
		return err
	}
	return fmt.Errorf("%w (reading blob %s)", err, e.Hash)
}

// consume hands r to fn, then reads the rest of r so that its digest is
// checked.
func consume(ctx context.Context, e BlobEntry, r io.Reader, fn func(BlobEntry, io.Reader) error, count func(int64)) error {
	cr := &ctxReader{ctx: ctx, r: r, count: count}
	if fn != nil {
		if err := fn(e, cr); err != nil {
			return err
		}
	}
	_, err := io.Copy(io.Discard, cr)
	return err
}

// ctxReader stops a read at cancellation and counts what passes.
type ctxReader struct {
	ctx   context.Context
	r     io.Reader
	count func(int64)
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := c.r.Read(p)
	if c.count != nil && n > 0 {
		c.count(int64(n))
	}
	return n, err
}

// ReadBlobs reads the blobs named by hashes (from this file or its
// references) in the order their data is stored, calling fn with each
// blob's entry and data; each solid resource is decompressed once. After fn
// returns, the rest of the blob is read and its digest checked, so a
// damaged blob fails ReadBlobs even if fn stops early. fn is called from one
// goroutine; the reader is valid only during the call. Repeated hashes are
// read once; a missing one fails before anything is read.
func (w *WIM) ReadBlobs(ctx context.Context, hashes []Hash, fn func(BlobEntry, io.Reader) error) error {
	var list []located
	seen := make(map[Hash]bool, len(hashes))
	for _, h := range hashes {
		if seen[h] {
			continue
		}
		seen[h] = true
		o, e := w.find(h)
		if o == nil {
			return w.missing(h)
		}
		list = append(list, located{o, e})
	}
	files := append([]*WIM{w}, w.refs...)
	for _, g := range groupBlobs(files, list) {
		if err := g.read(ctx, fn, nil); err != nil {
			return err
		}
	}
	return nil
}

// Verify checks the file: its integrity table when it has one, then every
// blob and metadata resource of its own blob table, decompressed and
// checked against its SHA-1 digest. Blobs are checked in parallel; the
// error reported is that of the first bad one in file order, naming it.
// report receives progress: phase "integrity", then "verify" with bytes
// of blob data done out of the total.
func (w *WIM) Verify(ctx context.Context, report progress.Func) error {
	if !w.hdr.Integrity.IsZero() {
		if err := w.checkIntegrity(ctx, report); err != nil {
			return err
		}
	}
	var list []located
	var total int64
	for i := range w.table.entries {
		e := &w.table.entries[i]
		list = append(list, located{w, e})
		total += e.Size()
	}
	groups := groupBlobs([]*WIM{w}, list)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var done atomic.Int64
	var lastReport atomic.Int64
	count := func(n int64) {
		d := done.Add(n)
		if d-lastReport.Load() >= 1<<22 || d == total {
			lastReport.Store(d)
			report.Send(progress.Report{Phase: "verify", Done: d, Total: total})
		}
	}
	report.Send(progress.Report{Phase: "verify", Total: total})

	// Workers take the groups by an atomic counter: the calling goroutine
	// only waits. (Handing each group over a channel from it costs a
	// thread switch per group when it is locked to its thread, as a GUI
	// program's main goroutine is.)
	errs := make([]error, len(groups))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), max(len(groups), 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= len(groups) {
					return
				}
				g := groups[i]
				if err := Guard(func() error { return g.read(ctx, nil, count) }); err != nil {
					errs[i] = err
					cancel()
				}
			}
		}()
	}
	wg.Wait()
	// Report the first real failure in file order; cancellations of other
	// workers after it are not failures.
	var canceled error
	for _, err := range errs {
		if err == nil {
			continue
		}
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			if canceled == nil {
				canceled = err
			}
			continue
		}
		return err
	}
	if canceled != nil {
		return canceled
	}
	return ctx.Err()
}
