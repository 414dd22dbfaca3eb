package remote

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// Serve serves srv on l until ctx ends, then shuts down gracefully (waiting
// up to 10 seconds for requests to finish). With cert, connections use TLS
// (1.2 or later); without, l must be on a loopback address.
func Serve(ctx context.Context, srv *Server, l net.Listener, cert *tls.Certificate) error {
	if cert == nil && !IsLoopback(l.Addr().String()) {
		return errors.New("refusing to serve without TLS on a non-loopback address " + l.Addr().String())
	}
	hs := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: srv.o.HeaderTimeout,
		IdleTimeout:       srv.o.IdleTimeout,
		MaxHeaderBytes:    srv.o.MaxHeaderBytes,
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	// Below TLS, so that a refused connection costs no handshake.
	l = newLimitListener(l, srv.o.MaxConnsPerAddr, srv.o.MaxConns, srv.o.Logf)
	if srv.o.Logf != nil {
		hs.ErrorLog = log.New(logWriter(srv.o.Logf), "", 0)
	}
	if cert != nil {
		hs.TLSConfig = &tls.Config{Certificates: []tls.Certificate{*cert}, MinVersion: tls.VersionTLS12}
		l = tls.NewListener(l, hs.TLSConfig)
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(l) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// End the event streams first: they never finish on their own.
	srv.cancel()
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := hs.Shutdown(sctx)
	if errors.Is(err, context.DeadlineExceeded) {
		hs.Close()
	}
	<-errc
	return nil
}

// logWriter writes log lines through a Logf.
type logWriter func(format string, args ...any)

func (f logWriter) Write(p []byte) (int, error) {
	f("%s", strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// limitListener closes, as soon as it accepts them, the connections over a
// bound per remote address and over a bound in all (a bound ≤ 0: none), so
// that clients that open connections and hold them cannot take all of the
// server's.
type limitListener struct {
	net.Listener
	perAddr, total int
	logf           func(format string, args ...any)

	mu      sync.Mutex
	n       int
	byAddr  map[netip.Addr]int
	refused int       // connections refused since the last log line
	logged  time.Time // when the last log line about them was written
}

// refusalLogEvery spaces the log lines about refused connections.
const refusalLogEvery = 10 * time.Second

func newLimitListener(l net.Listener, perAddr, total int, logf func(format string, args ...any)) *limitListener {
	return &limitListener{Listener: l, perAddr: perAddr, total: total, logf: logf, byAddr: map[netip.Addr]int{}}
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		var addr netip.Addr
		if ta, ok := c.RemoteAddr().(*net.TCPAddr); ok {
			addr = ta.AddrPort().Addr().Unmap()
		}
		ok, msg := l.take(addr)
		if ok {
			return &limitConn{Conn: c, l: l, addr: addr}, nil
		}
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetLinger(0) // a reset: no TIME_WAIT left behind
		}
		c.Close()
		if msg != "" && l.logf != nil {
			l.logf("%s", msg)
		}
	}
}

// take counts a new connection from addr, or refuses it; msg, when not
// empty, is a line for the log.
func (l *limitListener) take(addr netip.Addr) (ok bool, msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var why string
	switch {
	case l.total > 0 && l.n >= l.total:
		why = fmt.Sprintf("the server holds %d connections, its limit", l.n)
	case l.perAddr > 0 && l.byAddr[addr] >= l.perAddr:
		why = fmt.Sprintf("%s holds %d connections, the limit of one address", addr, l.byAddr[addr])
	default:
		l.n++
		l.byAddr[addr]++
		return true, ""
	}
	l.refused++
	if now := time.Now(); now.Sub(l.logged) >= refusalLogEvery {
		msg = "refused a connection: " + why
		if l.refused > 1 {
			msg += fmt.Sprintf(" (%d refused since the last such line)", l.refused)
		}
		l.refused, l.logged = 0, now
	}
	return false, msg
}

func (l *limitListener) release(addr netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.n--
	if l.byAddr[addr]--; l.byAddr[addr] <= 0 {
		delete(l.byAddr, addr)
	}
}

// limitConn gives its place back when closed.
type limitConn struct {
	net.Conn
	l    *limitListener
	addr netip.Addr
	once sync.Once
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.release(c.addr) })
	return err
}

// CloseWrite and ReadFrom keep what net/http uses of a *net.TCPConn (a
// half-close before closing, sendfile) on plain connections.

func (c *limitConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

func (c *limitConn) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := c.Conn.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(struct{ io.Writer }{c.Conn}, r)
}
