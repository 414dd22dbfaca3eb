package store

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/wimconsole/wimconsole/engine/progress"
	"github.com/wimconsole/wimconsole/engine/wim"
)

// CommitOptions configure CommitImage.
type CommitOptions struct {
	// NewFile, when set, commits the tree as a new image of r's group
	// under this file name (without .wim), with a copy of r's external
	// data and catalog state, instead of replacing r.
	NewFile string
	// Name and Description of the committed image; default: r's (for a
	// new image, r's name with " (serviced)").
	Name, Description string
	// Unattend, when not nil, becomes the image's ImageUnattend.xml,
	// committed with the image.
	Unattend []byte
	// By says who commits, in an administrator's words ("servicing
	// session 1f2e…, mounted at /srv/mnt"): recorded with the image, it
	// names the change when a commit based on the older image is refused.
	By       string
	Progress progress.Func
}

// ImageVersion identifies the state of an image's WIM file: its size and
// modification time, and the SHA-1 of its metadata resource (which tells
// two same-sized files apart on file systems with coarse times). Every
// change to the image replaces or rewrites the file, so a different
// version means a changed image.
type ImageVersion struct {
	Size  int64  `json:"size"`
	Mtime int64  `json:"mtime"`          // nanoseconds since 1970
	Meta  string `json:"meta,omitempty"` // hex SHA-1 of image 1's metadata resource
}

// Same reports whether v and o are the same version of an image. A version
// without its metadata hash (recorded before there was one) is compared by
// size and time alone.
func (v ImageVersion) Same(o ImageVersion) bool {
	return v.Size == o.Size && v.Mtime == o.Mtime && (v.Meta == "" || o.Meta == "" || v.Meta == o.Meta)
}

// ImageVersion returns the current version of image r's file.
func (s *Store) ImageVersion(r ImageRef) (ImageVersion, error) {
	name := s.ImagePath(r)
	for try := 0; ; try++ {
		st, err := os.Stat(name)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return ImageVersion{}, fmt.Errorf("image %s does not exist", r)
			}
			return ImageVersion{}, err
		}
		w, err := wim.Open(name, &wim.OpenOptions{NoSplitSearch: true})
		if err != nil {
			return ImageVersion{}, err
		}
		e, err := w.MetadataEntry(1)
		w.Close()
		if err != nil {
			return ImageVersion{}, err
		}
		// The file read must be the one measured: when it was replaced
		// meanwhile, measure again.
		st2, err := os.Stat(name)
		if err == nil && os.SameFile(st, st2) && st.Size() == st2.Size() && st.ModTime().Equal(st2.ModTime()) {
			return ImageVersion{Size: st.Size(), Mtime: st.ModTime().UnixNano(), Meta: hex.EncodeToString(e.Hash[:])}, nil
		}
		if try == 2 {
			return ImageVersion{}, fmt.Errorf("image %s: %s keeps changing while it is read; try again", r, name)
		}
	}
}

// ErrStale is returned (wrapped in a *StaleError) when a commit is based on
// a version of the image that is no longer current.
var ErrStale = errors.New("changed since the session began")

// StaleError refuses a commit whose base version of the image is no longer
// current: committing it would undo the change made meanwhile. Nothing was
// changed; the caller's changes are still its own to discard or redo.
type StaleError struct {
	Image ImageRef
	By    string    // who made the current version, when the store knows
	At    time.Time // when
}

func (e *StaleError) Error() string {
	by := ""
	if e.By != "" {
		by = " (by " + e.By
		if !e.At.IsZero() {
			by += ", at " + e.At.Local().Format("2006-01-02 15:04:05")
		}
		by += ")"
	}
	return fmt.Sprintf("image %s %v%s: committing would undo that change, so nothing was committed; discard the session and begin again", e.Image, ErrStale, by)
}

func (e *StaleError) Unwrap() error { return ErrStale }

