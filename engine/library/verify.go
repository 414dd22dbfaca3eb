package library

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/wimconsole/wimconsole/engine/progress"
	"github.com/wimconsole/wimconsole/engine/wim"
)

// VerifyResult says what Verify checked and what it found wrong.
type VerifyResult struct {
	Groups   []string `json:"groups"`
	Blobs    int      `json:"blobs"`  // blob objects read and checked
	Images   int      `json:"images"` // image objects checked
	Files    int      `json:"files"`  // external data objects checked
	Bytes    int64    `json:"bytes"`  // bytes read
	Problems []string `json:"problems,omitempty"`
}

// OK reports whether Verify found nothing wrong.
func (r *VerifyResult) OK() bool { return len(r.Problems) == 0 }

// Verify reads every object that group g's current manifest (every
// group's, for g "") uses and checks it: each blob object is a one-blob
// resource-only WIM whose data has its SHA-1, each image and data object
// has its SHA-1. Problems are listed in the result; the error is for
// what stopped the check itself.
func (l *Library) Verify(ctx context.Context, g string, report progress.Func) (*VerifyResult, error) {
	var names []string
	if g != "" {
		names = []string{g}
	} else {
		gs, err := l.Groups(ctx)
		if err != nil {
			return nil, err
		}
		for _, x := range gs {
			names = append(names, x.Name)
		}
	}
	res := &VerifyResult{Groups: names}
	blobs := map[wim.Hash]int64{}
	objs := map[string]wim.Hash{} // image and data objects by key
	for _, name := range names {
		m, _, err := l.Manifest(ctx, name)
		if err != nil {
			return nil, err
		}
		for _, b := range m.Blobs {
			h, _ := wim.ParseHash(b.SHA1)
			blobs[h] = b.Size
		}
		for _, im := range m.Images {
			h, _ := wim.ParseHash(im.Metadata)
			objs[imageKey(h)] = h
			for _, f := range im.Data {
				fh, _ := wim.ParseHash(f.SHA1)
				objs[fileKey(fh)] = fh
			}
		}
	}
	hashes := make([]wim.Hash, 0, len(blobs))
	var total int64
	for h, n := range blobs {
		hashes = append(hashes, h)
		total += n
	}
	sort.Slice(hashes, func(i, j int) bool { return hashes[i].String() < hashes[j].String() })
	tmp, err := os.MkdirTemp("", "wimconsole-verify-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)

	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		done atomic.Int64
	)
	problem := func(s string) {
		mu.Lock()
		res.Problems = append(res.Problems, s)
		mu.Unlock()
	}
	work := make(chan wim.Hash)
	report.Send(progress.Report{Phase: PhaseVerify, Total: total})
	for w := 0; w < min(l.workers(), max(len(hashes), 1)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for h := range work {
				b, err := l.fetchBlob(ctx, tmp, h)
				if b.file != "" {
					b.w.Close()
					os.Remove(b.file)
				}
				n := b.stored
				if err != nil {
					if ctx.Err() != nil {
						continue
					}
					problem(err.Error())
				}
				mu.Lock()
				res.Blobs++
				res.Bytes += n
				mu.Unlock()
				report.Send(progress.Report{Phase: PhaseVerify, Done: done.Add(blobs[h]), Total: total})
			}
		}()
	}
	for _, h := range hashes {
		if ctx.Err() != nil {
			break
		}
		work <- h
	}
	close(work)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return res, err
	}
	keys := make([]string, 0, len(objs))
	for k := range objs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		p := filepath.Join(tmp, "obj")
		if err := l.fetchChecked(ctx, k, objs[k], p); err != nil {
			if ctx.Err() != nil {
				return res, ctx.Err()
			}
			problem(err.Error())
		}
		if fi, err := os.Stat(p); err == nil {
			res.Bytes += fi.Size()
		}
		os.Remove(p)
		if strings.HasPrefix(k, imagesDir) {
			res.Images++
		} else {
			res.Files++
		}
	}
	sort.Strings(res.Problems)
	return res, nil
}

// DefaultGrace is how old an unreferenced object must be before Prune
// removes it: a publish running now may not have written its manifest yet.
const DefaultGrace = 24 * time.Hour

