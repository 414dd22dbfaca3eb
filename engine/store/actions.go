package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/wimconsole/wimconsole/engine/filetree"
	"github.com/wimconsole/wimconsole/engine/progress"
	"github.com/wimconsole/wimconsole/engine/wim"
)

// Overwrite says what ExportImage does with an existing destination.
type Overwrite int

// Overwrite modes.
const (
	OverwriteNo     Overwrite = iota // refuse an existing file
	OverwriteYes                     // replace it (atomically)
	OverwriteAppend                  // add the image to it, in place
)

// ExportOptions configure ExportImage.
type ExportOptions struct {
	Overwrite         Overwrite
	Name, Description string
	Progress          progress.Func
}

// ExportImage writes image r as a standalone WIM file dest: its metadata and
// the data it uses from the group's Res.rwm, copied as stored.
func (s *Store) ExportImage(ctx context.Context, r ImageRef, dest string, o ExportOptions) error {
	w, err := s.openImage(r)
	if err != nil {
		return err
	}
	defer w.Close()
	eo := wim.ExportOptions{Name: o.Name, Description: o.Description, Progress: o.Progress, Boot: r.Boot}
	_, err = os.Lstat(dest)
	exists := err == nil
	switch {
	case exists && o.Overwrite == OverwriteNo:
		return fmt.Errorf("%s exists (choose --overwrite yes or append)", dest)
	case exists && o.Overwrite == OverwriteYes:
		tmp := filepath.Join(filepath.Dir(dest), tempTag+newID()+"-"+filepath.Base(dest))
		if _, err := wim.Export(ctx, w, []int{1}, tmp, eo); err != nil {
			os.Remove(tmp)
			return err
		}
		if err := ctx.Err(); err != nil {
			os.Remove(tmp) // cancelled: the old file stays
			return err
		}
		if err := os.Rename(tmp, dest); err != nil {
			os.Remove(tmp)
			return err
		}
		syncDir(filepath.Dir(dest))
		return nil
	case !exists && !errors.Is(err, fs.ErrNotExist):
		return err
	}
	_, err = wim.Export(ctx, w, []int{1}, dest, eo)
	return err
}

// RemoveImage removes image r as WDS does: its WIM file and its folder of
// external data go, its data stays in Res.rwm (regroup reclaims it).
// An image with live install sessions is not removed.
func (s *Store) RemoveImage(ctx context.Context, r ImageRef) error {
	e := journalEntry{Op: "remove-image", Locks: []string{r.lockKey()}, File: r.File, Group: r.Group, Arch: r.Arch}
	if _, err := os.Stat(s.ImagePath(r)); err != nil {
		return fmt.Errorf("image %s does not exist", r)
	}
	op, err := s.begin(e)
	if err != nil {
		return err
	}
	if n, err := s.activeSessions(r); err != nil || n > 0 {
		op.done()
		if err == nil {
			err = fmt.Errorf("image %s has %d active install session%s; disable it and wait for them to end", r, n, plural(n))
		}
		return err
	}
	if err := os.Remove(s.ImagePath(r)); err != nil {
		op.done()
		return err
	}
	syncDir(s.imageDir(r))
	step("remove-image-removed")
	if err := os.RemoveAll(filepath.Join(s.imageDir(r), r.File)); err != nil {
		op.abandon()
		return err
	}
	if err := s.update(func(tx *bolt.Tx) error { return deleteKey(tx, bucketImages, r.key()) }); err != nil {
		op.abandon()
		return err
	}
	return op.done()
}

// CopyOptions configure CopyImage.
type CopyOptions struct {
	FileName          string // the new file name (required)
	Name, Description string // default: the old name with " (copy)", the old description
}

