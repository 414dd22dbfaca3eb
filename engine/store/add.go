package store

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/wimconsole/wimconsole/engine/progress"
	"github.com/wimconsole/wimconsole/engine/wim"
)

// DefaultGroup is the group add-image creates when none is named, as WDS
// names its first group.
const DefaultGroup = "ImageGroup1"

// Progress phases of store operations.
const (
	PhaseCheck  = "checking source"
	PhaseAdd    = "adding file data"
	PhaseVerify = "verifying"
	PhaseBuild  = "building group"
)

// AddOptions configure AddImage.
type AddOptions struct {
	Group       string // install images: the group ("" DefaultGroup), created when missing
	Boot        bool   // add boot images (standalone WIMs under Boot/<arch>/Images)
	Arch        string // boot images: architecture folder ("" from the image's XML)
	Indexes     []int  // images of the source (1-based); none means all
	Name        string // one image only: its name
	Description string
	FileName    string // one image only: the file name (without .wim)
	Unattend    string // path of an unattend file for the image(s)
	// SkipVerify skips checking the source's data against its digests
	// before it is stored (data copied as stored is then not checked).
	SkipVerify bool
	Progress   progress.Func
}

// groupCodec chooses the codec of a new group's Res.rwm from its first
// source: the source's own when it is XPRESS or LZX with 32 KiB chunks,
// so that the data is copied as stored, without recompressing; otherwise
// LZX, WDS's choice, with 32 KiB chunks, the only size Windows accepts.
func groupCodec(h wim.Header) (wim.Compression, int) {
	c := h.Compression()
	if (c == wim.XPRESS || c == wim.LZX) && h.ChunkSize == wim.DefaultChunkSize {
		return c, wim.DefaultChunkSize
	}
	return wim.LZX, wim.DefaultChunkSize
}

type plannedImage struct {
	index int
	img   *wim.Image
	// refs is what the add needs of the image when its metadata resource
	// is copied as stored: its blobs, not its tree (see readPlanned);
	// img is then nil.
	refs *wim.ImageRefs
	info wim.ImageInfo
	file string
	ref  ImageRef
}

// AddImage adds images of the WIM file src to the store and returns their
// references. For install images, the data goes into the group's Res.rwm
// (grown in place; data it holds already is not stored again, data
// compressed with its codec is copied as stored) and each image gets a
// metadata-only WIM file. One add is one transaction: every image of the
// source appears, or none does. The source's images are read and checked
// first (metadata, XML data, names); then Res.rwm grows, the image files
// are written under temporary names (in a new group, inside a hidden
// folder that becomes the group) and synced together, and one catalog
// transaction records the images and marks the journal entry committed:
// that is the commit point. The renames follow. (One image into an
// existing group is committed by the rename of its file, then one
// transaction records it and ends the entry: see commitRename.) A failure
// or a kill before the commit point leaves the store as it was: Res.rwm
// is cut back to its old size and header, the temporary files go, a new
// group does not appear (recovery does the same after a kill); after it,
// recovery finishes the renames (or writes the one image's record).
func (s *Store) AddImage(ctx context.Context, src string, o AddOptions) ([]ImageRef, error) {
	if err := s.writable(opWhat("add-image")); err != nil {
		return nil, err
	}
	if o.Boot {
		return s.addBoot(ctx, src, o)
	}
	if o.Group == "" {
		o.Group = DefaultGroup
	}
	if err := CheckGroupName(o.Group); err != nil {
		return nil, err
	}
	a := &addition{o: o}
	if o.Unattend != "" {
		var err error
		if a.unattend, err = readUnattend(o.Unattend); err != nil {
			return nil, err
		}
	}
	var err error
	a.sw, a.plan, err = openSourceInfo(src, o)
	if err != nil {
		return nil, err
	}
	defer a.sw.Close()
	// The images' metadata (what data they use) is read while the group
	// is locked and Res.rwm opened. A damaged one still changes nothing:
	// before Res.rwm grows, the add stops and rolls back.
	a.startReading()
	defer a.imagesRead()
	if err := s.beginAdd(ctx, a, src); err != nil {
		return nil, err
	}
	if err := s.writeAdd(ctx, a); err != nil {
		a.op.abandon()
		return nil, err
	}
	if a.byRename {
		if err := s.commitRename(a); err != nil {
			a.op.abandon()
			return nil, err
		}
		return []ImageRef{a.plan[0].ref}, nil
	}
	if err := s.commitAdd(a); err != nil {
		a.op.abandon()
		return nil, err
	}
	step("add-committed")
	if err := s.publishAdd(a.op.e); err != nil {
		// Recovery tries the renames again, now and at the next start.
		a.op.abandon()
		return nil, err
	}
	out := make([]ImageRef, len(a.plan))
	for i, p := range a.plan {
		out[i] = p.ref
	}
	return out, a.op.done()
}

