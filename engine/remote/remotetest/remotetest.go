// Package remotetest holds test helpers for users of engine/remote.
package remotetest

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/wimconsole/wimconsole/engine/remote"
	"github.com/wimconsole/wimconsole/engine/store"
)

// Serve serves st over TLS on addr (host:port; port 0 picks one) until the
// returned function is called or the test ends. It returns the address
// served. Restarting on the port of a server just stopped retries for up
// to five seconds, as the port may linger.
func Serve(t testing.TB, st *store.Store, addr string) (string, func()) {
	t.Helper()
	srv, err := remote.NewServer(st, remote.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cert, err := remote.LoadOrCreateCert(st.Root())
	if err != nil {
		t.Fatal(err)
	}
	var l net.Listener
	for i := 0; ; i++ {
		if l, err = net.Listen("tcp", addr); err == nil || i == 50 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { remote.Serve(ctx, srv, l, &cert); srv.Close(); close(done) }()
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cancel()
			<-done
		}
	}
	t.Cleanup(stop)
	return l.Addr().String(), stop
}
