package store

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// syncFiles makes the files just written in dir (names relative to dir)
// durable. On Linux one syncfs of dir's file system does it for all of
// them: thousands of small files cost one flush instead of one each.
func syncFiles(dir string, names []string) error {
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
