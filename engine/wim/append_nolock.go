//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package wim

import "os"

// lockFile does nothing on systems without flock.
func lockFile(f *os.File) error { return nil }
