package wim

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/wimconsole/wimconsole/engine/progress"
	"github.com/wimconsole/wimconsole/internal/oracle"
	"github.com/wimconsole/wimconsole/internal/testtree"
)

// makeContainerTree writes a small but varied directory tree under dir: random
// (incompressible) data, text that compresses well and spans many chunks,
// an empty file, duplicates, and nested directories.
func makeContainerTree(t testing.TB, dir string, seed uint64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	write := func(name string, data []byte) {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	random := make([]byte, 70000)
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	write("random.bin", random)
	var text bytes.Buffer
	for i := 0; text.Len() < 400000; i++ {
		fmt.Fprintf(&text, "line %d: the quick brown fox %d jumps over the lazy dog\n", i, rng.IntN(1000))
	}
	write("text.txt", text.Bytes())
	write("sub/copy.txt", text.Bytes())
	write("sub/deeper/small.txt", []byte("hello, world\n"))
	write("empty", nil)
	write("seed.txt", []byte(strconv.FormatUint(seed, 10)))
	// Half compressible, half random: some chunks shrink, some are stored
	// raw inside a compressed resource.
	mixed := slices.Concat(text.Bytes()[:100000], random, text.Bytes()[:100000])
	write("sub/mixed.bin", mixed)
}

// wimlibBlob is one blob as `wimlib-imagex info --blobs` prints it.
type wimlibBlob struct {
	Hash        string
	Size        int64
	Stored      int64 // -1 for solid
	Offset      int64 // offset in WIM, or solid offset
	SolidOffset int64 // -1 when not solid
	Part        int
	RefCount    int
	Flags       string
}

// parseWimlibBlobs parses the blob list of `wimlib-imagex info --blobs`.
func parseWimlibBlobs(t testing.TB, out string) map[Hash]wimlibBlob {
	t.Helper()
	blobs := map[Hash]wimlibBlob{}
	var cur *wimlibBlob
	flush := func() {
		if cur != nil {
			h, err := ParseHash(cur.Hash)
			if err != nil {
				t.Fatalf("wimlib hash %q: %v", cur.Hash, err)
			}
			blobs[h] = *cur
			cur = nil
		}
	}
	num := func(s string) int64 {
		f := strings.Fields(s)
		v, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			t.Fatalf("parsing %q: %v", s, err)
		}
		return v
	}
	for _, line := range strings.Split(out, "\n") {
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch k {
		case "Hash":
			flush()
			cur = &wimlibBlob{Hash: v, Stored: -1, SolidOffset: -1}
		case "Uncompressed size":
			cur.Size = num(v)
		case "Compressed size":
			cur.Stored = num(v)
		case "Offset in WIM":
			cur.Offset = num(v)
		case "Solid offset":
			cur.SolidOffset = num(v)
		case "Part Number":
			if cur != nil {
				cur.Part = int(num(v))
			}
		case "Reference Count":
			cur.RefCount = int(num(v))
		case "Flags":
			if cur != nil {
				cur.Flags = v
			}
		}
	}
	flush()
	return blobs
}

