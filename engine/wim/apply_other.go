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
