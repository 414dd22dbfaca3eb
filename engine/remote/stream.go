package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wimconsole/wimconsole/engine/progress"
	"github.com/wimconsole/wimconsole/engine/wim"
)

// Streamed install: instead of a standalone WIM of the image (which the
// server builds first), the client fetches the image's metadata-only WIM
// file and, with range requests on the group's Res.rwm, its header, blob
// table and XML data (as wim.NewReader reads them) and then only the
// resources the image uses, into a sparse local copy of Res.rwm; it then
// applies the image from the two.
// Every blob is checked against its SHA-1 digest as it is applied, and a
// broken range is resumed where it broke.

// rangeGap is the largest hole between two needed resources of Res.rwm that
// is fetched rather than skipped, to save requests.
const rangeGap = 1 << 20

// errNoRes says the server has no Res.rwm for the session's image (a boot
// image, or a standalone WIM dropped into a group).
var errNoRes = errors.New("no Res.rwm for this image")

func (srv *Server) sessionImage(w http.ResponseWriter, r *http.Request, tok Token) error {
	id, own, err := srv.session(r, tok)
	if err != nil {
		return err
	}
	if err := srv.short(func() error { return srv.st.Heartbeat(id) }); err != nil {
		return errf(http.StatusNotFound, CodeNotFound, "%v", err)
	}
	return serveFile(w, r, srv.st.ImagePath(own.ref), own.ref.File+".wim")
}

func (srv *Server) sessionRes(w http.ResponseWriter, r *http.Request, tok Token) error {
	_, own, err := srv.session(r, tok)
	if err != nil {
		return err
	}
	if own.ref.Boot {
		return errf(http.StatusNotFound, CodeNotFound, "boot image %s has no Res.rwm", own.ref)
	}
	return serveFile(w, r, srv.st.ResPath(own.ref.Group), "Res.rwm")
}

// serveFile answers with file p, with range requests.
func serveFile(w http.ResponseWriter, r *http.Request, p, name string) error {
	f, err := os.Open(p)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return errf(http.StatusNotFound, CodeNotFound, "%s does not exist", name)
		}
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return errf(http.StatusNotFound, CodeNotFound, "%s is not a file", name)
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	http.ServeContent(w, r, name, fi.ModTime(), f)
	return nil
}

