package servicing

import (
	"bytes"
	"context"
	"crypto/sha1"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wimconsole/wimconsole/engine/wim"
)

// TestFillSizes: a commit's tree, read from the image file alone, takes
// the sizes of the data it keeps from the group's Res.rwm (the writer the
// commit appends with) and of the data staged from the staged files; data
// in neither is refused, naming the file, the image and what to do.
func TestFillSizes(t *testing.T) {
	kept := []byte(strings.Repeat("kept data ", 100))
	staged, missing := wim.Hash{1}, wim.Hash{2}
	for _, tc := range []struct {
		name    string
		extra   wim.Hash // a third file's data
		wantErr string
	}{
		{"sized", wim.Hash{}, ""},
		{"missing", missing, `the data of /Windows/lost.dll in image G/install (blob ` + missing.String() + `) is not in RES: the image group is damaged; run verify-store`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, err := wim.Create(filepath.Join(t.TempDir(), "Res.rwm"), wim.WriteOptions{ResourceOnly: true})
			if err != nil {
				t.Fatal(err)
			}
			defer w.Abort()
			h, err := w.WriteBlob(context.Background(), bytes.NewReader(kept), int64(len(kept)))
			if err != nil || h != wim.Hash(sha1.Sum(kept)) {
				t.Fatalf("WriteBlob: %v", err)
			}
			root := &wim.File{Attributes: wim.AttrDirectory}
			win := &wim.File{Name: "Windows", Attributes: wim.AttrDirectory, Parent: root}
			root.Children = []*wim.File{win}
			a := &wim.File{Name: "kept.dll", Hash: h, Parent: win}
			b := &wim.File{Name: "new.dll", Hash: staged, Parent: win, Streams: []wim.Stream{{Name: "ads", Hash: h}}}
			win.Children = []*wim.File{a, b}
			if !tc.extra.IsZero() {
				win.Children = append(win.Children, &wim.File{Name: "lost.dll", Hash: tc.extra, Parent: win})
			}
			tr := &tree{img: &wim.Image{Root: root}, blobs: map[wim.Hash]blobSource{staged: {path: "x", size: 77}}, unsized: true}
			err = tr.fillSizes(w, "G/install", "RES")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("fillSizes: %v; want an error with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if a.Size != int64(len(kept)) || b.Size != 77 || b.Streams[0].Size != int64(len(kept)) {
				t.Errorf("sizes %d, %d, %d; want %d, 77, %d", a.Size, b.Size, b.Streams[0].Size, len(kept), len(kept))
			}
		})
	}
}
