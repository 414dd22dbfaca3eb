//go:build libwim

package lzx

import (
	"testing"

	"github.com/wimconsole/wimconsole/internal/oracle/libwim"
)

// BenchmarkTreeVsLibwim compares the encoder with wimlib's on a real folder
// (libwim.CompareTree):
//
//	WIMBENCH_TREE=~/.cache/wimconsole-bench/corpus/A go test -tags libwim \
//	    -run '^$' -bench TreeVsLibwim -benchtime 3x ./engine/wim/lzx/
func BenchmarkTreeVsLibwim(b *testing.B) {
	c, err := NewCompressor(32768)
	if err != nil {
		b.Fatal(err)
	}
	libwim.CompareTree(b, libwim.LZX, 32768, c.Compress)
}
