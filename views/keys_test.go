package views

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/widget"

	"github.com/wimconsole/wimconsole/app"
	"github.com/wimconsole/wimconsole/engine/progress"
	"github.com/wimconsole/wimconsole/engine/store"
)

// press types key name as the window's driver does: Tab moves the focus
// unless the focused widget takes it; other keys go to the focused widget
// (in the dialog on top, if one is shown), or to the canvas's handler when
// none is focused. It then waits for the work the key started.
func press(t *testing.T, c *Console, name fyne.KeyName) {
	t.Helper()
	pressNoWait(t, c, name)
	c.settle()
}

// pressNoWait types key name as press does, without waiting for the work
// it started (while a job runs, which settle would wait for).
func pressNoWait(t *testing.T, c *Console, name fyne.KeyName) {
	t.Helper()
	cv := c.Window.Canvas()
	if name == fyne.KeyTab {
		if tb, ok := cv.Focused().(fyne.Tabbable); !ok || !tb.AcceptsTab() {
			cv.FocusNext()
			return
		}
	}
	ev := &fyne.KeyEvent{Name: name}
	if f := cv.Focused(); f != nil {
		f.TypedKey(ev)
	} else if h := cv.OnTypedKey(); h != nil {
		h(ev)
	}
}

// pressShortcut types a key with modifiers as the driver does: the main
// menu's shortcuts come first, whatever is shown.
func pressShortcut(t *testing.T, c *Console, name fyne.KeyName, mod fyne.KeyModifier) {
	t.Helper()
	pressShortcutNoWait(t, c, name, mod)
	c.settle()
}

func pressShortcutNoWait(t *testing.T, c *Console, name fyne.KeyName, mod fyne.KeyModifier) {
	t.Helper()
	want := (&desktop.CustomShortcut{KeyName: name, Modifier: mod}).ShortcutName()
	for _, m := range c.Window.MainMenu().Items {
		for _, it := range m.Items {
			if it.Shortcut != nil && it.Shortcut.ShortcutName() == want && it.Action != nil {
				it.Action()
				return
			}
		}
	}
	if sc, ok := c.Window.Canvas().Focused().(fyne.Shortcutable); ok {
		sc.TypedShortcut(&desktop.CustomShortcut{KeyName: name, Modifier: mod})
	} else {
		c.Window.Canvas().(fyne.Shortcutable).TypedShortcut(&desktop.CustomShortcut{KeyName: name, Modifier: mod})
	}
}

// panes returns what Tab moves between, as the window holds them: the
// tree, the details table and the toolbar's first button.
func panes(t *testing.T, c *Console) (tree, details, toolbar fyne.CanvasObject) {
	t.Helper()
	box := c.Window.Content().(*fyne.Container)
	split := box.Objects[0].(*container.Split)
	bar := box.Objects[1].(*widget.Toolbar)
	return split.Leading, split.Trailing, bar.Items[0].ToolbarObject()
}

// focused reports whether o has the keyboard focus.
func focused(c *Console, o fyne.CanvasObject) bool {
	f := c.Window.Canvas().Focused()
	return f != nil && any(f) == any(o)
}

func overlays(c *Console) int { return len(c.Window.Canvas().Overlays().List()) }

// Enter on the Delete confirmation confirms it and nothing opens behind
// it; Delete pressed again while it is open does not stack another one.
func TestEnterConfirmsDeleteAndKeysStayInTheDialog(t *testing.T) {
	f := newFixture(t)
	c := f.c
	c.Select(app.ImageID(f.srv, f.refs[0]))
	press(t, c, fyne.KeyDelete)
	if txt := overlayText(c); !strings.Contains(txt, "Delete Image") {
		t.Fatalf("Delete did not ask: %q", txt)
	}
	press(t, c, fyne.KeyDelete)
	press(t, c, fyne.KeyF2)
	if n := overlays(c); n != 1 {
		t.Fatalf("keys typed in the confirmation opened more dialogs: %d overlays, top %q", n, overlayText(c))
	}
	press(t, c, fyne.KeyReturn)
	if _, err := os.Stat(storeOf(f.srv).ImagePath(f.refs[0])); !os.IsNotExist(err) {
		t.Fatalf("Enter did not confirm the delete (stat: %v); top dialog %q", err, overlayText(c))
	}
	if n := overlays(c); n != 0 {
		t.Fatalf("after Enter on the confirmation %d dialog(s) are open: %q", n, overlayText(c))
	}
	if c.Selected() != app.GroupID(f.srv, "Lab") {
		t.Fatalf("selection after delete: %q", c.Selected())
	}
}