// addition is an AddImage under way.
type addition struct {
	o        AddOptions
	unattend []byte // the unattend file every image gets, or nil
	sw       *wim.WIM
	plan     []*plannedImage
	op       *op
	newGroup bool
	// dir is where the files are written: the group's folder, or for a
	// new group a hidden folder that becomes it at the end.
	dir string
	// checkWhileAdding: the source's new data is checked against its
	// digests as it is appended to Res.rwm (else it was checked first).
	checkWhileAdding bool
	// byRename: one image into an existing group, committed by the
	// rename of its file (see commitRename).
	byRename bool
	recs     []imageRecord // the new images' records
	// read gives the outcome of reading the images' metadata (sw.Image),
	// which runs beside the preparations; readErr keeps it once taken.
	read    chan error
	readErr error
}

// user returns what p uses blobs through: its tree or its references.
func (p *plannedImage) user() wim.BlobUser {
	if p.img != nil {
		return p.img
	}
	return p.refs
}

// users returns what the images of plan use blobs through.
func users(plan []*plannedImage) []wim.BlobUser {
	u := make([]wim.BlobUser, len(plan))
	for i, p := range plan {
		u[i] = p.user()
	}
	return u
}

// startReading reads the images' metadata of a in a goroutine: their
// references alone where the group's files will take their metadata
// resources as stored (the codec a new group would have; see needTrees).
func (a *addition) startReading() {
	a.read = make(chan error, 1)
	codec, chunk := groupCodec(a.sw.Header())
	go func() {
		a.read <- wim.Guard(func() error { return readPlanned(a.sw, a.plan, codec, chunk) })
	}()
}

// readPlanned reads the images of plan from sw: the references of those
// whose metadata resources a file of codec and chunk size takes as stored
// (ImageRefs), the trees of the others.
func readPlanned(sw *wim.WIM, plan []*plannedImage, codec wim.Compression, chunk int) error {
	for _, p := range plan {
		if !sw.MetadataStoredAs(p.index, codec, chunk) {
			img, err := sw.Image(p.index)
			if err != nil {
				return err
			}
			p.img = img
			continue
		}
		refs, err := sw.ImageRefs(p.index)
		if err != nil {
			return err
		}
		p.refs = refs
	}
	return nil
}

// needTrees reads the trees of the images of plan read as references
// alone that w (the group's Res.rwm, whose codec and chunk size the image
// files get) cannot take as they are: their metadata resources are not
// copied as stored, or w is solid (the names order its data).
func needTrees(sw *wim.WIM, plan []*plannedImage, w *wim.Writer) error {
	for _, p := range plan {
		if p.img != nil || (!w.Solid() && sw.MetadataStoredAs(p.index, w.Compression(), w.ChunkSize())) {
			continue
		}
		img, err := sw.Image(p.index)
		if err != nil {
			return err
		}
		p.img, p.refs = img, nil
	}
	return nil
}

// imagesRead waits until the images' metadata is read (each plannedImage's
// img or refs set) and returns the error reading it, if any.
func (a *addition) imagesRead() error {
	if a.read != nil {
		a.readErr = <-a.read
		a.read = nil
	}
	return a.readErr
}

// beginAdd begins the journaled add-image operation of a under the
// group's lock: it names the images and checks the source's data (or
// decides to check it while adding). A refusal ends the operation and
// changes nothing. The journal entry is first saved by writeAdd, with the
// state that lets recovery roll back: nothing is written before it.
func (s *Store) beginAdd(ctx context.Context, a *addition, src string) error {
	op, err := s.lockOp(journalEntry{Op: "add-image", Locks: []string{groupKey(a.o.Group)}, Group: a.o.Group})
	if err != nil {
		return err
	}
	a.op = op
	if err := s.planAdd(ctx, a, src); err != nil {
		op.done()
		return err
	}
	return nil
}

// planAdd is beginAdd's work under the lock.
func (s *Store) planAdd(ctx context.Context, a *addition, src string) error {
	g, err := s.findGroup(a.o.Group)
	if err != nil {
		return err
	}
	a.newGroup = g == ""
	if !a.newGroup {
		a.o.Group = g
		a.op.e.Group = g
	}
	if err := s.planNames(ImageRef{Group: a.o.Group}, a.plan, a.o, strings.TrimSuffix(filepath.Base(src), filepath.Ext(src))); err != nil {
		return err
	}
	// The source's new data is checked against its digests before it
	// counts. Into an existing Res.rwm the check runs while the data is
	// appended (growRes), and a failure aborts the append; otherwise the
	// data is checked first.
	if !a.o.SkipVerify {
		if !a.newGroup && exists(s.ResPath(a.o.Group)) {
			a.checkWhileAdding = true
		} else if err := a.imagesRead(); err != nil {
			return err
		} else if err := checkSourceData(ctx, a.sw, "", a.plan, a.o.Progress); err != nil {
			return err
		}
	}
	a.dir = s.GroupDir(a.o.Group)
	if a.newGroup {
		a.op.e.Build = filepath.Join(ImagesDir, tempTag+a.op.e.ID+"-new-"+a.o.Group)
		a.dir = filepath.Join(s.root, a.op.e.Build)
	} else if err := a.op.recordRes(s.ResPath(a.o.Group)); err != nil {
		return err
	}
	for _, p := range a.plan {
		a.op.e.Files = append(a.op.e.Files, p.file)
	}
	a.byRename = !a.newGroup && len(a.plan) == 1
	return nil
}

