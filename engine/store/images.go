package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/wimconsole/wimconsole/engine/atomicfile"
	"github.com/wimconsole/wimconsole/engine/unattend"
	"github.com/wimconsole/wimconsole/engine/wim"
)

// Image types.
const (
	TypeInstall = "install"
	TypeBoot    = "boot"
)

// Image is what the store knows about one image: from its WIM file, the
// catalog and the group's space figures.
type Image struct {
	Ref            string    `json:"image"` // GROUP/FILE or boot/ARCH/FILE
	Type           string    `json:"type"`  // install or boot
	Group          string    `json:"group,omitempty"`
	BootArch       string    `json:"boot_arch,omitempty"`
	File           string    `json:"file"` // file name with .wim
	Path           string    `json:"path"`
	Name           string    `json:"name"`
	Description    string    `json:"description"`
	Arch           string    `json:"arch"`
	Enabled        bool      `json:"enabled"`
	Status         string    `json:"status"` // enabled or disabled
	DisplayOrder   int       `json:"display_order"`
	ExpandedBytes  int64     `json:"expanded_bytes"`
	ExclusiveBytes int64     `json:"exclusive_bytes"`
	SharedBytes    int64     `json:"shared_bytes"`
	FileBytes      int64     `json:"file_bytes"`
	Created        time.Time `json:"created"`
	OSVersion      string    `json:"os_version,omitempty"`
	Edition        string    `json:"edition,omitempty"`
	ProductName    string    `json:"product_name,omitempty"`
	Languages      []string  `json:"languages,omitempty"`
	Unattend       string    `json:"unattend,omitempty"`
	LangPacks      []string  `json:"language_packs,omitempty"`
	Sessions       int       `json:"sessions"`
}

// readFacts reads the properties of image file path (image 1).
func readFacts(path string) (*wimFacts, error) {
	w, err := wim.Open(path, &wim.OpenOptions{NoSplitSearch: true})
	if err != nil {
		return nil, err
	}
	defer w.Close()
	info := w.XML().Image(1)
	if info == nil {
		return nil, fmt.Errorf("%s: holds no image", path)
	}
	f := &wimFacts{
		Name: info.Name, Description: info.Description, ExpandedBytes: info.TotalBytes,
		Created: info.Created, Files: info.FileCount, Dirs: info.DirCount,
	}
	if wi := info.Windows; wi != nil {
		f.Arch = archName(wi.Arch)
		v := wi.Version
		if v.Major != 0 || v.Build != 0 {
			f.Version = fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Build)
			if v.SPBuild != 0 {
				f.Version += fmt.Sprintf(".%d", v.SPBuild)
			}
		}
		f.Edition = wi.EditionID
		f.ProductName = wi.ProductName
		f.Languages = wi.Languages
		f.DefaultLanguage = wi.DefaultLanguage
	}
	if f.Edition == "" {
		f.Edition = info.Flags
	}
	return f, nil
}

// archName gives WDS's name of a <WINDOWS><ARCH> code.
func archName(code int) string {
	switch code {
	case 0:
		return "x86"
	case 5:
		return "arm"
	case 6:
		return "ia64"
	case 9:
		return "x64"
	case 12:
		return "arm64"
	}
	return fmt.Sprintf("arch%d", code)
}

// ListOptions select images for ListImages.
type ListOptions struct {
	Group string // one group only ("" all)
	Type  string // TypeInstall, TypeBoot or "" for both
	// NoSpace skips the exclusive and shared figures (which need every
	// image's metadata of the group when not cached).
	NoSpace bool
}

