package remote

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wimconsole/wimconsole/engine/store"
)

// These tests talk to a plain-HTTP server on 127.0.0.1 through raw sockets,
// as a hostile or broken client would.

// startPlain serves a new store over plain HTTP on 127.0.0.1 and returns
// the server and its host:port.
func startPlain(t *testing.T, o Options) (*testServer, string) {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "RemoteInstall"))
	if err != nil {
		t.Fatal(err)
	}
	o.NoWatch = true
	ts := serveStore(t, st, o, false)
	return ts, strings.TrimPrefix(ts.url, "http://")
}

func dialRaw(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// readToClose reads c until the server closes it or until limit passes;
// closed says whether the server closed it in time.
func readToClose(c net.Conn, limit time.Duration) (data string, closed bool, took time.Duration) {
	t0 := time.Now()
	c.SetReadDeadline(t0.Add(limit))
	b, err := io.ReadAll(c)
	var ne net.Error
	closed = err == nil || !(errors.As(err, &ne) && ne.Timeout()) // EOF, or a reset
	return string(b), closed, time.Since(t0)
}

// header returns the head of a request.
func header(method, target, token string, length int64) string {
	s := fmt.Sprintf("%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n", method, target)
	if token != "" {
		s += "Authorization: Bearer " + token + "\r\n"
	}
	if length >= 0 {
		s += fmt.Sprintf("Content-Length: %d\r\n", length)
	}
	return s + "\r\n"
}

// TestRefusalDoesNotWaitForBody: a request refused on its headers (no
// token, a wrong one, a too weak one), on any route and whatever its
// announced body, is answered at once and its connection closed (after
// refusalGrace at most), without waiting for a body that never comes.
func TestRefusalDoesNotWaitForBody(t *testing.T) {
	ts, addr := startPlain(t, Options{})
	for _, tc := range []struct {
		name, method, target, token string
		length                      int64
		want                        int
	}{
		{"no token", "POST", "/api/v1/sessions", "", 8, 401},
		{"wrong token", "POST", "/api/v1/sessions", "wct_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 8, 401},
		{"not a token", "POST", "/api/v1/groups", "hello", 100, 401},
		{"reader on an operator route", "POST", "/api/v1/sessions", ts.tokens["reader"], 8, 403},
		{"operator on an upload", "POST", "/api/v1/images?filename=x", ts.tokens["operator"], 1 << 30, 403},
		{"upload without token", "POST", "/api/v1/images?filename=x", "", 1 << 30, 401},
		{"small upload without token", "PUT", "/api/v1/image/unattend?ref=G/x", "", 1000, 401},
		{"outside the API", "POST", "/upload", "", 8, 401},
		{"unclean path", "POST", "/api//v1/../sessions", "", 8, 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := dialRaw(t, addr)
			if _, err := io.WriteString(c, header(tc.method, tc.target, tc.token, tc.length)); err != nil {
				t.Fatal(err)
			}
			data, closed, took := readToClose(c, 2*time.Second)
			want := fmt.Sprintf("HTTP/1.1 %d ", tc.want)
			if !strings.HasPrefix(data, want) {
				t.Fatalf("answer after %v: %q, want %q", took, data, want)
			}
			if !closed {
				t.Errorf("connection still open %v after the answer", took)
			}
			if !strings.Contains(data, "\r\nConnection: close\r\n") {
				t.Errorf("answer without Connection: close: %q", data)
			}
		})
	}
}

// TestHeaderTimeout: a client that sends part of a request's headers, or
// nothing, and stalls is disconnected after HeaderTimeout.
func TestHeaderTimeout(t *testing.T) {
	const timeout = 300 * time.Millisecond
	_, addr := startPlain(t, Options{HeaderTimeout: timeout})
	for _, tc := range []struct{ name, sent string }{
		{"half a header", "POST /api/v1/sessions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le"},
		{"request line only", "GET /api/v1/info HTTP/1.1\r\n"},
		{"nothing", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dialRaw(t, addr)
			if _, err := io.WriteString(c, tc.sent); err != nil {
				t.Fatal(err)
			}
			_, closed, took := readToClose(c, 3*time.Second)
			if !closed {
				t.Fatalf("still connected after %v (header timeout %v)", took, timeout)
			}
			if took < timeout/2 {
				t.Errorf("closed after %v, before the header timeout of %v", took, timeout)
			}
		})
	}
}

