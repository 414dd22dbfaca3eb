package views

import (
	"context"
	"errors"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/widget"

	"github.com/wimconsole/wimconsole/app"
	"github.com/wimconsole/wimconsole/engine/progress"
)

// Keyboard. Keys reach the focused widget; with none focused (in the
// window, or in the dialog on top of it) they reach the canvas's typed-key
// handler, typedKey. The console's keys (Enter, Delete, F2, F5) act on the
// selection only while no dialog or menu is shown: a key pressed in a
// dialog belongs to the dialog, where Enter presses its default button and
// Esc cancels it. Ctrl+Q (File > Quit) works always.

// typedKey handles a key that no focused widget took.
func (c *Console) typedKey(ev *fyne.KeyEvent) {
	if top := c.Window.Canvas().Overlays().Top(); top != nil {
		c.overlayKey(top, ev)
		return
	}
	c.selectionKey(ev.Name)
}

// selectionKey runs the console's action of key name on the tree's
// selection, and reports whether the key is one of them. It does nothing
// while a dialog or menu is shown.
func (c *Console) selectionKey(name fyne.KeyName) bool {
	switch name {
	case fyne.KeyReturn, fyne.KeyEnter, fyne.KeyDelete, fyne.KeyF2, fyne.KeyF5:
	default:
		return false
	}
	if c.Window.Canvas().Overlays().Top() != nil {
		return true // the key belongs to the dialog, not to what is behind it
	}
	switch name {
	case fyne.KeyReturn, fyne.KeyEnter:
		if !c.runAction("Properties") {
			// A folder: Enter opens or closes it.
			if c.selected != "" && c.tree.IsBranch(c.selected) {
				c.tree.ToggleBranch(c.selected)
			}
		}
	case fyne.KeyDelete:
		c.runAction("Delete")
	case fyne.KeyF2:
		c.runAction("Rename")
	case fyne.KeyF5:
		c.Refresh()
	}
	return true
}

// runAction runs the selection's action labelled label, as its menu would
// (not when the menu shows it disabled), and reports whether there was one.
func (c *Console) runAction(label string) bool {
	for _, it := range c.actionItems() {
		if it.Label == label && !it.IsSeparator {
			if it.Disabled || it.Action == nil {
				return false
			}
			it.Action()
			return true
		}
	}
	return false
}

// overlayKey handles a key pressed while overlay top (a dialog or a menu)
// is shown: in a dialog, Enter presses the default button and Esc the
// button that cancels or closes; Esc closes a menu.
func (c *Console) overlayKey(top fyne.CanvasObject, ev *fyne.KeyEvent) {
	def, dismiss, ok := dialogButtons(top)
	switch ev.Name {
	case fyne.KeyReturn, fyne.KeyEnter:
		if def != nil {
			def.Tapped(&fyne.PointEvent{})
		}
	case fyne.KeyEscape:
		switch {
		case dismiss != nil:
			dismiss.Tapped(&fyne.PointEvent{})
		case !ok:
			top.Hide() // a menu or a pop-up
		}
	}
}

// dialogButtons finds the buttons of the Fyne dialog shown as overlay top:
// def is its default button (the one of high importance, or the only
// button), dismiss the one that cancels or closes it (the first other
// one). ok is false when top is not a dialog.
func dialogButtons(top fyne.CanvasObject) (def, dismiss *widget.Button, ok bool) {
	pop, isPop := top.(*widget.PopUp)
	if !isPop {
		return nil, nil, false
	}
	// A dialog's pop-up holds its icon, background, content, button row
	// and title, in that order (fyne.io/fyne/v2/dialog, base.go).
	box, isBox := pop.Content.(*fyne.Container)
	if !isBox || len(box.Objects) != 5 {
		return nil, nil, false
	}
	var buttons []*widget.Button
	var walk func(o fyne.CanvasObject)
	walk = func(o fyne.CanvasObject) {
		if o == nil || !o.Visible() {
			return
		}
		switch v := o.(type) {
		case *widget.Button:
			buttons = append(buttons, v)
		case *dialogButton:
			buttons = append(buttons, &v.Button)
		case *fyne.Container:
			for _, x := range v.Objects {
				walk(x)
			}
		}
	}
	walk(box.Objects[3])
	if len(buttons) == 0 {
		return nil, nil, false
	}
	for _, b := range buttons {
		if b.Importance == widget.HighImportance && def == nil {
			def = b
		} else if dismiss == nil {
			dismiss = b
		}
	}
	for _, b := range buttons {
		if b.Text == "Cancel" && b != def {
			dismiss = b // a wizard's Back comes before its Cancel
		}
	}
	if def == nil && len(buttons) == 1 {
		def = buttons[0] // Close, OK: the only way out
	}
	return def, dismiss, true
}

