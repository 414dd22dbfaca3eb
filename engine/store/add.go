package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
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
	info  wim.ImageInfo
	file  string
	ref   ImageRef
}

// AddImage adds images of the WIM file src to the store and returns their
// references. For install images, the data goes into the group's Res.rwm
// (grown in place, crash-safe; data it holds already is not stored again,
// data compressed with its codec is copied as stored) and each image gets
// a metadata-only WIM file, written under a temporary name, synced and
// renamed: that rename is the image's commit point. Nothing changes when the
// source is damaged or a name is taken.
func (s *Store) AddImage(ctx context.Context, src string, o AddOptions) ([]ImageRef, error) {
	if o.Boot {
		return s.addBoot(ctx, src, o)
	}
	if o.Group == "" {
		o.Group = DefaultGroup
	}
	if err := CheckGroupName(o.Group); err != nil {
		return nil, err
	}
	var unattendData []byte
	if o.Unattend != "" {
		var err error
		if unattendData, err = readUnattend(o.Unattend); err != nil {
			return nil, err
		}
	}
	sw, plan, err := s.openSource(src, o)
	if err != nil {
		return nil, err
	}
	defer sw.Close()

	op, err := s.begin(journalEntry{Op: "add-image", Locks: []string{groupKey(o.Group)}, Group: o.Group})
	if err != nil {
		return nil, err
	}
	fail := func(err error) ([]ImageRef, error) {
		op.abandon()
		return nil, err
	}
	if g, err := s.findGroup(o.Group); err != nil {
		return fail(err)
	} else if g != "" {
		o.Group = g
	}
	if err := s.planNames(ImageRef{Group: o.Group}, plan, o, strings.TrimSuffix(filepath.Base(src), filepath.Ext(src))); err != nil {
		op.done()
		return nil, err
	}
	// The source's new data is checked against its digests before it
	// counts. Into an existing Res.rwm the check runs while the data is
	// appended (growRes), and a failure aborts the append; a new group's
	// data is checked first, so that a bad source leaves no group folder
	// behind.
	checkWhileAdding := false
	if !o.SkipVerify {
		if exists(s.ResPath(o.Group)) {
			checkWhileAdding = true
		} else if err := checkSourceData(ctx, sw, "", plan, o.Progress); err != nil {
			op.done()
			return nil, err
		}
	}
	for _, p := range plan {
		op.e.Files = append(op.e.Files, p.file)
	}
	if err := op.save(); err != nil {
		return fail(err)
	}
	if err := s.ensureGroup(o.Group); err != nil {
		return fail(err)
	}
	imgs := make([]*wim.Image, len(plan))
	for i, p := range plan {
		imgs[i] = p.img
	}
	codec, chunk, err := s.growRes(ctx, o.Group, sw, imgs, checkWhileAdding, o.Progress)
	if err != nil {
		return fail(err)
	}
	step("add-res-written")
	rpfix := sw.Header().Flags&wim.FlagRPFix != 0
	var out []ImageRef
	for _, p := range plan {
		rec := imageRecord{Enabled: true, Added: time.Now().UTC()}
		if unattendData != nil {
			rel, err := s.installUnattend(p.ref, unattendData, op.e.ID)
			if err != nil {
				return fail(err)
			}
			rec.Unattend = rel
		}
		if err := writeImageFile(ctx, s.ImagePath(p.ref), sw, p.index, p.img, p.info, codec, chunk, rpfix); err != nil {
			return fail(err)
		}
		step("add-image-written")
		rec.DisplayOrder, err = s.nextOrder(p.ref)
		if err != nil {
			return fail(err)
		}
		if err := s.putRecord(p.ref, rec); err != nil {
			return fail(err)
		}
		out = append(out, p.ref)
	}
	return out, op.done()
}

