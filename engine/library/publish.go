package library

import (
	"context"
	"crypto/sha1"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/wimconsole/wimconsole/engine/progress"
	"github.com/wimconsole/wimconsole/engine/store"
	"github.com/wimconsole/wimconsole/engine/wim"
	"golang.org/x/sync/errgroup"
)

// Progress phases of Publish and Pull.
const (
	PhaseCompare  = "comparing with the library"
	PhaseUpload   = "uploading file data"
	PhaseImages   = "uploading images"
	PhaseDownload = "downloading file data"
	PhaseCommit   = "adding file data to Res.rwm"
	PhaseReceive  = "adding images"
	PhaseVerify   = "verifying the library"
	// PhasePruneWait: a publish waits for a prune at work in the library
	// (see pruneSettle) before it checks its objects.
	PhasePruneWait = "waiting for a prune of the library"
)

// PublishOptions configure Publish.
type PublishOptions struct {
	// As is the group's name in the library ("": its name here).
	As string
	// By names the publisher in the manifest (a host name, say).
	By string
	// TempDir holds the blob objects while they are uploaded ("": the
	// system's temporary folder).
	TempDir  string
	Progress progress.Func
}

// PublishResult says what a publish did.
type PublishResult struct {
	Group     string `json:"group"` // the group's name in the library
	Manifest  string `json:"manifest"`
	Images    int    `json:"images"`
	Blobs     int    `json:"blobs"`      // blobs the group's images use
	BlobsSent int    `json:"blobs_sent"` // blobs the library lacked, uploaded
	BytesSent int64  `json:"bytes_sent"` // bytes of the uploaded blob objects
	Unchanged bool   `json:"unchanged"`  // the library had this very group already
}

// localImage is one image of the group being published.
type localImage struct {
	store.Image
	file   string // without .wim
	hashes []wim.Hash
	meta   wim.Hash
	size   int64
	data   []ManifestFile
	paths  map[string]string // data path -> local file
}

