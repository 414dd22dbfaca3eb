package views

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/storage"

	"github.com/wimconsole/wimconsole/app"
	"github.com/wimconsole/wimconsole/engine/store"
)

// rowOf returns the tree row showing node id.
func rowOf(t *testing.T, c *Console, id string) *nodeRow {
	t.Helper()
	for _, r := range c.rows {
		if r.id == id && r.Visible() {
			return r
		}
	}
	t.Fatalf("no row shows %s", id)
	return nil
}

// A drop of a WIM and a text file on a group's row: the wizard opens for
// that group, the text file is reported on top of it, the row is marked
// while the files land, and the image goes into that group.
func TestDropMixedFilesOnGroup(t *testing.T) {
	f := newFixture(t)
	src := makeWIM(t, "D")
	notes := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(notes, []byte("not an image\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := f.srv.AddGroup("Other"); err != nil {
		t.Fatal(err)
	}
	f.c.model.Refresh()
	f.c.redraw()
	f.c.Select(app.GroupID(f.srv, "Lab")) // the selection is not where the files land
	other := app.GroupID(f.srv, "Other")
	f.c.Window.Canvas().Refresh(f.c.Window.Content())
	row := rowOf(t, f.c, other)
	// On the row's indent, left of its icon: the tree highlights the whole
	// row under the pointer, so the files go to that row's group.
	d := fyne.CurrentApp().Driver()
	pos := fyne.NewPos(d.AbsolutePositionForObject(f.c.treeW).X+2, d.AbsolutePositionForObject(row).Y+5)

	f.c.dropped(pos, []fyne.URI{storage.NewFileURI(notes), storage.NewFileURI(src)})
	if f.c.drop.flash != other || !row.mark.Visible() {
		t.Fatalf("drop on Other: marked %q (mark shown %v)", f.c.drop.flash, row.mark.Visible())
	}
	f.c.settle()
	if f.c.drop.flash != "" || row.mark.Visible() {
		t.Fatalf("the mark stays after the drop: %q", f.c.drop.flash)
	}
	overlays := f.c.Window.Canvas().Overlays().List()
	if len(overlays) != 2 {
		t.Fatalf("%d dialogs open, want the wizard and the note on top", len(overlays))
	}
	top := strings.Join(labels(overlays[1]), "\n")
	if !strings.Contains(top, "notes.txt is not a WIM file; it was left out") {
		t.Fatalf("top dialog: %q", top)
	}
	w, ok := f.c.current.(*addWizard)
	if !ok || w.group.Text != "Other" || len(w.files) != 1 || w.files[0] != src {
		t.Fatalf("drop opened %T (%+v)", f.c.current, w)
	}
	if under := strings.Join(labels(overlays[0]), "\n"); !strings.Contains(under, filepath.Base(src)) {
		t.Fatalf("under the note: %q", under)
	}
	tapButton(t, f.c, "OK")
	if top := f.c.Window.Canvas().Overlays().Top(); top != overlays[0] {
		t.Fatal("closing the note did not leave the wizard")
	}
	w.submit()
	f.c.settle()
	ims, err := storeOf(f.srv).ListImages(context.Background(), store.ListOptions{Group: "Other", NoSpace: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(ims) != 1 || ims[0].Name != "Image D" {
		t.Fatalf("group Other holds %+v", ims)
	}
}

// Files that are not images, dropped alone, are reported at once and open
// no wizard; the next Add Image opened from the menu reports nothing.
func TestDropOnlyOtherFiles(t *testing.T) {
	f := newFixture(t)
	f.c.dropped(fyne.NewPos(0, 0), []fyne.URI{storage.NewFileURI("/tmp/notes.txt"), storage.NewFileURI("/tmp/a.iso")})
	f.c.settle()
	if txt := overlayText(f.c); !strings.Contains(txt, "notes.txt and a.iso are not WIM files; they were left out") {
		t.Fatalf("non-WIM drop: %q", txt)
	}
	if _, ok := f.c.current.(*addWizard); ok {
		t.Fatal("a drop without images opened the wizard")
	}
	tapButton(t, f.c, "OK")
	f.dlg.files = []string{f.src}
	f.do(t, app.GroupID(f.srv, "Lab"), "Add Install Image…")
	if n := len(f.c.Window.Canvas().Overlays().List()); n != 1 {
		t.Fatalf("%d dialogs after Add Install Image…, want the wizard only", n)
	}
}

func TestLeftOutMessage(t *testing.T) {
	for _, tc := range []struct {
		names []string
		want  string
	}{
		{[]string{"notes.txt"}, "notes.txt is not a WIM file; it was left out."},
		{[]string{"a.txt", "b.iso"}, "a.txt and b.iso are not WIM files; they were left out."},
		{[]string{"a", "b", "c"}, "a, b and c are not WIM files; they were left out."},
	} {
		got := leftOutMessage(tc.names)
		if !strings.HasPrefix(got, tc.want) || !strings.Contains(got, ".wim, .esd, .swm") {
			t.Errorf("%v: %q", tc.names, got)
		}
	}
}