// stateReady marks a commit-image journal entry whose temporary files are
// complete: recovery finishes it if the image file was renamed into place.
const stateReady = "ready"

// CommitImage commits img, a changed tree of image r (as servicing makes
// it), and returns the image committed. base is the version of r the tree
// was made from (see ImageVersion): it is compared with r's current version
// under the group's lock, and when r changed meanwhile the commit is refused
// with a *StaleError (ErrStale) and changes nothing, so that no change is
// lost to a commit that could not include it. write adds the data img uses
// that r's file does not hold to w: for an install image w is the group's
// Res.rwm open for append (only new data is written to it); for a boot image
// it is a new standalone WIM, to which the rest of the data is then copied
// as stored. The metadata is written to a temporary file, synced, and
// renamed over r's file (r must be disabled and have no install sessions)
// or, with o.NewFile, to a new image file of the group. The operation is
// journaled: a crash leaves r either as it was or wholly committed.
func (s *Store) CommitImage(ctx context.Context, r ImageRef, base ImageVersion, img *wim.Image, write func(ctx context.Context, w *wim.Writer) error, o CommitOptions) (ImageRef, error) {
	if o.NewFile != "" && r.Boot {
		return ImageRef{}, errors.New("a boot image can only be committed in place")
	}
	if o.Unattend != nil && r.Boot {
		return ImageRef{}, errors.New("boot images have no unattend file")
	}
	dest := r
	e := journalEntry{Op: "commit-image", Locks: []string{r.lockKey()}, Group: r.Group, Arch: r.Arch, File: r.File, By: o.By}
	if o.NewFile != "" {
		dest.File = fileBase(o.NewFile)
		if err := CheckFileName(dest.File); err != nil {
			return ImageRef{}, err
		}
		e.Files = []string{dest.File}
	}
	// From here on r is read under its group's lock: the version checked is
	// the version replaced.
	op, err := s.begin(e)
	if err != nil {
		return ImageRef{}, err
	}
	refuse := func(err error) (ImageRef, error) {
		op.done()
		return ImageRef{}, err
	}
	step("commit-locked")
	if err := s.checkBase(r, base); err != nil {
		return refuse(err)
	}
	rec, err := s.record(r)
	if err != nil {
		return refuse(err)
	}
	if o.NewFile == "" && rec.Enabled {
		return refuse(fmt.Errorf("image %s is enabled: disable it before committing changes to it", r))
	}
	old, err := s.openImage(r)
	if err != nil {
		return refuse(err)
	}
	defer old.Close()
	info := *old.XML().Image(1)
	info.Modified = time.Time{}
	h := old.Header()
	if o.NewFile != "" {
		info.Created = time.Time{}
		if o.Name == "" {
			o.Name = info.Name + " (serviced)"
		}
	}
	if o.Name != "" && o.Name != info.Name {
		if err := s.checkNameFree(dest, o.Name); err != nil {
			return refuse(err)
		}
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
	fail := func(err error) (ImageRef, error) {
		op.abandon()
		return ImageRef{}, err
	}
	if o.NewFile == "" {
		if n, err := s.activeSessions(r); err != nil || n > 0 {
			if err == nil {
				err = fmt.Errorf("image %s has %d active install session%s; wait for them to end", r, n, plural(n))
			}
			return refuse(err)
		}
	} else if err := s.planNames(ImageRef{Group: r.Group}, []*plannedImage{{img: img, info: info}}, AddOptions{FileName: dest.File}, dest.File); err != nil {
		return refuse(err)
	}

	if r.Boot {
		if err := s.commitBoot(ctx, op, r, old, img, info, write, o); err != nil {
			return fail(err)
		}
		rec.Cache = nil
		s.markChanged(r, &rec, o.By)
		if err := s.putRecord(r, rec); err != nil {
			return fail(err)
		}
		return r, op.done()
	}

	// New data into Res.rwm, in place; nothing references it until the
	// image file is renamed into place.
	w, err := wim.OpenAppend(s.ResPath(r.Group), wim.WriteOptions{Progress: phased(o.Progress, PhaseAdd)})
	if err != nil {
		return fail(err)
	}
	if err := write(ctx, w); err != nil {
		w.Abort()
		return fail(err)
	}
	if err := w.CloseContext(ctx); err != nil {
		return fail(err)
	}
	step("commit-res-written")
	codec, chunk := w.Compression(), w.ChunkSize()
	dir := s.GroupDir(r.Group)

	if o.NewFile != "" {
		// External data first, under a temporary name; recovery removes
		// it when the image file was never committed.
		tmpDir := filepath.Join(dir, tempTag+op.e.ID+"-"+dest.File)
		srcDir := filepath.Join(dir, r.File)
		if fi, err := os.Stat(srcDir); err == nil && fi.IsDir() {
			if err := copyTree(srcDir, tmpDir); err != nil {
				return fail(err)
			}
		}
		if o.Unattend != nil {
			if err := os.MkdirAll(filepath.Join(tmpDir, "Unattend"), 0o755); err != nil {
				return fail(err)
			}
			if err := writeFileAtomic(filepath.Join(tmpDir, "Unattend", unattendFile), o.Unattend, op.e.ID); err != nil {
				return fail(err)
			}
		}
		if _, err := os.Stat(tmpDir); err == nil {
			if err := os.Rename(tmpDir, filepath.Join(dir, dest.File)); err != nil {
				return fail(err)
			}
		}
		if err := writeImageFile(ctx, s.ImagePath(dest), nil, 0, img, info, codec, chunk, h.Flags&wim.FlagRPFix != 0); err != nil {
			return fail(err)
		}
		step("commit-image-written")
		rec.Cache = nil
		rec.Unattend = ""
		s.markChanged(dest, &rec, o.By)
		if _, err := os.Stat(filepath.Join(dir, dest.File, "Unattend", unattendFile)); err == nil {
			rec.Unattend = dest.File + "/Unattend/" + unattendFile
		}
		if rec.DisplayOrder, err = s.nextOrder(dest); err == nil {
			err = s.putRecord(dest, rec)
		}
		if err != nil {
			return fail(err)
		}
		return dest, op.done()
	}

	tmp := commitTemp(dir, op.e.ID, r.File)
	if err := writeImageFile(ctx, tmp, nil, 0, img, info, codec, chunk, h.Flags&wim.FlagRPFix != 0); err != nil {
		return fail(err)
	}
	step("commit-temp-written")
	if o.Unattend != nil {
		udir := filepath.Join(dir, r.File, "Unattend")
		if err := os.MkdirAll(udir, 0o755); err != nil {
			return fail(err)
		}
		if err := writeFileSynced(commitUnattendTemp(dir, op.e.ID, r.File), o.Unattend); err != nil {
			return fail(err)
		}
	}
	if err := op.setState(stateReady); err != nil {
		return fail(err)
	}
	step("commit-ready")
	if err := os.Rename(tmp, s.ImagePath(r)); err != nil {
		return fail(err)
	}
	syncDir(dir)
	step("commit-renamed")
	if err := s.finishCommit(op.e); err != nil {
		return fail(err)
	}
	return r, op.done()
}

// commitTemp is the temporary image file of commit operation id.
func commitTemp(dir, id, file string) string {
	return filepath.Join(dir, tempTag+id+"-"+file+".wim")
}

// commitUnattendTemp is the temporary unattend file of commit operation id.
func commitUnattendTemp(dir, id, file string) string {
	return filepath.Join(dir, file, "Unattend", tempTag+id+"-"+unattendFile)
}

// finishCommit completes a commit whose image file is in place: the new
// unattend file, when there is one, is renamed into place and recorded,
// and the cached figures dropped.
func (s *Store) finishCommit(e journalEntry) error {
	r := ImageRef{Group: e.Group, File: e.File}
	dir := s.GroupDir(e.Group)
	ut := commitUnattendTemp(dir, e.ID, e.File)
	rec, err := s.record(r)
	if err != nil {
		return err
	}
	if _, err := os.Stat(ut); err == nil {
		if err := os.Rename(ut, filepath.Join(dir, e.File, "Unattend", unattendFile)); err != nil {
			return err
		}
		syncDir(filepath.Dir(ut))
		rec.Unattend = e.File + "/Unattend/" + unattendFile
	}
	step("commit-unattend-renamed")
	rec.Cache = nil
	s.markChanged(r, &rec, e.By)
	return s.putRecord(r, rec)
}

// checkBase refuses, with a *StaleError, to commit on a base version of r
// that is no longer current. The caller holds r's group lock.
func (s *Store) checkBase(r ImageRef, base ImageVersion) error {
	cur, err := s.ImageVersion(r)
	if err != nil {
		return err
	}
	if cur.Same(base) {
		return nil
	}
	se := &StaleError{Image: r}
	if rec, err := s.record(r); err == nil && rec.Changed != nil && rec.Changed.Version.Same(cur) {
		se.By, se.At = rec.Changed.By, rec.Changed.At
	}
	return se
}

// markChanged records in rec who made r's current version (by; "" when
// unknown), for the error that refuses a commit based on an older one.
func (s *Store) markChanged(r ImageRef, rec *imageRecord, by string) {
	rec.Changed = nil
	if v, err := s.ImageVersion(r); err == nil && by != "" {
		rec.Changed = &changeMark{By: by, At: time.Now().UTC(), Version: v}
	}
}

// settleCommit finishes or rolls back a commit-image operation.
func (s *Store) settleCommit(e journalEntry) error {
	if e.Arch == "" && e.State == stateReady {
		dir := s.GroupDir(e.Group)
		if _, err := os.Stat(commitTemp(dir, e.ID, e.File)); errors.Is(err, os.ErrNotExist) {
			// The image file was renamed into place: finish.
			return s.finishCommit(e)
		}
		os.Remove(commitUnattendTemp(dir, e.ID, e.File))
	}
	return nil
}

// writeFileSynced writes data to a new file name and syncs it.
func writeFileSynced(name string, data []byte) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(name)
	}
	return err
}

