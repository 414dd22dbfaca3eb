package views

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/test"

	"github.com/wimconsole/wimconsole/app"
	"github.com/wimconsole/wimconsole/engine/store"
	"github.com/wimconsole/wimconsole/engine/store/storetest"
)

// storeState describes everything of f's store a wizard could change: each
// image's reference, name and description, and each Res.rwm's size and
// time.
func storeState(t *testing.T, f *fixture) string {
	t.Helper()
	ims, err := storeOf(f.srv).ListImages(context.Background(), store.ListOptions{NoSpace: true})
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, im := range ims {
		lines = append(lines, fmt.Sprintf("%s %q %q %v", im.Ref, im.Name, im.Description, im.Enabled))
	}
	groups, _ := storeOf(f.srv).Groups()
	for _, g := range groups {
		if st, err := os.Stat(storeOf(f.srv).ResPath(g)); err == nil {
			lines = append(lines, fmt.Sprintf("%s %d %v", g, st.Size(), st.ModTime()))
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// Ctrl+N opens Add Image on its source page with the path box focused;
// the keyboard alone goes through it: type the path, Enter on each page,
// Enter on Finish adds the images.
func TestAddWizardKeyboardOnly(t *testing.T) {
	f := newFixture(t)
	c := f.c
	src := makeWIM(t, "K", "L")
	c.Select(app.GroupID(f.srv, "Lab"))
	pressShortcut(t, c, fyne.KeyN, fyne.KeyModifierShortcutDefault)
	w, ok := c.current.(*addWizard)
	if !ok {
		t.Fatalf("Ctrl+N opened %T: %q", c.current, overlayText(c))
	}
	if !focused(c, w.source) {
		t.Fatalf("the path box is not focused: %T", c.Window.Canvas().Focused())
	}
	// Ctrl+N again does not stack a second wizard.
	pressShortcut(t, c, fyne.KeyN, fyne.KeyModifierShortcutDefault)
	if n := overlays(c); n != 1 || c.current != w {
		t.Fatalf("Ctrl+N in the wizard: %d overlays", n)
	}
	test.Type(w.source, src)
	for page := 1; page <= 3; page++ {
		press(t, c, fyne.KeyReturn)
		if w.wiz.at != page {
			t.Fatalf("Enter went to page %d, want %d (problem %q)", w.wiz.at, page, w.wiz.problem.Text)
		}
	}
	if !strings.Contains(w.summary.Text, "Image K") || !strings.Contains(w.summary.Text, "Image L") {
		t.Fatalf("summary %q", w.summary.Text)
	}
	press(t, c, fyne.KeyReturn) // Finish
	ims, _ := storeOf(f.srv).ListImages(context.Background(), store.ListOptions{Group: "Lab"})
	if len(ims) != 4 || ims[2].Name != "Image K" || ims[3].Name != "Image L" {
		t.Fatalf("after Finish the group holds %d images (%s)", len(ims), overlayText(c))
	}
}

// Ctrl+N opens nothing while a dialog is shown, nor on a read-only store
// (the window runs a menu's shortcut even when its item is greyed out).
func TestCtrlNOnlyWhenAnImageCanBeAdded(t *testing.T) {
	f := newFixture(t)
	c := f.c
	f.do(t, app.ImageID(f.srv, f.refs[0]), "Properties")
	pressShortcut(t, c, fyne.KeyN, fyne.KeyModifierShortcutDefault)
	if _, ok := c.current.(*addWizard); ok || overlays(c) != 1 {
		t.Fatalf("Ctrl+N over Properties: %d overlays, current %T", overlays(c), c.current)
	}

	dir, seal := storetest.ReadOnlyMount(t)
	root := filepath.Join(dir, "RemoteInstall")
	if _, err := store.Open(root); err != nil {
		t.Fatal(err)
	}
	seal()
	ro, _ := newTestConsole(t, root)
	ro.settle()
	pressShortcut(t, ro, fyne.KeyN, fyne.KeyModifierShortcutDefault)
	if _, ok := ro.current.(*addWizard); ok || overlays(ro) != 0 {
		t.Fatalf("Ctrl+N on a read-only store: %d overlays, current %T", overlays(ro), ro.current)
	}
}

// openedWizard is a wizard a test opened; fill fills in what its page
// needs to go on.
type openedWizard struct {
	wiz  *wizard
	fill func()
}

// wizardCase is one of the console's wizards: the tree node and the action
// that open it, and open, which returns the wizard just opened.
type wizardCase struct {
	name, node, action string
	open               func() openedWizard
}

// wizardCases returns the console's four wizards as f's console opens
// them, with a source file to add or replace from, and dest, the file
// Export may write (it must not exist while the wizard is cancelled).
func wizardCases(t *testing.T, f *fixture) (cases []wizardCase, dest string) {
	t.Helper()
	c := f.c
	src := makeWIM(t, "A", "E")
	dest = filepath.Join(t.TempDir(), "out.wim")
	if err := f.srv.DeleteImage(context.Background(), f.refs[1]); err != nil {
		t.Fatal(err)
	}
	c.model.Refresh()
	c.redraw()
	image, group := app.ImageID(f.srv, f.refs[0]), app.GroupID(f.srv, "Lab")
	return []wizardCase{
		{"add", group, "Add Install Image…", func() openedWizard {
			w := c.current.(*addWizard)
			return openedWizard{w.wiz, func() {
				w.source.SetText(src)
				w.group.SetText("New")
			}}
		}},
		{"export", image, "Export Image…", func() openedWizard {
			w := c.current.(*exportWizard)
			return openedWizard{w.wiz, func() { w.dest.SetText(dest) }}
		}},
		{"replace", image, "Replace Image…", func() openedWizard {
			w := c.current.(*replaceWizard)
			return openedWizard{w.wiz, func() { w.src.SetText(src); w.force.SetChecked(true) }}
		}},
		{"regroup", group, "Regroup…", func() openedWizard {
			w := c.current.(*regroupWizard)
			return openedWizard{w.wiz, func() { w.into.SetText("Lab2") }}
		}},
	}, dest
}

// openWizardAt opens tc's wizard and goes on to its page page.
func openWizardAt(t *testing.T, f *fixture, tc wizardCase, page int) openedWizard {
	t.Helper()
	f.do(t, tc.node, tc.action)
	o := tc.open()
	for o.wiz.at < page {
		o.fill()
		from := o.wiz.at
		next(t, o.wiz)
		if o.wiz.at == from {
			t.Fatalf("page %d does not go on: %q", from, o.wiz.problem.Text)
		}
	}
	return o
}

// checkCancelled fails t unless wizard o closed and changed nothing: no
// job, the store as it was before, no file at dest.
func checkCancelled(t *testing.T, f *fixture, o openedWizard, before, dest, what string) {
	t.Helper()
	c := f.c
	if !o.wiz.closed || overlays(c) != 0 {
		t.Fatalf("%s: the wizard is still open (%d overlays: %q)", what, overlays(c), overlayText(c))
	}
	if n := len(c.jobs.Running()); n != 0 {
		t.Fatalf("%s: %d job(s) started", what, n)
	}
	if after := storeState(t, f); after != before {
		t.Fatalf("%s: the store changed:\n%s\nwas\n%s", what, after, before)
	}
	if _, err := os.Stat(dest); !os.IsNotExist(err) {
		t.Fatalf("%s: the destination was written (%v)", what, err)
	}
}

// tab moves the focus on as Tab does. A multi-line box keeps Tab (it types
// one); the focus is moved past it as the next field's click would.
func tab(t *testing.T, c *Console) {
	t.Helper()
	cv := c.Window.Canvas()
	if tb, ok := cv.Focused().(fyne.Tabbable); ok && tb.AcceptsTab() {
		cv.FocusNext()
		return
	}
	press(t, c, fyne.KeyTab)
}

// tabTo presses Tab until o has the focus.
func tabTo(t *testing.T, c *Console, o fyne.CanvasObject, name string) {
	t.Helper()
	for i := 0; !focused(c, o); i++ {
		if i == 40 {
			t.Fatalf("Tab does not reach %s (the focus stays on %T)", name, c.Window.Canvas().Focused())
		}
		tab(t, c)
	}
}

// focusName names the focused widget f in a test's message.
func focusName(f fyne.Focusable) string {
	if b, ok := f.(*dialogButton); ok {
		return b.Text
	}
	return fmt.Sprintf("%T", f)
}

// Esc (also typed in a text box) or Cancel at any page of any wizard closes
// it and changes nothing: no job, the store and the destination untouched.
func TestWizardsEscAtEachPageChangesNothing(t *testing.T) {
	f := newFixture(t)
	c := f.c
	cases, dest := wizardCases(t, f)
	for _, tc := range cases {
		for _, how := range []string{"Esc", "Esc in a text box", "Cancel"} {
			t.Run(tc.name+"/"+how, func(t *testing.T) {
				before := storeState(t, f)
				f.do(t, tc.node, tc.action)
				o := tc.open()
				for page := 0; page < len(o.wiz.pages); page++ {
					if page > 0 {
						o = openWizardAt(t, f, tc, page)
					}
					switch how {
					case "Esc":
						c.Window.Canvas().Unfocus()
						press(t, c, fyne.KeyEscape)
					case "Esc in a text box":
						e := firstEntry(c.Window.Canvas().Overlays().Top())
						if e == nil { // a page without one
							o.wiz.Cancel()
							break
						}
						c.Window.Canvas().Focus(e)
						press(t, c, fyne.KeyEscape)
					case "Cancel":
						tapButton(t, c, "Cancel")
					}
					checkCancelled(t, f, o, before, dest, fmt.Sprintf("page %d", page))
				}
			})
		}
	}
}

// Esc with any of a wizard's buttons focused with Tab (Browse…, Back,
// Next, Cancel, a list's arrow: Fyne's plain button kept Esc from the
// wizard) cancels the wizard at any page and changes nothing.
func TestWizardsEscOnEachFocusedButton(t *testing.T) {
	f := newFixture(t)
	c := f.c
	cases, dest := wizardCases(t, f)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := storeState(t, f)
			pages := 1
			for page := 0; page < pages; page++ {
				// Tab once round the page, noting where its buttons come.
				o := openWizardAt(t, f, tc, page)
				pages = len(o.wiz.pages)
				var seen []fyne.Focusable
				buttons := map[int]string{}
				reached := map[string]bool{}
			round:
				for tabs := 1; tabs <= 40; tabs++ {
					tab(t, c)
					fo := c.Window.Canvas().Focused()
					for _, s := range seen {
						if s == fo {
							break round
						}
					}
					seen = append(seen, fo)
					if _, ok := fo.(*dialogButton); ok {
						buttons[tabs] = focusName(fo)
						reached[focusName(fo)] = true
					}
				}
				o.wiz.Cancel()
				want := []string{"Cancel"}
				if page > 0 {
					want = append(want, "Back")
				}
				if page == 0 && (tc.name == "add" || tc.name == "replace") || page == 1 && tc.name == "export" {
					want = append(want, "Browse…") // the source or destination page
				}
				for _, w := range want {
					if !reached[w] {
						t.Errorf("page %d: Tab did not reach %s (reached %v)", page, w, reached)
					}
				}
				for tabs, name := range buttons {
					o := openWizardAt(t, f, tc, page)
					for i := 0; i < tabs; i++ {
						tab(t, c)
					}
					if got := focusName(c.Window.Canvas().Focused()); got != name {
						t.Fatalf("page %d: Tab %d focused %s, not %s as before", page, tabs, got, name)
					}
					press(t, c, fyne.KeyEscape)
					checkCancelled(t, f, o, before, dest, fmt.Sprintf("page %d, Esc on %s", page, name))
				}
			}
		})
	}
}

