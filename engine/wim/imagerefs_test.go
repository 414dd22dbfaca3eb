package wim

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// sameRefsAsTree checks scanMetadataRefs against ParseMetadata on data:
// it refuses what the parser refuses and, where both accept, finds the
// tree's entries (folders and files) and blob references.
func sameRefsAsTree(t testing.TB, what string, data []byte) {
	t.Helper()
	img, err := ParseMetadata(data)
	s, serr := scanMetadataRefs(data)
	if (err == nil) != (serr == nil) {
		t.Fatalf("%s: ParseMetadata gives error %v, scanMetadataRefs %v", what, err, serr)
	}
	if err != nil {
		return
	}
	st := img.treeStats()
	if s.dirs != st.DirCount || s.files != st.FileCount {
		t.Fatalf("%s: scan finds %d folders and %d files, the tree %d and %d", what, s.dirs, s.files, st.DirCount, st.FileCount)
	}
	var want []Hash
	for h := range img.BlobRefs() {
		want = append(want, h)
	}
	got := slices.Clone(s.refs)
	cmpHash := func(a, b Hash) int { return bytes.Compare(a[:], b[:]) }
	slices.SortFunc(got, cmpHash)
	slices.SortFunc(want, cmpHash)
	if !slices.Equal(got, want) {
		t.Fatalf("%s: scan finds blob references %v, the tree %v", what, got, want)
	}
}

// TestScanMetadataRefsAgrees: the light reading of a metadata resource
// refuses every hostile case ParseMetadata refuses and reads the same
// entries and references from trees with streams, links, reparse points
// and encrypted files.
func TestScanMetadataRefsAgrees(t *testing.T) {
	for _, tc := range hostileCases() {
		data := tc.data()
		if _, err := scanMetadataRefs(data); err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
		sameRefsAsTree(t, tc.name, data)
	}
	link := func(name string, h Hash, group uint64, streams ...mStream) *mNode {
		f := mFile(name, h)
		f.group, f.streams = group, streams
		return f
	}
	reparse := mFile("link", mh(7))
	reparse.attr = AttrReparsePoint
	reparse.tag = ReparseTagSymlink
	reparse.streams = []mStream{{"", mh(8)}}
	enc := mFile("secret", Hash{})
	enc.attr = AttrEncrypted
	enc.streams = []mStream{{"", mh(9)}, {"", mh(10)}}
	// A folder that is a reparse point: its children are not read.
	junction := mDir("junction", mFile("hidden", mh(11)))
	junction.attr |= AttrReparsePoint
	trees := map[string]*mNode{
		"empty root": mDir(""),
		"files and streams": mDir("", mDir("a", mFile("x", mh(1)), mFile("y", mh(1))),
			link("z", mh(2), 0, mStream{"ads", mh(3)}, mStream{"empty", Hash{}})),
		"hard links":                   mDir("", link("one", mh(4), 5), mDir("d", link("two", mh(4), 5), link("three", mh(4), 5, mStream{"ads", mh(5)}))),
		"reparse, encrypted, junction": mDir("", reparse, enc, junction),
	}
	for name, root := range trees {
		data, _ := encodeMeta(nil, root)
		sameRefsAsTree(t, name, data)
	}
	sameRefsAsTree(t, "short entry", shortEntryMeta())
}

