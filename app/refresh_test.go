package app

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wimconsole/wimconsole/engine/remote"
	"github.com/wimconsole/wimconsole/engine/remote/remotetest"
	"github.com/wimconsole/wimconsole/engine/store"
)

// TestRefreshCoalesces: Refresh calls made while a pass runs share one more
// pass after it; none nests or runs a pass of its own.
func TestRefreshCoalesces(t *testing.T) {
	srv, err := LocalServer(filepath.Join(t.TempDir(), "RemoteInstall"))
	if err != nil {
		t.Fatal(err)
	}
	m := NewModel(srv)
	var mu sync.Mutex
	passes := 0
	started, release := make(chan struct{}), make(chan struct{})
	m.refreshMu.Lock()
	m.passHook = func() {
		mu.Lock()
		passes++
		first := passes == 1
		mu.Unlock()
		if first {
			close(started)
			<-release
		}
	}
	m.refreshMu.Unlock()

	go m.Refresh()
	<-started
	const callers = 8
	var wg sync.WaitGroup
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := m.Refresh(); err != nil {
				t.Error(err)
			}
		}()
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		m.refreshMu.Lock()
		w := m.waiting
		m.refreshMu.Unlock()
		if w == callers {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d Refresh calls wait for the running pass", w, callers)
		}
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	mu.Lock()
	if passes != 2 {
		t.Errorf("%d passes for %d Refresh calls made during one pass, want that pass and one more", passes, callers)
	}
	mu.Unlock()
	m.Refresh()
	mu.Lock()
	if passes != 3 {
		t.Errorf("a Refresh on an idle model ran %d passes, want 1", passes-2)
	}
	mu.Unlock()
}

// TestRefreshWhileServerComesBack: a remote server that comes back online
// during a refresh tells its watcher, which refreshes the model; that must
// not deadlock the refresh that noticed it (it once did: Refresh held its
// lock while the state change called back into Refresh).
func TestRefreshWhileServerComesBack(t *testing.T) {
	oldMin, oldMax := ReconnectMin, ReconnectMax
	// The event stream does not reconnect during the test: the refresh,
	// not the stream, is what sees the server come back.
	ReconnectMin, ReconnectMax = time.Minute, time.Minute
	defer func() { ReconnectMin, ReconnectMax = oldMin, oldMax }()

	st, err := store.Open(filepath.Join(t.TempDir(), "RemoteInstall"))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.AddGroup("Lab"); err != nil {
		t.Fatal(err)
	}
	token, _, err := remote.OpenTokens(st.Root()).Create(remote.RoleAdmin, nil, "console")
	if err != nil {
		t.Fatal(err)
	}
	addr, stop := remotetest.Serve(t, st, "127.0.0.1:0")
	fp, err := ProbeServer(context.Background(), "https://"+addr)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewRemoteServer(RemoteServer{Name: "deploy1", URL: "https://" + addr, Fingerprint: fp, Token: token})
	if err != nil {
		t.Fatal(err)
	}
	m := NewModel(s)
	stop()

	refreshed := make(chan error, 64)
	stopWatch, err := m.WatchServer(s, func(err error) { refreshed <- err })
	if err != nil {
		t.Fatal(err)
	}
	defer stopWatch()
	select {
	case <-refreshed: // the stream failed: offline, and the model reloaded
	case <-time.After(10 * time.Second):
		t.Fatal("no refresh after the server went away")
	}
	if !s.Offline() {
		t.Fatalf("state %v with the server stopped, want offline", s.Remote.State())
	}

	remotetest.Serve(t, st, addr)
	done := make(chan error, 1)
	go func() { done <- m.Refresh() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Refresh did not return when the server came back during it (deadlock)")
	}
	select {
	case err := <-refreshed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the watcher was not told that the server is back")
	}
	n, _ := m.Node(serverID(s))
	if strings.Contains(n.Label, "offline") || len(m.Groups(s)) != 1 {
		t.Errorf("after the server came back: label %q, groups %v", n.Label, m.Groups(s))
	}
}
