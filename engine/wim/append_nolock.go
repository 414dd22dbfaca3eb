//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package wim

import "os"

// lockFile does nothing on systems without flock.
func lockFile(f *os.File) error { return nil }

// lockTemp does nothing on systems without flock (on Windows a file open
// for writing cannot be removed, which keeps a live writer's file).
func lockTemp(f *os.File) (*os.File, error) { return nil, nil }

// tryLockTemp cannot tell a live writer's file without flock; removing it
// fails while the writer has it open.
func tryLockTemp(f *os.File) (bool, error) { return true, nil }