// Publish publishes image group g of st to the library, as o.As: the
// blobs the library lacks are uploaded in parallel (each as a resource-only
// WIM holding its compressed resource as Res.rwm stores it, never
// compressed again when Res.rwm's codec allows), then the images'
// metadata-only WIMs and external data, then the manifest, and last the
// group's pointer to it. A publish cut short leaves the library's groups
// as they were; running it again uploads only what is still missing.
func (l *Library) Publish(ctx context.Context, st *store.Store, g string, o PublishOptions) (*PublishResult, error) {
	if err := store.CheckGroupName(g); err != nil {
		return nil, err
	}
	as := o.As
	if as == "" {
		as = g
	}
	if err := store.CheckGroupName(as); err != nil {
		return nil, err
	}
	o.Progress.Send(progress.Report{Phase: PhaseCompare})
	imgs, group, err := groupImages(ctx, st, g)
	if err != nil {
		return nil, err
	}
	resPath := st.ResPath(group)
	res := &PublishResult{Group: as, Images: len(imgs)}

	// What the images use.
	var all []wim.Hash
	seen := map[wim.Hash]bool{}
	for _, im := range imgs {
		if err := describeImage(st, group, im); err != nil {
			return nil, err
		}
		for _, h := range im.hashes {
			if !seen[h] {
				seen[h] = true
				all = append(all, h)
			}
		}
	}
	res.Blobs = len(all)
	sizes := map[wim.Hash]int64{}
	if len(all) > 0 {
		rw, err := wim.Open(resPath, &wim.OpenOptions{NoSplitSearch: true})
		if err != nil {
			return nil, err
		}
		for _, h := range all {
			e, ok := rw.Blob(h)
			if !ok {
				rw.Close()
				return nil, fmt.Errorf("%s does not hold blob %s that an image of group %s uses: run verify on the store", resPath, h, group)
			}
			sizes[h] = e.Size()
		}
		rw.Close()
	}

	if err := l.CreateBucket(ctx); err != nil {
		return nil, err
	}
	have, err := l.hashes(ctx, blobsDir, "")
	if err != nil {
		return nil, err
	}
	stored := map[wim.Hash]int64{}
	var missing []wim.Hash
	var total int64
	for _, h := range all {
		if ob, ok := have[h]; ok {
			stored[h] = ob.Size
		} else {
			missing = append(missing, h)
			total += sizes[h]
		}
	}
	if err := l.uploadBlobs(ctx, resPath, missing, sizes, total, o, stored, res); err != nil {
		return res, err
	}

	// Images and their external data.
	o.Progress.Send(progress.Report{Phase: PhaseImages, Done: 0, Total: int64(len(imgs))})
	haveImages, err := l.hashes(ctx, imagesDir, ".wim")
	if err != nil {
		return res, err
	}
	haveFiles, err := l.hashes(ctx, filesDir, "")
	if err != nil {
		return res, err
	}
	m := Manifest{Format: manifestFormat, Group: as, Published: time.Now().UTC().Truncate(time.Second), By: o.By, Images: []ManifestImage{}, Blobs: []ManifestBlob{}}
	local := map[string]string{} // image and data objects -> their files here
	for i, im := range imgs {
		local[imageKey(im.meta)] = st.ImagePath(store.ImageRef{Group: group, File: im.file})
		for _, f := range im.data {
			h, _ := wim.ParseHash(f.SHA1)
			local[fileKey(h)] = im.paths[f.Path]
		}
		if _, ok := haveImages[im.meta]; !ok {
			if err := l.putFile(ctx, imageKey(im.meta), st.ImagePath(store.ImageRef{Group: group, File: im.file})); err != nil {
				return res, err
			}
		}
		for _, f := range im.data {
			h, _ := wim.ParseHash(f.SHA1)
			if _, ok := haveFiles[h]; !ok {
				if err := l.putFile(ctx, fileKey(h), im.paths[f.Path]); err != nil {
					return res, err
				}
				haveFiles[h] = object{}
			}
		}
		mi := ManifestImage{File: im.file, Name: im.Name, Disabled: !im.Enabled, Metadata: im.meta.String(), MetadataSize: im.size, Blobs: []string{}, Data: im.data}
		for _, h := range im.hashes {
			mi.Blobs = append(mi.Blobs, h.String())
		}
		m.Images = append(m.Images, mi)
		o.Progress.Send(progress.Report{Phase: PhaseImages, Done: int64(i + 1), Total: int64(len(imgs))})
	}
	for _, h := range all {
		m.Blobs = append(m.Blobs, ManifestBlob{SHA1: h.String(), Size: sizes[h], Stored: stored[h]})
	}

	// Unchanged since the last publish? Then nothing is written.
	if old, oldHash, err := l.Manifest(ctx, as); err == nil && sameGroup(old, &m) {
		res.Unchanged = true
		res.Manifest = oldHash.String()
		return res, nil
	}

	data, err := json.Marshal(&m)
	if err != nil {
		return res, err
	}
	mh := sha1Of(data)
	if err := l.putBytes(ctx, manifestKey(mh), data, "application/json"); err != nil {
		return res, err
	}
	written := time.Now()
	step("publish-manifest-written")
	if err := l.restorePruned(ctx, manifestKey(mh), written, resPath, all, sizes, local, o, stored, res); err != nil {
		return res, err
	}
	ptr, _ := json.Marshal(pointer{Manifest: mh.String(), Published: m.Published})
	if err := l.putBytes(ctx, groupKey(as), ptr, "application/json"); err != nil {
		return res, err
	}
	step("publish-pointer-written")
	res.Manifest = mh.String()
	return res, nil
}

