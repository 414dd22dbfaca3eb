package wim

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wimconsole/wimconsole/internal/oracle"
)

// ---- trees for write tests ----

// wtTime is a 100 ns aligned time, so that it survives a WIM exactly.
func wtTime(i int) time.Time {
	return time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC).Add(time.Duration(i)*time.Hour + time.Duration(i)*1234500*time.Nanosecond)
}

// wtNode is one entry of a test tree.
type wtNode struct {
	path   string
	kind   byte // 'd' folder, 'f' file, 'l' symlink, 'h' hard link to target
	data   []byte
	target string
}

// wtBuild creates the nodes under dir and gives every entry a distinct
// modification time (folders last, after their contents).
func wtBuild(t testing.TB, dir string, nodes []wtNode) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		p := filepath.Join(dir, filepath.FromSlash(n.path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		switch n.kind {
		case 'd':
			err = os.MkdirAll(p, 0o755)
		case 'f':
			err = os.WriteFile(p, n.data, 0o644)
		case 'l':
			err = os.Symlink(n.target, p)
		case 'h':
			err = os.Link(filepath.Join(dir, filepath.FromSlash(n.target)), p)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	wtSetTimes(t, dir)
}

// wtSetTimes gives every entry under dir a distinct, 100 ns aligned
// modification time, children before their folder.
func wtSetTimes(t testing.TB, dir string) {
	t.Helper()
	var paths []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
		return nil
	})
	for i := len(paths) - 1; i >= 0; i-- {
		if fi, err := os.Lstat(paths[i]); err != nil || fi.Mode()&fs.ModeSymlink != 0 {
			continue // link times are not compared
		}
		ts := wtTime(i)
		if err := os.Chtimes(paths[i], ts, ts); err != nil {
			t.Fatalf("set times of %s: %v", paths[i], err)
		}
	}
}

// wtSample returns a tree with every kind of entry capture handles:
// empty, small, compressible and incompressible multi-chunk files, files
// sharing content (and size), hard links, relative, absolute and folder
// symbolic links, Unicode names and names differing only in case.
func wtSample(seed uint64) []wtNode {
	r := rand.New(rand.NewPCG(seed, 1))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return b
	}
	text := func(n int) []byte {
		var sb strings.Builder
		for sb.Len() < n {
			fmt.Fprintf(&sb, "line %d of some fairly repetitive text, value=%d\n", sb.Len(), r.IntN(1000))
		}
		return []byte(sb.String()[:n])
	}
	shared := text(70000)
	return []wtNode{
		{path: "empty", kind: 'f'},
		{path: "emptydir", kind: 'd'},
		{path: "small.txt", kind: 'f', data: []byte("hello, world\n")},
		{path: "big.txt", kind: 'f', data: text(300000)},
		{path: "random.bin", kind: 'f', data: random(100000)},
		{path: "odd.bin", kind: 'f', data: append(text(40000), random(40000)...)},
		{path: "one", kind: 'f', data: []byte("x")},
		{path: "sub/copy1.txt", kind: 'f', data: shared},
		{path: "sub/deeper/copy2.txt", kind: 'f', data: shared},
		{path: "sub/deeper/deepest/file", kind: 'f', data: text(5000)},
		{path: "sub/Case", kind: 'f', data: []byte("upper")},
		{path: "sub/case", kind: 'f', data: []byte("lower")},
		{path: "unicode/été ☃ 日本語.txt", kind: 'f', data: []byte("unicode\n")},
		{path: "unicode/😀", kind: 'f', data: []byte("astral\n")},
		{path: "links/hard1", kind: 'f', data: text(12345)},
		{path: "links/hard2", kind: 'h', target: "links/hard1"},
		{path: "sub/hard3", kind: 'h', target: "links/hard1"},
		{path: "links/rel", kind: 'l', target: "../small.txt"},
		{path: "links/dirlink", kind: 'l', target: "../sub"},
		{path: "links/abs", kind: 'l', target: "/etc/hostname"},
		{path: "links/dangling", kind: 'l', target: "nowhere/at/all"},
		{path: "links/back\\slash", kind: 'l', target: "a\\b"},
	}
}

