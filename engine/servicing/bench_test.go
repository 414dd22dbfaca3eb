package servicing

import (
	"context"
	"math/rand"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/wimconsole/wimconsole/engine/store"
	"github.com/wimconsole/wimconsole/engine/wim"
	"github.com/wimconsole/wimconsole/internal/procio"
)

// BenchmarkCommitSmallChange (issue 20): a servicing commit of one new file
// (10 MiB, and 100 bytes for the part of a commit that does not depend on
// the change) into a large image: $WIMBENCH_TREE (make bench sets it to
// tree A of the corpus, ~1.4 GB) captured with LZX and added to a group.
// The capture takes minutes; WIMBENCH_TREE_WIM=FILE uses a WIM already
// captured from it instead. Staging the file is not timed, only Commit;
// cpu-ms/op is its CPU time (user and system), for busy machines, and
// read-MiB/op and written-MiB/op what it read and wrote through system calls
// (where the system counts them: /proc/self/io), which say whether a
// commit reads or rewrites the image's data.
func BenchmarkCommitSmallChange(b *testing.B) {
	src := os.Getenv("WIMBENCH_TREE_WIM")
	if src == "" {
		tree := os.Getenv("WIMBENCH_TREE")
		if tree == "" {
			b.Skip("set WIMBENCH_TREE to a large folder tree (tree A of the corpus) to benchmark servicing commits")
		}
		src = filepath.Join(b.TempDir(), "tree.wim")
		if _, err := wim.Capture(context.Background(), tree, src, wim.CaptureOptions{Name: "Tree", Compression: wim.LZX, SkipBadNames: true}); err != nil {
			b.Fatal(err)
		}
	}
	s, err := store.Open(filepath.Join(b.TempDir(), "RemoteInstall"))
	if err != nil {
		b.Fatal(err)
	}
	refs, err := s.AddImage(context.Background(), src, store.AddOptions{Group: "G", FileName: "install", SkipVerify: true})
	if err != nil {
		b.Fatal(err)
	}
	r := refs[0]
	off := false
	if err := s.SetImage(context.Background(), r, store.SetOptions{Enabled: &off}); err != nil {
		b.Fatal(err)
	}
	rnd := rand.New(rand.NewSource(20))
	n := 0
	for _, size := range []int{10 << 20, 100} {
		name := strconv.Itoa(size>>20) + "MiB"
		if size < 1<<20 {
			name = strconv.Itoa(size) + "B"
		}
		b.Run(name, func(b *testing.B) {
			var cpu time.Duration
			var read, written int64
			counted := true
			data := make([]byte, size)
			file := filepath.Join(b.TempDir(), "new.bin")
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				rnd.Read(data) // new data each time: a blob the group lacks
				if err := os.WriteFile(file, data, 0o644); err != nil {
					b.Fatal(err)
				}
				ss, err := Begin(context.Background(), s, r)
				if err != nil {
					b.Fatal(err)
				}
				n++
				if err := ss.Add(file, `\Windows\new`+strconv.Itoa(n)+".bin"); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				c0 := cpuTime()
				r0, w0, ioErr := procio.Counts()
				res, err := ss.Commit(context.Background(), CommitOptions{})
				r1, w1, ioErr1 := procio.Counts()
				cpu += cpuTime() - c0
				if err != nil {
					b.Fatal(err)
				}
				counted = counted && ioErr == nil && ioErr1 == nil
				read += r1 - r0
				written += w1 - w0
				if res.NewBlobs != 1 || res.NewBytes != int64(size) {
					b.Fatalf("commit wrote %d blobs, %d bytes; want 1 of %d", res.NewBlobs, res.NewBytes, size)
				}
			}
			if cpu > 0 {
				b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms/op")
			}
			if counted {
				b.ReportMetric(float64(read)/(1<<20)/float64(b.N), "read-MiB/op")
				b.ReportMetric(float64(written)/(1<<20)/float64(b.N), "written-MiB/op")
			}
		})
	}
}