// streamInstall applies the image of session se to dest (see above).
// It returns errNoRes, having fetched nothing big, when the server has no
// Res.rwm for the image.
func (s *InstallSession) streamInstall(ctx context.Context, dest string, report progress.Func) error {
	c := s.c
	base := "sessions/" + url.PathEscape(s.ID) + "/"
	tmp, err := os.MkdirTemp(filepath.Dir(filepath.Clean(dest)), ".wimconsole-install-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	// A sparse local copy of Res.rwm, of the size the answer for its
	// header gives. The reader fetches what it reads of the rest (blob
	// table, XML data) on first use.
	rf, err := os.OpenFile(filepath.Join(tmp, "Res.rwm"), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	defer rf.Close()
	total, err := c.fetchRange(ctx, base+"res", 0, wim.HeaderSize, rf, nil)
	if err != nil {
		var e *Error
		if errors.As(err, &e) && e.Code == CodeNotFound {
			return errNoRes
		}
		return err
	}
	if err := rf.Truncate(total); err != nil {
		return err
	}
	res := &remoteRes{c: c, ctx: ctx, path: base + "res", f: rf, size: total, have: [][2]int64{{0, wim.HeaderSize}}}
	rw, err := wim.NewReader(res, total, &wim.OpenOptions{Name: "the Res.rwm of " + c.base.String()})
	if err != nil {
		return err
	}
	defer rw.Close()

	// The image's metadata file.
	metaPath := filepath.Join(tmp, "image.wim")
	mf, err := os.OpenFile(metaPath, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	err = c.download(ctx, base+"image", nil, mf, nil)
	if cerr := mf.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	w, err := wim.Open(metaPath, &wim.OpenOptions{NoSplitSearch: true, Shared: []*wim.WIM{rw}})
	if err != nil {
		return fmt.Errorf("image from %s: %w", c.base, err)
	}
	defer w.Close()

	// The resources the image uses, fetched before applying, in as few
	// requests as the gaps between them allow.
	ranges, need, err := neededRanges(w, rw)
	if err != nil {
		return fmt.Errorf("image from %s: %w", c.base, err)
	}
	var done int64
	count := func(n int64) {
		done += n
		report.Send(progress.Report{Phase: PhaseDownload, Done: done, Total: need})
	}
	for _, r := range ranges {
		if err := res.fetch(r[0], r[1]-r[0], count); err != nil {
			return err
		}
	}
	return w.Apply(ctx, 1, dest, report)
}

// remoteRes is the sparse local copy f of the server's Res.rwm at path: an
// io.ReaderAt that fetches the bytes not yet fetched, with range requests,
// before reading them from f. It is safe for concurrent use.
type remoteRes struct {
	c    *Client
	ctx  context.Context
	path string
	f    *os.File
	size int64

	mu   sync.Mutex
	have [][2]int64 // spans of f fetched, sorted, disjoint
}

// resReadAhead is the least a read of unfetched bytes fetches, so that
// reading the blob table and XML data (which the reader does in pieces of
// up to 256 KiB) takes few requests.
const resReadAhead = 1 << 20

// gap returns the first span of [off, end) not yet fetched, widened to
// resReadAhead bytes where nothing fetched follows, or ok false.
func (r *remoteRes) gap(off, end int64) (g [2]int64, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, h := range r.have {
		if h[1] <= off {
			continue
		}
		if h[0] > off {
			break
		}
		off = h[1]
	}
	if off >= end {
		return g, false
	}
	stop := r.size
	for _, h := range r.have {
		if h[0] >= off {
			stop = h[0]
			break
		}
	}
	return [2]int64{off, min(stop, max(end, off+resReadAhead))}, true
}

// fetch fetches n bytes at off into f and records them; count, when set,
// receives the bytes as they arrive.
func (r *remoteRes) fetch(off, n int64, count func(int64)) error {
	if _, err := r.c.fetchRange(r.ctx, r.path, off, n, r.f, count); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	hs := append(r.have, [2]int64{off, off + n})
	sort.Slice(hs, func(i, j int) bool { return hs[i][0] < hs[j][0] })
	merged := hs[:1]
	for _, h := range hs[1:] {
		if last := &merged[len(merged)-1]; h[0] <= last[1] {
			last[1] = max(last[1], h[1])
			continue
		}
		merged = append(merged, h)
	}
	r.have = merged
	return nil
}

// ReadAt reads from the local copy, fetching what it lacks first.
func (r *remoteRes) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("negative offset %d", off)
	}
	if off >= r.size {
		return 0, io.EOF
	}
	end := min(off+int64(len(p)), r.size)
	for {
		g, ok := r.gap(off, end)
		if !ok {
			break
		}
		if err := r.fetch(g[0], g[1]-g[0], nil); err != nil {
			return 0, err
		}
	}
	n, err := r.f.ReadAt(p[:end-off], off)
	if err == nil && n < len(p) {
		err = io.EOF
	}
	return n, err
}

// neededRanges returns the byte ranges of Res.rwm (rw) holding the
// resources the image of w uses, sorted and merged across holes smaller
// than rangeGap, and the bytes they cover.
func neededRanges(w, rw *wim.WIM) ([][2]int64, int64, error) {
	if w.ImageCount() != 1 {
		return nil, 0, fmt.Errorf("the image file holds %d images, not one", w.ImageCount())
	}
	img, err := w.Image(1)
	if err != nil {
		return nil, 0, err
	}
	size := rw.Size()
	var rs [][2]int64
	seen := map[int64]bool{}
	var bad error
	add := func(h wim.Hash) {
		if h.IsZero() || bad != nil {
			return
		}
		e, ok := rw.Blob(h)
		if !ok {
			return // in the image file itself, or missing: Apply says
		}
		res := e.Res
		if e.Solid != nil {
			res = e.Solid.Res
		}
		if seen[res.Offset] {
			return
		}
		seen[res.Offset] = true
		if res.Offset < wim.HeaderSize || res.StoredSize < 0 || res.StoredSize > size-res.Offset {
			bad = fmt.Errorf("blob %s lies outside Res.rwm", h)
			return
		}
		rs = append(rs, [2]int64{res.Offset, res.Offset + res.StoredSize})
	}
	for h := range img.BlobRefs() {
		add(h)
	}
	if bad != nil {
		return nil, 0, bad
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i][0] < rs[j][0] })
	var out [][2]int64
	var total int64
	for _, r := range rs {
		if n := len(out); n > 0 && r[0] <= out[n-1][1]+rangeGap {
			if r[1] > out[n-1][1] {
				out[n-1][1] = r[1]
			}
			continue
		}
		out = append(out, r)
	}
	for _, r := range out {
		total += r[1] - r[0]
	}
	return out, total, nil
}

