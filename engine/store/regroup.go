package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/wimconsole/wimconsole/engine/progress"
	"github.com/wimconsole/wimconsole/engine/wim"
)

// RegroupOptions configure Regroup.
type RegroupOptions struct {
	Into string // new name of the group ("" keeps its name)
	// Verify decompresses every blob of the new group and checks its
	// SHA-1 before the swap. Without it the new group is checked for
	// structure only: Res.rwm opens, and every image opens with it and
	// finds every blob its files need. The data itself is copied raw from
	// the old group, whose blobs were checked when they were added.
	Verify   bool
	Progress progress.Func
}

// RegroupResult gives the group's size (Res.rwm and image files) before and
// after.
type RegroupResult struct {
	Group       string `json:"group"`
	BytesBefore int64  `json:"bytes_before"`
	BytesAfter  int64  `json:"bytes_after"`
}

// Regroup rebuilds group g from its live images: a new Res.rwm holding only
// the data they use, their image files, external data (unattend, $OEM$,
// language packs: everything in the group folder) and catalog state carried
// over; the new group is checked (see RegroupOptions.Verify), then swapped
// in. The work is journaled:
// the new group is built in a hidden folder, the journal records when it
// is complete, and the swap is two renames that recovery finishes if the
// process dies between them. A crash before that leaves the old group as
// it was.
func (s *Store) Regroup(ctx context.Context, g string, o RegroupOptions) (*RegroupResult, error) {
	if err := s.needGroup(g); err != nil {
		return nil, err
	}
	into := o.Into
	if into == "" {
		into = g
	}
	if into != g {
		if err := CheckGroupName(into); err != nil {
			return nil, err
		}
		if ex, err := s.findGroup(into); err != nil {
			return nil, err
		} else if ex != "" && !strings.EqualFold(into, g) {
			return nil, fmt.Errorf("image group %q already exists", ex)
		}
	}
	op, err := s.begin(journalEntry{Op: "regroup", Locks: []string{groupKey(g), groupKey(into)}, Group: g, Into: into, State: "building"})
	if err != nil {
		return nil, err
	}
	op.e.Build = filepath.Join(ImagesDir, tempTag+op.e.ID+"-build")
	op.e.Old = filepath.Join(ImagesDir, tempTag+op.e.ID+"-old")
	if err := op.save(); err != nil {
		op.abandon()
		return nil, err
	}
	res := &RegroupResult{Group: into}
	files, err := s.groupFiles(g)
	if err != nil {
		op.abandon()
		return nil, err
	}
	for _, f := range files {
		if n, err := s.activeSessions(ImageRef{Group: g, File: f}); err != nil || n > 0 {
			op.abandon()
			if err == nil {
				err = fmt.Errorf("image %s/%s has %d active install session%s; regroup when they end", g, f, n, plural(n))
			}
			return nil, err
		}
	}
	res.BytesBefore = dirWIMBytes(s.GroupDir(g))
	build := filepath.Join(s.root, op.e.Build)
	if err := s.buildGroup(ctx, g, files, build, o.Verify, o.Progress); err != nil {
		op.abandon()
		return nil, err
	}
	step("regroup-built")
	if err := op.setState("built"); err != nil {
		op.abandon()
		return nil, err
	}
	step("regroup-committed")
	if err := s.finishRegroup(op.e); err != nil {
		op.abandon()
		return nil, err
	}
	res.BytesAfter = dirWIMBytes(s.GroupDir(into))
	return res, op.done()
}

// dirWIMBytes is the size of the WIM files (Res.rwm and images) in dir.
func dirWIMBytes(dir string) int64 {
	ents, _ := os.ReadDir(dir)
	var n int64
	for _, e := range ents {
		name := e.Name()
		if strings.HasPrefix(name, ".") || !(strings.HasSuffix(name, ".wim") || name == ResFile) {
			continue
		}
		if fi, err := e.Info(); err == nil && fi.Mode().IsRegular() {
			n += fi.Size()
		}
	}
	return n
}

// buildGroup writes the new group of g's images into build and checks it:
// every blob's data when verify is set, else its structure.
func (s *Store) buildGroup(ctx context.Context, g string, files []string, build string, verify bool, report progress.Func) error {
	if err := os.Mkdir(build, 0o755); err != nil {
		return err
	}
	var old []builtImage
	if len(files) > 0 {
		var err error
		if old, err = s.buildRes(ctx, g, files, build, report); err != nil {
			return err
		}
	}
	if err := s.copyGroupRest(g, build); err != nil {
		return err
	}
	// Check: the new Res.rwm's data when asked; that it holds every blob
	// of every image; that every image file opens there with the metadata
	// that was read from the old group.
	report.Send(progress.Report{Phase: PhaseVerify})
	if len(files) == 0 {
		return nil
	}
	return checkBuiltGroup(ctx, build, old, verify, report)
}

// builtImage is an image of a group being rebuilt as read from the old
// group: what the new group is checked against.
type builtImage struct {
	file  string
	needs []wim.Hash // the blobs it uses
	meta  wim.Hash   // its metadata resource's digest
}

