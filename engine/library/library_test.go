package library

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/wimconsole/wimconsole/engine/progress"
	"github.com/wimconsole/wimconsole/engine/servicing"
	"github.com/wimconsole/wimconsole/engine/store"
	"github.com/wimconsole/wimconsole/engine/store/storetest"
	"github.com/wimconsole/wimconsole/engine/wim"
	"github.com/wimconsole/wimconsole/internal/oracle"
	"github.com/wimconsole/wimconsole/internal/seaweedtest"
)

// variantFiles is the tree of image "Image <v>" of groupStore.
func variantFiles(v string) map[string]string {
	return map[string]string{
		"Windows/system32/kernel.dll": strings.Repeat("kernel code shared by all\n", 2000),
		"Windows/own.txt":             strings.Repeat("variant "+v+"\n", 500),
	}
}

// groupStore makes a store whose group Lab holds one image per variant
// (two blobs each, kernel.dll shared), the second one disabled, the first
// one with an unattend file.
func groupStore(t *testing.T, variants ...string) *store.Store {
	t.Helper()
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range variants {
		addVariant(t, st, v)
	}
	ctx := context.Background()
	if len(variants) > 1 {
		off := false
		if err := st.SetImage(ctx, store.ImageRef{Group: "Lab", File: "img-" + variants[1]}, store.SetOptions{Enabled: &off}); err != nil {
			t.Fatal(err)
		}
	}
	u := filepath.Join(t.TempDir(), "u.xml")
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "ImageUnattend.xml"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(u, data, 0o644)
	if err := st.SetImage(ctx, store.ImageRef{Group: "Lab", File: "img-" + variants[0]}, store.SetOptions{Unattend: &u}); err != nil {
		t.Fatal(err)
	}
	return st
}

// addVariant adds image "Image <v>" (file img-<v>) to group Lab of st.
func addVariant(t *testing.T, st *store.Store, v string) {
	t.Helper()
	dir := storetest.WriteTree(t, variantFiles(v))
	src := filepath.Join(t.TempDir(), "src.wim")
	if _, err := wim.Capture(context.Background(), dir, src, wim.CaptureOptions{Name: "Image " + v, Compression: wim.LZX}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddImage(context.Background(), src, store.AddOptions{Group: "Lab", FileName: "img-" + v, Name: "Image " + v}); err != nil {
		t.Fatal(err)
	}
}

// images lists group g of st as "file name enabled" lines in display
// order.
func images(t *testing.T, st *store.Store, g string) []string {
	t.Helper()
	if _, err := os.Stat(st.GroupDir(g)); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	list, err := st.ListImages(context.Background(), store.ListOptions{Group: g, Type: store.TypeInstall, NoSpace: true})
	if err != nil {
		t.Fatal(err)
	}
	sort.SliceStable(list, func(i, j int) bool { return list[i].DisplayOrder < list[j].DisplayOrder })
	var out []string
	for _, im := range list {
		out = append(out, fmt.Sprintf("%s %s %v unattend=%v", im.File, im.Name, im.Enabled, im.Unattend != ""))
	}
	return out
}

// applyAll applies every image of group g of st with wimlib-imagex
// (--ref Res.rwm) and checks its files.
func applyAll(t *testing.T, st *store.Store, g string, variants ...string) {
	t.Helper()
	oracle.Run(t, "verify", st.ResPath(g))
	for _, v := range variants {
		out := filepath.Join(t.TempDir(), "out")
		img := st.ImagePath(store.ImageRef{Group: g, File: "img-" + v})
		oracle.Run(t, "apply", img, "1", out, "--ref="+st.ResPath(g))
		storetest.SameTree(t, variantFiles(v), out)
	}
}

// applyImage applies image file of group g of st with wimlib-imagex
// (--ref Res.rwm) and checks that it holds files.
func applyImage(t *testing.T, st *store.Store, g, file string, files map[string]string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "out")
	oracle.Run(t, "apply", st.ImagePath(store.ImageRef{Group: g, File: file}), "1", out, "--ref="+st.ResPath(g))
	storetest.SameTree(t, files, out)
}

