//go:build !unix

package servicing

import "time"

// cpuTime is unknown here.
func cpuTime() time.Duration { return 0 }