// allRefs lists every image file in the store.
func (s *Store) allRefs(o ListOptions) ([]ImageRef, error) {
	var refs []ImageRef
	if o.Type != TypeBoot {
		groups, err := s.Groups()
		if err != nil {
			return nil, err
		}
		if o.Group != "" {
			if err := s.needGroup(o.Group); err != nil {
				return nil, err
			}
			groups = []string{o.Group}
		}
		for _, g := range groups {
			files, err := s.groupFiles(g)
			if err != nil {
				return nil, err
			}
			for _, f := range files {
				refs = append(refs, ImageRef{Group: g, File: f})
			}
		}
	}
	if o.Type != TypeInstall && o.Group == "" {
		archs, err := s.Archs()
		if err != nil {
			return nil, err
		}
		for _, a := range archs {
			files, err := wimFiles(s.BootImagesDir(a))
			if err != nil {
				return nil, err
			}
			for _, f := range files {
				refs = append(refs, ImageRef{Boot: true, Arch: a, File: f})
			}
		}
	}
	return refs, nil
}

// ListImages returns the images of the store (or of one group), reconciling
// the catalog with the files first: a WIM copied in by hand gets a record
// (enabled, last in order), a record whose file is gone is dropped.
// Images are sorted by group, display order, then name.
func (s *Store) ListImages(ctx context.Context, o ListOptions) ([]Image, error) {
	if o.Type != "" && o.Type != TypeInstall && o.Type != TypeBoot && o.Type != "all" {
		return nil, fmt.Errorf("image type %q: want install, boot or all", o.Type)
	}
	if o.Type == "all" {
		o.Type = ""
	}
	refs, err := s.allRefs(o)
	if err != nil {
		return nil, err
	}
	recs, err := s.reconcile(refs, o)
	if err != nil {
		return nil, err
	}
	sessions, err := s.sessionCounts()
	if err != nil {
		return nil, err
	}
	spaces := map[string]*GroupSpace{}
	var out []Image
	for _, r := range refs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		rec := recs[r.String()]
		im, err := s.describe(r, rec)
		if err != nil {
			// A damaged file is listed with what is known.
			im.Description = "unreadable: " + err.Error()
		}
		im.Sessions = sessions[r.String()]
		if !r.Boot && !o.NoSpace {
			gs, ok := spaces[r.Group]
			if !ok {
				gs, _ = s.groupSpace(ctx, r.Group)
				spaces[r.Group] = gs
			}
			if gs != nil {
				for _, is := range gs.Images {
					if is.File == r.File+".wim" {
						im.ExclusiveBytes, im.SharedBytes = is.ExclusiveBytes, is.SharedBytes
					}
				}
			}
		}
		out = append(out, im)
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Type != b.Type {
			return a.Type == TypeInstall
		}
		ga, gb := strings.ToLower(a.Group+a.BootArch), strings.ToLower(b.Group+b.BootArch)
		if ga != gb {
			return ga < gb
		}
		if a.DisplayOrder != b.DisplayOrder {
			return a.DisplayOrder < b.DisplayOrder
		}
		return strings.ToLower(a.Name) < strings.ToLower(b.Name)
	})
	return out, nil
}

// describe builds the Image of r from its file and record, refreshing the
// record's cached facts when the file changed (the record is not saved).
func (s *Store) describe(r ImageRef, rec imageRecord) (Image, error) {
	path := s.ImagePath(r)
	im := Image{Ref: r.String(), File: r.File + ".wim", Path: path, Enabled: rec.Enabled,
		DisplayOrder: rec.DisplayOrder, Unattend: rec.Unattend, LangPacks: rec.LangPacks}
	if r.Boot {
		im.Type, im.BootArch = TypeBoot, r.Arch
	} else {
		im.Type, im.Group = TypeInstall, r.Group
	}
	im.Status = "disabled"
	if rec.Enabled {
		im.Status = "enabled"
	}
	st, err := os.Stat(path)
	if err != nil {
		return im, err
	}
	im.FileBytes = st.Size()
	facts := rec.Cache
	if facts == nil || rec.CacheSize != st.Size() || rec.CacheMtime != st.ModTime().UnixNano() {
		facts, err = readFacts(path)
		if err != nil {
			return im, err
		}
	}
	im.Name, im.Description, im.Arch = facts.Name, facts.Description, facts.Arch
	im.ExpandedBytes, im.Created = facts.ExpandedBytes, facts.Created
	im.OSVersion, im.Edition, im.ProductName, im.Languages = facts.Version, facts.Edition, facts.ProductName, facts.Languages
	return im, nil
}

