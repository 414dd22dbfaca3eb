package servicing

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wimconsole/wimconsole/engine/store"
	"github.com/wimconsole/wimconsole/engine/wim"
	"github.com/wimconsole/wimconsole/internal/oracle"
)

// imageOf reads the tree of image r as committed.
func imageOf(t testing.TB, s *store.Store, r store.ImageRef) *wim.Image {
	t.Helper()
	w, img, err := openImage(s, r)
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	return img
}

func lookup(t testing.TB, img *wim.Image, p string) *wim.File {
	t.Helper()
	f := img.Lookup(p)
	if f == nil {
		t.Fatalf("%s: not in the image", p)
	}
	return f
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// linkSets returns the regular files below dir grouped by inode: each set
// is the sorted slash paths of one file's names; the sets are sorted.
func linkSets(t testing.TB, dir string) [][]string {
	t.Helper()
	byIno := map[uint64][]string{}
	must(t, filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || !fi.Mode().IsRegular() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		ino := fi.Sys().(*syscall.Stat_t).Ino
		byIno[ino] = append(byIno[ino], filepath.ToSlash(rel))
		return nil
	}))
	var out [][]string
	for _, names := range byIno {
		sort.Strings(names)
		out = append(out, names)
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out
}

// filetime is t as a WIM stores it: in units of 100 ns.
func filetime(t time.Time) time.Time { return time.Unix(0, t.UnixNano()/100*100).UTC() }

func TestMountCommitKeepsHardLinks(t *testing.T) {
	ctx := context.Background()
	src := writeTree(t, map[string]string{
		"L/a": "file A\n", "L/c": "file C\n", "L/s": "single S\n", "L/t": "single T\n", "other.txt": "other\n",
	})
	link := func(dir, from, to string) {
		t.Helper()
		must(t, os.Link(filepath.Join(dir, from), filepath.Join(dir, to)))
	}
	link(src, "L/a", "L/b")
	link(src, "L/c", "L/d")
	link(src, "L/c", "L/e")
	s, r := newStoreDir(t, src)
	before := imageOf(t, s, r)
	if g := lookup(t, before, "/L/a").LinkGroup; g == 0 || g != lookup(t, before, "/L/b").LinkGroup {
		t.Fatalf("wimlib-imagex did not capture a and b as one file")
	}

	dir := filepath.Join(t.TempDir(), "mnt")
	ss, err := Mount(ctx, s, r, dir, nil)
	must(t, err)
	// Changed through one name: both names show the new data.
	fa, err := os.OpenFile(filepath.Join(dir, "L/a"), os.O_WRONLY|os.O_APPEND, 0)
	must(t, err)
	_, err = fa.WriteString("more\n")
	must(t, err)
	must(t, fa.Close())
	// A new name for an unchanged file.
	link(dir, "L/c", "L/n")
	// One name of a file made a file of its own.
	must(t, os.Remove(filepath.Join(dir, "L/e")))
	must(t, os.WriteFile(filepath.Join(dir, "L/e"), []byte("own E\n"), 0o644))
	// A second name for a file that had one.
	link(dir, "L/t", "L/t2")
	onDisk := linkSets(t, dir)

	res, err := ss.Unmount(ctx, true, CommitOptions{})
	must(t, err)
	// a/b is read once for both names, e once; n and t2 are names of
	// unchanged files and need no reading.
	if res.FilesRead != 2 {
		t.Errorf("read %d files, want 2 (a and b once, e)", res.FilesRead)
	}
	out := applied(t, s, r)
	sameTree(t, out, map[string]string{
		"L/a": "file A\nmore\n", "L/b": "file A\nmore\n",
		"L/c": "file C\n", "L/d": "file C\n", "L/n": "file C\n", "L/e": "own E\n",
		"L/s": "single S\n", "L/t": "single T\n", "L/t2": "single T\n", "other.txt": "other\n",
	})
	want := [][]string{{"L/a", "L/b"}, {"L/c", "L/d", "L/n"}, {"L/e"}, {"L/s"}, {"L/t", "L/t2"}, {"other.txt"}}
	if !slices.EqualFunc(onDisk, want, slices.Equal) {
		t.Fatalf("test setup: files on disk are %v, want %v", onDisk, want)
	}
	if got := linkSets(t, out); !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("wimlib-imagex applies the files as %v, want %v (as in the mount folder)", got, want)
	}
	after := imageOf(t, s, r)
	for _, p := range []string{"/L/c", "/L/d"} {
		if g, w := lookup(t, after, p).LinkGroup, lookup(t, before, p).LinkGroup; g != w {
			t.Errorf("%s: unchanged name's link group %d, was %d", p, g, w)
		}
	}
	mustVerify(t, s)
}

