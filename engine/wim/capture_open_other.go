//go:build !linux

package wim

import (
	"io"
	"os"
)

// capOpen opens a file whose data a capture reads (see the Linux version).
func capOpen(path string) (io.ReadSeekCloser, error) { return os.Open(path) }
