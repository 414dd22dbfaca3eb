package remote

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/wimconsole/wimconsole/engine/progress"
	"github.com/wimconsole/wimconsole/engine/store"
	"github.com/wimconsole/wimconsole/engine/wim"
)

// Progress phases of copying a group to another server.
const (
	PhaseCompare    = "comparing"
	PhaseSendBlobs  = "sending file data"
	PhaseSendImages = "sending images"
)

// DefaultBatchBytes is the uncompressed size of the file data sent, and
// committed by the destination, in one batch.
const DefaultBatchBytes = 256 << 20

// maxHashesPerRequest bounds the hashes of one missing-blobs request (the
// request must stay under MaxJSONBody).
const maxHashesPerRequest = 8192

// HashesRequest is the body of POST /api/v1/groups/{group}/missing: SHA-1
// digests in hexadecimal.
type HashesRequest struct {
	Hashes []string `json:"hashes"`
}

// MissingResponse answers POST /api/v1/groups/{group}/missing: those of the
// hashes the group's Res.rwm lacks.
type MissingResponse struct {
	Missing []string `json:"missing"`
}

// ReceiveBlobsResult answers POST /api/v1/groups/{group}/blobs.
type ReceiveBlobsResult struct {
	Added int `json:"added"`
}

// CopyToRequest is the body of POST /api/v1/groups/{group}/copy-to: the
// destination server the source server pushes the group to.
type CopyToRequest struct {
	URL         string `json:"url"`
	Token       string `json:"token"`
	Fingerprint string `json:"fingerprint,omitempty"`
	Group       string `json:"group,omitempty"` // the group's name there ("" the same)
	BatchBytes  int64  `json:"batch_bytes,omitempty"`
}

// imageState is the catalog state sent with an image (state.json of an
// image bundle).
type imageState struct {
	Disabled bool `json:"disabled,omitempty"`
}

// Entry names of an image bundle: a tar stream holding the image's
// metadata-only WIM file, its catalog state and its external data.
const (
	bundleWIM   = "image.wim"
	bundleState = "state.json"
	bundleData  = "data/"
)

// CopyOptions configure CopyGroup.
type CopyOptions struct {
	// BatchBytes is the uncompressed size of file data per batch
	// (0: DefaultBatchBytes). Each batch is committed by the destination
	// before the next is sent.
	BatchBytes int64
	// TempDir holds the batch files while they are sent ("": the
	// system's temporary folder).
	TempDir  string
	Progress progress.Func
}

// CopyResult says what a copy sent.
type CopyResult struct {
	Group     string   `json:"group"`             // the group on the destination
	Images    []string `json:"images"`            // images created there
	Skipped   []string `json:"skipped,omitempty"` // images it had already
	Blobs     int      `json:"blobs"`             // blobs the group's images use
	BlobsSent int      `json:"blobs_sent"`        // blobs sent and committed
	BytesSent int64    `json:"bytes_sent"`        // bytes of the committed batches
	Batches   int      `json:"batches"`
}

// srcImage is one image of the group being copied.
type srcImage struct {
	store.Image
	hashes []wim.Hash
}

