//go:build !linux

package wim

import "os"

// bigBuf returns nil: the caller allocates on the Go heap.
func bigBuf(n int64) ([]byte, func()) { return nil, func() {} }

// mapBuf returns nil: the caller allocates on the Go heap.
func mapBuf(n int64, huge bool) ([]byte, func()) { return nil, func() {} }

// dropPages does nothing: mapBuf maps nothing.
func dropPages([]byte) {}

// mapFile returns nil: the caller reads the file.
func mapFile(f *os.File, off int64, n int) ([]byte, func()) { return nil, nil }
