// Package atomicfile writes files so that a crash or a failure at any step
// leaves either the old file or the whole new one under the file's name,
// never a part: the data goes to a temporary file in the same folder, which
// is synced, closed and renamed over the name, and then the folder is synced
// so that the rename itself is durable.
//
// WriteFile does it all for data in memory; Create gives a *File to write
// (or copy) into, ended by Commit or Abort. A multi-step operation whose
// journal must record a file as complete before it is renamed into place
// uses CreateTemp (a temporary name its recovery recognises), Close, and
// later Rename.
package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
)

// step, when set (by this package's tests), is called before each step of
// a write ("create", "write", "sync", "close", "rename", "syncdir"); an
// error it returns stands for that step's failure.
var step func(name string) error

func at(name string) error {
	if step == nil {
		return nil
	}
	return step(name)
}

// File is a temporary file that becomes the file name on Commit.
type File struct {
	*os.File        // the temporary file: Write, ReadFrom, Name (its path)
	name     string // the file it replaces on Commit
	closed   bool
	done     bool // committed or aborted: the temporary file is gone or renamed
}

// Create creates a temporary file in name's folder, with permissions perm
// (before the umask, as os.WriteFile), to be written and then renamed to
// name by Commit. Its name is "." and name's base name and ".tmp-" and a
// random number.
func Create(name string, perm fs.FileMode) (*File, error) {
	prefix := filepath.Join(filepath.Dir(name), "."+filepath.Base(name)+".tmp-")
	for try := 0; ; try++ {
		f, err := CreateTemp(name, prefix+strconv.FormatUint(uint64(rand.Uint32()), 10), perm)
		if err == nil || !errors.Is(err, fs.ErrExist) || try == 100 {
			return f, err
		}
	}
}

// CreateTemp is Create with the temporary file's path chosen by the caller
// (one its recovery recognises and removes after a crash): temp, in name's
// folder, which must not exist.
func CreateTemp(name, temp string, perm fs.FileMode) (*File, error) {
	if filepath.Dir(temp) != filepath.Dir(name) {
		return nil, fmt.Errorf("writing %s: temporary file %s is not in the same folder", name, temp)
	}
	if err := at("create"); err != nil {
		return nil, fmt.Errorf("writing %s: %w", name, err)
	}
	f, err := os.OpenFile(temp, os.O_RDWR|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return nil, fmt.Errorf("writing %s: %w", name, err)
	}
	return &File{File: f, name: name}, nil
}

// Close syncs and closes the temporary file and leaves it under its
// temporary name, complete, for the caller to Rename to its name later. On
// failure the temporary file is removed.
func (f *File) Close() error {
	if f.closed {
		return nil
	}
	err := at("sync")
	if err == nil {
		err = f.File.Sync()
	}
	if err == nil {
		err = at("close")
	}
	if cerr := f.File.Close(); err == nil {
		err = cerr
	}
	f.closed = true
	if err != nil {
		f.done = true
		os.Remove(f.File.Name())
		return fmt.Errorf("writing %s: %w", f.name, err)
	}
	return nil
}

// Commit syncs and closes the temporary file, renames it to its name and
// syncs the folder. On failure before the rename the temporary file is
// removed and the file under name is as it was.
func (f *File) Commit() error {
	if f.done {
		return fmt.Errorf("writing %s: already committed or aborted", f.name)
	}
	if err := f.Close(); err != nil {
		return err
	}
	f.done = true
	if err := Rename(f.File.Name(), f.name); err != nil {
		os.Remove(f.File.Name())
		return err
	}
	return nil
}

// Abort closes and removes the temporary file, leaving the file under its
// name as it was. It does nothing after Commit or Abort.
func (f *File) Abort() {
	if f.done {
		return
	}
	f.done = true
	if !f.closed {
		f.closed = true
		f.File.Close()
	}
	os.Remove(f.File.Name())
}

// WriteFile writes data to name with permissions perm through a synced
// temporary file renamed into place, and syncs the folder.
func WriteFile(name string, data []byte, perm fs.FileMode) error {
	f, err := Create(name, perm)
	if err != nil {
		return err
	}
	if err := write(f, data); err != nil {
		return err
	}
	return f.Commit()
}

// WriteFileTemp is WriteFile through the temporary file temp (see
// CreateTemp).
func WriteFileTemp(name, temp string, data []byte, perm fs.FileMode) error {
	f, err := CreateTemp(name, temp, perm)
	if err != nil {
		return err
	}
	if err := write(f, data); err != nil {
		return err
	}
	return f.Commit()
}

func write(f *File, data []byte) error {
	err := at("write")
	if err == nil {
		_, err = f.Write(data)
	}
	if err != nil {
		f.Abort()
		return fmt.Errorf("writing %s: %w", f.name, err)
	}
	return nil
}

// Rename renames the complete file oldpath to newpath and syncs newpath's
// folder, so that the rename survives a crash.
func Rename(oldpath, newpath string) error {
	err := at("rename")
	if err == nil {
		err = os.Rename(oldpath, newpath)
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", newpath, err)
	}
	if err := SyncDir(filepath.Dir(newpath)); err != nil {
		return fmt.Errorf("writing %s: %w", newpath, err)
	}
	return nil
}

// SyncDir makes the entries of folder dir (a file created, renamed or
// removed in it) durable, where the system can: on Windows, and on file
// systems that cannot sync a folder, it does nothing.
func SyncDir(dir string) error {
	if err := at("syncdir"); err != nil {
		return err
	}
	err := syncDir(dir)
	if err != nil && !errors.Is(err, errUnsupported) {
		return fmt.Errorf("syncing folder %s: %w", dir, err)
	}
	return nil
}