// pruneSettle bounds how long a prune's look at the manifests stays good:
// a prune sends each removal within half of it after it last listed the
// manifests, and a publish that finds a prune at work (a locks/ object)
// waits this long after writing its manifest before it checks that the
// objects it relies on are still there. Any removal the prune decided
// without seeing that manifest has then landed, and the publish uploads
// again what it removed; a prune that lists the manifests later sees the
// publish's manifest, young, and keeps what it names. A variable for tests.
var pruneSettle = 30 * time.Second

// pruneLockStale is how long a prune's lock counts without being written
// again: a prune writes it again every sixth of that while it works, so a
// lock older than that is one of a prune that died, which publishes ignore
// and the next prune removes (as restic's stale locks). A variable for
// tests.
var pruneLockStale = 30 * time.Minute

// pruneBatch is how many objects a prune removes between two checks of the
// clock.
const pruneBatch = 500

// PruneResult says what Prune removed (or, dry, would remove).
type PruneResult struct {
	Manifests int   `json:"manifests"` // manifests no group points to
	Blobs     int   `json:"blobs"`
	Images    int   `json:"images"`
	Files     int   `json:"files"`
	Bytes     int64 `json:"bytes"`
	Kept      int   `json:"kept"` // unreferenced objects younger than the grace period
}

// Prune removes the objects no manifest in use references — manifests no
// group points to, blobs, images and data files none of the remaining
// manifests uses — that are older than grace (as restic's prune, so that a
// publish under way keeps what it uploaded before its manifest). A manifest
// younger than grace counts as in use. With dry, nothing is removed.
//
// A prune that removes anything first writes a locks/prune-….json object
// (removed when it ends), lists the manifests again whenever half of
// pruneSettle has passed since it last did, and removes only what is still
// unused then; a publish that sees the lock checks its objects after the
// prune's removals can have landed (see pruneSettle). A publish relying on
// an old object that no manifest uses therefore never ends with a group
// whose object a prune removed.
func (l *Library) Prune(ctx context.Context, grace time.Duration, dry bool) (*PruneResult, error) {
	cut := time.Now().Add(-grace)
	res := &PruneResult{}
	var lk string
	var locked time.Time
	if !dry {
		lk = fmt.Sprintf("%sprune-%d-%d.json", locksDir, time.Now().UnixNano(), rand.Int64N(1e9))
		locked = time.Now()
		if err := l.lockPrune(ctx, lk); err != nil {
			return nil, err
		}
		defer func() {
			// Removed even when ctx is cancelled: a lock left behind only
			// makes publishes wait pruneSettle, but it should not stay.
			c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			l.c.RemoveObject(c, l.cfg.Bucket, l.key(lk), minio.RemoveObjectOptions{})
		}()
	}
	looked := time.Now()
	used, err := l.inUse(ctx, cut)
	if err != nil {
		return nil, err
	}
	var dead []object
	mans, err := l.hashes(ctx, manifestsDir, ".json")
	if err != nil {
		return nil, err
	}
	for _, o := range mans {
		if !used[o.Key] && o.Modified.Before(cut) {
			dead = append(dead, o)
			res.Manifests++
		}
	}
	for _, dir := range []string{blobsDir, imagesDir, filesDir} {
		objs, err := l.list(ctx, dir)
		if err != nil {
			return nil, err
		}
		for _, o := range objs {
			if used[o.Key] {
				continue
			}
			if !o.Modified.Before(cut) {
				res.Kept++
				continue
			}
			dead = append(dead, o)
			res.Bytes += o.Size
			switch dir {
			case blobsDir:
				res.Blobs++
			case imagesDir:
				res.Images++
			default:
				res.Files++
			}
		}
	}
	if !dry {
		// Locks of prunes that died.
		locks, err := l.list(ctx, locksDir)
		if err != nil {
			return nil, err
		}
		var now time.Time // of the storage's clock: when it wrote our lock
		for _, o := range locks {
			if o.Key == lk {
				now = o.Modified
			}
		}
		if !now.IsZero() {
			dead = append(dead, staleLocks(locks, now)...)
		}
	}
	step("prune-listed")
	if dry || len(dead) == 0 {
		return res, nil
	}
	for len(dead) > 0 {
		if time.Since(locked) > pruneLockStale/6 {
			locked = time.Now()
			if err := l.lockPrune(ctx, lk); err != nil {
				return res, err
			}
		}
		if time.Since(looked) > pruneSettle/2 {
			// A publish may have written a manifest since: look again, and
			// spare what it names.
			looked = time.Now()
			if used, err = l.inUse(ctx, cut); err != nil {
				return res, err
			}
			if time.Since(looked) > pruneSettle/2 {
				return res, fmt.Errorf("library %s answers too slowly to prune safely (listing its manifests took over %s); nothing more was removed: prune again later", l.cfg.URL(), pruneSettle/2)
			}
		}
		n := min(pruneBatch, len(dead))
		var batch []object
		for _, o := range dead[:n] {
			if used[o.Key] {
				l.unlist(res, o)
				continue
			}
			batch = append(batch, o)
		}
		dead = dead[n:]
		step("prune-removing")
		if err := l.remove(ctx, batch); err != nil {
			return res, err
		}
	}
	return res, ctx.Err()
}