// wtSampleTree builds wtSample in a new folder and returns it.
func wtSampleTree(t testing.TB, seed uint64) string {
	dir := filepath.Join(t.TempDir(), "src")
	nodes := wtSample(seed)
	wtBuild(t, dir, nodes)
	return dir
}

// wtDescribe returns one line per entry under dir: type, content digest or
// link target, modification time, and hard link partners.
func wtDescribe(t testing.TB, dir string) []string {
	t.Helper()
	type file struct {
		rel string
		fi  os.FileInfo
	}
	var lines []string
	var files []file
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		mt := fi.ModTime().UTC().Format(time.RFC3339Nano)
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			lines = append(lines, fmt.Sprintf("%s l %s", rel, target))
		case fi.IsDir():
			if rel == "." {
				lines = append(lines, fmt.Sprintf("%s d", rel))
			} else {
				lines = append(lines, fmt.Sprintf("%s d %s", rel, mt))
			}
		default:
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha1.Sum(data)
			lines = append(lines, fmt.Sprintf("%s f %s %d %s", rel, hex.EncodeToString(sum[:]), len(data), mt))
			files = append(files, file{rel, fi})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		var group []string
		for _, g := range files {
			if os.SameFile(f.fi, g.fi) {
				group = append(group, g.rel)
			}
		}
		if len(group) > 1 {
			sort.Strings(group)
			lines = append(lines, fmt.Sprintf("%s linked %s", f.rel, strings.Join(group, ",")))
		}
	}
	sort.Strings(lines)
	return lines
}

// wtSameTree fails unless the trees under a and b are the same.
func wtSameTree(t testing.TB, want, got string) {
	t.Helper()
	w, g := wtDescribe(t, want), wtDescribe(t, got)
	if !slices.Equal(w, g) {
		t.Errorf("trees differ:\n%s", wtLineDiff(w, g))
	}
}

func wtLineDiff(want, got []string) string {
	var sb strings.Builder
	ws, gs := map[string]bool{}, map[string]bool{}
	for _, l := range want {
		ws[l] = true
	}
	for _, l := range got {
		gs[l] = true
	}
	for _, l := range want {
		if !gs[l] {
			fmt.Fprintf(&sb, "- %s\n", l)
		}
	}
	for _, l := range got {
		if !ws[l] {
			fmt.Fprintf(&sb, "+ %s\n", l)
		}
	}
	return sb.String()
}

// wtCheckWimlib verifies file with wimlib, applies every image and
// compares it with the source folders (srcs[i] for image i+1; "" skips).
func wtCheckWimlib(t testing.TB, file string, refs []string, srcs ...string) {
	t.Helper()
	var refArgs []string
	for _, r := range refs {
		refArgs = append(refArgs, "--ref="+r)
	}
	oracle.Run(t, append([]string{"verify", file}, refArgs...)...)
	for i, src := range srcs {
		if src == "" {
			continue
		}
		out := filepath.Join(t.TempDir(), "wimlib-apply")
		oracle.Run(t, append([]string{"apply", file, strconv.Itoa(i + 1), out}, refArgs...)...)
		wtSameTree(t, src, out)
	}
}

// wtCheckOurs opens file with our reader, verifies it, applies every image
// and compares it with the source folders.
func wtCheckOurs(t testing.TB, file string, refs []string, srcs ...string) {
	t.Helper()
	w, err := Open(file, &OpenOptions{Refs: refs})
	if err != nil {
		t.Fatalf("Open %s: %v", file, err)
	}
	defer w.Close()
	if err := w.Verify(context.Background(), nil); err != nil {
		t.Fatalf("Verify %s: %v", file, err)
	}
	if w.ImageCount() != len(srcs) {
		t.Fatalf("%s has %d images, want %d", file, w.ImageCount(), len(srcs))
	}
	for i, src := range srcs {
		if src == "" {
			continue
		}
		out := filepath.Join(t.TempDir(), "our-apply")
		if err := w.Apply(context.Background(), i+1, out, nil); err != nil {
			t.Fatalf("Apply %s image %d: %v", file, i+1, err)
		}
		wtSameTree(t, src, out)
	}
}

