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
