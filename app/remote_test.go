package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wimconsole/wimconsole/engine/atomicfile"
	"github.com/wimconsole/wimconsole/engine/remote"
	"github.com/wimconsole/wimconsole/engine/remote/remotetest"
	"github.com/wimconsole/wimconsole/engine/store"
	"github.com/wimconsole/wimconsole/engine/wim"
)

// TestRemoteServiceHeadless is the console's path to a served store without
// a window: add the server (fingerprint shown, then trusted), disable an
// image and see the change arrive through the event stream, lose the server
// (offline) and get it back without a restart.
func TestRemoteServiceHeadless(t *testing.T) {
	ReconnectMin, ReconnectMax = 50*time.Millisecond, 200*time.Millisecond
	ctx := context.Background()
	st, err := store.Open(filepath.Join(t.TempDir(), "RemoteInstall"))
	if err != nil {
		t.Fatal(err)
	}
	token, _, err := remote.OpenTokens(st.Root()).Create(remote.RoleAdmin, nil, "console")
	if err != nil {
		t.Fatal(err)
	}
	addr, stop := remotetest.Serve(t, st, "127.0.0.1:0")
	url := "https://" + addr

	// "Add Server…": probe, show the fingerprint, trust it, connect.
	fp, err := ProbeServer(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := remote.LoadOrCreateCert(st.Root())
	if fp != remote.CertFingerprint(cert) {
		t.Fatalf("probed fingerprint %s differs from the server's", fp)
	}
	rs, err := NewRemoteService(RemoteServer{Name: "deploy1", URL: url, Fingerprint: fp, Token: token})
	if err != nil {
		t.Fatal(err)
	}
	var svc Service = rs
	if info, err := rs.Connect(ctx); err != nil || info.Token.Role != remote.RoleAdmin {
		t.Fatalf("Connect = %+v, %v", info, err)
	}
	if svc.State().State != Online {
		t.Fatalf("state %v after connecting", svc.State().State)
	}

	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.txt"), []byte("hello"), 0o644)
	src := filepath.Join(t.TempDir(), "install.wim")
	if _, err := wim.Capture(ctx, dir, src, wim.CaptureOptions{}); err != nil {
		t.Fatal(err)
	}
	refs, err := svc.AddImage(ctx, src, store.AddOptions{Group: "G"})
	if err != nil {
		t.Fatal(err)
	}

	changes := make(chan Change, 256)
	stopWatch, err := svc.Watch(func(c Change) { changes <- c })
	if err != nil {
		t.Fatal(err)
	}
	defer stopWatch()
	waitFor := func(what string, ok func(Change) bool) {
		t.Helper()
		deadline := time.After(10 * time.Second)
		for {
			select {
			case c := <-changes:
				if ok(c) {
					return
				}
			case <-deadline:
				t.Fatalf("no change: %s", what)
			}
		}
	}
	waitFor("stream open", func(c Change) bool { return c.Reload && c.Status.State == Online })
	no := false
	if err := svc.SetImage(ctx, refs[0], store.SetOptions{Enabled: &no}); err != nil {
		t.Fatal(err)
	}
	waitFor("disable through the event stream", func(c Change) bool {
		return slices.Contains(c.Paths, "WdsConsole/catalog.db")
	})
	if im, err := svc.GetImage(ctx, refs[0]); err != nil || im.Enabled {
		t.Fatalf("after the event: %+v %v", im, err)
	}

	// The server goes away: offline. It comes back: online, with a reload.
	stop()
	waitFor("offline", func(c Change) bool { return c.Status.State == Offline })
	if _, err := svc.ListImages(ctx, store.ListOptions{}); err == nil {
		t.Fatal("list on a stopped server succeeded")
	}
	if svc.State().State != Offline || svc.State().Err == nil {
		t.Errorf("state %+v, want offline with the reason", svc.State())
	}
	remotetest.Serve(t, st, addr)
	waitFor("back online", func(c Change) bool { return c.Reload && c.Status.State == Online })
	if ims, err := svc.ListImages(ctx, store.ListOptions{}); err != nil || len(ims) != 1 {
		t.Fatalf("list after reconnecting: %v %v", ims, err)
	}

	// The same operations on the local store.
	var local Service = NewLocalService("here", st)
	if ims, err := local.ListImages(ctx, store.ListOptions{}); err != nil || len(ims) != 1 || ims[0].Enabled {
		t.Errorf("local list: %+v %v", ims, err)
	}

	// The server list keeps what "Add Server…" asked, for the user only.
	p := filepath.Join(t.TempDir(), "cfg", ServerListFile)
	list := []RemoteServer{rs.Config()}
	if err := SaveServerList(p, list); err != nil {
		t.Fatal(err)
	}
	got, err := LoadServerList(p)
	if err != nil || !reflect.DeepEqual(got, list) {
		t.Errorf("server list round trip: %+v %v", got, err)
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o600 {
		t.Errorf("server list mode %v", fi.Mode().Perm())
	}
}

// TestSaveServerListWriteFails: a write that fails is reported, and the
// server list already on disk stays as it was (it is not replaced by a
// short file).
func TestSaveServerListWriteFails(t *testing.T) {
	p := filepath.Join(t.TempDir(), "cfg", ServerListFile)
	old := []RemoteServer{{Name: "deploy1", URL: "https://deploy1:8443", Fingerprint: "ab", Token: "t1"}}
	if err := SaveServerList(p, old); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	// The disk fills up half-way through the new file.
	defer func(w func(string, []byte, fs.FileMode) error) { saveFile = w }(saveFile)
	saveFile = func(name string, b []byte, perm fs.FileMode) error {
		f, err := atomicfile.Create(name, perm)
		if err != nil {
			return err
		}
		f.Write(b[:len(b)/2])
		f.Abort()
		return errors.New("no space left on device")
	}
	err = SaveServerList(p, append(old, RemoteServer{Name: "deploy2", URL: "https://deploy2:8443"}))
	if err == nil || !strings.Contains(err.Error(), p) {
		t.Fatalf("SaveServerList with a failing write = %v, want an error naming %s", err, p)
	}
	after, err := os.ReadFile(p)
	if err != nil || string(after) != string(before) {
		t.Fatalf("servers.json after a failed save:\n%s\nwant it unchanged:\n%s (%v)", after, before, err)
	}
	if ents, _ := os.ReadDir(filepath.Dir(p)); len(ents) != 1 {
		t.Errorf("folder holds %d files after a failed save, want servers.json alone", len(ents))
	}
}

// TestIsNetError: what marks a remote server offline. A connection that
// ended without an answer (io.EOF under a *remote.ConnError: the server
// went away mid-request) is one; it was taken for a refusal, so a
// Properties change sent as the server stopped said "correct the setting"
// instead of "cannot be reached".
func TestIsNetError(t *testing.T) {
	for _, c := range []struct {
		name string
		err  error
		want bool
	}{
		{"hang-up", fmt.Errorf("server https://h:1: %w", &remote.ConnError{Err: io.EOF}), true},
		{"refused", fmt.Errorf("server https://h:1: %w", &remote.ConnError{Err: syscall.ECONNREFUSED}), true},
		{"deadline", fmt.Errorf("x: %w", context.DeadlineExceeded), true},
		{"answer", &remote.Error{Code: remote.CodeNotFound, Message: "no such image"}, false},
		{"bad answer", errors.New("server https://h:1: bad answer to GET /x: unexpected end of JSON input"), false},
		{"none", nil, false},
	} {
		if got := isNetError(c.err); got != c.want {
			t.Errorf("%s: isNetError(%v) = %v, want %v", c.name, c.err, got, c.want)
		}
	}
}

// TestWatchStopWaitsForCallback: Watch's stop returns only once no call to
// the watcher is running or still to come. A change handed over as the
// watch stopped reached the watcher after stop had returned (a console's
// redraw after it was done with the server; a race in the views tests).
func TestWatchStopWaitsForCallback(t *testing.T) {
	rs, err := NewRemoteService(RemoteServer{URL: "https://127.0.0.1:1", Token: "t"})
	if err != nil {
		t.Fatal(err)
	}
	entered, release := make(chan struct{}, 1), make(chan struct{})
	var mu sync.Mutex
	stopped := false
	stop, err := rs.Watch(func(Change) {
		select {
		case entered <- struct{}{}:
		default:
		}
		<-release
		mu.Lock()
		defer mu.Unlock()
		if stopped {
			t.Error("the watcher was called after stop returned")
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	<-entered // Connecting -> Offline: nothing answers on port 1
	done := make(chan struct{})
	go func() {
		stop()
		mu.Lock()
		stopped = true
		mu.Unlock()
		close(done)
	}()
	select {
	case <-done:
		t.Fatal("stop returned while the watcher was still being called")
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("stop did not return once the watcher was done")
	}
}
