//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package wim

import (
	"errors"
	"os"
	"syscall"
)

// lockFile takes an exclusive advisory lock on f for the time it is open,
// failing at once if another writer (this package or wimlib) holds it.
func lockFile(f *os.File) error {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return errors.New("the file is being changed by another process")
	}
	return err
}
