package library

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/minio/minio-go/v7"

	"github.com/wimconsole/wimconsole/engine/progress"
	"github.com/wimconsole/wimconsole/engine/store"
	"github.com/wimconsole/wimconsole/engine/wim"
)

// PullDir is the folder, under the store's WdsConsole folder, where a pull
// keeps what it has downloaded and checked until it is committed; a pull
// cut short resumes from it.
const PullDir = "library-pull"

// DefaultBatchBytes is the uncompressed size of file data committed to
// Res.rwm in one append.
const DefaultBatchBytes = 1 << 30

// PullOptions configure Pull.
type PullOptions struct {
	// As is the group's name in the store ("": its name in the library).
	As string
	// BatchBytes is the uncompressed size of file data per append to
	// Res.rwm (0: DefaultBatchBytes).
	BatchBytes int64
	Progress   progress.Func
}

// PullResult says what a pull did.
type PullResult struct {
	Group         string   `json:"group"` // the group in the store
	Manifest      string   `json:"manifest"`
	Images        []string `json:"images"`            // images added
	Skipped       []string `json:"skipped,omitempty"` // images the group had
	Blobs         int      `json:"blobs"`             // blobs the group's images use
	BlobsReceived int      `json:"blobs_received"`    // blobs added to Res.rwm
	BytesReceived int64    `json:"bytes_received"`    // bytes of the blob objects downloaded
}

// BlobError says that a blob object of the library is not what its name
// says.
type BlobError struct {
	Library string
	Hash    wim.Hash
	Err     error
}

func (e *BlobError) Error() string {
	return fmt.Sprintf("library %s: blob %s is damaged (object %s%s): %v", e.Library, e.Hash, blobsDir, e.Hash, e.Err)
}

func (e *BlobError) Unwrap() error { return e.Err }

// Missing returns how many of group g's blobs (by its current manifest m)
// st's group local lacks, and their uncompressed bytes.
func Missing(st *store.Store, local string, m *Manifest) (int, int64, error) {
	hashes, sizes := manifestBlobs(m)
	miss, err := st.MissingBlobs(local, hashes)
	if err != nil {
		return 0, 0, err
	}
	var n int64
	for _, h := range miss {
		n += sizes[h]
	}
	return len(miss), n, nil
}

func manifestBlobs(m *Manifest) ([]wim.Hash, map[wim.Hash]int64) {
	hashes := make([]wim.Hash, 0, len(m.Blobs))
	sizes := make(map[wim.Hash]int64, len(m.Blobs))
	for _, b := range m.Blobs {
		h, _ := wim.ParseHash(b.SHA1) // checked when the manifest was read
		hashes = append(hashes, h)
		sizes[h] = b.Size
	}
	return hashes, sizes
}

// Pull brings group g of the library into st, as o.As: the blobs the
// store's group lacks are downloaded in parallel and each checked (a
// resource-only WIM holding that one blob, whose data has that SHA-1)
// before anything is committed; they are then appended to Res.rwm as
// every append is (blobs, table, header last), and the images the group
// lacks are added with their external data and state. A blob object that
// is not what its name says stops the pull before the store changes. A
// pull cut short resumes: what was checked is kept under WdsConsole/
// library-pull, what was committed is not fetched again.
func (l *Library) Pull(ctx context.Context, st *store.Store, g string, o PullOptions) (*PullResult, error) {
	o.Progress.Send(progress.Report{Phase: PhaseCompare})
	m, mh, err := l.Manifest(ctx, g)
	if err != nil {
		return nil, err
	}
	dest := o.As
	if dest == "" {
		dest = m.Group
	}
	if err := store.CheckGroupName(dest); err != nil {
		return nil, err
	}
	if o.BatchBytes <= 0 {
		o.BatchBytes = DefaultBatchBytes
	}
	res := &PullResult{Group: dest, Manifest: mh.String(), Images: []string{}, Blobs: len(m.Blobs)}

	// Images the group has already; one of the same file but another
	// name stops the pull before anything changes.
	have := map[string]string{}
	groups, err := st.Groups()
	if err != nil {
		return nil, err
	}
	var list []store.Image
	for _, name := range groups {
		if strings.EqualFold(name, dest) {
			if list, err = st.ListImages(ctx, store.ListOptions{Group: name, Type: store.TypeInstall, NoSpace: true}); err != nil {
				return nil, err
			}
		}
	}
	for _, im := range list {
		if strings.EqualFold(im.Group, dest) {
			have[strings.ToLower(strings.TrimSuffix(im.File, ".wim"))] = im.Name
		}
	}
	for _, im := range m.Images {
		if name, ok := have[strings.ToLower(im.File)]; ok && name != im.Name {
			return nil, fmt.Errorf("group %s of store %s already has %s.wim holding another image (%q, not %q): pull with --as NEWGROUP, or remove that image first", dest, st.Root(), im.File, name, im.Name)
		}
	}

	hashes, sizes := manifestBlobs(m)
	missing, err := st.MissingBlobs(dest, hashes)
	if err != nil {
		return nil, err
	}
	stage := filepath.Join(st.Root(), store.ConsoleDir, PullDir, mh.String()[:16]+"-"+dest)
	// What an earlier pull of another manifest of this group left.
	if old, _ := filepath.Glob(filepath.Join(st.Root(), store.ConsoleDir, PullDir, "*-"+dest)); len(old) > 0 {
		for _, d := range old {
			if d != stage && len(filepath.Base(d)) == 17+len(dest) {
				os.RemoveAll(d)
			}
		}
	}
	if err := os.MkdirAll(filepath.Join(stage, "blobs"), 0o755); err != nil {
		return nil, err
	}
	if len(missing) > 0 {
		if err := l.downloadBlobs(ctx, stage, missing, sizes, o, res); err != nil {
			return res, fmt.Errorf("%w (the pull stopped before changing store %s)", err, st.Root())
		}
		if err := commitBlobs(ctx, st, dest, stage, missing, sizes, o, res); err != nil {
			return res, err
		}
	}

	for i, im := range m.Images {
		o.Progress.Send(progress.Report{Phase: PhaseReceive, Done: int64(i), Total: int64(len(m.Images))})
		ref := dest + "/" + im.File
		if _, ok := have[strings.ToLower(im.File)]; ok {
			res.Skipped = append(res.Skipped, ref)
			continue
		}
		if err := l.receiveImage(ctx, st, dest, stage, im); err != nil {
			return res, err
		}
		step("pull-image-received")
		res.Images = append(res.Images, ref)
	}
	o.Progress.Send(progress.Report{Phase: PhaseReceive, Done: int64(len(m.Images)), Total: int64(len(m.Images))})
	os.RemoveAll(stage)
	return res, nil
}