// openSource opens src and reads the images asked for: a damaged source
// fails here, before anything is written.
func (s *Store) openSource(src string, o AddOptions) (*wim.WIM, []*plannedImage, error) {
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
		img, err := sw.Image(i)
		if err != nil {
			sw.Close()
			return nil, nil, err
		}
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
		plan = append(plan, &plannedImage{index: i, img: img, info: info})
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
			for k := 1; ; k++ {
				f := srcBase
				if k > 1 {
					f = fmt.Sprintf("%s-(%d)", srcBase, k)
				}
				if free(f) {
					p.file = f
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
	imgs := make([]*wim.Image, len(plan))
	for i, p := range plan {
		imgs[i] = p.img
	}
	hashes, total := newBlobs(func(h wim.Hash) bool { return have[h] }, imgs)
	return checkBlobs(ctx, sw, hashes, total, report)
}

// newBlobs returns the blobs imgs use that have says are held already,
// each once, and their total size.
func newBlobs(have func(wim.Hash) bool, imgs []*wim.Image) ([]wim.Hash, int64) {
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

// checkBlobs reads the blobs hashes of sw, checking each against its
// digest, and reports progress against total bytes.
func checkBlobs(ctx context.Context, sw *wim.WIM, hashes []wim.Hash, total int64, report progress.Func) error {
	var done int64
	return sw.ReadBlobs(ctx, hashes, func(e wim.BlobEntry, r io.Reader) error {
		n, err := io.Copy(io.Discard, r)
		done += n
		report.Send(progress.Report{Phase: PhaseCheck, Done: done, Total: total})
		return err
	})
}

// growRes adds the data of imgs (images of src) to group g's Res.rwm,
// creating it when missing, and returns its codec. With check, the data new
// to Res.rwm is read from src and checked against its digests while it is
// appended; a failure aborts the append, leaving Res.rwm as it was.
func (s *Store) growRes(ctx context.Context, g string, src *wim.WIM, imgs []*wim.Image, check bool, report progress.Func) (wim.Compression, int, error) {
	res := s.ResPath(g)
	wo := wim.WriteOptions{Progress: phased(report, PhaseAdd)}
	var w *wim.Writer
	var err error
	if _, serr := os.Stat(res); serr == nil {
		w, err = wim.OpenAppend(res, wo)
	} else {
		wo.Compression, wo.ChunkSize = groupCodec(src.Header())
		wo.ResourceOnly = true
		w, err = wim.Create(res, wo)
	}
	if err != nil {
		return 0, 0, err
	}
	codec, chunk := w.Compression(), w.ChunkSize()
	checked := func() error { return nil }
	if check {
		// What to check is what the writer does not hold yet, taken
		// before the copy adds to it.
		hashes, total := newBlobs(w.HasBlob, imgs)
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		result := make(chan error, 1)
		go func() { result <- checkBlobs(cctx, src, hashes, total, report) }()
		checked = func() error { return <-result }
	}
	err = w.CopyImageBlobs(ctx, src, imgs...)
	// The check's error, when there is one, says best what is wrong with
	// the source (file, offset, blob).
	if cerr := checked(); cerr != nil {
		err = cerr
	}
	if err != nil {
		w.Abort()
		return 0, 0, err
	}
	if err := w.Close(); err != nil {
		return 0, 0, err
	}
	return codec, chunk, nil
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

// writeImageFile writes img as the only image of a new metadata-only WIM
// file name (temporary file, synced, renamed). When img is image index of
// src, unchanged, src is given: its metadata resource is then copied as
// stored when the codecs match (compressing an image's metadata costs more
// than everything else an add-image does with blobs already in the group).
func writeImageFile(ctx context.Context, name string, src *wim.WIM, index int, img *wim.Image, info wim.ImageInfo, codec wim.Compression, chunk int, rpfix bool) error {
	w, err := wim.Create(name, wim.WriteOptions{Compression: codec, ChunkSize: chunk, MetadataOnly: true, RPFix: rpfix})
	if err != nil {
		return err
	}
	if src != nil {
		_, err = w.AddImageFrom(ctx, src, index, img, info)
	} else {
		_, err = w.AddImage(ctx, img, info)
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