// buildRes writes build's Res.rwm: the blobs the image files of group g
// use, copied from the old Res.rwm as stored.
func (s *Store) buildRes(ctx context.Context, g string, files []string, build string, report progress.Func) ([]builtImage, error) {
	// The old Res.rwm is opened once and shared by every image.
	rw, err := wim.Open(s.ResPath(g), &wim.OpenOptions{NoSplitSearch: true})
	if err != nil {
		return nil, err
	}
	defer rw.Close()
	h := rw.Header()
	c, chunk := h.Compression(), int(h.ChunkSize)
	if c != wim.XPRESS && c != wim.LZX {
		c, chunk = wim.LZX, wim.DefaultChunkSize
	}
	w, err := wim.Create(filepath.Join(build, ResFile), wim.WriteOptions{
		Compression: c, ChunkSize: chunk, ResourceOnly: true, Progress: phased(report, PhaseBuild)})
	if err != nil {
		return nil, err
	}
	// The sources stay open until the writer is closed: raw copies are
	// read from them by its pipeline.
	var srcs []*wim.WIM
	defer func() {
		for _, iw := range srcs {
			iw.Close()
		}
	}()
	out := make([]builtImage, len(files))
	for i, f := range files {
		out[i].file = f
		iw, err := s.openImageOn(ImageRef{Group: g, File: f}, rw)
		if err != nil {
			w.Abort()
			return nil, err
		}
		srcs = append(srcs, iw)
		var me wim.BlobEntry
		var img *wim.Image
		me, err = iw.MetadataEntry(1)
		if err == nil {
			out[i].meta = me.Hash
			img, err = iw.Image(1)
		}
		if err == nil {
			for d := range img.BlobRefs() {
				out[i].needs = append(out[i].needs, d)
			}
			err = w.CopyImageBlobs(ctx, iw, img)
		}
		if err != nil {
			w.Abort()
			return nil, err
		}
	}
	if err := w.CloseContext(ctx); err != nil {
		return nil, err
	}
	return out, nil
}

// copyGroupRest copies everything else of group g's folder into build:
// image files, their folders of external data, anything an administrator
// put there.
func (s *Store) copyGroupRest(g, build string) error {
	ents, err := os.ReadDir(s.GroupDir(g))
	if err != nil {
		return err
	}
	for _, e := range ents {
		n := e.Name()
		if n == ResFile || strings.HasPrefix(n, ".") {
			continue
		}
		if e.IsDir() || e.Type().IsRegular() {
			if err := copyTree(filepath.Join(s.GroupDir(g), n), filepath.Join(build, n)); err != nil {
				return err
			}
		}
	}
	syncDir(build)
	return nil
}

// checkBuiltGroup checks the group built in build against the images as
// read from the old group: its Res.rwm's data (when verify), that it holds
// every blob of every image, and that every image file opens there with
// the same metadata.
func checkBuiltGroup(ctx context.Context, build string, imgs []builtImage, verify bool, report progress.Func) error {
	nrw, err := wim.Open(filepath.Join(build, ResFile), &wim.OpenOptions{NoSplitSearch: true})
	if err != nil {
		return err
	}
	defer nrw.Close()
	if verify {
		if err := nrw.Verify(ctx, phased(report, PhaseVerify)); err != nil {
			return err
		}
	}
	for _, b := range imgs {
		for _, d := range b.needs {
			if _, ok := nrw.Blob(d); !ok {
				return fmt.Errorf("regroup: new group misses data of %s: blob %s", b.file, d)
			}
		}
		iw, err := wim.Open(filepath.Join(build, b.file+".wim"), &wim.OpenOptions{NoSplitSearch: true, Shared: []*wim.WIM{nrw}})
		if err != nil {
			return err
		}
		me, err := iw.MetadataEntry(1)
		iw.Close()
		if err != nil {
			return fmt.Errorf("regroup: new group's %s: %w", b.file, err)
		}
		if me.Hash != b.meta {
			return fmt.Errorf("regroup: new group's %s: metadata %s differs from the old group's %s", b.file, me.Hash, b.meta)
		}
	}
	return nil
}

// finishRegroup swaps the built group in; it is idempotent, so recovery
// can run it again after a crash at any point of it.
func (s *Store) finishRegroup(e journalEntry) error {
	build, old := filepath.Join(s.root, e.Build), filepath.Join(s.root, e.Old)
	gdir, idir := s.GroupDir(e.Group), s.GroupDir(e.Into)
	inPlace := e.Into == e.Group
	if exists(build) {
		if inPlace {
			if exists(gdir) {
				if err := os.Rename(gdir, old); err != nil {
					return err
				}
				step("regroup-old-moved")
			}
			if err := os.Rename(build, gdir); err != nil {
				return err
			}
		} else {
			if err := os.Rename(build, idir); err != nil {
				return err
			}
		}
		syncDir(filepath.Join(s.root, ImagesDir))
		step("regroup-new-moved")
	}
	if !inPlace {
		if exists(gdir) {
			if err := os.Rename(gdir, old); err != nil {
				return err
			}
		}
		if err := s.moveRecords(e.Group, e.Into); err != nil {
			return err
		}
	}
	return os.RemoveAll(old)
}

func (s *Store) settleRegroup(e journalEntry) error {
	if e.State == "built" {
		return s.finishRegroup(e)
	}
	// Not complete: roll back.
	if e.Build != "" {
		if err := os.RemoveAll(filepath.Join(s.root, e.Build)); err != nil {
			return err
		}
	}
	if e.Old != "" && exists(filepath.Join(s.root, e.Old)) && !exists(s.GroupDir(e.Group)) {
		return os.Rename(filepath.Join(s.root, e.Old), s.GroupDir(e.Group))
	}
	return nil
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return !errors.Is(err, os.ErrNotExist)
}
