//go:build libwim && linux

package lzx

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/wimconsole/wimconsole/internal/oracle/libwim"
)

// BenchmarkTreeGroups finds where one level's output differs in size from
// wimlib's (level WIMBENCH_LEVEL, default the fast level against wimlib's
// 20): every WIMBENCH_EVERY-th file of the tree (default 1) in 32 KiB
// chunks, as the WIM writer cuts them, grouped by the file's extension
// (lower case; "(none)" without one) and logged by the bytes ours writes
// more than wimlib's, most first:
//
//	WIMBENCH_TREE=~/.cache/wimconsole-bench-small/corpus/A go test -tags libwim \
//	    -run '^$' -bench TreeGroups -benchtime 1x ./engine/wim/lzx/
//
// WIMBENCH_BYCHUNK=1 groups each extension's chunks by their place
// (#0..#2, #3 for the rest; "-part" for the short last one). WIMBENCH_EXT=.mo (say) keeps the files of that extension alone. A chunk
// neither side shrinks counts as stored (its own length) on both.
// It reports size-ratio over the whole tree.
func BenchmarkTreeGroups(b *testing.B) {
	libwim.Need(b)
	tree := os.Getenv("WIMBENCH_TREE")
	if tree == "" {
		b.Skip("WIMBENCH_TREE not set")
	}
	level := LevelFast
	if v := os.Getenv("WIMBENCH_LEVEL"); v != "" {
		if _, err := fmt.Sscan(v, &level); err != nil {
			b.Fatalf("WIMBENCH_LEVEL=%q: want a level", v)
		}
	}
	theirLevel := map[string]int{"fast": 20, "default": 50, "slow": 100}[LevelName(level)]
	files := ctTreeFiles(b, tree, ctEvery(b, 1))
	if ext := os.Getenv("WIMBENCH_EXT"); ext != "" {
		keep := files[:0]
		for _, p := range files {
			if strings.EqualFold(filepath.Ext(p), ext) {
				keep = append(keep, p)
			}
		}
		files = keep
	}
	const chunk = 32768
	c, err := NewCompressorLevel(chunk, level)
	if err != nil {
		b.Fatal(err)
	}
	w, err := libwim.NewCodec(libwim.LZX, chunk, theirLevel)
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	byChunk := os.Getenv("WIMBENCH_BYCHUNK") != ""
	type group struct {
		name                 string
		files, in, ours, wim int
	}
	dst := make([]byte, chunk)
	size := func(compress func(dst, src []byte) int, src []byte) int {
		if len(src) < 2 {
			return len(src)
		}
		if n := compress(dst[:len(src)-1], src); n > 0 {
			return n
		}
		return len(src)
	}
	for b.Loop() {
		groups := map[string]*group{}
		var all group
		for _, p := range files {
			data, err := os.ReadFile(p)
			if err != nil {
				b.Fatal(err)
			}
			ext := strings.ToLower(filepath.Ext(p))
			if ext == "" || len(ext) > 8 {
				ext = "(none)"
			}
			for off := 0; off < len(data); off += chunk {
				src := data[off:min(off+chunk, len(data))]
				name := ext
				if byChunk {
					name = fmt.Sprintf("%s#%d", ext, min(off/chunk, 3))
					if len(src) < chunk {
						name += "-part"
					}
				}
				g := groups[name]
				if g == nil {
					g = &group{name: name}
					groups[name] = g
				}
				if off == 0 {
					g.files++
				}
				o, t := size(c.Compress, src), size(w.Compress, src)
				g.in += len(src)
				g.ours += o
				g.wim += t
			}
		}
		list := make([]*group, 0, len(groups))
		all = group{}
		for _, g := range groups {
			list = append(list, g)
			all.files += g.files
			all.in += g.in
			all.ours += g.ours
			all.wim += g.wim
		}
		sort.Slice(list, func(i, j int) bool { return list[i].ours-list[i].wim > list[j].ours-list[j].wim })
		b.Logf("all: %d files, %d in, ours %d, wimlib %d (%+d, ratio %.5f)",
			all.files, all.in, all.ours, all.wim, all.ours-all.wim, float64(all.ours)/float64(all.wim))
		for k, g := range list {
			if k >= 25 && k < len(list)-5 {
				continue
			}
			b.Logf("%-10s %6d files %11d in %11d ours %11d wimlib %+9d (ratio %.4f, wimlib %.3f of in)",
				g.name, g.files, g.in, g.ours, g.wim, g.ours-g.wim,
				float64(g.ours)/float64(g.wim), float64(g.wim)/float64(g.in))
		}
		b.ReportMetric(float64(all.ours)/float64(all.wim), "size-ratio")
	}
}
