//go:build !linux

package store

import (
	"fmt"
	"os"
	"path/filepath"
)

// syncFiles makes the files just written in dir (names relative to dir)
// durable, one by one.
func syncFiles(dir string, names []string) error {
	for _, n := range names {
		f, err := os.OpenFile(filepath.Join(dir, n), os.O_RDWR, 0)
		if err != nil {
			return err
		}
		err = f.Sync()
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("syncing %s: %w", filepath.Join(dir, n), err)
		}
	}
	return nil
}
