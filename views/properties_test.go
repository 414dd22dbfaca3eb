package views

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"

	"github.com/wimconsole/wimconsole/app"
	"github.com/wimconsole/wimconsole/engine/remote"
	"github.com/wimconsole/wimconsole/engine/remote/remotetest"
	"github.com/wimconsole/wimconsole/engine/store"
	"github.com/wimconsole/wimconsole/engine/store/storetest"
)

// dialogBox returns the box of the dialog shown on top: its position and
// size in the window, once laid out again as the window's driver does
// after a minimum size changed (each frame, in the real window).
func dialogBox(t *testing.T, c *Console) (fyne.Position, fyne.Size) {
	t.Helper()
	pop, ok := c.Window.Canvas().Overlays().Top().(*widget.PopUp)
	if !ok {
		t.Fatalf("no dialog is shown: %q", overlayText(c))
	}
	pop.Refresh()
	return pop.Content.Position(), pop.Content.Size()
}

// TestPropertiesKeepOneSizeAcrossTabs: the Properties dialog of an image,
// a boot image and a group keeps one size and place whichever tab shows
// (a click aimed at the next tab landed elsewhere when it moved), lies
// inside the window above the status bar, and no tab asks for more room
// than the dialog gives it (the General tab's list drew past the dialog,
// over the status bar).
func TestPropertiesKeepOneSizeAcrossTabs(t *testing.T) {
	f := newFixture(t)
	c := f.c
	statusTop := fyne.CurrentApp().Driver().AbsolutePositionForObject(c.status).Y
	for _, tc := range []struct{ name, id string }{
		{"install image", app.ImageID(f.srv, f.refs[0])},
		{"boot image", app.ImageID(f.srv, f.refs[2])},
		{"group", app.GroupID(f.srv, "Lab")},
	} {
		f.do(t, tc.id, "Properties")
		var tabs []string
		var sizes []fyne.Size
		var places []fyne.Position
		check := func(tab string, content fyne.CanvasObject) {
			t.Helper()
			pos, size := dialogBox(t, c)
			tabs, sizes, places = append(tabs, tab), append(sizes, size), append(places, pos)
			if pos.X < 0 || pos.Y < 0 || pos.X+size.Width > c.Window.Canvas().Size().Width || pos.Y+size.Height > statusTop {
				t.Errorf("%s, tab %s: the dialog at %v, %v leaves the window or covers the status bar (at y=%v)", tc.name, tab, pos, size, statusTop)
			}
			if min, got := content.MinSize(), content.Size(); min.Width > got.Width+0.5 || min.Height > got.Height+0.5 {
				t.Errorf("%s, tab %s: the tab asks for %v but has %v: it draws past the dialog", tc.name, tab, min, got)
			}
		}
		switch w := c.current.(type) {
		case *imageProperties:
			for i, it := range w.tabs.Items {
				w.tabs.SelectIndex(i)
				check(it.Text, w.tabs)
			}
			// And back to the first, which was drawn before the others.
			w.tabs.SelectIndex(0)
			check(w.tabs.Items[0].Text, w.tabs)
		case *groupProperties:
			tabsW := w.tabs
			for i, it := range tabsW.Items {
				tabsW.SelectIndex(i)
				check(it.Text, tabsW)
			}
			tabsW.SelectIndex(0)
			check(tabsW.Items[0].Text, tabsW)
		default:
			t.Fatalf("%s: Properties opened %T", tc.name, c.current)
		}
		for i := range sizes {
			if sizes[i] != sizes[0] || places[i] != places[0] {
				t.Errorf("%s: the dialog is %v at %v on tab %s but %v at %v on tab %s",
					tc.name, sizes[0], places[0], tabs[0], sizes[i], places[i], tabs[i])
			}
		}
		press(t, c, fyne.KeyEscape)
	}
}

// openImageProperties opens the Properties of image r.
func openImageProperties(t *testing.T, f *fixture, r store.ImageRef) *imageProperties {
	t.Helper()
	f.do(t, app.ImageID(f.srv, r), "Properties")
	w, ok := f.c.current.(*imageProperties)
	if !ok {
		t.Fatalf("Properties of %s opened %T", r, f.c.current)
	}
	return w
}