// fetchRange writes bytes [off, off+n) of what GET path answers into f at
// the same offset, resuming after a broken connection, and returns the
// size of the whole file from the answer's Content-Range. count, when set,
// receives the bytes written.
func (c *Client) fetchRange(ctx context.Context, path string, off, n int64, f *os.File, count func(int64)) (int64, error) {
	var done, total int64
	var last error
	for attempt := 0; attempt <= c.o.Retries; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return 0, ctx.Err()
			case <-time.After(time.Duration(attempt) * 200 * time.Millisecond):
			}
		}
		req, err := c.newRequest(ctx, "GET", path, nil, nil)
		if err != nil {
			return 0, err
		}
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", off+done, off+n-1))
		resp, err := c.hc.Do(req)
		if err != nil {
			last = c.wrapNet(err)
			if ctx.Err() != nil {
				return 0, ctx.Err()
			}
			continue
		}
		if resp.StatusCode != http.StatusPartialContent {
			var err error
			if resp.StatusCode < 300 {
				err = fmt.Errorf("server %s: GET %s: no range in the answer (status %d)", c.base, path, resp.StatusCode)
			} else {
				err = decodeError(resp)
			}
			resp.Body.Close()
			return 0, err
		}
		start, t, err := parseContentRange(resp.Header.Get("Content-Range"))
		if err != nil || start != off+done || t < off+n {
			resp.Body.Close()
			if err == nil {
				err = fmt.Errorf("range from %d of %d bytes, want %d of at least %d", start, t, off+done, off+n)
			}
			return 0, fmt.Errorf("server %s: GET %s: %w", c.base, path, err)
		}
		total = t
		m, err := io.Copy(io.NewOffsetWriter(f, off+done), io.LimitReader(resp.Body, n-done))
		resp.Body.Close()
		done += m
		if count != nil && m > 0 {
			count(m)
		}
		if done == n {
			return total, nil
		}
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		last = c.wrapNet(err)
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
	}
	return 0, fmt.Errorf("download of %s failed after %d attempts: %w", path, c.o.Retries+1, last)
}

// parseContentRange parses "bytes START-END/TOTAL".
func parseContentRange(s string) (start, total int64, err error) {
	rest, ok := strings.CutPrefix(s, "bytes ")
	span, tot, ok2 := strings.Cut(rest, "/")
	a, _, ok3 := strings.Cut(span, "-")
	if !ok || !ok2 || !ok3 {
		return 0, 0, fmt.Errorf("bad Content-Range %q", s)
	}
	if start, err = strconv.ParseInt(a, 10, 64); err != nil || start < 0 {
		return 0, 0, fmt.Errorf("bad Content-Range %q", s)
	}
	if total, err = strconv.ParseInt(tot, 10, 64); err != nil || total < 0 {
		return 0, 0, fmt.Errorf("bad Content-Range %q", s)
	}
	return start, total, nil
}
