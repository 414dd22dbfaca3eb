package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/wimconsole/wimconsole/engine/wim"
)

// recoverWait is how long start-up recovery waits for the locks of a
// journaled operation: a held lock means the operation is alive in another
// process, and is left alone.
const recoverWait = 100 * time.Millisecond

// Recover finishes or rolls back every journaled operation whose process
// has died (its group locks are free). Open calls it; it returns the first
// error met, leaving the entries it could not settle for next time.
func (s *Store) Recover() error {
	var entries []journalEntry
	err := s.view(func(tx *bolt.Tx) error {
		var err error
		entries, err = journalEntries(tx)
		return err
	})
	if err != nil {
		return err
	}
	if len(entries) > 0 {
		if err := s.writable("recover interrupted operations"); err != nil {
			return err
		}
	}
	var first error
	for _, e := range entries {
		if err := s.recoverEntry(e, recoverWait); err != nil && first == nil && !errors.Is(err, ErrGroupBusy) {
			first = err
		}
	}
	return first
}

// recoverEntry settles one journal entry under its locks.
func (s *Store) recoverEntry(e journalEntry, wait time.Duration) error {
	lock, err := s.lockNames(wait, e.Locks...)
	if err != nil {
		return err
	}
	defer lock.unlock()
	return s.settleEntry(e)
}

// settleEntry settles journal entry e; the caller holds its locks.
func (s *Store) settleEntry(e journalEntry) error {
	// The entry may have been settled meanwhile.
	still := false
	if err := s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketJournal)
		still = b != nil && b.Get([]byte(e.ID)) != nil
		return nil
	}); err != nil {
		return err
	}
	if !still {
		return nil
	}
	if err := s.settle(e); err != nil {
		return fmt.Errorf("store %s: recovering %s %s: %w", s.root, e.Op, e.ID, err)
	}
	return s.update(func(tx *bolt.Tx) error { return deleteKey(tx, bucketJournal, []byte(e.ID)) })
}

func (s *Store) settle(e journalEntry) error {
	dir := s.GroupDir(e.Group)
	if e.Arch != "" {
		dir = s.BootImagesDir(e.Arch)
	}
	switch e.Op {
	case "regroup":
		return s.settleRegroup(e)
	case "remove-group":
		if e.Old != "" {
			if err := os.RemoveAll(filepath.Join(s.root, e.Old)); err != nil {
				return err
			}
		}
		if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
			return s.deleteRecords(e.Group + "/")
		}
		return nil
	case "rename-group":
		if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
			if _, err := os.Stat(s.GroupDir(e.Into)); err == nil {
				return s.moveRecords(e.Group, e.Into)
			}
		}
		return nil
	case "remove-image":
		if _, err := os.Stat(filepath.Join(dir, e.File+".wim")); errors.Is(err, os.ErrNotExist) {
			if err := os.RemoveAll(filepath.Join(dir, e.File)); err != nil {
				return err
			}
			return s.update(func(tx *bolt.Tx) error {
				return deleteKey(tx, bucketImages, []byte(e.Group+"/"+e.File))
			})
		}
		return nil
	case "receive-image":
		if e.File != "" {
			if err := s.settleReceiveReplace(e, dir); err != nil {
				return err
			}
		}
	case "commit-image":
		if err := s.settleCommit(e); err != nil {
			return err
		}
	case "add-image":
		if e.Arch == "" && (e.State == addAdding || e.State == addCommitted || e.State == addAddingOne) {
			return s.settleAdd(e)
		}
	}
	// add-image, copy-image, replace-image, set-image, commit-image: the commit point
	// of each image is the rename of its .wim file. Without it, the
	// external data made for it goes.
	for _, f := range e.Files {
		if _, err := os.Stat(filepath.Join(dir, f+".wim")); errors.Is(err, os.ErrNotExist) {
			if err := os.RemoveAll(filepath.Join(dir, f)); err != nil {
				return err
			}
		}
	}
	if err := cleanTemps(dir, e.ID); err != nil {
		return err
	}
	// The operation's temporary files inside an image's external data: an
	// unattend file or a language pack that was being copied in.
	for _, f := range append([]string{e.File}, e.Files...) {
		if f == "" {
			continue
		}
		for _, sub := range []string{"Unattend", LangPacksDir} {
			if err := cleanTemps(filepath.Join(dir, f, sub), e.ID); err != nil {
				return err
			}
		}
	}
	return clearWriteInProgress(filepath.Join(dir, ResFile))
}

// cleanTemps removes from dir the temporary files of operation id and of
// interrupted WIM writes (those whose writer is dead). The caller holds
// dir's lock.
func cleanTemps(dir, id string) error {
	if _, err := wim.RemoveStaleTemps(dir); err != nil {
		return err
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return err
	}
	for _, en := range ents {
		n := en.Name()
		if id != "" && strings.Contains(n, tempTag+id) {
			if err := os.RemoveAll(filepath.Join(dir, n)); err != nil {
				return err
			}
		}
	}
	return nil
}

// tempTag starts the names of the store's own temporary files and folders.
const tempTag = ".wimconsole-"

// clearWriteInProgress clears the write-in-progress flag a killed append
// leaves in a WIM header (readers ignore it; wimlib warns about it). The
// data the append wrote past the last header is left: nothing references
// it, and the next append overwrites it.
func clearWriteInProgress(name string) error {
	f, err := os.OpenFile(name, os.O_RDWR, 0)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return err
	}
	defer f.Close()
	var b [wim.HeaderSize]byte
	if _, err := f.ReadAt(b[:], 0); err != nil {
		return nil // not a WIM we can fix; verify reports it
	}
	h, err := wim.ParseHeader(b[:])
	if err != nil || h.Flags&wim.FlagWriteInProgress == 0 {
		return nil
	}
	var fl [4]byte
	binary.LittleEndian.PutUint32(fl[:], h.Flags&^wim.FlagWriteInProgress)
	if _, err := f.WriteAt(fl[:], 0x10); err != nil {
		return err
	}
	return f.Sync()
}