// TestPropertiesEditImage: each setting of the General tab (name,
// description, display order, status), changed in the Properties of an
// install or a boot image and saved with OK, Apply or Enter, is what the
// store then holds; the others stay as they were.
func TestPropertiesEditImage(t *testing.T) {
	for _, tc := range []struct {
		name string
		ref  int // index in the fixture's refs: 0 Image A, 2 the boot image
		edit func(w *imageProperties)
		save string // "OK", "Apply" or "Enter"
		want func(im store.Image) app.ImageSettings
	}{
		{"name, OK", 0, func(w *imageProperties) { w.name.SetText("Windows 11 Lab") }, "OK",
			func(im store.Image) app.ImageSettings { s := app.SettingsOf(&im); s.Name = "Windows 11 Lab"; return s }},
		{"name, Enter", 0, func(w *imageProperties) { w.name.SetText("  Windows 11 Lab ") }, "Enter",
			func(im store.Image) app.ImageSettings { s := app.SettingsOf(&im); s.Name = "Windows 11 Lab"; return s }},
		{"description, Apply", 0, func(w *imageProperties) { w.description.SetText("Lab build, December") }, "Apply",
			func(im store.Image) app.ImageSettings {
				s := app.SettingsOf(&im)
				s.Description = "Lab build, December"
				return s
			}},
		{"display order, OK", 0, func(w *imageProperties) { w.order.SetText("7") }, "OK",
			func(im store.Image) app.ImageSettings { s := app.SettingsOf(&im); s.DisplayOrder = 7; return s }},
		{"offline, OK", 0, func(w *imageProperties) { w.online.SetChecked(false) }, "OK",
			func(im store.Image) app.ImageSettings { s := app.SettingsOf(&im); s.Enabled = false; return s }},
		{"offline, Enter on the check box", 0, func(w *imageProperties) {
			w.online.SetChecked(false)
			w.c.Window.Canvas().Focus(w.online)
		}, "Enter", func(im store.Image) app.ImageSettings { s := app.SettingsOf(&im); s.Enabled = false; return s }},
		{"all four, Enter", 0, func(w *imageProperties) {
			w.name.SetText("Renamed")
			w.description.SetText("New description")
			w.order.SetText("3")
			w.online.SetChecked(false)
		}, "Enter", func(store.Image) app.ImageSettings {
			return app.ImageSettings{Name: "Renamed", Description: "New description", DisplayOrder: 3}
		}},
		{"boot image name and description, OK", 2, func(w *imageProperties) {
			w.name.SetText("WinPE x64")
			w.description.SetText("Boot image for the lab")
		}, "OK", func(im store.Image) app.ImageSettings {
			s := app.SettingsOf(&im)
			s.Name, s.Description = "WinPE x64", "Boot image for the lab"
			return s
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			c, r := f.c, f.refs[tc.ref]
			before := f.image(t, r)
			w := openImageProperties(t, f, r)
			tc.edit(w)
			switch tc.save {
			case "Enter":
				press(t, c, fyne.KeyReturn) // in the focused field
			default:
				tapButton(t, c, tc.save)
			}
			after := f.image(t, r)
			if got, want := app.SettingsOf(&after), tc.want(before); got != want {
				t.Fatalf("the store holds %+v, want %+v; top dialog %q", got, want, overlayText(c))
			}
			open := overlays(c)
			if tc.save == "Apply" && open != 1 {
				t.Errorf("Apply closed the dialog (%d open)", open)
			}
			if tc.save != "Apply" && open != 0 {
				t.Errorf("%s left %d dialog(s) open: %q", tc.save, open, overlayText(c))
			}
			// The other image of the group is untouched.
			if other := f.image(t, f.refs[1]); other.Name != "Image B" || !other.Enabled {
				t.Errorf("the other image changed: %+v", app.SettingsOf(&other))
			}
		})
	}
}

