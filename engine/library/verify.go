package library

import (
	"context"
	"fmt"
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
func (l *Library) Prune(ctx context.Context, grace time.Duration, dry bool) (*PruneResult, error) {
	cut := time.Now().Add(-grace)
	res := &PruneResult{}
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
	var dead []object
	used := map[string]bool{}
	for mh, o := range mans {
		if !live[mh] && o.Modified.Before(cut) {
			dead = append(dead, o)
			res.Manifests++
			continue
		}
		m, err := l.readManifest(ctx, mh)
		if err != nil {
			return nil, fmt.Errorf("%w (prune removes nothing while a manifest cannot be read)", err)
		}
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
	if dry || len(dead) == 0 {
		return res, nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // ends the sender when a removal fails
	ch := make(chan minio.ObjectInfo)
	go func() {
		defer close(ch)
		for _, o := range dead {
			select {
			case ch <- minio.ObjectInfo{Key: l.key(o.Key)}:
			case <-ctx.Done():
				return
			}
		}
	}()
	for e := range l.c.RemoveObjects(ctx, l.cfg.Bucket, ch, minio.RemoveObjectsOptions{}) {
		if e.Err != nil {
			return res, l.wrap("removing "+e.ObjectName, e.Err)
		}
	}
	return res, ctx.Err()
}