// parseWimlibHeader parses `wimlib-imagex info --header` into its fields.
func parseWimlibHeader(out string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		k, v, ok := strings.Cut(line, "=")
		if ok && !strings.HasPrefix(line, " ") {
			m[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return m
}

// compareWithWimlib checks our view of the file against wimlib-imagex
// info --header --blobs, and the XML data against --extract-xml.
func compareWithWimlib(t *testing.T, w *WIM) {
	t.Helper()
	out := oracle.Run(t, "info", w.Name(), "--header", "--blobs")
	hdrPart, _, _ := strings.Cut(out, "Hash ")
	hm := parseWimlibHeader(hdrPart)
	h := w.Header()
	checks := []struct {
		key  string
		want string
	}{
		{"Version", fmt.Sprintf("0x%x", h.Version)},
		{"Flags", fmt.Sprintf("0x%x", h.Flags)},
		{"Chunk Size", fmt.Sprint(h.ChunkSize)},
		{"GUID", fmt.Sprintf("%x", h.GUID)},
		{"Part Number", fmt.Sprint(h.Part)},
		{"Total Parts", fmt.Sprint(h.TotalParts)},
		{"Image Count", fmt.Sprint(h.ImageCount)},
		{"Blob Table Size", fmt.Sprint(h.BlobTable.StoredSize)},
		{"Blob Table Offset", fmt.Sprint(h.BlobTable.Offset)},
		{"Blob Table Original_size", fmt.Sprint(h.BlobTable.Size)},
		{"XML Data Size", fmt.Sprint(h.XML.StoredSize)},
		{"XML Data Offset", fmt.Sprint(h.XML.Offset)},
		{"Boot Metadata Size", fmt.Sprint(h.BootMetadata.StoredSize)},
		{"Boot Metadata Offset", fmt.Sprint(h.BootMetadata.Offset)},
		{"Boot Index", fmt.Sprint(h.BootIndex)},
		{"Integrity Size", fmt.Sprint(h.Integrity.StoredSize)},
		{"Integrity Offset", fmt.Sprint(h.Integrity.Offset)},
	}
	for _, c := range checks {
		if got := hm[c.key]; got != c.want {
			t.Errorf("%s: header %s: wimlib says %q, we say %q", w.Name(), c.key, got, c.want)
		}
	}

	theirs := parseWimlibBlobs(t, out)
	ours := map[Hash]BlobEntry{}
	for _, e := range w.Blobs() {
		ours[e.Hash] = e
	}
	if len(ours) != len(theirs) {
		t.Errorf("%s: %d blobs, wimlib lists %d", w.Name(), len(ours), len(theirs))
	}
	for h, b := range theirs {
		e, ok := ours[h]
		if !ok {
			t.Errorf("%s: blob %s (wimlib: %+v) missing", w.Name(), h, b)
			continue
		}
		if e.Size() != b.Size || int(e.Part) != b.Part || int(e.RefCount) != b.RefCount {
			t.Errorf("%s: blob %s: size %d part %d refs %d; wimlib %+v", w.Name(), h, e.Size(), e.Part, e.RefCount, b)
		}
		if b.SolidOffset >= 0 {
			if e.Solid == nil || e.SolidOffset != b.SolidOffset {
				t.Errorf("%s: blob %s: solid offset %d (solid %v); wimlib %d", w.Name(), h, e.SolidOffset, e.Solid != nil, b.SolidOffset)
			}
		} else if e.Solid != nil || e.Res.Offset != b.Offset || e.Res.StoredSize != b.Stored {
			t.Errorf("%s: blob %s: %v; wimlib %+v", w.Name(), h, e.Res, b)
		}
	}

	xmlPath := filepath.Join(t.TempDir(), "x.xml")
	oracle.Run(t, "info", w.Name(), "--extract-xml", xmlPath)
	raw, err := os.ReadFile(xmlPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(raw, w.RawXML()) {
		t.Errorf("%s: raw XML differs from wimlib's --extract-xml", w.Name())
	}
}

// checkAllBlobs reads every blob w can reach through OpenBlob, ReadBlob and
// ReadBlobs, checking the data against its digest independently.
func checkAllBlobs(t *testing.T, w *WIM) {
	t.Helper()
	var hashes []Hash
	for _, e := range w.Blobs() {
		if !e.IsMetadata() {
			hashes = append(hashes, e.Hash)
		}
	}
	for _, h := range hashes {
		rc, err := w.OpenBlob(h)
		if err != nil {
			t.Fatalf("OpenBlob(%s): %v", h, err)
		}
		sha := sha1.New()
		if _, err := io.Copy(sha, rc); err != nil {
			t.Fatalf("reading blob %s: %v", h, err)
		}
		rc.Close()
		if got := Hash(sha.Sum(nil)); got != h {
			t.Fatalf("blob %s reads as %s", h, got)
		}
		data, err := w.ReadBlob(h, 1<<30)
		if err != nil {
			t.Fatalf("ReadBlob(%s): %v", h, err)
		}
		if Hash(sha1.Sum(data)) != h {
			t.Fatalf("ReadBlob(%s) returned wrong data", h)
		}
	}
	seen := map[Hash]bool{}
	err := w.ReadBlobs(context.Background(), hashes, func(e BlobEntry, r io.Reader) error {
		data, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		if Hash(sha1.Sum(data)) != e.Hash || int64(len(data)) != e.Size() {
			return fmt.Errorf("ReadBlobs gave wrong data for %s", e.Hash)
		}
		seen[e.Hash] = true
		return nil
	})
	if err != nil {
		t.Fatalf("ReadBlobs: %v", err)
	}
	if len(seen) != len(hashes) {
		t.Fatalf("ReadBlobs read %d of %d blobs", len(seen), len(hashes))
	}
	for i := 1; i <= w.ImageCount(); i++ {
		md, err := w.MetadataResource(i)
		if err != nil {
			t.Fatalf("MetadataResource(%d): %v", i, err)
		}
		e, _ := w.MetadataEntry(i)
		if Hash(sha1.Sum(md)) != e.Hash {
			t.Fatalf("metadata %d: wrong digest", i)
		}
	}
}

func TestOpenWimlibCompressions(t *testing.T) {
	oracle.Wimlib(t)
	src := filepath.Join(t.TempDir(), "src")
	makeContainerTree(t, src, 1)
	cases := []struct {
		name  string
		args  []string
		comp  Compression
		solid Compression // codec of the solid resources, if any
	}{
		{"none", []string{"--compress=none"}, None, None},
		{"xpress", []string{"--compress=xpress"}, XPRESS, None},
		{"lzx", []string{"--compress=lzx"}, LZX, None},
		{"lzms", []string{"--compress=lzms"}, LZMS, None},
		{"lzx-64k", []string{"--compress=lzx", "--chunk-size=65536"}, LZX, None},
		{"lzx-2m", []string{"--compress=lzx", "--chunk-size=2M"}, LZX, None},
		{"xpress-4k", []string{"--compress=xpress", "--chunk-size=4096"}, XPRESS, None},
		{"lzms-solid", []string{"--solid"}, LZMS, LZMS},
		{"lzx-solid", []string{"--solid", "--solid-compress=lzx"}, LZMS, LZX},
		{"xpress-solid-chunk", []string{"--compress=xpress", "--solid", "--solid-compress=xpress", "--solid-chunk-size=65536"}, XPRESS, XPRESS},
		{"lzms-solid-small-chunk", []string{"--solid", "--solid-chunk-size=64K"}, LZMS, LZMS},
		{"check-boot", []string{"--compress=lzx", "--check", "--boot"}, LZX, None},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			name := filepath.Join(t.TempDir(), c.name+".wim")
			oracle.Run(t, append([]string{"capture", src, name, "Image " + c.name, "desc"}, c.args...)...)
			w, err := Open(name, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			if got := w.Header().Compression(); got != c.comp {
				t.Errorf("compression %v, want %v", got, c.comp)
			}
			if c.solid != None {
				ss := w.solidResources()
				if len(ss) == 0 || ss[0].Compression != c.solid || w.Header().Version != VersionSolid {
					t.Errorf("solid resources %+v, version 0x%x; want %v", ss, w.Header().Version, c.solid)
				}
			} else if len(w.solidResources()) != 0 {
				t.Errorf("unexpected solid resources")
			}
			compareWithWimlib(t, w)
			checkAllBlobs(t, w)
			var reports int
			if err := w.Verify(context.Background(), func(progress.Report) { reports++ }); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if reports == 0 {
				t.Error("Verify sent no progress")
			}
			img := w.XML().Image(1)
			if img == nil || img.Name != "Image "+c.name || img.Description != "desc" || img.FileCount == 0 {
				t.Errorf("XML image 1: %+v", img)
			}
			if slices.Contains(c.args, "--check") {
				if err := w.CheckIntegrity(context.Background()); err != nil {
					t.Errorf("CheckIntegrity: %v", err)
				}
			} else if err := w.CheckIntegrity(context.Background()); !errors.Is(err, ErrNoIntegrity) {
				t.Errorf("CheckIntegrity without a table: %v", err)
			}
			if slices.Contains(c.args, "--boot") {
				h := w.Header()
				md, _ := w.MetadataEntry(1)
				if w.BootIndex() != 1 || h.BootMetadata != md.Res {
					t.Errorf("boot index %d, boot metadata %v, image 1 metadata %v", w.BootIndex(), h.BootMetadata, md.Res)
				}
			}
		})
	}
}

// addBigRandomFile adds an incompressible file of n bytes to dir, so that a
// split set gets several parts.
func addBigRandomFile(t testing.TB, dir string, n int, seed uint64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 2))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	if err := os.WriteFile(filepath.Join(dir, "big-random.bin"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestSplitSet(t *testing.T) {
	oracle.Wimlib(t)
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	makeContainerTree(t, src, 2)
	addBigRandomFile(t, src, 1200000, 2)
	full := filepath.Join(dir, "full.wim")
	oracle.Run(t, "capture", src, full, "Split me", "--compress=lzx")
	swm := filepath.Join(dir, "set.swm")
	oracle.Run(t, "split", full, swm, "0.4")
	parts, _ := filepath.Glob(filepath.Join(dir, "set*.swm"))
	if len(parts) < 3 {
		t.Fatalf("split made %d parts, want at least 3", len(parts))
	}

	fw, err := Open(full, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer fw.Close()
	var all []Hash
	for _, e := range fw.Blobs() {
		if !e.IsMetadata() {
			all = append(all, e.Hash)
		}
	}

	// Each part on its own: header and blobs as wimlib sees them, and
	// every blob of the part verifies.
	for _, p := range parts {
		w, err := Open(p, &OpenOptions{NoSplitSearch: true})
		if err != nil {
			t.Fatal(err)
		}
		if w.Header().TotalParts != uint16(len(parts)) || w.Header().Flags&FlagSpanned == 0 {
			t.Errorf("%s: header %+v", p, w.Header())
		}
		compareWithWimlib(t, w)
		if err := w.Verify(context.Background(), nil); err != nil {
			t.Errorf("Verify %s: %v", p, err)
		}
		if w.Header().Part != 1 {
			if _, err := w.MetadataResource(1); err == nil {
				t.Errorf("%s: metadata from part %d", p, w.Header().Part)
			}
		}
		w.Close()
	}

	// Part 1 alone: a blob of another part is missing, naming the parts.
	w1, err := Open(swm, &OpenOptions{NoSplitSearch: true})
	if err != nil {
		t.Fatal(err)
	}
	var missing *MissingBlobError
	var found int
	for _, h := range all {
		_, err := w1.OpenBlob(h)
		if err == nil {
			found++
			continue
		}
		if !errors.As(err, &missing) || missing.Hash != h || !strings.Contains(err.Error(), "2") || !strings.Contains(err.Error(), h.String()) {
			t.Fatalf("OpenBlob of a blob in another part: %v", err)
		}
	}
	w1.Close()
	if found == len(all) {
		t.Fatal("part 1 holds every blob; the split test tests nothing")
	}

	// Part 1 finds its siblings; and a glob of all parts as references
	// (including part 1 itself) works too.
	for _, opts := range []*OpenOptions{nil, {Refs: parts, NoSplitSearch: true}} {
		w, err := Open(swm, opts)
		if err != nil {
			t.Fatal(err)
		}
		if len(w.Refs()) != len(parts)-1 {
			t.Errorf("opened %d references, want %d", len(w.Refs()), len(parts)-1)
		}
		checkAllBlobsFrom(t, w, all)
		if _, err := w.MetadataResource(1); err != nil {
			t.Error(err)
		}
		w.Close()
	}
}

// checkAllBlobsFrom reads the given blobs through w (and its references).
func checkAllBlobsFrom(t *testing.T, w *WIM, hashes []Hash) {
	t.Helper()
	for _, h := range hashes {
		if _, ok := w.Blob(h); !ok {
			t.Fatalf("Blob(%s) not found", h)
		}
		data, err := w.ReadBlob(h, 1<<30)
		if err != nil {
			t.Fatalf("ReadBlob(%s): %v", h, err)
		}
		if Hash(sha1.Sum(data)) != h {
			t.Fatalf("blob %s: wrong data", h)
		}
	}
	n := 0
	err := w.ReadBlobs(context.Background(), hashes, func(e BlobEntry, r io.Reader) error {
		n++
		return nil // the rest is read and checked by ReadBlobs
	})
	if err != nil || n != len(hashes) {
		t.Fatalf("ReadBlobs: %d of %d, %v", n, len(hashes), err)
	}
}

func TestMultiImageAppend(t *testing.T) {
	oracle.Wimlib(t)
	dir := t.TempDir()
	src1, src2 := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	makeContainerTree(t, src1, 3)
	makeContainerTree(t, src2, 4)
	name := filepath.Join(dir, "multi.wim")
	oracle.Run(t, "capture", src1, name, "First", "--compress=xpress")
	oracle.Run(t, "append", src2, name, "Second", "Second image")
	oracle.Run(t, "append", src1, name, "Third")
	oracle.Run(t, "info", name, "2", "--boot")
	w, err := Open(name, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if w.ImageCount() != 3 || len(w.XML().Images) != 3 {
		t.Fatalf("%d images", w.ImageCount())
	}
	for i, want := range []string{"First", "Second", "Third"} {
		if img := w.XML().Image(i + 1); img.Name != want || img.Index != i+1 {
			t.Errorf("image %d: %+v", i+1, img)
		}
	}
	md2, err := w.MetadataEntry(2)
	if err != nil {
		t.Fatal(err)
	}
	if w.BootIndex() != 2 || w.Header().BootMetadata != md2.Res {
		t.Errorf("boot index %d, boot metadata %v, image 2 %v", w.BootIndex(), w.Header().BootMetadata, md2.Res)
	}
	compareWithWimlib(t, w)
	checkAllBlobs(t, w)
	if err := w.Verify(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
}

// readFixture returns the header and blob table entries of a WIM file.
func rawBlobTable(t testing.TB, data []byte) (Header, []BlobEntry) {
	t.Helper()
	h, err := ParseHeader(data)
	if err != nil {
		t.Fatal(err)
	}
	tb := data[h.BlobTable.Offset:h.BlobTable.End()]
	var entries []BlobEntry
	for i := 0; i+blobEntrySize <= len(tb); i += blobEntrySize {
		entries = append(entries, decodeBlobEntry(tb[i:]))
	}
	return h, entries
}

// writeResourceOnly makes a WDS-style resource-only WIM (Res.rwm) from a
// WIM with raw blob table and XML: the same resources, a blob table without
// the metadata entries, no images.
func writeResourceOnly(t testing.TB, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	h, entries := rawBlobTable(t, data)
	out := slices.Clone(data[:h.BlobTable.Offset])
	var table []byte
	for _, e := range entries {
		if !e.IsMetadata() {
			table = e.appendEncode(table)
		}
	}
	h.BlobTable = ResourceHeader{StoredSize: int64(len(table)), Flags: ResMetadata, Offset: int64(len(out)), Size: int64(len(table))}
	out = append(out, table...)
	info := &Info{TotalBytes: int64(len(out))}
	xmlData, err := info.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	h.XML = ResourceHeader{StoredSize: int64(len(xmlData)), Flags: ResMetadata, Offset: int64(len(out)), Size: int64(len(xmlData))}
	out = append(out, xmlData...)
	h.ImageCount = 0
	h.BootIndex = 0
	h.BootMetadata = ResourceHeader{}
	h.Integrity = ResourceHeader{}
	h.Flags |= FlagResourceOnly
	hb, _ := h.MarshalBinary()
	copy(out, hb)
	if err := os.WriteFile(to, out, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestWDSImageGroup(t *testing.T) {
	oracle.Wimlib(t)
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	makeContainerTree(t, src, 5)
	full := filepath.Join(dir, "full.wim")
	oracle.Run(t, "capture", src, full, "Full", "--compress=lzx")
	res := filepath.Join(dir, "Res.rwm")
	writeResourceOnly(t, full, res)
	img := filepath.Join(dir, "image.wim")
	// A delta capture against the resource file holds only metadata.
	oracle.Run(t, "capture", src, img, "Install", "--compress=lzx", "--delta-from="+res)
	// The oracle applies the group: metadata from image.wim, data from
	// Res.rwm.
	out := filepath.Join(dir, "out")
	oracle.Run(t, "apply", img, "1", out, "--ref="+res)
	for _, f := range []string{"text.txt", "random.bin", "sub/mixed.bin"} {
		a, _ := os.ReadFile(filepath.Join(src, f))
		b, err := os.ReadFile(filepath.Join(out, f))
		if err != nil || !bytes.Equal(a, b) {
			t.Fatalf("wimlib apply of the group: %s differs (%v)", f, err)
		}
	}

	rw, err := Open(res, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rw.Close()
	if rw.ImageCount() != 0 || rw.Header().Flags&FlagResourceOnly == 0 {
		t.Errorf("Res.rwm: %d images, flags 0x%x", rw.ImageCount(), rw.Header().Flags)
	}
	compareWithWimlib(t, rw)
	if err := rw.Verify(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	var hashes []Hash
	for _, e := range rw.Blobs() {
		hashes = append(hashes, e.Hash)
	}

	// The image alone cannot reach its data, and says what is missing.
	alone, err := Open(img, nil)
	if err != nil {
		t.Fatal(err)
	}
	var nblobs int
	for _, e := range alone.Blobs() {
		if !e.IsMetadata() {
			nblobs++
		}
	}
	if nblobs != 0 {
		t.Errorf("delta image holds %d file blobs, want 0", nblobs)
	}
	_, err = alone.OpenBlob(hashes[0])
	var missing *MissingBlobError
	if !errors.As(err, &missing) || !strings.Contains(err.Error(), "--ref") || !strings.Contains(err.Error(), hashes[0].String()) {
		t.Errorf("blob without its Res.rwm: %v", err)
	}
	if err := alone.ReadBlobs(context.Background(), hashes, nil); !errors.As(err, &missing) {
		t.Errorf("ReadBlobs without Res.rwm: %v", err)
	}
	if err := alone.Verify(context.Background(), nil); err != nil {
		t.Errorf("Verify of the metadata-only image: %v", err)
	}
	alone.Close()

	w, err := Open(img, &OpenOptions{Refs: []string{res}})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	checkAllBlobsFrom(t, w, hashes)
	if _, err := w.MetadataResource(1); err != nil {
		t.Fatal(err)
	}
}

// corruptAt flips one byte of a file.
func corruptAt(t testing.TB, name string, off int64) {
	t.Helper()
	f, err := os.OpenFile(name, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var b [1]byte
	if _, err := f.ReadAt(b[:], off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0x55
	if _, err := f.WriteAt(b[:], off); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyFindsDamage(t *testing.T) {
	oracle.Wimlib(t)
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	makeContainerTree(t, src, 6)
	for _, c := range []struct {
		name string
		args []string
	}{
		{"lzx", []string{"--compress=lzx"}},
		{"xpress", []string{"--compress=xpress"}},
		{"lzms", []string{"--compress=lzms"}},
		{"none", []string{"--compress=none"}},
		{"solid", []string{"--solid"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			orig := filepath.Join(dir, c.name+".wim")
			oracle.Run(t, append([]string{"capture", src, orig}, c.args...)...)
			w, err := Open(orig, nil)
			if err != nil {
				t.Fatal(err)
			}
			blobs := w.Blobs()
			w.Close()
			// Damage the middle of the largest blob's stored data (a
			// compressed chunk where there is one).
			var target BlobEntry
			for _, e := range blobs {
				if !e.IsMetadata() && e.Size() > target.Size() {
					target = e
				}
			}
			off := target.Res.Offset + target.Res.StoredSize/2
			if target.Solid != nil {
				off = target.Solid.Res.Offset + target.Solid.Res.StoredSize/2
			}
			damaged := filepath.Join(t.TempDir(), "damaged.wim")
			data, _ := os.ReadFile(orig)
			os.WriteFile(damaged, data, 0o644)
			corruptAt(t, damaged, off)
			if _, err := oracle.Try(t, "verify", damaged); err == nil {
				t.Fatalf("wimlib verify accepts the damage at 0x%x", off)
			}
			w, err = Open(damaged, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			err = w.Verify(context.Background(), nil)
			if err == nil {
				t.Fatalf("Verify passed with a damaged byte at 0x%x", off)
			}
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), damaged) {
				t.Errorf("error does not report corruption in the file: %v", err)
			}
			if target.Solid == nil && !strings.Contains(err.Error(), target.Hash.String()) {
				t.Errorf("error does not name blob %s: %v", target.Hash, err)
			}
			t.Logf("%v", err)
			_, err = w.ReadBlob(target.Hash, 1<<30)
			if err == nil {
				t.Errorf("ReadBlob of the damaged blob succeeded")
			}
		})
	}
}

func TestIntegrityDamage(t *testing.T) {
	oracle.Wimlib(t)
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	makeContainerTree(t, src, 7)
	name := filepath.Join(dir, "check.wim")
	oracle.Run(t, "capture", src, name, "--check", "--compress=xpress")
	w, err := Open(name, &OpenOptions{CheckIntegrity: true})
	if err != nil {
		t.Fatal(err)
	}
	it, err := w.readIntegrityTable()
	if err != nil || it.ChunkSize != integrityChunkSize || len(it.Hashes) != 1 {
		t.Fatalf("integrity table %+v, %v", it, err)
	}
	again, err := computeIntegrity(context.Background(), w.ra, w.Header().BlobTable.End(), it.ChunkSize, nil)
	if err != nil || !slices.Equal(again.Hashes, it.Hashes) {
		t.Errorf("ComputeIntegrity disagrees: %v", err)
	}
	enc, _ := it.MarshalBinary()
	raw, _ := w.readHeaderResource(w.Header().Integrity, "integrity")
	if !bytes.Equal(enc, raw) {
		t.Errorf("integrity table does not re-encode identically")
	}
	w.Close()

	corruptAt(t, name, HeaderSize+100)
	if _, err := Open(name, &OpenOptions{CheckIntegrity: true}); err == nil || !strings.Contains(err.Error(), "integrity") {
		t.Fatalf("Open with CheckIntegrity of a damaged file: %v", err)
	}
	w, err = Open(name, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	err = w.CheckIntegrity(context.Background())
	var fe *FormatError
	if !errors.As(err, &fe) || fe.Offset != HeaderSize {
		t.Fatalf("CheckIntegrity: %v", err)
	}
	if err := w.Verify(context.Background(), nil); err == nil {
		t.Fatal("Verify passed a file failing its integrity check")
	}
}

var updateContainerFixtures = flag.Bool("update-containerFixtures", false, "rewrite testdata/container with wimlib-imagex")

// containerFixtureDir holds small wimlib-written files, used by the tests that do
// not need the oracle and as fuzz seeds.
const containerFixtureDir = "testdata/container"

// containerFixtures are the checked-in files and how they were made.
var containerFixtures = []struct {
	name string
	sub  string   // directory of the tree to capture
	args []string // capture arguments after SOURCE WIMFILE
}{
	{"none.wim", "sub", []string{"Fixture", "--compress=none"}},
	{"xpress.wim", "", []string{"Fixture", "--compress=xpress"}},
	{"lzx.wim", "", []string{"Fixture", "LZX fixture", "--compress=lzx", "--boot", "--check"}},
	{"lzms.wim", "", []string{"Fixture", "--compress=lzms"}},
	{"solid.esd", "", []string{"Fixture", "--solid"}},
	{"solid-lzx.wim", "", []string{"Fixture", "--solid", "--solid-compress=lzx"}},
}

// writeContainerFixtureTree writes the tree the containerFixtures capture: ~100 KB.
func writeContainerFixtureTree(t testing.TB, dir string) {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, 7))
	var text bytes.Buffer
	for i := 0; text.Len() < 80000; i++ {
		fmt.Fprintf(&text, "line %d of the fixture text, quick brown fox %d\n", i, rng.IntN(100))
	}
	random := make([]byte, 600)
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	files := map[string][]byte{
		"hello.txt":          []byte("hello, world\n"),
		"text.txt":           text.Bytes(),
		"sub/rand.bin":       random,
		"sub/empty":          nil,
		"sub/hello-copy.txt": []byte("hello, world\n"),
	}
	testtree.Write(t, dir, files)
}

// TestUpdateFixtures regenerates testdata/container when run with
// -update-containerFixtures.
func TestUpdateFixtures(t *testing.T) {
	if !*updateContainerFixtures {
		t.Skip("run with -update-containerFixtures to regenerate testdata/container")
	}
	oracle.Wimlib(t)
	src := filepath.Join(t.TempDir(), "src")
	writeContainerFixtureTree(t, src)
	os.MkdirAll(containerFixtureDir, 0o755)
	for _, f := range containerFixtures {
		out := filepath.Join(containerFixtureDir, f.name)
		os.Remove(out)
		oracle.Run(t, append([]string{"capture", filepath.Join(src, f.sub), out}, f.args...)...)
	}
	multi := filepath.Join(containerFixtureDir, "multi.wim")
	os.Remove(multi)
	oracle.Run(t, "capture", src, multi, "One", "--compress=xpress")
	oracle.Run(t, "append", filepath.Join(src, "sub"), multi, "Two", "Second image")
	for _, p := range []string{"split.swm", "split2.swm", "split3.swm"} {
		os.Remove(filepath.Join(containerFixtureDir, p))
	}
	oracle.Run(t, "split", filepath.Join(containerFixtureDir, "lzx.wim"), filepath.Join(containerFixtureDir, "split.swm"), "0.004")
}

// containerFixture returns the bytes of a checked-in fixture.
func containerFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(containerFixtureDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// writeTempWIM writes data to a new file and returns its name.
func writeTempWIM(t testing.TB, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// setBlobEntry overwrites blob table entry i of a WIM image in memory.
func setBlobEntry(data []byte, i int, e BlobEntry) {
	h, _ := ParseHeader(data)
	e.Encode(data[h.BlobTable.Offset+int64(i)*blobEntrySize:])
}

// withoutIntegrity drops the integrity table from a WIM image in memory,
// so that damage elsewhere is found by the code under test rather than by
// the integrity check.
func withoutIntegrity(data []byte) []byte {
	h, _ := ParseHeader(data)
	h.Integrity = ResourceHeader{}
	setRawHeader(data, h)
	return data
}

// setRawHeader re-encodes the header of a WIM image in memory.
func setRawHeader(data []byte, h Header) {
	b, _ := h.MarshalBinary()
	copy(data, b)
}

// largestCompressed returns the index in the raw table of the largest
// compressed non-metadata entry, and the entry.
func largestCompressed(t testing.TB, data []byte) (int, BlobEntry) {
	t.Helper()
	_, entries := rawBlobTable(t, data)
	best := -1
	for i, e := range entries {
		if e.Res.Compressed() && !e.IsMetadata() && (best < 0 || e.Res.Size > entries[best].Res.Size) {
			best = i
		}
	}
	if best < 0 {
		t.Fatal("no compressed blob")
	}
	return best, entries[best]
}

// readAllOf opens name and reads all it can, returning the first
// error. It must never panic.
func readAllOf(name string) error {
	w, err := Open(name, nil)
	if err != nil {
		return err
	}
	defer w.Close()
	var first error
	keep := func(err error) {
		if first == nil && err != nil {
			first = err
		}
	}
	// Read blob by blob first, so that the error is the specific one, then
	// Verify (which checks the integrity table first).
	for _, e := range w.Blobs() {
		if e.IsMetadata() {
			continue
		}
		rc, err := w.OpenBlob(e.Hash)
		if err != nil {
			keep(err)
			continue
		}
		_, err = io.Copy(io.Discard, rc)
		keep(err)
		rc.Close()
	}
	for i := 1; i <= w.ImageCount(); i++ {
		_, err := w.MetadataResource(i)
		keep(err)
	}
	keep(w.Verify(context.Background(), nil))
	if _, err := w.XML().Marshal(); err != nil {
		keep(err)
	}
	return first
}

func TestFixtures(t *testing.T) {
	for _, f := range append(containerFixtures[:len(containerFixtures):len(containerFixtures)], struct {
		name string
		sub  string
		args []string
	}{name: "multi.wim"}) {
		t.Run(f.name, func(t *testing.T) {
			w, err := Open(filepath.Join(containerFixtureDir, f.name), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			checkAllBlobs(t, w)
			if err := w.Verify(context.Background(), nil); err != nil {
				t.Fatal(err)
			}
		})
	}
	w, err := Open(filepath.Join(containerFixtureDir, "split.swm"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if len(w.Refs()) != 1 || w.Refs()[0].Header().Part != 2 {
		t.Fatalf("split part 1 found references %v", w.Refs())
	}
	checkAllBlobs(t, w)
}

// TestHostileFiles damages a good file in targeted ways: each must give
// a clear error (from Open, or when the data is read), never a panic.
func TestHostileFiles(t *testing.T) {
	withIntegrity := containerFixture(t, "lzx.wim")
	base := withoutIntegrity(slices.Clone(withIntegrity))
	ihdr, _ := ParseHeader(withIntegrity)
	hdr, entries := rawBlobTable(t, base)
	big, bigEntry := largestCompressed(t, base)
	if n := (bigEntry.Res.Size + 32767) / 32768; n < 3 {
		t.Fatalf("containerFixture blob has %d chunks; need 3", n)
	}
	tableOff := bigEntry.Res.Offset // chunk table of the largest blob
	le32 := func(b []byte, off int64, v uint32) { binary.LittleEndian.PutUint32(b[off:], v) }
	metaIdx := slices.IndexFunc(entries, func(e BlobEntry) bool { return e.IsMetadata() })

	cases := []struct {
		name   string
		mutate func(b []byte)
		want   string // substring of the error
		atOpen bool   // the error must come from Open
	}{
		{"chunk entry past end", func(b []byte) { le32(b, tableOff, 0xFFFFFF) }, "points past end of resource", false},
		{"decreasing chunk offsets", func(b []byte) {
			v := binary.LittleEndian.Uint32(b[tableOff:])
			le32(b, tableOff+4, v-1)
		}, "below the previous", false},
		{"zero-size chunk", func(b []byte) {
			v := binary.LittleEndian.Uint32(b[tableOff:])
			le32(b, tableOff+4, v)
		}, "stored size 0", false},
		{"garbage in a chunk", func(b []byte) {
			for i := range int64(64) {
				b[tableOff+8+i] = 0xFF
			}
		}, bigEntry.Hash.String(), false},
		{"huge uncompressed size", func(b []byte) {
			e := bigEntry
			e.Res.Size = 1 << 40
			setBlobEntry(b, big, e)
		}, "does not fit", false},
		{"64-bit chunk table that does not fit", func(b []byte) {
			e := bigEntry
			e.Res.Size = 1<<32 + 1
			setBlobEntry(b, big, e)
		}, "does not fit", false},
		{"resource past end of file", func(b []byte) {
			e := bigEntry
			e.Res.StoredSize = int64(len(b))
			setBlobEntry(b, big, e)
		}, "past the end of the file", false},
		{"negative offset", func(b []byte) {
			e := bigEntry
			e.Res.Offset = -5
			setBlobEntry(b, big, e)
		}, "invalid resource", true},
		{"raw blob with two sizes", func(b []byte) {
			i := slices.IndexFunc(entries, func(e BlobEntry) bool { return !e.Res.Compressed() && e.Res.Size > 0 })
			e := entries[i]
			e.Res.Size++
			setBlobEntry(b, i, e)
		}, "stored size", true},
		{"metadata claimed huge", func(b []byte) {
			e := entries[metaIdx]
			e.Res.Size = 1 << 50
			setBlobEntry(b, metaIdx, e)
		}, "metadata resource", false},
		{"metadata refcount 2", func(b []byte) {
			e := entries[metaIdx]
			e.RefCount = 2
			setBlobEntry(b, metaIdx, e)
		}, "reference count 2", true},
		{"blob table not a multiple of 50", func(b []byte) {
			h := hdr
			h.BlobTable.StoredSize--
			h.BlobTable.Size--
			setRawHeader(b, h)
		}, "multiple of 50", true},
		{"blob table claims the file", func(b []byte) {
			h := hdr
			h.BlobTable.Size = 1 << 40
			setRawHeader(b, h)
		}, "blob table claims", true},
		{"blob table past end", func(b []byte) {
			h := hdr
			h.BlobTable.Offset = int64(len(b)) - 10
			setRawHeader(b, h)
		}, "past the end of the file", true},
		{"bad XML", func(b []byte) {
			copy(b[hdr.XML.Offset+2:], []byte{'<', 0, '<', 0, '<', 0})
		}, "XML data", true},
		{"XML image count", func(b []byte) {
			h := hdr
			h.ImageCount = 2
			setRawHeader(b, h)
		}, "2", true},
		{"boot index out of range", func(b []byte) {
			h := hdr
			h.BootIndex = 9
			setRawHeader(b, h)
		}, "", false},
		{"integrity table count", func(b []byte) {
			copy(b, withIntegrity[:HeaderSize])
			le32(b, ihdr.Integrity.Offset+4, 7)
		}, "integrity table", false},
		{"integrity chunk size", func(b []byte) {
			copy(b, withIntegrity[:HeaderSize])
			le32(b, ihdr.Integrity.Offset+8, 3)
		}, "integrity table has", false},
		{"integrity mismatch", func(b []byte) {
			copy(b, withIntegrity[:HeaderSize])
			// The reference count of a file blob: covered by the
			// integrity table, ignored by readers.
			i := slices.IndexFunc(entries, func(e BlobEntry) bool { return !e.IsMetadata() })
			b[hdr.BlobTable.Offset+int64(i)*blobEntrySize+26] ^= 1
		}, "integrity check failed", false},
		{"image count too large", func(b []byte) {
			h := hdr
			h.ImageCount = 70000
			setRawHeader(b, h)
		}, "image count", true},
		{"compressed blob in uncompressed WIM", func(b []byte) {
			h := hdr
			h.SetCompression(None, 0)
			setRawHeader(b, h)
		}, "without compression", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := slices.Clone(base)
			c.mutate(b)
			name := writeTempWIM(t, "hostile.wim", b)
			_, openErr := Open(name, nil)
			err := readAllOf(name)
			if c.atOpen && openErr == nil {
				t.Fatalf("Open succeeded")
			}
			if c.want == "" {
				if err != nil {
					t.Fatalf("tolerable damage gave %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not mention %q", err, c.want)
			}
			if !strings.Contains(err.Error(), name) {
				t.Errorf("error %q does not name the file", err)
			}
			t.Log(err)
		})
	}
}

// TestHostileSolid damages a solid resource's header and chunk table.
func TestHostileSolid(t *testing.T) {
	base := containerFixture(t, "solid.esd")
	_, entries := rawBlobTable(t, base)
	ri := slices.IndexFunc(entries, func(e BlobEntry) bool { return e.Res.Size == solidResourceMagic })
	res := entries[ri].Res
	le32 := func(b []byte, off int64, v uint32) { binary.LittleEndian.PutUint32(b[off:], v) }
	cases := []struct {
		name   string
		mutate func(b []byte)
		want   string
	}{
		{"chunk size not a power of two", func(b []byte) { le32(b, res.Offset+8, 100000) }, "invalid chunk size"},
		{"unknown codec", func(b []byte) { le32(b, res.Offset+12, 7) }, "unknown compression format 7"},
		{"huge size", func(b []byte) { binary.LittleEndian.PutUint64(b[res.Offset:], 1<<50) }, "cannot fit"},
		{"zero chunk", func(b []byte) { le32(b, res.Offset+16, 0) }, "stored size 0"},
		{"chunk past end", func(b []byte) { le32(b, res.Offset+16, 1<<30) }, "stored size"},
		{"blob outside its resource", func(b []byte) {
			i := slices.IndexFunc(entries, func(e BlobEntry) bool { return e.Res.Solid() && e.Res.Size != solidResourceMagic })
			e := entries[i]
			e.Res.Offset = 1 << 40
			setBlobEntry(b, i, e)
		}, "outside its solid resources"},
		{"resource outside the file", func(b []byte) {
			e := entries[ri]
			e.Res.Offset = int64(len(b))
			setBlobEntry(b, ri, e)
		}, "outside the file"},
		{"garbage data", func(b []byte) {
			for i := res.Offset + 20; i < res.Offset+60; i++ {
				b[i] ^= 0xA5
			}
		}, "chunk 0"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := slices.Clone(base)
			c.mutate(b)
			name := writeTempWIM(t, "hostile.esd", b)
			err := readAllOf(name)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one mentioning %q", err, c.want)
			}
			t.Log(err)
		})
	}
}

func TestDuplicateHashes(t *testing.T) {
	b := withoutIntegrity(containerFixture(t, "lzx.wim"))
	_, entries := rawBlobTable(t, b)
	i := slices.IndexFunc(entries, func(e BlobEntry) bool { return !e.IsMetadata() })
	j := slices.IndexFunc(entries, func(e BlobEntry) bool { return !e.IsMetadata() && e.Hash != entries[i].Hash })
	dup := entries[j]
	dup.Hash = entries[i].Hash // a second entry claims i's digest, with other data
	setBlobEntry(b, j, dup)
	name := writeTempWIM(t, "dup.wim", b)
	w, err := Open(name, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if w.table.duplicates != 1 || len(w.Blobs()) != len(entries)-1 {
		t.Errorf("duplicates %d, blobs %d of %d entries", w.table.duplicates, len(w.Blobs()), len(entries))
	}
	if e, _ := w.Blob(entries[i].Hash); e.Res != entries[i].Res {
		t.Errorf("the first entry of a digest should win")
	}
	if err := w.Verify(context.Background(), nil); err != nil {
		t.Error(err)
	}
}

func TestTruncatedFiles(t *testing.T) {
	for _, name := range []string{"lzx.wim", "solid.esd", "none.wim", "split2.swm"} {
		data := containerFixture(t, name)
		dir := t.TempDir()
		for n := 0; n < len(data); n += 1 + n/16 {
			p := filepath.Join(dir, fmt.Sprintf("%s.%d", name, n))
			os.WriteFile(p, data[:n], 0o644)
			if err := readAllOf(p); err == nil {
				t.Errorf("%s truncated to %d bytes reads without error", name, n)
			}
			os.Remove(p)
		}
	}
}

func TestFlippedBytes(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, name := range []string{"lzx.wim", "solid.esd", "xpress.wim", "lzms.wim", "multi.wim"} {
		data := containerFixture(t, name)
		dir := t.TempDir()
		for i := range 150 {
			b := slices.Clone(data)
			for range 1 + rng.IntN(3) {
				b[rng.IntN(len(b))] ^= byte(1 << rng.IntN(8))
			}
			p := filepath.Join(dir, fmt.Sprintf("%s.%d", name, i))
			os.WriteFile(p, b, 0o644)
			readAllOf(p) // errors are expected; panics are not
			os.Remove(p)
		}
	}
}

func TestMissingReference(t *testing.T) {
	_, err := Open(filepath.Join(containerFixtureDir, "lzx.wim"), &OpenOptions{Refs: []string{filepath.Join(t.TempDir(), "Res.rwm")}})
	if err == nil || !strings.Contains(err.Error(), "Res.rwm") {
		t.Fatalf("missing reference file: %v", err)
	}
	_, err = Open(filepath.Join(t.TempDir(), "nope.wim"), nil)
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
}

// TestChunkBomb: a tiny resource claiming a 1 GiB chunk is refused before
// anything is allocated for it.
func TestChunkBomb(t *testing.T) {
	data := make([]byte, 4096)
	w := &WIM{name: "bomb.wim", ra: bytes.NewReader(data), size: int64(len(data))}
	w.hdr.SetCompression(LZMS, 1<<30)
	r, err := w.resourceFor(ResourceHeader{StoredSize: 100, Flags: ResCompressed, Offset: 208, Size: 1 << 30}, "bomb")
	if err != nil {
		t.Fatal(err)
	}
	rc, err := r.open(0, r.size)
	if err == nil {
		_, err = io.Copy(io.Discard, rc)
	}
	if err == nil || !strings.Contains(err.Error(), "decompression bomb") {
		t.Fatalf("1 GiB chunk from 100 bytes: %v", err)
	}
}

// TestManyParts: a header claiming a 65535-part set (the largest part
// number) must not loop forever or build huge messages.
func TestManyParts(t *testing.T) {
	b := containerFixture(t, "none.wim")
	h, _ := rawBlobTable(t, b)
	h.Part, h.TotalParts = 1, 65535
	setRawHeader(b, h)
	name := writeTempWIM(t, "set.swm", b)
	w, err := Open(name, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	_, err = w.OpenBlob(Hash{1})
	if err == nil || len(err.Error()) > 400 || !strings.Contains(err.Error(), "and 65524 more") {
		t.Fatalf("missing blob in a 65535-part set: %v", err)
	}
	// The last part number works too.
	h.Part = 65535
	setRawHeader(b, h)
	name = writeTempWIM(t, "set65535.swm", b)
	if err := readAllOf(name); err != nil && !strings.Contains(err.Error(), "part 1") {
		t.Fatalf("part 65535: %v", err)
	}
}
