package views

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/wimconsole/wimconsole/app"
	"github.com/wimconsole/wimconsole/engine/servicing"
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

// row returns the list's row item id as the list shows it.
func row(l *widget.List, id widget.ListItemID) *listRow {
	r := l.CreateItem().(*listRow)
	l.UpdateItem(id, r)
	return r
}

func rowTexts(r *listRow) []string {
	var out []string
	for _, o := range r.cells.Objects {
		out = append(out, o.(*widget.Label).Text)
	}
	return out
}

func columnTexts(c *fyne.Container) []string {
	var out []string
	for _, o := range c.Objects {
		out = append(out, o.(*widget.Label).Text)
	}
	return out
}

// TestBrowseDoubleClickAndSearchColumns: a double-click on a folder in
// Browse Files opens it; search results show the name and the whole
// Windows path in columns of their own.
func TestBrowseDoubleClickAndSearchColumns(t *testing.T) {
	f := newFixture(t)
	f.do(t, app.ImageID(f.srv, f.refs[0]), "Browse Files…")
	b := f.browser(t)
	i := slices.IndexFunc(b.entries, func(e servicing.Entry) bool { return e.Path == "/Windows" })
	if i < 0 {
		t.Fatalf("no /Windows in %v", entryPaths(b.entries))
	}
	test.DoubleTap(row(b.list, i))
	f.c.settle()
	if b.dir != "/Windows" {
		t.Fatalf("double-click on Windows/ left the browser at %s", b.dir)
	}

	b.runSearch("kernel.dll")
	f.c.settle()
	if len(b.entries) != 1 {
		t.Fatalf("search found %v", entryPaths(b.entries))
	}
	if got := columnTexts(b.header); !slices.Equal(got, searchColumnNames) {
		t.Errorf("search result columns %q", got)
	}
	if got := rowTexts(row(b.list, 0)); got[0] != "kernel.dll" || got[1] != `C:\Windows\system32\kernel.dll` {
		t.Errorf("search result row %q", got)
	}
	// A double-click on a found folder opens it.
	b.runSearch("system32")
	f.c.settle()
	test.DoubleTap(row(b.list, 0))
	f.c.settle()
	if b.searching || b.dir != "/Windows/system32" {
		t.Fatalf("double-click on a found folder: at %s (searching %v)", b.dir, b.searching)
	}
	if got := columnTexts(b.header); !slices.Equal(got, entryColumnNames) {
		t.Errorf("folder columns %q", got)
	}
}

// TestFindColumnsAndDoubleClick: Find Files shows each match's name and
// whole Windows path apart; a double-click browses its folder.
func TestFindColumnsAndDoubleClick(t *testing.T) {
	f := newFixture(t)
	f.do(t, app.GroupID(f.srv, "Lab"), "Find Files…")
	w := f.c.current.(*findDialog)
	w.search.SetText("*.dll")
	tapButton(t, f.c, "Search")
	if len(w.matches) != 2 {
		t.Fatalf("found %v", w.matches)
	}
	got := rowTexts(row(w.list, 0))
	if got[1] != "kernel.dll" || got[2] != `C:\Windows\system32\kernel.dll` {
		t.Errorf("match row %q", got)
	}
	test.DoubleTap(row(w.list, 1))
	f.c.settle()
	b := f.browser(t)
	if b.ref != w.matches[1].Image || b.dir != "/Windows/system32" {
		t.Fatalf("double-click browsed %s at %s", b.ref, b.dir)
	}
}