func TestMountCommitFolderTimes(t *testing.T) {
	ctx := context.Background()
	s, r := newStore(t, baseFiles())
	before := imageOf(t, s, r)
	dir := filepath.Join(t.TempDir(), "mnt")
	ss, err := Mount(ctx, s, r, dir, nil)
	must(t, err)
	// Entries added, removed and renamed change their folders.
	must(t, os.WriteFile(filepath.Join(dir, "Users/Public/new.txt"), []byte("new\n"), 0o644))
	must(t, os.Remove(filepath.Join(dir, "Program Files/app/readme.txt")))
	must(t, os.Rename(filepath.Join(dir, "Windows/System32/startnet.cmd"), filepath.Join(dir, "Windows/System32/startnet2.cmd")))
	// A file's data changed: its folder's entries did not.
	must(t, os.WriteFile(filepath.Join(dir, "Windows/System32/config/SYSTEM"), []byte("changed hive"), 0o644))
	changed := map[string]time.Time{}
	for _, p := range []string{"Users/Public", "Program Files/app", "Windows/System32"} {
		st, err := os.Stat(filepath.Join(dir, p))
		must(t, err)
		changed[p] = filetime(st.ModTime())
	}
	_, err = ss.Unmount(ctx, true, CommitOptions{})
	must(t, err)

	after := imageOf(t, s, r)
	out := applied(t, s, r)
	for p, want := range changed {
		if got := lookup(t, after, "/"+p).Modified; !got.Equal(want) {
			t.Errorf("/%s: last write time %v, want the folder's on disk at commit, %v", p, got, want)
		}
		st, err := os.Stat(filepath.Join(out, p))
		must(t, err)
		if !st.ModTime().Equal(want) {
			t.Errorf("/%s as wimlib-imagex applies it: modified %v, want %v", p, st.ModTime(), want)
		}
	}
	for _, p := range []string{"/", "/Windows", "/Windows/System32/config", "/Program Files", "/Users"} {
		a, b := lookup(t, after, p), lookup(t, before, p)
		if !a.Created.Equal(b.Created) || !a.Accessed.Equal(b.Accessed) || !a.Modified.Equal(b.Modified) {
			t.Errorf("%s: unchanged folder's times %v %v %v, were %v %v %v", p,
				a.Created, a.Accessed, a.Modified, b.Created, b.Accessed, b.Modified)
		}
	}
	mustVerify(t, s)
}

