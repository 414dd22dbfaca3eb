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
	"github.com/wimconsole/wimconsole/engine/wim"
	"github.com/wimconsole/wimconsole/internal/testtree"
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
		t.Fatalf("state %v with the server stopped, want offline", s.Service().State())
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

// TestWatchSettles: after one change by another process (the command
// line), the watcher reloads the model a bounded number of times and then
// stays quiet: the model's own reads must not set it off again (they wrote
// the catalog, and the console reloaded six times a second for ever).
func TestWatchSettles(t *testing.T) {
	ctx := context.Background()
	root := filepath.Join(t.TempDir(), "RemoteInstall")
	srv, err := LocalServer(root)
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(t.TempDir(), "install.wim")
	dir := testtree.Write(t, t.TempDir(), map[string]string{"a.txt": "hello", "sub/b.txt": "world"})
	if _, err := wim.Capture(ctx, dir, src, wim.CaptureOptions{}); err != nil {
		t.Fatal(err)
	}
	refs, err := storeOf(srv).AddImage(ctx, src, store.AddOptions{Group: "G"})
	if err != nil {
		t.Fatal(err)
	}
	m := NewModel(srv)
	var mu sync.Mutex
	var refreshes []time.Time
	watchStart := time.Now()
	stop, err := m.Watch(func(err error) {
		if err != nil {
			t.Error(err)
		}
		mu.Lock()
		refreshes = append(refreshes, time.Now())
		mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	// since returns the times of the reloads after t0, relative to it.
	since := func(t0 time.Time) []time.Duration {
		mu.Lock()
		defer mu.Unlock()
		var out []time.Duration
		for _, r := range refreshes {
			if r.After(t0) {
				out = append(out, r.Sub(t0).Round(time.Millisecond))
			}
		}
		return out
	}

	// The command line, another process: its own store handle. Opening
	// it writes nothing, so nothing reloads.
	cli, err := store.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	if r := since(watchStart); len(r) != 0 {
		t.Fatalf("reloads with nothing changed: %v", r)
	}
	no := false
	for _, c := range []struct {
		name   string
		change func() error
		max    int // a change in several steps may reach the watcher as several bursts
	}{
		{"disable an image", func() error { return cli.SetImage(ctx, refs[0], store.SetOptions{Enabled: &no}) }, 2},
		{"add an image", func() error {
			_, err := cli.AddImage(ctx, src, store.AddOptions{Group: "G", Name: "Second"})
			return err
		}, 4},
	} {
		start := time.Now()
		if err := c.change(); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		time.Sleep(2 * time.Second)
		r := since(start)
		if len(r) < 1 || len(r) > c.max {
			t.Fatalf("%s: %d reloads within 2 s (at %v), want 1 to %d", c.name, len(r), r, c.max)
		}
		time.Sleep(1500 * time.Millisecond)
		if more := since(start); len(more) != len(r) {
			t.Errorf("%s: more reloads after the change had settled (at %v), want none after %v", c.name, more, r[len(r)-1])
		}
	}
	if len(m.Children(GroupID(srv, "G"))) != 2 {
		t.Errorf("the model did not pick up the added image: %v", m.Children(GroupID(srv, "G")))
	}
	if n, _ := m.Node(ImageID(srv, refs[0])); n.Image == nil || n.Image.Enabled {
		t.Errorf("the model did not pick up the disabled image: %+v", n.Image)
	}
}