// writeAdd writes an addition's files: the data appended to Res.rwm, then
// the image files and unattend files, synced together.
func (s *Store) writeAdd(ctx context.Context, a *addition) error {
	// From here on a rollback restores Res.rwm from what the entry says.
	// This is the entry's first save: recovery needs it from the first
	// write on (the new group's folder, Res.rwm's header flag), not before.
	a.op.e.State = addAdding
	if a.byRename {
		a.op.e.State = addAddingOne
	}
	if err := a.op.save(); err != nil {
		return err
	}
	if a.newGroup {
		if err := os.Mkdir(a.dir, 0o755); err != nil {
			return fmt.Errorf("creating image group %q: %w", a.o.Group, err)
		}
	}
	codec, chunk, err := a.growRes(ctx)
	if err != nil {
		return err
	}
	if err := stepErr("add-res-written"); err != nil {
		return err
	}
	written, err := s.writeAddImages(ctx, a, codec, chunk)
	if err != nil {
		return err
	}
	if a.byRename && len(written) == 1 {
		// The image file alone (no unattend file, no new folder): only
		// its data must be on disk before the rename that commits it.
		// Its temporary name need not be (a kill before the rename
		// loses the file, as the rollback would remove it), and the
		// rename is synced after it (commitRename).
		return syncFile(filepath.Join(a.dir, written[0]))
	}
	return syncFiles(a.dir, written)
}

// syncFile makes the data of file name durable.
func syncFile(name string) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("syncing %s: %w", name, err)
	}
	return nil
}

// growRes adds the data of a's images to the Res.rwm of a.dir and returns
// its codec and chunk size.
func (a *addition) growRes(ctx context.Context) (wim.Compression, int, error) {
	res := filepath.Join(a.dir, ResFile)
	w, err := openRes(res, a.sw, a.o.Progress)
	if err != nil {
		return 0, 0, err
	}
	if a.copyAheadOK(w) {
		codec, chunk, done, err := a.copyAhead(ctx, w)
		if done || err != nil {
			return codec, chunk, err
		}
		// The guess did not hold: Res.rwm is as it was; copy what the
		// images use.
		if w, err = openRes(res, a.sw, a.o.Progress); err != nil {
			return 0, 0, err
		}
	}
	if err := a.imagesRead(); err != nil {
		w.Abort()
		return 0, 0, err
	}
	if err := needTrees(a.sw, a.plan, w); err != nil {
		w.Abort()
		return 0, 0, err
	}
	return fillRes(ctx, w, a.sw, users(a.plan), a.checkWhileAdding, a.o.Progress)
}

// copyAheadOn lets tests turn copyAhead off, to compare.
var copyAheadOn = true

// copyAheadOK reports whether copyAhead may copy the source's data into w
// before the images' metadata is read: the source holds the one image
// added, alone (no split parts, no references), and its metadata is still
// being read (else there is nothing to overlap). Into a solid Res.rwm the
// images' trees order the data, so they come first.
func (a *addition) copyAheadOK(w *wim.Writer) bool {
	return copyAheadOn && a.read != nil && len(a.plan) == 1 && a.sw.ImageCount() == 1 &&
		len(a.sw.Refs()) == 0 && !w.Solid()
}

// copyAhead copies into w every blob the source's table gives (see
// wim.TableRefs) while the image's metadata is still being read: reading
// it (tens of milliseconds for an image of 40,000 files) then overlaps the
// copy instead of preceding it. Once it is read, the copy stands only if
// it added exactly the blobs the image needs (wim.Writer.CopiedFor), as
// it does for a file holding one image and its data: then w is closed,
// Res.rwm grown to the byte as copying what the image uses grows it, and
// the codec and chunk size are returned with true. Otherwise the append
// is aborted, leaving Res.rwm as it was, and the bool is false: the
// caller copies what the image uses. A failure of the copy itself is not
// reported here, for the blob that failed may be one the image does not
// use: the caller's copy meets it again if it is.
func (a *addition) copyAhead(ctx context.Context, w *wim.Writer) (wim.Compression, int, bool, error) {
	table := a.sw.TableRefs()
	copied := copyRes(ctx, w, a.sw, []wim.BlobUser{table}, a.checkWhileAdding, a.o.Progress)
	if err := a.imagesRead(); err != nil {
		if copied == nil {
			w.Abort()
		}
		return 0, 0, false, err
	}
	if copied != nil {
		if ctx.Err() != nil {
			return 0, 0, false, ctx.Err()
		}
		return 0, 0, false, nil
	}
	if err := needTrees(a.sw, a.plan, w); err != nil {
		w.Abort()
		return 0, 0, false, err
	}
	if !w.CopiedFor(table, users(a.plan)...) {
		step("add-copy-ahead-dropped")
		return 0, 0, false, w.Abort()
	}
	step("add-copied-ahead")
	if err := w.CloseContext(ctx); err != nil {
		return 0, 0, false, err
	}
	return w.Compression(), w.ChunkSize(), true, nil
}