// CopyGroup copies image group group of the local store st to the server
// of dest (whose token must be an admin's), as destGroup ("": the same
// name), sending only the file data the destination lacks. It asks the
// destination which of the group's blobs (by SHA-1) its group's Res.rwm
// lacks, sends those in batches (each a resource-only WIM, its data as
// stored when the codecs allow) that the destination commits one by one,
// then each image's metadata-only WIM with its external data and catalog
// state. Images the destination group has already (same file and image
// name) are skipped. After a broken connection, calling CopyGroup again
// resumes: committed batches are not sent again. On error the result says
// what was committed so far.
func CopyGroup(ctx context.Context, st *store.Store, group string, dest *Client, destGroup string, o CopyOptions) (*CopyResult, error) {
	if err := store.CheckGroupName(group); err != nil {
		return nil, err
	}
	if destGroup == "" {
		destGroup = group
	}
	if err := store.CheckGroupName(destGroup); err != nil {
		return nil, err
	}
	if o.BatchBytes <= 0 {
		o.BatchBytes = DefaultBatchBytes
	}
	res := &CopyResult{Group: destGroup, Images: []string{}}
	list, err := st.ListImages(ctx, store.ListOptions{Group: group, Type: store.TypeInstall, NoSpace: true})
	if err != nil {
		return nil, err
	}
	var imgs []*srcImage
	for _, im := range list {
		if strings.EqualFold(im.Group, group) {
			imgs = append(imgs, &srcImage{Image: im})
		}
	}
	if len(imgs) == 0 {
		if _, err := os.Stat(st.GroupDir(group)); err != nil {
			return nil, fmt.Errorf("image group %q does not exist", group)
		}
		return nil, fmt.Errorf("image group %q holds no image to copy", group)
	}
	group = imgs[0].Group
	sort.SliceStable(imgs, func(i, j int) bool { return imgs[i].DisplayOrder < imgs[j].DisplayOrder })

	// The blobs the images use, in first-use order.
	o.Progress.Send(progress.Report{Phase: PhaseCompare})
	var all []wim.Hash
	seen := map[wim.Hash]bool{}
	for _, im := range imgs {
		if im.hashes, err = imageHashes(st.ImagePath(store.ImageRef{Group: group, File: strings.TrimSuffix(im.File, ".wim")}), st.ResPath(group)); err != nil {
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
	missing, err := dest.MissingBlobs(ctx, destGroup, all)
	if err != nil {
		return nil, err
	}
	if len(missing) > 0 {
		if err := sendBlobs(ctx, st.ResPath(group), missing, dest, destGroup, o, res); err != nil {
			return res, err
		}
	}

	// The images, once the data they use is there.
	have := map[string]string{}
	there, err := dest.ListImages(ctx, store.ListOptions{Group: destGroup, Type: store.TypeInstall, NoSpace: true})
	if err != nil && !errors.Is(err, ErrNotFound) {
		return res, err
	}
	for _, im := range there {
		if strings.EqualFold(im.Group, destGroup) {
			have[strings.ToLower(im.File)] = im.Name
		}
	}
	for i, im := range imgs {
		o.Progress.Send(progress.Report{Phase: PhaseSendImages, Done: int64(i), Total: int64(len(imgs))})
		ref := destGroup + "/" + strings.TrimSuffix(im.File, ".wim")
		if name, ok := have[strings.ToLower(im.File)]; ok {
			if name != im.Name {
				return res, fmt.Errorf("group %s of %s already has %s holding another image (%q, not %q)", destGroup, dest.URL(), im.File, name, im.Name)
			}
			res.Skipped = append(res.Skipped, ref)
			continue
		}
		r, err := dest.sendImage(ctx, st, group, im, destGroup)
		if err != nil {
			return res, err
		}
		res.Images = append(res.Images, r)
	}
	o.Progress.Send(progress.Report{Phase: PhaseSendImages, Done: int64(len(imgs)), Total: int64(len(imgs))})
	return res, nil
}

// imageHashes lists the blobs image file name uses, in first-use order;
// res is its group's Res.rwm.
func imageHashes(name, res string) ([]wim.Hash, error) {
	o := &wim.OpenOptions{NoSplitSearch: true}
	if _, err := os.Stat(res); err == nil {
		o.Refs = []string{res}
	}
	w, err := wim.Open(name, o)
	if err != nil {
		return nil, err
	}
	defer w.Close()
	if w.ImageCount() != 1 {
		return nil, fmt.Errorf("%s: an image file holds one image; this one has %d", name, w.ImageCount())
	}
	img, err := w.Image(1)
	if err != nil {
		return nil, err
	}
	var out []wim.Hash
	seen := map[wim.Hash]bool{}
	add := func(h wim.Hash) {
		if !h.IsZero() && !seen[h] {
			seen[h] = true
			out = append(out, h)
		}
	}
	for h := range img.BlobRefs() {
		add(h)
	}
	return out, nil
}

// sendBlobs sends blobs hashes of Res.rwm resPath to dest in batches.
func sendBlobs(ctx context.Context, resPath string, hashes []wim.Hash, dest *Client, destGroup string, o CopyOptions, res *CopyResult) error {
	rw, err := wim.Open(resPath, &wim.OpenOptions{NoSplitSearch: true})
	if err != nil {
		return err
	}
	defer rw.Close()
	type blob struct {
		h    wim.Hash
		off  int64
		size int64
	}
	var blobs []blob
	var total int64
	for _, h := range hashes {
		e, ok := rw.Blob(h)
		if !ok {
			return fmt.Errorf("%s does not hold blob %s that an image of its group uses", resPath, h)
		}
		off := e.Res.Offset
		if e.Solid != nil {
			off = e.Solid.Res.Offset
		}
		blobs = append(blobs, blob{h, off, e.Size()})
		total += e.Size()
	}
	// In stored order, so that the source is read front to back.
	sort.SliceStable(blobs, func(i, j int) bool { return blobs[i].off < blobs[j].off })
	codec, chunk := rw.Header().Compression(), int(rw.Header().ChunkSize)
	if codec != wim.XPRESS && codec != wim.LZX || chunk != wim.DefaultChunkSize {
		codec, chunk = wim.LZX, wim.DefaultChunkSize
	}
	tmpDir, err := os.MkdirTemp(o.TempDir, "wimconsole-copy-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmpDir)
	var done int64
	for start := 0; start < len(blobs); {
		end, size := start, int64(0)
		for end < len(blobs) && (end == start || size+blobs[end].size <= o.BatchBytes) {
			size += blobs[end].size
			end++
		}
		batch := filepath.Join(tmpDir, fmt.Sprintf("batch-%d.wim", res.Batches+1))
		w, err := wim.Create(batch, wim.WriteOptions{Compression: codec, ChunkSize: chunk, ResourceOnly: true})
		if err != nil {
			return err
		}
		for _, b := range blobs[start:end] {
			if err := w.CopyBlob(ctx, rw, b.h); err != nil {
				w.Abort()
				return err
			}
		}
		if err := w.Close(); err != nil {
			return err
		}
		fi, err := os.Stat(batch)
		if err != nil {
			return err
		}
		base := done
		report := func(p progress.Report) {
			if p.Phase == PhaseUpload && p.Total > 0 {
				o.Progress.Send(progress.Report{Phase: PhaseSendBlobs, Done: base + size*p.Done/p.Total, Total: total})
			}
		}
		if _, err := dest.ReceiveBlobs(ctx, destGroup, batch, report); err != nil {
			return err
		}
		os.Remove(batch)
		res.Batches++
		res.BlobsSent += end - start
		res.BytesSent += fi.Size()
		done += size
		o.Progress.Send(progress.Report{Phase: PhaseSendBlobs, Done: done, Total: total})
		start = end
	}
	return nil
}

// MissingBlobs asks which of hashes group g's Res.rwm on the server lacks
// (all of them when the group does not exist there yet).
func (c *Client) MissingBlobs(ctx context.Context, g string, hashes []wim.Hash) ([]wim.Hash, error) {
	out := []wim.Hash{}
	for len(hashes) > 0 {
		n := min(len(hashes), maxHashesPerRequest)
		req := HashesRequest{Hashes: make([]string, n)}
		for i, h := range hashes[:n] {
			req.Hashes[i] = h.String()
		}
		hashes = hashes[n:]
		var resp MissingResponse
		if err := c.call(ctx, "POST", "groups/"+url.PathEscape(g)+"/missing", nil, req, &resp); err != nil {
			return nil, err
		}
		for _, s := range resp.Missing {
			h, err := wim.ParseHash(s)
			if err != nil {
				return nil, fmt.Errorf("server %s: bad answer to missing blobs: %w", c.base, err)
			}
			out = append(out, h)
		}
	}
	return out, nil
}

// ReceiveBlobs uploads batch, a resource-only WIM file, into group g's
// Res.rwm on the server (created with the group when missing), and returns
// how many blobs were added. The server commits the batch whole or not at
// all.
func (c *Client) ReceiveBlobs(ctx context.Context, g string, batch string, report progress.Func) (int, error) {
	var r ReceiveBlobsResult
	if err := c.upload(ctx, "POST", "groups/"+url.PathEscape(g)+"/blobs", url.Values{}, batch, report, &r); err != nil {
		return 0, err
	}
	return r.Added, nil
}

// sendImage sends image im of group g of st, as an image bundle, to group
// destGroup of the server, and returns the new image's reference.
func (c *Client) sendImage(ctx context.Context, st *store.Store, g string, im *srcImage, destGroup string) (string, error) {
	file := strings.TrimSuffix(im.File, ".wim")
	pr, pw := io.Pipe()
	go func() {
		pw.CloseWithError(writeBundle(pw, st.ImagePath(store.ImageRef{Group: g, File: file}),
			filepath.Join(st.GroupDir(g), file), imageState{Disabled: !im.Enabled}))
	}()
	defer pr.Close()
	var out RefsResponse
	err := c.long(ctx, "POST", "groups/"+url.PathEscape(destGroup)+"/images", url.Values{"file": {file}}, pr, -1, "application/x-tar", nil, &out)
	if err != nil {
		return "", err
	}
	if len(out.Images) != 1 {
		return "", fmt.Errorf("server %s: bad answer to receiving image %s", c.base, file)
	}
	return out.Images[0], nil
}

// writeBundle writes an image bundle: the image file, its state and the
// regular files and folders of its external-data folder dataDir.
func writeBundle(w io.Writer, imageFile, dataDir string, state imageState) error {
	tw := tar.NewWriter(w)
	addFile := func(name, src string) error {
		f, err := os.Open(src)
		if err != nil {
			return err
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil {
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Size: fi.Size(), Mode: 0o644, ModTime: fi.ModTime()}); err != nil {
			return err
		}
		_, err = io.Copy(tw, f)
		return err
	}
	if err := addFile(bundleWIM, imageFile); err != nil {
		return err
	}
	data, _ := json.Marshal(state)
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: bundleState, Size: int64(len(data)), Mode: 0o644}); err != nil {
		return err
	}
	if _, err := tw.Write(data); err != nil {
		return err
	}
	if fi, err := os.Stat(dataDir); err == nil && fi.IsDir() {
		err := filepath.WalkDir(dataDir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, err := filepath.Rel(dataDir, p)
			if err != nil || rel == "." {
				return err
			}
			name := bundleData + filepath.ToSlash(rel)
			switch {
			case d.IsDir():
				return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: 0o755})
			case d.Type().IsRegular():
				return addFile(name, p)
			}
			return nil // links and devices are not sent
		})
		if err != nil {
			return err
		}
	}
	return tw.Close()
}