// unlist takes o, found in use when the prune looked again, out of res's
// counts.
func (l *Library) unlist(res *PruneResult, o object) {
	switch {
	case strings.HasPrefix(o.Key, manifestsDir):
		res.Manifests--
		return
	case strings.HasPrefix(o.Key, blobsDir):
		res.Blobs--
	case strings.HasPrefix(o.Key, imagesDir):
		res.Images--
	case strings.HasPrefix(o.Key, filesDir):
		res.Files--
	default:
		return
	}
	res.Bytes -= o.Size
}

// lockPrune writes (again) the lock k that tells publishes a prune is at
// work.
func (l *Library) lockPrune(ctx context.Context, k string) error {
	data, _ := json.Marshal(map[string]any{"prune": time.Now().UTC(), "settle": pruneSettle.String()})
	return l.putBytes(ctx, k, data, "application/json")
}

// staleLocks returns the locks written last more than pruneLockStale
// before now, a time of the storage's clock (so that the clocks of the
// machines running prunes and publishes do not matter).
func staleLocks(locks []object, now time.Time) []object {
	var out []object
	for _, o := range locks {
		if o.Modified.Before(now.Add(-pruneLockStale)) {
			out = append(out, o)
		}
	}
	return out
}

// inUse returns the keys of the objects in use: the manifests the groups
// point to or younger than cut, and every blob, image and data file they
// name.
func (l *Library) inUse(ctx context.Context, cut time.Time) (map[string]bool, error) {
	ptrs, err := l.list(ctx, groupsDir)
	if err != nil {
		return nil, err
	}
	live := map[wim.Hash]bool{}
	for _, o := range ptrs {
		name, ok := strings.CutSuffix(strings.TrimPrefix(o.Key, groupsDir), ".json")
		if !ok {
			continue
		}
		_, mh, err := l.Manifest(ctx, name)
		if err != nil {
			return nil, fmt.Errorf("%w (prune removes nothing while a group cannot be read)", err)
		}
		live[mh] = true
	}
	mans, err := l.hashes(ctx, manifestsDir, ".json")
	if err != nil {
		return nil, err
	}
	used := map[string]bool{}
	for mh, o := range mans {
		if !live[mh] && o.Modified.Before(cut) {
			continue
		}
		m, err := l.readManifest(ctx, mh)
		if err != nil {
			return nil, fmt.Errorf("%w (prune removes nothing while a manifest cannot be read)", err)
		}
		used[o.Key] = true
		for _, b := range m.Blobs {
			used[blobsDir+strings.ToLower(b.SHA1)] = true
		}
		for _, im := range m.Images {
			used[imagesDir+strings.ToLower(im.Metadata)+".wim"] = true
			for _, f := range im.Data {
				used[filesDir+strings.ToLower(f.SHA1)] = true
			}
		}
	}
	return used, nil
}

// remove removes objects objs.
func (l *Library) remove(ctx context.Context, objs []object) error {
	if len(objs) == 0 {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // ends the sender when a removal fails
	ch := make(chan minio.ObjectInfo)
	go func() {
		defer close(ch)
		for _, o := range objs {
			select {
			case ch <- minio.ObjectInfo{Key: l.key(o.Key)}:
			case <-ctx.Done():
				return
			}
		}
	}()
	for e := range l.c.RemoveObjects(ctx, l.cfg.Bucket, ch, minio.RemoveObjectsOptions{}) {
		if e.Err != nil {
			return l.wrap("removing "+e.ObjectName, e.Err)
		}
	}
	return ctx.Err()
}
