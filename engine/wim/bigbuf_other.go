//go:build !linux

package wim

// bigBuf returns nil: the caller allocates on the Go heap.
func bigBuf(n int64) ([]byte, func()) { return nil, func() {} }

// mapBuf returns nil: the caller allocates on the Go heap.
func mapBuf(n int64, huge bool) ([]byte, func()) { return nil, func() {} }

// dropPages does nothing: mapBuf maps nothing.
func dropPages([]byte) {}
