package store

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wimconsole/wimconsole/engine/wim"
)

// makeBatch writes the blobs hashes of res into a new resource-only WIM.
func makeBatch(t *testing.T, res string, hashes []wim.Hash) string {
	t.Helper()
	rw, err := wim.Open(res, &wim.OpenOptions{NoSplitSearch: true})
	if err != nil {
		t.Fatal(err)
	}
	defer rw.Close()
	name := filepath.Join(t.TempDir(), "batch.wim")
	h := rw.Header()
	w, err := wim.Create(name, wim.WriteOptions{Compression: h.Compression(), ChunkSize: int(h.ChunkSize), ResourceOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range hashes {
		if err := w.CopyBlob(context.Background(), rw, x); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return name
}

func fileBlobs(t *testing.T, res string) []wim.Hash {
	t.Helper()
	rw, err := wim.Open(res, &wim.OpenOptions{NoSplitSearch: true})
	if err != nil {
		t.Fatal(err)
	}
	defer rw.Close()
	var out []wim.Hash
	for _, e := range rw.Blobs() {
		if !e.IsMetadata() {
			out = append(out, e.Hash)
		}
	}
	return out
}

func TestReceive(t *testing.T) {
	ctx := context.Background()
	src := openStore(t)
	a, b := baseTree("a"), baseTree("b")
	refs, err := src.AddImage(ctx, captureWIM(t, "LZX", writeTree(t, a), writeTree(t, b)), AddOptions{Group: "G"})
	if err != nil || len(refs) != 2 {
		t.Fatal(refs, err)
	}
	dst := openStore(t)
	all := fileBlobs(t, src.ResPath("G"))
	if miss, err := dst.MissingBlobs("H", all); err != nil || len(miss) != len(all) {
		t.Fatalf("missing blobs of an absent group: %d of %d, %v", len(miss), len(all), err)
	}

	// The first half; an image cannot come before its data.
	half := len(all) / 2
	n, err := dst.ReceiveBlobs(ctx, "H", makeBatch(t, src.ResPath("G"), all[:half]), nil)
	if err != nil || n != half {
		t.Fatalf("receive: %d, %v", n, err)
	}
	miss, err := dst.MissingBlobs("H", append(all, all[0], wim.Hash{}))
	if err != nil || len(miss) != len(all)-half {
		t.Fatalf("missing after the first batch: %d, %v", len(miss), err)
	}
	if _, err := dst.ReceiveImage(ctx, "H", src.ImagePath(refs[0]), ReceiveImageOptions{FileName: "x"}); err == nil {
		t.Fatal("image received without its data")
	}
	if _, err := os.Stat(filepath.Join(dst.GroupDir("H"), "x.wim")); err == nil {
		t.Fatal("refused image left its file")
	}

	// A damaged batch or one holding images is refused; Res.rwm unchanged.
	before, _ := os.ReadFile(dst.ResPath("H"))
	bad := makeBatch(t, src.ResPath("G"), all[half:])
	data, _ := os.ReadFile(bad)
	data[wim.HeaderSize+40] ^= 0xff
	os.WriteFile(bad, data, 0o644)
	if _, err := dst.ReceiveBlobs(ctx, "H", bad, nil); err == nil {
		t.Error("damaged batch accepted")
	}
	if _, err := dst.ReceiveBlobs(ctx, "H", captureWIM(t, "LZX", writeTree(t, baseTree("c"))), nil); err == nil {
		t.Error("a WIM with an image accepted as a batch")
	}
	if after, _ := os.ReadFile(dst.ResPath("H")); !bytes.Equal(before, after) {
		t.Error("refused batches changed Res.rwm")
	}

	// The rest, then the images with their state.
	if n, err := dst.ReceiveBlobs(ctx, "H", makeBatch(t, src.ResPath("G"), all), nil); err != nil || n != len(all)-half {
		t.Fatalf("second batch: %d, %v", n, err)
	}
	// External data with a bad answer file or language pack is refused.
	for _, bad := range []string{"Unattend/" + unattendFile, LangPacksDir + "/x.cab"} {
		d := filepath.Join(t.TempDir(), "bad")
		os.MkdirAll(filepath.Dir(filepath.Join(d, bad)), 0o755)
		os.WriteFile(filepath.Join(d, bad), []byte("junk"), 0o644)
		if _, err := dst.ReceiveImage(ctx, "H", src.ImagePath(refs[0]), ReceiveImageOptions{FileName: "bad", Data: d}); err == nil {
			t.Errorf("external data with a bad %s accepted", bad)
		}
		if exists(filepath.Join(dst.GroupDir("H"), "bad")) || exists(filepath.Join(dst.GroupDir("H"), "bad.wim")) {
			t.Errorf("refused image left files")
		}
	}
	data1 := filepath.Join(t.TempDir(), "data")
	os.MkdirAll(filepath.Join(data1, "$OEM$", "$1"), 0o755)
	os.WriteFile(filepath.Join(data1, "$OEM$", "$1", "a.cmd"), []byte("x"), 0o644)
	r1, err := dst.ReceiveImage(ctx, "H", src.ImagePath(refs[0]), ReceiveImageOptions{FileName: refs[0].File, Data: data1})
	if err != nil {
		t.Fatal(err)
	}
	r2, err := dst.ReceiveImage(ctx, "H", src.ImagePath(refs[1]), ReceiveImageOptions{FileName: refs[1].File, Disabled: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dst.ReceiveImage(ctx, "H", src.ImagePath(refs[1]), ReceiveImageOptions{FileName: "again"}); err == nil {
		t.Error("an image named as another was received")
	}
	mustVerify(t, dst)
	oracleApply(t, dst, r1, a)
	oracleApply(t, dst, r2, b)
	im, err := dst.GetImage(ctx, r2)
	if err != nil || im.Enabled {
		t.Errorf("second image: enabled %v, %v", im.Enabled, err)
	}
	if _, err := os.Stat(filepath.Join(dst.GroupDir("H"), r1.File, "$OEM$", "$1", "a.cmd")); err != nil {
		t.Errorf("external data: %v", err)
	}
	if miss, _ := dst.MissingBlobs("H", all); len(miss) != 0 {
		t.Errorf("%d blobs still missing", len(miss))
	}
}

// TestReceiveReplace: ReceiveImage with Replace replaces an existing
// image (enabled: replaced all the same), keeping its state, and is refused while the image has an install
// session (nothing changes then); without Replace the file name must be
// free; a batch's blobs that the caller checked (ReceiveBlobsWith
// Checked) are added as any.
func TestReceiveReplace(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	a, b := baseTree("a"), baseTree("b")
	if _, err := s.AddImage(ctx, captureWIM(t, "LZX", writeTree(t, a), writeTree(t, b)), AddOptions{Group: "G"}); err != nil {
		t.Fatal(err)
	}
	ra, rb := ImageRef{Group: "G", File: "install"}, ImageRef{Group: "G", File: "install-(2)"}
	src := filepath.Join(t.TempDir(), "new.wim")
	data, err := os.ReadFile(s.ImagePath(rb))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(src, data, 0o644)
	if err := s.RemoveImage(ctx, rb); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ReceiveImage(ctx, "G", src, ReceiveImageOptions{FileName: "install"}); err == nil {
		t.Fatal("receiving over an existing image without Replace worked")
	}
	before, err := os.ReadFile(s.ImagePath(ra))
	if err != nil {
		t.Fatal(err)
	}
	se, err := s.OpenSession(ra, "client-1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ReceiveImage(ctx, "G", src, ReceiveImageOptions{FileName: "install", Replace: true}); err == nil || !strings.Contains(err.Error(), "install session") || !strings.Contains(err.Error(), "not replaced") {
		t.Fatalf("replace during an install session: %v", err)
	}
	if after, _ := os.ReadFile(s.ImagePath(ra)); !bytes.Equal(before, after) {
		t.Fatal("the refused replace changed the image file")
	}
	if err := s.CloseSession(se.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ReceiveImage(ctx, "G", src, ReceiveImageOptions{FileName: "install", Replace: true}); err != nil {
		t.Fatal(err)
	}
	im, err := s.GetImage(ctx, ra)
	if err != nil {
		t.Fatal(err)
	}
	if !im.Enabled || im.Name != "Image 2" {
		t.Errorf("the replaced image: %+v, want Image 2, enabled as before", im)
	}
	if after, _ := os.ReadFile(s.ImagePath(ra)); bytes.Equal(before, after) {
		t.Error("the image file was not replaced")
	}

	// Checked blobs are committed as any.
	dst := openStore(t)
	all := fileBlobs(t, s.ResPath("G"))
	n, err := dst.ReceiveBlobsWith(ctx, "H", makeBatch(t, s.ResPath("G"), all), ReceiveBlobsOptions{Checked: true})
	if err != nil || n != len(all) {
		t.Fatalf("checked batch: %d of %d blobs, %v", n, len(all), err)
	}
	if miss, err := dst.MissingBlobs("H", all); err != nil || len(miss) != 0 {
		t.Fatalf("after the checked batch %d blobs missing, %v", len(miss), err)
	}
}
