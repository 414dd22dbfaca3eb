//go:build linux

package wim

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/wimconsole/wimconsole/internal/oracle"
)

// benchTree writes a tree of about 8 MiB: 400 files of 4–32 KiB of
// half-compressible data in 20 folders and four 1 MiB files.
func benchTree(b *testing.B) string {
	b.Helper()
	src := filepath.Join(b.TempDir(), "tree")
	r := rand.New(rand.NewPCG(1, 2))
	fill := func(n int) []byte {
		p := make([]byte, n)
		for i := range p {
			if i%2 == 0 {
				p[i] = byte(r.Uint32())
			} else {
				p[i] = 'a' + byte(i%7)
			}
		}
		return p
	}
	for d := range 20 {
		dir := filepath.Join(src, fmt.Sprintf("dir%02d", d))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			b.Fatal(err)
		}
		for f := range 20 {
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("file%02d", f)), fill(4<<10+r.IntN(28<<10)), 0o644); err != nil {
				b.Fatal(err)
			}
		}
	}
	for i := range 4 {
		if err := os.WriteFile(filepath.Join(src, fmt.Sprintf("big%d", i)), fill(1<<20), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	return src
}

// BenchmarkApply extracts an ~8 MiB image of 400 files, ours against
// wimlib-imagex apply (a separate process, so a few ms of start-up are
// included in its figure).
func BenchmarkApply(b *testing.B) {
	oracle.Wimlib(b)
	src := benchTree(b)
	for _, comp := range []string{"none", "xpress", "lzx", "lzms"} {
		p := filepath.Join(b.TempDir(), comp+".wim")
		imgCapture(b, src, p, "--compress="+comp)
		w := imgOpen(b, p)
		img, err := w.Image(1)
		if err != nil {
			b.Fatal(err)
		}
		var total int64
		img.Walk(func(_ string, f *File) error { total += f.Size; return nil })
		b.Run("ours/"+comp, func(b *testing.B) {
			base := b.TempDir()
			b.SetBytes(total)
			for i := range b.N {
				if _, err := w.ApplyImage(context.Background(), img, filepath.Join(base, fmt.Sprintf("o%d", i)), nil); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("wimlib/"+comp, func(b *testing.B) {
			base := b.TempDir()
			b.SetBytes(total)
			bin := oracle.Wimlib(b)
			for i := range b.N {
				out, err := exec.Command(bin, "apply", p, "1", filepath.Join(base, fmt.Sprintf("w%d", i))).CombinedOutput()
				if err != nil {
					b.Fatalf("%v\n%s", err, out)
				}
			}
		})
	}
}
