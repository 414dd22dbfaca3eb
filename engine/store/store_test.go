package store

import (
	"context"
	"crypto/sha1"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/wimconsole/wimconsole/engine/wim"
	"github.com/wimconsole/wimconsole/internal/oracle"
)

func TestAddImageCore(t *testing.T) {
	oracle.Wimlib(t)
	ctx := context.Background()
	s := openStore(t)
	a, b := baseTree("A"), baseTree("B")
	src := captureWIM(t, "lzx", writeTree(t, a), writeTree(t, b))
	refs, err := s.AddImage(ctx, src, AddOptions{Group: "Win11"})
	if err != nil {
		t.Fatal(err)
	}
	if len(refs) != 2 || refs[0].File != "install" || refs[1].File != "install-(2)" {
		t.Fatalf("refs = %v", refs)
	}
	for _, p := range []string{"Images/Win11/Res.rwm", "Images/Win11/install.wim", "Images/Win11/install-(2).wim"} {
		if _, err := os.Stat(filepath.Join(s.Root(), p)); err != nil {
			t.Fatal(err)
		}
	}
	oracleApply(t, s, refs[0], a)
	oracleApply(t, s, refs[1], b)
	info := oracle.Run(t, "info", s.ResPath("Win11"))
	if !strings.Contains(info, "LZX") {
		t.Errorf("Res.rwm info:\n%s", info)
	}
	mustVerify(t, s)

	// Adding the same data again stores nothing new.
	st1, _ := os.Stat(s.ResPath("Win11"))
	if _, err := s.AddImage(ctx, src, AddOptions{Group: "Win11", Indexes: []int{1}, Name: "Again", FileName: "again"}); err != nil {
		t.Fatal(err)
	}
	st2, _ := os.Stat(s.ResPath("Win11"))
	if grow := st2.Size() - st1.Size(); grow > 4096 {
		t.Errorf("Res.rwm grew by %d bytes for data it held", grow)
	}
	// Duplicate name refused, nothing changes.
	if _, err := s.AddImage(ctx, src, AddOptions{Group: "Win11", Indexes: []int{1}, FileName: "dup"}); err == nil {
		t.Fatal("duplicate image name accepted")
	}

	ims, err := s.ListImages(ctx, ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ims) != 3 {
		t.Fatalf("images: %+v", ims)
	}
	for _, im := range ims {
		if !im.Enabled || im.ExpandedBytes == 0 || im.Group != "Win11" {
			t.Errorf("image %+v", im)
		}
	}
	// Space: images A and Again share everything; B has exclusive data.
	gs, err := s.Space(ctx, "Win11")
	if err != nil {
		t.Fatal(err)
	}
	var sumEx int64
	for _, is := range gs.Images {
		sumEx += is.ExclusiveBytes
		if is.SharedBytes == 0 {
			t.Errorf("image %s shares nothing: %+v", is.File, is)
		}
	}
	if gs.LiveBytes == 0 || gs.ResBytes < gs.LiveBytes || sumEx == 0 {
		t.Errorf("space %+v", gs)
	}

	// Disable, export, remove.
	no := false
	r := refs[1]
	if err := s.SetImage(ctx, r, SetOptions{Enabled: &no}); err != nil {
		t.Fatal(err)
	}
	im, err := s.GetImage(ctx, r)
	if err != nil || im.Enabled || im.Status != "disabled" {
		t.Fatalf("get-image after disable: %+v %v", im, err)
	}
	if err := s.InstallImage(ctx, r, t.TempDir(), "test", nil); !errors.Is(err, ErrImageDisabled) {
		t.Fatalf("install of disabled image: %v", err)
	}
	exp := filepath.Join(t.TempDir(), "exported.wim")
	if err := s.ExportImage(ctx, r, exp, ExportOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := s.ExportImage(ctx, r, exp, ExportOptions{}); err == nil {
		t.Fatal("export over an existing file without --overwrite")
	}
	out := filepath.Join(t.TempDir(), "x")
	oracle.Run(t, "apply", exp, "1", out)
	sameTree(t, b, out)
	oracle.Run(t, "verify", exp)

	before := dirWIMBytes(s.GroupDir("Win11"))
	resBefore, _ := os.Stat(s.ResPath("Win11"))
	if err := s.RemoveImage(ctx, refs[0]); err != nil {
		t.Fatal(err)
	}
	resAfter, _ := os.Stat(s.ResPath("Win11"))
	if resAfter.Size() != resBefore.Size() {
		t.Errorf("remove-image changed Res.rwm: %d -> %d", resBefore.Size(), resAfter.Size())
	}
	_ = before
	mustVerify(t, s)
}

func TestHostileNames(t *testing.T) {
	for _, n := range []string{"", ".", "..", "../x", "a/b", "/abs", "a\x00b", "C:", "a:b", "NUL", " x", ".hidden", "x."} {
		if CheckGroupName(n) == nil {
			t.Errorf("group name %q accepted", n)
		}
		if CheckFileName(n) == nil {
			t.Errorf("file name %q accepted", n)
		}
	}
	for _, n := range []string{"Win11", "Windows 11 Pro", "grp-1_x", "Ünïcode"} {
		if err := CheckGroupName(n); err != nil {
			t.Errorf("group name %q: %v", n, err)
		}
	}
	for _, ref := range []string{"a", "a/b/c", "../x", "G/..", "boot/../x", "G/Res", "G/x\x00"} {
		if _, err := ParseImageRef(ref); err == nil {
			t.Errorf("image ref %q accepted", ref)
		}
	}
	s := openStore(t)
	if err := s.AddGroup("../escape"); err == nil {
		t.Fatal("AddGroup(../escape) succeeded")
	}
	if _, err := os.Stat(filepath.Join(s.Root(), "escape")); err == nil {
		t.Fatal("a folder was created outside Images")
	}
}

func TestAddCorruptWIMChangesNothing(t *testing.T) {
	oracle.Wimlib(t)
	ctx := context.Background()
	s := openStore(t)
	good := captureWIM(t, "lzx", writeTree(t, baseTree("A")))
	if _, err := s.AddImage(ctx, good, AddOptions{Group: "G"}); err != nil {
		t.Fatal(err)
	}
	snap := snapshot(t, s.Root())
	// Damage file data of another source (not metadata), and truncate one.
	src := captureWIM(t, "none", writeTree(t, baseTree("Z")))
	data, _ := os.ReadFile(src)
	i := strings.Index(string(data), "\x01\x02\x03Z")
	if i < 0 {
		t.Fatal("data not found raw")
	}
	data[i+5] ^= 0xff
	bad := filepath.Join(t.TempDir(), "bad.wim")
	os.WriteFile(bad, data, 0o644)
	trunc := filepath.Join(t.TempDir(), "trunc.wim")
	os.WriteFile(trunc, data[:len(data)/2], 0o644)
	junk := filepath.Join(t.TempDir(), "junk.wim")
	os.WriteFile(junk, []byte("not a wim at all"), 0o644)
	// Into the existing group (checked while it is appended, then cut
	// back) and into a new one (checked first).
	for _, g := range []string{"G", "H"} {
		for _, f := range []string{bad, trunc, junk} {
			_, err := s.AddImage(ctx, f, AddOptions{Group: g, FileName: "new", Name: "New"})
			if err == nil {
				t.Fatalf("%s: add-image into %s succeeded", f, g)
			}
			t.Logf("%s into %s: %v", filepath.Base(f), g, err)
			if got := snapshot(t, s.Root()); got != snap {
				t.Fatalf("%s into %s: store changed:\n%s\nwant\n%s", f, g, got, snap)
			}
		}
	}
	mustVerify(t, s)
}

// snapshot lists the store's files with their SHA-1 (the catalog
// excluded).
func snapshot(t testing.TB, root string) string {
	var b strings.Builder
	filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil || strings.Contains(p, "WdsConsole") {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		if fi.Mode().IsRegular() {
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, "%s %x\n", rel, sha1.Sum(data))
		} else {
			b.WriteString(rel + "/\n")
		}
		return nil
	})
	return b.String()
}

func TestBusyCatalog(t *testing.T) {
	s := openStore(t)
	old := BusyTimeout
	BusyTimeout = 200 * time.Millisecond
	defer func() { BusyTimeout = old }()
	start := time.Now()
	err := s.withCatalog(false, func(*bolt.DB) error {
		_, err := s.ListImages(context.Background(), ListOptions{})
		return err
	})
	if !errors.Is(err, ErrBusy) {
		t.Fatalf("list while the catalog is held: %v, want ErrBusy", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("busy error took %v", d)
	}
	_ = wim.HeaderSize
}
