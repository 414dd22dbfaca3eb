package views

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wimconsole/wimconsole/app"
	"github.com/wimconsole/wimconsole/engine/servicing"
	"github.com/wimconsole/wimconsole/internal/oracle"
)

// mountAction runs the mount action of image i from its menu, where it is
// labelled want (Mount to Folder…, or Unmount… once mounted).
func (f *fixture) mountAction(t *testing.T, i int, want string) {
	t.Helper()
	id := app.ImageID(f.srv, f.refs[i])
	f.c.Select(id)
	f.do(t, id, want)
}

func TestMountEditUnmountCommit(t *testing.T) {
	oracle.Wimlib(t)
	f := newFixture(t)

	// An enabled image is not mounted.
	f.mountAction(t, 0, mountLabel)
	if txt := overlayText(f.c); !strings.Contains(txt, "Disable") {
		t.Fatalf("mounting an enabled image: %q", txt)
	}
	tapButton(t, f.c, "OK")

	f.disable(t, 0)
	dir := filepath.Join(t.TempDir(), "mnt")
	f.c.dialogs = &folderDialogs{fakeDialogs: f.dlg, folder: dir}
	f.mountAction(t, 0, mountLabel)
	f.c.jobs.Wait()
	f.c.settle()
	if txt := overlayText(f.c); !strings.Contains(txt, "is mounted to") || !strings.Contains(txt, dir) {
		t.Fatalf("no mount message: %q", txt)
	}
	tapButton(t, f.c, "OK")
	if got, err := os.ReadFile(filepath.Join(dir, "Windows", "own.txt")); err != nil || len(got) == 0 {
		t.Fatalf("the image was not extracted to %s: %v", dir, err)
	}

	// Change the folder with "any tool", then Unmount… and commit.
	if err := os.WriteFile(filepath.Join(dir, "Windows", "own.txt"), []byte("changed in the folder\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "Windows", "setup.log"), []byte("new\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Service Image… on a mounted image offers to unmount it too.
	f.do(t, app.ImageID(f.srv, f.refs[0]), "Service Image…")
	if _, ok := f.c.current.(*unmountDialog); !ok {
		t.Fatalf("Service Image… on a mounted image opened %T", f.c.current)
	}
	tapButton(t, f.c, "Cancel")

	f.mountAction(t, 0, unmountLabel)
	if _, ok := f.c.current.(*unmountDialog); !ok {
		t.Fatalf("Unmount… opened %T: %q", f.c.current, overlayText(f.c))
	}
	tapButton(t, f.c, "Unmount")
	f.c.jobs.Wait()
	f.c.settle()
	if txt := overlayText(f.c); !strings.Contains(txt, "2 files read") {
		t.Fatalf("unmount result: %q", txt)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the mount folder is still there: %v", err)
	}
	if _, err := f.srv.Session(f.refs[0]); !errors.Is(err, servicing.ErrNoSession) {
		t.Fatalf("the session is still open: %v", err)
	}
	out := filepath.Join(t.TempDir(), "applied")
	oracle.Run(t, "apply", storeOf(f.srv).ImagePath(f.refs[0]), "1", out, "--ref="+storeOf(f.srv).ResPath("Lab"))
	if got := strings.Join(files(t, out), ","); got != "Windows/own.txt,Windows/setup.log,Windows/system32/kernel.dll" {
		t.Fatalf("committed image holds %s", got)
	}
	if got, _ := os.ReadFile(filepath.Join(out, "Windows", "own.txt")); string(got) != "changed in the folder\n" {
		t.Fatalf("own.txt holds %q", got)
	}
}

func TestMountUnmountDiscard(t *testing.T) {
	f := newFixture(t)
	f.disable(t, 1)
	dir := filepath.Join(t.TempDir(), "mnt")
	f.c.dialogs = &folderDialogs{fakeDialogs: f.dlg, folder: dir}
	f.mountAction(t, 1, mountLabel)
	f.c.jobs.Wait()
	f.c.settle()
	tapButton(t, f.c, "OK")
	before, err := os.ReadFile(storeOf(f.srv).ImagePath(f.refs[1]))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "Windows", "own.txt")); err != nil {
		t.Fatal(err)
	}
	f.mountAction(t, 1, unmountLabel)
	f.c.current.(*unmountDialog).how.SetSelected(unmountDiscard)
	tapButtonNoWait(t, f.c, "Unmount")
	tapButton(t, f.c, "Discard")
	f.c.jobs.Wait()
	f.c.settle()
	if txt := overlayText(f.c); !strings.Contains(txt, "discarded") {
		t.Fatalf("discard result: %q", txt)
	}
	after, err := os.ReadFile(storeOf(f.srv).ImagePath(f.refs[1]))
	if err != nil || string(after) != string(before) {
		t.Fatalf("discarding changed the image (%v)", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the mount folder is still there: %v", err)
	}
}