// CopyImage copies image r within its group under a new file name: a new
// metadata-only WIM file sharing the group's data, with a copy of the
// image's external data (unattend, $OEM$) and catalog state.
func (s *Store) CopyImage(ctx context.Context, r ImageRef, o CopyOptions) (ImageRef, error) {
	if r.Boot {
		return ImageRef{}, errors.New("copy-image works on install images")
	}
	nf := fileBase(o.FileName)
	if err := CheckFileName(nf); err != nil {
		return ImageRef{}, err
	}
	nr := ImageRef{Group: r.Group, File: nf}
	rec, err := s.record(r)
	if err != nil {
		return ImageRef{}, err
	}
	op, err := s.begin(journalEntry{Op: "copy-image", Locks: []string{r.lockKey()}, Group: r.Group, Files: []string{nf}})
	if err != nil {
		return ImageRef{}, err
	}
	w, err := s.openImage(r)
	if err != nil {
		op.done()
		return ImageRef{}, err
	}
	defer w.Close()
	img, err := w.Image(1)
	if err != nil {
		op.done()
		return ImageRef{}, err
	}
	info := *w.XML().Image(1)
	info.Created, info.Modified = time.Time{}, time.Time{}
	if o.Name == "" {
		o.Name = info.Name + " (copy)"
	}
	info.Name = o.Name
	if info.DisplayName != "" {
		info.DisplayName = o.Name
	}
	if o.Description != "" {
		info.Description = o.Description
	}
	plan := []*plannedImage{{index: 1, img: img, info: info}}
	if err := s.planNames(ImageRef{Group: r.Group}, plan, AddOptions{FileName: nf}, nf); err != nil {
		op.done()
		return ImageRef{}, err
	}
	// External data first, under a temporary name renamed into place;
	// recovery removes it when the image file was never committed.
	srcDir := filepath.Join(s.GroupDir(r.Group), r.File)
	if fi, err := os.Stat(srcDir); err == nil && fi.IsDir() {
		tmp := filepath.Join(s.GroupDir(r.Group), tempTag+op.e.ID+"-"+nf)
		if err := copyTree(srcDir, tmp); err != nil {
			op.abandon()
			return ImageRef{}, err
		}
		if err := os.Rename(tmp, filepath.Join(s.GroupDir(r.Group), nf)); err != nil {
			op.abandon()
			return ImageRef{}, err
		}
	}
	h := w.Header()
	if err := writeImageFile(ctx, imageFile{name: s.ImagePath(nr), src: w, index: 1, img: img, info: info, codec: h.Compression(), chunk: int(h.ChunkSize), rpfix: h.Flags&wim.FlagRPFix != 0}); err != nil {
		op.abandon()
		return ImageRef{}, err
	}
	step("copy-image-written")
	rec.Cache = nil
	if rec.Unattend != "" {
		rec.Unattend = nf + "/Unattend/" + unattendFile
	}
	if rec.DisplayOrder, err = s.nextOrder(nr); err == nil {
		err = s.putRecord(nr, rec)
	}
	if err != nil {
		op.abandon()
		return ImageRef{}, err
	}
	return nr, op.done()
}

// copyTree copies the folder src to dst (which must not exist): folders,
// regular files (synced; names of one file stay one file), symbolic links;
// other files are skipped.
func copyTree(src, dst string) error {
	return filetree.Copy(src, dst, filetree.Options{SkipSpecial: true})
}

// ReplaceOptions configure ReplaceImage.
type ReplaceOptions struct {
	SourceIndex       int    // image of the source (1-based; 0: the only one)
	Name, Description string // default: the replaced image's name and description
	// Wait is how long to wait for the image's install sessions to end;
	// Force replaces it without waiting.
	Wait     time.Duration
	Force    bool
	Progress progress.Func
}

// ReplaceImage replaces image r, which must be disabled, by an image of the
// WIM file src. It waits for r's install sessions to end (or o.Force). The
// image keeps its file name, unattend file, $OEM$ folder, language packs
// and catalog state; the new data goes into the group's Res.rwm and the new
// metadata-only file is renamed over the old one, atomically.
func (s *Store) ReplaceImage(ctx context.Context, r ImageRef, src string, o ReplaceOptions) error {
	if err := s.writable(opWhat("replace-image")); err != nil {
		return err
	}
	if r.Boot {
		return s.replaceBoot(ctx, r, src, o)
	}
	rec, err := s.record(r)
	if err != nil {
		return err
	}
	if rec.Enabled {
		return fmt.Errorf("image %s is enabled: disable it before replacing it", r)
	}
	sw, plan, err := s.replaceSource(r, src, o)
	if err != nil {
		return err
	}
	defer sw.Close()
	if err := checkSourceData(ctx, sw, s.ResPath(r.Group), plan, o.Progress); err != nil {
		return err
	}
	if err := s.sessionsGone(ctx, r, o); err != nil {
		return err
	}
	op, err := s.begin(journalEntry{Op: "replace-image", Locks: []string{r.lockKey()}, Group: r.Group, File: r.File})
	if err != nil {
		return err
	}
	fail := func(err error) error {
		op.abandon()
		return err
	}
	codec, chunk, err := s.growRes(ctx, r.Group, sw, []wim.BlobUser{plan[0].img}, false, o.Progress)
	if err != nil {
		return fail(err)
	}
	step("replace-res-written")
	tmp := filepath.Join(s.GroupDir(r.Group), tempTag+op.e.ID+"-"+r.File+".wim")
	if err := writeImageFile(ctx, imageFile{name: tmp, src: sw, index: plan[0].index, img: plan[0].img, info: plan[0].info, codec: codec, chunk: chunk, rpfix: sw.Header().Flags&wim.FlagRPFix != 0}); err != nil {
		return fail(err)
	}
	step("replace-temp-written")
	if err := os.Rename(tmp, s.ImagePath(r)); err != nil {
		return fail(err)
	}
	syncDir(s.GroupDir(r.Group))
	step("replace-renamed")
	rec.Cache = nil
	if err := s.putRecord(r, rec); err != nil {
		return fail(err)
	}
	return op.done()
}