// Esc closes every kind of dialog the console opens, and cancels what it
// asked.
func TestEscClosesDialogs(t *testing.T) {
	f := newFixture(t)
	c := f.c
	img := app.ImageID(f.srv, f.refs[0])
	f.dlg.files = []string{f.src}
	for _, tc := range []struct {
		name, want string
		open       func()
	}{
		{"delete confirmation", "Delete Image", func() { c.Select(img); press(t, c, fyne.KeyDelete) }},
		{"image properties", "Properties", func() { c.Select(img); press(t, c, fyne.KeyReturn) }},
		{"group properties", "Lab Properties", func() { c.Select(app.GroupID(f.srv, "Lab")); press(t, c, fyne.KeyReturn) }},
		{"rename (entry focused)", "Rename Image Group", func() { c.Select(app.GroupID(f.srv, "Lab")); press(t, c, fyne.KeyF2) }},
		{"add wizard", "Add Install Image", func() { c.addImage(nil, "Lab"); c.settle() }},
		{"error", "failed", func() { c.showError("Test action", errors.New("it failed")) }},
		{"about", "About WIM Console", c.showAbout},
	} {
		tc.open()
		if txt := overlayText(c); !strings.Contains(txt, tc.want) {
			t.Fatalf("%s: dialog not open: %q", tc.name, txt)
		}
		press(t, c, fyne.KeyEscape)
		if n := overlays(c); n != 0 {
			t.Fatalf("%s: Esc left %d dialog(s) open: %q", tc.name, n, overlayText(c))
		}
	}
	if _, err := os.Stat(storeOf(f.srv).ImagePath(f.refs[0])); err != nil {
		t.Fatalf("Esc on the confirmation deleted the image: %v", err)
	}
	if _, err := os.Stat(storeOf(f.srv).GroupDir("Lab")); err != nil {
		t.Fatalf("Esc on the rename renamed the group: %v", err)
	}
	if ims, err := storeOf(f.srv).ListImages(context.Background(), store.ListOptions{}); err != nil || len(ims) != 3 {
		t.Fatalf("Esc on the Add wizard: %d images (%v), want 3", len(ims), err)
	}
}

// With no dialog open Enter opens Properties, F2 renames (Enter in the
// name dialog confirms it), on the selection of the focused tree.
func TestEnterOpensPropertiesAndF2Renames(t *testing.T) {
	f := newFixture(t)
	c := f.c
	if tree, _, _ := panes(t, c); !focused(c, tree) {
		t.Fatalf("the tree does not have the focus at start: %T", c.Window.Canvas().Focused())
	}
	c.Select(app.ImageID(f.srv, f.refs[1]))
	press(t, c, fyne.KeyReturn)
	if _, ok := c.current.(*imageProperties); !ok || !strings.Contains(overlayText(c), "Properties") {
		t.Fatalf("Enter did not open Properties: %T %q", c.current, overlayText(c))
	}
	press(t, c, fyne.KeyEscape)
	press(t, c, fyne.KeyF2)
	nd, ok := c.current.(*nameDialog)
	if !ok || !strings.Contains(overlayText(c), "Rename Image") {
		t.Fatalf("F2 did not open the rename dialog: %T %q", c.current, overlayText(c))
	}
	if nd.entry.Text != "Image B" {
		t.Fatalf("rename proposes %q", nd.entry.Text)
	}
	nd.entry.SetText("Lab B")
	press(t, c, fyne.KeyReturn) // typed in the focused entry
	c.settle()
	if got := f.image(t, f.refs[1]).Name; got != "Lab B" {
		t.Fatalf("image name after rename %q; top dialog %q", got, overlayText(c))
	}
	if n := overlays(c); n != 0 {
		t.Fatalf("%d dialog(s) open after the rename: %q", n, overlayText(c))
	}
}