// maxBundleEntries bounds the entries of an image bundle.
const maxBundleEntries = 1 << 16

// readBundle extracts an image bundle into dir (which exists, empty),
// refusing hostile names, links and more than limit bytes of files. It
// returns the image file, the external-data folder ("" when none) and the
// state.
func readBundle(r io.Reader, dir string, limit int64) (string, string, imageState, error) {
	var st imageState
	tr := tar.NewReader(r)
	var total int64
	gotWIM, gotState := false, false
	dataDir := filepath.Join(dir, "data")
	for n := 0; ; n++ {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", "", st, fmt.Errorf("image bundle: %w", err)
		}
		if n >= maxBundleEntries {
			return "", "", st, fmt.Errorf("image bundle: more than %d entries", maxBundleEntries)
		}
		name := h.Name
		switch {
		case name == bundleWIM || name == bundleState:
			if h.Typeflag != tar.TypeReg {
				return "", "", st, fmt.Errorf("image bundle: %s is not a regular file", name)
			}
		case strings.HasPrefix(name, bundleData):
			rel := strings.TrimSuffix(strings.TrimPrefix(name, bundleData), "/")
			if err := checkBundlePath(rel); err != nil {
				return "", "", st, err
			}
			p := filepath.Join(dataDir, filepath.FromSlash(rel))
			switch h.Typeflag {
			case tar.TypeDir:
				if err := os.MkdirAll(p, 0o755); err != nil {
					return "", "", st, err
				}
				continue
			case tar.TypeReg:
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					return "", "", st, err
				}
			default:
				return "", "", st, fmt.Errorf("image bundle: %s: only files and folders are accepted", name)
			}
		default:
			return "", "", st, fmt.Errorf("image bundle: unexpected entry %q", name)
		}
		if h.Size < 0 || h.Size > limit-total {
			return "", "", st, errf(http.StatusRequestEntityTooLarge, CodeTooLarge, "image bundle is larger than the limit of %d bytes", limit)
		}
		total += h.Size
		if name == bundleState {
			if h.Size > MaxJSONBody {
				return "", "", st, fmt.Errorf("image bundle: %s is too large", name)
			}
			data, err := io.ReadAll(tr)
			if err != nil {
				return "", "", st, fmt.Errorf("image bundle: %w", err)
			}
			if err := json.Unmarshal(data, &st); err != nil {
				return "", "", st, fmt.Errorf("image bundle: %s: %w", name, err)
			}
			gotState = true
			continue
		}
		p := filepath.Join(dir, bundleWIM)
		if name != bundleWIM {
			p = filepath.Join(dataDir, filepath.FromSlash(strings.TrimPrefix(name, bundleData)))
		} else {
			gotWIM = true
		}
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return "", "", st, fmt.Errorf("image bundle: %s: %w", name, err)
		}
		_, err = io.Copy(f, tr)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return "", "", st, fmt.Errorf("image bundle: %s: %w", name, err)
		}
	}
	if !gotWIM || !gotState {
		return "", "", st, errors.New("image bundle: incomplete (image file or state missing)")
	}
	if _, err := os.Stat(dataDir); err != nil {
		dataDir = ""
	}
	return filepath.Join(dir, bundleWIM), dataDir, st, nil
}