// TestImageRefsMatchImage: (*WIM).ImageRefs gives the references and the
// XML statistics that the image's tree gives, on files wimlib wrote and on
// images with hard links, including links whose names have streams of
// unequal sizes (read from the tree); errors are Image's.
func TestImageRefsMatchImage(t *testing.T) {
	check := func(t *testing.T, w *WIM, what string) {
		for i := 1; i <= w.ImageCount(); i++ {
			img, err := w.Image(i)
			refs, rerr := w.ImageRefs(i)
			if (err == nil) != (rerr == nil) || (err != nil && err.Error() != rerr.Error()) {
				t.Fatalf("%s image %d: Image gives error %v, ImageRefs %v", what, i, err, rerr)
			}
			if err != nil {
				continue
			}
			// Where the scan found each blob is where findIndex finds it.
			if refs.at != nil && len(refs.at) != len(refs.refs) {
				t.Fatalf("%s image %d: %d locations for %d references", what, i, len(refs.at), len(refs.refs))
			}
			for k, at := range refs.at {
				o, e := w.findIndex(refs.refs[k])
				file := slices.Index(append([]*WIM{w}, w.refs...), o)
				if int(at.file) != file || int(at.entry) != e {
					t.Fatalf("%s image %d: reference %d located at %+v, findIndex finds file %d entry %d", what, i, k, at, file, e)
				}
			}
			want := w.refsOfImage(img)
			if refs.Index() != i || refs.stats != want.stats {
				t.Fatalf("%s image %d: ImageRefs gives index %d, %+v; the tree %+v", what, i, refs.Index(), refs.stats, want.stats)
			}
			type ref struct {
				h Hash
				n int64
			}
			var got, wantRefs []ref
			for h, n := range refs.BlobRefs() {
				got = append(got, ref{h, n})
			}
			for h, n := range img.BlobRefs() {
				wantRefs = append(wantRefs, ref{h, n})
			}
			cmpRef := func(a, b ref) int {
				if c := bytes.Compare(a.h[:], b.h[:]); c != 0 {
					return c
				}
				return int(a.n - b.n)
			}
			slices.SortFunc(got, cmpRef)
			slices.SortFunc(wantRefs, cmpRef)
			if !slices.Equal(got, wantRefs) {
				t.Fatalf("%s image %d: ImageRefs gives %v, the tree %v", what, i, got, wantRefs)
			}
		}
	}
	fixtures := func(t *testing.T) {
		n := 0
		for name, b := range fuzzSeeds(t) {
			w, err := newWIM(name, bytes.NewReader(b), int64(len(b)))
			if err != nil || w.Header().Part != 1 {
				continue
			}
			check(t, w, name)
			n++
		}
		if n < 3 {
			t.Fatalf("only %d fixtures", n)
		}
	}
	t.Run("fixtures", fixtures)
	t.Run("fixtures read into bigBuf", func(t *testing.T) {
		old := bigBufMin
		bigBufMin = 0
		defer func() { bigBufMin = old }()
		fixtures(t)
	})
	t.Run("hostile", func(t *testing.T) {
		old := bigBufMin
		bigBufMin = 0
		defer func() { bigBufMin = old }()
		for _, tc := range hostileCases() {
			name := filepath.Join(t.TempDir(), "hostile.wim")
			if err := os.WriteFile(name, metaWIM(tc.data()), 0o644); err != nil {
				t.Fatal(err)
			}
			w, err := Open(name, nil)
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			if _, err := w.ImageRefs(1); err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), name) {
				t.Errorf("%s: ImageRefs gives %v; want an error naming %s with %q", tc.name, err, name, tc.want)
			}
			check(t, w, tc.name)
			w.Close()
		}
	})
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		ads  string // data of the named stream of the third name
	}{
		{"links of equal size", ""},
		{"links of unequal size", "more data"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := filepath.Join(t.TempDir(), "links.wim")
			w, err := Create(name, WriteOptions{Compression: XPRESS})
			if err != nil {
				t.Fatal(err)
			}
			h1, err := w.WriteBlob(ctx, strings.NewReader("linked file data"), 16)
			if err != nil {
				t.Fatal(err)
			}
			h2, err := w.WriteBlob(ctx, strings.NewReader("other"), 5)
			if err != nil {
				t.Fatal(err)
			}
			third := &mNode{name: "three", attr: AttrNormal, sec: -1, hash: h1, group: 9}
			if tc.ads != "" {
				h3, err := w.WriteBlob(ctx, strings.NewReader(tc.ads), int64(len(tc.ads)))
				if err != nil {
					t.Fatal(err)
				}
				third.streams = []mStream{{"ads", h3}}
			}
			root := mDir("",
				&mNode{name: "one", attr: AttrNormal, sec: -1, hash: h1, group: 9},
				mDir("d", &mNode{name: "two", attr: AttrNormal, sec: -1, hash: h1, group: 9}, third),
				mFile("x", h2))
			data, _ := encodeMeta(nil, root)
			img, err := ParseMetadata(data)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.AddImage(ctx, img, ImageInfo{Name: "links"}); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			r, err := Open(name, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			check(t, r, tc.name)
			refs, _ := r.ImageRefs(1)
			if want := int64(2 * 16); tc.ads == "" && refs.stats.HardLinkBytes != want {
				t.Fatalf("hard link bytes %d, want %d", refs.stats.HardLinkBytes, want)
			}
		})
	}
}

// metaWIM is an uncompressed WIM with one image whose metadata resource
// is meta.
func metaWIM(meta []byte) []byte {
	return metaOnlyWIM(meta, `<WIM><IMAGE INDEX="1"><NAME>M</NAME></IMAGE></WIM>`, [16]byte{})
}

// TestPlanWithRefLocations: the blobs of an image read as references
// alone, partly held by a reference file, are planned alike from the
// locations ImageRefs recorded and from lookups by digest.
func TestPlanWithRefLocations(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	res := filepath.Join(dir, "Res.rwm")
	rw, err := Create(res, WriteOptions{Compression: XPRESS, ResourceOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	var shared []Hash
	for _, d := range []string{"first shared", "second shared data"} {
		h, err := rw.WriteBlob(ctx, strings.NewReader(d), int64(len(d)))
		if err != nil {
			t.Fatal(err)
		}
		shared = append(shared, h)
	}
	if err := rw.Close(); err != nil {
		t.Fatal(err)
	}
	// An image file of a group that holds one blob of its own.
	src := filepath.Join(dir, "src.wim")
	w, err := Create(src, WriteOptions{Compression: XPRESS, MetadataOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	own, err := w.WriteBlob(ctx, strings.NewReader("own data"), 8)
	if err != nil {
		t.Fatal(err)
	}
	root := mDir("", mFile("a", shared[0]), mDir("d", mFile("b", own), mFile("c", shared[1]), mFile("e", shared[0])))
	data, _ := encodeMeta(nil, root)
	img, err := ParseMetadata(data)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.AddImage(ctx, img, ImageInfo{Name: "x"}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	sw, err := Open(src, &OpenOptions{Refs: []string{res}})
	if err != nil {
		t.Fatal(err)
	}
	defer sw.Close()
	refs, err := sw.ImageRefs(1)
	if err != nil {
		t.Fatal(err)
	}
	if refs.at == nil {
		t.Fatal("no locations recorded")
	}
	inRef := 0
	for _, at := range refs.at {
		if at.file == 1 {
			inRef++
		}
	}
	if inRef != 3 {
		t.Fatalf("%d references located in Res.rwm, want 3", inRef)
	}
	dst, err := Create(filepath.Join(dir, "dst.wim"), WriteOptions{Compression: XPRESS})
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Abort()
	at := refs.at
	got, err := dst.planImageBlobs(sw, []BlobUser{refs})
	if err != nil {
		t.Fatal(err)
	}
	refs.at = nil
	want, err := dst.planImageBlobs(sw, []BlobUser{refs})
	refs.at = at
	if err != nil {
		t.Fatal(err)
	}
	if len(want.blobs) != 3 || !slices.Equal(got.blobs, want.blobs) {
		t.Fatalf("planned from locations %v, by digest %v (want 3 blobs)", got.blobs, want.blobs)
	}
}
