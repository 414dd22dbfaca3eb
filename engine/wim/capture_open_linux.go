//go:build linux

package wim

import (
	"io"
	"os"
	"syscall"
)

// capOpen opens a file whose data a capture reads. On Linux, os.Open
// makes every file it opens non-blocking and offers it to the runtime's
// poller (fcntl twice, epoll_ctl, refused for a regular file), three
// system calls that a capture of tens of thousands of small files paid for
// each (a tenth of its CPU time with no compression); this file is read
// with plain blocking reads instead.
func capOpen(path string) (io.ReadSeekCloser, error) {
	fd, err := openBlocking(path, syscall.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	return &capFile{fd: fd, path: path}, nil
}

// capFile is a file opened by capOpen.
type capFile struct {
	fd   int
	path string
}

func (f *capFile) Read(p []byte) (int, error) {
	if f.fd < 0 {
		return 0, os.ErrClosed
	}
	if len(p) == 0 {
		return 0, nil
	}
	p = p[:min(len(p), 1<<30)] // as os.File: Linux reads at most ~2 GiB at once
	for {
		n, err := syscall.Read(f.fd, p)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return 0, &os.PathError{Op: "read", Path: f.path, Err: err}
		}
		if n == 0 {
			return 0, io.EOF
		}
		return n, nil
	}
}

func (f *capFile) Seek(off int64, whence int) (int64, error) {
	if f.fd < 0 {
		return 0, os.ErrClosed
	}
	n, err := syscall.Seek(f.fd, off, whence)
	if err != nil {
		return 0, &os.PathError{Op: "seek", Path: f.path, Err: err}
	}
	return n, nil
}

func (f *capFile) Close() error {
	if f.fd < 0 {
		return os.ErrClosed
	}
	err := syscall.Close(f.fd)
	f.fd = -1
	if err != nil {
		return &os.PathError{Op: "close", Path: f.path, Err: err}
	}
	return nil
}
