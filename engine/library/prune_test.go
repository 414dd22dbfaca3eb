package library

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/wimconsole/wimconsole/engine/progress"
	"github.com/wimconsole/wimconsole/engine/store"
	"github.com/wimconsole/wimconsole/internal/oracle"
)

// TestPrunePublishRace: a publish that relies on objects no manifest uses
// and older than the grace period (those of a group dropped from the
// library) while a prune that has already listed them runs. The steps
// are interleaved by the test hook:
//
//   - the prune lists, then waits until the publish has written its
//     manifest and half of pruneSettle has passed: it lists the manifests
//     again before it removes anything, sees the publish's and keeps its
//     objects (the publish uploads nothing);
//   - the prune lists and decides, then removes the objects just after the
//     publish has written its manifest (the removal was already on its
//     way): the publish, seeing the prune's lock, checks its objects once
//     that removal has landed and uploads again what was removed.
//
// Either way the group the pointer names is whole: verify finds nothing
// missing, and a pull applies with wimlib-imagex.
func TestPrunePublishRace(t *testing.T) {
	oracle.Wimlib(t)
	old := pruneSettle
	pruneSettle = 6 * time.Second
	t.Cleanup(func() { pruneSettle, testHook = old, nil })
	for _, tc := range []struct {
		name    string
		at      string        // the prune's step where it waits for the publish's manifest
		then    time.Duration // and how much longer
		removed int           // blobs the prune removes
		resent  int           // blobs the publish uploads again
	}{
		{"prune lists the manifests again", "prune-listed", pruneSettle/2 + time.Second, 0, 0},
		{"prune removes before the publish checks", "prune-removing", 0, 3, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			l := testLibrary(t)
			a := groupStore(t, "a", "b")
			// Group Old is published and then dropped from the library:
			// its blobs, images and data file are used by no manifest.
			if _, err := l.Publish(ctx, a, "Lab", PublishOptions{As: "Old"}); err != nil {
				t.Fatal(err)
			}
			if err := l.c.RemoveObject(ctx, l.cfg.Bucket, l.key(groupKey("Old")), minio.RemoveObjectOptions{}); err != nil {
				t.Fatal(err)
			}
			const grace = time.Second
			time.Sleep(2500 * time.Millisecond) // older than grace (S3 times are to the second)

			manifest, decided := make(chan struct{}), make(chan struct{})
			var mOnce, pOnce sync.Once
			testHook = func(s string) {
				switch s {
				case "publish-manifest-written":
					mOnce.Do(func() { close(manifest) })
				case tc.at:
					pOnce.Do(func() {
						close(decided)
						<-manifest
						time.Sleep(tc.then)
					})
				}
			}
			t.Cleanup(func() { testHook = nil })
			var (
				pr   *PruneResult
				perr error
				wg   sync.WaitGroup
			)
			wg.Add(1)
			go func() {
				defer wg.Done()
				pr, perr = l.Prune(ctx, grace, false)
			}()
			<-decided
			var phaseMu sync.Mutex
			waited := false
			r, err := l.Publish(ctx, a, "Lab", PublishOptions{Progress: func(r progress.Report) {
				phaseMu.Lock()
				waited = waited || r.Phase == PhasePruneWait
				phaseMu.Unlock()
			}})
			wg.Wait()
			testHook = nil
			if err != nil {
				t.Fatal(err)
			}
			if perr != nil {
				t.Fatal(perr)
			}
			if !waited {
				t.Errorf("the publish did not report %q", PhasePruneWait)
			}
			if r.Blobs != 3 || r.BlobsSent != tc.resent {
				t.Errorf("publish: %+v, want %d of 3 blobs sent again", r, tc.resent)
			}
			if pr.Manifests != 1 || pr.Blobs != tc.removed {
				t.Errorf("prune: %+v, want group Old's manifest and %d blobs removed", pr, tc.removed)
			}
			if locks, err := l.list(ctx, locksDir); err != nil || len(locks) != 0 {
				t.Errorf("the prune left its lock: %v %v", locks, err)
			}
			v, err := l.Verify(ctx, "Lab", nil)
			if err != nil || !v.OK() || v.Blobs != 3 || v.Images != 2 || v.Files != 1 {
				t.Fatalf("verify after the race: %+v %v", v, err)
			}
			b, err := store.Open(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := l.Pull(ctx, b, "Lab", PullOptions{}); err != nil {
				t.Fatal(err)
			}
			applyAll(t, b, "Lab", "a", "b")
		})
	}
}

// TestPruneRemovesUnused: prune removes what no group uses once older than
// the grace period, keeps what is younger and what a group uses, and a
// dry run removes nothing; a publish with no prune at work, or only the
// stale lock of a prune that died, does not wait, and the next prune
// removes that lock.
func TestPruneRemovesUnused(t *testing.T) {
	ctx := context.Background()
	l := testLibrary(t)
	oldSettle, oldStale := pruneSettle, pruneLockStale
	pruneSettle = time.Hour // a publish that waited would time out
	pruneLockStale = 2 * time.Second
	t.Cleanup(func() { pruneSettle, pruneLockStale = oldSettle, oldStale })
	a := groupStore(t, "a", "b")
	if _, err := l.Publish(ctx, a, "Lab", PublishOptions{As: "Old"}); err != nil {
		t.Fatal(err)
	}
	b := groupStore(t, "c")
	if _, err := l.Publish(ctx, b, "Lab", PublishOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := l.c.RemoveObject(ctx, l.cfg.Bucket, l.key(groupKey("Old")), minio.RemoveObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	// Young: Old's manifest counts as in use, and keeps what it names.
	pr, err := l.Prune(ctx, time.Hour, false)
	if err != nil || *pr != (PruneResult{}) {
		t.Fatalf("prune, all young: %+v %v, want nothing removed", pr, err)
	}
	// A prune that died left its lock.
	dead := locksDir + "prune-1-1.json"
	if err := l.putBytes(ctx, dead, []byte("{}"), "application/json"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second) // the lock is stale, Old's objects older than a second
	pctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if _, err := l.Publish(pctx, b, "Lab", PublishOptions{As: "New"}); err != nil {
		t.Fatalf("publish beside a stale lock: %v", err)
	}
	pr, err = l.Prune(ctx, time.Second, true)
	if err != nil || pr.Manifests != 1 || pr.Blobs != 2 || pr.Images != 2 || pr.Files != 0 {
		t.Fatalf("dry prune: %+v %v, want Old's manifest, 2 blobs (kernel.dll is Lab's too), 2 images", pr, err)
	}
	if locks, err := l.list(ctx, locksDir); err != nil || len(locks) != 1 || locks[0].Key != dead {
		t.Fatalf("locks after a dry prune: %v %v, want the dead one only", locks, err)
	}
	pr2, err := l.Prune(ctx, time.Second, false)
	if err != nil || *pr2 != *pr {
		t.Fatalf("prune: %+v %v, want %+v", pr2, err, pr)
	}
	if locks, err := l.list(ctx, locksDir); err != nil || len(locks) != 0 {
		t.Fatalf("locks after prune: %v %v, want none", locks, err)
	}
	pr3, err := l.Prune(ctx, time.Second, true)
	if err != nil || pr3.Manifests+pr3.Blobs+pr3.Images+pr3.Files != 0 {
		t.Fatalf("prune again: %+v %v, want nothing left to remove", pr3, err)
	}
	v, err := l.Verify(ctx, "", nil)
	if err != nil || !v.OK() || len(v.Groups) != 2 {
		t.Fatalf("verify after prune: %+v %v", v, err)
	}
}
