package remote

import (
	"errors"
	"io"
	"net/http"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/wimconsole/wimconsole/engine/store"
)

// flakyTransport breaks the body of the first breaks answers longer than
// cut bytes after cut bytes, as a dropped connection does, and counts range
// requests.
type flakyTransport struct {
	base   http.RoundTripper
	cut    int64
	breaks atomic.Int32
	ranges atomic.Int32
	cuts   atomic.Int32 // answers cut
}

func (f *flakyTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Header.Get("Range") != "" {
		f.ranges.Add(1)
	}
	resp, err := f.base.RoundTrip(req)
	if err != nil || resp.StatusCode >= 300 || req.Method != "GET" || resp.ContentLength <= f.cut || f.breaks.Add(-1) < 0 {
		return resp, err
	}
	f.cuts.Add(1)
	resp.Body = &cutBody{rc: resp.Body, left: f.cut}
	return resp, nil
}

type cutBody struct {
	rc   io.ReadCloser
	left int64
}

func (c *cutBody) Read(p []byte) (int, error) {
	if c.left <= 0 {
		return 0, errors.New("connection reset (test)")
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.rc.Read(p)
	c.left -= int64(n)
	return n, err
}

func (c *cutBody) Close() error { return c.rc.Close() }

func TestDownloadResumes(t *testing.T) {
	ts := startServer(t, Options{NoWatch: true})
	tree := baseTree("r")
	tree["random.bin"] = randomString(300 << 10)
	src := makeWIM(t, tree, "install")
	admin := ts.client(t, "admin")
	refs, err := admin.AddImage(bg, src, store.AddOptions{Group: "G"})
	if err != nil {
		t.Fatal(err)
	}
	c := ts.client(t, "operator")
	ft := &flakyTransport{base: c.hc.Transport, cut: 50 << 10}
	c.hc.Transport = ft

	// Install: the download breaks twice and resumes.
	ft.breaks.Store(2)
	out := filepath.Join(t.TempDir(), "inst")
	if err := c.InstallImage(bg, refs[0], out, "flaky", nil); err != nil {
		t.Fatal(err)
	}
	sameTree(t, tree, out)
	if ft.cuts.Load() != 2 {
		t.Errorf("%d answers cut, want 2", ft.cuts.Load())
	}
	// Export likewise.
	ft.breaks.Store(1)
	ft.ranges.Store(0)
	dest := filepath.Join(t.TempDir(), "e.wim")
	if err := c.ExportImage(bg, refs[0], dest, store.ExportOptions{}); err != nil {
		t.Fatal(err)
	}
	if ft.ranges.Load() != 1 {
		t.Errorf("%d range requests, want 1", ft.ranges.Load())
	}
	// A connection that keeps breaking gives up with an error, leaving no
	// partial file.
	ft.breaks.Store(100)
	c.o.Retries = 2
	dest2 := filepath.Join(t.TempDir(), "e2.wim")
	if err := c.ExportImage(bg, refs[0], dest2, store.ExportOptions{}); err == nil {
		t.Error("export over a connection that always breaks succeeded")
	}
	if m, _ := filepath.Glob(filepath.Join(filepath.Dir(dest2), "*")); len(m) != 0 {
		t.Errorf("files left: %v", m)
	}
}