// writeAddImages writes the image files (and unattend files) of an
// addition, unsynced: writeAdd syncs them together. It returns their names
// relative to a.dir and sets a.recs.
func (s *Store) writeAddImages(ctx context.Context, a *addition, codec wim.Compression, chunk int) ([]string, error) {
	rpfix := a.sw.Header().Flags&wim.FlagRPFix != 0
	var written []string
	a.recs = make([]imageRecord, len(a.plan))
	added := time.Now().UTC()
	for i, p := range a.plan {
		rec := imageRecord{Enabled: true, Added: added}
		if a.unattend != nil {
			rec.Unattend = p.file + "/Unattend/" + unattendFile
			rel := filepath.FromSlash(rec.Unattend)
			if err := os.MkdirAll(filepath.Join(a.dir, p.file, "Unattend"), 0o755); err != nil {
				return written, err
			}
			if err := os.WriteFile(filepath.Join(a.dir, rel), a.unattend, 0o644); err != nil {
				return written, fmt.Errorf("writing %s: %w", filepath.Join(a.dir, rel), err)
			}
			written = append(written, rel)
		}
		name := addTempName(a.op.e.ID, p.file)
		if a.newGroup {
			name = p.file + ".wim"
		}
		if err := writeImageFile(ctx, imageFile{name: filepath.Join(a.dir, name), src: a.sw, index: p.index, img: p.img, refs: p.refs, info: p.info, codec: codec, chunk: chunk, rpfix: rpfix, noSync: true}); err != nil {
			return written, err
		}
		written = append(written, name)
		a.recs[i] = rec
		if err := stepErr("add-image-written"); err != nil {
			return written, err
		}
	}
	return written, nil
}

// commitAdd is an addition's commit point: the images' records and the
// journal's "committed", in one transaction.
func (s *Store) commitAdd(a *addition) error {
	if a.newGroup {
		// Made by hand meanwhile (every operation of the store takes the
		// group's lock): the new group cannot take its place.
		if g, err := s.findGroup(a.o.Group); err != nil {
			return err
		} else if g != "" {
			return fmt.Errorf("image group %q appeared in %s while the images were added; nothing was added", g, filepath.Join(s.root, ImagesDir))
		}
	}
	if err := stepErr("add-committing"); err != nil {
		return err
	}
	committed := a.op.e
	committed.State = addCommitted
	err := s.update(func(tx *bolt.Tx) error {
		if err := a.putRecords(tx); err != nil {
			return err
		}
		return putJSON(tx, bucketJournal, []byte(committed.ID), committed)
	})
	if err != nil {
		return err
	}
	a.op.e = committed
	return nil
}

// putRecords writes the records of the new images, in display order after
// the group's last image.
func (a *addition) putRecords(tx *bolt.Tx) error {
	order, err := lastOrder(tx, a.o.Group+"/")
	if err != nil {
		return err
	}
	for i, p := range a.plan {
		a.recs[i].DisplayOrder = order + 1 + i
		if err := putJSON(tx, bucketImages, p.ref.key(), a.recs[i]); err != nil {
			return err
		}
	}
	return nil
}

// commitRename commits an addition of one image into an existing group:
// the rename of its image file, atomic, is the commit point (with more
// images, or a new group, commitAdd's transaction is, since renames of
// many files are not atomic). Then one catalog transaction writes the
// image's record and removes the journal entry, where commitAdd and
// op.done take two: a transaction costs two flushes of the catalog. A
// kill between the rename and the transaction leaves an entry whose file
// is in place: recovery writes the record (settleAdd).
func (s *Store) commitRename(a *addition) error {
	if err := stepErr("add-committing"); err != nil {
		return err
	}
	p := a.plan[0]
	if err := os.Rename(filepath.Join(a.dir, addTempName(a.op.e.ID, p.file)), filepath.Join(a.dir, p.file+".wim")); err != nil {
		return fmt.Errorf("adding image %s/%s: %w", a.o.Group, p.file, err)
	}
	// The rename is on disk before the entry that would roll it back
	// goes.
	syncDir(a.dir)
	step("add-image-renamed")
	if err := s.update(func(tx *bolt.Tx) error {
		if err := a.putRecords(tx); err != nil {
			return err
		}
		return deleteKey(tx, bucketJournal, []byte(a.op.e.ID))
	}); err != nil {
		return err
	}
	a.op.saved = false // the entry is gone: done only unlocks
	return a.op.done()
}

// States of an add-image journal entry. Entries without a state were
// written by earlier versions, which committed image by image.
const (
	addAdding    = "adding"    // before the commit point: roll back
	addCommitted = "committed" // records written: finish the renames
	// addAddingOne: one image into an existing group (commitRename): its
	// file in place is the commit, then recovery writes its record;
	// otherwise roll back.
	addAddingOne = "adding-one"
)