// reconcile brings the catalog's records of refs in line with the files and
// returns the records by key. Records of images under o's scope whose
// files are gone are deleted, unless an operation on their group is in
// progress (its journal entry says so).
//
// Listing must not write: the catalog is read in a read-only transaction,
// and written only when it differs from the files (a new or changed image
// file, a record to drop). The write transaction works again from the
// records it reads itself, so that a change another process made meanwhile
// is kept; the facts read from the files in the first pass are reused.
func (s *Store) reconcile(refs []ImageRef, o ListOptions) (map[string]imageRecord, error) {
	memo := map[string]factsAt{}
	var recs map[string]imageRecord
	stale := false
	err := s.view(func(tx *bolt.Tx) error {
		var err error
		recs, stale, err = s.reconcileTx(tx, refs, o, memo, false)
		return err
	})
	if err != nil || !stale || s.ro != "" {
		// A read-only store: what changed is known here, not recorded.
		return recs, err
	}
	err = s.update(func(tx *bolt.Tx) error {
		var err error
		recs, _, err = s.reconcileTx(tx, refs, o, memo, true)
		return err
	})
	return recs, err
}

// factsAt is what readFacts found in a file of the given size and time.
type factsAt struct {
	size, mtime int64
	facts       *wimFacts
}

// reconcileTx is reconcile's work in transaction tx. With write false it
// changes nothing and reports whether the catalog is stale; with write
// true it brings the records up to date.
func (s *Store) reconcileTx(tx *bolt.Tx, refs []ImageRef, o ListOptions, memo map[string]factsAt, write bool) (map[string]imageRecord, bool, error) {
	recs, err := imageRecords(tx)
	if err != nil {
		return nil, false, err
	}
	journal, err := journalEntries(tx)
	if err != nil {
		return nil, false, err
	}
	stale := false
	busy := map[string]bool{}
	for _, e := range journal {
		for _, l := range e.Locks {
			busy[strings.ToLower(l)] = true
		}
	}
	present := map[string]bool{}
	maxOrder := map[string]int{}
	scope := func(key string) string { // group or boot/arch of a key
		if i := strings.LastIndexByte(key, '/'); i >= 0 {
			return key[:i]
		}
		return key
	}
	for k, r := range recs {
		if r.DisplayOrder > maxOrder[scope(k)] {
			maxOrder[scope(k)] = r.DisplayOrder
		}
	}
	for _, r := range refs {
		k := r.String()
		present[k] = true
		old, ok := recs[k]
		path := s.ImagePath(r)
		st, err := os.Stat(path)
		if err != nil {
			continue
		}
		size, mtime := st.Size(), st.ModTime().UnixNano()
		if ok && old.Cache != nil && old.CacheSize == size && old.CacheMtime == mtime {
			continue
		}
		fa, seen := memo[k]
		if !seen || fa.size != size || fa.mtime != mtime {
			fa = factsAt{size: size, mtime: mtime}
			fa.facts, _ = readFacts(path)
			memo[k] = fa
		}
		if ok && fa.facts == nil {
			continue // unreadable, and already recorded: nothing to write
		}
		stale = true
		rec := old
		if !ok {
			maxOrder[scope(k)]++
			rec = imageRecord{Enabled: true, DisplayOrder: maxOrder[scope(k)], Added: time.Now().UTC()}
			if _, err := os.Stat(filepath.Join(s.imageDir(r), r.File, "Unattend", unattendFile)); err == nil {
				rec.Unattend = r.File + "/Unattend/" + unattendFile
			}
		}
		if fa.facts != nil {
			rec.Cache, rec.CacheSize, rec.CacheMtime = fa.facts, size, mtime
		}
		recs[k] = rec
		if write {
			if err := putJSON(tx, bucketImages, []byte(k), rec); err != nil {
				return nil, false, err
			}
		}
	}
	for k := range recs {
		if present[k] {
			continue
		}
		ref, _ := ParseImageRef(k)
		inScope := (ref.Boot && o.Type != TypeInstall && o.Group == "") ||
			(!ref.Boot && o.Type != TypeBoot && (o.Group == "" || o.Group == ref.Group))
		if !inScope || busy[strings.ToLower(ref.lockKey())] {
			continue
		}
		if _, err := os.Stat(s.ImagePath(ref)); errors.Is(err, os.ErrNotExist) || ref.File == "" {
			stale = true
			delete(recs, k)
			if write {
				if err := deleteKey(tx, bucketImages, []byte(k)); err != nil {
					return nil, false, err
				}
			}
		}
	}
	return recs, stale, nil
}

