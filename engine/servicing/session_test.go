package servicing

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wimconsole/wimconsole/engine/store"
)

func TestSessionCommitRoundTrip(t *testing.T) {
	ctx := context.Background()
	s, r := newStore(t, baseFiles())
	ss, err := Begin(ctx, s, r)
	if err != nil {
		t.Fatal(err)
	}
	add := writeTree(t, map[string]string{"tool.exe": strings.Repeat("new tool\n", 2000), "sub/conf.ini": "[x]\n"})
	newFile := filepath.Join(t.TempDir(), "new.txt")
	os.WriteFile(newFile, []byte("replaced readme\n"), 0o644)

	steps := []func() error{
		func() error { return ss.Add(add, `\Tools`) },
		func() error { return ss.Add(newFile, "/Windows/extra/new.txt") },
		func() error { return ss.Delete(`\Users\Public\notes.txt`) },
		func() error { return ss.Rename("/Program Files/app/app.exe", "app2.exe") },
		func() error { return ss.Replace("/program files/APP/readme.txt", newFile) },
		func() error { return ss.Mkdir("/Empty") },
	}
	for i, f := range steps {
		if err := f(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	// Refused changes stage nothing.
	for _, f := range []func() error{
		func() error { return ss.Delete("/no/such") },
		func() error { return ss.Add(newFile, "/Tools/tool.exe") },
		func() error { return ss.Rename("/Tools", "/Tools/sub/x") },
		func() error { return ss.Replace("/Windows", newFile) },
		func() error { return ss.Delete("/a/../b") },
		func() error { return ss.Add(newFile, "/a:b") },
	} {
		if err := f(); err == nil {
			t.Error("hostile or impossible change accepted")
		}
	}
	// The session survives a restart.
	s2, err := store.Open(s.Root())
	if err != nil {
		t.Fatal(err)
	}
	ss2, err := ForImage(s2, r)
	if err != nil {
		t.Fatal(err)
	}
	if len(ss2.Changes) != len(steps) {
		t.Fatalf("reloaded session has %d changes, want %d: %v", len(ss2.Changes), len(steps), ss2.Changes)
	}
	if p, err := Stale(s2); err != nil || len(p) != 1 || p[0].Stale != "" {
		t.Fatalf("Stale = %+v, %v", p, err)
	}
	resBefore := fileSize(t, s.ResPath("G"))
	res, err := ss2.Commit(ctx, CommitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.NewBlobs != 3 { // tool.exe, conf.ini, new.txt (readme replaced by the same data)
		t.Errorf("commit wrote %d new blobs, want 3", res.NewBlobs)
	}
	if grown := fileSize(t, s.ResPath("G")) - resBefore; grown > 20000 {
		t.Errorf("Res.rwm grew by %d bytes: more than the new data", grown)
	}
	want := clone(baseFiles())
	want["Tools/tool.exe"] = strings.Repeat("new tool\n", 2000)
	want["Tools/sub/conf.ini"] = "[x]\n"
	want["Windows/extra/new.txt"] = "replaced readme\n"
	delete(want, "Users/Public/notes.txt")
	want["Users/Public/"] = ""
	want["Program Files/app/app2.exe"] = want["Program Files/app/app.exe"]
	delete(want, "Program Files/app/app.exe")
	want["Program Files/app/readme.txt"] = "replaced readme\n"
	want["Empty/"] = ""
	sameTree(t, applied(t, s, r), want)
	mustVerify(t, s)
	if _, err := ForImage(s, r); !errors.Is(err, ErrNoSession) {
		t.Errorf("session still there after commit: %v", err)
	}
}

func TestCommitNewImageAndDiscard(t *testing.T) {
	ctx := context.Background()
	s, r := newStore(t, baseFiles())
	ss, err := Begin(ctx, s, r)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Begin(ctx, s, r); err == nil {
		t.Error("second session on one image accepted")
	}
	if err := ss.AddData("/hello.txt", []byte("hello\n")); err != nil {
		t.Fatal(err)
	}
	res, err := ss.Commit(ctx, CommitOptions{NewImage: "serviced"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Image.File != "serviced" {
		t.Fatalf("new image %v", res.Image)
	}
	sameTree(t, applied(t, s, r), baseFiles())
	want := clone(baseFiles())
	want["hello.txt"] = "hello\n"
	sameTree(t, applied(t, s, res.Image), want)
	im, err := s.GetImage(ctx, res.Image)
	if err != nil {
		t.Fatal(err)
	}
	if im.Name != "Test Image (serviced)" {
		t.Errorf("new image named %q", im.Name)
	}
	mustVerify(t, s)

	// Discard leaves the image as it was.
	ss, err = Begin(ctx, s, r)
	if err != nil {
		t.Fatal(err)
	}
	before := fileSize(t, s.ImagePath(r))
	if err := ss.Delete("/Windows"); err != nil {
		t.Fatal(err)
	}
	if err := ss.Discard(); err != nil {
		t.Fatal(err)
	}
	if fileSize(t, s.ImagePath(r)) != before {
		t.Error("discard changed the image")
	}
	sameTree(t, applied(t, s, r), baseFiles())
	mustVerify(t, s)
}

func TestBeginRefusesEnabledImage(t *testing.T) {
	ctx := context.Background()
	s, r := newStore(t, baseFiles())
	on := true
	if err := s.SetImage(ctx, r, store.SetOptions{Enabled: &on}); err != nil {
		t.Fatal(err)
	}
	if _, err := Begin(ctx, s, r); err == nil || !strings.Contains(err.Error(), "enabled") {
		t.Fatalf("Begin on an enabled image: %v", err)
	}
}
