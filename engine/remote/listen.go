package remote

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
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