// serviceAdd adds file p holding data to image file of group Lab of st by
// a servicing commit (the image is disabled for it, and enabled again
// when it was).
func serviceAdd(t *testing.T, st *store.Store, file, p, data string) {
	t.Helper()
	ctx := context.Background()
	r := store.ImageRef{Group: "Lab", File: file}
	list, err := st.ListImages(ctx, store.ListOptions{Group: "Lab", Type: store.TypeInstall, NoSpace: true})
	if err != nil {
		t.Fatal(err)
	}
	enabled := false
	for _, im := range list {
		if strings.TrimSuffix(im.File, ".wim") == file {
			enabled = im.Enabled
		}
	}
	set := func(on bool) {
		if err := st.SetImage(ctx, r, store.SetOptions{Enabled: &on}); err != nil {
			t.Fatal(err)
		}
	}
	if enabled {
		set(false)
	}
	ss, err := servicing.Begin(ctx, st, r)
	if err != nil {
		t.Fatal(err)
	}
	if err := ss.AddData(p, []byte(data)); err != nil {
		t.Fatal(err)
	}
	if c, err := ss.Commit(ctx, servicing.CommitOptions{}); err != nil || c.NewBlobs != 1 {
		t.Fatalf("servicing commit: %+v %v, want 1 new blob", c, err)
	}
	if enabled {
		set(true)
	}
}

func same(a, b []string) bool { return strings.Join(a, "\n") == strings.Join(b, "\n") }

