package remote

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/wimconsole/wimconsole/engine/store"
	"github.com/wimconsole/wimconsole/engine/store/storetest"
	"github.com/wimconsole/wimconsole/engine/wim"
	"github.com/wimconsole/wimconsole/internal/fixtures"
	"github.com/wimconsole/wimconsole/internal/oracle"
	"github.com/wimconsole/wimconsole/internal/testtree"
)

// copySource fills group G of ts's store with two images (the second
// disabled, the first with an unattend file and $OEM$ data) and returns
// their trees by file name.
func copySource(t *testing.T, ts *testServer) map[string]map[string]string {
	t.Helper()
	admin := ts.client(t, "admin")
	trees := map[string]map[string]string{}
	unattend := fixtures.Path(t, "ImageUnattend.xml")
	for i, v := range []string{"a", "b"} {
		tree := baseTree(v)
		tree["Users/Public/random-"+v+".bin"] = randomString(200<<10 + i)
		o := store.AddOptions{Group: "G", Name: "Image " + v, FileName: "install-" + v}
		if i == 0 {
			o.Unattend = unattend
		}
		if _, err := admin.AddImage(bg, makeWIM(t, tree, "src"+v), o); err != nil {
			t.Fatal(err)
		}
		trees["install-"+v] = tree
	}
	storetest.Cab(t, filepath.Join(ts.st.GroupDir("G"), "install-a", store.LangPacksDir), "fr-fr.cab", 64)
	oem := filepath.Join(ts.st.GroupDir("G"), "install-a", "$OEM$", "$1", "setup.cmd")
	os.MkdirAll(filepath.Dir(oem), 0o755)
	if err := os.WriteFile(oem, []byte("echo hello\r\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	off := false
	if err := admin.SetImage(bg, store.ImageRef{Group: "G", File: "install-b"}, store.SetOptions{Enabled: &off}); err != nil {
		t.Fatal(err)
	}
	return trees
}

// resBlobs returns the set of file blobs of a Res.rwm.
func resBlobs(t *testing.T, res string) map[wim.Hash]bool {
	t.Helper()
	w, err := wim.Open(res, &wim.OpenOptions{NoSplitSearch: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	out := map[wim.Hash]bool{}
	for _, e := range w.Blobs() {
		if !e.IsMetadata() {
			out[e.Hash] = true
		}
	}
	return out
}

// checkCopied verifies group g of dst and compares each image, applied by
// wimlib-imagex with the group's Res.rwm, with the same image of group G of
// src applied the same way and with its tree.
func checkCopied(t *testing.T, src, dst *store.Store, g string, trees map[string]map[string]string) {
	t.Helper()
	if res, err := dst.VerifyStore(bg, g, nil); err != nil {
		t.Fatalf("destination does not verify: %v %v", err, res.Problems)
	}
	for file, tree := range trees {
		out := map[string]string{}
		for _, side := range []struct {
			st *store.Store
			g  string
		}{{src, "G"}, {dst, g}} {
			dir := filepath.Join(t.TempDir(), "apply")
			oracle.Run(t, "apply", side.st.ImagePath(store.ImageRef{Group: side.g, File: file}), "1", dir, "--ref", side.st.ResPath(side.g))
			sameTree(t, tree, dir)
			out[side.g+"@"+side.st.Root()] = treeDigest(t, dir)
		}
		if len(out) == 2 {
			var v []string
			for _, s := range out {
				v = append(v, s)
			}
			if v[0] != v[1] {
				t.Errorf("%s: applied trees differ", file)
			}
		}
	}
}

// treeDigest lists a folder's entries and contents as one string.
func treeDigest(t *testing.T, dir string) string {
	t.Helper()
	var lines []string
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		line := filepath.ToSlash(rel) + " " + fi.Mode().String()
		if fi.Mode().IsRegular() {
			b, _ := os.ReadFile(p)
			line += " " + string(b)
		}
		lines = append(lines, line)
		return nil
	})
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func TestCopyGroup(t *testing.T) {
	src := startServer(t, Options{NoWatch: true})
	dst := startServer(t, Options{NoWatch: true})
	trees := copySource(t, src)
	srcAdmin, dstAdmin := src.client(t, "admin"), dst.client(t, "admin")

	// A reader or operator of the destination cannot receive data.
	for _, role := range []string{"reader", "operator"} {
		_, err := srcAdmin.CopyGroupTo(bg, "G", dst.client(t, role), "H", CopyOptions{})
		if !errors.Is(err, ErrForbidden) && (err == nil || !strings.Contains(err.Error(), "needs admin")) {
			t.Errorf("copy with a %s token of the destination: %v", role, err)
		}
	}

	// The source server pushes the group; everything is sent.
	res, err := srcAdmin.CopyGroupTo(bg, "G", dstAdmin, "H", CopyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	srcBlobs := resBlobs(t, src.st.ResPath("G"))
	if res.Blobs != len(srcBlobs) || res.BlobsSent != res.Blobs || len(res.Images) != 2 || len(res.Skipped) != 0 {
		t.Fatalf("first copy: %+v (source holds %d blobs)", res, len(srcBlobs))
	}
	checkCopied(t, src.st, dst.st, "H", trees)
	ims, err := dstAdmin.ListImages(bg, store.ListOptions{Group: "H"})
	if err != nil || len(ims) != 2 {
		t.Fatalf("destination images: %v %v", ims, err)
	}
	for _, im := range ims {
		wantEnabled := im.File == "install-a.wim"
		if im.Enabled != wantEnabled || im.Name != "Image "+strings.TrimSuffix(strings.TrimPrefix(im.File, "install-"), ".wim") {
			t.Errorf("destination image %s: enabled %v name %q", im.File, im.Enabled, im.Name)
		}
		if wantEnabled && (im.Unattend == "" || len(im.LangPacks) != 1 || im.LangPacks[0] != "fr-fr.cab") {
			t.Errorf("%s: unattend %q or language packs %v not carried over", im.File, im.Unattend, im.LangPacks)
		}
	}
	if b, err := os.ReadFile(filepath.Join(dst.st.GroupDir("H"), "install-a", "$OEM$", "$1", "setup.cmd")); err != nil || string(b) != "echo hello\r\n" {
		t.Errorf("$OEM$ data: %q %v", b, err)
	}

	// A second copy after adding an image sends only its new blobs.
	tree := baseTree("c")
	tree["Users/Public/new.bin"] = randomString(100 << 10)
	if _, err := srcAdmin.AddImage(bg, makeWIM(t, tree, "srcc"), store.AddOptions{Group: "G", Name: "Image c", FileName: "install-c"}); err != nil {
		t.Fatal(err)
	}
	trees["install-c"] = tree
	var fresh int
	for h := range resBlobs(t, src.st.ResPath("G")) {
		if !srcBlobs[h] {
			fresh++
		}
	}
	first := res.BytesSent
	res, err = CopyGroup(bg, src.st, "G", dstAdmin, "H", CopyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if fresh == 0 || res.BlobsSent != fresh || len(res.Images) != 1 || len(res.Skipped) != 2 {
		t.Fatalf("second copy: %+v, want %d blobs sent, 1 image, 2 skipped", res, fresh)
	}
	if res.BytesSent <= 0 || res.BytesSent >= first {
		t.Errorf("second copy sent %d bytes, the first %d", res.BytesSent, first)
	}
	t.Logf("first copy %d bytes, second %d bytes (%d of %d blobs)", first, res.BytesSent, res.BlobsSent, res.Blobs)
	checkCopied(t, src.st, dst.st, "H", trees)

	// Nothing left to send: a third copy sends nothing.
	res, err = CopyGroup(bg, src.st, "G", dstAdmin, "H", CopyOptions{})
	if err != nil || res.BlobsSent != 0 || res.BytesSent != 0 || len(res.Images) != 0 {
		t.Errorf("third copy: %+v %v", res, err)
	}
}

// breakingTransport cuts the upload body of the n-th blob batch.
type breakingTransport struct {
	base    http.RoundTripper
	n       int32
	batches atomic.Int32
}

func (b *breakingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if strings.HasSuffix(req.URL.Path, "/blobs") && b.batches.Add(1) == b.n {
		req = req.Clone(req.Context())
		req.Body = &cutBody{rc: req.Body, left: 4096}
	}
	return b.base.RoundTrip(req)
}

func TestCopyGroupResumes(t *testing.T) {
	dst := startServer(t, Options{NoWatch: true})
	src := startServer(t, Options{NoWatch: true})
	trees := copySource(t, src)
	c := dst.client(t, "admin")
	bt := &breakingTransport{base: c.hc.Transport, n: 3}
	c.hc.Transport = bt
	o := CopyOptions{BatchBytes: 64 << 10}

	r1, err := CopyGroup(bg, src.st, "G", c, "G", o)
	if err == nil {
		t.Fatal("copy over a broken connection succeeded")
	}
	if r1 == nil || r1.Batches != 2 || r1.BlobsSent == 0 || len(r1.Images) != 0 {
		t.Fatalf("broken copy: %+v, want 2 batches committed", r1)
	}
	committed := resBlobs(t, dst.st.ResPath("G"))
	if len(committed) != r1.BlobsSent {
		t.Errorf("destination holds %d blobs, %d were committed", len(committed), r1.BlobsSent)
	}

	// The retry sends only the rest.
	bt.n = -1
	r2, err := CopyGroup(bg, src.st, "G", c, "G", o)
	if err != nil {
		t.Fatal(err)
	}
	if r1.BlobsSent+r2.BlobsSent != r2.Blobs || len(r2.Images) != 2 {
		t.Errorf("retry: %+v after %+v: blobs sent twice or lost", r2, r1)
	}
	t.Logf("broken copy committed %d blobs in %d batches; retry sent %d in %d", r1.BlobsSent, r1.Batches, r2.BlobsSent, r2.Batches)
	checkCopied(t, src.st, dst.st, "G", trees)
	if left := workFilesLeft(t, dst.st.Root()); len(left) != 0 {
		t.Errorf("upload work files left: %v", left)
	}
}

func TestCheckBundlePath(t *testing.T) {
	for _, tc := range []struct {
		p  string
		ok bool
	}{
		{"Unattend/ImageUnattend.xml", true},
		{"$OEM$/$1/setup.cmd", true},
		{"LangPacks/fr-fr.cab", true},
		{"", false},
		{"..", false},
		{"../x", false},
		{"a/../../x", false},
		{"/etc/passwd", false},
		{"a//b", false},
		{"a/./b", false},
		{"C:/x", false},
		{"a\\..\\b", false},
		{"a\x00b", false},
	} {
		if err := checkBundlePath(tc.p); (err == nil) != tc.ok {
			t.Errorf("checkBundlePath(%q) = %v, want ok %v", tc.p, err, tc.ok)
		}
	}
}

func TestReadBundleRefuses(t *testing.T) {
	entry := func(tw *tar.Writer, name string, typ byte, data string) {
		tw.WriteHeader(&tar.Header{Typeflag: typ, Name: name, Size: int64(len(data)), Mode: 0o644, Linkname: "/etc"})
		io.WriteString(tw, data)
	}
	for _, tc := range []struct {
		name  string
		build func(tw *tar.Writer)
	}{
		{"escape", func(tw *tar.Writer) { entry(tw, "data/../../x", tar.TypeReg, "x") }},
		{"symlink", func(tw *tar.Writer) { entry(tw, "data/l", tar.TypeSymlink, "") }},
		{"unknown", func(tw *tar.Writer) { entry(tw, "other", tar.TypeReg, "x") }},
		{"incomplete", func(tw *tar.Writer) { entry(tw, bundleState, tar.TypeReg, "{}") }},
		{"too large", func(tw *tar.Writer) { entry(tw, bundleWIM, tar.TypeReg, strings.Repeat("x", 2000)) }},
		{"bad state", func(tw *tar.Writer) {
			entry(tw, bundleState, tar.TypeReg, `{"disabled":"maybe"}`)
			entry(tw, bundleWIM, tar.TypeReg, "")
		}},
	} {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		tc.build(tw)
		tw.Close()
		dir := t.TempDir()
		if _, _, _, err := readBundle(&buf, dir, 1000); err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
		if _, err := os.Stat(filepath.Join(filepath.Dir(dir), "x")); err == nil {
			t.Errorf("%s: wrote outside its folder", tc.name)
		}
	}
}

// byteCounter counts the bytes of answers by the last element of the path.
type byteCounter struct {
	base http.RoundTripper
	mu   sync.Mutex
	n    map[string]int64
}

func (b *byteCounter) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := b.base.RoundTrip(req)
	if err == nil {
		resp.Body = &countBody{ReadCloser: resp.Body, b: b, key: path.Base(req.URL.Path)}
	}
	return resp, err
}

type countBody struct {
	io.ReadCloser
	b   *byteCounter
	key string
}

func (c *countBody) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.b.mu.Lock()
	c.b.n[c.key] += int64(n)
	c.b.mu.Unlock()
	return n, err
}

// TestStreamedInstall installs one image of a group whose Res.rwm holds
// another image's large data too: only the image's own resources travel.
func TestStreamedInstall(t *testing.T) {
	ts := startServer(t, Options{NoWatch: true})
	admin := ts.client(t, "admin")
	trees := map[string]map[string]string{}
	for i, v := range []string{"a", "b"} {
		tree := baseTree(v)
		tree["Users/Public/random.bin"] = randomString(1<<20 + i)
		if _, err := admin.AddImage(bg, makeWIM(t, tree, "s"+v), store.AddOptions{Group: "G", Name: v, FileName: v}); err != nil {
			t.Fatal(err)
		}
		trees[v] = tree
	}
	c := ts.client(t, "operator")
	bc := &byteCounter{base: c.hc.Transport, n: map[string]int64{}}
	c.hc.Transport = bc
	out := filepath.Join(t.TempDir(), "inst")
	if err := c.InstallImage(bg, store.ImageRef{Group: "G", File: "a"}, out, "stream", nil); err != nil {
		t.Fatal(err)
	}
	sameTree(t, trees["a"], out)
	fi, err := os.Stat(ts.st.ResPath("G"))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("fetched %d bytes of a Res.rwm of %d, %d of image file; export: %d", bc.n["res"], fi.Size(), bc.n["image"], bc.n["wim"])
	if bc.n["wim"] != 0 || bc.n["image"] == 0 {
		t.Errorf("not streamed: %v", bc.n)
	}
	if bc.n["res"] <= 0 || bc.n["res"] > fi.Size()-(1<<20)/2 {
		t.Errorf("fetched %d bytes of a Res.rwm of %d: more than the image uses", bc.n["res"], fi.Size())
	}
	if ents, _ := filepath.Glob(filepath.Join(filepath.Dir(out), ".wimconsole-*")); len(ents) != 0 {
		t.Errorf("work files left: %v", ents)
	}
}

// FuzzReadBundle feeds readBundle hostile tar streams: it must fail or
// succeed without panicking and write nothing outside its folder.
func FuzzReadBundle(f *testing.F) {
	// Real bundles, as sendImage writes them: the metadata-only WIM of an
	// image of a store, its state, its unattend file and $OEM$ data.
	st, err := store.Open(filepath.Join(f.TempDir(), "RemoteInstall"))
	if err != nil {
		f.Fatal(err)
	}
	refs, err := st.AddImage(bg, makeWIM(f, map[string]string{"a.txt": "hello", "d/b.txt": "bee"}, "install"), store.AddOptions{Group: "G"})
	if err != nil {
		f.Fatal(err)
	}
	ref := refs[0]
	data := filepath.Join(st.GroupDir("G"), ref.File)
	testtree.Write(f, data, map[string]string{
		"Unattend/ImageUnattend.xml": "<unattend xmlns=\"urn:schemas-microsoft-com:unattend\"/>",
		"$OEM$/$1/Setup/run.cmd":     "echo hello\r\n",
		"$OEM$/$$/System32/x.txt":    "x",
	})
	for _, state := range []imageState{{Disabled: true}, {}} {
		var buf bytes.Buffer
		if err := writeBundle(&buf, st.ImagePath(ref), data, state); err != nil {
			f.Fatal(err)
		}
		f.Add(buf.Bytes())
	}
	var bad bytes.Buffer
	tw := tar.NewWriter(&bad)
	tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "data/../../escape", Size: 1, Mode: 0o644})
	tw.Write([]byte("x"))
	tw.Close()
	f.Add(bad.Bytes())
	f.Fuzz(func(t *testing.T, b []byte) {
		parent, err := os.MkdirTemp("", "fuzzbundle-")
		if err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(parent)
		dir := filepath.Join(parent, "in")
		os.Mkdir(dir, 0o755)
		wimPath, dataDir, _, err := readBundle(bytes.NewReader(b), dir, 1<<20)
		if err == nil && (wimPath == "" || !strings.HasPrefix(wimPath, dir) || (dataDir != "" && !strings.HasPrefix(dataDir, dir))) {
			t.Fatalf("paths outside the folder: %q %q", wimPath, dataDir)
		}
		if ents, _ := os.ReadDir(parent); len(ents) != 1 {
			t.Fatalf("wrote outside its folder: %v", ents)
		}
	})
}

// BenchmarkCopyGroup copies a group of two images (about 2 MiB of data in
// Res.rwm) between two servers on 127.0.0.1 over TLS, into a new group each
// time; the bytes are those of the source's Res.rwm.
func BenchmarkCopyGroup(b *testing.B) {
	src := startServer(b, Options{NoWatch: true})
	dst := startServer(b, Options{NoWatch: true})
	admin := src.client(b, "admin")
	for i, v := range []string{"a", "b"} {
		tree := baseTree(v)
		tree["Users/Public/random.bin"] = randomString(1<<20 + i)
		if _, err := admin.AddImage(bg, makeWIM(b, tree, "s"+v), store.AddOptions{Group: "G", Name: v, FileName: v}); err != nil {
			b.Fatal(err)
		}
	}
	fi, err := os.Stat(src.st.ResPath("G"))
	if err != nil {
		b.Fatal(err)
	}
	dc := dst.client(b, "admin")
	b.SetBytes(fi.Size())
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := CopyGroup(bg, src.st, "G", dc, fmt.Sprintf("G%d", i), CopyOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkInstall installs one image of a two-image group over TLS on
// 127.0.0.1: streamed (the metadata file and the image's resources of
// Res.rwm, by range) against the standalone-WIM download (the server's
// export, cached after the first run) followed by a local apply. The bytes
// are those of the image's files.
func BenchmarkInstall(b *testing.B) {
	ts := startServer(b, Options{NoWatch: true})
	admin := ts.client(b, "admin")
	var size int64
	for i, v := range []string{"a", "b"} {
		tree := baseTree(v)
		tree["Users/Public/random.bin"] = randomString(4<<20 + i)
		if _, err := admin.AddImage(bg, makeWIM(b, tree, "s"+v), store.AddOptions{Group: "G", Name: v, FileName: v}); err != nil {
			b.Fatal(err)
		}
		if i == 0 {
			for _, d := range tree {
				size += int64(len(d))
			}
		}
	}
	ref := store.ImageRef{Group: "G", File: "a"}
	c := ts.client(b, "operator")
	b.Run("streamed", func(b *testing.B) {
		b.SetBytes(size)
		for i := 0; i < b.N; i++ {
			if err := c.InstallImage(bg, ref, filepath.Join(b.TempDir(), "x"), "bench", nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("export", func(b *testing.B) {
		b.SetBytes(size)
		for i := 0; i < b.N; i++ {
			dir := b.TempDir()
			w := filepath.Join(dir, "a.wim")
			if err := c.ExportImage(bg, ref, w, store.ExportOptions{}); err != nil {
				b.Fatal(err)
			}
			x, err := wim.Open(w, nil)
			if err != nil {
				b.Fatal(err)
			}
			if err := x.Apply(bg, 1, filepath.Join(dir, "x"), nil); err != nil {
				b.Fatal(err)
			}
			x.Close()
		}
	})
}
