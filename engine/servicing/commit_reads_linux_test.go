package servicing

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"testing"

	"github.com/wimconsole/wimconsole/engine/wim"
	"github.com/wimconsole/wimconsole/internal/procio"
)

// TestCommitReadsResTableOnce (issue 20): a servicing commit of one new
// file reads the group's Res.rwm blob table once, for the append, and not
// a second time to open the image it changes (the tree is read from the
// image file alone, and the sizes of the files it keeps are taken from the
// append's table), and the staged file once, to write it (its digest was
// recorded when it was staged). The committed image's sizes (TOTALBYTES)
// count every file, and wimlib-imagex verifies and applies it.
func TestCommitReadsResTableOnce(t *testing.T) {
	ctx := context.Background()
	const files = 12000
	want := map[string]string{}
	for i := range files {
		rel := fmt.Sprintf("Windows/d%02d/f%05d.txt", i%40, i)
		want[rel] = fmt.Sprintf("file %d\n", i)
	}
	s, r := newStoreDir(t, writeTree(t, want))
	res, err := wim.Open(s.ResPath(r.Group), &wim.OpenOptions{NoSplitSearch: true})
	if err != nil {
		t.Fatal(err)
	}
	table := res.Header().BlobTable.Size
	res.Close()
	before := imageTotalBytes(t, s.ImagePath(r))

	ss, err := Begin(ctx, s, r)
	if err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 1<<20)
	rand.New(rand.NewSource(20)).Read(data)
	src := filepath.Join(t.TempDir(), "new.bin")
	if err := os.WriteFile(src, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := ss.Add(src, `\Windows\new.bin`); err != nil {
		t.Fatal(err)
	}
	imageFile := fileSize(t, s.ImagePath(r))
	r0 := procio.ReadBytes(t)
	cr, err := ss.Commit(ctx, CommitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	read := procio.ReadBytes(t) - r0
	if cr.NewBlobs != 1 || cr.NewBytes != int64(len(data)) {
		t.Errorf("commit wrote %d blobs of %d bytes, want 1 of %d", cr.NewBlobs, cr.NewBytes, len(data))
	}
	// What the commit may read: the staged file once, the image file (its
	// metadata once, its header and XML data), Res.rwm's blob table once,
	// and the session, journal, lock and catalog files.
	limit := int64(len(data)) + table + imageFile + 256<<10
	t.Logf("commit read %d bytes; Res.rwm blob table %d, image file %d; limit %d", read, table, imageFile, limit)
	if read > limit {
		t.Errorf("committing a 1 MiB file read %d bytes, more than the %d that the file and Res.rwm's blob table (%d bytes), once each, and the image file account for", read, limit, table)
	}
	if got := imageTotalBytes(t, s.ImagePath(r)); got != before+int64(len(data)) {
		t.Errorf("committed image's TOTALBYTES %d, want %d (%d before, and the new file)", got, before+int64(len(data)), before)
	}
	want["Windows/new.bin"] = string(data)
	sameTree(t, applied(t, s, r), want)
}

// imageTotalBytes returns TOTALBYTES of image 1 of the image file.
func imageTotalBytes(t *testing.T, file string) int64 {
	t.Helper()
	w, err := wim.Open(file, &wim.OpenOptions{NoSplitSearch: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	return w.XML().Image(1).TotalBytes
}