// Enter on a button focused with Tab presses that button, as in Windows
// dialogs, not the wizard's default Next: Back goes back, Cancel cancels,
// Browse… browses; Space still presses it too.
func TestWizardEnterPressesTheFocusedButton(t *testing.T) {
	f := newFixture(t)
	c := f.c
	cases, dest := wizardCases(t, f)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := storeState(t, f)
			o := openWizardAt(t, f, tc, 1)
			tabTo(t, c, o.wiz.back, "Back")
			press(t, c, fyne.KeyReturn)
			if o.wiz.at != 0 || o.wiz.closed || overlays(c) != 1 {
				t.Fatalf("Enter on Back: page %d, closed %v, %d overlays", o.wiz.at, o.wiz.closed, overlays(c))
			}
			tabTo(t, c, o.wiz.cancel, "Cancel")
			press(t, c, fyne.KeyReturn)
			checkCancelled(t, f, o, before, dest, "Enter on Cancel")
		})
	}
	// Add Image's Browse…: Enter and Space open the file dialog, whose
	// choice fills the path box; the wizard stays on its page.
	f.dlg.files = []string{"/chosen/install.wim"}
	for _, key := range []fyne.KeyName{fyne.KeyReturn, fyne.KeySpace} {
		o := openWizardAt(t, f, cases[0], 0)
		w := c.current.(*addWizard)
		var browse fyne.CanvasObject
		for i := 0; browse == nil; i++ {
			if i == 40 {
				t.Fatal("Tab does not reach Browse…")
			}
			tab(t, c)
			if b, ok := c.Window.Canvas().Focused().(*dialogButton); ok && b.Text == "Browse…" {
				browse = b
			}
		}
		opens := f.dlg.opens
		press(t, c, key)
		if f.dlg.opens != opens+1 || w.source.Text != "/chosen/install.wim" || o.wiz.at != 0 || o.wiz.closed {
			t.Fatalf("%s on Browse…: %d file dialog(s) opened, path %q, page %d, closed %v",
				key, f.dlg.opens-opens, w.source.Text, o.wiz.at, o.wiz.closed)
		}
		o.wiz.Cancel()
	}
}