// keyTree is the console tree with the console's keys: the arrows move the
// selection, Enter, Delete and F2 act on it, Tab moves to the details.
type keyTree struct {
	widget.Tree
	c *Console
}

// AcceptsTab lets the tree take Tab, which moves to the details pane.
func (t *keyTree) AcceptsTab() bool { return true }

// FocusGained gives the actions back to the tree's selection: rows selected
// in the details list are unselected.
func (t *keyTree) FocusGained() {
	t.c.details.clearSelection()
	t.Tree.FocusGained()
}

func (t *keyTree) TypedKey(ev *fyne.KeyEvent) {
	c := t.c
	switch ev.Name {
	case fyne.KeyTab:
		c.focusPane(t, shiftDown())
	case fyne.KeyUp, fyne.KeyDown:
		vis := t.visible()
		if len(vis) == 0 {
			return
		}
		i := indexOf(vis, c.selected)
		switch {
		case i < 0:
			i = 0
		case ev.Name == fyne.KeyUp && i > 0:
			i--
		case ev.Name == fyne.KeyDown && i < len(vis)-1:
			i++
		}
		t.Select(vis[i])
	case fyne.KeyLeft:
		id := c.selected
		if id == "" {
			return
		}
		if t.IsBranch(id) && t.IsBranchOpen(id) {
			t.CloseBranch(id)
			return
		}
		if p := c.parentNode(id); p != "" {
			t.Select(p)
		}
	case fyne.KeyRight:
		id := c.selected
		if id == "" || !t.IsBranch(id) {
			return
		}
		if !t.IsBranchOpen(id) {
			t.OpenBranch(id)
			return
		}
		if kids := t.ChildUIDs(id); len(kids) > 0 {
			t.Select(kids[0])
		}
	default:
		if !c.selectionKey(ev.Name) {
			t.Tree.TypedKey(ev)
		}
	}
}

// visible lists the tree's nodes shown, top to bottom.
func (t *keyTree) visible() []string {
	var out []string
	var walk func(id string)
	walk = func(id string) {
		for _, kid := range t.ChildUIDs(id) {
			out = append(out, kid)
			if t.IsBranch(kid) && t.IsBranchOpen(kid) {
				walk(kid)
			}
		}
	}
	walk(t.Root)
	return out
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}

// parentNode returns the tree node above id ("" for a root).
func (c *Console) parentNode(id string) string {
	for p := parentID(id); p != ""; p = parentID(p) {
		if _, ok := c.model.Node(p); ok {
			return p
		}
	}
	return ""
}

// keyTable is the details table with the console's keys: Up and Down move
// the selected row, Enter opens it, Delete and F2 act on it, Tab moves to
// the toolbar.
type keyTable struct {
	widget.Table
	p *detailsPane
}

// AcceptsTab lets the table take Tab, which moves to the toolbar.
func (t *keyTable) AcceptsTab() bool { return true }

func (t *keyTable) TypedKey(ev *fyne.KeyEvent) {
	if t.p.onKey == nil || !t.p.onKey(ev) {
		t.Table.TypedKey(ev)
	}
}

// detailsKey handles key ev in the focused details pane.
func (c *Console) detailsKey(ev *fyne.KeyEvent) bool {
	p := c.details
	rows := len(p.content.Rows)
	switch ev.Name {
	case fyne.KeyTab:
		c.focusPane(p.widget, shiftDown())
	case fyne.KeyUp, fyne.KeyDown:
		if rows == 0 {
			return true
		}
		r := p.focus
		switch {
		case r < 0 || r >= rows:
			r = 0
		case ev.Name == fyne.KeyUp && r > 0:
			r--
		case ev.Name == fyne.KeyDown && r < rows-1:
			r++
		}
		var mods fyne.KeyModifier
		if shiftDown() {
			mods = fyne.KeyModifierShift
		}
		p.click(r, mods)
	case fyne.KeyReturn, fyne.KeyEnter:
		// The focused row's node (an image of a group, a group of the
		// folder) becomes the selection, as a double-click makes it, and
		// opens.
		if id := p.focusedID(); id != "" {
			if _, ok := c.model.Node(id); ok {
				c.Select(id)
			}
		}
		c.selectionKey(ev.Name)
	case fyne.KeySpace:
		if p.focus >= 0 {
			p.click(p.focus, fyne.KeyModifierControl)
		}
	default:
		return c.selectionKey(ev.Name)
	}
	return true
}

