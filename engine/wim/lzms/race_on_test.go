//go:build race

package lzms

// raceEnabled: the race detector is on; its instrumentation makes
// allocations of its own, so allocation counts mean nothing.
const raceEnabled = true