// Esc typed in each wizard's text boxes cancels the wizard (the text box
// does not swallow it); Enter in a multi-line box adds a line and stays.
func TestWizardTextBoxKeys(t *testing.T) {
	f := newFixture(t)
	c := f.c
	f.do(t, app.ImageID(f.srv, f.refs[0]), "Export Image…")
	w := c.current.(*exportWizard)
	next(t, w.wiz)
	if !focused(c, w.dest) {
		t.Fatalf("destination box not focused: %T", c.Window.Canvas().Focused())
	}
	c.Window.Canvas().Focus(w.desc)
	w.desc.SetText("")
	test.Type(w.desc, "one")
	press(t, c, fyne.KeyReturn)
	test.Type(w.desc, "two")
	if w.wiz.at != 1 || w.wiz.closed || w.desc.Text != "one\ntwo" {
		t.Fatalf("Enter in the description: page %d, closed %v, text %q", w.wiz.at, w.wiz.closed, w.desc.Text)
	}
	c.Window.Canvas().Focus(w.name)
	press(t, c, fyne.KeyEscape)
	if !w.wiz.closed || overlays(c) != 0 {
		t.Fatalf("Esc in the name box left the wizard open: %q", overlayText(c))
	}
}

// A name or file name the group has already is flagged on the names page,
// with Next disabled until it is fixed.
func TestAddWizardFlagsDuplicateNames(t *testing.T) {
	f := newFixture(t)
	src := makeWIM(t, "A", "C")
	f.do(t, app.GroupID(f.srv, "Lab"), "Add Install Image…")
	w := f.c.current.(*addWizard)
	w.source.SetText(src)
	next(t, w.wiz)
	// Both images: Image A is already in Lab.
	next(t, w.wiz)
	if w.wiz.at != 2 {
		t.Fatalf("on page %d", w.wiz.at)
	}
	blocked := func(what, want string) {
		t.Helper()
		if !strings.Contains(w.wiz.problem.Text, want) || !w.wiz.next.Disabled() {
			t.Fatalf("%s: problem %q (want %q), Next disabled %v", what, w.wiz.problem.Text, want, w.wiz.next.Disabled())
		}
		next(t, w.wiz)
		if w.wiz.at != 2 {
			t.Fatalf("%s: Next left the page", what)
		}
	}
	clear := func(what string) {
		t.Helper()
		if w.wiz.problem.Text != "" || w.wiz.next.Disabled() {
			t.Fatalf("%s: problem %q, Next disabled %v", what, w.wiz.problem.Text, w.wiz.next.Disabled())
		}
	}
	blocked("two images, one named as in the group", `"Image A" is already the name of Lab/install`)
	if !strings.Contains(w.severalText.Text, "⚠") {
		t.Fatalf("the clashing image is not marked: %q", w.severalText.Text)
	}
	// Another group: no clash.
	w.group.SetText("Fresh")
	clear("into a new group")
	w.group.SetText("Lab")
	// Image A alone: renaming it fixes it; a file name taken is flagged.
	w.wiz.Back()
	w.checks[1].SetChecked(false)
	next(t, w.wiz)
	blocked("one image named as in the group", `already has an image named "Image A"`)
	w.name.SetText("image a") // names differ in more than case
	blocked("a name differing in case", "already has an image named")
	w.name.SetText("Image A2")
	clear("renamed")
	w.file.SetText("install")
	blocked("a file name taken", "already has an image file install.wim")
	w.file.SetText("install-a2")
	clear("file renamed")
	next(t, w.wiz)
	next(t, w.wiz)
	if im := f.image(t, store.ImageRef{Group: "Lab", File: "install-a2"}); im.Name != "Image A2" {
		t.Fatalf("added %+v", im)
	}
}

