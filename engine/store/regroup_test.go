package store

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/wimconsole/wimconsole/engine/wim"
)

// TestRegroupVerifyRefusesDamagedData damages one blob's stored data in
// Res.rwm (its bytes, not the tables): regroup with Verify refuses, naming
// the damage, and the group stays exactly as it was.
func TestRegroupVerifyRefusesDamagedData(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	tree := baseTree("v")
	tree["data/big.txt"] = string(bytes.Repeat([]byte("regroup checks this data\n"), 4000))
	if _, err := s.AddImage(ctx, captureWIM(t, "lzx", writeTree(t, tree)), AddOptions{Group: "G"}); err != nil {
		t.Fatal(err)
	}
	res := s.ResPath("G")
	w, err := wim.Open(res, nil)
	if err != nil {
		t.Fatal(err)
	}
	var big wim.BlobEntry
	for _, e := range w.Blobs() {
		if e.Res.StoredSize > big.Res.StoredSize {
			big = e
		}
	}
	w.Close()
	data, err := os.ReadFile(res)
	if err != nil {
		t.Fatal(err)
	}
	mid := big.Res.Offset + big.Res.StoredSize/2
	data[mid] ^= 0xff
	data[mid+1] ^= 0xff
	if err := os.WriteFile(res, data, 0o644); err != nil {
		t.Fatal(err)
	}

	_, err = s.Regroup(ctx, "G", RegroupOptions{Verify: true})
	if err == nil {
		t.Fatal("regroup with Verify accepted damaged data")
	}
	t.Logf("regroup: %v", err)
	after, err := os.ReadFile(res)
	if err != nil || !bytes.Equal(after, data) {
		t.Fatalf("the refused regroup changed Res.rwm (%v)", err)
	}
	ents, _ := os.ReadDir(filepath.Join(s.Root(), ImagesDir))
	if len(ents) != 1 {
		t.Errorf("Images holds %d entries after the refused regroup, want the group alone", len(ents))
	}
}

// TestAddImageCopiesMetadataAsStored checks that an image added from a WIM
// of the group's codec keeps the source's metadata resource byte for byte
// (copied, not compressed again).
func TestAddImageCopiesMetadataAsStored(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	src := captureWIM(t, "lzx", writeTree(t, baseTree("m")), writeTree(t, baseTree("n")))
	refs, err := s.AddImage(ctx, src, AddOptions{Group: "G"})
	if err != nil {
		t.Fatal(err)
	}
	sw, err := wim.Open(src, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sw.Close()
	for i, r := range refs {
		iw, err := wim.Open(s.ImagePath(r), nil)
		if err != nil {
			t.Fatal(err)
		}
		got, err1 := iw.MetadataEntry(1)
		want, err2 := sw.MetadataEntry(i + 1)
		iw.Close()
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		if got.Hash != want.Hash || got.Res.StoredSize != want.Res.StoredSize {
			t.Errorf("%s: metadata %s (%d bytes stored), source image %d has %s (%d)", r, got.Hash, got.Res.StoredSize, i+1, want.Hash, want.Res.StoredSize)
		}
	}
	mustVerify(t, s)
}
