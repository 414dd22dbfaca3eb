//go:build libwim

package lzms

import (
	"crypto/sha1"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unicode"
	"unicode/utf16"
	"unsafe"

	"github.com/wimconsole/wimconsole/internal/cputime"
	"github.com/wimconsole/wimconsole/internal/oracle/libwim"
)

// solidTreeChunks is the solid stream of $WIMBENCH_TREE as a solid capture
// writes it (every regular file's data once, identical files once, in
// capture's solid order: see solidTreeFiles) cut into chunks of size
// bytes; the benchmark skips without the variable. ($WIMBENCH_EVERY is not
// taken here: the order is the whole tree's.)
func solidTreeChunks(b *testing.B, size int) [][]byte {
	b.Helper()
	tree := os.Getenv("WIMBENCH_TREE")
	if tree == "" {
		b.Skip("WIMBENCH_TREE not set")
	}
	seen := map[[sha1.Size]byte]bool{}
	var stream []byte
	for _, p := range solidTreeFiles(b, tree) {
		f, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		h := sha1.Sum(f)
		if len(f) > 0 && !seen[h] {
			seen[h] = true
			stream = append(stream, f...)
		}
	}
	// Each chunk gets encPad bytes of room past its end, as the writer
	// gives the compressor.
	var out [][]byte
	for off := 0; off < len(stream); off += size {
		n := min(size, len(stream)-off)
		ch := make([]byte, n, n+encPad)
		copy(ch, stream[off:off+n])
		out = append(out, ch)
	}
	return out
}

// solidTreeFiles returns the paths of the regular files of tree, one per
// inode (hard links: the one with the shortest name), in the order a solid
// capture writes their data (engine/wim capture.go solidInodes, whose key
// is solid_sort.go's solidSortKey, which this package cannot import): the
// files without an extension first, by name, then by extension, then name,
// names upper-cased; files of one name by path. Symbolic links (reparse
// data, written first by a capture, a few KiB) are left out. Names are
// upper-cased with unicode.ToUpper, not NTFS's table: they differ on few
// characters outside ASCII.
func solidTreeFiles(b *testing.B, tree string) []string {
	b.Helper()
	type file struct {
		path   string
		name   []uint16
		ext    []uint16
		hasExt bool
	}
	var files []file
	byIno := map[[2]uint64]int{}
	upper := func(s string) []uint16 {
		u := utf16.Encode([]rune(s))
		for i, c := range u {
			if r := unicode.ToUpper(rune(c)); r < 0x10000 && !utf16.IsSurrogate(rune(c)) {
				u[i] = uint16(r)
			}
		}
		return u
	}
	err := filepath.WalkDir(tree, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		f := file{path: p, name: upper(d.Name())}
		if st, ok := info.Sys().(*syscall.Stat_t); ok && st.Nlink > 1 {
			id := [2]uint64{uint64(st.Dev), st.Ino}
			if i, ok := byIno[id]; ok {
				// A hard link: the inode is sorted by its
				// shortest name, its data is written once.
				if len(f.name) < len(files[i].name) {
					files[i].name = f.name
				}
				return nil
			}
			byIno[id] = len(files)
		}
		files = append(files, f)
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	for i := range files {
		f := &files[i]
		for k := len(f.name) - 1; k >= 0; k-- {
			if f.name[k] == '.' {
				f.hasExt, f.ext = true, f.name[k+1:]
				break
			}
		}
	}
	slices.SortFunc(files, func(a, b file) int {
		if a.hasExt != b.hasExt {
			if a.hasExt {
				return 1
			}
			return -1
		}
		if c := slices.Compare(a.ext, b.ext); c != 0 {
			return c
		}
		if c := slices.Compare(a.name, b.name); c != 0 {
			return c
		}
		return strings.Compare(a.path, b.path)
	})
	out := make([]string, len(files))
	for i, f := range files {
		out[i] = f.path
	}
	return out
}

// benchPar is $WIMBENCH_PAR (default 1): how many compressions of a chunk
// the solid benchmarks run at once, each on its own thread with its own
// compressor, as the solid writer runs one per core.
func benchPar(b *testing.B) int {
	p := 1
	if v := os.Getenv("WIMBENCH_PAR"); v != "" {
		var err error
		if p, err = strconv.Atoi(v); err != nil || p < 1 {
			b.Fatalf("WIMBENCH_PAR=%q: want a positive number", v)
		}
	}
	return p
}

// benchParLoop runs each of fs at once on its own locked thread, once per
// b.Loop round, and reports the mean CPU seconds one call took
// ("cpu-s/op"); it returns the number of rounds.
func benchParLoop(b *testing.B, bytes int, fs []func()) int {
	b.SetBytes(int64(bytes))
	var cpu time.Duration
	rounds := 0
	for b.Loop() {
		var wg sync.WaitGroup
		var mu sync.Mutex
		for _, f := range fs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				start := cputime.Thread()
				f()
				end := cputime.Thread()
				mu.Lock()
				cpu += end - start
				mu.Unlock()
			}()
		}
		wg.Wait()
		rounds++
	}
	b.ReportMetric(cpu.Seconds()/float64(rounds*len(fs)), "cpu-s/op")
	return rounds
}