// deleteRecords removes the image records whose keys start with prefix.
func (s *Store) deleteRecords(prefix string) error {
	return s.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketImages)
		if b == nil {
			return nil
		}
		var keys [][]byte
		c := b.Cursor()
		for k, _ := c.Seek([]byte(prefix)); k != nil && strings.HasPrefix(string(k), prefix); k, _ = c.Next() {
			keys = append(keys, append([]byte(nil), k...))
		}
		for _, k := range keys {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		return deleteKey(tx, bucketSpace, []byte(strings.TrimSuffix(prefix, "/")))
	})
}

// moveRecords renames the image records of group from to group to.
func (s *Store) moveRecords(from, to string) error {
	return s.update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketImages)
		if err != nil {
			return err
		}
		prefix := from + "/"
		type kv struct{ k, v []byte }
		var moves []kv
		c := b.Cursor()
		for k, v := c.Seek([]byte(prefix)); k != nil && strings.HasPrefix(string(k), prefix); k, v = c.Next() {
			moves = append(moves, kv{append([]byte(nil), k...), append([]byte(nil), v...)})
		}
		for _, m := range moves {
			if err := b.Delete(m.k); err != nil {
				return err
			}
			if err := b.Put([]byte(to+"/"+string(m.k[len(prefix):])), m.v); err != nil {
				return err
			}
		}
		return deleteKey(tx, bucketSpace, []byte(from))
	})
}

// settleAdd finishes a committed add-image (the renames, or for one
// committed by its rename the record) or rolls back one that was not: its
// files go, a new group's folder goes, and Res.rwm gets back its old size
// and header.
func (s *Store) settleAdd(e journalEntry) error {
	dir := s.GroupDir(e.Group)
	renamed := false
	if e.State == addAddingOne && len(e.Files) == 1 {
		// Whether the rename happened decides between keeping the data
		// and cutting it off: a failure to tell is no answer.
		_, err := os.Stat(filepath.Join(dir, e.Files[0]+".wim"))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		renamed = err == nil
	}
	if renamed {
		// Committed (commitRename): the image's record, if the kill came
		// before it.
		if err := s.recordAdded(ImageRef{Group: e.Group, File: e.Files[0]}); err != nil {
			return err
		}
	} else if e.State == addCommitted {
		if err := s.publishAdd(e); err != nil {
			return err
		}
	} else if e.Build != "" {
		if err := os.RemoveAll(filepath.Join(s.root, e.Build)); err != nil {
			return err
		}
	} else {
		for _, f := range e.Files {
			if _, err := os.Stat(filepath.Join(dir, f+".wim")); errors.Is(err, os.ErrNotExist) {
				if err := os.RemoveAll(filepath.Join(dir, f)); err != nil {
					return err
				}
			}
		}
		if err := restoreRes(dir, e); err != nil {
			return err
		}
	}
	if err := cleanTemps(dir, e.ID); err != nil {
		return err
	}
	return clearWriteInProgress(filepath.Join(dir, ResFile))
}

// recordAdded writes the record of image r, added by an add-image that
// was killed after its commit point, unless it has one (a listing made
// it meanwhile): enabled, last in its group, with its unattend file if it
// has one, as a listing records an image it finds.
func (s *Store) recordAdded(r ImageRef) error {
	return s.update(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketImages); b != nil && b.Get(r.key()) != nil {
			return nil
		}
		order, err := lastOrder(tx, r.Group+"/")
		if err != nil {
			return err
		}
		rec := imageRecord{Enabled: true, DisplayOrder: order + 1, Added: time.Now().UTC()}
		if _, err := os.Stat(filepath.Join(s.imageDir(r), r.File, "Unattend", unattendFile)); err == nil {
			rec.Unattend = r.File + "/Unattend/" + unattendFile
		}
		return putJSON(tx, bucketImages, r.key(), rec)
	})
}

// restoreRes gives the Res.rwm of folder dir back the size and header it
// had before add-image e grew it; one that e created goes, unless an image
// of the group uses it.
func restoreRes(dir string, e journalEntry) error {
	name := filepath.Join(dir, ResFile)
	if e.ResHeader == nil {
		if files, err := wimFiles(dir); err != nil || len(files) > 0 {
			return err
		}
		if err := os.Remove(name); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		return nil
	}
	f, err := os.OpenFile(name, os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil // gone meanwhile: nothing to restore
	}
	if err != nil {
		return err
	}
	defer f.Close()
	cur := make([]byte, len(e.ResHeader))
	if _, err := f.ReadAt(cur, 0); err != nil || !bytes.Equal(cur, e.ResHeader) {
		// The old header first: it references nothing past the old size.
		if _, err := f.WriteAt(e.ResHeader, 0); err != nil {
			return fmt.Errorf("restoring the header of %s: %w", name, err)
		}
		if err := f.Sync(); err != nil {
			return fmt.Errorf("restoring the header of %s: %w", name, err)
		}
	}
	if st, err := f.Stat(); err != nil {
		return err
	} else if st.Size() > e.ResSize {
		if err := f.Truncate(e.ResSize); err != nil {
			return fmt.Errorf("cutting %s back to %d bytes: %w", name, e.ResSize, err)
		}
		if err := f.Sync(); err != nil {
			return err
		}
	}
	return nil
}
