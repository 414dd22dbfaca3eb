//go:build libwim

package xpress

import (
	"testing"

	"github.com/wimconsole/wimconsole/internal/oracle/libwim"
)

// BenchmarkTreeVsLibwim compares the encoder with wimlib's on a real folder
// (libwim.CompareTree):
//
//	WIMBENCH_TREE=~/.cache/wimconsole-bench/corpus/A go test -tags libwim \
//	    -run '^$' -bench TreeVsLibwim -benchtime 3x ./engine/wim/xpress/
func BenchmarkTreeVsLibwim(b *testing.B) {
	c, err := NewCompressor(32768)
	if err != nil {
		b.Fatal(err)
	}
	libwim.CompareTree(b, libwim.XPRESS, 32768, c.Compress)
}
