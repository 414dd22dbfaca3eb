//go:build linux

package wim

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/wimconsole/wimconsole/internal/oracle"
)

// TestNTFSRoundTrip carries NTFS-only metadata through our writer: a WIM
// captured by wimlib from an NTFS volume (security descriptors, named
// streams, short names when FUSE allows) is exported by us, which encodes
// its metadata afresh; wimlib applies our file to a new NTFS volume and
// captures it back. Every entry must keep its descriptor, streams, short
// name and attributes.
func TestNTFSRoundTrip(t *testing.T) {
	oracle.Wimlib(t)
	oracle.Need(t, "mkntfs")
	ctx := context.Background()
	dir := t.TempDir()
	plain := filepath.Join(dir, "plain.wim")
	if _, err := Capture(ctx, wtSampleTree(t, 100), plain, CaptureOptions{Name: "plain", Compression: LZX}); err != nil {
		t.Fatal(err)
	}
	ntfs := filepath.Join(dir, "ntfs.wim")
	shortNames := makeNTFSWim(t, plain, ntfs)
	src := imgOpenW(t, ntfs)
	want, err := src.Image(1)
	if err != nil {
		t.Fatal(err)
	}
	if len(want.Security) == 0 {
		t.Fatal("setup: no security descriptors captured")
	}
	if r := want.Lookup("/readme"); r == nil || len(r.NamedStreams()) != 2 {
		t.Fatalf("setup: /readme has no named streams: %+v", r)
	}

	for _, c := range []Compression{LZX, XPRESS} {
		t.Run(c.String(), func(t *testing.T) {
			ours := filepath.Join(t.TempDir(), "ours.wim")
			// Recompress: encode the metadata afresh rather than copy it.
			if _, err := Export(ctx, src, []int{1}, ours, ExportOptions{Compression: ptr(c), Recompress: true}); err != nil {
				t.Fatal(err)
			}
			// Our file, read by us: the same tree.
			got, err := imgOpenW(t, ours).Image(1)
			if err != nil {
				t.Fatal(err)
			}
			ntfsCompare(t, "our export", want, got)
			oracle.Run(t, "verify", ours)

			// Through NTFS with wimlib and back.
			vol := filepath.Join(t.TempDir(), "vol.img")
			if err := os.WriteFile(vol, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(vol, 16<<20); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command("mkntfs", "-F", "-f", "-Q", vol).CombinedOutput(); err != nil {
				t.Fatalf("mkntfs: %v\n%s", err, out)
			}
			oracle.Run(t, "apply", ours, "1", vol)
			back := filepath.Join(t.TempDir(), "back.wim")
			oracle.Run(t, "capture", vol, back, "back")
			bimg, err := imgOpenW(t, back).Image(1)
			if err != nil {
				t.Fatal(err)
			}
			ntfsCompare(t, "after NTFS", want, bimg)
		})
	}
	if !shortNames {
		t.Log("short names not tested: no FUSE mount here")
	} else if f := want.Lookup("/Long File Name.txt"); f == nil || f.ShortName == "" {
		t.Error("setup: no short name captured")
	}
}

// ntfsCompare compares what NTFS keeps of two images, entry by entry.
func ntfsCompare(t *testing.T, what string, want, got *Image) {
	t.Helper()
	sd := func(img *Image, f *File) []byte {
		if f.SecurityID < 0 {
			return nil
		}
		return img.Security[f.SecurityID]
	}
	n := 0
	want.Walk(func(path string, f *File) error {
		n++
		g := got.Lookup(path)
		if g == nil {
			t.Errorf("%s: %s missing", what, path)
			return nil
		}
		if !bytes.Equal(sd(want, f), sd(got, g)) {
			t.Errorf("%s: %s: security descriptor differs", what, path)
		}
		if f.ShortName != g.ShortName || f.Attributes != g.Attributes || f.Hash != g.Hash {
			t.Errorf("%s: %s: short name %q attributes 0x%x hash %s; want %q 0x%x %s", what, path,
				g.ShortName, g.Attributes, g.Hash, f.ShortName, f.Attributes, f.Hash)
		}
		ws, gs := f.NamedStreams(), g.NamedStreams()
		if len(ws) != len(gs) {
			t.Errorf("%s: %s: streams %+v, want %+v", what, path, gs, ws)
			return nil
		}
		for i := range ws {
			if ws[i].Name != gs[i].Name || ws[i].Hash != gs[i].Hash {
				t.Errorf("%s: %s: streams %+v, want %+v", what, path, gs, ws)
			}
		}
		if rw, ok := f.Reparse(); ok {
			if rg, ok2 := g.Reparse(); !ok2 || rg.Hash != rw.Hash || f.ReparseTag != g.ReparseTag {
				t.Errorf("%s: %s: reparse point differs", what, path)
			}
		}
		return nil
	})
	if n < 10 {
		t.Errorf("%s: only %d entries compared", what, n)
	}
}