// unattendFile is the name WDS gives a per-image unattend file.
const unattendFile = "ImageUnattend.xml"

// GetImage describes image r.
func (s *Store) GetImage(ctx context.Context, r ImageRef) (Image, error) {
	if _, err := os.Stat(s.ImagePath(r)); err != nil {
		return Image{}, fmt.Errorf("image %s does not exist", r)
	}
	var o ListOptions
	if r.Boot {
		o.Type = TypeBoot
	} else {
		o.Group, o.Type = r.Group, TypeInstall
	}
	ims, err := s.ListImages(ctx, o)
	if err != nil {
		return Image{}, err
	}
	for _, im := range ims {
		if im.Ref == r.String() {
			return im, nil
		}
	}
	return Image{}, fmt.Errorf("image %s does not exist", r)
}

// record returns the catalog record of r (reconciled from its file).
func (s *Store) record(r ImageRef) (imageRecord, error) {
	if _, err := os.Stat(s.ImagePath(r)); err != nil {
		return imageRecord{}, fmt.Errorf("image %s does not exist", r)
	}
	o := ListOptions{Group: r.Group, Type: TypeInstall}
	if r.Boot {
		o = ListOptions{Type: TypeBoot}
	}
	recs, err := s.reconcile([]ImageRef{r}, ListOptions{Group: "\x00none", Type: o.Type})
	if err != nil {
		return imageRecord{}, err
	}
	return recs[r.String()], nil
}

// putRecord stores rec as r's record.
func (s *Store) putRecord(r ImageRef, rec imageRecord) error {
	return s.update(func(tx *bolt.Tx) error { return putJSON(tx, bucketImages, r.key(), rec) })
}

// SetOptions are the changes SetImage makes; nil fields stay as they are.
type SetOptions struct {
	Enabled      *bool
	Name         *string
	Description  *string
	Unattend     *string // path of an unattend XML file to copy in; "" removes it
	DisplayOrder *int
}

// SetImage changes image r's properties: catalog state directly, the name
// and description in its WIM file (rewritten in place, crash-safe: new XML
// data and header written last), the unattend file through a temporary
// file renamed into place.
func (s *Store) SetImage(ctx context.Context, r ImageRef, o SetOptions) error {
	var unattendData []byte
	if o.Unattend != nil && *o.Unattend != "" {
		var err error
		if unattendData, err = readUnattend(*o.Unattend); err != nil {
			return err
		}
	}
	e := journalEntry{Op: "set-image", Locks: []string{r.lockKey()}, File: r.File}
	if r.Boot {
		e.Arch = r.Arch
	} else {
		e.Group = r.Group
	}
	op, err := s.begin(e)
	if err != nil {
		return err
	}
	rec, err := s.record(r)
	if err != nil {
		op.done()
		return err
	}
	if o.Name != nil || o.Description != nil {
		if o.Name != nil {
			if *o.Name == "" {
				op.done()
				return errors.New("an image name cannot be empty")
			}
			if err := s.checkNameFree(r, *o.Name); err != nil {
				op.done()
				return err
			}
		}
		w, err := wim.OpenAppend(s.ImagePath(r), wim.WriteOptions{})
		if err != nil {
			op.done()
			return err
		}
		im := &w.Info().Images[0]
		if o.Name != nil {
			im.Name = *o.Name
			if im.DisplayName != "" {
				im.DisplayName = *o.Name
			}
		}
		if o.Description != nil {
			im.Description = *o.Description
			if im.DisplayDescription != "" {
				im.DisplayDescription = *o.Description
			}
		}
		if err := w.Close(); err != nil {
			op.done()
			return err
		}
		rec.Cache = nil
	}
	if o.Unattend != nil {
		rel, err := s.installUnattend(r, unattendData, op.e.ID)
		if err != nil {
			op.abandon()
			return err
		}
		rec.Unattend = rel
	}
	if o.Enabled != nil {
		rec.Enabled = *o.Enabled
	}
	if o.DisplayOrder != nil {
		rec.DisplayOrder = *o.DisplayOrder
	}
	if err := s.putRecord(r, rec); err != nil {
		op.abandon()
		return err
	}
	return op.done()
}

