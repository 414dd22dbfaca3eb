package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wimconsole/wimconsole/engine/store/storetest"
	"github.com/wimconsole/wimconsole/internal/oracle"
)

// readOnlyStore makes a store with two install images (the second
// disabled) in group G and a boot image, on a mount then made read-only.
func readOnlyStore(t *testing.T) (root, src string) {
	t.Helper()
	dir, seal := storetest.ReadOnlyMount(t)
	root = filepath.Join(dir, "RemoteInstall")
	s, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	src = storetest.VariantsWIM(t, "a", "b")
	if _, err := s.AddImage(ctx, src, AddOptions{Group: "G"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddImage(ctx, src, AddOptions{Boot: true, Arch: "x64", Indexes: []int{1}, FileName: "boot"}); err != nil {
		t.Fatal(err)
	}
	no := false
	if err := s.SetImage(ctx, ImageRef{Group: "G", File: "install-(2)"}, SetOptions{Enabled: &no}); err != nil {
		t.Fatal(err)
	}
	seal()
	return root, src
}

// TestReadOnlyStore: a store on a read-only mount opens read-only; every
// read works (listing with the catalog's state, show, groups, space,
// verify, export elsewhere) and every change fails naming the store and
// saying it is read-only.
func TestReadOnlyStore(t *testing.T) {
	oracle.Wimlib(t)
	root, src := readOnlyStore(t)
	ctx := context.Background()
	s, err := Open(root)
	if err != nil {
		t.Fatalf("opening a read-only store: %v", err)
	}
	if ro, why := s.ReadOnly(); !ro || why != "read-only file system" {
		t.Fatalf("ReadOnly() = %v, %q", ro, why)
	}
	ims, err := s.ListImages(ctx, ListOptions{})
	if err != nil {
		t.Fatalf("listing: %v", err)
	}
	var got []string
	for _, im := range ims {
		got = append(got, im.Ref+"="+im.Status)
	}
	if want := "G/install=enabled G/install-(2)=disabled boot/x64/boot=enabled"; strings.Join(got, " ") != want {
		t.Fatalf("listed %q, want %q", strings.Join(got, " "), want)
	}
	if im, err := s.GetImage(ctx, ImageRef{Group: "G", File: "install"}); err != nil || im.Name != "Image a" {
		t.Fatalf("GetImage: %+v, %v", im, err)
	}
	if gi, err := s.GroupInfos(); err != nil || len(gi) != 1 {
		t.Fatalf("GroupInfos: %+v, %v", gi, err)
	}
	if sp, err := s.Space(ctx, "G"); err != nil || sp.ResBytes == 0 {
		t.Fatalf("Space: %+v, %v", sp, err)
	}
	if vr, err := s.VerifyStore(ctx, "", nil); err != nil || vr.Images != 3 {
		t.Fatalf("VerifyStore: %+v, %v", vr, err)
	}
	out := filepath.Join(t.TempDir(), "out.wim")
	if err := s.ExportImage(ctx, ImageRef{Group: "G", File: "install-(2)"}, out, ExportOptions{}); err != nil {
		t.Fatalf("exporting out of a read-only store: %v", err)
	}
	oracle.Run(t, "verify", out)

	yes := true
	changes := map[string]func() error{
		"add an image": func() error {
			_, err := s.AddImage(ctx, src, AddOptions{Group: "G", Indexes: []int{1}, FileName: "new"})
			return err
		},
		"delete an image": func() error { return s.RemoveImage(ctx, ImageRef{Group: "G", File: "install"}) },
		"change an image": func() error {
			return s.SetImage(ctx, ImageRef{Group: "G", File: "install-(2)"}, SetOptions{Enabled: &yes})
		},
		"replace an image": func() error {
			return s.ReplaceImage(ctx, ImageRef{Group: "G", File: "install"}, src, ReplaceOptions{SourceIndex: 2})
		},
		"copy an image": func() error {
			_, err := s.CopyImage(ctx, ImageRef{Group: "G", File: "install"}, CopyOptions{FileName: "c"})
			return err
		},
		"add an image group":    func() error { return s.AddGroup("H") },
		"delete an image group": func() error { return s.RemoveGroup("G", true) },
		"rename an image group": func() error { return s.RenameGroup("G", "H") },
		"regroup images":        func() error { _, err := s.Regroup(ctx, "G", RegroupOptions{}); return err },
		"open an install session": func() error {
			_, err := s.OpenSession(ImageRef{Group: "G", File: "install"}, "client")
			return err
		},
	}
	for what, change := range changes {
		err := change()
		want := "the store " + root + " is read-only (read-only file system): cannot " + what
		if !errors.Is(err, ErrReadOnly) || err.Error() != want {
			t.Errorf("%s: %v, want %q", what, err, want)
		}
	}
}

// TestOpenReadOnly: a caller that only reads opens a writable store
// read-only: changes are refused and nothing is written.
func TestOpenReadOnly(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	if _, err := s.AddImage(ctx, storetest.VariantsWIM(t, "a"), AddOptions{Group: "G"}); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(s.CatalogPath())
	if err != nil {
		t.Fatal(err)
	}
	r, err := OpenWith(s.Root(), OpenOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if ims, err := r.ListImages(ctx, ListOptions{}); err != nil || len(ims) != 1 {
		t.Fatalf("listing: %d images, %v", len(ims), err)
	}
	if err := r.AddGroup("H"); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("AddGroup on a store opened read-only: %v", err)
	}
	after, _ := os.ReadFile(s.CatalogPath())
	if string(before) != string(after) {
		t.Fatal("the catalog changed")
	}
	if _, err := os.Stat(s.GroupDir("H")); err == nil {
		t.Fatal("a group was made")
	}
	if _, err := OpenWith(filepath.Join(t.TempDir(), "none"), OpenOptions{ReadOnly: true}); err == nil || !strings.Contains(err.Error(), "has no catalog") {
		t.Fatalf("opening a missing store read-only: %v", err)
	}
}
