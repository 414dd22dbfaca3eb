package views

import (
	"context"
	"path/filepath"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/wimconsole/wimconsole/app"
	"github.com/wimconsole/wimconsole/engine/store"
	"github.com/wimconsole/wimconsole/engine/store/storetest"
)

// menuState maps each item's label to whether it is enabled.
func menuState(items []*fyne.MenuItem) map[string]bool {
	out := map[string]bool{}
	for _, it := range items {
		if !it.IsSeparator {
			out[it.Label] = !it.Disabled
		}
	}
	return out
}

// TestReadOnlyConsole: on a store on a read-only mount the window's title
// says "read-only", the actions that would change the store are greyed out
// in the menus and the toolbar, and listing, Properties and Export stay.
func TestReadOnlyConsole(t *testing.T) {
	dir, seal := storetest.ReadOnlyMount(t)
	root := filepath.Join(dir, "RemoteInstall")
	s, err := store.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	src := makeWIM(t, "A", "B")
	refs, err := s.AddImage(ctx, src, store.AddOptions{Group: "Lab"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddImage(ctx, src, store.AddOptions{Boot: true, Arch: "x64", Indexes: []int{1}}); err != nil {
		t.Fatal(err)
	}
	seal()

	c, srv := newTestConsole(t, root)
	c.settle()
	if got, want := c.Window.Title(), "WIM Console – "+srv.Name+" – "+root+" (read-only)"; got != want {
		t.Errorf("title %q, want %q", got, want)
	}
	// The tree lists the store.
	if kids := c.model.Children(app.GroupID(srv, "Lab")); len(kids) != 2 {
		t.Fatalf("group Lab shows %d images, want 2", len(kids))
	}
	check := func(id string, on, off []string) {
		t.Helper()
		c.Select(id)
		got := menuState(c.actionItems())
		for _, l := range on {
			if e, ok := got[l]; !ok || !e {
				t.Errorf("%s: %q is not offered enabled (%v)", id, l, got)
			}
		}
		for _, l := range off {
			if e, ok := got[l]; !ok || e {
				t.Errorf("%s: %q is not greyed out (%v)", id, l, got)
			}
		}
	}
	check(app.ImageID(srv, refs[0]), []string{"Export Image…", "Browse Files…", "Refresh", "Properties"},
		[]string{"Disable", "Replace Image…", "Copy Image…", "Service Image…", mountLabel, "Add Driver Package…", "Rename", "Delete"})
	check(app.GroupID(srv, "Lab"), []string{"Find Files…", "Refresh", "Properties"},
		[]string{"Add Install Image…", "Regroup…", "Rename", "Delete"})
	check(app.InstallID(srv), []string{"Refresh"}, []string{"Add Install Image…", "Add Image Group…"})
	check(app.BootID(srv), []string{"Refresh"}, []string{"Add Boot Image…"})
	for i, a := range c.changing {
		if !a.Disabled() {
			t.Errorf("toolbar action %d (add, add group, delete) is enabled", i)
		}
	}
	for _, m := range c.mainMenu().Items {
		if m.Label == "File" && menuState(m.Items)["Add Install Image…"] {
			t.Error("File > Add Install Image… is enabled")
		}
	}
	// Properties opens, its changing buttons greyed out.
	c.Select(app.ImageID(srv, refs[0]))
	c.showProperties()
	c.settle()
	p, ok := c.current.(*imageProperties)
	if !ok {
		t.Fatalf("Properties did not open (%T)", c.current)
	}
	var buttons []string
	for _, tab := range p.tabs.Items {
		for _, b := range findButtons(tab.Content) {
			buttons = append(buttons, tab.Text+"/"+b.Text)
			if !b.Disabled() {
				t.Errorf("Properties: %s/%s is enabled", tab.Text, b.Text)
			}
		}
	}
	if len(buttons) != 4 {
		t.Errorf("Properties buttons %q, want Unattend's and Language Packs' two each", buttons)
	}
}

// findButtons returns the buttons in o.
func findButtons(o fyne.CanvasObject) []*widget.Button {
	switch v := o.(type) {
	case *widget.Button:
		return []*widget.Button{v}
	case *fyne.Container:
		var out []*widget.Button
		for _, c := range v.Objects {
			out = append(out, findButtons(c)...)
		}
		return out
	case *container.Scroll:
		return findButtons(v.Content)
	}
	return nil
}

// TestWritableConsoleNotReadOnly: the same console on a writable store has
// the plain title and every action enabled.
func TestWritableConsoleNotReadOnly(t *testing.T) {
	f := newFixture(t)
	if got, want := f.c.Window.Title(), Title+" – "+f.srv.Name+" – "+f.srv.Location(); got != want {
		t.Errorf("title %q, want %q", got, want)
	}
	f.c.Select(app.ImageID(f.srv, f.refs[0]))
	for l, on := range menuState(f.c.actionItems()) {
		if !on {
			t.Errorf("image: %q is greyed out on a writable store", l)
		}
	}
	for i, a := range f.c.changing {
		if a.Disabled() {
			t.Errorf("toolbar action %d is disabled on a writable store", i)
		}
	}
}
