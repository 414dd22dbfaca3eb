package servicing

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/wimconsole/wimconsole/engine/store"
)

// imageFile returns the content of the file at slash path p of image r, as
// wimlib-imagex extracts it.
func imageFile(t testing.TB, s *store.Store, r store.ImageRef, p string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(applied(t, s, r), filepath.FromSlash(p)))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// holdAt arms the commit test hook: the first commit to reach step waits
// there until the returned release is called. reached is closed when it
// gets there. disarm makes later commits pass (call it when the commit the
// hook was meant for ended without reaching step).
func holdAt(t *testing.T, step string, while func()) (reached <-chan struct{}, release, disarm func()) {
	t.Helper()
	at := make(chan struct{})
	rel := make(chan struct{})
	var armed atomic.Bool
	armed.Store(true)
	testHook = func(s string) {
		if s == step && armed.CompareAndSwap(true, false) {
			close(at)
			if while != nil {
				while()
			}
			<-rel
		}
	}
	var once sync.Once
	t.Cleanup(func() {
		once.Do(func() { close(rel) })
		testHook = nil
	})
	return at, func() { once.Do(func() { close(rel) }) }, func() { armed.Store(false) }
}

// TestServiceCommitOfMountedImage: `service commit` of an image mounted to
// a folder committed the session's (empty) change list, exited 0 and ended
// the session, so that the folder's changes could no longer be committed.
// It must be refused, naming the folder, and unmount --commit must then
// commit the changes. A second session or mount of the image is refused
// with the folder named.
func TestServiceCommitOfMountedImage(t *testing.T) {
	ctx := context.Background()
	s, r := newStore(t, baseFiles())
	dir := filepath.Join(t.TempDir(), "mnt")
	if _, err := Mount(ctx, s, r, dir, nil); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "Users/Public/notes.txt"), []byte("changed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ss, err := ForImage(s, r) // what `service commit G/install` does
	if err != nil {
		t.Fatal(err)
	}
	_, err = ss.Commit(ctx, CommitOptions{})
	if err == nil || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), "unmount") {
		t.Fatalf("service commit of a mounted image: %v; want a refusal naming %s and unmount", err, dir)
	}
	// A second session or mount on the image is refused, naming the folder.
	if _, err := Begin(ctx, s, r); err == nil || !strings.Contains(err.Error(), dir) {
		t.Errorf("begin on a mounted image: %v; want a refusal naming %s", err, dir)
	}
	if _, err := Mount(ctx, s, r, filepath.Join(t.TempDir(), "mnt2"), nil); err == nil || !strings.Contains(err.Error(), dir) {
		t.Errorf("second mount of an image: %v; want a refusal naming %s", err, dir)
	}
	mounted, err := Mounted(s, dir)
	if err != nil {
		t.Fatalf("the mount is gone after the refused commit: %v", err)
	}
	if _, err := mounted.Unmount(ctx, true, CommitOptions{}); err != nil {
		t.Fatalf("unmount --commit after the refused service commit: %v", err)
	}
	if got := imageFile(t, s, r, "Users/Public/notes.txt"); got != "changed\n" {
		t.Errorf("notes.txt in the image = %q, want the mounted folder's change", got)
	}
	mustVerify(t, s)
}

// TestUnmountCommitRacesServiceCommit holds `service commit` between its
// session check and the store's commit (where the old code checked
// staleness without the group lock) while `unmount --commit` of the same
// image runs to the end: the change made in the folder must be in the image
// whenever unmount says it committed, and the other commit must fail.
func TestUnmountCommitRacesServiceCommit(t *testing.T) {
	ctx := context.Background()
	s, r := newStore(t, baseFiles())
	dir := filepath.Join(t.TempDir(), "mnt")
	if _, err := Mount(ctx, s, r, dir, nil); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "Users/Public/notes.txt"), []byte("changed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cli, err := ForImage(s, r) // `service commit`, loaded as its process does
	if err != nil {
		t.Fatal(err)
	}
	um, err := Mounted(s, dir) // `unmount --commit`, likewise
	if err != nil {
		t.Fatal(err)
	}
	reached, release, disarm := holdAt(t, "commit-begin", nil)
	cliDone := make(chan error, 1)
	go func() {
		_, err := cli.Commit(ctx, CommitOptions{})
		cliDone <- err
	}()
	var cliErr error
	cliEnded := false
	select {
	case <-reached:
	case cliErr = <-cliDone:
		cliEnded = true
		disarm()
	}
	_, umErr := um.Unmount(ctx, true, CommitOptions{})
	release()
	if !cliEnded {
		cliErr = <-cliDone
	}
	testHook = nil
	if umErr == nil && cliErr == nil {
		t.Error("both unmount --commit and service commit of one mounted image reported success")
	}
	if umErr != nil {
		t.Fatalf("unmount --commit failed: %v", umErr)
	}
	if got := imageFile(t, s, r, "Users/Public/notes.txt"); got != "changed\n" {
		t.Errorf("lost update: unmount --commit succeeded but notes.txt in the image = %q", got)
	}
	mustVerify(t, s)
}

