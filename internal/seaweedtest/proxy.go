package seaweedtest

import (
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// Proxy is a loopback HTTP proxy in front of a SeaweedFS's S3 endpoint
// that can hold the requests for blob objects (PREFIX/blobs/…), so that a
// test catches a publish or a pull of the image library mid-way. The
// requests are forwarded as they come (the Host header too, so that their
// signatures still hold).
type Proxy struct {
	// Addr is the proxy's address, 127.0.0.1:PORT: give it as the
	// library's endpoint.
	Addr string

	mu      sync.Mutex
	pass    int           // blob requests still let through; < 0: all
	release chan struct{} // closed by Release
	held    int           // blob requests being held
	passed  int           // blob requests forwarded
}

// NewProxy starts a proxy to e on addr ("": a free port of 127.0.0.1),
// stopped when t ends. It lets every request through until Hold.
func NewProxy(t testing.TB, e Endpoint, addr string) *Proxy {
	t.Helper()
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{Addr: ln.Addr().String(), pass: -1, release: make(chan struct{})}
	rp := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: e.Addr})
	rp.ErrorLog = log.New(io.Discard, "", 0) // a client giving up is what the tests do
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/blobs/") && (r.Method == http.MethodGet || r.Method == http.MethodPut) {
			if !p.admit(r) {
				return // the client gave up
			}
		}
		rp.ServeHTTP(w, r)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() {
		p.Release()
		srv.Close()
	})
	return p
}

// admit lets blob request r through, or holds it until Release or until
// its client gives up (false).
func (p *Proxy) admit(r *http.Request) bool {
	p.mu.Lock()
	if p.pass != 0 {
		if p.pass > 0 {
			p.pass--
		}
		p.passed++
		p.mu.Unlock()
		return true
	}
	p.held++
	rel := p.release
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.held--
		p.mu.Unlock()
	}()
	select {
	case <-rel:
		p.mu.Lock()
		p.passed++
		p.mu.Unlock()
		return true
	case <-r.Context().Done():
		return false
	}
}

// Hold lets n more blob requests through and holds the ones after them.
func (p *Proxy) Hold(n int) {
	p.mu.Lock()
	p.pass = n
	p.mu.Unlock()
}

// Release lets the held blob requests, and all that follow, through.
func (p *Proxy) Release() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pass != -1 {
		p.pass = -1
		close(p.release)
		p.release = make(chan struct{})
	}
}

// Held returns how many blob requests are being held now.
func (p *Proxy) Held() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.held
}

// Passed returns how many blob requests have been forwarded.
func (p *Proxy) Passed() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.passed
}