// focusPane moves the keyboard focus from pane from to the next of the
// tree, the details and the toolbar (the previous one when back).
func (c *Console) focusPane(from fyne.Focusable, back bool) {
	panes := []fyne.Focusable{c.treeW, c.details.widget}
	if b, ok := c.toolbarFirst.ToolbarObject().(fyne.Focusable); ok {
		panes = append(panes, b)
	}
	i := 0
	for j, p := range panes {
		if p == from {
			i = j
		}
	}
	if back {
		i = (i + len(panes) - 1) % len(panes)
	} else {
		i = (i + 1) % len(panes)
	}
	c.Window.Canvas().Focus(panes[i])
}

// shiftDown reports whether Shift is held (Shift+Tab goes back).
func shiftDown() bool {
	if d, ok := fyne.CurrentApp().Driver().(desktop.Driver); ok {
		return d.CurrentKeyModifiers()&fyne.KeyModifierShift != 0
	}
	return false
}

// quitRequested quits the application (Ctrl+Q), asking first while jobs
// run, as closing the window does.
func (c *Console) quitRequested() {
	if len(c.jobs.Running()) == 0 {
		c.quit()
		return
	}
	c.confirmCloseWithJobs(c.quit)
}

// renameImage asks for a new name for the selected image and sets it.
func (c *Console) renameImage() {
	n, ok := c.selectedNode()
	if !ok || n.Image == nil {
		return
	}
	r, from := n.Ref(), n.Image.Name
	c.askName("Rename Image", "New name", from, checkImageName, func(to string) {
		if to == from {
			return
		}
		c.runJob("Rename "+n.Label, func(ctx context.Context, _ progress.Func) error {
			return n.Server.Service().SetImage(ctx, r, app.SetOptions{Name: &to})
		}, nil)
	})
}

func checkImageName(name string) error {
	if strings.TrimSpace(name) == "" {
		return errors.New("an image name cannot be empty")
	}
	return nil
}

// dialogEntry is a text entry in a dialog: Esc in it cancels the dialog
// and Enter presses the dialog's default button, as they do when no entry
// has the focus.
type dialogEntry struct {
	widget.Entry
	c *Console
}

func (c *Console) newDialogEntry() *dialogEntry {
	e := &dialogEntry{c: c}
	e.ExtendBaseWidget(e)
	return e
}

func (e *dialogEntry) TypedKey(ev *fyne.KeyEvent) {
	if e.MultiLine && (ev.Name == fyne.KeyReturn || ev.Name == fyne.KeyEnter) {
		e.Entry.TypedKey(ev) // a new line, not the default button
		return
	}
	if !e.c.dialogKey(ev) {
		e.Entry.TypedKey(ev)
	}
}

// dialogButton is a button in a dialog (a wizard's Back, Next and Cancel,
// a Browse… next to a path box, a dialog's own row of buttons). Fyne's
// button takes only Space when it has the focus (reached with Tab), so Esc
// pressed there would never cancel the dialog. Here Esc cancels the dialog
// as it does with nothing focused, and Enter presses the focused button
// itself, not the dialog's default one: in Windows dialogs the focused
// push button is the one Enter presses, so Tab onto Back or Cancel and
// Enter does what the button says. Space presses it too, as before.
type dialogButton struct {
	widget.Button
	c *Console
}

// newDialogButton returns a dialog's button labelled label, with icon
// (nil: none), that runs tapped.
func (c *Console) newDialogButton(label string, icon fyne.Resource, tapped func()) *dialogButton {
	b := &dialogButton{c: c}
	b.Text, b.Icon, b.OnTapped = label, icon, tapped
	b.ExtendBaseWidget(b)
	return b
}

func (b *dialogButton) TypedKey(ev *fyne.KeyEvent) {
	switch ev.Name {
	case fyne.KeyReturn, fyne.KeyEnter:
		b.Tapped(&fyne.PointEvent{}) // nothing while it is disabled
	case fyne.KeyEscape:
		if !b.c.dialogKey(ev) {
			b.Button.TypedKey(ev)
		}
	default:
		b.Button.TypedKey(ev)
	}
}

// dialogKey handles Esc, Enter and Return pressed in a widget of the
// dialog shown on top as the dialog does (see overlayKey), and reports
// whether it did.
func (c *Console) dialogKey(ev *fyne.KeyEvent) bool {
	switch ev.Name {
	case fyne.KeyEscape, fyne.KeyReturn, fyne.KeyEnter:
		if top := c.Window.Canvas().Overlays().Top(); top != nil {
			c.overlayKey(top, ev)
			return true
		}
	}
	return false
}
