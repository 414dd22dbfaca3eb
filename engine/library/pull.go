package library

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"

	"github.com/minio/minio-go/v7"

	"github.com/wimconsole/wimconsole/engine/progress"
	"github.com/wimconsole/wimconsole/engine/store"
	"github.com/wimconsole/wimconsole/engine/wim"
	"golang.org/x/sync/errgroup"
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
	Updated       []string `json:"updated,omitempty"` // images replaced: changed in the library
	Skipped       []string `json:"skipped,omitempty"` // images the group had, unchanged
	Blobs         int      `json:"blobs"`             // blobs the group's images use
	BlobsReceived int      `json:"blobs_received"`    // blobs added to Res.rwm
	// BlobsDownloaded is how many blob objects this pull downloaded (a
	// resumed pull does not download again those an earlier one kept).
	BlobsDownloaded int   `json:"blobs_downloaded"`
	BytesReceived   int64 `json:"bytes_received"` // bytes of the blob objects downloaded
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
// store's group lacks are downloaded in parallel, each checked once as it
// arrives (a resource-only WIM holding that one blob, whose data has that
// SHA-1) and written into a batch of the stage; only once all are there
// are the batches appended to Res.rwm as every append is (blobs, table,
// header last). Then the images the group lacks are added with their
// external data and state, and those the library changed since are
// replaced (see updateImage). A blob object that is not what its name
// says stops the pull before the store changes. A pull cut short resumes:
// the batches it closed under WdsConsole/library-pull are checked again
// and kept, what was committed is not fetched again.
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
	have := map[string]store.Image{}
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
			have[strings.ToLower(strings.TrimSuffix(im.File, ".wim"))] = im
		}
	}
	for _, im := range m.Images {
		if local, ok := have[strings.ToLower(im.File)]; ok && local.Name != im.Name {
			return nil, fmt.Errorf("group %s of store %s already has %s.wim holding another image (%q, not %q): if the library's image is that one renamed, rename it here too (set-image --name) and pull again; otherwise pull with --as NEWGROUP, or remove that image first", dest, st.Root(), im.File, local.Name, im.Name)
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
	if len(missing) > 0 {
		if err := l.pullBlobs(ctx, st, dest, stage, missing, sizes, o, res); err != nil {
			return res, err
		}
	}

	for i, im := range m.Images {
		o.Progress.Send(progress.Report{Phase: PhaseReceive, Done: int64(i), Total: int64(len(m.Images))})
		ref := dest + "/" + im.File
		if local, ok := have[strings.ToLower(im.File)]; ok {
			changed, err := l.updateImage(ctx, st, dest, stage, strings.TrimSuffix(local.File, ".wim"), im)
			if err != nil {
				return res, err
			}
			if changed {
				step("pull-image-received")
				res.Updated = append(res.Updated, ref)
			} else {
				res.Skipped = append(res.Skipped, ref)
			}
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

// pullBlobs brings the blobs missing into group dest's Res.rwm: those
// the batches an earlier pull left in stage hold (checked again) and the
// others downloaded and checked into new batches; then, only once all are
// there, every batch is committed.
func (l *Library) pullBlobs(ctx context.Context, st *store.Store, dest, stage string, missing []wim.Hash, sizes map[wim.Hash]int64, o PullOptions, res *PullResult) error {
	if err := os.MkdirAll(stage, 0o755); err != nil {
		return err
	}
	kept, next, err := keptBatches(ctx, stage)
	if err != nil {
		return err
	}
	need := make(map[wim.Hash]bool, len(missing))
	for _, h := range missing {
		need[h] = true
	}
	var batches []stagedBatch
	staged := map[wim.Hash]bool{}
	for _, b := range kept {
		useful := false
		for _, h := range b.hashes {
			if need[h] {
				useful, staged[h] = true, true
			}
		}
		if useful {
			batches = append(batches, b)
		} else {
			os.Remove(b.path)
		}
	}
	var fetch []wim.Hash
	for _, h := range missing {
		if !staged[h] {
			fetch = append(fetch, h)
		}
	}
	if len(fetch) > 0 {
		codec, chunk := wim.Compression(-1), 0
		if rw, err := wim.Open(st.ResPath(dest), &wim.OpenOptions{NoSplitSearch: true}); err == nil {
			codec, chunk = rw.Header().Compression(), int(rw.Header().ChunkSize)
			rw.Close()
		}
		more, err := l.downloadBlobs(ctx, stage, next, fetch, sizes, codec, chunk, o, res)
		if err != nil {
			return fmt.Errorf("%w (the pull stopped before changing store %s)", err, st.Root())
		}
		batches = append(batches, more...)
	}
	return commitBlobs(ctx, st, dest, batches, o, res)
}

// A pull's stage holds batches: resource-only WIM files named
// batch-NNNNNN.wim, each closed whole, holding blobs whose objects were
// downloaded and checked; each is committed to Res.rwm as one append.

// stageBatchBytes is the size of blob objects after which a batch being
// written is closed (kept by a pull cut short), whatever BatchBytes says.
const stageBatchBytes = 64 << 20

// memBlobBytes is the size up to which a blob object is downloaded and
// checked in memory; a larger one goes through a file of the stage.
var memBlobBytes int64 = 16 << 20

// batchName is the path of batch n of stage.
func batchName(stage string, n int) string {
	return filepath.Join(stage, fmt.Sprintf("batch-%06d.wim", n))
}

// stagedBatch is a batch of the stage and the blobs it holds.
type stagedBatch struct {
	path   string
	hashes []wim.Hash
	size   int64 // uncompressed bytes
}

// keptBatches returns the batches an earlier pull left in stage, in
// order, after checking them again (this process trusts no byte it did not
// check itself): a batch that does not read, or whose blobs are not what
// its table says, is removed and its blobs are downloaded again; so are
// files of the stage that are not batches (a batch being written when the
// pull stopped, a large object being downloaded).
func keptBatches(ctx context.Context, stage string) ([]stagedBatch, int, error) {
	ents, err := os.ReadDir(stage)
	if err != nil {
		return nil, 0, err
	}
	var out []stagedBatch
	next := 0
	for _, e := range ents {
		var n int
		p := filepath.Join(stage, e.Name())
		if _, err := fmt.Sscanf(e.Name(), "batch-%06d.wim", &n); err != nil || e.Name() != filepath.Base(batchName(stage, n)) || !e.Type().IsRegular() {
			os.RemoveAll(p)
			continue
		}
		b, err := checkBatch(ctx, p)
		if err != nil {
			if ctx.Err() != nil {
				return nil, 0, ctx.Err()
			}
			os.Remove(p)
			continue
		}
		out = append(out, b)
		next = max(next, n+1)
	}
	return out, next, nil
}

// checkBatch reads batch p and checks every blob of it.
func checkBatch(ctx context.Context, p string) (stagedBatch, error) {
	bw, err := wim.Open(p, &wim.OpenOptions{NoSplitSearch: true})
	if err != nil {
		return stagedBatch{}, err
	}
	defer bw.Close()
	if bw.ImageCount() != 0 {
		return stagedBatch{}, fmt.Errorf("%s holds images", p)
	}
	if err := bw.Verify(ctx, nil); err != nil {
		return stagedBatch{}, err
	}
	b := stagedBatch{path: p}
	for _, e := range bw.Blobs() {
		if !e.IsMetadata() {
			b.hashes = append(b.hashes, e.Hash)
			b.size += e.Size()
		}
	}
	return b, nil
}

// checkedBlob is a blob object downloaded and checked, waiting to be
// written into a batch.
type checkedBlob struct {
	h      wim.Hash
	w      *wim.WIM // the object, in memory or in file
	file   string   // the object's file in the stage, or "" when in memory
	size   int64    // uncompressed bytes
	stored int64    // bytes of the object
}

// downloadBlobs downloads the blobs hashes, several at once, checking each
// one as it comes (a resource-only WIM holding that one blob, whose data
// has that SHA-1), and writes them, as stored, into new batches of stage
// (numbered from next on) through one writer. It returns the batches
// written, whole, even when it fails: what they hold was checked and is
// kept for the next pull.
func (l *Library) downloadBlobs(ctx context.Context, stage string, next int, hashes []wim.Hash, sizes map[wim.Hash]int64, codec wim.Compression, chunk int, o PullOptions, res *PullResult) ([]stagedBatch, error) {
	var total int64
	for _, h := range hashes {
		total += sizes[h]
	}
	wctx := context.WithoutCancel(ctx)
	// The writer's failure stops the downloads too (cancel); a download's
	// failure stops the others (errgroup).
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	g, gctx := errgroup.WithContext(ctx)
	work := make(chan wim.Hash)
	checked := make(chan checkedBlob, 2*l.workers())
	var got, gotN atomic.Int64
	o.Progress.Send(progress.Report{Phase: PhaseDownload, Done: 0, Total: total})
	g.Go(feed(gctx, work, hashes))
	for range min(l.workers(), len(hashes)) {
		g.Go(func() error {
			for h := range work {
				if gctx.Err() != nil {
					return nil
				}
				b, err := l.fetchBlob(gctx, stage, h)
				if err != nil {
					return err
				}
				got.Add(b.stored)
				gotN.Add(1)
				b.size = sizes[h]
				step("pull-blob-checked")
				checked <- b
			}
			return nil
		})
	}
	var gerr error // read once checked is closed
	go func() {
		gerr = g.Wait()
		close(checked)
	}()

	// The one writer: batches closed at o.BatchBytes of data or
	// stageBatchBytes of objects.
	var (
		batches []stagedBatch
		cur     *wim.Writer
		cb      stagedBatch
		objects int64
		done    int64
		werr    error
	)
	closeBatch := func() error {
		if cur == nil {
			return nil
		}
		w := cur
		cur = nil
		if err := w.Close(); err != nil {
			return err
		}
		batches = append(batches, cb)
		for range cb.hashes {
			step("pull-blob-downloaded")
		}
		return nil
	}
	for b := range checked {
		if werr == nil {
			werr = func() error {
				if cur == nil {
					if codec < 0 {
						codec, chunk = b.w.Header().Compression(), int(b.w.Header().ChunkSize)
					}
					w, err := wim.Create(batchName(stage, next), wim.WriteOptions{Compression: codec, ChunkSize: chunk, ResourceOnly: true, NoSync: true})
					if err != nil {
						return err
					}
					cur, cb, objects = w, stagedBatch{path: batchName(stage, next)}, 0
					next++
				}
				// The raw copy reads the object later, from memory; one
				// in a file is read before that file goes. Copying
				// what was checked goes on when the pull is cancelled
				// (it is a local write of one blob): the batch is then
				// closed and kept.
				if err := cur.CopyBlob(wctx, b.w, b.h); err != nil {
					return err
				}
				if b.file != "" {
					err := cur.Flush(false)
					b.w.Close()
					os.Remove(b.file)
					if err != nil {
						return err
					}
				}
				cb.hashes = append(cb.hashes, b.h)
				cb.size += b.size
				objects += b.stored
				done += b.size
				o.Progress.Send(progress.Report{Phase: PhaseDownload, Done: done, Total: total})
				if cb.size >= o.BatchBytes || objects >= stageBatchBytes {
					return closeBatch()
				}
				return nil
			}()
			if werr != nil {
				cancel(werr)
			}
		} else if b.file != "" {
			b.w.Close()
			os.Remove(b.file)
		}
	}
	if cur != nil {
		if werr == nil {
			werr = closeBatch()
		} else {
			cur.Abort()
		}
	}
	res.BytesReceived += got.Load()
	res.BlobsDownloaded += int(gotN.Load())
	if gerr != nil {
		return batches, gerr
	}
	if werr != nil {
		return batches, werr
	}
	return batches, context.Cause(ctx)
}

// fetchBlob downloads blob object h and checks it: in memory up to
// memBlobBytes, through a file of stage above.
func (l *Library) fetchBlob(ctx context.Context, stage string, h wim.Hash) (checkedBlob, error) {
	b := checkedBlob{h: h}
	fail := func(err error) (checkedBlob, error) {
		if b.file != "" {
			if b.w != nil {
				b.w.Close()
			}
			os.Remove(b.file)
		}
		if ctx.Err() != nil {
			return checkedBlob{}, context.Cause(ctx)
		}
		return checkedBlob{}, err
	}
	core := minio.Core{Client: l.c}
	rc, info, _, err := core.GetObject(ctx, l.cfg.Bucket, l.key(blobKey(h)), minio.GetObjectOptions{})
	if isNotFound(err) {
		return fail(&BlobError{Library: l.cfg.URL(), Hash: h, Err: errors.New("the object is missing; publish the group again")})
	}
	if err != nil {
		return fail(l.wrap("downloading "+blobKey(h), err))
	}
	defer rc.Close()
	b.stored = info.Size
	if info.Size >= 0 && info.Size <= memBlobBytes {
		data := make([]byte, info.Size)
		if _, err := io.ReadFull(rc, data); err != nil {
			return fail(l.wrap("downloading "+blobKey(h), err))
		}
		if b.w, err = wim.NewReader(bytes.NewReader(data), info.Size, &wim.OpenOptions{Name: "object " + blobKey(h)}); err != nil {
			return fail(&BlobError{Library: l.cfg.URL(), Hash: h, Err: err})
		}
	} else {
		b.file = filepath.Join(stage, "object-"+h.String())
		f, err := os.Create(b.file)
		if err != nil {
			return fail(err)
		}
		n, err := io.Copy(f, rc)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fail(l.wrap("downloading "+blobKey(h), err))
		}
		b.stored = n
		if b.w, err = wim.Open(b.file, &wim.OpenOptions{NoSplitSearch: true}); err != nil {
			return fail(&BlobError{Library: l.cfg.URL(), Hash: h, Err: err})
		}
	}
	if err := checkBlob(ctx, b.w, h); err != nil {
		return fail(&BlobError{Library: l.cfg.URL(), Hash: h, Err: err})
	}
	return b, nil
}

// checkBlob checks that bw is a resource-only WIM holding blob h alone,
// whose data has that SHA-1.
func checkBlob(ctx context.Context, bw *wim.WIM, h wim.Hash) error {
	if bw.ImageCount() != 0 {
		return fmt.Errorf("it holds %d images, not one blob", bw.ImageCount())
	}
	n := 0
	for _, e := range bw.Blobs() {
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
	if err := ctx.Err(); err != nil {
		return err
	}
	rc, err := bw.OpenBlob(h)
	if err != nil {
		return err
	}
	defer rc.Close()
	// The reader checks the SHA-1 at the end.
	_, err = io.Copy(io.Discard, rc)
	return err
}

// commitBlobs appends the batches to group dest's Res.rwm, in order, each
// committed whole or not at all; each batch is removed once committed.
func commitBlobs(ctx context.Context, st *store.Store, dest string, batches []stagedBatch, o PullOptions, res *PullResult) error {
	var total, done int64
	for _, b := range batches {
		total += b.size
	}
	for _, b := range batches {
		base, size := done, b.size
		report := func(p progress.Report) {
			if p.Total > 0 {
				o.Progress.Send(progress.Report{Phase: PhaseCommit, Done: base + size*p.Done/p.Total, Total: total})
			}
		}
		// Every blob of the batch was checked by this process: as it
		// was downloaded, or (a batch an earlier pull left) when the
		// pull started.
		n, err := st.ReceiveBlobsWith(ctx, dest, b.path, store.ReceiveBlobsOptions{Progress: report, Checked: true})
		if err != nil {
			return err
		}
		step("pull-batch-committed")
		res.BlobsReceived += n
		os.Remove(b.path)
		done += size
	}
	return nil
}

// updateImage brings image file of group dest, which the library's image
// im has the same file and name as, up to date with im: when it holds
// another image than im's metadata WIM (see sameImage) or its external
// data differs from im's,
// it is replaced as replace-image replaces an image, crash-safe, keeping
// its catalog state; its external data is made im's. It says whether the
// image changed.
func (l *Library) updateImage(ctx context.Context, st *store.Store, dest, stage, file string, im ManifestImage) (bool, error) {
	local := &localImage{file: file}
	if err := describeImage(st, dest, local); err != nil {
		return false, err
	}
	dataSame := sameData(local.data, im.Data)
	mh, _ := wim.ParseHash(im.Metadata)
	dir := filepath.Join(stage, "image-"+im.File)
	os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return false, err
	}
	defer os.RemoveAll(dir)
	wimPath := filepath.Join(dir, im.File+".wim")
	imagePath := st.ImagePath(store.ImageRef{Group: dest, File: file})
	metaSame := local.meta == mh || knownSame(st, local.meta, mh)
	if metaSame && dataSame {
		return false, nil
	}
	if err := l.fetchChecked(ctx, imageKey(mh), mh, wimPath); err != nil {
		return false, err
	}
	if !metaSame {
		same, err := sameImage(imagePath, wimPath)
		if err != nil {
			return false, err
		}
		if same {
			recordSame(st, imagePath, wimPath, mh)
		}
		if metaSame = same; metaSame && dataSame {
			return false, nil
		}
	}
	data := ""
	if !dataSame && len(im.Data) > 0 {
		data = filepath.Join(dir, "data")
		if err := l.fetchData(ctx, data, im); err != nil {
			return false, err
		}
	}
	if _, err := st.ReceiveImage(ctx, dest, wimPath, store.ReceiveImageOptions{FileName: file, Data: data, Replace: true, ReplaceData: !dataSame}); err != nil {
		return false, err
	}
	recordSame(st, imagePath, wimPath, mh)
	return true, nil
}

// sameData says whether the external data files a and b are the same.
func sameData(a, b []ManifestFile) bool {
	if len(a) != len(b) {
		return false
	}
	m := make(map[string]string, len(a))
	for _, f := range a {
		m[f.Path] = strings.ToLower(f.SHA1)
	}
	for _, f := range b {
		if h, ok := m[f.Path]; !ok || h != strings.ToLower(f.SHA1) {
			return false
		}
	}
	return true
}

// sameImage says whether image files a and b hold the same image: the
// same metadata (its SHA-1, whatever its compression) and the same name,
// description and flags. The store writes every image file it receives
// anew (its own GUID, its group's codec), so the bytes differ.
func sameImage(a, b string) (bool, error) {
	type facts struct {
		meta []wim.Hash
		info wim.ImageInfo
	}
	read := func(p string) (facts, error) {
		w, err := wim.Open(p, &wim.OpenOptions{NoSplitSearch: true})
		if err != nil {
			return facts{}, err
		}
		defer w.Close()
		var f facts
		for _, e := range w.Blobs() {
			if e.IsMetadata() {
				f.meta = append(f.meta, e.Hash)
			}
		}
		if w.ImageCount() == 1 {
			f.info = *w.XML().Image(1)
		}
		return f, nil
	}
	fa, err := read(a)
	if err != nil {
		return false, err
	}
	fb, err := read(b)
	if err != nil {
		return false, err
	}
	if len(fa.meta) != 1 || len(fb.meta) != 1 || fa.meta[0] != fb.meta[0] {
		return false, nil
	}
	ia, ib := fa.info, fb.info
	return ia.Name == ib.Name && ia.Description == ib.Description && ia.DisplayName == ib.DisplayName &&
		ia.DisplayDescription == ib.DisplayDescription && ia.Flags == ib.Flags, nil
}

// sameFile is where a store keeps which of its image files (by the SHA-1
// of their bytes) hold the same image as which library image files (see
// sameImage), so that a pull need not download an unchanged image's file
// again to compare it.
func sameFile(st *store.Store) string {
	return filepath.Join(st.Root(), store.ConsoleDir, PullDir, "same-images.json")
}

// knownSame says whether image file local (its bytes' SHA-1) was found to
// hold the same image as library image file lib.
func knownSame(st *store.Store, local, lib wim.Hash) bool {
	data, err := os.ReadFile(sameFile(st))
	if err != nil {
		return false
	}
	m := map[string]string{}
	if json.Unmarshal(data, &m) != nil {
		return false
	}
	return m[local.String()] == lib.String()
}

// recordSame records that image file p of st holds the same image as
// library image file lib (downloaded at libPath), after checking it. It
// is a cache: a failure to record costs a download next time.
func recordSame(st *store.Store, p, libPath string, lib wim.Hash) {
	if ok, err := sameImage(p, libPath); err != nil || !ok {
		return
	}
	local, _, err := hashFile(p)
	if err != nil {
		return
	}
	m := map[string]string{}
	if data, err := os.ReadFile(sameFile(st)); err == nil {
		json.Unmarshal(data, &m)
	}
	if len(m) >= 10000 {
		m = map[string]string{}
	}
	m[local.String()] = lib.String()
	data, err := json.Marshal(m)
	if err != nil {
		return
	}
	if os.MkdirAll(filepath.Dir(sameFile(st)), 0o755) != nil {
		return
	}
	tmp := sameFile(st) + fmt.Sprintf(".%d.tmp", os.Getpid())
	if os.WriteFile(tmp, data, 0o644) == nil {
		if os.Rename(tmp, sameFile(st)) != nil {
			os.Remove(tmp)
		}
	}
}

// fetchData downloads image im's external data files into folder data,
// each checked against its SHA-1.
func (l *Library) fetchData(ctx context.Context, data string, im ManifestImage) error {
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
	return nil
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
		if err := l.fetchData(ctx, data, im); err != nil {
			return err
		}
	}
	r, err := st.ReceiveImage(ctx, dest, wimPath, store.ReceiveImageOptions{FileName: im.File, Data: data, Disabled: im.Disabled})
	if err == nil {
		recordSame(st, st.ImagePath(r), wimPath, mh)
	}
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