// stagedBlob is where a downloaded and checked blob object waits.
func stagedBlob(stage string, h wim.Hash) string {
	return filepath.Join(stage, "blobs", h.String()+".wim")
}

// downloadBlobs downloads and checks blobs hashes into stage, several at
// once; those checked by an earlier pull are kept.
func (l *Library) downloadBlobs(ctx context.Context, stage string, hashes []wim.Hash, sizes map[wim.Hash]int64, o PullOptions, res *PullResult) error {
	var total int64
	for _, h := range hashes {
		total += sizes[h]
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	work := make(chan wim.Hash)
	var (
		wg      sync.WaitGroup
		done    atomic.Int64
		got     atomic.Int64
		firstMu sync.Mutex
		first   error
	)
	fail := func(err error) {
		firstMu.Lock()
		if first == nil {
			first = err
		}
		firstMu.Unlock()
		cancel(err)
	}
	o.Progress.Send(progress.Report{Phase: PhaseDownload, Done: 0, Total: total})
	for w := 0; w < min(l.workers(), len(hashes)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for h := range work {
				if ctx.Err() != nil {
					continue
				}
				dst := stagedBlob(stage, h)
				if !fileExists(dst) {
					n, err := l.fetchBlob(ctx, h, dst)
					if err != nil {
						fail(err)
						continue
					}
					got.Add(n)
					step("pull-blob-downloaded")
				}
				o.Progress.Send(progress.Report{Phase: PhaseDownload, Done: done.Add(sizes[h]), Total: total})
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
	res.BytesReceived += got.Load()
	if first != nil {
		return first
	}
	return context.Cause(ctx)
}

// fetchBlob downloads blob object h, checks it and renames it to dst.
func (l *Library) fetchBlob(ctx context.Context, h wim.Hash, dst string) (int64, error) {
	part := dst + ".part"
	os.Remove(part)
	err := l.c.FGetObject(ctx, l.cfg.Bucket, l.key(blobKey(h)), part, minio.GetObjectOptions{})
	if isNotFound(err) {
		return 0, &BlobError{Library: l.cfg.URL(), Hash: h, Err: errors.New("the object is missing; publish the group again")}
	}
	if err != nil {
		return 0, l.wrap("downloading "+blobKey(h), err)
	}
	if err := checkBlobFile(ctx, part, h); err != nil {
		os.Remove(part)
		return 0, &BlobError{Library: l.cfg.URL(), Hash: h, Err: err}
	}
	fi, err := os.Stat(part)
	if err != nil {
		return 0, err
	}
	return fi.Size(), os.Rename(part, dst)
}

// checkBlobFile checks that file p is a resource-only WIM holding blob h
// alone, whose data has that SHA-1.
func checkBlobFile(ctx context.Context, p string, h wim.Hash) error {
	w, err := wim.Open(p, &wim.OpenOptions{NoSplitSearch: true})
	if err != nil {
		return err
	}
	defer w.Close()
	if w.ImageCount() != 0 {
		return fmt.Errorf("it holds %d images, not one blob", w.ImageCount())
	}
	n := 0
	for _, e := range w.Blobs() {
		if e.IsMetadata() {
			continue
		}
		if n++; e.Hash != h {
			return fmt.Errorf("it holds blob %s, not %s", e.Hash, h)
		}
	}
	if n != 1 {
		return fmt.Errorf("it holds %d blobs, not one", n)
	}
	return w.Verify(ctx, nil)
}

// commitBlobs appends the staged blobs hashes to group dest's Res.rwm, in
// batches of o.BatchBytes, each committed whole or not at all.
func commitBlobs(ctx context.Context, st *store.Store, dest, stage string, hashes []wim.Hash, sizes map[wim.Hash]int64, o PullOptions, res *PullResult) error {
	var total, done int64
	for _, h := range hashes {
		total += sizes[h]
	}
	codec, chunk := wim.Compression(-1), 0
	if rw, err := wim.Open(st.ResPath(dest), &wim.OpenOptions{NoSplitSearch: true}); err == nil {
		codec, chunk = rw.Header().Compression(), int(rw.Header().ChunkSize)
		rw.Close()
	}
	for start, nb := 0, 0; start < len(hashes); nb++ {
		end, size := start, int64(0)
		for end < len(hashes) && (end == start || size+sizes[hashes[end]] <= o.BatchBytes) {
			size += sizes[hashes[end]]
			end++
		}
		batch := filepath.Join(stage, fmt.Sprintf("batch-%d.wim", nb))
		if err := writeBatch(ctx, batch, stage, hashes[start:end], codec, chunk); err != nil {
			return err
		}
		base := done
		report := func(p progress.Report) {
			if p.Total > 0 {
				o.Progress.Send(progress.Report{Phase: PhaseCommit, Done: base + size*p.Done/p.Total, Total: total})
			}
		}
		n, err := st.ReceiveBlobs(ctx, dest, batch, report)
		if err != nil {
			return err
		}
		step("pull-batch-committed")
		res.BlobsReceived += n
		for _, h := range hashes[start:end] {
			os.Remove(stagedBlob(stage, h))
		}
		os.Remove(batch)
		done += size
		start = end
	}
	return nil
}

// writeBatch writes the staged blobs hashes into one resource-only WIM,
// batch, with codec and chunk (those of the group's Res.rwm; codec -1:
// the first blob's), copying their resources as stored.
func writeBatch(ctx context.Context, batch, stage string, hashes []wim.Hash, codec wim.Compression, chunk int) error {
	var w *wim.Writer
	for _, h := range hashes {
		bw, err := wim.Open(stagedBlob(stage, h), &wim.OpenOptions{NoSplitSearch: true})
		if err != nil {
			if w != nil {
				w.Abort()
			}
			return err
		}
		if w == nil {
			if codec < 0 {
				codec, chunk = bw.Header().Compression(), int(bw.Header().ChunkSize)
			}
			if w, err = wim.Create(batch, wim.WriteOptions{Compression: codec, ChunkSize: chunk, ResourceOnly: true, NoSync: true}); err != nil {
				bw.Close()
				return err
			}
		}
		err = w.CopyBlob(ctx, bw, h)
		if err == nil {
			err = w.Flush(false) // the raw copy reads bw: done before it closes
		}
		bw.Close()
		if err != nil {
			w.Abort()
			return err
		}
	}
	return w.Close()
}

// receiveImage downloads image im's metadata WIM and external data into
// stage, checks their SHA-1 and adds the image to group dest.
func (l *Library) receiveImage(ctx context.Context, st *store.Store, dest, stage string, im ManifestImage) error {
	dir := filepath.Join(stage, "image-"+im.File)
	os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	mh, _ := wim.ParseHash(im.Metadata)
	wimPath := filepath.Join(dir, im.File+".wim")
	if err := l.fetchChecked(ctx, imageKey(mh), mh, wimPath); err != nil {
		return err
	}
	data := ""
	if len(im.Data) > 0 {
		data = filepath.Join(dir, "data")
		for _, f := range im.Data {
			fh, _ := wim.ParseHash(f.SHA1)
			p := filepath.Join(data, filepath.FromSlash(f.Path))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return err
			}
			if err := l.fetchChecked(ctx, fileKey(fh), fh, p); err != nil {
				return err
			}
		}
	}
	_, err := st.ReceiveImage(ctx, dest, wimPath, store.ReceiveImageOptions{FileName: im.File, Data: data, Disabled: im.Disabled})
	return err
}

// fetchChecked downloads object k to p and checks that its bytes have
// SHA-1 h.
func (l *Library) fetchChecked(ctx context.Context, k string, h wim.Hash, p string) error {
	if err := l.c.FGetObject(ctx, l.cfg.Bucket, l.key(k), p, minio.GetObjectOptions{}); err != nil {
		if isNotFound(err) {
			return fmt.Errorf("library %s: %s is missing; publish the group again", l.cfg.URL(), k)
		}
		return l.wrap("downloading "+k, err)
	}
	got, _, err := hashFile(p)
	if err != nil {
		return err
	}
	if got != h {
		return fmt.Errorf("library %s: %s is damaged: its SHA-1 is %s; publish the group again", l.cfg.URL(), k, got)
	}
	return nil
}