// Back keeps what was entered on every page of every wizard.
func TestWizardBackKeepsValues(t *testing.T) {
	f := newFixture(t)
	c := f.c
	src := makeWIM(t, "A", "F")
	f.do(t, app.GroupID(f.srv, "Lab"), "Add Install Image…")
	a := c.current.(*addWizard)
	a.source.SetText(src)
	next(t, a.wiz)
	a.checks[0].SetChecked(false)
	next(t, a.wiz)
	a.group.SetText("Typed")
	a.name.SetText("Custom")
	a.desc.SetText("line one\nline two")
	a.file.SetText("custom-file")
	a.wiz.Back()
	a.wiz.Back()
	if a.source.Text != src {
		t.Fatalf("source after Back: %q", a.source.Text)
	}
	next(t, a.wiz)
	if a.checks[0].Checked || !a.checks[1].Checked {
		t.Fatal("ticks not kept")
	}
	next(t, a.wiz)
	if a.group.Text != "Typed" || a.name.Text != "Custom" || a.desc.Text != "line one\nline two" || a.file.Text != "custom-file" {
		t.Fatalf("names page after Back, Next: %q %q %q %q", a.group.Text, a.name.Text, a.desc.Text, a.file.Text)
	}
	a.wiz.Cancel()

	f.do(t, app.ImageID(f.srv, f.refs[0]), "Export Image…")
	e := c.current.(*exportWizard)
	next(t, e.wiz)
	dest := filepath.Join(t.TempDir(), "x.wim")
	e.dest.SetText(dest)
	e.name.SetText("Exported")
	next(t, e.wiz)
	e.wiz.Back()
	e.wiz.Back()
	next(t, e.wiz)
	if e.dest.Text != dest || e.name.Text != "Exported" {
		t.Fatalf("export after Back: %q %q", e.dest.Text, e.name.Text)
	}
	e.wiz.Cancel()

	f.do(t, app.ImageID(f.srv, f.refs[0]), "Replace Image…")
	r := c.current.(*replaceWizard)
	r.src.SetText(src)
	next(t, r.wiz)
	r.index.SetSelectedIndex(1)
	next(t, r.wiz)
	r.wait.SetText("3")
	r.keepName.SetChecked(false)
	r.wiz.Back()
	r.wiz.Back()
	next(t, r.wiz)
	if r.index.SelectedIndex() != 1 {
		t.Fatalf("source image after Back: %d", r.index.SelectedIndex())
	}
	next(t, r.wiz)
	if r.wait.Text != "3" || r.keepName.Checked {
		t.Fatalf("options after Back: %q %v", r.wait.Text, r.keepName.Checked)
	}
	r.wiz.Cancel()

	f.do(t, app.GroupID(f.srv, "Lab"), "Regroup…")
	g := c.current.(*regroupWizard)
	next(t, g.wiz)
	g.into.SetText("Elsewhere")
	g.verify.SetChecked(true)
	g.wiz.Back()
	next(t, g.wiz)
	if g.into.Text != "Elsewhere" || !g.verify.Checked {
		t.Fatalf("regroup options after Back: %q %v", g.into.Text, g.verify.Checked)
	}
	// A new name another group has is flagged before Finish.
	f.srv.AddGroup("Taken")
	c.model.Refresh()
	g.into.SetText("Taken")
	if !strings.Contains(g.wiz.problem.Text, "exists already") || !g.wiz.next.Disabled() {
		t.Fatalf("regroup into an existing group: %q", g.wiz.problem.Text)
	}
	g.wiz.Cancel()
}