// restorePruned makes sure, before a publish writes its pointer, that every
// object its manifest (object manifest, written at time written) names is
// in the library: when a prune is at work (a locks/ object that is not
// stale), it first waits until pruneSettle has passed since the manifest
// was written, so that every removal that prune decided without seeing the
// manifest has landed. Then it lists the objects again and uploads those a
// prune removed meanwhile (blobs from resPath, images and data files from
// their files in local).
func (l *Library) restorePruned(ctx context.Context, manifest string, written time.Time, resPath string, all []wim.Hash, sizes map[wim.Hash]int64, local map[string]string, o PublishOptions, stored map[wim.Hash]int64, res *PublishResult) error {
	locks, err := l.list(ctx, locksDir)
	if err != nil {
		return err
	}
	if len(locks) > 0 {
		// Locks of prunes that died do not count: stale by the storage's
		// clock, that of our manifest.
		mi, err := l.c.StatObject(ctx, l.cfg.Bucket, l.key(manifest), minio.StatObjectOptions{})
		if err != nil {
			return l.wrap("reading "+manifest, err)
		}
		if len(staleLocks(locks, mi.LastModified)) == len(locks) {
			locks = nil
		}
	}
	if len(locks) > 0 {
		o.Progress.Send(progress.Report{Phase: PhasePruneWait})
		step("publish-waiting-for-prune")
		t := time.NewTimer(time.Until(written.Add(pruneSettle)))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
	}
	now, err := l.hashes(ctx, blobsDir, "")
	if err != nil {
		return err
	}
	var gone []wim.Hash
	var total int64
	for _, h := range all {
		if _, ok := now[h]; !ok {
			gone = append(gone, h)
			total += sizes[h]
		}
	}
	if err := l.uploadBlobs(ctx, resPath, gone, sizes, total, o, stored, res); err != nil {
		return err
	}
	for _, dir := range []string{imagesDir, filesDir} {
		objs, err := l.list(ctx, dir)
		if err != nil {
			return err
		}
		there := map[string]bool{}
		for _, ob := range objs {
			there[ob.Key] = true
		}
		keys := make([]string, 0, len(local))
		for k := range local {
			if strings.HasPrefix(k, dir) && !there[k] {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			if err := l.putFile(ctx, k, local[k]); err != nil {
				return err
			}
		}
	}
	return nil
}

// sameGroup reports whether manifests a and b describe the same group
// (everything but when and by whom it was published).
func sameGroup(a, b *Manifest) bool {
	x, y := *a, *b
	x.Published, y.Published, x.By, y.By = time.Time{}, time.Time{}, "", ""
	for i := range x.Blobs {
		x.Blobs[i].Stored = 0
	}
	bb := make([]ManifestBlob, len(y.Blobs))
	for i, b := range y.Blobs {
		b.Stored = 0
		bb[i] = b
	}
	y.Blobs = bb
	da, _ := json.Marshal(x)
	db, _ := json.Marshal(y)
	return string(da) == string(db)
}

// groupImages lists the install images of group g, in display order, and
// returns the group's name as the store spells it.
func groupImages(ctx context.Context, st *store.Store, g string) ([]*localImage, string, error) {
	list, err := st.ListImages(ctx, store.ListOptions{Group: g, Type: store.TypeInstall, NoSpace: true})
	if err != nil {
		return nil, "", err
	}
	var imgs []*localImage
	for _, im := range list {
		if strings.EqualFold(im.Group, g) {
			imgs = append(imgs, &localImage{Image: im, file: strings.TrimSuffix(im.File, ".wim")})
		}
	}
	if len(imgs) == 0 {
		if _, err := os.Stat(st.GroupDir(g)); err != nil {
			return nil, "", fmt.Errorf("image group %q does not exist in store %s", g, st.Root())
		}
		return nil, "", fmt.Errorf("image group %q of store %s holds no image to publish", g, st.Root())
	}
	sort.SliceStable(imgs, func(i, j int) bool { return imgs[i].DisplayOrder < imgs[j].DisplayOrder })
	return imgs, imgs[0].Group, nil
}

// describeImage fills in im's blobs, metadata digest and external data.
func describeImage(st *store.Store, group string, im *localImage) error {
	name := st.ImagePath(store.ImageRef{Group: group, File: im.file})
	oo := &wim.OpenOptions{NoSplitSearch: true}
	if res := st.ResPath(group); fileExists(res) {
		oo.Refs = []string{res}
	}
	w, err := wim.Open(name, oo)
	if err != nil {
		return err
	}
	defer w.Close()
	if w.ImageCount() != 1 {
		return fmt.Errorf("%s: an image file holds one image; this one has %d", name, w.ImageCount())
	}
	img, err := w.Image(1)
	if err != nil {
		return err
	}
	seen := map[wim.Hash]bool{}
	for h := range img.BlobRefs() {
		if !h.IsZero() && !seen[h] {
			seen[h] = true
			im.hashes = append(im.hashes, h)
		}
	}
	if im.meta, im.size, err = hashFile(name); err != nil {
		return err
	}
	dir := filepath.Join(st.GroupDir(group), im.file)
	im.paths = map[string]string{}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return nil
	}
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err // folders come with their files; links are not published
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		h, n, err := hashFile(p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		im.data = append(im.data, ManifestFile{Path: rel, SHA1: h.String(), Size: n})
		im.paths[rel] = p
		return nil
	})
}

