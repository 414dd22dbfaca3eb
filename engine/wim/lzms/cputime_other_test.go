//go:build !linux

package lzms

import "time"

// threadCPUTime is only available on Linux.
func threadCPUTime() (time.Duration, bool) { return 0, false }