// TestPropertiesApplyThenCancel: Apply saves and keeps the dialog; Cancel
// then closes it and keeps what Apply saved; OK with nothing changed since
// saves nothing more.
func TestPropertiesApplyThenCancel(t *testing.T) {
	f := newFixture(t)
	c, r := f.c, f.refs[0]
	w := openImageProperties(t, f, r)
	w.name.SetText("Applied")
	tapButton(t, c, "Apply")
	w.name.SetText("Typed after Apply")
	press(t, c, fyne.KeyEscape)
	if n := overlays(c); n != 0 {
		t.Fatalf("Esc left %d dialog(s) open: %q", n, overlayText(c))
	}
	if got := f.image(t, r).Name; got != "Applied" {
		t.Fatalf("after Apply then Esc the image is named %q, want Applied", got)
	}
	w = openImageProperties(t, f, r)
	if w.name.Text != "Applied" {
		t.Fatalf("Properties show the name %q after Apply", w.name.Text)
	}
	was := stamp(t, f, r)
	tapButton(t, c, "OK")
	if now := stamp(t, f, r); now != was || overlays(c) != 0 {
		t.Errorf("OK with nothing changed wrote the store (%s, was %s) or left %d dialog(s)", now, was, overlays(c))
	}
}

// stamp describes the files a change of image r writes: its image file and
// the store's catalog (size and time of the last change).
func stamp(t *testing.T, f *fixture, r store.ImageRef) string {
	t.Helper()
	var b strings.Builder
	for _, name := range []string{storeOf(f.srv).ImagePath(r), storeOf(f.srv).CatalogPath()} {
		st, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s %d %s; ", filepath.Base(name), st.Size(), st.ModTime().Format(time.RFC3339Nano))
	}
	return b.String()
}

// TestPropertiesEscChangesNothing: whatever was typed, Esc (in a field, on
// a button reached with Tab, or with none focused) and Cancel close the
// dialog and change nothing.
func TestPropertiesEscChangesNothing(t *testing.T) {
	for _, how := range []string{"Esc in the name field", "Esc on the check box", "Esc on OK", "Esc on Apply", "Esc", "Cancel"} {
		t.Run(how, func(t *testing.T) {
			f := newFixture(t)
			c, r := f.c, f.refs[0]
			before, was := f.image(t, r), stamp(t, f, r)
			w := openImageProperties(t, f, r)
			w.name.SetText("Not saved")
			w.description.SetText("Not saved either")
			w.order.SetText("99")
			w.online.SetChecked(false)
			switch how {
			case "Esc":
				c.Window.Canvas().Unfocus()
				press(t, c, fyne.KeyEscape)
			case "Esc in the name field":
				if !focused(c, w.name) {
					t.Fatalf("the name field does not have the focus: %T", c.Window.Canvas().Focused())
				}
				press(t, c, fyne.KeyEscape)
			case "Esc on the check box":
				c.Window.Canvas().Focus(w.online)
				press(t, c, fyne.KeyEscape)
			case "Esc on OK":
				tabTo(t, c, w.frame.ok, "OK")
				press(t, c, fyne.KeyEscape)
			case "Esc on Apply":
				tabTo(t, c, w.frame.apply, "Apply")
				press(t, c, fyne.KeyEscape)
			default:
				tapButton(t, c, "Cancel")
			}
			if n := overlays(c); n != 0 {
				t.Fatalf("%s left %d dialog(s) open: %q", how, n, overlayText(c))
			}
			after := f.image(t, r)
			if app.SettingsOf(&after) != app.SettingsOf(&before) {
				t.Fatalf("%s changed the image: %+v, was %+v", how, app.SettingsOf(&after), app.SettingsOf(&before))
			}
			if now := stamp(t, f, r); now != was {
				t.Errorf("%s wrote the store: %s, was %s", how, now, was)
			}
		})
	}
	// The group's Properties too.
	f := newFixture(t)
	f.do(t, app.GroupID(f.srv, "Lab"), "Properties")
	g := f.c.current.(*groupProperties)
	g.name.SetText("Elsewhere")
	press(t, f.c, fyne.KeyEscape)
	if _, err := os.Stat(storeOf(f.srv).GroupDir("Lab")); err != nil || overlays(f.c) != 0 {
		t.Fatalf("Esc in the group's Properties: group Lab %v, %d dialog(s) open", err, overlays(f.c))
	}
	if _, err := os.Stat(storeOf(f.srv).GroupDir("Elsewhere")); !os.IsNotExist(err) {
		t.Fatalf("Esc in the group's Properties renamed the group (%v)", err)
	}
}