// Every image of a many-image WIM shows in the images page's list without
// scrolling.
func TestAddWizardListsEveryImage(t *testing.T) {
	f := newFixture(t)
	src := makeWIM(t, "1", "2", "3", "4", "5", "6", "7", "8")
	f.c.addImage([]string{src}, "Lab")
	f.c.settle()
	w := f.c.current.(*addWizard)
	if w.wiz.at != 1 || len(w.checks) != 8 {
		t.Fatalf("page %d with %d images", w.wiz.at, len(w.checks))
	}
	f.c.Window.Canvas().Refresh(f.c.Window.Canvas().Overlays().Top())
	t.Logf("list %.0f high, its rows need %.0f", w.scroll.Size().Height, w.list.MinSize().Height)
	if got, need := w.scroll.Size().Height, w.list.MinSize().Height; got < need {
		t.Fatalf("the list is %.0f high, its 8 images need %.0f", got, need)
	}
	shown := strings.Join(labels(f.c.Window.Canvas().Overlays().Top()), "\n")
	for _, want := range []string{"Edition", "Size", "Image 8"} {
		if !strings.Contains(shown, want) && !strings.Contains(w.checks[7].Text, want) {
			t.Errorf("the images page does not show %q", want)
		}
	}
}

// Files dropped while the Add wizard is open go to it: WIM files become
// its source (their images listed); other files are reported in a dialog
// on top of it, which stays open with what was entered.
func TestAddWizardTakesDrops(t *testing.T) {
	f := newFixture(t)
	c := f.c
	f.do(t, app.GroupID(f.srv, "Lab"), "Add Install Image…")
	w := c.current.(*addWizard)
	src := makeWIM(t, "G", "H", "I")
	c.dropped(fyne.NewPos(0, 0), []fyne.URI{storage.NewFileURI(src)})
	c.settle()
	if c.current != w || w.wiz.at != 1 || len(w.checks) != 3 || overlays(c) != 1 {
		t.Fatalf("drop on the wizard: current %T, page %d, %d images, %d overlays", c.current, w.wiz.at, len(w.checks), overlays(c))
	}
	w.checks[2].SetChecked(false)
	c.dropped(fyne.NewPos(0, 0), []fyne.URI{storage.NewFileURI("/tmp/readme.txt")})
	c.settle()
	if txt := overlayText(c); overlays(c) != 2 || !strings.Contains(txt, "readme.txt") {
		t.Fatalf("non-WIM drop on the wizard: %d overlays, top %q", overlays(c), txt)
	}
	press(t, c, fyne.KeyEscape) // closes the message only
	if w.wiz.closed || overlays(c) != 1 || w.checks[2].Checked {
		t.Fatalf("after the message: closed %v, %d overlays", w.wiz.closed, overlays(c))
	}
}

