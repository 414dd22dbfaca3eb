package store

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// LangPacksDir is the folder, inside an image's external-data folder
// (<Group>/<file>/), that holds its language packs. ReplaceImage, CopyImage
// and Regroup carry the whole folder, so the packs travel with the image.
const LangPacksDir = "LangPacks"

// maxLangPack bounds a language pack's size (real ones are tens to a few
// hundred megabytes).
const maxLangPack = 4 << 30

// checkCab checks that f is a Microsoft cabinet: the "MSCF" signature, and
// the cabinet size in its header equal to the file's size.
func checkCab(name string, f *os.File) error {
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("language pack %s: not a regular file", name)
	}
	if st.Size() > maxLangPack {
		return fmt.Errorf("language pack %s: %d bytes is larger than %d", name, st.Size(), int64(maxLangPack))
	}
	var hdr [12]byte
	if _, err := f.ReadAt(hdr[:], 0); err != nil {
		return fmt.Errorf("language pack %s: not a cabinet file (too short)", name)
	}
	if string(hdr[:4]) != "MSCF" {
		return fmt.Errorf("language pack %s: not a cabinet file (no MSCF signature)", name)
	}
	if size := int64(binary.LittleEndian.Uint32(hdr[8:])); size != st.Size() {
		return fmt.Errorf("language pack %s: the cabinet header says %d bytes but the file has %d (truncated or damaged)", name, size, st.Size())
	}
	return nil
}

// checkLangPackName checks a language pack's file name: a plain name ending
// in .cab that is valid on Windows.
func checkLangPackName(name string) error {
	if !strings.EqualFold(filepath.Ext(name), ".cab") {
		return fmt.Errorf("language pack %q: the file name must end in .cab", name)
	}
	return checkComponent("language pack", strings.TrimSuffix(name, filepath.Ext(name)))
}

func (s *Store) langPacksDir(r ImageRef) string {
	return filepath.Join(s.imageDir(r), r.File, LangPacksDir)
}

// LanguagePacks lists the language packs associated with image r, by file
// name, sorted. The files are the truth; the catalog mirrors them.
func (s *Store) LanguagePacks(r ImageRef) ([]string, error) {
	if _, err := os.Stat(s.ImagePath(r)); err != nil {
		return nil, fmt.Errorf("image %s does not exist", r)
	}
	ents, err := os.ReadDir(s.langPacksDir(r))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range ents {
		if e.Type().IsRegular() && !strings.HasPrefix(e.Name(), tempTag) && checkLangPackName(e.Name()) == nil {
			names = append(names, e.Name())
		}
	}
	sort.Slice(names, func(i, j int) bool { return strings.ToLower(names[i]) < strings.ToLower(names[j]) })
	return names, nil
}

// AddLanguagePack associates the cabinet file src with install image r: it
// is checked (a whole cabinet file), copied into <file>/LangPacks/ through a
// synced temporary file, and recorded. A pack of the same name is replaced.
func (s *Store) AddLanguagePack(ctx context.Context, r ImageRef, src string) error {
	if r.Boot {
		return errors.New("language packs belong to install images, not boot images")
	}
	name := filepath.Base(src)
	if err := checkLangPackName(name); err != nil {
		return err
	}
	f, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("language pack: %w", err)
	}
	defer f.Close()
	if err := checkCab(src, f); err != nil {
		return err
	}
	return s.changeLangPacks(r, func(dir, opID string) error {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		return copyFileAtomic(filepath.Join(dir, name), io.NewSectionReader(f, 0, 1<<62), opID)
	})
}

// RemoveLanguagePack removes the language pack named name from image r.
func (s *Store) RemoveLanguagePack(ctx context.Context, r ImageRef, name string) error {
	if err := checkLangPackName(name); err != nil {
		return err
	}
	return s.changeLangPacks(r, func(dir, opID string) error {
		have, err := s.LanguagePacks(r)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(have, func(h string) bool { return strings.EqualFold(h, name) })
		if i < 0 {
			return fmt.Errorf("image %s has no language pack %q", r, name)
		}
		if err := os.Remove(filepath.Join(dir, have[i])); err != nil {
			return err
		}
		syncDir(dir)
		return nil
	})
}

// changeLangPacks runs change on r's LangPacks folder under r's lock and
// journal, then records the folder's content in the catalog.
func (s *Store) changeLangPacks(r ImageRef, change func(dir, opID string) error) error {
	op, err := s.begin(journalEntry{Op: "set-image", Locks: []string{r.lockKey()}, Group: r.Group, File: r.File})
	if err != nil {
		return err
	}
	rec, err := s.record(r)
	if err != nil {
		op.done()
		return err
	}
	if err := change(s.langPacksDir(r), op.e.ID); err != nil {
		op.abandon()
		return err
	}
	if rec.LangPacks, err = s.LanguagePacks(r); err != nil {
		op.abandon()
		return err
	}
	if err := s.putRecord(r, rec); err != nil {
		op.abandon()
		return err
	}
	return op.done()
}