// BenchmarkSolidTree compresses each 64 MiB chunk of the solid stream of
// $WIMBENCH_TREE with ours and with libwim's (a compressor made once),
// $WIMBENCH_PAR at once (default 1), reporting the CPU seconds of one
// compression and the output size over the input's; -count 3 runs them
// interleaved.
//
//	WIMBENCH_TREE=~/.cache/wimconsole-bench-small/corpus/A WIMBENCH_PAR=2 \
//	    go test -tags libwim -run '^$' -bench 'SolidTree$' -benchtime 1x -count 3 ./engine/wim/lzms/
func BenchmarkSolidTree(b *testing.B) {
	const cs = 64 << 20
	chunks := solidTreeChunks(b, cs)
	par := benchPar(b)
	for i, ch := range chunks {
		run := func(b *testing.B, newCompress func() (func(dst, src []byte) int, func())) {
			var out int
			fs := make([]func(), par)
			for k := range fs {
				compress, done := newCompress()
				defer done()
				dst := make([]byte, len(ch))
				fs[k] = func() { out = compress(dst[:len(ch)-1], ch) }
			}
			benchParLoop(b, len(ch), fs)
			b.ReportMetric(float64(out)/float64(len(ch)), "ratio")
		}
		b.Run(fmt.Sprintf("chunk=%d/ours", i), func(b *testing.B) {
			run(b, func() (func(dst, src []byte) int, func()) {
				return mustCompressor(b, cs).Compress, func() {}
			})
		})
		b.Run(fmt.Sprintf("chunk=%d/libwim", i), func(b *testing.B) {
			run(b, func() (func(dst, src []byte) int, func()) {
				w, err := libwim.NewCodec(libwim.LZMS, cs, 0)
				if err != nil {
					b.Fatal(err)
				}
				return w.Compress, w.Close
			})
		})
	}
}

// BenchmarkSolidTreeSteps times the interval tree's steps on each 64 MiB
// chunk of the solid stream of $WIMBENCH_TREE, $WIMBENCH_PAR at once: the
// suffix array, the LCPs, the tree and a walk that finds the matches at
// every position outside the long matches it takes, as the parse does, each
// as CPU nanoseconds per byte.
func BenchmarkSolidTreeSteps(b *testing.B) {
	const cs = 64 << 20
	chunks := solidTreeChunks(b, cs)
	par := benchPar(b)
	for i, ch := range chunks {
		b.Run(fmt.Sprintf("chunk=%d", i), func(b *testing.B) {
			var mu sync.Mutex
			var steps [4]time.Duration
			fs := make([]func(), par)
			for k := range fs {
				var f lcpFinder
				var ms []lzMatch
				fs[k] = func() {
					var t [5]time.Duration
					t[0] = cputime.Thread()
					k := 1
					f.loadSteps(ch, func() { t[k] = cputime.Thread(); k++ })
					// As the parse walks: a match of encNiceLen
					// or more is taken, and the walk skips it.
					n := len(ch)
					for p := 0; p < n; p++ {
						ms = f.find(ch, p, n-p, ms[:0])
						if k := len(ms); k > 0 && ms[k-1].length >= encNiceLen {
							p += int(ms[k-1].length) - 1
							f.skip(p + 1)
						}
					}
					t[4] = cputime.Thread()
					mu.Lock()
					for s := range steps {
						steps[s] += t[s+1] - t[s]
					}
					mu.Unlock()
				}
			}
			rounds := benchParLoop(b, len(ch), fs)
			ops := float64(rounds * par * len(ch))
			for s, name := range []string{"sa-ns/B", "lcp-ns/B", "tree-ns/B", "walk-ns/B"} {
				b.ReportMetric(float64(steps[s].Nanoseconds())/ops, name)
			}
		})
	}
}

// BenchmarkSolidTreeSA builds the suffix array of each 64 MiB chunk of the
// solid stream of $WIMBENCH_TREE (as it comes, without the x86 filter),
// reporting CPU nanoseconds per byte and the CRC-32 of the array's bytes
// (the same before and after a change that must keep the array); -count N
// of two builds' test binaries, run in turn, compares them.
//
//	WIMBENCH_TREE=~/.cache/wimconsole-bench-small/corpus/A go test -tags libwim \
//	    -run '^$' -bench 'SolidTreeSA$' -benchtime 1x -count 5 ./engine/wim/lzms/
func BenchmarkSolidTreeSA(b *testing.B) {
	const cs = 64 << 20
	chunks := solidTreeChunks(b, cs)
	for i, ch := range chunks {
		b.Run(fmt.Sprintf("chunk=%d", i), func(b *testing.B) {
			n := len(ch)
			sa := make([]uint32, n)
			tmp := make([]uint32, saisScratch(n))
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			var cpu time.Duration
			rounds := 0
			for b.Loop() {
				start := cputime.Thread()
				buildSA(ch, sa, tmp)
				end := cputime.Thread()
				cpu += end - start
				rounds++
			}
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(rounds*n), "cpu-ns/B")
			b.ReportMetric(float64(crc32.ChecksumIEEE(unsafe.Slice((*byte)(unsafe.Pointer(&sa[0])), 4*n))), "crc")
		})
	}
}
