// Package procio reads what the kernel counts of this process's I/O, for
// tests that check how much an operation reads and benchmarks that report
// it.
package procio

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

// ErrNotCounted is the error of Counts where the system does not count
// the process's I/O (no /proc/self/io, or one without rchar and wchar).
var ErrNotCounted = errors.New("this system does not count the process's I/O in /proc/self/io")

// Counts returns the bytes this process has read and written through read
// and write system calls (rchar and wchar of /proc/self/io), pread and
// pwrite included. Where the system does not count them the error wraps
// ErrNotCounted.
func Counts() (read, written int64, err error) {
	f, err := os.Open("/proc/self/io")
	if err != nil {
		return 0, 0, fmt.Errorf("%w: %v", ErrNotCounted, err)
	}
	defer f.Close()
	seen := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ": ")
		if !ok || (k != "rchar" && k != "wchar") {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("/proc/self/io: %s is not a number: %q", k, v)
		}
		if k == "rchar" {
			read = n
		} else {
			written = n
		}
		seen++
	}
	if err := sc.Err(); err != nil {
		return 0, 0, fmt.Errorf("reading /proc/self/io: %w", err)
	}
	if seen != 2 {
		return 0, 0, fmt.Errorf("%w: it has no rchar and wchar", ErrNotCounted)
	}
	return read, written, nil
}

// ReadBytes returns the bytes this process has read through read system
// calls (rchar of /proc/self/io), pread included. It skips the test where
// the system does not count them.
func ReadBytes(t testing.TB) int64 {
	t.Helper()
	n, _, err := Counts()
	if errors.Is(err, ErrNotCounted) {
		t.Skipf("no count of the bytes read: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return n
}
