package servicing

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestMountCommitReadsOnlyChangedFiles(t *testing.T) {
	ctx := context.Background()
	s, r := newStore(t, baseFiles())
	dir := filepath.Join(t.TempDir(), "mnt")
	if _, err := Mount(ctx, s, r, dir, nil); err != nil {
		t.Fatal(err)
	}
	sameTree(t, dir, baseFiles())
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(dir, "Users/Public/notes.txt"), []byte("changed notes\n"), 0o644))
	must(os.MkdirAll(filepath.Join(dir, "New/Folder"), 0o755))
	must(os.WriteFile(filepath.Join(dir, "New/Folder/a.txt"), []byte("new file\n"), 0o644))
	must(os.Remove(filepath.Join(dir, "Program Files/app/readme.txt")))
	must(os.Rename(filepath.Join(dir, "Windows/System32/kernel.dll"), filepath.Join(dir, "Windows/System32/kernel32.dll")))

	ss, err := Mounted(s, dir)
	must(err)
	res, err := ss.Unmount(ctx, true, CommitOptions{})
	must(err)
	// The renamed file is new at its path, so it is read (its data is not
	// stored again); the other five files are taken from the image.
	if res.FilesRead != 3 || res.Unchanged != 4 {
		t.Errorf("read %d files, %d unchanged; want 3 and 4", res.FilesRead, res.Unchanged)
	}
	if res.NewBlobs != 2 {
		t.Errorf("%d new blobs, want 2", res.NewBlobs)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("mount folder left behind: %v", err)
	}
	want := clone(baseFiles())
	want["Users/Public/notes.txt"] = "changed notes\n"
	want["New/Folder/a.txt"] = "new file\n"
	delete(want, "Program Files/app/readme.txt")
	want["Windows/System32/kernel32.dll"] = want["Windows/System32/kernel.dll"]
	delete(want, "Windows/System32/kernel.dll")
	sameTree(t, applied(t, s, r), want)
	mustVerify(t, s)

	// Discard leaves the image as it was.
	dir2 := filepath.Join(t.TempDir(), "mnt2")
	ss, err = Mount(ctx, s, r, dir2, nil)
	must(err)
	before := fileSize(t, s.ImagePath(r))
	must(os.WriteFile(filepath.Join(dir2, "junk.txt"), []byte("junk"), 0o644))
	if _, err := ss.Unmount(ctx, false, CommitOptions{}); err != nil {
		t.Fatal(err)
	}
	if fileSize(t, s.ImagePath(r)) != before {
		t.Error("unmount --discard changed the image")
	}
	sameTree(t, applied(t, s, r), want)
	if _, err := Mounted(s, dir2); !errors.Is(err, ErrNoSession) {
		t.Errorf("session left after discard: %v", err)
	}
	mustVerify(t, s)
}

func TestMountCommitNewImage(t *testing.T) {
	ctx := context.Background()
	s, r := newStore(t, baseFiles())
	dir := filepath.Join(t.TempDir(), "mnt")
	ss, err := Mount(ctx, s, r, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := ss.Delete("/Users"); err == nil {
		t.Error("staged change accepted on a mounted session")
	}
	os.WriteFile(filepath.Join(dir, "x.txt"), []byte("x"), 0o644)
	res, err := ss.Unmount(ctx, true, CommitOptions{NewImage: "install2"})
	if err != nil {
		t.Fatal(err)
	}
	if res.FilesRead != 1 {
		t.Errorf("read %d files, want 1", res.FilesRead)
	}
	want := clone(baseFiles())
	want["x.txt"] = "x"
	sameTree(t, applied(t, s, res.Image), want)
	sameTree(t, applied(t, s, r), baseFiles())
	mustVerify(t, s)
}
