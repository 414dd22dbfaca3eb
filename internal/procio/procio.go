// Package procio reads what the kernel counts of this process's I/O, for
// tests that check how much an operation reads.
package procio

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"
)

// ReadBytes returns the bytes this process has read through read system
// calls (rchar of /proc/self/io), pread included. It skips the test where
// the system has no /proc/self/io.
func ReadBytes(t testing.TB) int64 {
	t.Helper()
	f, err := os.Open("/proc/self/io")
	if err != nil {
		t.Skipf("no /proc/self/io to count the bytes read: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "rchar: "); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Skip("/proc/self/io has no rchar")
	return 0
}
