package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/wimconsole/wimconsole/engine/progress"
	"github.com/wimconsole/wimconsole/engine/wim"
)

// Progress phases of receiving a group's data from another store.
const (
	PhaseReceive = "receiving file data"
)

// MissingBlobs returns those of hashes (in their order, without repeats or
// zero hashes) that image group g's Res.rwm does not hold: all of them when
// the group or its Res.rwm does not exist yet.
func (s *Store) MissingBlobs(g string, hashes []wim.Hash) ([]wim.Hash, error) {
	if err := CheckGroupName(g); err != nil {
		return nil, err
	}
	have := map[wim.Hash]bool{}
	if name, err := s.findGroup(g); err != nil {
		return nil, err
	} else if name != "" {
		res := s.ResPath(name)
		if _, err := os.Stat(res); err == nil {
			rw, err := wim.Open(res, &wim.OpenOptions{NoSplitSearch: true})
			if err != nil {
				return nil, err
			}
			for _, e := range rw.Blobs() {
				if !e.IsMetadata() {
					have[e.Hash] = true
				}
			}
			rw.Close()
		}
	}
	out := []wim.Hash{}
	seen := map[wim.Hash]bool{}
	for _, h := range hashes {
		if h.IsZero() || have[h] || seen[h] {
			continue
		}
		seen[h] = true
		out = append(out, h)
	}
	return out, nil
}

// ReceiveBlobs adds the blobs of batch, a resource-only WIM file (one batch
// of data sent by another store), to image group g's Res.rwm, creating the
// group and its Res.rwm when missing (with the batch's codec when it is
// XPRESS or LZX with 32 KiB chunks, else LZX). Every blob of the batch is
// first checked against its SHA-1 digest; blobs compressed with the Res.rwm's
// codec are then copied as stored. Res.rwm grows by append, its header
// written last, so a batch is stored whole or not at all. It returns the
// number of blobs added (blobs Res.rwm holds already are skipped).
func (s *Store) ReceiveBlobs(ctx context.Context, g string, batch string, report progress.Func) (int, error) {
	return s.ReceiveBlobsWith(ctx, g, batch, ReceiveBlobsOptions{Progress: report})
}

// ReceiveBlobsOptions configure ReceiveBlobsWith.
type ReceiveBlobsOptions struct {
	Progress progress.Func
	// Checked says that the caller checked every blob of the batch against
	// its SHA-1 digest itself, in this process, from the data it wrote into
	// the batch (a library pull checks each blob object as it downloads
	// it): the batch is not decompressed again. A batch left by another
	// process, or read back from anywhere else, is never Checked.
	Checked bool
}

// ReceiveBlobsWith is ReceiveBlobs with options: o.Checked skips the
// check of the batch's blobs that the caller made already.
func (s *Store) ReceiveBlobsWith(ctx context.Context, g string, batch string, o ReceiveBlobsOptions) (int, error) {
	report := o.Progress
	if err := CheckGroupName(g); err != nil {
		return 0, err
	}
	bw, err := wim.Open(batch, &wim.OpenOptions{NoSplitSearch: true})
	if err != nil {
		return 0, err
	}
	defer bw.Close()
	if bw.ImageCount() != 0 {
		return 0, fmt.Errorf("%s: a batch of file data holds no image; this one has %d", batch, bw.ImageCount())
	}
	if !o.Checked {
		if err := bw.Verify(ctx, phased(report, PhaseReceive)); err != nil {
			return 0, err
		}
	}
	op, err := s.begin(journalEntry{Op: "receive-blobs", Locks: []string{groupKey(g)}, Group: g})
	if err != nil {
		return 0, err
	}
	if name, err := s.findGroup(g); err != nil {
		op.done()
		return 0, err
	} else if name != "" {
		g = name
		op.e.Group = g
	}
	if err := s.ensureGroup(g); err != nil {
		op.done()
		return 0, err
	}
	res := s.ResPath(g)
	wo := wim.WriteOptions{Progress: phased(report, PhaseReceive)}
	var w *wim.Writer
	if _, serr := os.Stat(res); serr == nil {
		w, err = wim.OpenAppend(res, wo)
	} else {
		wo.Compression, wo.ChunkSize = groupCodec(bw.Header())
		wo.ResourceOnly = true
		w, err = wim.Create(res, wo)
	}
	if err != nil {
		op.done()
		return 0, err
	}
	added := 0
	for _, e := range bw.Blobs() {
		if e.IsMetadata() || e.Hash.IsZero() || w.HasBlob(e.Hash) {
			continue
		}
		if err := w.CopyBlob(ctx, bw, e.Hash); err != nil {
			w.Abort()
			op.abandon()
			return 0, err
		}
		added++
	}
	if err := w.Close(); err != nil {
		op.abandon()
		return 0, err
	}
	step("receive-blobs-written")
	return added, op.done()
}

