package wim

import (
	"os"

	"golang.org/x/sys/unix"
)

// copyFileRange copies up to n bytes from src at srcOff to dst at dstOff
// inside the kernel (copy_file_range), so the data crosses memory once
// instead of twice through a buffer of ours, and returns how many bytes
// it copied. It stops early, without an error, wherever the kernel will
// not copy (another file system, a short source, ...): the caller copies
// the rest through a buffer, whose read or write names any real error.
func copyFileRange(dst *os.File, dstOff int64, src *os.File, srcOff, n int64) int64 {
	sc, err := src.SyscallConn()
	if err != nil {
		return 0
	}
	dc, err := dst.SyscallConn()
	if err != nil {
		return 0
	}
	var done int64
	sc.Control(func(sfd uintptr) {
		dc.Control(func(dfd uintptr) {
			for done < n {
				so, do := srcOff+done, dstOff+done
				k, err := unix.CopyFileRange(int(sfd), &so, int(dfd), &do, int(min(n-done, 1<<30)), 0)
				if err == unix.EINTR {
					continue
				}
				if err != nil || k <= 0 {
					return
				}
				done += int64(k)
			}
		})
	})
	return done
}

// startWriteback asks the kernel to start writing n bytes of f at off to
// the disk, without waiting (sync_file_range WRITE): data that will be
// synced anyway goes out while the program works on, and the sync at the
// end waits only for the rest. It guarantees nothing by itself (no
// metadata, no flush of the disk's cache): the sync still does that.
// Errors are ignored: the sync reports any.
// (A variable for the tests.)
var startWriteback = func(f *os.File, off, n int64) {
	c, err := f.SyscallConn()
	if err != nil {
		return
	}
	c.Control(func(fd uintptr) {
		unix.SyncFileRange(int(fd), off, n, unix.SYNC_FILE_RANGE_WRITE)
	})
}