// addTempName is the temporary name of image file f of add-image id, in
// the group's folder until the commit.
func addTempName(id, f string) string { return tempTag + id + "-" + f + ".wim" }

// recordRes notes in o's entry the size and header of Res.rwm as they are
// before the operation grows it (nothing when it does not exist yet), so
// that a rollback restores it to the byte.
func (o *op) recordRes(res string) error {
	f, err := os.Open(res)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	hdr := make([]byte, wim.HeaderSize)
	if _, err := f.ReadAt(hdr, 0); err != nil {
		return fmt.Errorf("%s: reading its header: %w", res, err)
	}
	o.e.ResSize, o.e.ResHeader = st.Size(), hdr
	return nil
}

// lastOrder returns the highest display order of the records whose keys
// start with prefix.
func lastOrder(tx *bolt.Tx, prefix string) (int, error) {
	b := tx.Bucket(bucketImages)
	if b == nil {
		return 0, nil
	}
	m := 0
	c := b.Cursor()
	for k, v := c.Seek([]byte(prefix)); k != nil && strings.HasPrefix(string(k), prefix); k, v = c.Next() {
		var rec imageRecord
		if json.Unmarshal(v, &rec) == nil && rec.DisplayOrder > m {
			m = rec.DisplayOrder
		}
	}
	return m, nil
}

// publishAdd makes the images of a committed add-image visible: the new
// group's folder takes its name, or each temporary image file its own.
// What was published already is skipped, so recovery can run it again.
func (s *Store) publishAdd(e journalEntry) error {
	if e.Build != "" {
		stage := filepath.Join(s.root, e.Build)
		if _, err := os.Stat(stage); errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if g, err := s.findGroup(e.Group); err != nil {
			return err
		} else if g != "" {
			return fmt.Errorf("image group %q cannot be created: %s exists; move it away and open the store again", e.Group, s.GroupDir(g))
		}
		if err := os.Rename(stage, s.GroupDir(e.Group)); err != nil {
			return fmt.Errorf("creating image group %q: %w", e.Group, err)
		}
		syncDir(filepath.Join(s.root, ImagesDir))
		return nil
	}
	dir := s.GroupDir(e.Group)
	for i, f := range e.Files {
		err := os.Rename(filepath.Join(dir, addTempName(e.ID, f)), filepath.Join(dir, f+".wim"))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("adding image %s/%s: %w", e.Group, f, err)
		}
		if i == 0 {
			step("add-image-renamed")
		}
	}
	syncDir(dir)
	return nil
}

// openSource opens src and reads the images asked for: a damaged source
// fails here, before anything is written.
func (s *Store) openSource(src string, o AddOptions) (*wim.WIM, []*plannedImage, error) {
	sw, plan, err := openSourceInfo(src, o)
	if err != nil {
		return nil, nil, err
	}
	if err := readImages(sw, plan); err != nil {
		sw.Close()
		return nil, nil, err
	}
	return sw, plan, nil
}

// readImages reads the images of plan from sw (their metadata).
func readImages(sw *wim.WIM, plan []*plannedImage) error {
	for _, p := range plan {
		img, err := sw.Image(p.index)
		if err != nil {
			return err
		}
		p.img = img
	}
	return nil
}

// openSourceInfo is openSource but for the images' metadata, which it
// leaves unread (each plannedImage's img nil): it opens src and checks the
// images asked for and their XML data.
func openSourceInfo(src string, o AddOptions) (*wim.WIM, []*plannedImage, error) {
	sw, err := wim.Open(src, nil)
	if err != nil {
		return nil, nil, err
	}
	idx := o.Indexes
	if len(idx) == 0 {
		for i := 1; i <= sw.ImageCount(); i++ {
			idx = append(idx, i)
		}
	}
	if len(idx) == 0 {
		sw.Close()
		return nil, nil, fmt.Errorf("%s holds no image", src)
	}
	if len(idx) > 1 && (o.Name != "" || o.FileName != "") {
		sw.Close()
		return nil, nil, fmt.Errorf("a name or file name applies to one image; %s has %d (choose one with --index)", src, len(idx))
	}
	seen := map[int]bool{}
	var plan []*plannedImage
	for _, i := range idx {
		if i < 1 || i > sw.ImageCount() {
			sw.Close()
			return nil, nil, fmt.Errorf("%s has no image %d (it has %d)", src, i, sw.ImageCount())
		}
		if seen[i] {
			sw.Close()
			return nil, nil, fmt.Errorf("image %d given twice", i)
		}
		seen[i] = true
		info := *sw.XML().Image(i)
		if o.Name != "" {
			info.Name = o.Name
			if info.DisplayName != "" {
				info.DisplayName = o.Name
			}
		}
		if o.Description != "" {
			info.Description = o.Description
			if info.DisplayDescription != "" {
				info.DisplayDescription = o.Description
			}
		}
		if info.Name == "" {
			info.Name = fmt.Sprintf("%s (%d)", strings.TrimSuffix(filepath.Base(src), filepath.Ext(src)), i)
		}
		// The XML data the image's file will carry: text XML cannot hold
		// (an unpaired surrogate in the source's UTF-16) is refused now,
		// before anything is written.
		if _, err := (&wim.Info{Images: []wim.ImageInfo{info}}).Marshal(); err != nil {
			sw.Close()
			return nil, nil, fmt.Errorf("%s image %d: its XML data cannot be stored: %w", src, i, err)
		}
		plan = append(plan, &plannedImage{index: i, info: info})
	}
	return sw, plan, nil
}