// TestPropertiesRefusedEdit: a change the store refuses (a name another
// image of the group has) or a value that is not one (a display order
// that is not a number, an empty name) is explained in a dialog, changes
// nothing, not even the other settings changed with it, and leaves the
// Properties open with what was typed.
func TestPropertiesRefusedEdit(t *testing.T) {
	for _, tc := range []struct {
		name        string
		setName     string
		setOrder    string
		wantMessage []string
	}{
		{"name of the other image", "image b", "5", []string{"Properties of Image A failed", `already named "image b"`, "Nothing was changed: correct the setting"}},
		{"order not a number", "Fine name", "first", []string{"display order \"first\" is not a whole number", "type 0"}},
		{"negative order", "Fine name", "-2", []string{"display order \"-2\""}},
		{"empty name", "   ", "5", []string{"image name cannot be empty", "type the name"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			c, r := f.c, f.refs[0]
			before := f.image(t, r)
			w := openImageProperties(t, f, r)
			w.name.SetText(tc.setName)
			w.order.SetText(tc.setOrder)
			w.online.SetChecked(false)
			tapButton(t, c, "OK")
			msg := overlayText(c)
			for _, want := range tc.wantMessage {
				if !strings.Contains(msg, want) {
					t.Errorf("the error does not say %q: %q", want, msg)
				}
			}
			after := f.image(t, r)
			if app.SettingsOf(&after) != app.SettingsOf(&before) {
				t.Fatalf("a refused change changed the image: %+v, was %+v", app.SettingsOf(&after), app.SettingsOf(&before))
			}
			// Closing the error shows the Properties again, as typed.
			press(t, c, fyne.KeyEscape)
			if n := overlays(c); n != 1 || c.current != w || w.name.Text != tc.setName {
				t.Fatalf("after the error: %d dialog(s) open, name field %q", n, w.name.Text)
			}
			if w.frame.ok.Disabled() {
				t.Error("OK stays greyed out after a refused change")
			}
		})
	}
}

// TestPropertiesRenameGroup: the group's name typed in its Properties and
// confirmed with Enter renames the group (its folder and images move with
// it) and selects it; a name another group has is refused and changes
// nothing.
func TestPropertiesRenameGroup(t *testing.T) {
	f := newFixture(t)
	c := f.c
	if err := storeOf(f.srv).AddGroup("Prod"); err != nil {
		t.Fatal(err)
	}
	c.Refresh()
	c.settle()

	f.do(t, app.GroupID(f.srv, "Lab"), "Properties")
	g := c.current.(*groupProperties)
	g.name.SetText("Prod")
	tapButton(t, c, "OK")
	if txt := overlayText(c); !strings.Contains(txt, "Rename group Lab failed") {
		t.Fatalf("renaming Lab to an existing group's name: top dialog %q", txt)
	}
	if _, err := os.Stat(storeOf(f.srv).GroupDir("Lab")); err != nil {
		t.Fatalf("a refused rename moved group Lab: %v", err)
	}
	press(t, c, fyne.KeyEscape) // the error
	press(t, c, fyne.KeyEscape) // the Properties
	if n := overlays(c); n != 0 {
		t.Fatalf("%d dialog(s) open: %q", n, overlayText(c))
	}

	f.do(t, app.GroupID(f.srv, "Lab"), "Properties")
	g = c.current.(*groupProperties)
	if !focused(c, g.name) {
		t.Fatalf("the group name does not have the focus: %T", c.Window.Canvas().Focused())
	}
	g.name.SetText("Lab 2026")
	press(t, c, fyne.KeyReturn)
	if n := overlays(c); n != 0 {
		t.Fatalf("Enter left %d dialog(s) open: %q", n, overlayText(c))
	}
	ims, err := storeOf(f.srv).ListImages(context.Background(), store.ListOptions{Group: "Lab 2026", Type: store.TypeInstall})
	if err != nil || len(ims) != 2 {
		t.Fatalf("group Lab 2026 holds %d images (%v), want 2", len(ims), err)
	}
	if _, err := os.Stat(storeOf(f.srv).GroupDir("Lab")); !os.IsNotExist(err) {
		t.Fatalf("group Lab is still there (%v)", err)
	}
	if c.Selected() != app.GroupID(f.srv, "Lab 2026") {
		t.Errorf("selected %q after the rename", c.Selected())
	}
}

