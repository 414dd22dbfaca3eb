//go:build !linux

package wim

import "os"

// copyFileRange copies nothing where the system has no copy_file_range:
// the caller copies through a buffer.
func copyFileRange(dst *os.File, dstOff int64, src *os.File, srcOff, n int64) int64 {
	return 0
}

// startWriteback does nothing where the system cannot start writing a
// range early: the sync at the end writes everything.
var startWriteback = func(f *os.File, off, n int64) {}
