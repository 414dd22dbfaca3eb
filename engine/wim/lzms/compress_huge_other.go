//go:build !linux

package lzms

// wordMap is a mapping of the interval tree's words: on Linux only (see
// compress_huge_linux.go); elsewhere they live on the heap.
type wordMap struct{}

// mapWords returns nil, nil: the caller uses the heap.
func mapWords(int) ([]uint32, *wordMap) { return nil, nil }

func (m *wordMap) free() {}
