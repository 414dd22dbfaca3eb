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

// lockTemp takes an exclusive lock on the new temporary file f for as long
// as its writer lives, so that RemoveStaleTemps never takes a live writer's
// file. The lock is held through a second descriptor of f's open file,
// returned to be closed once the temporary file has been renamed or
// removed (the writer closes f itself before renaming).
// It returns errTempTaken when another writer's RemoveStaleTemps opened
// and locked the file between its creation and this lock, taking it for a
// killed writer's.
func lockTemp(f *os.File) (*os.File, error) {
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, errTempTaken
		}
		return nil, err
	}
	fd, err := syscall.Dup(int(f.Fd()))
	if err != nil {
		return nil, err
	}
	syscall.CloseOnExec(fd)
	return os.NewFile(uintptr(fd), f.Name()), nil
}

// tryLockTemp reports whether f, a temporary file found in a folder, is
// held by no writer: it takes the lock a live writer holds (released when
// f is closed).
func tryLockTemp(f *os.File) (bool, error) {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return false, nil
	}
	return err == nil, err
}