// ReceiveImageOptions configure ReceiveImage.
type ReceiveImageOptions struct {
	// FileName is the image's file name (without .wim); it must be free.
	FileName string
	// Data, when set, is a folder of the image's external data (Unattend,
	// $OEM$, language packs) copied in as the image's folder.
	// Its unattend file (Unattend/ImageUnattend.xml) must be a valid
	// answer file; its language packs (LangPacks/*.cab) are recorded in
	// the catalog.
	Data     string
	Disabled bool // the image arrives disabled
	// Replace says that image FileName of the group exists and is
	// replaced, as replace-image replaces an image (its install sessions
	// must have ended): its file by the received one (written to a
	// temporary file, synced, renamed over it: the commit point), its
	// catalog state (enabled or not, display order) kept; Disabled is
	// ignored.
	Replace bool
	// ReplaceData, with Replace, replaces the image's external data folder
	// by Data (removes it when Data is ""), after the image file: a
	// replace cut short between the two leaves the new image with its old
	// external data, which a second replace puts right. Without it the
	// image keeps its unattend file, $OEM$ folder and language packs.
	ReplaceData bool
}

// ReceiveImage adds to image group g the image of src, a metadata-only WIM
// file of one image (as another store keeps it) whose file data g's
// Res.rwm must hold already: its metadata is read and checked, every blob it
// uses looked up, and the image written as a new image file of the group
// (temporary file, synced, renamed: the commit point), after its external
// data, with its catalog state. Its name must be free in the group.
func (s *Store) ReceiveImage(ctx context.Context, g string, src string, o ReceiveImageOptions) (ImageRef, error) {
	if err := CheckGroupName(g); err != nil {
		return ImageRef{}, err
	}
	nf := fileBase(o.FileName)
	if err := CheckFileName(nf); err != nil {
		return ImageRef{}, err
	}
	op, err := s.begin(journalEntry{Op: "receive-image", Locks: []string{groupKey(g)}, Group: g, Files: []string{nf}})
	if err != nil {
		return ImageRef{}, err
	}
	if name, err := s.findGroup(g); err != nil {
		op.done()
		return ImageRef{}, err
	} else if name != "" {
		g = name
		op.e.Group = g
	}
	if err := s.ensureGroup(g); err != nil {
		op.done()
		return ImageRef{}, err
	}
	// The image's data must be in Res.rwm (an image of empty files only
	// needs none): reading the image with it as reference checks that
	// every blob it uses is there.
	res := s.ResPath(g)
	oo := &wim.OpenOptions{NoSplitSearch: true}
	if _, err := os.Stat(res); err == nil {
		oo.Refs = []string{res}
	}
	sw, err := wim.Open(src, oo)
	if err != nil {
		op.done()
		return ImageRef{}, err
	}
	defer sw.Close()
	fail := func(err error) (ImageRef, error) {
		op.done()
		return ImageRef{}, err
	}
	if sw.ImageCount() != 1 {
		return fail(fmt.Errorf("%s: an image file holds one image; this one has %d", src, sw.ImageCount()))
	}
	img, err := sw.Image(1)
	if err != nil {
		return fail(err)
	}
	info := *sw.XML().Image(1)
	if info.Name == "" {
		return fail(fmt.Errorf("%s: the image has no name", src))
	}
	codec, chunk := groupCodec(sw.Header())
	if refs := sw.Refs(); len(refs) > 0 {
		codec, chunk = refs[0].Header().Compression(), int(refs[0].Header().ChunkSize)
	}
	if err := checkBlobsHeld(sw, img, src, res); err != nil {
		return fail(err)
	}
	nr := ImageRef{Group: g, File: nf}
	if o.Replace {
		op.e.File = nf // recovery settles the external data of a replace
		if err := s.replaceReceived(ctx, op, nr, sw, img, info, codec, chunk, o); err != nil {
			op.abandon()
			return ImageRef{}, err
		}
		return nr, op.done()
	}
	plan := []*plannedImage{{index: 1, img: img, info: info}}
	if err := s.planNames(ImageRef{Group: g}, plan, AddOptions{FileName: nf}, nf); err != nil {
		op.done()
		return ImageRef{}, err
	}
	if err := op.save(); err != nil {
		op.abandon()
		return ImageRef{}, err
	}
	rec := imageRecord{Enabled: !o.Disabled, Added: time.Now().UTC()}
	if o.Data != "" {
		if err := checkReceivedData(nr, o.Data, &rec); err != nil {
			return fail(err)
		}
		if err := s.installReceivedData(nr, o.Data, op.e.ID, &rec); err != nil {
			op.abandon()
			return ImageRef{}, err
		}
	}
	if err := writeImageFile(ctx, imageFile{name: s.ImagePath(nr), src: sw, index: 1, img: img, info: info, codec: codec, chunk: chunk, rpfix: sw.Header().Flags&wim.FlagRPFix != 0}); err != nil {
		op.abandon()
		return ImageRef{}, err
	}
	step("receive-image-written")
	if rec.DisplayOrder, err = s.nextOrder(nr); err == nil {
		err = s.putRecord(nr, rec)
	}
	if err != nil {
		op.abandon()
		return ImageRef{}, err
	}
	return nr, op.done()
}