// The arrows move the tree's selection; Tab moves between the tree, the
// details and the toolbar; Enter on a folder opens it.
func TestTreeKeyboard(t *testing.T) {
	f := newFixture(t)
	c := f.c
	cv := c.Window.Canvas()
	tree, details, toolbar := panes(t, c)
	if !focused(c, tree) {
		t.Fatalf("the tree does not have the focus at start: %T", cv.Focused())
	}
	server := c.Selected()
	press(t, c, fyne.KeyDown)
	if c.Selected() != app.InstallID(f.srv) {
		t.Fatalf("Down from the server selected %q", c.Selected())
	}
	press(t, c, fyne.KeyRight) // opens Install Images
	press(t, c, fyne.KeyRight) // to its first group
	if c.Selected() != app.GroupID(f.srv, "Lab") {
		t.Fatalf("Right, Right selected %q", c.Selected())
	}
	press(t, c, fyne.KeyReturn) // a group: its Properties
	if !strings.Contains(overlayText(c), "Lab Properties") {
		t.Fatalf("Enter on the group: %q", overlayText(c))
	}
	press(t, c, fyne.KeyEscape)
	press(t, c, fyne.KeyLeft)
	press(t, c, fyne.KeyUp)
	if c.Selected() != server {
		t.Fatalf("Left, Up selected %q", c.Selected())
	}
	press(t, c, fyne.KeyTab)
	if !focused(c, details) {
		t.Fatalf("Tab from the tree focused %T", cv.Focused())
	}
	press(t, c, fyne.KeyTab)
	if !focused(c, toolbar) {
		t.Fatalf("Tab from the details focused %T", cv.Focused())
	}
}

// Ctrl+Q quits, also while a dialog is open.
func TestCtrlQQuits(t *testing.T) {
	f := newFixture(t)
	c := f.c
	quits := 0
	c.quit = func() { quits++ }
	pressShortcut(t, c, fyne.KeyQ, fyne.KeyModifierControl)
	if quits != 1 {
		t.Fatalf("Ctrl+Q quit %d times", quits)
	}
	c.showAbout()
	pressShortcut(t, c, fyne.KeyQ, fyne.KeyModifierControl)
	if quits != 2 {
		t.Fatalf("Ctrl+Q with a dialog open quit %d times", quits-1)
	}
	press(t, c, fyne.KeyEscape)
	// While a job runs it asks first: Esc keeps the job and the app,
	// Enter cancels the job and then quits.
	release := make(chan struct{})
	defer close(release)
	j := c.runJob("Long work", func(ctx context.Context, _ progress.Func) error {
		select {
		case <-release:
		case <-ctx.Done():
			return ctx.Err()
		}
		return nil
	}, nil)
	pressShortcutNoWait(t, c, fyne.KeyQ, fyne.KeyModifierControl)
	if txt := overlayText(c); quits != 2 || !strings.Contains(txt, "Long work") {
		t.Fatalf("Ctrl+Q with a job running: %d quits, dialog %q", quits-2, txt)
	}
	pressNoWait(t, c, fyne.KeyEscape)
	if quits != 2 || len(c.jobs.Running()) != 1 || overlays(c) != 0 {
		t.Fatalf("Esc on the question: %d quits, %d jobs, %d dialogs", quits-2, len(c.jobs.Running()), overlays(c))
	}
	pressShortcutNoWait(t, c, fyne.KeyQ, fyne.KeyModifierControl)
	press(t, c, fyne.KeyReturn) // cancels the job, waits for it, quits
	if quits != 3 || j.Err() == nil {
		t.Fatalf("Enter on the question: %d quits, job error %v", quits-2, j.Err())
	}
}

// In the focused details pane Up and Down move the selected row and Enter
// opens the row's Properties.
func TestDetailsKeyboard(t *testing.T) {
	f := newFixture(t)
	c := f.c
	_, details, _ := panes(t, c)
	c.Select(app.GroupID(f.srv, "Lab"))
	press(t, c, fyne.KeyTab)
	if !focused(c, details) {
		t.Fatalf("Tab from the tree focused %T", c.Window.Canvas().Focused())
	}
	press(t, c, fyne.KeyDown) // the first row
	press(t, c, fyne.KeyDown) // the second
	want := c.Details().RowIDs[1]
	press(t, c, fyne.KeyReturn)
	p, ok := c.current.(*imageProperties)
	if !ok {
		t.Fatalf("Enter on a details row opened %T: %q", c.current, overlayText(c))
	}
	n, _ := c.model.Node(want)
	if c.Selected() != want || n.Image == nil || p.p.Image.Ref != n.Image.Ref {
		t.Fatalf("Enter opened %s (selection %s), want the second row's %s", p.p.Image.Ref, c.Selected(), want)
	}
}