func TestMountCommitKeepsNamesWindowsForbids(t *testing.T) {
	ctx := context.Background()
	// Captured on Linux by wimlib-imagex, which keeps these names.
	s, r := newStoreDir(t, writeTree(t, map[string]string{
		"gt>": "gt\n", "a:b/inner.txt": "inner\n", "ok.txt": "ok\n",
	}))
	before := imageOf(t, s, r)
	dir := filepath.Join(t.TempDir(), "mnt")
	ss, err := Mount(ctx, s, r, dir, nil)
	must(t, err)
	must(t, os.WriteFile(filepath.Join(dir, "ok.txt"), []byte("changed\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "a:b/new.txt"), []byte("new\n"), 0o644))
	_, err = ss.Unmount(ctx, true, CommitOptions{})
	must(t, err)
	sameTree(t, applied(t, s, r), map[string]string{
		"gt>": "gt\n", "a:b/inner.txt": "inner\n", "a:b/new.txt": "new\n", "ok.txt": "changed\n",
	})
	after := imageOf(t, s, r)
	if a, b := lookup(t, after, "/gt>"), lookup(t, before, "/gt>"); a.Hash != b.Hash || !a.Modified.Equal(b.Modified) || a.Attributes != b.Attributes {
		t.Errorf("/gt> changed: %+v, was %+v", a, b)
	}

	// A new name Windows forbids is refused, with the reason, and nothing
	// changes.
	dir2 := filepath.Join(t.TempDir(), "mnt2")
	ss, err = Mount(ctx, s, r, dir2, nil)
	must(t, err)
	must(t, os.WriteFile(filepath.Join(dir2, "what?.txt"), []byte("q\n"), 0o644))
	size := fileSize(t, s.ImagePath(r))
	_, err = ss.Unmount(ctx, true, CommitOptions{})
	if err == nil {
		t.Fatal("a new name holding '?' was committed")
	}
	for _, w := range []string{"what?.txt", "'?'", "Windows does not allow"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not say %q", err, w)
		}
	}
	if fileSize(t, s.ImagePath(r)) != size {
		t.Error("the refused commit changed the image")
	}
	if _, err := Mounted(s, dir2); err != nil {
		t.Errorf("the refused commit ended the session: %v", err)
	}
	must(t, os.Remove(filepath.Join(dir2, "what?.txt")))
	_, err = ss.Unmount(ctx, true, CommitOptions{})
	must(t, err)
	mustVerify(t, s)
}

func TestAddKeepsHardLinksAndSymlinks(t *testing.T) {
	ctx := context.Background()
	s, r := newStore(t, baseFiles())
	src := writeTree(t, map[string]string{"f1": "linked\n", "sub/x.txt": "x\n", "solo": "solo\n"})
	outside := filepath.Join(t.TempDir(), "outside.txt")
	must(t, os.WriteFile(outside, []byte("outside\n"), 0o644))
	must(t, os.Link(filepath.Join(src, "f1"), filepath.Join(src, "sub/f2")))
	must(t, os.Link(filepath.Join(src, "f1"), filepath.Join(src, "f3")))
	must(t, os.Symlink("f1", filepath.Join(src, "rel")))
	must(t, os.Symlink("../solo", filepath.Join(src, "sub/up")))
	must(t, os.Symlink(filepath.Join(src, "sub"), filepath.Join(src, "absin")))
	must(t, os.Symlink(outside, filepath.Join(src, "absout")))

	ss, err := Begin(ctx, s, r)
	must(t, err)
	must(t, ss.Add(src, "/Added"))
	// The folder given may change or go once added: the session has its copy.
	must(t, os.RemoveAll(src))
	_, err = ss.Commit(ctx, CommitOptions{})
	must(t, err)

	out := applied(t, s, r)
	if got, want := linkSets(t, filepath.Join(out, "Added")), [][]string{{"f1", "f3", "sub/f2"}, {"solo"}, {"sub/x.txt"}}; !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("wimlib-imagex applies the added files as %v, want %v", got, want)
	}
	root, err := filepath.EvalSymlinks(out)
	must(t, err)
	for name, want := range map[string]string{
		"rel":    "f1",
		"sub/up": "../solo",
		"absin":  root + "/Added/sub", // inside the added folder: where it went
		"absout": outside,             // outside: as it was
	} {
		got, err := os.Readlink(filepath.Join(out, "Added", name))
		if err != nil {
			t.Errorf("%s: %v", name, err)
		} else if got != want {
			t.Errorf("%s applied by wimlib-imagex points to %q, want %q", name, got, want)
		}
	}

	img := imageOf(t, s, r)
	f1 := lookup(t, img, "/Added/f1")
	for _, p := range []string{"/Added/f3", "/Added/sub/f2"} {
		if f := lookup(t, img, p); f.LinkGroup == 0 || f.LinkGroup != f1.LinkGroup || f.Hash != f1.Hash {
			t.Errorf("%s: group %d hash %x, want f1's %d %x", p, f.LinkGroup, f.Hash, f1.LinkGroup, f1.Hash)
		}
	}
	for f := range img.All() {
		if f.LinkGroup == f1.LinkGroup && !strings.HasPrefix(f.Path(), "/Added/") {
			t.Errorf("%s shares the added files' link group %d", f.Path(), f.LinkGroup)
		}
	}
	if a := lookup(t, img, "/Added/absin"); a.Attributes&wim.AttrDirectory == 0 || a.ReparseFlags&wim.ReparseNotFixed != 0 {
		t.Errorf("/Added/absin: attributes %#x flags %#x, want a fixed link to a folder", a.Attributes, a.ReparseFlags)
	}
	mustVerify(t, s)
}

// TestAddStoresLinksAsCapture compares the links of an added folder with
// wimlib-imagex's capture of the same folder.
func TestAddStoresLinksAsCapture(t *testing.T) {
	ctx := context.Background()
	s, r := newStore(t, baseFiles())
	src := writeTree(t, map[string]string{"f1": "linked\n", "sub/x.txt": "x\n"})
	must(t, os.Symlink("f1", filepath.Join(src, "rel")))
	must(t, os.Symlink("sub", filepath.Join(src, "reldir")))
	must(t, os.Symlink("/nonexistent/x", filepath.Join(src, "absout")))
	must(t, os.Symlink("../../somewhere", filepath.Join(src, "sub/up")))
	capWim := filepath.Join(t.TempDir(), "cap.wim")
	oracle.Run(t, "capture", src, capWim, "cap")
	cw, err := wim.Open(capWim, nil)
	must(t, err)
	defer cw.Close()
	capImg, err := cw.Image(1)
	must(t, err)

	ss, err := Begin(ctx, s, r)
	must(t, err)
	must(t, ss.Add(src, "/Added"))
	_, err = ss.Commit(ctx, CommitOptions{})
	must(t, err)
	img := imageOf(t, s, r)
	for _, name := range []string{"rel", "reldir", "absout", "sub/up"} {
		c, f := lookup(t, capImg, "/"+name), lookup(t, img, "/Added/"+name)
		cs, _ := c.Reparse()
		fs, _ := f.Reparse()
		if c.Attributes != f.Attributes || c.ReparseTag != f.ReparseTag || c.ReparseFlags != f.ReparseFlags || cs != fs {
			t.Errorf("%s: attributes %#x tag %#x flags %#x data %x, wimlib-imagex capture: %#x %#x %#x %x", name,
				f.Attributes, f.ReparseTag, f.ReparseFlags, fs.Hash, c.Attributes, c.ReparseTag, c.ReparseFlags, cs.Hash)
		}
	}
}

// TestStagedChangesNameExistingForbiddenNames: entries an image captured on
// Linux holds under names Windows refuses can be listed, deleted and
// renamed; a change that makes such a name is refused with the reason.
func TestStagedChangesNameExistingForbiddenNames(t *testing.T) {
	ctx := context.Background()
	s, r := newStoreDir(t, writeTree(t, map[string]string{
		"gt>": "gt\n", "a:b/inner.txt": "inner\n", "ok.txt": "ok\n",
	}))
	if ents, err := List(ctx, s, r, "/a:b"); err != nil || len(ents) != 1 {
		t.Fatalf("listing /a:b: %v, %v", ents, err)
	}
	newFile := filepath.Join(t.TempDir(), "n.txt")
	must(t, os.WriteFile(newFile, []byte("n\n"), 0o644))
	ss, err := Begin(ctx, s, r)
	must(t, err)
	must(t, ss.Delete("/gt>"))
	must(t, ss.Add(newFile, "/a:b/n.txt"))
	must(t, ss.Rename("/a:b", "ab"))
	for _, c := range []struct {
		do         func() error
		name, char string
	}{
		{func() error { return ss.Add(newFile, "/ab/what?.txt") }, "what?.txt", "'?'"},
		{func() error { return ss.Add(newFile, "/x|y/n.txt") }, "x|y", "'|'"},
		{func() error { return ss.Mkdir("/c:d") }, "c:d", "':'"},
		{func() error { return ss.Rename("/ok.txt", "o*k.txt") }, "o*k.txt", "'*'"},
	} {
		err := c.do()
		if err == nil {
			t.Errorf("new name %s accepted", c.name)
			continue
		}
		for _, w := range []string{c.name, c.char, "Windows does not allow"} {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("error %q does not say %q", err, w)
			}
		}
	}
	if len(ss.Changes) != 3 {
		t.Fatalf("staged %v, want the three accepted changes", ss.Changes)
	}
	_, err = ss.Commit(ctx, CommitOptions{})
	must(t, err)
	sameTree(t, applied(t, s, r), map[string]string{"ab/inner.txt": "inner\n", "ab/n.txt": "n\n", "ok.txt": "ok\n"})
	mustVerify(t, s)
}