// hashFile returns the SHA-1 digest and size of file name.
func hashFile(name string) (wim.Hash, int64, error) {
	f, err := os.Open(name)
	if err != nil {
		return wim.Hash{}, 0, err
	}
	defer f.Close()
	d := sha1.New()
	n, err := io.Copy(d, f)
	if err != nil {
		return wim.Hash{}, 0, fmt.Errorf("reading %s: %w", name, err)
	}
	return wim.Hash(d.Sum(nil)), n, nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// putFile uploads file p as object k.
func (l *Library) putFile(ctx context.Context, k, p string) error {
	_, err := l.c.FPutObject(ctx, l.cfg.Bucket, l.key(k), p, minio.PutObjectOptions{ContentType: "application/octet-stream"})
	return l.wrap("uploading "+k, err)
}

// uploadBlobs uploads blobs hashes of Res.rwm resPath, several at once,
// recording each object's size in stored and counting in res.
func (l *Library) uploadBlobs(ctx context.Context, resPath string, hashes []wim.Hash, sizes map[wim.Hash]int64, total int64, o PublishOptions, stored map[wim.Hash]int64, res *PublishResult) error {
	if len(hashes) == 0 {
		return nil
	}
	tmp, err := os.MkdirTemp(o.TempDir, "wimconsole-publish-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	var (
		mu   sync.Mutex // guards stored and res
		done atomic.Int64
		work = make(chan wim.Hash)
	)
	// The first error cancels the others (errgroup).
	g, gctx := errgroup.WithContext(ctx)
	o.Progress.Send(progress.Report{Phase: PhaseUpload, Done: 0, Total: total})
	g.Go(feed(gctx, work, hashes))
	for range min(l.workers(), len(hashes)) {
		g.Go(func() error {
			// Each worker reads Res.rwm through its own handle.
			rw, err := wim.Open(resPath, &wim.OpenOptions{NoSplitSearch: true})
			if err != nil {
				return err
			}
			defer rw.Close()
			for h := range work {
				if gctx.Err() != nil {
					return nil // another worker failed, or the publish was cancelled
				}
				n, err := l.uploadBlob(gctx, rw, h, filepath.Join(tmp, h.String()+".wim"))
				if err != nil {
					return err
				}
				step("publish-blob-uploaded")
				mu.Lock()
				stored[h] = n
				res.BlobsSent++
				res.BytesSent += n
				mu.Unlock()
				o.Progress.Send(progress.Report{Phase: PhaseUpload, Done: done.Add(sizes[h]), Total: total})
			}
			return nil
		})
	}
	err = g.Wait()
	if ctx.Err() != nil {
		return context.Cause(ctx) // cancelled: say so, not what it interrupted
	}
	return err
}

// uploadBlob writes blob h of rw as a one-blob resource-only WIM at tmp,
// with rw's codec (its compressed resource copied as stored), uploads it
// and returns its size.
func (l *Library) uploadBlob(ctx context.Context, rw *wim.WIM, h wim.Hash, tmp string) (int64, error) {
	hdr := rw.Header()
	w, err := wim.Create(tmp, wim.WriteOptions{Compression: hdr.Compression(), ChunkSize: int(hdr.ChunkSize), ResourceOnly: true, NoSync: true, Threads: 1})
	if err != nil {
		return 0, err
	}
	if err := w.CopyBlob(ctx, rw, h); err != nil {
		w.Abort()
		return 0, err
	}
	if err := w.Close(); err != nil {
		return 0, err
	}
	defer os.Remove(tmp)
	fi, err := os.Stat(tmp)
	if err != nil {
		return 0, err
	}
	if err := l.putFile(ctx, blobKey(h), tmp); err != nil {
		return 0, err
	}
	return fi.Size(), nil
}
