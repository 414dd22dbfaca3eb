//go:build unix

package store

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

func cpuNow() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkStoreAddSecond: add-image of $WIMBENCH_ADD_SRC into a group
// that holds $WIMBENCH_ADD_BASE (the bench script's add-image row, in
// process, for profiles). WIMBENCH_ADD_VERIFY=1 checks the source's data.
func BenchmarkStoreAddSecond(b *testing.B) {
	base, src := os.Getenv("WIMBENCH_ADD_BASE"), os.Getenv("WIMBENCH_ADD_SRC")
	if base == "" || src == "" {
		b.Skip("set WIMBENCH_ADD_BASE and WIMBENCH_ADD_SRC to two WIMs")
	}
	seed := filepath.Join(b.TempDir(), "seed")
	s, err := Open(seed)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.AddImage(context.Background(), base, AddOptions{Group: "G", SkipVerify: true}); err != nil {
		b.Fatal(err)
	}

	skip := os.Getenv("WIMBENCH_ADD_VERIFY") != "1"
	var cpu time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		root := filepath.Join(b.TempDir(), "st")
		if err := os.CopyFS(root, os.DirFS(seed)); err != nil {
			b.Fatal(err)
		}
		st, err := Open(root)
		if err != nil {
			b.Fatal(err)
		}
		// The copy's data written out now, not by the add's syncs.
		syscall.Sync()
		b.StartTimer()
		c0 := cpuNow()
		if _, err := st.AddImage(context.Background(), src, AddOptions{Group: "G", FileName: "B", SkipVerify: skip}); err != nil {
			b.Fatal(err)
		}
		cpu += cpuNow() - c0
		b.StopTimer()
		os.RemoveAll(root)
		b.StartTimer()
	}
	b.ReportMetric(float64(cpu.Microseconds())/1e3/float64(b.N), "cpu-ms/op")
}