// TestUnmountCommitRacesServiceCommitRepeated races the two commits freely,
// as two processes would, and counts lost changes: a commit that reports
// success must have its change in the image.
func TestUnmountCommitRacesServiceCommitRepeated(t *testing.T) {
	ctx := context.Background()
	s, r := newStore(t, baseFiles())
	const tries = 20
	lost := 0
	for i := 0; i < tries; i++ {
		dir := filepath.Join(t.TempDir(), fmt.Sprint("mnt", i))
		if _, err := Mount(ctx, s, r, dir, nil); err != nil {
			t.Fatalf("try %d: %v", i, err)
		}
		want := fmt.Sprintf("change %d\n", i)
		if err := os.WriteFile(filepath.Join(dir, "Users/Public/notes.txt"), []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		cli, err := ForImage(s, r)
		if err != nil {
			t.Fatal(err)
		}
		um, err := Mounted(s, dir)
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var umErr, cliErr error
		wg.Add(2)
		go func() { defer wg.Done(); _, umErr = um.Unmount(ctx, true, CommitOptions{}) }()
		go func() { defer wg.Done(); _, cliErr = cli.Commit(ctx, CommitOptions{}) }()
		wg.Wait()
		got := imageFile(t, s, r, "Users/Public/notes.txt")
		if umErr == nil && got != want {
			lost++
			t.Errorf("try %d: unmount --commit succeeded (service commit: %v) but the image has %q, not %q", i, cliErr, got, want)
		}
		if umErr != nil {
			// The folder's changes were not committed: the mount must still
			// be there to commit or discard.
			if ss, err := Mounted(s, dir); err != nil {
				t.Errorf("try %d: unmount --commit failed (%v) and the mount is gone: %v", i, umErr, err)
			} else if _, err := ss.Unmount(ctx, false, CommitOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		os.RemoveAll(dir)
	}
	t.Logf("lost %d of %d", lost, tries)
	mustVerify(t, s)
}

// TestCommitRefusedWhenImageChangedUnderIt replaces the image while a
// servicing commit is between its session check and the store's commit: the
// commit must fail loudly (store.ErrStale) instead of overwriting the
// replacement with the old tree, and the session must keep its staged
// change, to be discarded.
func TestCommitRefusedWhenImageChangedUnderIt(t *testing.T) {
	ctx := context.Background()
	s, r := newStore(t, baseFiles())
	ss, err := Begin(ctx, s, r)
	if err != nil {
		t.Fatal(err)
	}
	if err := ss.AddData("/added.txt", []byte("staged\n")); err != nil {
		t.Fatal(err)
	}
	other := clone(baseFiles())
	other["Users/Public/notes.txt"] = "replaced\n"
	src := filepath.Join(t.TempDir(), "other.wim")
	// Capture with wimlib, as newStore does.
	s2, r2 := newStore(t, other)
	if err := s2.ExportImage(ctx, r2, src, store.ExportOptions{}); err != nil {
		t.Fatal(err)
	}
	var replaceErr error
	_, release, _ := holdAt(t, "commit-begin", func() {
		replaceErr = s.ReplaceImage(ctx, r, src, store.ReplaceOptions{})
	})
	release() // the hook returns once the replacement is done
	_, err = ss.Commit(ctx, CommitOptions{})
	testHook = nil
	if replaceErr != nil {
		t.Fatalf("replace-image: %v", replaceErr)
	}
	if err == nil {
		t.Fatal("commit over an image replaced since the session's check succeeded")
	}
	if !errors.Is(err, store.ErrStale) || !strings.Contains(err.Error(), r.String()) {
		t.Errorf("commit over a replaced image: %v; want store.ErrStale naming %s", err, r)
	}
	if got := imageFile(t, s, r, "Users/Public/notes.txt"); got != "replaced\n" {
		t.Errorf("the replacement was lost: notes.txt = %q", got)
	}
	// Nothing is lost: the session keeps its staged change, says why it
	// is stale, and can be discarded.
	kept, err := ForImage(s, r)
	if err != nil {
		t.Fatalf("session gone after the refused commit: %v", err)
	}
	if len(kept.Changes) != 1 || kept.State != StateOpen {
		t.Fatalf("session after the refused commit: %s, changes %v", kept.State, kept.Changes)
	}
	if b, err := os.ReadFile(filepath.Join(kept.Dir(), filepath.FromSlash(kept.Changes[0].Data))); err != nil || string(b) != "staged\n" {
		t.Errorf("staged data after the refused commit: %q, %v", b, err)
	}
	if p, err := Stale(s); err != nil || len(p) != 1 || !strings.Contains(p[0].Stale, "changed") {
		t.Errorf("Stale = %+v, %v; want the session marked changed", p, err)
	}
	if _, err := kept.Commit(ctx, CommitOptions{}); err == nil {
		t.Error("second commit of the stale session succeeded")
	}
	if err := kept.Discard(); err != nil {
		t.Fatal(err)
	}
	if _, err := Begin(ctx, s, r); err != nil {
		t.Errorf("begin after discarding the stale session: %v", err)
	}
	mustVerify(t, s)
}

// TestTwoHandlesOfOneSessionStage: two processes (here two handles loaded
// from the store) staging into one session each keep their change and
// their data; neither overwrites the other's.
func TestTwoHandlesOfOneSessionStage(t *testing.T) {
	ctx := context.Background()
	s, r := newStore(t, baseFiles())
	if _, err := Begin(ctx, s, r); err != nil {
		t.Fatal(err)
	}
	a, err := ForImage(s, r)
	if err != nil {
		t.Fatal(err)
	}
	b, err := ForImage(s, r)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.AddData("/a.txt", []byte("from a\n")); err != nil {
		t.Fatal(err)
	}
	if err := b.AddData("/b.txt", []byte("from b\n")); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Commit(ctx, CommitOptions{}); err != nil {
		t.Fatal(err)
	}
	want := clone(baseFiles())
	want["a.txt"] = "from a\n"
	want["b.txt"] = "from b\n"
	sameTree(t, applied(t, s, r), want)
}
