package wim

import (
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
