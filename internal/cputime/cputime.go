// Package cputime reads the CPU time of the calling OS thread, for
// benchmarks that time one goroutine locked to its thread: on a machine
// shared with other work that figure varies far less with the load than
// wall time does.
package cputime
