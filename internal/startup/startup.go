// Package startup holds what both WIM Console binaries do before running a
// command: the garbage collector's setting and the optional CPU profile.
// wimconsole (main.go, with the console window) and wimconsole-cli (the
// command line alone, cmd/wimconsole-cli) share it so that they measure and
// behave alike.
package startup

import (
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
)

// ProfileEnv names the variable that asks for a CPU profile of the whole
// run: WIMCONSOLE_CPUPROFILE=cpu.out wimconsole capture …; then go tool pprof.
const ProfileEnv = "WIMCONSOLE_CPUPROFILE"

// Init tunes the runtime for the engine and starts the CPU profile that
// $WIMCONSOLE_CPUPROFILE asks for; problems starting the profile are
// reported on stderr and do not stop the command. It returns the function
// that ends the profile, to be called before the process exits.
func Init(stderr io.Writer) (stop func()) {
	if os.Getenv("GOGC") == "" {
		// The engine's live heap is mostly an image's file tree and the
		// chunks in flight; collecting at +50% instead of Go's +100% keeps
		// peak memory about 20 MB lower on a capture at no measured cost
		// in time (GOGC=100 restores the default). A GOMEMLIMIT given
		// is kept: the floor would replace it.
		if os.Getenv("GOMEMLIMIT") == "" {
			collectFrom(HeapFloor, 50)
		} else {
			debug.SetGCPercent(50)
		}
	}
	return startProfile(os.Getenv(ProfileEnv), stderr)
}

// HeapFloor is the memory (the runtime's: heap, stacks, its own tables;
// the heap is ~24 MB of it) below which Init leaves the collector off. Go's
// first goal at GOGC=50 is 2 MB, so a short command collects again and
// again while it builds the tables it keeps to its end: an add-image of a
// 36,000-file image ran 6 collections (3 -> 17 MB, each freeing little).
// Each cost more than its own work: a collection scans the large arrays
// allocated just before it (a blob table's entries, a metadata tree's
// dentries) before they are filled, which maps the kernel's zero page
// under every untouched page; the writes that fill them then take a
// copy-on-write fault each, with a TLB shootdown sent to the other core:
// 12-19 % of add-image's samples were in do_wp_page. Commands whose heap
// passes the floor (capture, apply) collect as before from there; one
// that never reaches it (the console idle, serve) holds at most that much.
const HeapFloor = 32 << 20

// collectFrom runs no collection until the runtime's memory reaches floor
// bytes, then collects at percent as SetGCPercent does. Go has no minimum
// heap setting; a memory limit with the collector off gives one: the
// limit forces the first collection at floor, which finds the sentinel
// unreachable and runs its cleanup, which turns the collector on at
// percent and lifts the limit.
func collectFrom(floor int64, percent int) {
	debug.SetGCPercent(-1)
	debug.SetMemoryLimit(floor)
	// 32 bytes: not a tiny allocation, whose cleanup may never run.
	sentinel := new([32]byte)
	runtime.AddCleanup(sentinel, func(percent int) {
		debug.SetGCPercent(percent)
		debug.SetMemoryLimit(math.MaxInt64)
	}, percent)
}

// startProfile writes a CPU profile to file when it is set and returns the
// function that ends it.
func startProfile(file string, stderr io.Writer) func() {
	if file == "" {
		return func() {}
	}
	f, err := os.Create(file)
	if err == nil {
		if err = pprof.StartCPUProfile(f); err != nil {
			f.Close()
		}
	}
	if err != nil {
		fmt.Fprintln(stderr, "wimconsole: CPU profile:", err)
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}