// sessionsGone waits for r's install sessions to end as o says.
func (s *Store) sessionsGone(ctx context.Context, r ImageRef, o ReplaceOptions) error {
	if o.Force {
		return nil
	}
	n, err := s.waitSessions(ctx, r, o.Wait)
	if err != nil {
		return err
	}
	if n > 0 {
		return fmt.Errorf("image %s still has %d install session%s after waiting %v (wait longer with --wait, or --force)", r, n, plural(n), o.Wait)
	}
	return nil
}

// replaceSource opens the replacement image, named as o and r say.
func (s *Store) replaceSource(r ImageRef, src string, o ReplaceOptions) (*wim.WIM, []*plannedImage, error) {
	sw, err := wim.Open(src, nil)
	if err != nil {
		return nil, nil, err
	}
	idx := o.SourceIndex
	if idx == 0 {
		if sw.ImageCount() != 1 {
			sw.Close()
			return nil, nil, fmt.Errorf("%s has %d images; choose one with --source-index", src, sw.ImageCount())
		}
		idx = 1
	}
	if idx < 1 || idx > sw.ImageCount() {
		sw.Close()
		return nil, nil, fmt.Errorf("%s has no image %d (it has %d)", src, idx, sw.ImageCount())
	}
	img, err := sw.Image(idx)
	if err != nil {
		sw.Close()
		return nil, nil, err
	}
	old, err := readFacts(s.ImagePath(r))
	if err != nil {
		sw.Close()
		return nil, nil, err
	}
	info := *sw.XML().Image(idx)
	info.Name, info.Description = old.Name, old.Description
	if info.DisplayName != "" {
		info.DisplayName = old.Name
	}
	if o.Name != "" {
		if err := s.checkNameFree(r, o.Name); err != nil {
			sw.Close()
			return nil, nil, err
		}
		info.Name = o.Name
		if info.DisplayName != "" {
			info.DisplayName = o.Name
		}
	}
	if o.Description != "" {
		info.Description = o.Description
	}
	return sw, []*plannedImage{{index: idx, img: img, info: info, ref: r, file: r.File}}, nil
}

// replaceBoot replaces a boot image file by an export of the source image.
func (s *Store) replaceBoot(ctx context.Context, r ImageRef, src string, o ReplaceOptions) error {
	rec, err := s.record(r)
	if err != nil {
		return err
	}
	if rec.Enabled {
		return fmt.Errorf("image %s is enabled: disable it before replacing it", r)
	}
	sw, plan, err := s.replaceSource(r, src, o)
	if err != nil {
		return err
	}
	defer sw.Close()
	if err := checkSourceData(ctx, sw, "", plan, o.Progress); err != nil {
		return err
	}
	if err := s.sessionsGone(ctx, r, o); err != nil {
		return err
	}
	op, err := s.begin(journalEntry{Op: "replace-image", Locks: []string{r.lockKey()}, Arch: r.Arch, File: r.File})
	if err != nil {
		return err
	}
	tmp := filepath.Join(s.imageDir(r), tempTag+op.e.ID+"-"+r.File+".wim")
	_, err = wim.Export(ctx, sw, []int{plan[0].index}, tmp, wim.ExportOptions{Name: plan[0].info.Name, Description: plan[0].info.Description, Boot: true, Progress: o.Progress})
	if err == nil {
		step("boot-replace-written")
		err = os.Rename(tmp, s.ImagePath(r))
	}
	if err != nil {
		op.abandon()
		return err
	}
	rec.Cache = nil
	if err := s.putRecord(r, rec); err != nil {
		op.abandon()
		return err
	}
	return op.done()
}
