//go:build !linux

package wim

import (
	"os"
	"time"
)

// setFileTimes sets the access and modification times of path (a file or
// a folder).
func setFileTimes(path string, atime, mtime time.Time) error {
	return os.Chtimes(path, atime, mtime)
}

// setLinkTimes would set the times of a symbolic link itself; the standard
// library has no portable way, so links keep the time they were created at
// on systems other than Linux.
func setLinkTimes(path string, atime, mtime time.Time) error { return nil }

// createExcl creates path, which must not exist, for writing.
func createExcl(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
}
