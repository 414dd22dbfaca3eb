//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package store

import "syscall"

// dirWritable reports whether files can be made in dir: the system's
// access check, which a read-only mount fails even for root.
func dirWritable(dir string) error {
	const wOK = 2 // W_OK
	return syscall.Access(dir, wOK)
}
