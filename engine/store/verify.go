package store

import (
	"context"
	"errors"
	"fmt"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/wimconsole/wimconsole/engine/progress"
	"github.com/wimconsole/wimconsole/engine/wim"
)

// Problem is one thing VerifyStore found wrong.
type Problem struct {
	Path string `json:"path"`
	Msg  string `json:"problem"`
}

func (p Problem) String() string { return p.Path + ": " + p.Msg }

// VerifyResult is the outcome of VerifyStore.
type VerifyResult struct {
	Images   int       `json:"images"`
	Groups   int       `json:"groups"`
	Problems []Problem `json:"problems"`
	// Notes are facts worth knowing that are not failures: a group made
	// by another tool, laid out differently from the console's own.
	Notes []Problem `json:"notes,omitempty"`
}

// ErrVerify is matched by the error VerifyStore returns when it finds
// problems.
var ErrVerify = errors.New("store verification failed")

// VerifyStore checks the store (or group g only): every Res.rwm's data
// against its digests, every image file's metadata, every image's data
// present in its group's Res.rwm, boot images whole, and the catalog in
// agreement with the files (after reconciling). Problems are listed in the
// result, and the error then wraps ErrVerify.
func (s *Store) VerifyStore(ctx context.Context, g string, report progress.Func) (*VerifyResult, error) {
	res := &VerifyResult{}
	add := func(path string, err error) {
		res.Problems = append(res.Problems, Problem{Path: path, Msg: err.Error()})
	}
	groups := []string{}
	if g != "" {
		if err := s.needGroup(g); err != nil {
			return nil, err
		}
		groups = append(groups, g)
	} else {
		var err error
		if groups, err = s.Groups(); err != nil {
			return nil, err
		}
	}
	for _, grp := range groups {
		res.Groups++
		if err := s.verifyGroup(ctx, grp, res, add, report); err != nil {
			return nil, err
		}
	}
	if g == "" {
		if err := s.verifyBootImages(ctx, res, add); err != nil {
			return nil, err
		}
	}
	if err := s.verifyCatalog(g, add); err != nil {
		return nil, err
	}
	if len(res.Problems) > 0 {
		return res, fmt.Errorf("%w: %d problem%s, first: %s", ErrVerify, len(res.Problems), plural(len(res.Problems)), res.Problems[0])
	}
	return res, nil
}

// verifyGroup checks group grp's Res.rwm and image files, counting the
// images in res and reporting problems through add. An error ends the
// verification.
func (s *Store) verifyGroup(ctx context.Context, grp string, res *VerifyResult, add func(string, error), report progress.Func) error {
	files, err := s.groupFiles(grp)
	if err != nil {
		return err
	}
	resPath := s.ResPath(grp)
	// The group's Res.rwm, opened once for its images; a missing one is
	// reported through the images that need it, if any.
	var rw *wim.WIM
	if exists(resPath) {
		if rw, err = wim.Open(resPath, &wim.OpenOptions{NoSplitSearch: true}); err != nil {
			add(resPath, err)
		} else {
			defer rw.Close()
			h := rw.Header()
			if h.Flags&wim.FlagResourceOnly == 0 {
				// wimlib-imagex and other tools write a group's
				// Res.rwm without the flag; the data is what counts.
				res.Notes = append(res.Notes, Problem{Path: resPath, Msg: "not marked resource-only, as files written by other tools (wimlib-imagex) are not; its data is checked all the same and the group works as it is"})
			}
			if err := rw.Verify(ctx, phased(report, PhaseVerify)); err != nil {
				add(resPath, err)
			}
		}
	}
	for _, f := range files {
		res.Images++
		s.verifyImage(ctx, ImageRef{Group: grp, File: f}, rw, add)
	}
	return ctx.Err()
}

// verifyBootImages checks every boot image file (see verifyGroup).
func (s *Store) verifyBootImages(ctx context.Context, res *VerifyResult, add func(string, error)) error {
	archs, err := s.Archs()
	if err != nil {
		return err
	}
	for _, a := range archs {
		files, err := wimFiles(s.BootImagesDir(a))
		if err != nil {
			return err
		}
		for _, f := range files {
			res.Images++
			s.verifyImage(ctx, ImageRef{Boot: true, Arch: a, File: f}, nil, add)
		}
	}
	return nil
}

// verifyCatalog checks the catalog against the files (of group g; "": of
// the whole store): a record for every image file and a file for every
// record, and no operation left in the journal.
func (s *Store) verifyCatalog(g string, add func(string, error)) error {
	lo := ListOptions{Group: g, NoSpace: true}
	if g != "" {
		lo.Type = TypeInstall
	}
	refs, err := s.allRefs(lo)
	if err != nil {
		return err
	}
	if _, err := s.reconcile(refs, lo); err != nil {
		add(s.CatalogPath(), err)
		return nil
	}
	present := map[string]bool{}
	for _, r := range refs {
		present[r.String()] = true
	}
	var journal []journalEntry
	err = s.view(func(tx *bolt.Tx) error {
		recs, err := imageRecords(tx)
		if err != nil {
			return err
		}
		for k := range recs {
			if (g == "" || strings.HasPrefix(k, g+"/")) && !present[k] {
				add(s.CatalogPath(), fmt.Errorf("record of image %s, which has no file", k))
			}
		}
		for k := range present {
			if _, ok := recs[k]; !ok {
				add(s.CatalogPath(), fmt.Errorf("no record of image %s", k))
			}
		}
		journal, err = journalEntries(tx)
		return err
	})
	if err != nil {
		add(s.CatalogPath(), err)
	}
	for _, e := range journal {
		if g == "" || e.Group == g || e.Into == g {
			add(s.CatalogPath(), fmt.Errorf("operation %s (%s) is in progress or awaits recovery", e.ID, e.Op))
		}
	}
	return nil
}

// verifyImage checks one image file: its own resources, and that every
// blob it uses is where it should be (res: its group's Res.rwm, already
// open, or nil; see openImageOn).
func (s *Store) verifyImage(ctx context.Context, r ImageRef, res *wim.WIM, add func(string, error)) {
	path := s.ImagePath(r)
	w, err := s.openImageOn(r, res)
	if err != nil {
		add(path, err)
		return
	}
	defer w.Close()
	if w.ImageCount() != 1 {
		add(path, fmt.Errorf("holds %d images; a store image file holds one", w.ImageCount()))
	}
	if err := w.Verify(ctx, nil); err != nil {
		add(path, err)
		return
	}
	for i := 1; i <= w.ImageCount(); i++ {
		if _, err := w.Image(i); err != nil {
			add(path, err)
		}
	}
}