// planNames picks the file names of the new images in the folder of dir
// (a ref with Group or Arch set) and checks that their names are free.
// WDS names the images of one source install.wim, install-(2).wim, ...
func (s *Store) planNames(dir ImageRef, plan []*plannedImage, o AddOptions, srcBase string) error {
	folder := s.imageDir(dir)
	existing, err := wimFiles(folder)
	if err != nil {
		return err
	}
	taken := map[string]bool{}
	names := map[string]string{}
	for _, f := range existing {
		taken[strings.ToLower(f)] = true
		r := dir
		r.File = f
		if fa, err := readFacts(s.ImagePath(r)); err == nil {
			names[strings.ToLower(fa.Name)] = r.String()
		}
	}
	free := func(f string) bool {
		if taken[strings.ToLower(f)] {
			return false
		}
		_, err := os.Lstat(filepath.Join(folder, f))
		return errors.Is(err, os.ErrNotExist)
	}
	if CheckFileName(srcBase) != nil {
		srcBase = "install"
	}
	next := 1
	for _, p := range plan {
		if other, ok := names[strings.ToLower(p.info.Name)]; ok {
			return fmt.Errorf("image %s is already named %q; give another name", other, p.info.Name)
		}
		names[strings.ToLower(p.info.Name)] = "(new)"
		if o.FileName != "" {
			f := fileBase(o.FileName)
			if err := CheckFileName(f); err != nil {
				return err
			}
			if !free(f) {
				return fmt.Errorf("%s already has a file or folder named %q", folder, f)
			}
			p.file = f
		} else {
			// Numbers below next are taken: many images do not search
			// from 1 each.
			for k := next; ; k++ {
				f := srcBase
				if k > 1 {
					f = fmt.Sprintf("%s-(%d)", srcBase, k)
				}
				if free(f) {
					p.file = f
					next = k + 1
					break
				}
			}
		}
		taken[strings.ToLower(p.file)] = true
		p.ref = dir
		p.ref.File = p.file
	}
	return nil
}

// checkSourceData reads every blob the images use that res ("": none) does
// not hold, checking it against its digest.
func checkSourceData(ctx context.Context, sw *wim.WIM, res string, plan []*plannedImage, report progress.Func) error {
	have := map[wim.Hash]bool{}
	if res != "" {
		if rw, err := wim.Open(res, &wim.OpenOptions{NoSplitSearch: true}); err == nil {
			for _, e := range rw.Blobs() {
				have[e.Hash] = true
			}
			rw.Close()
		}
	}
	hashes, total := newBlobs(func(h wim.Hash) bool { return have[h] }, users(plan))
	return checkBlobs(ctx, sw, hashes, total, report)
}

// newBlobs returns the blobs imgs use that have says are held already,
// each once, and their total size.
func newBlobs(have func(wim.Hash) bool, imgs []wim.BlobUser) ([]wim.Hash, int64) {
	var hashes []wim.Hash
	var total int64
	seen := map[wim.Hash]bool{}
	for _, img := range imgs {
		for h, size := range img.BlobRefs() {
			if !seen[h] && !have(h) {
				seen[h] = true
				hashes = append(hashes, h)
				total += size
			}
		}
	}
	return hashes, total
}

// checkBatchBytes is about how much data (uncompressed) one batch of
// checkBlobs holds: small enough that the workers share the work evenly,
// large enough that each batch's read is mostly decompressing.
var checkBatchBytes int64 = 4 << 20

// checkBatches splits hashes (blobs of sw) into batches to check in
// parallel, each of blobs stored together, in the order the data is
// stored; the blobs of one solid resource stay in one batch, so that it is
// decompressed once. It returns nil when a blob is not found (ReadBlobs
// then says which).
func checkBatches(sw *wim.WIM, hashes []wim.Hash) [][]wim.Hash {
	type loc struct {
		h    wim.Hash
		off  int64 // of its resource
		size int64
		// key groups the blobs of one solid resource
		key *wim.SolidResource
	}
	locs := make([]loc, 0, len(hashes))
	for _, h := range hashes {
		e, ok := sw.Blob(h)
		if !ok {
			return nil
		}
		l := loc{h: h, off: e.Res.Offset, size: e.Size()}
		if e.Solid != nil {
			l.off, l.key = e.Solid.Res.Offset, e.Solid
		}
		locs = append(locs, l)
	}
	slices.SortStableFunc(locs, func(a, b loc) int { return cmp.Compare(a.off, b.off) })
	var batches [][]wim.Hash
	var cur []wim.Hash
	var n int64
	for i, l := range locs {
		// A batch ends on a full measure, never inside a solid resource.
		if n >= checkBatchBytes && (l.key == nil || l.key != locs[i-1].key) {
			batches = append(batches, cur)
			cur, n = nil, 0
		}
		cur = append(cur, l.h)
		n += l.size
	}
	if len(cur) > 0 {
		batches = append(batches, cur)
	}
	return batches
}