// firstEntry returns the first text box shown in o.
func firstEntry(o fyne.CanvasObject) *dialogEntry {
	var found *dialogEntry
	var walk func(fyne.CanvasObject)
	walk = func(o fyne.CanvasObject) {
		if o == nil || !o.Visible() || found != nil {
			return
		}
		switch v := o.(type) {
		case *dialogEntry:
			if !v.Disabled() {
				found = v
			}
		case *fyne.Container:
			for _, x := range v.Objects {
				walk(x)
			}
		case fyne.Widget:
			for _, x := range test.WidgetRenderer(v).Objects() {
				walk(x)
			}
		}
	}
	walk(o)
	return found
}

// Appending to a WIM that has an image of the export's name already is
// flagged on the destination page, with Next disabled until the name is
// changed; a new file, an overwrite or a free name go on.
func TestExportWizardFlagsNameInAppendedFile(t *testing.T) {
	f := newFixture(t)
	lab := makeWIM(t, "A", "Z") // "Image A", as the image exported
	notWIM := filepath.Join(t.TempDir(), "notes.wim")
	if err := os.WriteFile(notWIM, []byte("not a WIM"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, dest, mode, imageName string
		want                        string // the problem; "" goes on
	}{
		{"append, name taken", lab, exportAppend, "Image A", lab + ` already has an image named "Image A": type another name.`},
		{"append, other name taken", lab, exportAppend, "Image Z", lab + ` already has an image named "Image Z"`},
		{"append, names differ in case", lab, exportAppend, "image a", ""},
		{"append, free name", lab, exportAppend, "Image B", ""},
		{"overwrite, same name", lab, exportOverwrite, "Image A", ""},
		{"new file", filepath.Join(t.TempDir(), "new.wim"), exportNew, "Image A", ""},
		{"append to a file that is not a WIM", notWIM, exportAppend, "Image A", "Cannot read the images of the file to append to: " + notWIM},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.do(t, app.ImageID(f.srv, f.refs[0]), "Export Image…")
			w := f.c.current.(*exportWizard)
			defer w.wiz.Cancel()
			next(t, w.wiz)
			w.dest.SetText(tc.dest)
			w.mode.SetSelected(tc.mode)
			w.name.SetText(tc.imageName)
			next(t, w.wiz)
			if tc.want == "" {
				if w.wiz.at != 2 {
					t.Fatalf("stayed on page %d: %q", w.wiz.at, w.wiz.problem.Text)
				}
				return
			}
			if w.wiz.at != 1 || !strings.Contains(w.wiz.problem.Text, tc.want) || !w.wiz.next.Disabled() {
				t.Fatalf("page %d, problem %q (want %q), Next disabled %v", w.wiz.at, w.wiz.problem.Text, tc.want, w.wiz.next.Disabled())
			}
			next(t, w.wiz)
			if w.wiz.at != 1 {
				t.Fatal("Next left the page")
			}
		})
	}

	// Fixed by another name, flagged again at once by the taken name, and
	// the export goes through once fixed.
	before, err := os.ReadFile(lab)
	if err != nil {
		t.Fatal(err)
	}
	f.do(t, app.ImageID(f.srv, f.refs[0]), "Export Image…")
	w := f.c.current.(*exportWizard)
	next(t, w.wiz)
	w.dest.SetText(lab)
	w.mode.SetSelected(exportAppend)
	next(t, w.wiz)
	if !strings.Contains(w.wiz.problem.Text, `already has an image named "Image A"`) {
		t.Fatalf("problem %q", w.wiz.problem.Text)
	}
	w.name.SetText("Image B")
	if w.wiz.problem.Text != "" || w.wiz.next.Disabled() {
		t.Fatalf("renamed: problem %q, Next disabled %v", w.wiz.problem.Text, w.wiz.next.Disabled())
	}
	w.name.SetText("Image Z")
	if !strings.Contains(w.wiz.problem.Text, `already has an image named "Image Z"`) || !w.wiz.next.Disabled() {
		t.Fatalf("a taken name typed: problem %q, Next disabled %v", w.wiz.problem.Text, w.wiz.next.Disabled())
	}
	w.name.SetText("Image B")
	next(t, w.wiz)
	if after, _ := os.ReadFile(lab); string(after) != string(before) {
		t.Fatal("the file changed before Finish")
	}
	next(t, w.wiz)
	if !w.wiz.closed {
		t.Fatalf("Finish: %q", w.wiz.problem.Text)
	}
	names, err := wimImageNames(lab)
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 3 || !names["Image B"] {
		t.Fatalf("images after the append: %v (overlays: %q)", names, overlayText(f.c))
	}
}

