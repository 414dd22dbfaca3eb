package store

import (
	"context"
	"fmt"
	"testing"

	"github.com/wimconsole/wimconsole/engine/wim"
	"github.com/wimconsole/wimconsole/internal/oracle"
)

// TestAddImageCodecs: add-image reads only the blob references of an image
// whose metadata resource the group's files take as stored, and the tree
// of the others (another codec, or the group's Res.rwm is of another codec
// than a new group would have): in every case the image applies with
// wimlib-imagex, verifies, and its XML statistics are the source's.
func TestAddImageCodecs(t *testing.T) {
	oracle.Wimlib(t)
	ctx := context.Background()
	for _, tc := range []struct{ first, second string }{
		{"lzx", "lzx"},       // references alone
		{"xpress", "xpress"}, // references alone
		{"lzx", "xpress"},    // into an LZX group: the tree, recompressed
		{"xpress", "lzx"},    // into an XPRESS group: the tree
		{"none", "none"},     // new group LZX: the tree
		{"lzms", "lzx"},      // group LZX from an LZMS source; then references alone
	} {
		for _, skip := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s then %s, skip verify %v", tc.first, tc.second, skip), func(t *testing.T) {
				s := openStore(t)
				a, b := baseTree("A"), baseTree("B")
				b["extra/more.txt"] = "extra data of B"
				if _, err := s.AddImage(ctx, captureWIM(t, tc.first, writeTree(t, a)), AddOptions{Group: "G", FileName: "a", SkipVerify: skip}); err != nil {
					t.Fatal(err)
				}
				src := captureWIM(t, tc.second, writeTree(t, b))
				refs, err := s.AddImage(ctx, src, AddOptions{Group: "G", FileName: "b", Name: "B", SkipVerify: skip})
				if err != nil {
					t.Fatal(err)
				}
				oracleApply(t, s, refs[0], b)
				mustVerify(t, s)
				sw, err := wim.Open(src, nil)
				if err != nil {
					t.Fatal(err)
				}
				defer sw.Close()
				iw, err := wim.Open(s.ImagePath(refs[0]), nil)
				if err != nil {
					t.Fatal(err)
				}
				defer iw.Close()
				want, got := sw.XML().Image(1), iw.XML().Image(1)
				if got.DirCount != want.DirCount || got.FileCount != want.FileCount || got.TotalBytes != want.TotalBytes || got.HardLinkBytes != want.HardLinkBytes {
					t.Fatalf("image statistics %d/%d/%d/%d, the source's %d/%d/%d/%d", got.DirCount, got.FileCount, got.TotalBytes, got.HardLinkBytes,
						want.DirCount, want.FileCount, want.TotalBytes, want.HardLinkBytes)
				}
			})
		}
	}
}