// replaceReceived replaces image nr by the received image img of sw
// (ReceiveImage with o.Replace), under op.
func (s *Store) replaceReceived(ctx context.Context, op *op, nr ImageRef, sw *wim.WIM, img *wim.Image, info wim.ImageInfo, codec wim.Compression, chunk int, o ReceiveImageOptions) error {
	rec, err := s.record(nr)
	if err != nil {
		return fmt.Errorf("cannot replace image %s: %w", nr, err)
	}
	if err := s.checkNameFree(nr, info.Name); err != nil {
		return err
	}
	if n, err := s.activeSessions(nr); err != nil {
		return err
	} else if n > 0 {
		return fmt.Errorf("image %s has %d install session%s under way: it was not replaced; try again once they end", nr, n, plural(n))
	}
	var newRec imageRecord
	if o.ReplaceData && o.Data != "" {
		if err := checkReceivedData(nr, o.Data, &newRec); err != nil {
			return err
		}
	}
	if err := op.save(); err != nil {
		return err
	}
	dir := s.GroupDir(nr.Group)
	tmp := filepath.Join(dir, tempTag+op.e.ID+"-"+nr.File+".wim")
	if err := writeImageFile(ctx, imageFile{name: tmp, src: sw, index: 1, img: img, info: info, codec: codec, chunk: chunk, rpfix: sw.Header().Flags&wim.FlagRPFix != 0}); err != nil {
		return err
	}
	if err := os.Rename(tmp, s.ImagePath(nr)); err != nil {
		return err
	}
	syncDir(dir)
	step("receive-replace-renamed")
	rec.Cache = nil
	if o.ReplaceData {
		// The new folder beside the old one, then swapped in.
		old := filepath.Join(dir, tempTag+op.e.ID+"-old-"+nr.File)
		if _, err := os.Stat(filepath.Join(dir, nr.File)); err == nil {
			if err := os.Rename(filepath.Join(dir, nr.File), old); err != nil {
				return err
			}
		}
		step("receive-replace-data-moved")
		rec.Unattend, rec.LangPacks = "", newRec.LangPacks
		if o.Data != "" {
			if err := s.installReceivedData(nr, o.Data, op.e.ID, &rec); err != nil {
				return err
			}
		}
		step("receive-replace-data-in")
		if err := os.RemoveAll(old); err != nil {
			return err
		}
	}
	return s.putRecord(nr, rec)
}