// TestPublishPull: site A publishes a group, site B pulls it and
// wimlib-imagex applies every image; a second publish after a servicing
// commit of one added file at site A sends only that file's blob, and the
// second pull fetches only that and replaces the serviced image (applied
// with --ref, the file is there); a third publish of an unchanged group
// writes nothing.
func TestPublishPull(t *testing.T) {
	oracle.Wimlib(t)
	ctx := context.Background()
	l := testLibrary(t)
	a := groupStore(t, "a", "b")
	r, err := l.Publish(ctx, a, "Lab", PublishOptions{By: "site A"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Blobs != 3 || r.BlobsSent != 3 || r.Images != 2 {
		t.Fatalf("first publish: %+v, want 3 blobs sent for 2 images", r)
	}
	// A blob object is a WIM of its own that wimlib reads.
	obj := filepath.Join(t.TempDir(), "blob.wim")
	objs, err := l.list(ctx, blobsDir)
	if err != nil || len(objs) != 3 {
		t.Fatalf("blob objects: %v %v", objs, err)
	}
	if err := l.c.FGetObject(ctx, l.cfg.Bucket, l.key(objs[0].Key), obj, minio.GetObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	oracle.Run(t, "verify", obj)
	if out, err := exec.Command(oracle.Need(t, "7z"), "t", obj).CombinedOutput(); err != nil || !strings.Contains(string(out), "Everything is Ok") {
		t.Fatalf("7z t %s: %v\n%s", obj, err, out)
	}

	b, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	p, err := l.Pull(ctx, b, "Lab", PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p.BlobsReceived != 3 || len(p.Images) != 2 {
		t.Fatalf("first pull: %+v", p)
	}
	if got, want := images(t, b, "Lab"), images(t, a, "Lab"); !same(got, want) {
		t.Fatalf("site B has\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	applyAll(t, b, "Lab", "a", "b")
	if _, err := os.Stat(filepath.Join(b.Root(), store.ConsoleDir, PullDir, p.Manifest[:16]+"-Lab")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the pull left its staging folder: %v", err)
	}

	// Site A services image b (disabled): a servicing commit of one added
	// file. Only that file's blob goes, and site B's image b is replaced.
	added := "Windows/added.txt"
	serviceAdd(t, a, "img-b", added, strings.Repeat("serviced at site A\n", 300))
	r, err = l.Publish(ctx, a, "Lab", PublishOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Blobs != 4 || r.BlobsSent != 1 || r.Unchanged {
		t.Fatalf("second publish: %+v, want 1 of 4 blobs sent", r)
	}
	if objs, err := l.list(ctx, blobsDir); err != nil || len(objs) != 4 {
		t.Fatalf("blob objects after the second publish: %d %v, want 4", len(objs), err)
	}
	p, err = l.Pull(ctx, b, "Lab", PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p.BlobsReceived != 1 || len(p.Images) != 0 || !same(p.Updated, []string{"Lab/img-b"}) || !same(p.Skipped, []string{"Lab/img-a"}) {
		t.Fatalf("second pull: %+v, want 1 blob and img-b updated", p)
	}
	if got, want := images(t, b, "Lab"), images(t, a, "Lab"); !same(got, want) {
		t.Fatalf("site B has\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	want := variantFiles("b")
	want[added] = strings.Repeat("serviced at site A\n", 300)
	applyImage(t, b, "Lab", "img-b", want)
	applyAll(t, b, "Lab", "a")

	r, err = l.Publish(ctx, a, "Lab", PublishOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Unchanged || r.BlobsSent != 0 {
		t.Fatalf("third publish: %+v, want unchanged", r)
	}
	gs, err := l.Groups(ctx)
	if err != nil || len(gs) != 1 || gs[0].Name != "Lab" || gs[0].Images != 2 || gs[0].Blobs != 4 {
		t.Fatalf("groups: %+v %v", gs, err)
	}
	n, missBytes, err := Missing(b, "Lab", mustManifest(t, l, "Lab"))
	if err != nil || n != 0 || missBytes != 0 {
		t.Fatalf("missing at B after pull: %d %d %v", n, missBytes, err)
	}
	// Pulled as another group name: all of it is missing there.
	n, missBytes, err = Missing(b, "Other", mustManifest(t, l, "Lab"))
	if err != nil || n != 4 || missBytes == 0 {
		t.Fatalf("missing in a new group: %d %d %v", n, missBytes, err)
	}

	v, err := l.Verify(ctx, "", nil)
	if err != nil || !v.OK() || v.Blobs != 4 || v.Images != 2 || v.Files != 1 {
		t.Fatalf("verify: %+v %v", v, err)
	}
}

// TestPullUpdatesChangedImage: an image whose file name and name site B
// has, changed in the library since, is replaced at site B (its external
// data made the library's, its state kept); an unchanged one is skipped;
// one renamed in the library is refused, naming the way out, and nothing
// changes.
func TestPullUpdatesChangedImage(t *testing.T) {
	oracle.Wimlib(t)
	ctx := context.Background()
	unattend, err := os.ReadFile(filepath.Join("..", "..", "testdata", "ImageUnattend.xml"))
	if err != nil {
		t.Fatal(err)
	}
	unattend2 := append(bytes.Clone(unattend), []byte("<!-- changed at site A -->\n")...)
	for _, c := range []struct {
		name    string
		change  func(t *testing.T, a *store.Store)
		updated []string
		refused string
	}{
		{"unchanged", func(*testing.T, *store.Store) {}, nil, ""},
		{"unattend", func(t *testing.T, a *store.Store) {
			u := filepath.Join(t.TempDir(), "u.xml")
			os.WriteFile(u, unattend2, 0o644)
			if err := a.SetImage(ctx, store.ImageRef{Group: "Lab", File: "img-a"}, store.SetOptions{Unattend: &u}); err != nil {
				t.Fatal(err)
			}
		}, []string{"Lab/img-a"}, ""},
		{"serviced", func(t *testing.T, a *store.Store) {
			serviceAdd(t, a, "img-a", "Windows/new.txt", "new\n")
		}, []string{"Lab/img-a"}, ""},
		{"renamed", func(t *testing.T, a *store.Store) {
			n := "Image A renamed"
			if err := a.SetImage(ctx, store.ImageRef{Group: "Lab", File: "img-a"}, store.SetOptions{Name: &n}); err != nil {
				t.Fatal(err)
			}
		}, nil, "set-image --name"},
	} {
		t.Run(c.name, func(t *testing.T) {
			l := testLibrary(t)
			a := groupStore(t, "a", "b")
			if _, err := l.Publish(ctx, a, "Lab", PublishOptions{}); err != nil {
				t.Fatal(err)
			}
			b, err := store.Open(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := l.Pull(ctx, b, "Lab", PullOptions{}); err != nil {
				t.Fatal(err)
			}
			c.change(t, a)
			if _, err := l.Publish(ctx, a, "Lab", PublishOptions{}); err != nil {
				t.Fatal(err)
			}
			before := resState(t, b, "Lab")
			// An unchanged image is known the same without downloading
			// its file again: the pull works with the image objects
			// gone (they are put back after).
			var restore []func()
			if c.name == "unchanged" {
				objs, err := l.list(ctx, imagesDir)
				if err != nil || len(objs) != 2 {
					t.Fatalf("image objects: %v %v", objs, err)
				}
				for _, o := range objs {
					r, err := l.c.GetObject(ctx, l.cfg.Bucket, l.key(o.Key), minio.GetObjectOptions{})
					if err != nil {
						t.Fatal(err)
					}
					data, err := io.ReadAll(r)
					if err != nil {
						t.Fatal(err)
					}
					if err := l.c.RemoveObject(ctx, l.cfg.Bucket, l.key(o.Key), minio.RemoveObjectOptions{}); err != nil {
						t.Fatal(err)
					}
					k := o.Key
					restore = append(restore, func() {
						if _, err := l.c.PutObject(ctx, l.cfg.Bucket, l.key(k), bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
							t.Fatal(err)
						}
					})
				}
			}
			p, err := l.Pull(ctx, b, "Lab", PullOptions{})
			for _, f := range restore {
				f()
			}
			if c.refused != "" {
				if err == nil || !strings.Contains(err.Error(), c.refused) {
					t.Fatalf("pull: %v, want a refusal saying %q", err, c.refused)
				}
				if after := resState(t, b, "Lab"); after != before {
					t.Errorf("the refused pull changed group Lab:\n%s\n%s", before, after)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !same(p.Updated, c.updated) || len(p.Images) != 0 || len(p.Skipped)+len(p.Updated) != 2 {
				t.Fatalf("pull: %+v, want %v updated and the rest skipped", p, c.updated)
			}
			if got, want := images(t, b, "Lab"), images(t, a, "Lab"); !same(got, want) {
				t.Fatalf("site B has\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			m := mustManifest(t, l, "Lab")
			for _, im := range m.Images {
				local := &localImage{file: im.File}
				if err := describeImage(b, "Lab", local); err != nil {
					t.Fatal(err)
				}
				if !sameData(local.data, im.Data) {
					t.Errorf("image %s: external data %+v, the library's %+v", im.File, local.data, im.Data)
				}
				mh, _ := wim.ParseHash(im.Metadata)
				obj := filepath.Join(t.TempDir(), "img.wim")
				if err := l.fetchChecked(ctx, imageKey(mh), mh, obj); err != nil {
					t.Fatal(err)
				}
				if ok, err := sameImage(b.ImagePath(store.ImageRef{Group: "Lab", File: im.File}), obj); err != nil || !ok {
					t.Errorf("image %s differs from the library's: %v", im.File, err)
				}
			}
			oracle.Run(t, "verify", b.ResPath("Lab"))
			files := variantFiles("a")
			if c.name == "serviced" {
				files["Windows/new.txt"] = "new\n"
			}
			applyImage(t, b, "Lab", "img-a", files)
			applyAll(t, b, "Lab", "b")
		})
	}
}

func mustManifest(t *testing.T, l *Library, g string) *Manifest {
	t.Helper()
	m, _, err := l.Manifest(context.Background(), g)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// resState is what pull must not change: Res.rwm's bytes and the image
// list.
func resState(t *testing.T, st *store.Store, g string) string {
	t.Helper()
	data, _ := os.ReadFile(st.ResPath(g))
	return fmt.Sprintf("%x|%s", sha1Of(data), strings.Join(images(t, st, g), ";"))
}

// TestPullRefusesAlteredBlob: a blob object altered in the bucket makes
// pull fail naming that blob, and the store does not change (a new group
// is not created, an existing one keeps its Res.rwm and images); verify
// names it too.
func TestPullRefusesAlteredBlob(t *testing.T) {
	ctx := context.Background()
	l := testLibrary(t)
	a := groupStore(t, "a", "b")
	if _, err := l.Publish(ctx, a, "Lab", PublishOptions{}); err != nil {
		t.Fatal(err)
	}
	// Site B has image a already (as Lab), and nothing of Lab2.
	b := groupStore(t, "a")
	before := resState(t, b, "Lab")

	m := mustManifest(t, l, "Lab")
	// The blob only image b uses (its own.txt).
	var victim wim.Hash
	for _, h := range m.Images[1].Blobs {
		used := false
		for _, g := range m.Images[0].Blobs {
			used = used || g == h
		}
		if !used {
			victim, _ = wim.ParseHash(h)
		}
	}
	k := l.key(blobKey(victim))
	o, err := l.c.GetObject(ctx, l.cfg.Bucket, k, minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(o)
	if err != nil {
		t.Fatal(err)
	}
	data[wim.HeaderSize+40] ^= 0x55 // inside the compressed resource
	if _, err := l.c.PutObject(ctx, l.cfg.Bucket, k, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}

	for _, as := range []string{"Lab", "Lab2"} {
		_, err := l.Pull(ctx, b, "Lab", PullOptions{As: as})
		var be *BlobError
		if !errors.As(err, &be) || be.Hash != victim || !strings.Contains(err.Error(), victim.String()) {
			t.Fatalf("pull as %s: %v, want a BlobError naming %s", as, err, victim)
		}
	}
	if after := resState(t, b, "Lab"); after != before {
		t.Errorf("group Lab changed:\n%s\n%s", before, after)
	}
	if _, err := os.Stat(b.GroupDir("Lab2")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("pull as Lab2 created the group: %v", err)
	}
	v, err := l.Verify(ctx, "Lab", nil)
	if err != nil || v.OK() || len(v.Problems) != 1 || !strings.Contains(v.Problems[0], victim.String()) {
		t.Fatalf("verify: %+v %v", v, err)
	}
}

// TestConcurrentPublish: two sites publishing the same group at once leave
// one whole manifest that a pull reads and applies.
func TestConcurrentPublish(t *testing.T) {
	oracle.Wimlib(t)
	ctx := context.Background()
	l := testLibrary(t)
	sites := []*store.Store{groupStore(t, "a", "b"), groupStore(t, "c", "d")}
	if err := l.CreateBucket(ctx); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, st := range sites {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = l.Publish(ctx, st, "Lab", PublishOptions{})
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	b, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	p, err := l.Pull(ctx, b, "Lab", PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := images(t, b, "Lab")
	switch {
	case same(got, images(t, sites[0], "Lab")):
		applyAll(t, b, "Lab", "a", "b")
	case same(got, images(t, sites[1], "Lab")):
		applyAll(t, b, "Lab", "c", "d")
	default:
		t.Fatalf("pulled a mixed group: %v (%+v)", got, p)
	}
}

// Environment of a child process run by the kill tests.
const (
	envKillOp     = "WIMLIB_KILL_OP" // publish or pull
	envKillRoot   = "WIMLIB_KILL_ROOT"
	envKillAt     = "WIMLIB_KILL_AT"
	envKillNth    = "WIMLIB_KILL_NTH"
	envKillConfig = "WIMLIB_KILL_CONFIG" // endpoint|key|secret|bucket|prefix
)

// killChild runs one publish or pull of group Lab, dying at the named step.
func killChild(op string) int {
	at := os.Getenv(envKillAt)
	nth, seen := 1, 0
	if n, err := strconv.Atoi(os.Getenv(envKillNth)); err == nil {
		nth = n
	}
	var mu sync.Mutex
	testHook = func(step string) {
		if step != at {
			return
		}
		mu.Lock()
		seen++
		n := seen
		mu.Unlock()
		if n >= nth {
			p, _ := os.FindProcess(os.Getpid())
			p.Kill()
			select {}
		}
	}
	f := strings.Split(os.Getenv(envKillConfig), "|")
	l, err := Open(Config{Endpoint: f[0], AccessKey: f[1], SecretKey: f[2], Bucket: f[3], Prefix: f[4]})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	l.Workers = 2
	st, err := store.Open(os.Getenv(envKillRoot))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	ctx := context.Background()
	switch op {
	case "publish":
		_, err = l.Publish(ctx, st, "Lab", PublishOptions{})
	case "pull":
		// One blob to a batch, but killed while checking downloads: a
		// batch open.
		bb := int64(1)
		if at == "pull-blob-checked" {
			bb = 0
		}
		_, err = l.Pull(ctx, st, "Lab", PullOptions{BatchBytes: bb})
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// runKilled runs op in a child process that kills itself at step at (the
// nth time) and checks that it died there.
func runKilled(t *testing.T, l *Library, op, root, at string, nth int) {
	t.Helper()
	c := l.cfg
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envKillOp+"="+op, envKillRoot+"="+root, envKillAt+"="+at, envKillNth+"="+strconv.Itoa(nth),
		envKillConfig+"="+strings.Join([]string{c.Endpoint, c.AccessKey, c.SecretKey, c.Bucket, c.Prefix}, "|"))
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if ctx.Err() != nil {
		t.Fatalf("%s did not reach %s#%d within 2 minutes\n%s", op, at, nth, out)
	}
	if !errors.As(err, &ee) || ee.ExitCode() != -1 {
		t.Fatalf("%s killed at %s#%d: %v (want killed)\n%s", op, at, nth, err, out)
	}
}

// TestKillPublishResume: a publish killed after some blobs, or after its
// manifest but before the group's pointer, leaves the library without the
// group; publishing again sends only the blobs not yet there, and the
// group then pulls whole.
func TestKillPublishResume(t *testing.T) {
	oracle.Wimlib(t)
	ctx := context.Background()
	for _, at := range []struct {
		step string
		nth  int
	}{{"publish-blob-uploaded", 1}, {"publish-blob-uploaded", 3}, {"publish-manifest-written", 1}} {
		t.Run(fmt.Sprintf("%s#%d", at.step, at.nth), func(t *testing.T) {
			l := testLibrary(t)
			a := groupStore(t, "a", "b", "c")
			runKilled(t, l, "publish", a.Root(), at.step, at.nth)
			if _, _, err := l.Manifest(ctx, "Lab"); !errors.Is(err, ErrNoGroup) {
				t.Fatalf("after the kill the library has group Lab: %v", err)
			}
			there, err := l.list(ctx, blobsDir)
			if err != nil {
				t.Fatal(err)
			}
			if len(there) < at.nth {
				t.Fatalf("%d blobs uploaded before the kill, want at least %d", len(there), at.nth)
			}
			r, err := l.Publish(ctx, a, "Lab", PublishOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if r.BlobsSent+len(there) != r.Blobs {
				t.Fatalf("resumed publish sent %d blobs, %d were there, of %d: some sent twice or not at all", r.BlobsSent, len(there), r.Blobs)
			}
			b, err := store.Open(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := l.Pull(ctx, b, "Lab", PullOptions{}); err != nil {
				t.Fatal(err)
			}
			applyAll(t, b, "Lab", "a", "b", "c")
		})
	}
}

// TestKillPullResume: a pull killed while downloading, after a batch of
// blobs was committed to Res.rwm, or after an image was added, leaves a
// store whose images all read; pulling again finishes the group, fetching
// and committing nothing twice.
func TestKillPullResume(t *testing.T) {
	oracle.Wimlib(t)
	ctx := context.Background()
	l := testLibrary(t)
	a := groupStore(t, "a", "b", "c")
	if _, err := l.Publish(ctx, a, "Lab", PublishOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, at := range []struct {
		step string
		nth  int
	}{{"pull-blob-checked", 3}, {"pull-blob-downloaded", 2}, {"pull-batch-committed", 1}, {"pull-batch-committed", 3}, {"pull-image-received", 2}} {
		t.Run(fmt.Sprintf("%s#%d", at.step, at.nth), func(t *testing.T) {
			root := t.TempDir()
			if _, err := store.Open(root); err != nil {
				t.Fatal(err)
			}
			runKilled(t, l, "pull", root, at.step, at.nth)
			b, err := store.Open(root) // recovery runs
			if err != nil {
				t.Fatal(err)
			}
			held := 0
			if rw, err := wim.Open(b.ResPath("Lab"), nil); err == nil {
				held = len(rw.Blobs())
				rw.Close()
				oracle.Run(t, "verify", b.ResPath("Lab"))
			}
			had := len(images(t, b, "Lab"))
			kept := stagedBlobs(t, b)
			p, err := l.Pull(ctx, b, "Lab", PullOptions{})
			if err != nil {
				t.Fatal(err)
			}
			// What the killed pull checked and kept is not downloaded
			// again.
			if want := p.Blobs - held - kept; p.BlobsDownloaded != max(want, 0) {
				t.Fatalf("Res.rwm held %d blobs after the kill and the stage %d more; the pull downloaded %d, want %d", held, kept, p.BlobsDownloaded, want)
			}
			if at.step == "pull-blob-downloaded" && kept != at.nth {
				t.Errorf("the stage kept %d blobs, want the %d downloaded before the kill", kept, at.nth)
			}
			if held+p.BlobsReceived != p.Blobs {
				t.Fatalf("Res.rwm held %d blobs after the kill, the pull added %d, of %d", held, p.BlobsReceived, p.Blobs)
			}
			if had+len(p.Images) != 3 || len(p.Skipped) != had {
				t.Fatalf("%d images after the kill; the pull added %v, skipped %v", had, p.Images, p.Skipped)
			}
			rw, err := wim.Open(b.ResPath("Lab"), nil)
			if err != nil {
				t.Fatal(err)
			}
			if n := len(rw.Blobs()); n != p.Blobs {
				t.Errorf("Res.rwm holds %d blob entries, want %d", n, p.Blobs)
			}
			rw.Close()
			applyAll(t, b, "Lab", "a", "b", "c")
			if got, want := images(t, b, "Lab"), images(t, a, "Lab"); !same(got, want) {
				t.Fatalf("site B has\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

// stagedBlobs counts the blobs in the batches of st's pull stages that
// are not in group Lab's Res.rwm yet.
func stagedBlobs(t *testing.T, st *store.Store) int {
	t.Helper()
	held := map[wim.Hash]bool{}
	if rw, err := wim.Open(st.ResPath("Lab"), nil); err == nil {
		for _, e := range rw.Blobs() {
			held[e.Hash] = true
		}
		rw.Close()
	}
	batches, _ := filepath.Glob(filepath.Join(st.Root(), store.ConsoleDir, PullDir, "*", "batch-*.wim"))
	n := 0
	for _, p := range batches {
		bw, err := wim.Open(p, nil)
		if err != nil {
			continue
		}
		for _, e := range bw.Blobs() {
			if !held[e.Hash] {
				held[e.Hash] = true
				n++
			}
		}
		bw.Close()
	}
	return n
}

// TestPullRechecksStage: a pull killed after two downloads leaves two
// batches in its stage; one damaged there (a byte of its compressed data
// flipped) is checked again by the next pull, which drops it and
// downloads its blob again, and commits nothing damaged; the other is not
// downloaded again.
func TestPullRechecksStage(t *testing.T) {
	oracle.Wimlib(t)
	ctx := context.Background()
	l := testLibrary(t)
	a := groupStore(t, "a", "b", "c")
	if _, err := l.Publish(ctx, a, "Lab", PublishOptions{}); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	if _, err := store.Open(root); err != nil {
		t.Fatal(err)
	}
	runKilled(t, l, "pull", root, "pull-blob-downloaded", 2)
	batches, _ := filepath.Glob(filepath.Join(root, store.ConsoleDir, PullDir, "*", "batch-*.wim"))
	if len(batches) != 2 {
		t.Fatalf("the killed pull left %d batches, want 2: %v", len(batches), batches)
	}
	f, err := os.OpenFile(batches[0], os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	var c [1]byte
	f.ReadAt(c[:], wim.HeaderSize+40)
	c[0] ^= 0x55
	f.WriteAt(c[:], wim.HeaderSize+40)
	f.Close()
	b, err := store.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	p, err := l.Pull(ctx, b, "Lab", PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p.BlobsReceived != p.Blobs || p.BlobsDownloaded != p.Blobs-1 {
		t.Fatalf("pull after the kill: %+v, want all %d blobs received, all but the undamaged staged one downloaded", p, p.Blobs)
	}
	applyAll(t, b, "Lab", "a", "b", "c")
}

// TestPullLargeObjects: blob objects above the in-memory size go through
// files of the stage, checked the same: an altered one is refused naming
// it, and the group pulls whole; the stage is gone after.
func TestPullLargeObjects(t *testing.T) {
	oracle.Wimlib(t)
	defer func(n int64) { memBlobBytes = n }(memBlobBytes)
	memBlobBytes = 0
	ctx := context.Background()
	l := testLibrary(t)
	a := groupStore(t, "a", "b")
	if _, err := l.Publish(ctx, a, "Lab", PublishOptions{}); err != nil {
		t.Fatal(err)
	}
	m := mustManifest(t, l, "Lab")
	victim, _ := wim.ParseHash(m.Blobs[0].SHA1)
	k := l.key(blobKey(victim))
	o, err := l.c.GetObject(ctx, l.cfg.Bucket, k, minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	good, err := io.ReadAll(o)
	if err != nil {
		t.Fatal(err)
	}
	bad := bytes.Clone(good)
	bad[wim.HeaderSize+40] ^= 0x55
	put := func(data []byte) {
		if _, err := l.c.PutObject(ctx, l.cfg.Bucket, k, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	put(bad)
	b, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	_, err = l.Pull(ctx, b, "Lab", PullOptions{})
	var be *BlobError
	if !errors.As(err, &be) || be.Hash != victim {
		t.Fatalf("pull of an altered large object: %v, want a BlobError naming %s", err, victim)
	}
	if _, err := os.Stat(b.GroupDir("Lab")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the refused pull created the group: %v", err)
	}
	put(good)
	p, err := l.Pull(ctx, b, "Lab", PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p.BlobsReceived != p.Blobs {
		t.Fatalf("pull: %+v", p)
	}
	applyAll(t, b, "Lab", "a", "b")
	if stages, _ := filepath.Glob(filepath.Join(b.Root(), store.ConsoleDir, PullDir, "*-Lab")); len(stages) != 0 {
		t.Errorf("the pull left its stage: %v", stages)
	}
}

// TestPullCancel: a pull cancelled while it downloads stops with the
// context's error and leaves the store as it was; the next pull finishes
// the group, without downloading again what the cancelled one kept.
func TestPullCancel(t *testing.T) {
	oracle.Wimlib(t)
	ctx := context.Background()
	l := testLibrary(t)
	l.Workers = 2
	a := groupStore(t, "a", "b", "c")
	if _, err := l.Publish(ctx, a, "Lab", PublishOptions{}); err != nil {
		t.Fatal(err)
	}
	b, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var phases []string
	p, err := l.Pull(cctx, b, "Lab", PullOptions{BatchBytes: 1, Progress: func(r progress.Report) {
		phases = append(phases, r.Phase)
		if r.Phase == PhaseDownload && r.Done > 0 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled pull: %v, want context.Canceled", err)
	}
	if p.BlobsReceived != 0 {
		t.Fatalf("the cancelled pull committed %d blobs", p.BlobsReceived)
	}
	if _, err := os.Stat(b.GroupDir("Lab")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the cancelled pull created the group: %v", err)
	}
	kept := stagedBlobs(t, b)
	if kept == 0 {
		t.Fatalf("the cancelled pull kept no checked blob (phases %v)", phases)
	}
	p, err = l.Pull(ctx, b, "Lab", PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p.BlobsReceived != p.Blobs || p.BlobsDownloaded != p.Blobs-kept {
		t.Fatalf("pull after the cancel: %+v, want %d blobs received, %d downloaded", p, p.Blobs, p.Blobs-kept)
	}
	applyAll(t, b, "Lab", "a", "b", "c")
}

// TestPublishCancel: a publish cancelled while it uploads stops with the
// context's error and publishes no group; the next publish sends only the
// blobs the cancelled one did not.
func TestPublishCancel(t *testing.T) {
	oracle.Wimlib(t)
	ctx := context.Background()
	l := testLibrary(t)
	l.Workers = 2
	a := groupStore(t, "a", "b", "c")
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	_, err := l.Publish(cctx, a, "Lab", PublishOptions{Progress: func(r progress.Report) {
		if r.Phase == PhaseUpload && r.Done > 0 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled publish: %v, want context.Canceled", err)
	}
	if _, _, err := l.Manifest(ctx, "Lab"); !errors.Is(err, ErrNoGroup) {
		t.Fatalf("after the cancel the library has group Lab: %v", err)
	}
	there, err := l.list(ctx, blobsDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(there) == 0 {
		t.Fatal("the cancelled publish uploaded no blob before the cancel")
	}
	r, err := l.Publish(ctx, a, "Lab", PublishOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(there) >= r.Blobs || r.BlobsSent+len(there) != r.Blobs {
		t.Fatalf("publish after the cancel sent %d blobs, %d were there, of %d", r.BlobsSent, len(there), r.Blobs)
	}
}

// TestFilerSyncReplication: the storage engine replicates the library —
// site A publishes to its own SeaweedFS, weed filer.sync carries the
// bucket to site B's SeaweedFS, and site B pulls from its own instance.
func TestFilerSyncReplication(t *testing.T) {
	oracle.Wimlib(t)
	ctx := context.Background()
	ea, eb := seaweedtest.StartSite(t), seaweedtest.StartSite(t)
	seaweedtest.Sync(t, ea, eb)
	open := func(e seaweedtest.Endpoint) *Library {
		l, err := Open(Config{Endpoint: e.Addr, AccessKey: e.AccessKey, SecretKey: e.SecretKey, Bucket: "images", Prefix: "lib"})
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	la, lb := open(ea), open(eb)
	a := groupStore(t, "a", "b")
	if _, err := la.Publish(ctx, a, "Lab", PublishOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(90 * time.Second)
	for {
		_, _, err := lb.Manifest(ctx, "Lab")
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("site B's SeaweedFS has no group Lab 90 s after the publish: %v", err)
		}
		time.Sleep(time.Second)
	}
	b, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	// The pointer is written last, but filer.sync may carry objects in
	// another order: until every object is there, pull fails and changes
	// nothing; retry for a while.
	for {
		_, err = lb.Pull(ctx, b, "Lab", PullOptions{})
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Second)
	}
	if err != nil {
		t.Fatal(err)
	}
	applyAll(t, b, "Lab", "a", "b")
}

// TestPublishManyBlobs: many small blobs uploaded by many workers at once
// (each worker writes its blob objects in a folder of its own: wim.Create
// in a shared folder could take the lock of a file another worker had
// just created, and fail).
func TestPublishManyBlobs(t *testing.T) {
	ctx := context.Background()
	l := testLibrary(t)
	l.Workers = 16
	files := map[string]string{}
	for i := range 1500 {
		files[fmt.Sprintf("f/%04d.txt", i)] = fmt.Sprintf("file %d\n", i)
	}
	dir := storetest.WriteTree(t, files)
	src := filepath.Join(t.TempDir(), "src.wim")
	if _, err := wim.Capture(ctx, dir, src, wim.CaptureOptions{Name: "Many", Compression: wim.XPRESS}); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddImage(ctx, src, store.AddOptions{Group: "Lab", FileName: "many", Name: "Many"}); err != nil {
		t.Fatal(err)
	}
	r, err := l.Publish(ctx, st, "Lab", PublishOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if r.BlobsSent != 1500 {
		t.Fatalf("sent %d blobs, want 1500", r.BlobsSent)
	}
}