// TestBodyIdleTimeout: an authenticated request whose body stalls is
// disconnected after BodyIdleTimeout, and nothing of it is kept; an upload
// whose data keeps coming, slowly, for longer than that succeeds.
func TestBodyIdleTimeout(t *testing.T) {
	const idle = 500 * time.Millisecond
	ts, addr := startPlain(t, Options{BodyIdleTimeout: idle})
	admin := ts.tokens["admin"]
	src := makeWIM(t, map[string]string{"a.txt": "hello", "b.txt": strings.Repeat("slow ", 5000)}, "install")
	wimData, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	upload := "/api/v1/images?filename=install&group=Slow"

	for _, tc := range []struct {
		name, method, target, body string
		length                     int
	}{
		{"upload", "POST", upload, string(wimData[:len(wimData)/2]), len(wimData)},
		{"upload, no byte of the body", "POST", upload, "", len(wimData)},
		{"JSON", "POST", "/api/v1/groups", `{"name":`, 100},
	} {
		t.Run("stalled "+tc.name, func(t *testing.T) {
			c := dialRaw(t, addr)
			if _, err := io.WriteString(c, header(tc.method, tc.target, admin, int64(tc.length))+tc.body); err != nil {
				t.Fatal(err)
			}
			data, closed, took := readToClose(c, idle+3*time.Second)
			if !closed {
				t.Fatalf("still connected after %v (body idle timeout %v); got %q", took, idle, data)
			}
			if took < idle/2 {
				t.Errorf("closed after %v, before the idle timeout of %v", took, idle)
			}
			if data != "" && !strings.HasPrefix(data, "HTTP/1.1 400 ") {
				t.Errorf("answer: %q, want a 400 or none", data)
			}
		})
	}
	if left := workFilesLeft(t, ts.st.Root()); len(left) != 0 {
		t.Errorf("upload files left: %v", left)
	}

	t.Run("slow but moving upload", func(t *testing.T) {
		c := dialRaw(t, addr)
		const pieces = 12
		const pause = idle / 4 // the whole upload lasts pieces*pause = 3 idle timeouts
		if _, err := io.WriteString(c, header("POST", upload, admin, int64(len(wimData)))); err != nil {
			t.Fatal(err)
		}
		t0 := time.Now()
		for i := range pieces {
			time.Sleep(pause)
			if _, err := c.Write(wimData[i*len(wimData)/pieces : (i+1)*len(wimData)/pieces]); err != nil {
				t.Fatalf("piece %d after %v: %v", i, time.Since(t0), err)
			}
		}
		took := time.Since(t0)
		c.SetReadDeadline(time.Now().Add(30 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("slow upload: %d %s", resp.StatusCode, body)
		}
		if took < 2*idle {
			t.Errorf("the upload took %v, not longer than the idle timeout of %v", took, idle)
		}
		ims, err := ts.st.ListImages(bg, store.ListOptions{Group: "Slow", NoSpace: true})
		if err != nil || len(ims) != 1 {
			t.Errorf("images in Slow: %v %v", ims, err)
		}
	})
}

// TestConnectionLimits: connections over the bound of one address, or of
// all, are closed at once while those under it keep working, and every
// place is given back when connections close; afterwards no goroutine is
// left.
func TestConnectionLimits(t *testing.T) {
	const n = 3
	for _, tc := range []struct {
		name string
		o    Options
		// whether a connection from another address is refused too
		otherRefused bool
	}{
		{"per address", Options{MaxConnsPerAddr: n}, false},
		{"in all", Options{MaxConnsPerAddr: 100, MaxConns: n}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := runtime.NumGoroutine()
			t.Run("server", func(t *testing.T) { connectionLimits(t, tc.o, n, tc.otherRefused) })
			deadline := time.Now().Add(5 * time.Second)
			after := runtime.NumGoroutine()
			for after > before && time.Now().Before(deadline) {
				time.Sleep(50 * time.Millisecond)
				after = runtime.NumGoroutine()
			}
			if after > before {
				buf := make([]byte, 1<<20)
				t.Errorf("%d goroutines before, %d after:\n%s", before, after, buf[:runtime.Stack(buf, true)])
			}
		})
	}
}