// settleReceiveReplace settles a replace by ReceiveImage (journal entry e,
// its image e.File in group folder dir) cut short: an external data folder
// moved aside and not yet replaced is put back, and the image's record
// names the unattend file and language packs its folder holds.
func (s *Store) settleReceiveReplace(e journalEntry, dir string) error {
	cur := filepath.Join(dir, e.File)
	old := filepath.Join(dir, tempTag+e.ID+"-old-"+e.File)
	if _, err := os.Stat(old); err == nil {
		if _, err := os.Stat(cur); errors.Is(err, os.ErrNotExist) {
			if err := os.Rename(old, cur); err != nil {
				return err
			}
		}
	}
	r := ImageRef{Group: e.Group, File: e.File}
	if _, err := os.Stat(s.ImagePath(r)); err != nil {
		return nil
	}
	var rec imageRecord
	found := false
	if err := s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketImages)
		if b == nil {
			return nil
		}
		var err error
		found, err = getJSON(b, r.key(), &rec)
		return err
	}); err != nil || !found {
		return err
	}
	rec.Unattend, rec.LangPacks = "", nil
	if _, err := os.Stat(filepath.Join(cur, "Unattend", unattendFile)); err == nil {
		rec.Unattend = e.File + "/Unattend/" + unattendFile
	}
	if ents, err := os.ReadDir(filepath.Join(cur, LangPacksDir)); err == nil {
		for _, en := range ents {
			if en.Type().IsRegular() && !strings.HasPrefix(en.Name(), tempTag) {
				rec.LangPacks = append(rec.LangPacks, en.Name())
			}
		}
	}
	rec.Cache = nil
	return s.putRecord(r, rec)
}

// checkBlobsHeld checks that sw (the image file src, opened with its
// group's Res.rwm res as reference) holds every blob img uses.
func checkBlobsHeld(sw *wim.WIM, img *wim.Image, src, res string) error {
	var missing error
	img.Walk(func(p string, f *wim.File) error {
		for _, h := range append([]wim.Hash{f.Hash}, streamHashes(f)...) {
			if missing == nil && !h.IsZero() {
				if _, ok := sw.Blob(h); !ok {
					missing = fmt.Errorf("%s: %s uses blob %s, which %s does not hold", src, p, h, res)
				}
			}
		}
		return nil
	})
	return missing
}

// checkReceivedData checks the external data folder data of received
// image nr (its unattend file, its language packs) and lists its language
// packs in rec.
func checkReceivedData(nr ImageRef, data string, rec *imageRecord) error {
	if fi, err := os.Stat(data); err != nil || !fi.IsDir() {
		return fmt.Errorf("external data of %s: %s is not a folder", nr, data)
	}
	if u := filepath.Join(data, "Unattend", unattendFile); exists(u) {
		if _, err := readUnattend(u); err != nil {
			return fmt.Errorf("external data of %s: %w", nr, err)
		}
	}
	if ents, err := os.ReadDir(filepath.Join(data, LangPacksDir)); err == nil {
		for _, e := range ents {
			if err := checkLangPack(filepath.Join(data, LangPacksDir, e.Name())); err != nil {
				return fmt.Errorf("external data of %s: %w", nr, err)
			}
			rec.LangPacks = append(rec.LangPacks, e.Name())
		}
	}
	return nil
}

// installReceivedData copies the external data folder data of received
// image nr into the group, under operation opID's temporary name renamed
// into place, and records its unattend file in rec.
func (s *Store) installReceivedData(nr ImageRef, data, opID string, rec *imageRecord) error {
	dir := s.GroupDir(nr.Group)
	tmp := filepath.Join(dir, tempTag+opID+"-"+nr.File)
	if err := copyTree(data, tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, nr.File)); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(dir, nr.File, "Unattend", unattendFile)); err == nil {
		rec.Unattend = nr.File + "/Unattend/" + unattendFile
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

func streamHashes(f *wim.File) []wim.Hash {
	var hs []wim.Hash
	for _, st := range f.Streams {
		hs = append(hs, st.Hash)
	}
	return hs
}

// checkLangPack checks the language pack file p: its name and contents.
func checkLangPack(p string) error {
	if err := checkLangPackName(filepath.Base(p)); err != nil {
		return err
	}
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	return checkCab(filepath.Base(p), f)
}
