package remote

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/wimconsole/wimconsole/engine/store"
	"github.com/wimconsole/wimconsole/engine/wim"
)

// requestCounter counts the requests that pass through it.
type requestCounter struct {
	base http.RoundTripper
	n    atomic.Int64
}

func (rc *requestCounter) RoundTrip(req *http.Request) (*http.Response, error) {
	rc.n.Add(1)
	return rc.base.RoundTrip(req)
}

// TestRemoteRes reads a session's Res.rwm through remoteRes: wim.NewReader
// opens it with few requests, what it reads equals the server's file, and
// bytes already fetched are read from the local copy without a request, also
// from many goroutines at once.
func TestRemoteRes(t *testing.T) {
	ts := startServer(t, Options{NoWatch: true})
	admin := ts.client(t, "admin")
	tree := baseTree("a")
	tree["Users/Public/random.bin"] = randomString(3 << 20)
	if _, err := admin.AddImage(bg, makeWIM(t, tree, "a"), store.AddOptions{Group: "G", Name: "a", FileName: "a"}); err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(ts.st.ResPath("G"))
	if err != nil {
		t.Fatal(err)
	}
	c := ts.client(t, "operator")
	se, err := c.OpenSession(bg, store.ImageRef{Group: "G", File: "a"}, "remoteres")
	if err != nil {
		t.Fatal(err)
	}
	defer se.Close(bg)
	rc := &requestCounter{base: c.hc.Transport}
	c.hc.Transport = rc
	f, err := os.Create(filepath.Join(t.TempDir(), "Res.rwm"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	size := int64(len(want))
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	res := &remoteRes{c: c, ctx: bg, path: "sessions/" + url.PathEscape(se.ID) + "/res", f: f, size: size}

	w, err := wim.NewReader(res, size, &wim.OpenOptions{Name: "Res.rwm"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if n := rc.n.Load(); n < 1 || n > 3 {
		t.Errorf("NewReader took %d requests, want 1 to 3 (header, blob table, XML data)", n)
	}
	t.Logf("NewReader: %d requests", rc.n.Load())
	if len(w.Blobs()) == 0 {
		t.Fatal("no blobs in Res.rwm")
	}

	// Every blob's data, in parallel; then every byte of the file.
	var wg sync.WaitGroup
	errs := make(chan error, len(w.Blobs()))
	for _, e := range w.Blobs() {
		wg.Go(func() {
			if _, err := w.ReadBlob(e.Hash, 8<<20); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got := make([]byte, size+10)
	n, err := res.ReadAt(got, 0)
	if n != int(size) || err != io.EOF || !bytes.Equal(got[:n], want) {
		t.Fatalf("ReadAt of the whole file: %d bytes, %v; equal %v", n, err, bytes.Equal(got[:n], want))
	}
	before := rc.n.Load()
	if n, err := res.ReadAt(got[:1000], 5000); n != 1000 || err != nil || !bytes.Equal(got[:1000], want[5000:6000]) {
		t.Errorf("ReadAt again: %d, %v", n, err)
	}
	if rc.n.Load() != before {
		t.Errorf("bytes already fetched were fetched again")
	}
	if len(res.have) != 1 || res.have[0] != [2]int64{0, size} {
		t.Errorf("fetched spans %v, want one of the whole file", res.have)
	}
}