// wtXMLField returns the text of the first <name> element under image
// index in `wimlib-imagex info --xml`.
func wtXMLField(t testing.TB, file string, index int, name string) string {
	t.Helper()
	out := oracle.Run(t, "info", file, "--xml")
	if strings.HasPrefix(out, "\xff\xfe") {
		out = decodeUTF16([]byte(out))
	}
	marker := fmt.Sprintf(`<IMAGE INDEX="%d">`, index)
	i := strings.Index(out, marker)
	if i < 0 {
		t.Fatalf("no image %d in XML:\n%s", index, out)
	}
	s := out[i:]
	if j := strings.Index(s, "</IMAGE>"); j >= 0 {
		s = s[:j]
	}
	a := strings.Index(s, "<"+name+">")
	b := strings.Index(s, "</"+name+">")
	if a < 0 || b < a {
		return ""
	}
	return s[a+len(name)+2 : b]
}

// ---- tests ----

func TestEncodeMetadataMatchesWimlib(t *testing.T) {
	oracle.Wimlib(t)
	// wimlib 1.13 stores the reparse data of a folder link in a stream
	// entry (1.14 and DISM in the entry itself, as we do): leave folder
	// links out for a byte comparison.
	nodes := slices.DeleteFunc(wtSample(1), func(n wtNode) bool {
		return n.path == "links/dirlink" || strings.Contains(n.path, "\\")
	})
	src := filepath.Join(t.TempDir(), "src")
	wtBuild(t, src, nodes)
	file := filepath.Join(t.TempDir(), "w.wim")
	oracle.Run(t, "capture", src, file, "x")
	w, err := Open(file, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	data, err := w.MetadataResource(1)
	if err != nil {
		t.Fatal(err)
	}
	img, err := ParseMetadata(data)
	if err != nil {
		t.Fatal(err)
	}
	out, err := encodeMetadata(img)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, data) {
		n := 0
		for n < min(len(out), len(data)) && out[n] == data[n] {
			n++
		}
		t.Fatalf("encoded metadata differs from wimlib's at byte %d (lengths %d, %d)", n, len(out), len(data))
	}
}

// wtImage builds an image by hand with what a UNIX capture cannot make:
// security descriptors, named streams, short names, tagged items, an
// encrypted file, a folder with a named stream, a junction.
func wtImage() *Image {
	h := func(s string) Hash { return Hash(sha1.Sum([]byte(s))) }
	root := &File{Attributes: AttrDirectory, SecurityID: 0, Created: wtTime(1), Modified: wtTime(2), Accessed: wtTime(3)}
	n := 3
	add := func(parent *File, f *File) *File {
		n++
		f.Created, f.Accessed, f.Modified = wtTime(n), wtTime(n+100), wtTime(n+200)
		f.Parent = parent
		parent.Children = append(parent.Children, f)
		return f
	}
	dir := add(root, &File{Name: "Program Files", ShortName: "PROGRA~1", Attributes: AttrDirectory, SecurityID: 1,
		Streams: []Stream{{Name: "dirstream", Hash: h("dirstream")}}})
	add(dir, &File{Name: "app.exe", Attributes: AttrArchive, SecurityID: 1, Hash: h("app"), Size: 3,
		Streams: []Stream{{Name: "Zone.Identifier", Hash: h("zone")}, {Name: "empty"}},
		Extra:   []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}})
	add(root, &File{Name: "secret", Attributes: AttrEncrypted | AttrArchive, SecurityID: -1, Hash: h("efs")})
	add(root, &File{Name: "junction", Attributes: AttrDirectory | AttrReparsePoint, SecurityID: -1,
		ReparseTag: ReparseTagMountPoint, ReparseFlags: 0, Streams: []Stream{{Hash: h("mp")}}})
	add(root, &File{Name: "link", Attributes: AttrReparsePoint, SecurityID: -1, ReparseTag: ReparseTagSymlink,
		ReparseFlags: ReparseNotFixed, ReparseReserved: 7, Hash: h("linkdata"), Streams: []Stream{{Hash: h("rp")}}})
	add(root, &File{Name: "a", Attributes: AttrNormal, SecurityID: -1, Hash: h("ab"), LinkGroup: 9})
	add(root, &File{Name: "B", Attributes: AttrNormal, SecurityID: -1, Hash: h("ab"), LinkGroup: 9})
	add(root, &File{Name: "c", Attributes: AttrNormal, SecurityID: -1, Hash: h("ab"), LinkGroup: 9})
	return &Image{Root: root, Security: [][]byte{[]byte("descriptor zero"), []byte("descriptor one, longer")}}
}

