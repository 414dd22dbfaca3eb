package store

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/wimconsole/wimconsole/engine/atomicfile"
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
	c, err := s.beginCommit(r, base, img, o)
	if err != nil {
		return ImageRef{}, err
	}
	defer c.old.Close()
	switch {
	case r.Boot:
		err = s.commitBoot(ctx, c, write)
	case o.NewFile != "":
		err = s.commitNewFile(ctx, c, write)
	default:
		err = s.commitInPlace(ctx, c, write)
	}
	if err != nil {
		c.op.abandon()
		return ImageRef{}, err
	}
	return c.dest, c.op.done()
}

// commit is a CommitImage under way: checked, and holding r's group lock.
type commit struct {
	op      *op
	r, dest ImageRef // the image committed on; the image committed (r, or the new file)
	rec     imageRecord
	old     *wim.WIM // r's file, open
	img     *wim.Image
	info    wim.ImageInfo // the committed image's: r's, renamed and described as asked
	o       CommitOptions
}

// rpfix says whether r's file has the RP_FIX flag, which the committed
// file keeps.
func (c *commit) rpfix() bool { return c.old.Header().Flags&wim.FlagRPFix != 0 }

// beginCommit checks the commit CommitImage is asked for, and begins its
// journaled operation: r's group is locked, and r read under that lock
// (the version checked is the version replaced). A commit refused ends the
// operation and changes nothing.
func (s *Store) beginCommit(r ImageRef, base ImageVersion, img *wim.Image, o CommitOptions) (*commit, error) {
	if o.NewFile != "" && r.Boot {
		return nil, errors.New("a boot image can only be committed in place")
	}
	if o.Unattend != nil && r.Boot {
		return nil, errors.New("boot images have no unattend file")
	}
	c := &commit{r: r, dest: r, img: img, o: o}
	e := journalEntry{Op: "commit-image", Locks: []string{r.lockKey()}, Group: r.Group, Arch: r.Arch, File: r.File, By: o.By}
	if o.NewFile != "" {
		c.dest.File = fileBase(o.NewFile)
		if err := CheckFileName(c.dest.File); err != nil {
			return nil, err
		}
		e.Files = []string{c.dest.File}
	}
	op, err := s.begin(e)
	if err != nil {
		return nil, err
	}
	c.op = op
	step("commit-locked")
	if err := s.checkCommit(c, base); err != nil {
		if c.old != nil {
			c.old.Close()
		}
		op.done()
		return nil, err
	}
	return c, nil
}

// checkCommit reads and checks what c commits on, under the group's lock:
// r's version is base, r is disabled and has no install sessions (in
// place), and the committed image's name is free. It opens c.old and sets
// c.rec and c.info.
func (s *Store) checkCommit(c *commit, base ImageVersion) error {
	r, o := c.r, c.o
	if err := s.checkBase(r, base); err != nil {
		return err
	}
	rec, err := s.record(r)
	if err != nil {
		return err
	}
	c.rec = rec
	if o.NewFile == "" && rec.Enabled {
		return fmt.Errorf("image %s is enabled: disable it before committing changes to it", r)
	}
	// r's file alone: the commit needs its header and XML data (and, for a
	// boot image, its data, which a boot image's file holds), never the
	// group's Res.rwm, whose blob table (one entry per blob of the group)
	// the append reads anyway.
	if c.old, err = wim.Open(s.ImagePath(r), &wim.OpenOptions{NoSplitSearch: true}); err != nil {
		return err
	}
	if c.info, err = s.commitInfo(c); err != nil {
		return err
	}
	if o.NewFile != "" {
		return s.planNames(ImageRef{Group: r.Group}, []*plannedImage{{img: c.img, info: c.info}}, AddOptions{FileName: c.dest.File}, c.dest.File)
	}
	if n, err := s.activeSessions(r); err != nil || n > 0 {
		if err == nil {
			err = fmt.Errorf("image %s has %d active install session%s; wait for them to end", r, n, plural(n))
		}
		return err
	}
	return nil
}

// commitInfo returns the committed image's XML information: r's, with
// the name and description asked for (a new image is by default named
// after r, " (serviced)"), whose name must be free.
func (s *Store) commitInfo(c *commit) (wim.ImageInfo, error) {
	info := *c.old.XML().Image(1)
	info.Modified = time.Time{}
	name := c.o.Name
	if c.o.NewFile != "" {
		info.Created = time.Time{}
		if name == "" {
			name = info.Name + " (serviced)"
		}
	}
	if name != "" && name != info.Name {
		if err := s.checkNameFree(c.dest, name); err != nil {
			return info, err
		}
		info.Name = name
		if info.DisplayName != "" {
			info.DisplayName = name
		}
	}
	if d := c.o.Description; d != "" {
		info.Description = d
		if info.DisplayDescription != "" {
			info.DisplayDescription = d
		}
	}
	return info, nil
}

// appendRes appends the new data of an install image's commit to its
// group's Res.rwm, in place: nothing references it until an image file is
// renamed into place. It returns Res.rwm's compression and chunk size.
func (s *Store) appendRes(ctx context.Context, c *commit, write func(context.Context, *wim.Writer) error) (wim.Compression, int, error) {
	w, err := wim.OpenAppend(s.ResPath(c.r.Group), wim.WriteOptions{Progress: phased(c.o.Progress, PhaseAdd)})
	if err != nil {
		return 0, 0, err
	}
	if err := write(ctx, w); err != nil {
		w.Abort()
		return 0, 0, err
	}
	if err := w.CloseContext(ctx); err != nil {
		return 0, 0, err
	}
	step("commit-res-written")
	return w.Compression(), w.ChunkSize(), nil
}

