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

// outFile is a regular file being applied.
type outFile struct {
	f      *os.File
	closed bool
}

// createOut creates path, which must not exist, for writing.
func createOut(path string) (*outFile, error) {
	f, err := createExcl(path)
	if err != nil {
		return nil, err
	}
	return &outFile{f: f}, nil
}

func (f *outFile) Write(p []byte) (int, error)              { return f.f.Write(p) }
func (f *outFile) WriteAt(p []byte, off int64) (int, error) { return f.f.WriteAt(p, off) }
func (f *outFile) Truncate(size int64) error                { return f.f.Truncate(size) }

// finish closes the file and sets its access and modification times.
func (f *outFile) finish(atime, mtime time.Time) error {
	if err := f.Close(); err != nil {
		return err
	}
	return os.Chtimes(f.f.Name(), atime, mtime)
}

// Close closes the file; it does nothing the second time.
func (f *outFile) Close() error {
	if f.closed {
		return nil
	}
	f.closed = true
	return f.f.Close()
}