// checkBundlePath refuses a slash-separated relative path that could leave
// its folder or that some systems cannot store.
func checkBundlePath(rel string) error {
	if rel == "" || len(rel) > 1024 || path.Clean(rel) != rel || !filepath.IsLocal(filepath.FromSlash(rel)) ||
		strings.ContainsAny(rel, "\\:\x00") || strings.HasPrefix(rel, "../") || rel == ".." {
		return fmt.Errorf("%q: not a safe relative path", rel)
	}
	for _, c := range strings.Split(rel, "/") {
		if c == "." || c == ".." || c == "" {
			return fmt.Errorf("%q: not a safe relative path", rel)
		}
	}
	return nil
}

// CopyGroupTo has the server copy its image group group to the server of
// dest (see CopyGroup): the server pushes the group itself, with dest's
// address, token and trusted fingerprint, which this client sends it. Both
// tokens must be admins'.
func (c *Client) CopyGroupTo(ctx context.Context, group string, dest *Client, destGroup string, o CopyOptions) (*CopyResult, error) {
	req := CopyToRequest{URL: dest.URL(), Token: dest.o.Token, Fingerprint: dest.o.Fingerprint, Group: destGroup, BatchBytes: o.BatchBytes}
	data, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	var res CopyResult
	if err := c.long(ctx, "POST", "groups/"+url.PathEscape(group)+"/copy-to", nil, strings.NewReader(string(data)), int64(len(data)), "application/json", o.Progress, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// Handlers.

func (srv *Server) missingBlobs(w http.ResponseWriter, r *http.Request, tok Token) error {
	g, err := groupParam(r)
	if err != nil {
		return err
	}
	if err := needGroup(tok, g); err != nil {
		return err
	}
	var req HashesRequest
	if err := readJSON(r, w, &req); err != nil {
		return err
	}
	hashes := make([]wim.Hash, len(req.Hashes))
	for i, s := range req.Hashes {
		if hashes[i], err = wim.ParseHash(s); err != nil {
			return errf(http.StatusBadRequest, CodeBadRequest, "hash %d: %v", i, err)
		}
	}
	missing, err := srv.st.MissingBlobs(g, hashes)
	if err != nil {
		return err
	}
	resp := MissingResponse{Missing: make([]string, len(missing))}
	for i, h := range missing {
		resp.Missing[i] = h.String()
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

func (srv *Server) receiveBlobs(w http.ResponseWriter, r *http.Request, tok Token) error {
	g, err := groupParam(r)
	if err != nil {
		return err
	}
	if err := needGroup(tok, g); err != nil {
		return err
	}
	path, cleanup, err := srv.receive(w, r, "batch.wim", srv.o.MaxUpload)
	if err != nil {
		return err
	}
	defer cleanup()
	return srv.long(w, r, http.StatusOK, func(report progress.Func) (any, error) {
		n, err := srv.st.ReceiveBlobs(r.Context(), g, path, report)
		if err != nil {
			return nil, err
		}
		return ReceiveBlobsResult{Added: n}, nil
	})
}

func (srv *Server) receiveImage(w http.ResponseWriter, r *http.Request, tok Token) error {
	g, err := groupParam(r)
	if err != nil {
		return err
	}
	if err := needGroup(tok, g); err != nil {
		return err
	}
	file := r.URL.Query().Get("file")
	if err := store.CheckFileName(file); err != nil {
		return badRequest(err)
	}
	dir, err := os.MkdirTemp(filepath.Join(srv.st.Root(), store.ConsoleDir, uploadsDir), "img-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	body := http.MaxBytesReader(w, r.Body, srv.o.MaxUpload)
	wimPath, dataDir, state, err := readBundle(body, dir, srv.o.MaxUpload)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		var ae *apiError
		if errors.As(err, &ae) {
			return err
		}
		return badRequest(err)
	}
	return srv.long(w, r, http.StatusCreated, func(report progress.Func) (any, error) {
		ref, err := srv.st.ReceiveImage(r.Context(), g, wimPath, store.ReceiveImageOptions{
			FileName: file, Data: dataDir, Disabled: state.Disabled})
		if err != nil {
			return nil, err
		}
		return RefsResponse{Images: []string{ref.String()}}, nil
	})
}

func (srv *Server) copyTo(w http.ResponseWriter, r *http.Request, tok Token) error {
	g, err := groupParam(r)
	if err != nil {
		return err
	}
	if err := needGroup(tok, g); err != nil {
		return err
	}
	var req CopyToRequest
	if err := readJSON(r, w, &req); err != nil {
		return err
	}
	if req.Group != "" {
		if err := store.CheckGroupName(req.Group); err != nil {
			return badRequest(err)
		}
	}
	dest, err := NewClient(req.URL, ClientOptions{Token: req.Token, Fingerprint: req.Fingerprint})
	if err != nil {
		return badRequest(err)
	}
	return srv.long(w, r, http.StatusOK, func(report progress.Func) (any, error) {
		dir := filepath.Join(srv.st.Root(), store.ConsoleDir, uploadsDir)
		res, err := CopyGroup(r.Context(), srv.st, g, dest, req.Group, CopyOptions{BatchBytes: req.BatchBytes, TempDir: dir, Progress: report})
		if err != nil {
			return nil, fmt.Errorf("copying group %s to %s: %w", g, req.URL, err)
		}
		return res, nil
	})
}
