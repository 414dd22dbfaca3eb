package store

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// maxEachSync is the most files syncFiles syncs one by one; for more, one
// syncfs of the file system costs less than a flush each.
const maxEachSync = 16

// syncFiles makes the files just written in dir (names relative to dir)
// durable, with the folders that hold them, dir's parent too (dir may be
// new: a new group's hidden folder). A few files are synced one by one,
// with their folders: a syncfs would also wait for every other program's
// unwritten data on the file system. For many, one syncfs of dir's file
// system does it for all of them: thousands of small files cost one flush
// instead of one each.
func syncFiles(dir string, names []string) error {
	if len(names) <= maxEachSync {
		return syncEach(dir, names)
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := unix.Syncfs(int(d.Fd())); err != nil {
		return fmt.Errorf("syncing %s: %w", dir, err)
	}
	return nil
}

// syncEach syncs the files names of dir, then the folders they are in up
// to dir, dir and dir's parent.
func syncEach(dir string, names []string) error {
	dirs := []string{}
	seen := map[string]bool{}
	for _, n := range names {
		if err := syncPath(filepath.Join(dir, n)); err != nil {
			return err
		}
		for d := filepath.Dir(n); d != "." && !seen[d]; d = filepath.Dir(d) {
			seen[d] = true
			dirs = append(dirs, filepath.Join(dir, d))
		}
	}
	for _, d := range append(dirs, dir, filepath.Dir(dir)) {
		if err := syncPath(d); err != nil {
			return err
		}
	}
	return nil
}

// syncPath syncs the file or folder name (a variable for the tests).
var syncPath = func(name string) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("syncing %s: %w", name, err)
	}
	return nil
}
