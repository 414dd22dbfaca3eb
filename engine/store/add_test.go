package store

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"unicode/utf16"

	bolt "go.etcd.io/bbolt"

	"github.com/wimconsole/wimconsole/engine/progress"
	"github.com/wimconsole/wimconsole/engine/wim"
	"github.com/wimconsole/wimconsole/internal/oracle"
)

// badUTF16WIM captures tree into a new WIM whose XML data names the image
// with an unpaired surrogate (UTF-16 that no XML can hold): the file
// opens, its data and metadata are sound, only its XML text is not.
func badUTF16WIM(t *testing.T, tree map[string]string) string {
	t.Helper()
	src := captureWIM(t, "lzx", writeTree(t, tree))
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	h, err := wim.ParseHeader(data[:wim.HeaderSize])
	if err != nil {
		t.Fatal(err)
	}
	xml := data[h.XML.Offset : h.XML.Offset+h.XML.StoredSize]
	var name []byte
	for _, u := range utf16.Encode([]rune("<NAME>Image 1</NAME>")) {
		name = binary.LittleEndian.AppendUint16(name, u)
	}
	i := bytes.Index(xml, name)
	if i < 0 {
		t.Fatal("the image's name is not in the XML data")
	}
	// "Image" becomes "I\uD800age": a lone high surrogate.
	binary.LittleEndian.PutUint16(xml[i+2*len("<NAME>I"):], 0xD800)
	bad := filepath.Join(t.TempDir(), "bad-utf16.wim")
	if err := os.WriteFile(bad, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return bad
}

// fileSum is a file's size and SHA-1.
func fileSum(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%d bytes, SHA-1 %x", len(data), sha1.Sum(data))
}

// TestAddInvalidXMLChangesNothing: a source whose XML data holds invalid
// UTF-16 is refused before anything is written: Res.rwm keeps its size
// and SHA-1, no file and no group appears.
func TestAddInvalidXMLChangesNothing(t *testing.T) {
	oracle.Wimlib(t)
	ctx := context.Background()
	s := openStore(t)
	if _, err := s.AddImage(ctx, captureWIM(t, "lzx", writeTree(t, baseTree("A"))), AddOptions{Group: "G"}); err != nil {
		t.Fatal(err)
	}
	bad := badUTF16WIM(t, baseTree("B")) // data new to the group
	res := fileSum(t, s.ResPath("G"))
	snap := snapshot(t, s.Root())
	for _, g := range []string{"G", "H"} {
		_, err := s.AddImage(ctx, bad, AddOptions{Group: g})
		if err == nil {
			t.Fatalf("add-image of %s into %s succeeded", bad, g)
		}
		if !strings.Contains(err.Error(), bad) {
			t.Errorf("the error does not name the source: %v", err)
		}
		t.Logf("into %s: %v", g, err)
		if got := fileSum(t, s.ResPath("G")); got != res {
			t.Fatalf("into %s: Res.rwm is now %s, was %s", g, got, res)
		}
		if got := snapshot(t, s.Root()); got != snap {
			t.Fatalf("into %s: store changed:\n%s\nwant\n%s", g, got, snap)
		}
	}
	mustVerify(t, s)
}

// TestAddFailureRollsBack fails an add-image (ENOSPC) at each point where
// it has written something, into an existing group and into a new one:
// the store is as it was (Res.rwm to the byte, no image file, no group, no
// catalog record, no journal entry).
func TestAddFailureRollsBack(t *testing.T) {
	oracle.Wimlib(t)
	ctx := context.Background()
	a := baseTree("A")
	first := captureWIM(t, "lzx", writeTree(t, a))
	src := captureWIM(t, "lzx", writeTree(t, baseTree("B")), writeTree(t, baseTree("C")), writeTree(t, baseTree("D")))
	unattend := filepath.Join(t.TempDir(), "unattend.xml")
	if err := os.WriteFile(unattend, []byte(`<?xml version="1.0"?><unattend xmlns="urn:schemas-microsoft-com:unattend"><settings pass="windowsPE"/></unattend>`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		step string
		nth  int // fail at the nth time the step is reached
	}{
		{"add-res-written", 1},
		{"add-image-written", 2},
		{"add-committing", 1},
	} {
		for _, g := range []string{"G", "H"} {
			t.Run(fmt.Sprintf("%s/%s", tc.step, g), func(t *testing.T) {
				s := openStore(t)
				if _, err := s.AddImage(ctx, first, AddOptions{Group: "G", Name: "First"}); err != nil {
					t.Fatal(err)
				}
				snap := snapshot(t, s.Root())
				res := fileSum(t, s.ResPath("G"))
				seen := 0
				testFail = func(step string) error {
					if step == tc.step {
						if seen++; seen == tc.nth {
							return &os.PathError{Op: "write", Path: s.GroupDir(g), Err: syscall.ENOSPC}
						}
					}
					return nil
				}
				defer func() { testFail = nil }()
				_, err := s.AddImage(ctx, src, AddOptions{Group: g, Unattend: unattend})
				testFail = nil
				if !errors.Is(err, syscall.ENOSPC) {
					t.Fatalf("add-image: %v, want ENOSPC", err)
				}
				if got := fileSum(t, s.ResPath("G")); got != res {
					t.Errorf("Res.rwm is now %s, was %s", got, res)
				}
				if got := snapshot(t, s.Root()); got != snap {
					t.Fatalf("store changed:\n%s\nwant\n%s", got, snap)
				}
				if err := s.view(func(tx *bolt.Tx) error {
					recs, err := imageRecords(tx)
					if len(recs) != 1 {
						t.Errorf("catalog records after the failure: %v", recs)
					}
					if j, _ := journalEntries(tx); len(j) != 0 {
						t.Errorf("journal after the failure: %+v", j)
					}
					return err
				}); err != nil {
					t.Fatal(err)
				}
				ims, err := s.ListImages(ctx, ListOptions{})
				if err != nil || len(ims) != 1 {
					t.Fatalf("images after the failure: %+v %v", ims, err)
				}
				mustVerify(t, s)
				oracleApply(t, s, ImageRef{Group: "G", File: "install"}, a)
				// The same add then succeeds.
				refs, err := s.AddImage(ctx, src, AddOptions{Group: g, Unattend: unattend})
				if err != nil || len(refs) != 3 {
					t.Fatalf("add-image after the failure: %v %v", refs, err)
				}
				mustVerify(t, s)
			})
		}
	}
}

// damagedBlobsWIM captures n files of random (incompressible) data with
// LZX, the codec of a group made from an LZX source, so that their data is
// copied as stored; then it damages the data of the blobs at positions
// bad (in storage order) and returns the file and its blobs' digests in
// storage order.
func damagedBlobsWIM(t *testing.T, n int, bad ...int) (string, []wim.Hash) {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	tree := map[string]string{}
	for i := range n {
		data := make([]byte, 8000+i*500)
		for j := range data {
			data[j] = byte(rng.UintN(256))
		}
		tree[fmt.Sprintf("data/f%03d.bin", i)] = string(data)
	}
	src := captureWIM(t, "lzx", writeTree(t, tree))
	sw, err := wim.Open(src, nil)
	if err != nil {
		t.Fatal(err)
	}
	var blobs []wim.BlobEntry
	for _, e := range sw.Blobs() {
		if !e.IsMetadata() {
			blobs = append(blobs, e)
		}
	}
	sw.Close()
	if len(blobs) != n {
		t.Fatalf("%s holds %d blobs, want %d", src, len(blobs), n)
	}
	slices.SortFunc(blobs, func(a, b wim.BlobEntry) int { return cmp.Compare(a.Res.Offset, b.Res.Offset) })
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range bad {
		data[blobs[i].Res.Offset+blobs[i].Res.StoredSize/2] ^= 0x55
	}
	if err := os.WriteFile(src, data, 0o644); err != nil {
		t.Fatal(err)
	}
	hashes := make([]wim.Hash, len(blobs))
	for i, e := range blobs {
		hashes[i] = e.Hash
	}
	return src, hashes
}

// TestCheckBlobsParallelFirstError: the source's data is checked in
// batches on every core; the error is still that of the first damaged blob
// in storage order, the one a single reader meets first, however the
// batches are shared out, and every byte is checked.
func TestCheckBlobsParallelFirstError(t *testing.T) {
	oracle.Wimlib(t)
	ctx := context.Background()
	old := checkBatchBytes
	defer func() { checkBatchBytes = old }()
	for _, tc := range []struct {
		name  string
		batch int64 // bytes a batch holds
		bad   []int // damaged blobs, in storage order
	}{
		{"sound, batch per blob", 1, nil},
		{"sound, batches of blobs", 30000, nil},
		{"two damaged, batch per blob", 1, []int{7, 29}},
		{"two damaged, batches of blobs", 30000, []int{7, 29}},
		{"last damaged", 1, []int{39}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, hashes := damagedBlobsWIM(t, 40, tc.bad...)
			sw, err := wim.Open(src, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer sw.Close()
			// What one reader of all the blobs says.
			want := sw.ReadBlobs(ctx, hashes, nil)
			if (want != nil) != (len(tc.bad) > 0) {
				t.Fatalf("reading the blobs in one go: %v", want)
			}
			var total int64
			for _, h := range hashes {
				e, _ := sw.Blob(h)
				total += e.Size()
			}
			checkBatchBytes = tc.batch
			if n := len(checkBatches(sw, hashes)); n < 2 {
				t.Fatalf("%d batches: nothing to share out", n)
			}
			// Shuffled: the batches follow the storage order, not the
			// caller's.
			shuffled := slices.Clone(hashes)
			rand.New(rand.NewPCG(3, 4)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
			for range 20 {
				var mu sync.Mutex
				var last int64
				err := checkBlobs(ctx, sw, shuffled, total, func(r progress.Report) {
					mu.Lock()
					last = max(last, r.Done)
					mu.Unlock()
				})
				if fmt.Sprint(err) != fmt.Sprint(want) {
					t.Fatalf("checkBlobs: %v\nwant %v", err, want)
				}
				if want == nil && last != total {
					t.Fatalf("checked %d bytes of %d", last, total)
				}
			}
		})
	}
}

// TestAddDamagedDataChangesNothing: a source whose data is damaged in
// places the parallel check reaches in different batches is refused, into
// an existing group (checked while appended) and into a new one (checked
// first): the error names the source, the store is unchanged.
func TestAddDamagedDataChangesNothing(t *testing.T) {
	oracle.Wimlib(t)
	ctx := context.Background()
	old := checkBatchBytes
	defer func() { checkBatchBytes = old }()
	checkBatchBytes = 1
	s := openStore(t)
	if _, err := s.AddImage(ctx, captureWIM(t, "lzx", writeTree(t, baseTree("A"))), AddOptions{Group: "G"}); err != nil {
		t.Fatal(err)
	}
	snap := snapshot(t, s.Root())
	for _, bad := range [][]int{{0}, {20}, {39}, {5, 33}} {
		src, _ := damagedBlobsWIM(t, 40, bad...)
		for _, g := range []string{"G", "H"} {
			_, err := s.AddImage(ctx, src, AddOptions{Group: g, FileName: "new", Name: "New"})
			if err == nil {
				t.Fatalf("blobs %v damaged: add-image into %s succeeded", bad, g)
			}
			if !strings.Contains(err.Error(), src) {
				t.Errorf("blobs %v damaged, into %s: the error does not name the source: %v", bad, g, err)
			}
			if got := snapshot(t, s.Root()); got != snap {
				t.Fatalf("blobs %v damaged, into %s: store changed:\n%s\nwant\n%s", bad, g, got, snap)
			}
		}
	}
	mustVerify(t, s)
}

// TestAddDamagedMetadataChangesNothing: a source whose image metadata is
// damaged (read while the store prepares the add) is refused, into an
// existing group and a new one, checked or not: the error names the
// source and the store is unchanged.
func TestAddDamagedMetadataChangesNothing(t *testing.T) {
	oracle.Wimlib(t)
	ctx := context.Background()
	s := openStore(t)
	if _, err := s.AddImage(ctx, captureWIM(t, "lzx", writeTree(t, baseTree("A"))), AddOptions{Group: "G"}); err != nil {
		t.Fatal(err)
	}
	snap := snapshot(t, s.Root())
	src := captureWIM(t, "lzx", writeTree(t, baseTree("B")), writeTree(t, baseTree("C")))
	sw, err := wim.Open(src, nil)
	if err != nil {
		t.Fatal(err)
	}
	e, err := sw.MetadataEntry(2)
	sw.Close()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	data[e.Res.Offset+e.Res.StoredSize/2] ^= 0x55
	bad := filepath.Join(t.TempDir(), "bad-metadata.wim")
	if err := os.WriteFile(bad, data, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, g := range []string{"G", "H"} {
		for _, skip := range []bool{false, true} {
			_, err := s.AddImage(ctx, bad, AddOptions{Group: g, Indexes: []int{2}, Name: "New", SkipVerify: skip})
			if err == nil {
				t.Fatalf("into %s (skip verify %v): add-image succeeded", g, skip)
			}
			if !strings.Contains(err.Error(), bad) {
				t.Errorf("into %s (skip verify %v): the error does not name the source: %v", g, skip, err)
			}
			t.Logf("into %s (skip verify %v): %v", g, skip, err)
			if got := snapshot(t, s.Root()); got != snap {
				t.Fatalf("into %s (skip verify %v): store changed:\n%s\nwant\n%s", g, skip, got, snap)
			}
		}
	}
	mustVerify(t, s)
}