// checkBlobs reads the blobs hashes of sw, checking each against its
// digest, and reports progress against total bytes. The batches of
// checkBatches are shared out to a worker per core; the error is that of
// the first damaged blob in the order the data is stored, as when one
// goroutine reads them all: after a failure, the batches before it are
// still read, those after it are not started.
func checkBlobs(ctx context.Context, sw *wim.WIM, hashes []wim.Hash, total int64, report progress.Func) error {
	var done atomic.Int64
	read := func(hashes []wim.Hash) error {
		return sw.ReadBlobs(ctx, hashes, func(e wim.BlobEntry, r io.Reader) error {
			n, err := io.Copy(io.Discard, r)
			report.Send(progress.Report{Phase: PhaseCheck, Done: done.Add(n), Total: total})
			return err
		})
	}
	batches := checkBatches(sw, hashes)
	workers := min(runtime.GOMAXPROCS(0), len(batches))
	if workers < 2 {
		return read(hashes)
	}
	errs := make([]error, len(batches))
	var next atomic.Int64
	var firstBad atomic.Int64 // the lowest failed batch, len(batches) for none
	firstBad.Store(int64(len(batches)))
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := next.Add(1) - 1
				if i >= firstBad.Load() {
					return
				}
				if err := wim.Guard(func() error { return read(batches[i]) }); err != nil {
					errs[i] = err
					for bad := firstBad.Load(); i < bad && !firstBad.CompareAndSwap(bad, i); bad = firstBad.Load() {
					}
				}
			}
		}()
	}
	wg.Wait()
	if i := firstBad.Load(); i < int64(len(batches)) {
		return errs[i]
	}
	return ctx.Err()
}

// growRes adds the data of imgs (images of src) to group g's Res.rwm:
// see growResAt.
func (s *Store) growRes(ctx context.Context, g string, src *wim.WIM, imgs []wim.BlobUser, check bool, report progress.Func) (wim.Compression, int, error) {
	return s.growResAt(ctx, s.ResPath(g), src, imgs, check, report)
}

// growResAt adds the data of imgs (images of src) to the Res.rwm res,
// creating it when missing, and returns its codec. With check, the data new
// to Res.rwm is read from src and checked against its digests while it is
// appended; a failure aborts the append, leaving Res.rwm as it was.
func (s *Store) growResAt(ctx context.Context, res string, src *wim.WIM, imgs []wim.BlobUser, check bool, report progress.Func) (wim.Compression, int, error) {
	w, err := openRes(res, src, report)
	if err != nil {
		return 0, 0, err
	}
	return fillRes(ctx, w, src, imgs, check, report)
}

// openRes opens the Res.rwm res to grow it, or creates it (with the codec
// groupCodec chooses for src) when missing.
func openRes(res string, src *wim.WIM, report progress.Func) (*wim.Writer, error) {
	// The add waits for Res.rwm's sync before its commit: the new data
	// goes to the disk while it is copied, not all at that sync.
	wo := wim.WriteOptions{Progress: phased(report, PhaseAdd), StartWriteback: true}
	if _, err := os.Stat(res); err == nil {
		return wim.OpenAppend(res, wo)
	}
	wo.Compression, wo.ChunkSize = groupCodec(src.Header())
	wo.ResourceOnly = true
	return wim.Create(res, wo)
}

// fillRes is growResAt's work once Res.rwm is open in w: it adds the data
// of imgs, checking it with check, and closes w (aborts it on failure).
func fillRes(ctx context.Context, w *wim.Writer, src *wim.WIM, imgs []wim.BlobUser, check bool, report progress.Func) (wim.Compression, int, error) {
	codec, chunk := w.Compression(), w.ChunkSize()
	if err := copyRes(ctx, w, src, imgs, check, report); err != nil {
		return 0, 0, err
	}
	if err := w.CloseContext(ctx); err != nil {
		return 0, 0, err
	}
	return codec, chunk, nil
}

// copyRes is fillRes but for closing w: it adds the data of imgs to w,
// checking it with check, and aborts w on failure.
func copyRes(ctx context.Context, w *wim.Writer, src *wim.WIM, imgs []wim.BlobUser, check bool, report progress.Func) error {
	var err error
	checked := func() error { return nil }
	if check {
		// What to check is what the writer does not hold yet, taken
		// before the copy adds to it.
		hashes, total := newBlobs(w.HasBlob, imgs)
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		result := make(chan error, 1)
		go func() {
			result <- wim.Guard(func() error { return checkBlobs(cctx, src, hashes, total, report) })
		}()
		checked = func() error { return <-result }
	}
	err = w.CopyBlobsOf(ctx, src, imgs...)
	if err == nil && check {
		// The copied data goes to disk while the check runs, not after
		// it: Close then syncs only the new tables before the header.
		// (Unchecked data on disk past the old end changes nothing: the
		// old header does not reference it, and a failure cuts it off.)
		err = w.Flush(true)
	}
	// The check's error, when there is one, says best what is wrong with
	// the source (file, offset, blob).
	if cerr := checked(); cerr != nil {
		err = cerr
	}
	if err != nil {
		w.Abort()
		return err
	}
	return nil
}