// commitBoot writes a boot image's new standalone file: write's data,
// the rest copied from old as stored, then the metadata; renamed into place.
func (s *Store) commitBoot(ctx context.Context, op *op, r ImageRef, old *wim.WIM, img *wim.Image, info wim.ImageInfo, write func(context.Context, *wim.Writer) error, o CommitOptions) error {
	h := old.Header()
	codec, chunk := h.Compression(), int(h.ChunkSize)
	if codec == wim.LZMS {
		codec, chunk = wim.LZX, wim.DefaultChunkSize
	}
	tmp := filepath.Join(s.imageDir(r), tempTag+op.e.ID+"-"+r.File+".wim")
	w, err := wim.Create(tmp, wim.WriteOptions{Compression: codec, ChunkSize: chunk, RPFix: h.Flags&wim.FlagRPFix != 0, Progress: phased(o.Progress, PhaseAdd)})
	if err != nil {
		return err
	}
	if err := write(ctx, w); err != nil {
		w.Abort()
		return err
	}
	for d := range img.BlobRefs() {
		if err = w.CopyBlob(ctx, old, d); err != nil {
			break
		}
	}
	if err == nil {
		_, err = w.AddImage(ctx, img, info)
	}
	if err == nil {
		err = w.SetBootIndex(1)
	}
	if err != nil {
		w.Abort()
		return err
	}
	if err := w.CloseContext(ctx); err != nil {
		return err
	}
	step("commit-temp-written")
	if err := os.Rename(tmp, s.ImagePath(r)); err != nil {
		os.Remove(tmp)
		return err
	}
	syncDir(s.imageDir(r))
	return nil
}