// wtComparable flattens an image for comparison: the fields encodeMetadata
// stores, per path.
func wtComparable(t testing.TB, img *Image) []string {
	t.Helper()
	var out []string
	err := img.Walk(func(path string, f *File) error {
		s := *f
		s.Children, s.Parent, s.Size = nil, nil, 0
		s.Streams = slices.Clone(s.Streams)
		for i := range s.Streams {
			s.Streams[i].Size = 0
		}
		if len(s.Extra) == 0 {
			s.Extra = nil
		}
		out = append(out, fmt.Sprintf("%s %+v", path, s))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestEncodeMetadataRoundTrip(t *testing.T) {
	img := wtImage()
	data, err := encodeMetadata(img)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseMetadata(data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Security, img.Security) {
		t.Errorf("security descriptors: got %q, want %q", got.Security, img.Security)
	}
	want, have := wtComparable(t, wtSorted(img)), wtComparable(t, got)
	if !slices.Equal(want, have) {
		t.Errorf("round trip differs:\n%s", wtLineDiff(want, have))
	}
	// Encoding the parsed image again gives the same bytes.
	again, err := encodeMetadata(got)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, data) {
		t.Error("encoding is not stable")
	}
}

// wtSorted returns img with children in collation order, as ParseMetadata
// returns them (encodeMetadata sorts without changing its input).
func wtSorted(img *Image) *Image {
	img.Walk(func(_ string, f *File) error {
		slices.SortStableFunc(f.Children, func(a, b *File) int {
			return compareNames(stringToUnits(a.Name), stringToUnits(b.Name))
		})
		return nil
	})
	return img
}

func TestEncodeMetadataRefuses(t *testing.T) {
	mk := func(mod func(img *Image)) *Image {
		img := wtImage()
		mod(img)
		return img
	}
	tests := []struct {
		name string
		img  *Image
	}{
		{"bad name", mk(func(img *Image) { img.Root.Children[0].Name = "a/b" })},
		{"dot dot", mk(func(img *Image) { img.Root.Children[0].Name = ".." })},
		{"empty name", mk(func(img *Image) { img.Root.Children[0].Name = "" })},
		{"duplicate", mk(func(img *Image) { img.Root.Children[1].Name = img.Root.Children[0].Name })},
		{"security id", mk(func(img *Image) { img.Root.Children[0].SecurityID = 2 })},
		{"root not dir", mk(func(img *Image) { img.Root.Attributes = AttrNormal })},
		{"file with children", mk(func(img *Image) {
			img.Root.Children[1].Children = []*File{{Name: "x", SecurityID: -1}}
		})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := encodeMetadata(tt.img); err == nil {
				t.Error("EncodeMetadata accepted it")
			}
		})
	}
	// Too deep.
	root := &File{Attributes: AttrDirectory, SecurityID: -1}
	d := root
	for i := 0; i <= MaxDepth; i++ {
		c := &File{Name: "d", Attributes: AttrDirectory, SecurityID: -1, Parent: d}
		d.Children = []*File{c}
		d = c
	}
	if _, err := encodeMetadata(&Image{Root: root}); err == nil {
		t.Error("EncodeMetadata accepted a tree deeper than MaxDepth")
	}
}

// wtBlobs writes n blobs and returns their data by hash.
func TestWriterBlobs(t *testing.T) {
	for _, c := range []Compression{None, XPRESS, LZX} {
		t.Run(c.String(), func(t *testing.T) {
			ctx := context.Background()
			file := filepath.Join(t.TempDir(), "blobs.wim")
			w, err := Create(file, WriteOptions{Compression: c, ResourceOnly: true})
			if err != nil {
				t.Fatal(err)
			}
			r := rand.New(rand.NewPCG(3, 4))
			blobs := map[Hash][]byte{}
			// Past 1 MiB the chunk table is patched on disk rather than in
			// the write buffer.
			sizes := []int{1, 2, 100, 32767, 32768, 32769, 65536, 100000, 3 * 32768, 3<<20 + 5, 5 << 20}
			for i, n := range sizes {
				data := make([]byte, n)
				if i%2 == 0 && n < 1<<20 {
					for k := range data {
						data[k] = byte(r.Uint32())
					}
				} else {
					for k := range data {
						data[k] = byte(k / 100)
					}
				}
				h, err := w.WriteBlob(ctx, bytes.NewReader(data), int64(n))
				if err != nil {
					t.Fatal(err)
				}
				if h != Hash(sha1.Sum(data)) {
					t.Fatalf("WriteBlob returned %s for %d bytes", h, n)
				}
				blobs[h] = data
				// The same data again is not stored twice.
				if h2, err := w.WriteBlob(ctx, bytes.NewReader(data), int64(n)); err != nil || h2 != h {
					t.Fatalf("second WriteBlob: %v, %s", err, h2)
				}
			}
			if h, err := w.WriteBlob(ctx, bytes.NewReader(nil), 0); err != nil || !h.IsZero() {
				t.Fatalf("empty blob: %s, %v", h, err)
			}
			// A reader shorter than the size is an error, and nothing
			// of it stays.
			if _, err := w.WriteBlob(ctx, bytes.NewReader(make([]byte, 70000)), 80000); err == nil {
				t.Fatal("short reader accepted")
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			rw, err := Open(file, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer rw.Close()
			if rw.Header().Flags&FlagResourceOnly == 0 {
				t.Errorf("flags 0x%x: no resource-only flag", rw.Header().Flags)
			}
			if n := len(rw.Blobs()); n != len(blobs) {
				t.Errorf("%d blobs in the table, want %d", n, len(blobs))
			}
			for h, data := range blobs {
				got, err := rw.ReadBlob(h, 16<<20)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, data) {
					t.Fatalf("blob %s differs", h)
				}
			}
			if err := rw.Verify(ctx, nil); err != nil {
				t.Fatal(err)
			}
			oracle.Run(t, "verify", file)
		})
	}
}

// TestResourceAndMetadataOnly writes a WDS image group by hand: a
// resource-only Res.rwm holding the data and a metadata-only image file,
// and checks wimlib applies it with --ref.
func TestResourceAndMetadataOnly(t *testing.T) {
	oracle.Wimlib(t)
	ctx := context.Background()
	src := wtSampleTree(t, 5)
	dir := t.TempDir()
	res := filepath.Join(dir, "Res.rwm")
	imgFile := filepath.Join(dir, "install.wim")
	rw, err := Create(res, WriteOptions{Compression: LZX, ResourceOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	img, err := rw.CaptureTree(ctx, src, TreeOptions{RPFix: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := rw.Close(); err != nil {
		t.Fatal(err)
	}
	mw, err := Create(imgFile, WriteOptions{Compression: LZX, MetadataOnly: true, RPFix: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mw.AddImage(ctx, img, ImageInfo{Name: "Install", Description: "group image"}); err != nil {
		t.Fatal(err)
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	hdr := oracle.Run(t, "info", "--header", res)
	if !strings.Contains(hdr, "RESOURCE_ONLY") {
		t.Errorf("Res.rwm header lacks RESOURCE_ONLY:\n%s", hdr)
	}
	hdr = oracle.Run(t, "info", "--header", imgFile)
	if !strings.Contains(hdr, "METADATA_ONLY") {
		t.Errorf("image header lacks METADATA_ONLY:\n%s", hdr)
	}
	wtCheckWimlib(t, imgFile, []string{res}, src)
	wtCheckOurs(t, imgFile, []string{res}, src)
	if got := wtXMLField(t, imgFile, 1, "TOTALBYTES"); got == "0" || got == "" {
		t.Errorf("TOTALBYTES of the metadata-only image is %q", got)
	}
}

func TestWriterAbort(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "x.wim")
	w, err := Create(file, WriteOptions{Compression: XPRESS})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.WriteBlob(context.Background(), strings.NewReader("abc"), 3); err != nil {
		t.Fatal(err)
	}
	if err := w.Abort(); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 0 {
		t.Errorf("Abort left %v", ents)
	}
}

func TestWriterCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	file := filepath.Join(t.TempDir(), "x.wim")
	w, err := Create(file, WriteOptions{Compression: LZX})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	cancel()
	if _, err := w.WriteBlob(ctx, io.LimitReader(zeroReader{}, 1<<20), 1<<20); err != context.Canceled {
		t.Fatalf("got %v, want context.Canceled", err)
	}
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func TestWriterOptions(t *testing.T) {
	dir := t.TempDir()
	for _, o := range []WriteOptions{
		{Compression: LZMS, ChunkSize: 1000},
		{Compression: XPRESS, ChunkSize: 1000},
		{Compression: LZX, ChunkSize: 4096},
		{Compression: Compression(9)},
		{ResourceOnly: true, MetadataOnly: true},
	} {
		if w, err := Create(filepath.Join(dir, "x.wim"), o); err == nil {
			w.Abort()
			t.Errorf("Create accepted %+v", o)
		}
	}
}

// TestAllAndBlobRefs checks the path-free walks: All visits what Walk
// visits, in the same order, and BlobRefs yields every stream with data
// (the unnamed one first), a shared blob once per reference; both stop
// when the loop breaks.
func TestAllAndBlobRefs(t *testing.T) {
	img := wtImage()
	var walked, all []*File
	img.Walk(func(_ string, f *File) error { walked = append(walked, f); return nil })
	for f := range img.All() {
		all = append(all, f)
	}
	if !slices.Equal(walked, all) {
		t.Fatalf("All visits %d entries, Walk %d, or in another order", len(all), len(walked))
	}
	var want []Hash
	for _, f := range walked {
		if !f.Hash.IsZero() {
			want = append(want, f.Hash)
		}
		for _, s := range f.Streams {
			if !s.Hash.IsZero() {
				want = append(want, s.Hash)
			}
		}
	}
	var got []Hash
	for h := range img.BlobRefs() {
		got = append(got, h)
	}
	if !slices.Equal(got, want) || len(got) != 10 {
		t.Fatalf("BlobRefs yields %d digests, want the %d of Walk (10)", len(got), len(want))
	}
	n := 0
	for range img.BlobRefs() {
		if n++; n == 2 {
			break
		}
	}
	for range img.All() {
		n++
		break
	}
	if n != 3 {
		t.Fatalf("loops did not stop at break (%d)", n)
	}
	if p := img.pathOf(walked[2]); p != "/Program Files/app.exe" {
		t.Fatalf("pathOf = %q", p)
	}
}