// Every page of the Export wizard fits the wizard's content area, in the
// fixture's window and in the 1100x700 one of the real-window tests.
func TestExportWizardPagesFit(t *testing.T) {
	f := newFixture(t)
	for _, size := range []fyne.Size{fyne.NewSize(1000, 700), fyne.NewSize(1100, 700)} {
		f.c.Window.Resize(size)
		f.do(t, app.ImageID(f.srv, f.refs[0]), "Export Image…")
		w := f.c.current.(*exportWizard)
		for i, p := range w.wiz.pages {
			f.c.Window.Canvas().Refresh(f.c.Window.Canvas().Overlays().Top())
			got, need := p.content.Size(), p.content.MinSize()
			t.Logf("%v: page %q is %.0fx%.0f, needs %.0fx%.0f", size, p.title, got.Width, got.Height, need.Width, need.Height)
			if got.Height < need.Height || got.Width < need.Width {
				t.Errorf("%v: page %q is %.0fx%.0f, its content needs %.0fx%.0f", size, p.title, got.Width, got.Height, need.Width, need.Height)
			}
			if i < len(w.wiz.pages)-1 {
				w.dest.SetText(filepath.Join(t.TempDir(), "fit.wim"))
				next(t, w.wiz)
			}
		}
		w.wiz.Cancel()
	}
}

