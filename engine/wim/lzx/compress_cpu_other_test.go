//go:build !unix

package lzx

import "time"

// ctCPUTime returns 0: the process's CPU time is not measured here.
func ctCPUTime() time.Duration { return 0 }