// checkNameFree reports an error when another image of r's group (or boot
// architecture) is named name.
func (s *Store) checkNameFree(r ImageRef, name string) error {
	files, err := wimFiles(s.imageDir(r))
	if err != nil {
		return err
	}
	for _, f := range files {
		if f == r.File {
			continue
		}
		other := r
		other.File = f
		fa, err := readFacts(s.ImagePath(other))
		if err == nil && strings.EqualFold(fa.Name, name) {
			return fmt.Errorf("image %s is already named %q", other, name)
		}
	}
	return nil
}

// maxUnattend bounds the size of an answer file read from the user.
const maxUnattend = 16 << 20

// readUnattend reads the answer file at path once and checks those bytes: a
// regular file, of sane size, a valid unattend document (well-formed, the
// urn:schemas-microsoft-com:unattend root, known pass names). The caller
// installs the same bytes, so a file swapped after the check cannot slip in.
func readUnattend(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("unattend file: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return nil, fmt.Errorf("unattend file %s: not a regular file", path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxUnattend+1))
	if err != nil {
		return nil, fmt.Errorf("unattend file %s: %w", path, err)
	}
	if len(data) > maxUnattend {
		return nil, fmt.Errorf("unattend file %s: larger than %d bytes, too large for an answer file", path, maxUnattend)
	}
	if err := unattend.Validate(path, data); err != nil {
		return nil, fmt.Errorf("unattend file: %w", err)
	}
	return data, nil
}

// installUnattend writes data as r's ImageUnattend.xml (temporary file,
// synced, renamed), or removes it when data is nil. It returns the path
// recorded in the catalog.
func (s *Store) installUnattend(r ImageRef, data []byte, opID string) (string, error) {
	dir := filepath.Join(s.imageDir(r), r.File, "Unattend")
	dest := filepath.Join(dir, unattendFile)
	if data == nil {
		if err := os.Remove(dest); err != nil && !errors.Is(err, os.ErrNotExist) {
			return "", err
		}
		return "", nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	if err := writeFileAtomic(dest, data, opID); err != nil {
		return "", err
	}
	return r.File + "/Unattend/" + unattendFile, nil
}

// writeFileAtomic writes data to name through a synced temporary file.
func writeFileAtomic(name string, data []byte, opID string) error {
	return copyFileAtomic(name, bytes.NewReader(data), opID)
}

// copyFileAtomic copies r to name through a synced temporary file (named
// after opID, so recovery can find it), renamed into place.
func copyFileAtomic(name string, r io.Reader, opID string) error {
	f, err := atomicfile.CreateTemp(name, filepath.Join(filepath.Dir(name), tempTag+opID+"-"+filepath.Base(name)), 0o644)
	if err != nil {
		return err
	}
	defer f.Abort()
	if _, err := io.Copy(f, r); err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	step("file-temp-written")
	return f.Commit()
}

// syncDir makes the renames just made in dir durable where it can. Its
// callers have renamed their files into place already: a folder that
// cannot be synced is no reason to undo that, so the error is dropped.
func syncDir(dir string) {
	_ = atomicfile.SyncDir(dir)
}