// TestPropertiesRemoteOffline: saving the Properties of an image of a
// server on the network that has gone away says that the server cannot be
// reached, and changes nothing on it once it is back.
func TestPropertiesRemoteOffline(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	c := f.c
	st, err := store.Open(filepath.Join(t.TempDir(), "RemoteInstall"))
	if err != nil {
		t.Fatal(err)
	}
	refs, err := st.AddImage(ctx, f.src, store.AddOptions{Group: "Deploy"})
	if err != nil {
		t.Fatal(err)
	}
	token, _, err := remote.OpenTokens(st.Root()).Create(remote.RoleAdmin, nil, "console")
	if err != nil {
		t.Fatal(err)
	}
	addr, stop := remotetest.Serve(t, st, "127.0.0.1:0")
	cert, err := remote.LoadOrCreateCert(st.Root())
	if err != nil {
		t.Fatal(err)
	}
	srv, err := app.NewRemoteServer(app.RemoteServer{URL: "https://" + addr, Fingerprint: remote.CertFingerprint(cert), Token: token})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.model.AddServer(srv); err != nil {
		t.Fatal(err)
	}
	c.redraw()
	before, err := st.GetImage(ctx, refs[0])
	if err != nil {
		t.Fatal(err)
	}
	f.do(t, app.ImageID(srv, refs[0]), "Properties")
	w, ok := c.current.(*imageProperties)
	if !ok {
		t.Fatalf("Properties of the remote image opened %T: %q", c.current, overlayText(c))
	}
	w.name.SetText("Renamed while offline")
	w.online.SetChecked(false)
	stop()
	tapButton(t, c, "OK")
	msg := overlayText(c)
	for _, want := range []string{"Properties of Image A failed", addr + " cannot be reached", "nothing was changed", "wimconsole serve"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the error does not say %q: %q", want, msg)
		}
	}
	remotetest.Serve(t, st, addr)
	after, err := st.GetImage(ctx, refs[0])
	if err != nil {
		t.Fatal(err)
	}
	if app.SettingsOf(&after) != app.SettingsOf(&before) {
		t.Fatalf("the server's image changed: %+v, was %+v", app.SettingsOf(&after), app.SettingsOf(&before))
	}
}

// TestPropertiesReadOnly: on a read-only store the settings are shown
// greyed out and Apply is too; a change that reaches the store anyway is
// refused with the store's reason and changes nothing.
func TestPropertiesReadOnly(t *testing.T) {
	dir, seal := storetest.ReadOnlyMount(t)
	root := filepath.Join(dir, "RemoteInstall")
	s, err := store.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	refs, err := s.AddImage(context.Background(), makeWIM(t, "A", "B"), store.AddOptions{Group: "Lab"})
	if err != nil {
		t.Fatal(err)
	}
	seal()
	c, srv := newTestConsole(t, root)
	c.Select(app.ImageID(srv, refs[0]))
	c.showProperties()
	c.settle()
	w, ok := c.current.(*imageProperties)
	if !ok {
		t.Fatalf("Properties opened %T", c.current)
	}
	for name, d := range map[string]fyne.Disableable{"Name": w.name, "Description": w.description,
		"Display order": w.order, "Status": w.online, "Apply": w.frame.apply} {
		if !d.Disabled() {
			t.Errorf("%s is enabled on a read-only store", name)
		}
	}
	w.name.SetText("Renamed")
	w.save(false)
	c.settle()
	msg := overlayText(c)
	for _, want := range []string{"read-only", "Nothing was changed: this store can only be read"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the error does not say %q: %q", want, msg)
		}
	}
	if im, err := storeOf(srv).GetImage(context.Background(), refs[0]); err != nil || im.Name != "Image A" {
		t.Fatalf("the image after a refused change: %q %v", im.Name, err)
	}
	press(t, c, fyne.KeyEscape) // the error
	w.name.SetText("Image A")
	tapButton(t, c, "OK") // nothing to save: OK closes
	if n := overlays(c); n != 0 {
		t.Fatalf("OK left %d dialog(s) open: %q", n, overlayText(c))
	}
	c.Select(app.GroupID(srv, "Lab"))
	c.showProperties()
	c.settle()
	if g, ok := c.current.(*groupProperties); !ok || !g.name.Disabled() {
		t.Errorf("the group's name can be edited on a read-only store (%T)", c.current)
	}
}