// phased renames the phase of reports.
func phased(f progress.Func, phase string) progress.Func {
	if f == nil {
		return nil
	}
	return func(r progress.Report) {
		if r.Phase == wim.PhaseWrite {
			r.Phase = phase
		}
		f(r)
	}
}

// imageFile is a new metadata-only WIM file holding one image, as
// writeImageFile writes it.
type imageFile struct {
	name string // the file, created
	// src, when set, holds img as its image index, unchanged: the metadata
	// resource is then copied as stored when the codecs match (compressing
	// an image's metadata costs more than everything else an add-image
	// does with blobs already in the group).
	src   *wim.WIM
	index int
	img   *wim.Image
	// refs, when set instead of img, is what ImageRefs read of the image:
	// its metadata resource must then be copied as stored.
	refs *wim.ImageRefs
	info wim.ImageInfo
	// The file's compression, chunk size and RP_FIX flag.
	codec wim.Compression
	chunk int
	rpfix bool
	// noSync leaves the syncing of the file and its folder to the caller.
	noSync bool
}

// writeImageFile writes f.img as the only image of the new metadata-only
// WIM file f.name (temporary file, synced, renamed).
func writeImageFile(ctx context.Context, f imageFile) error {
	w, err := wim.Create(f.name, wim.WriteOptions{Compression: f.codec, ChunkSize: f.chunk, MetadataOnly: true, RPFix: f.rpfix, NoSync: f.noSync})
	if err != nil {
		return err
	}
	if f.refs != nil {
		_, err = w.AddImageRefs(ctx, f.src, f.refs, f.info)
	} else if f.src != nil {
		_, err = w.AddImageFrom(ctx, f.src, f.index, f.img, f.info)
	} else {
		_, err = w.AddImage(ctx, f.img, f.info)
	}
	if err != nil {
		w.Abort()
		return err
	}
	return w.Close()
}

// nextOrder returns the display order after the last image of r's folder.
func (s *Store) nextOrder(r ImageRef) (int, error) {
	dir := r
	dir.File = ""
	prefix := dir.String()
	m := 0
	err := s.view(func(tx *bolt.Tx) error {
		recs, err := imageRecords(tx)
		for k, rec := range recs {
			if strings.HasPrefix(k, prefix) && rec.DisplayOrder > m {
				m = rec.DisplayOrder
			}
		}
		return err
	})
	return m + 1, err
}

// addBoot adds boot images: each a standalone WIM under Boot/<arch>/Images.
func (s *Store) addBoot(ctx context.Context, src string, o AddOptions) ([]ImageRef, error) {
	sw, plan, err := s.openSource(src, o)
	if err != nil {
		return nil, err
	}
	defer sw.Close()
	if !o.SkipVerify {
		if err := checkSourceData(ctx, sw, "", plan, o.Progress); err != nil {
			return nil, err
		}
	}
	var out []ImageRef
	for _, p := range plan {
		arch := o.Arch
		if arch == "" {
			if p.info.Windows == nil {
				return out, fmt.Errorf("%s image %d: its architecture is not recorded; name it", src, p.index)
			}
			arch = archName(p.info.Windows.Arch)
		}
		if err := checkComponent("architecture", arch); err != nil {
			return out, err
		}
		op, err := s.begin(journalEntry{Op: "add-image", Locks: []string{archKey(arch)}, Arch: arch})
		if err != nil {
			return out, err
		}
		dir := ImageRef{Boot: true, Arch: arch}
		if err := os.MkdirAll(s.BootImagesDir(arch), 0o755); err != nil {
			op.done()
			return out, err
		}
		one := []*plannedImage{p}
		if err := s.planNames(dir, one, o, strings.TrimSuffix(filepath.Base(src), filepath.Ext(src))); err != nil {
			op.done()
			return out, err
		}
		op.e.Files = []string{p.file}
		if err := op.save(); err != nil {
			op.abandon()
			return out, err
		}
		_, err = wim.Export(ctx, sw, []int{p.index}, s.ImagePath(p.ref), wim.ExportOptions{
			Name: p.info.Name, Description: p.info.Description, Boot: true, Progress: phased(o.Progress, PhaseAdd)})
		if err != nil {
			op.abandon()
			return out, err
		}
		step("boot-image-written")
		order, err := s.nextOrder(p.ref)
		if err == nil {
			err = s.putRecord(p.ref, imageRecord{Enabled: true, DisplayOrder: order, Added: time.Now().UTC()})
		}
		if err != nil {
			op.abandon()
			return out, err
		}
		out = append(out, p.ref)
		if err := op.done(); err != nil {
			return out, err
		}
	}
	return out, nil
}
