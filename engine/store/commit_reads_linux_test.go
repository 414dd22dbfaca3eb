package store

import (
	"bytes"
	"context"
	"crypto/sha1"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"testing"

	"github.com/wimconsole/wimconsole/engine/wim"
	"github.com/wimconsole/wimconsole/internal/oracle"
	"github.com/wimconsole/wimconsole/internal/procio"
)

// TestCommitImageReadsOnlyWhatChanged (issue 20): committing a small change
// to an image reads the change, the image's small metadata-only file and
// the group's blob table, and nothing in proportion to the image's data,
// which CommitImage never needs: here a 1 MiB file replaced in an image of
// 48 MiB of data and 12,000 files. Res.rwm's blob table (one entry per blob
// of the group) is read by the append alone, not a second time to open the
// image (the commit needs only the image file's header and XML data). The
// bytes are counted by the kernel (rchar: every read and pread of this
// process), so the test holds whatever reads them.
func TestCommitImageReadsOnlyWhatChanged(t *testing.T) {
	oracle.Wimlib(t)
	ctx := context.Background()
	const files, bigFiles, bigSize = 12000, 6, 8 << 20
	dir := t.TempDir()
	rnd := rand.New(rand.NewSource(20))
	for i := range bigFiles {
		b := make([]byte, bigSize)
		rnd.Read(b)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("big%d.bin", i)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for i := range files {
		sub := filepath.Join(dir, "Windows", fmt.Sprintf("d%02d", i%40))
		if err := os.MkdirAll(sub, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(sub, fmt.Sprintf("f%05d.txt", i)), []byte(fmt.Sprintf("file %d\n", i)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s := openStore(t)
	refs, err := s.AddImage(ctx, captureWIM(t, "xpress", dir), AddOptions{Group: "G", FileName: "install"})
	if err != nil {
		t.Fatal(err)
	}
	r := refs[0]
	off := false
	if err := s.SetImage(ctx, r, SetOptions{Enabled: &off}); err != nil {
		t.Fatal(err)
	}
	res, err := wim.Open(s.ResPath(r.Group), &wim.OpenOptions{NoSplitSearch: true})
	if err != nil {
		t.Fatal(err)
	}
	table := res.Header().BlobTable.Size
	res.Close()
	w, err := wim.Open(s.ImagePath(r), &wim.OpenOptions{NoSplitSearch: true, Refs: []string{s.ResPath(r.Group)}})
	if err != nil {
		t.Fatal(err)
	}
	img, err := w.Image(1)
	w.Close()
	if err != nil {
		t.Fatal(err)
	}
	base, err := s.ImageVersion(r)
	if err != nil {
		t.Fatal(err)
	}
	imageFile, err := os.Stat(s.ImagePath(r))
	if err != nil {
		t.Fatal(err)
	}

	// The change: big0.bin replaced by 1 MiB of new data.
	data := make([]byte, 1<<20)
	rnd.Read(data)
	h := wim.Hash(sha1.Sum(data))
	replaced := false
	for f := range img.All() {
		if f.Name == "big0.bin" {
			f.Hash, f.Size = h, int64(len(data))
			replaced = true
		}
	}
	if !replaced {
		t.Fatal("big0.bin is not in the captured image")
	}
	write := func(ctx context.Context, w *wim.Writer) error {
		if _, err := w.WriteBlob(ctx, bytes.NewReader(data), int64(len(data))); err != nil {
			return err
		}
		return w.Flush(true)
	}

	before := procio.ReadBytes(t)
	if _, err := s.CommitImage(ctx, r, base, img, write, CommitOptions{By: "test"}); err != nil {
		t.Fatal(err)
	}
	read := procio.ReadBytes(t) - before

	// What a commit may read: the image file's header, XML data and blob
	// table (for its version; its metadata is img), Res.rwm's blob table
	// and XML data once for the append, and the catalog, journal and lock
	// files (well under 256 KiB). The commit read Res.rwm's blob table
	// three times before: to open the image with its Res.rwm, and twice
	// in OpenAppend.
	limit := table + imageFile.Size() + 256<<10
	t.Logf("commit read %d bytes; image data %d, Res.rwm blob table %d, image file %d; limit %d", read, int64(bigFiles*bigSize), table, imageFile.Size(), limit)
	if read > limit {
		t.Errorf("committing a 1 MiB change read %d bytes, more than the %d the image file and Res.rwm's blob table (%d bytes) account for", read, limit, table)
	}
	want := storeTreeFiles(t, dir)
	want["big0.bin"] = string(data)
	oracleApply(t, s, r, want)
}

// storeTreeFiles returns the files below dir, by slash path, with their
// contents.
func storeTreeFiles(t testing.TB, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || !fi.Mode().IsRegular() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = string(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
