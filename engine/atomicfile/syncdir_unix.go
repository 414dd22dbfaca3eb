//go:build !windows

package atomicfile

import (
	"errors"
	"os"
	"syscall"
)

// errUnsupported stands for the errors of file systems that cannot sync a
// folder (some network and FUSE file systems): not a failure.
var errUnsupported = errors.New("cannot sync a folder here")

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		if errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOTSUP) {
			return errUnsupported
		}
		return err
	}
	return nil
}
