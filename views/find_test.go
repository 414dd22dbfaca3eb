package views

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wimconsole/wimconsole/app"
)

func TestFindFilesInGroup(t *testing.T) {
	f := newFixture(t)
	f.do(t, app.GroupID(f.srv, "Lab"), "Find Files…")
	w, ok := f.c.current.(*findDialog)
	if !ok {
		t.Fatalf("Find Files… opened %T", f.c.current)
	}

	// A bad pattern is an error dialog.
	w.search.SetText("[")
	tapButton(t, f.c, "Search")
	if txt := overlayText(f.c); !strings.Contains(txt, "bad pattern") {
		t.Fatalf("bad pattern: %q", txt)
	}
	tapButton(t, f.c, "OK")

	// A name pattern finds the file in both images of the group.
	w.search.SetText("*.DLL")
	tapButton(t, f.c, "Search")
	if len(w.matches) != 2 || w.matches[0].Image == w.matches[1].Image {
		t.Fatalf("*.DLL found %v", w.matches)
	}
	txt := overlayText(f.c)
	for _, want := range []string{"2 found in 2 images", `\Windows\system32\kernel.dll`, "Image A", "Image B"} {
		if !strings.Contains(txt, want) {
			t.Errorf("the dialog does not show %q: %q", want, txt)
		}
	}
	// A whole-path pattern finds only what is under it.
	w.search.SetText(`\Windows\own.*`)
	tapButton(t, f.c, "Search")
	if len(w.matches) != 2 || w.matches[0].Path != "/Windows/own.txt" {
		t.Fatalf(`\Windows\own.* found %v`, w.matches)
	}

	// Extract… the selected match; Browse Folder opens its folder.
	dest := t.TempDir()
	f.c.dialogs = &folderDialogs{fakeDialogs: f.dlg, folder: dest}
	w.list.Select(1)
	tapButton(t, f.c, "Extract…")
	f.c.jobs.Wait()
	f.c.settle()
	if _, err := os.Stat(filepath.Join(dest, "own.txt")); err != nil {
		t.Fatalf("extract: %v (%q)", err, overlayText(f.c))
	}
	tapButton(t, f.c, "Browse Folder")
	b := f.browser(t)
	if b.ref != w.matches[1].Image || b.dir != "/Windows" {
		t.Fatalf("Browse Folder opened %s at %s", b.ref, b.dir)
	}
}
