//go:build race

package wim

// raceEnabled: the race detector is on; sync.Pool then drops what it is
// given at random, so allocation counts mean nothing.
const raceEnabled = true
