package wim

import (
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"time"
)

// TempInfix is what the name of a new WIM's temporary file holds: Create
// writes FILE as .FILE.wimconsole-tmp<12 hex digits> in FILE's folder, then
// renames it. A writer that is killed leaves it; RemoveStaleTemps removes
// it later.
const TempInfix = ".wimconsole-tmp"

var (
	tempName = regexp.MustCompile(`^\..+\.wimconsole-tmp[0-9a-f]{12}$`)
	// Earlier versions named them .FILE.tmp<12 hex digits>, unlocked.
	legacyTempName = regexp.MustCompile(`^\..+\.tmp[0-9a-f]{12}$`)
)

// legacyTempAge is how old a temporary file of an earlier version (which
// held no lock) must be before it is taken for a killed writer's.
const legacyTempAge = time.Hour

// isTempName reports whether name (a base name) is that of a temporary file
// of a WIM being written by Create.
func isTempName(name string) bool { return tempName.MatchString(name) }

// createTemp creates a new file in dir named after base, with the
// permissions os.Create gives, and locks it for its writer (see lockTemp).
// hold, when not nil, keeps the lock until closed.
func createTemp(dir, base string) (f, hold *os.File, err error) {
	var b [6]byte
	for range 100 {
		rand.Read(b[:])
		name := filepath.Join(dir, fmt.Sprintf(".%s%s%x", base, TempInfix, b))
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
		if os.IsExist(err) {
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		hold, err := lockTemp(f)
		if errors.Is(err, errTempTaken) {
			// A cleaner in another goroutine or process holds it and
			// removes it: try another name.
			f.Close()
			continue
		}
		if err == nil && !stillAt(f, name) {
			// Another process took it for a dead writer's between its
			// creation and the lock: try another name.
			if hold != nil {
				hold.Close()
			}
			f.Close()
			continue
		}
		if err != nil {
			f.Close()
			os.Remove(name)
			return nil, nil, fmt.Errorf("%s: locking: %w", name, err)
		}
		return f, hold, nil
	}
	return nil, nil, fmt.Errorf("cannot create a temporary file in %s", dir)
}

// errTempTaken says that a new temporary file was locked by a
// RemoveStaleTemps between its creation and its writer's lock.
var errTempTaken = errors.New("temporary file taken by a cleaner")

// stillAt reports whether the open file f is still the file called name.
func stillAt(f *os.File, name string) bool {
	a, err := f.Stat()
	if err != nil {
		return false
	}
	b, err := os.Lstat(name)
	return err == nil && os.SameFile(a, b)
}

// RemoveStaleTemps removes from dir the temporary files that writers of new
// WIM files (Create) left when they were killed, and returns their names. A
// file whose writer is alive is left alone: its writer holds a lock on it
// for as long as the file exists (where the system has flock; on Windows a
// file open for writing cannot be removed). Create and OpenAppend call it
// on the folder they write into; errors are returned but leave the rest.
func RemoveStaleTemps(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, nil
		}
		return nil, err
	}
	var removed []string
	var first error
	for _, e := range ents {
		n := e.Name()
		legacy := !tempName.MatchString(n) && legacyTempName.MatchString(n)
		if !e.Type().IsRegular() || !(legacy || tempName.MatchString(n)) {
			continue
		}
		ok, err := removeStaleTemp(filepath.Join(dir, n), legacy)
		if err != nil && first == nil {
			first = err
		}
		if ok {
			removed = append(removed, n)
		}
	}
	return removed, first
}

// removeStaleTemp removes the temporary file name unless a live writer
// holds it. An earlier version's file (legacy) is removed only when it is
// old and looks like a WIM being written (its header, written last, still
// zeros, or a WIM header).
func removeStaleTemp(name string, legacy bool) (bool, error) {
	f, err := os.Open(name)
	if err != nil {
		if os.IsNotExist(err) {
			return false, nil
		}
		return false, err
	}
	defer f.Close()
	free, err := tryLockTemp(f)
	if err != nil || !free {
		return false, err
	}
	if legacy {
		st, err := f.Stat()
		if err != nil || time.Since(st.ModTime()) < legacyTempAge || !tempLooksLikeWIM(f) {
			return false, err
		}
	}
	// The name may have been renamed into place or removed meanwhile;
	// names are never reused, so the same file at the name is the one
	// locked.
	if !stillAt(f, name) {
		return false, nil
	}
	if err := os.Remove(name); err != nil {
		if os.IsNotExist(err) {
			return false, nil
		}
		return false, fmt.Errorf("removing the temporary file %s: %w", name, err)
	}
	return true, nil
}

// tempLooksLikeWIM reports whether f starts as a WIM being written does:
// with zeros where the header goes, or with a WIM header.
func tempLooksLikeWIM(f *os.File) bool {
	var b [HeaderSize]byte
	if _, err := f.ReadAt(b[:], 0); err != nil {
		return false
	}
	if _, err := ParseHeader(b[:]); err == nil {
		return true
	}
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
