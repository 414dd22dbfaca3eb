package wim

import (
	"io"
	"os"
	"syscall"
	"time"
	"unsafe"
)

// Constants of utimensat(2).
const (
	atFDCWD           = -100
	atSymlinkNofollow = 0x100
)

// setFileTimes sets the access and modification times of path (a file or
// a folder), to the full 100 ns precision of a WIM, for any date.
func setFileTimes(path string, atime, mtime time.Time) error {
	return utimensat(path, atime, mtime, 0)
}

// setLinkTimes sets the times of the symbolic link at path itself, as
// wimlib does.
func setLinkTimes(path string, atime, mtime time.Time) error {
	return utimensat(path, atime, mtime, atSymlinkNofollow)
}

// outFile is a regular file being applied: a plain blocking descriptor,
// without an os.File (whose NewFile costs an fcntl and a finalizer per
// file), written with write(2), its times set on the descriptor
// (futimens) just before it is closed rather than by path afterwards.
type outFile struct {
	fd   int
	path string // for messages
}

// createOut creates path, which must not exist (O_EXCL: never through a
// link), for writing.
func createOut(path string) (*outFile, error) {
	fd, err := openBlocking(path, syscall.O_WRONLY|syscall.O_CREAT|syscall.O_EXCL, 0o644)
	if err != nil {
		return nil, err
	}
	return &outFile{fd: fd, path: path}, nil
}

// maxRW is the most one write(2) is asked for, as in package os.
const maxRW = 1 << 30

// Write writes all of p, or fails.
func (f *outFile) Write(p []byte) (int, error) {
	return f.writeAll(p, func(q []byte, n int) (int, error) { return syscall.Write(f.fd, q) })
}

// WriteAt writes all of p at offset off, or fails.
func (f *outFile) WriteAt(p []byte, off int64) (int, error) {
	return f.writeAll(p, func(q []byte, n int) (int, error) { return syscall.Pwrite(f.fd, q, off+int64(n)) })
}

// writeAll writes p in pieces of at most maxRW bytes through write, which
// is given each piece and how much of p is already written; interrupted
// calls are retried, a short write of nothing is an error.
func (f *outFile) writeAll(p []byte, write func(q []byte, n int) (int, error)) (int, error) {
	n := 0
	for n < len(p) {
		k, err := write(p[n:min(len(p), n+maxRW)], n)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return n, &os.PathError{Op: "write", Path: f.path, Err: err}
		}
		if k == 0 {
			return n, &os.PathError{Op: "write", Path: f.path, Err: io.ErrShortWrite}
		}
		n += k
	}
	return n, nil
}

// Truncate sets the file's size.
func (f *outFile) Truncate(size int64) error {
	for {
		err := syscall.Ftruncate(f.fd, size)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return &os.PathError{Op: "truncate", Path: f.path, Err: err}
		}
		return nil
	}
}

// finish sets the file's access and modification times on its descriptor
// and closes it; the descriptor is closed whatever fails.
func (f *outFile) finish(atime, mtime time.Time) error {
	ts := [2]syscall.Timespec{timespec(atime), timespec(mtime)}
	// utimensat with a descriptor and no path is futimens(3).
	_, _, errno := syscall.Syscall6(syscall.SYS_UTIMENSAT, uintptr(f.fd), 0,
		uintptr(unsafe.Pointer(&ts[0])), 0, 0, 0)
	cerr := f.Close()
	if errno != 0 {
		return &os.PathError{Op: "utimensat", Path: f.path, Err: errno}
	}
	return cerr
}

// Close closes the file; it does nothing the second time.
func (f *outFile) Close() error {
	if f.fd < 0 {
		return nil
	}
	// Not retried on EINTR: Linux releases the descriptor whatever
	// close(2) returns.
	err := syscall.Close(f.fd)
	f.fd = -1
	if err != nil {
		return &os.PathError{Op: "close", Path: f.path, Err: err}
	}
	return nil
}

func utimensat(path string, atime, mtime time.Time, flags int) error {
	p, err := syscall.BytePtrFromString(path)
	if err != nil {
		return &os.PathError{Op: "utimensat", Path: path, Err: err}
	}
	ts := [2]syscall.Timespec{timespec(atime), timespec(mtime)}
	dirfd := atFDCWD
	_, _, errno := syscall.Syscall6(syscall.SYS_UTIMENSAT, uintptr(dirfd), uintptr(unsafe.Pointer(p)),
		uintptr(unsafe.Pointer(&ts[0])), uintptr(flags), 0, 0)
	if errno != 0 {
		return &os.PathError{Op: "utimensat", Path: path, Err: errno}
	}
	return nil
}

// timespec converts t without the overflow of UnixNano outside 1678–2262
// (a WIM time can be as early as 1601).
func timespec(t time.Time) syscall.Timespec {
	var ts syscall.Timespec
	setInt(&ts.Sec, t.Unix())
	setInt(&ts.Nsec, int64(t.Nanosecond()))
	return ts
}

// setInt stores v in a field that is 32 or 64 bits depending on the
// architecture.
func setInt[T ~int32 | ~int64](p *T, v int64) { *p = T(v) }

// createExcl creates path, which must not exist, for writing, blocking:
// os.OpenFile would make it non-blocking and offer it to the runtime's
// poller, which refuses regular files (fcntl twice, epoll_ctl): 7 % of an
// apply's CPU on tree A. os.NewFile of a blocking descriptor costs one
// fcntl and keeps it out of the poller.
func createExcl(path string) (*os.File, error) {
	fd, err := openBlocking(path, syscall.O_WRONLY|syscall.O_CREAT|syscall.O_EXCL, 0o644)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), path), nil
}

// openBlocking opens path with flag (and O_CLOEXEC) as a plain blocking
// descriptor, retrying on EINTR; errors are *os.PathError, as os.Open's.
func openBlocking(path string, flag int, perm uint32) (int, error) {
	for {
		fd, err := syscall.Open(path, flag|syscall.O_CLOEXEC, perm)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return -1, &os.PathError{Op: "open", Path: path, Err: err}
		}
		return fd, nil
	}
}