func connectionLimits(t *testing.T, o Options, n int, otherRefused bool) {
	ts, addr := startPlain(t, o)
	reader := ts.tokens["reader"]
	info := header("GET", "/api/v1/info", reader, -1)
	// ask makes a request on c, kept alive, and checks the answer.
	ask := func(c net.Conn, br *bufio.Reader) {
		t.Helper()
		if _, err := io.WriteString(c, info); err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Close {
			t.Fatalf("info: %d, close %v", resp.StatusCode, resp.Close)
		}
	}
	conns := make([]net.Conn, n)
	brs := make([]*bufio.Reader, n)
	for i := range conns {
		conns[i] = dialRaw(t, addr)
		brs[i] = bufio.NewReader(conns[i])
		ask(conns[i], brs[i]) // accepted and counted
	}
	// refused reports whether a connection from local (nil: any) is
	// closed at once, without an answer; it may be reset while it is
	// being made.
	refused := func(local net.Addr) bool {
		t.Helper()
		d := net.Dialer{LocalAddr: local, Timeout: 2 * time.Second}
		c, err := d.Dial("tcp", addr)
		if errors.Is(err, syscall.ECONNRESET) {
			return true
		}
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, info)
		data, closed, took := readToClose(c, 2*time.Second)
		if closed && data != "" {
			t.Errorf("refused connection answered after %v: %q", took, data)
		}
		return closed
	}
	// One more from the same address is closed at once.
	if !refused(nil) {
		t.Errorf("connection %d from one address still open", n+1)
	}
	// One from another address (127.0.0.2 reaches loopback on Linux).
	other := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}
	if c, err := net.ListenTCP("tcp", other); err != nil {
		t.Logf("no address 127.0.0.2 here (%v): not tried", err)
	} else {
		c.Close()
		if otherRefused {
			if !refused(other) {
				t.Errorf("connection from another address over the bound of all still open")
			}
		} else {
			d := net.Dialer{LocalAddr: other, Timeout: 2 * time.Second}
			c, err := d.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			ask(c, bufio.NewReader(c))
			c.Close()
		}
	}
	// The first ones keep working.
	for i := range conns {
		ask(conns[i], brs[i])
	}
	// A closed one gives its place back (once the server sees it closed).
	conns[0].Close()
	deadline := time.Now().Add(3 * time.Second)
	for {
		// A refused connection may be reset while it is being made.
		c, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err == nil {
			io.WriteString(c, info)
			c.SetReadDeadline(time.Now().Add(2 * time.Second))
			var resp *http.Response
			resp, err = http.ReadResponse(bufio.NewReader(c), nil)
			c.Close()
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("after a close: %d", resp.StatusCode)
				}
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no place given back 3 s after a connection closed: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, c := range conns {
		c.Close()
	}
}

// TestHangUpIsConnError: a server that closes the connection without
// answering (one going away mid-request) gives a *ConnError, as one that
// cannot be reached does, so that callers treat both as the server being
// offline; its text still names the server and the cause.
func TestHangUpIsConnError(t *testing.T) {
	hs := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	}))
	defer hs.Close()
	c, err := NewClient(hs.URL, ClientOptions{Token: "t", Fingerprint: Fingerprint(hs.Certificate().Raw), Retries: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	for name, call := range map[string]func() error{
		"GET":  func() error { _, err := c.Info(ctx); return err },
		"POST": func() error { return c.AddGroup(ctx, "g") },
	} {
		err := call()
		var ce *ConnError
		if !errors.As(err, &ce) || !errors.Is(err, io.EOF) || !strings.Contains(err.Error(), hs.URL) {
			t.Errorf("%s answered by a hang-up: %v (%T), want a *ConnError of io.EOF naming %s", name, err, err, hs.URL)
		}
	}
	hs.Close()
	_, err = c.Info(ctx)
	if ce := (*ConnError)(nil); !errors.As(err, &ce) {
		t.Errorf("a server gone: %v (%T), want a *ConnError", err, err)
	}
}