// commitNewFile commits an install image's tree as the new image file
// c.dest of the group, with a copy of r's external data (and the new
// unattend file) and of its catalog state. The external data is copied
// first, under a temporary name; recovery removes it when the image file
// was never committed.
func (s *Store) commitNewFile(ctx context.Context, c *commit, write func(context.Context, *wim.Writer) error) error {
	codec, chunk, err := s.appendRes(ctx, c, write)
	if err != nil {
		return err
	}
	dir := s.GroupDir(c.r.Group)
	tmpDir := filepath.Join(dir, tempTag+c.op.e.ID+"-"+c.dest.File)
	srcDir := filepath.Join(dir, c.r.File)
	if fi, err := os.Stat(srcDir); err == nil && fi.IsDir() {
		if err := copyTree(srcDir, tmpDir); err != nil {
			return err
		}
	}
	if c.o.Unattend != nil {
		if err := os.MkdirAll(filepath.Join(tmpDir, "Unattend"), 0o755); err != nil {
			return err
		}
		if err := writeFileAtomic(filepath.Join(tmpDir, "Unattend", unattendFile), c.o.Unattend, c.op.e.ID); err != nil {
			return err
		}
	}
	if _, err := os.Stat(tmpDir); err == nil {
		if err := os.Rename(tmpDir, filepath.Join(dir, c.dest.File)); err != nil {
			return err
		}
	}
	if err := writeImageFile(ctx, imageFile{name: s.ImagePath(c.dest), img: c.img, info: c.info, codec: codec, chunk: chunk, rpfix: c.rpfix()}); err != nil {
		return err
	}
	step("commit-image-written")
	rec := c.rec
	rec.Cache = nil
	rec.Unattend = ""
	s.markChanged(c.dest, &rec, c.o.By)
	if _, err := os.Stat(filepath.Join(dir, c.dest.File, "Unattend", unattendFile)); err == nil {
		rec.Unattend = c.dest.File + "/Unattend/" + unattendFile
	}
	if rec.DisplayOrder, err = s.nextOrder(c.dest); err != nil {
		return err
	}
	return s.putRecord(c.dest, rec)
}

// commitInPlace commits an install image's tree over r's file: the new
// metadata (and unattend file) under temporary names, synced; the journal
// marked ready; the image file renamed into place; then finishCommit.
func (s *Store) commitInPlace(ctx context.Context, c *commit, write func(context.Context, *wim.Writer) error) error {
	codec, chunk, err := s.appendRes(ctx, c, write)
	if err != nil {
		return err
	}
	r, dir := c.r, s.GroupDir(c.r.Group)
	tmp := commitTemp(dir, c.op.e.ID, r.File)
	if err := writeImageFile(ctx, imageFile{name: tmp, img: c.img, info: c.info, codec: codec, chunk: chunk, rpfix: c.rpfix()}); err != nil {
		return err
	}
	step("commit-temp-written")
	if c.o.Unattend != nil {
		if err := writeCommitUnattend(dir, c.op.e.ID, r.File, c.o.Unattend); err != nil {
			return err
		}
	}
	if err := c.op.setState(stateReady); err != nil {
		return err
	}
	step("commit-ready")
	if err := os.Rename(tmp, s.ImagePath(r)); err != nil {
		return err
	}
	syncDir(dir)
	step("commit-renamed")
	return s.finishCommit(c.op.e)
}

// writeCommitUnattend writes the new unattend file of commit operation id
// complete under its temporary name (commitUnattendTemp), for
// finishCommit to rename.
func writeCommitUnattend(dir, id, file string, data []byte) error {
	udir := filepath.Join(dir, file, "Unattend")
	if err := os.MkdirAll(udir, 0o755); err != nil {
		return err
	}
	f, err := atomicfile.CreateTemp(filepath.Join(udir, unattendFile), commitUnattendTemp(dir, id, file), 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Abort()
		return fmt.Errorf("writing %s: %w", f.Name(), err)
	}
	return f.Close()
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

// commitBoot commits a boot image's tree: a new standalone file holding
// write's data, the rest copied from r's file as stored, then the
// metadata; renamed over r's file, and r's record updated.
func (s *Store) commitBoot(ctx context.Context, c *commit, write func(context.Context, *wim.Writer) error) error {
	r, h := c.r, c.old.Header()
	codec, chunk := h.Compression(), int(h.ChunkSize)
	if codec == wim.LZMS {
		codec, chunk = wim.LZX, wim.DefaultChunkSize
	}
	tmp := filepath.Join(s.imageDir(r), tempTag+c.op.e.ID+"-"+r.File+".wim")
	w, err := wim.Create(tmp, wim.WriteOptions{Compression: codec, ChunkSize: chunk, RPFix: c.rpfix(), Progress: phased(c.o.Progress, PhaseAdd)})
	if err != nil {
		return err
	}
	if err := write(ctx, w); err != nil {
		w.Abort()
		return err
	}
	for d := range c.img.BlobRefs() {
		if err = w.CopyBlob(ctx, c.old, d); err != nil {
			break
		}
	}
	if err == nil {
		_, err = w.AddImage(ctx, c.img, c.info)
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
	rec := c.rec
	rec.Cache = nil
	s.markChanged(r, &rec, c.o.By)
	return s.putRecord(r, rec)
}