// TestExportWizardSplitSet: "New split set for a FAT32 USB stick" writes
// DEST.swm (and more parts for a bigger image) that read back as the image,
// refuses a set that exists, and leaves no working file behind.
func TestExportWizardSplitSet(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	dest := filepath.Join(dir, "install.wim")
	f.do(t, app.ImageID(f.srv, f.refs[0]), "Export Image…")
	w := f.c.current.(*exportWizard)
	next(t, w.wiz)
	w.dest.SetText(dest)
	w.mode.SetSelected(exportSplit)
	next(t, w.wiz)
	if w.wiz.at != 2 {
		t.Fatalf("stayed on the destination page: %q", w.wiz.problem.Text)
	}
	if !strings.Contains(w.summary.Text, filepath.Join(dir, "install.swm")) || !strings.Contains(w.summary.Text, "FAT32") {
		t.Errorf("summary %q", w.summary.Text)
	}
	next(t, w.wiz) // Finish
	f.c.jobs.Wait()
	f.c.settle()
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != "install.swm" {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Fatalf("the folder holds %q, want install.swm alone", names)
	}
	wm, err := app.OpenWIM(filepath.Join(dir, "install.swm"), nil)
	if err != nil {
		t.Fatal(err)
	}
	h := wm.Header()
	if h.Flags&app.FlagSpanned == 0 || h.Part != 1 || h.TotalParts != 1 || wm.XML().Image(1).Name != f.image(t, f.refs[0]).Name {
		t.Errorf("part 1: flags %#x, part %d/%d", h.Flags, h.Part, h.TotalParts)
	}
	wm.Close()

	// The set exists now: flagged on the destination page.
	f.do(t, app.ImageID(f.srv, f.refs[0]), "Export Image…")
	w = f.c.current.(*exportWizard)
	defer w.wiz.Cancel()
	next(t, w.wiz)
	w.dest.SetText(dest)
	w.mode.SetSelected(exportSplit)
	next(t, w.wiz)
	if w.wiz.at != 1 || !strings.Contains(w.wiz.problem.Text, "install.swm exists") {
		t.Errorf("page %d, problem %q", w.wiz.at, w.wiz.problem.Text)
	}
}
