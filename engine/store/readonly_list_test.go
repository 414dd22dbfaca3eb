package store

import (
	"bytes"
	"context"
	"os"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/wimconsole/wimconsole/internal/oracle"
)

// TestReadsLeaveCatalog: once the catalog is up to date with the files,
// what the console does on every refresh (open the store, list images,
// group space, sessions) leaves catalog.db as it was: same bytes, size
// and time. A read that wrote set the store's watcher off and the console
// reloaded without end.
func TestReadsLeaveCatalog(t *testing.T) {
	oracle.Wimlib(t)
	ctx := context.Background()
	s := openStore(t)
	refs, err := s.AddImage(ctx, captureWIM(t, "xpress", writeTree(t, baseTree("A"))), AddOptions{Group: "G"})
	if err != nil {
		t.Fatal(err)
	}
	bootRefs, err := s.AddImage(ctx, captureWIM(t, "xpress", writeTree(t, baseTree("B"))), AddOptions{Boot: true, Arch: "x64"})
	if err != nil {
		t.Fatal(err)
	}
	se, err := s.OpenSession(refs[0], "client-1")
	if err != nil {
		t.Fatal(err)
	}
	// The first reads after the changes may fill the caches, once.
	if _, err := s.ListImages(ctx, ListOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Space(ctx, "G"); err != nil {
		t.Fatal(err)
	}

	snap := func() ([]byte, os.FileInfo) {
		t.Helper()
		data, err := os.ReadFile(s.CatalogPath())
		if err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(s.CatalogPath())
		if err != nil {
			t.Fatal(err)
		}
		return data, fi
	}
	data0, fi0 := snap()
	time.Sleep(20 * time.Millisecond) // a write now would change the time
	reads := []struct {
		name string
		read func() error
	}{
		{"open", func() error { _, err := Open(s.Root()); return err }},
		{"list all", func() error { _, err := s.ListImages(ctx, ListOptions{}); return err }},
		{"list group", func() error { _, err := s.ListImages(ctx, ListOptions{Group: "G"}); return err }},
		{"list boot", func() error { _, err := s.ListImages(ctx, ListOptions{Type: TypeBoot}); return err }},
		{"get image", func() error { _, err := s.GetImage(ctx, bootRefs[0]); return err }},
		{"space", func() error { _, err := s.Space(ctx, "G"); return err }},
		{"group infos", func() error { _, err := s.GroupInfos(); return err }},
		{"sessions", func() error {
			ss, err := s.Sessions(ImageRef{})
			if err == nil && (len(ss) != 1 || ss[0].ID != se.ID) {
				t.Errorf("sessions %+v, want %s", ss, se.ID)
			}
			return err
		}},
		{"catalog version", func() error { _, err := s.CatalogVersion(); return err }},
	}
	for _, r := range reads {
		if err := r.read(); err != nil {
			t.Fatalf("%s: %v", r.name, err)
		}
		data, fi := snap()
		if !bytes.Equal(data, data0) || fi.Size() != fi0.Size() || !fi.ModTime().Equal(fi0.ModTime()) {
			t.Errorf("%s wrote the catalog (size %d -> %d, time %v -> %v, bytes equal %v)",
				r.name, fi0.Size(), fi.Size(), fi0.ModTime(), fi.ModTime(), bytes.Equal(data, data0))
			data0, fi0 = data, fi
		}
	}
}

// TestExpiredSessions: an expired session is not listed and cannot be
// renewed; the next session that opens deletes it from the catalog.
func TestExpiredSessions(t *testing.T) {
	oracle.Wimlib(t)
	ctx := context.Background()
	s := openStore(t)
	refs, err := s.AddImage(ctx, captureWIM(t, "xpress", writeTree(t, baseTree("A"))), AddOptions{Group: "G"})
	if err != nil {
		t.Fatal(err)
	}
	defer func(ttl time.Duration) { SessionTTL = ttl }(SessionTTL)
	SessionTTL = 50 * time.Millisecond
	old, err := s.OpenSession(refs[0], "client-1")
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * SessionTTL)
	if ss, err := s.Sessions(refs[0]); err != nil || len(ss) != 0 {
		t.Fatalf("sessions after expiry: %+v %v", ss, err)
	}
	if err := s.Heartbeat(old.ID); err == nil {
		t.Fatal("heartbeat of an expired session succeeded")
	}
	if _, err := s.OpenSession(refs[0], "client-2"); err != nil {
		t.Fatal(err)
	}
	var stored int
	s.view(func(tx *bolt.Tx) error {
		stored = tx.Bucket(bucketSessions).Stats().KeyN
		return nil
	})
	if stored != 1 {
		t.Errorf("%d sessions stored after a new one opened, want the expired one deleted", stored)
	}
}
