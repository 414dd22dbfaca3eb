package views

import (
	"context"
	"image/color"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/wimconsole/wimconsole/app"
	"github.com/wimconsole/wimconsole/engine/store"
	"github.com/wimconsole/wimconsole/engine/wim"
)

// listFixture is the fixture with a third image in group Lab (Image C),
// the group selected: its details list the three images.
func listFixture(t *testing.T) *fixture {
	t.Helper()
	f := newFixture(t)
	refs, err := f.srv.AddImages(context.Background(), app.AddRequest{
		Picks: []app.SourceImage{{File: makeWIM(t, "C"), Index: 1}}, Group: "Lab"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.refs = append(f.refs, refs...)
	if err := f.c.model.Refresh(); err != nil {
		t.Fatal(err)
	}
	f.c.Select(app.GroupID(f.srv, "Lab"))
	f.c.redraw()
	if d := f.c.Details(); len(d.Rows) != 3 {
		t.Fatalf("Lab lists %v", d.Rows)
	}
	return f
}

// rowCell returns a cell of the details list's row row, as the table
// shows it.
func rowCell(c *Console, row int) *cell {
	ce := newCell(c.details)
	ce.show(widget.TableCellID{Row: row, Col: 1})
	return ce
}

// clickRow clicks row row of the list with modifiers mods held.
func clickRow(c *Console, row int, mods fyne.KeyModifier) {
	ce := rowCell(c, row)
	ce.MouseDown(&desktop.MouseEvent{Modifier: mods})
	test.Tap(ce)
}

// rowName returns the image name shown in row row.
func rowName(c *Console, row int) string { return c.Details().Rows[row][0] }

// selectedNames returns the names of the images selected in the list.
func selectedNames(c *Console) string {
	var out []string
	for _, id := range c.details.selectedIDs() {
		n, _ := c.model.Node(id)
		out = append(out, n.Label)
	}
	return strings.Join(out, ",")
}

// tapMenuItem taps the item labelled label of the pop-up menu on top.
func tapMenuItem(t *testing.T, c *Console, label string) {
	t.Helper()
	top := c.Window.Canvas().Overlays().Top()
	if top == nil {
		t.Fatalf("no menu to tap %q in", label)
	}
	var found fyne.Tappable
	var walk func(o fyne.CanvasObject)
	walk = func(o fyne.CanvasObject) {
		if o == nil || !o.Visible() {
			return
		}
		if tp, ok := o.(fyne.Tappable); ok && o != top {
			if ls := labels(o); len(ls) > 0 && contains(ls, label) {
				found = tp // the deepest one that shows label: the item
			}
		}
		switch v := o.(type) {
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
	walk(top)
	if found == nil {
		t.Fatalf("no item %q in the menu: %q", label, overlayText(c))
	}
	found.Tapped(&fyne.PointEvent{})
	c.settle()
}

// A right-click on a row of the list shows the row's image's actions (the
// tree's context menu for it); Disable there disables that image and the
// list, still shown, says Offline.
func TestDetailsRightClickMenu(t *testing.T) {
	f := listFixture(t)
	c := f.c
	ce := rowCell(c, 1)
	test.TapSecondary(ce)
	txt := overlayText(c)
	for _, want := range []string{"Disable", "Export Image…", "Replace Image…", "Copy Image…", "Delete", "Properties"} {
		if !strings.Contains(txt, want) {
			t.Fatalf("right-click on a row showed %q, want the image's menu (%s)", txt, want)
		}
	}
	if got := selectedNames(c); got != rowName(c, 1) {
		t.Fatalf("right-click selected %q, want %q", got, rowName(c, 1))
	}
	tapMenuItem(t, c, "Disable")
	if f.image(t, f.refs[1]).Enabled || !f.image(t, f.refs[0]).Enabled || !f.image(t, f.refs[3]).Enabled {
		t.Fatalf("Disable from the row's menu: A %v, B %v, C %v; want B alone disabled",
			f.image(t, f.refs[0]).Enabled, f.image(t, f.refs[1]).Enabled, f.image(t, f.refs[3]).Enabled)
	}
	if c.Selected() != app.GroupID(f.srv, "Lab") {
		t.Fatalf("the tree's selection moved to %q", c.Selected())
	}
	if d := c.Details(); d.Rows[1][2] != "Offline" || d.Rows[0][2] != "Online" {
		t.Fatalf("the list shows %v", d.Rows)
	}
	// The row stays selected after the reload, and reads italic.
	if got := selectedNames(c); got != "Image B" {
		t.Fatalf("selection after the reload: %q", got)
	}
	if ce := rowCell(c, 1); !ce.label.TextStyle.Italic || ce.label.Importance != widget.MediumImportance {
		t.Fatalf("the offline row is drawn %+v, importance %v", ce.label.TextStyle, ce.label.Importance)
	}
	// A right-click on a group's row (Install Images lists the groups)
	// shows the group's actions.
	c.Select(app.InstallID(f.srv))
	test.TapSecondary(rowCell(c, 0))
	if txt := overlayText(c); !strings.Contains(txt, "Regroup…") {
		t.Fatalf("right-click on a group row showed %q", txt)
	}
}

// Ctrl+click toggles a row, Shift+click extends from the last one clicked;
// Disable, Enable, Export and Delete then act on every selected image.
func TestDetailsMultiSelect(t *testing.T) {
	f := listFixture(t)
	c := f.c
	ctrl, shift := fyne.KeyModifierControl, fyne.KeyModifierShift
	for _, step := range []struct {
		row  int
		mods fyne.KeyModifier
		want string
	}{
		{0, 0, "Image A"},
		{2, ctrl, "Image A,Image C"},
		{0, ctrl, "Image C"},
		{2, shift, "Image A,Image B,Image C"},
		{1, 0, "Image B"},
		{2, shift, "Image B,Image C"},
		{0, ctrl | shift, "Image A,Image B,Image C"},
		{1, ctrl, "Image A,Image C"},
	} {
		clickRow(c, step.row, step.mods)
		if got := selectedNames(c); got != step.want {
			t.Fatalf("click on row %d with %v: selected %q, want %q", step.row, step.mods, got, step.want)
		}
	}
	// A sort keeps the selection (it follows the images).
	c.details.sortBy(0)
	c.details.sortBy(0)
	if got := selectedNames(c); got != "Image C,Image A" {
		t.Fatalf("selection after a sort: %q", got)
	}
	c.details.sortBy(3) // Priority: the model's order again
	// The Action menu acts on the two.
	actions := c.Window.MainMenu().Items[1]
	if got := strings.Join(menuLabels(actions.Items), ","); got != "Disable,Export Images…,Delete,Refresh" {
		t.Fatalf("Action menu for two images: %s", got)
	}
	runMenu(t, c, "Disable")
	a, b, cc := f.image(t, f.refs[0]), f.image(t, f.refs[1]), f.image(t, f.refs[3])
	if a.Enabled || !b.Enabled || cc.Enabled {
		t.Fatalf("Disable on A and C: A %v, B %v, C %v", a.Enabled, b.Enabled, cc.Enabled)
	}
	if d := c.Details(); d.Rows[0][2] != "Offline" || d.Rows[1][2] != "Online" || d.Rows[2][2] != "Offline" {
		t.Fatalf("the list shows %v", d.Rows)
	}
	// B joins: the set holds enabled and disabled images.
	clickRow(c, 1, ctrl)
	if got := strings.Join(menuLabels(c.Window.MainMenu().Items[1].Items), ","); got != "Disable,Enable,Export Images…,Delete,Refresh" {
		t.Fatalf("Action menu for mixed images: %s", got)
	}
	runMenu(t, c, "Enable")
	for i, r := range []store.ImageRef{f.refs[0], f.refs[1], f.refs[3]} {
		if !f.image(t, r).Enabled {
			t.Fatalf("Enable on all three left image %d disabled", i)
		}
	}

	// Export: one folder, one WIM per image, named by its file.
	dir := t.TempDir()
	f.dlg.folder = dir
	runMenu(t, c, "Export Images…")
	for _, r := range []store.ImageRef{f.refs[0], f.refs[1], f.refs[3]} {
		x, err := wim.Open(filepath.Join(dir, r.File+".wim"), nil)
		if err != nil {
			t.Fatalf("export of %s: %v", r, err)
		}
		if err := x.Verify(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
		x.Close()
	}
	if txt := overlayText(c); !strings.Contains(txt, "Exported to "+dir) {
		t.Fatalf("after the export: %q", txt)
	}
	c.Window.Canvas().Overlays().Top().Hide()
	// Again into the same folder: the files are there, nothing is
	// overwritten, and the message names each file and what to do.
	runMenu(t, c, "Export Images…")
	if txt := overlayText(c); !strings.Contains(txt, "install.wim exists already; remove it or choose another folder") {
		t.Fatalf("export onto existing files: %q", txt)
	}
	c.Window.Canvas().Overlays().Top().Hide()

	// The toolbar's Properties opens the focused row.
	clickRow(c, 0, 0)
	clickRow(c, 2, ctrl)
	clickRow(c, 1, ctrl)
	c.showProperties()
	c.settle()
	if p, ok := c.current.(*imageProperties); !ok || p.p.Image.Name != "Image B" {
		t.Fatalf("Properties with several rows selected opened %T, want the focused row's", c.current)
	}
	c.Window.Canvas().Overlays().Top().Hide()

	// Delete asks once, naming them, then deletes the two selected (the
	// toolbar's Delete as the menu's).
	clickRow(c, 1, ctrl)
	c.deleteSelected()
	c.settle()
	txt := overlayText(c)
	if !strings.Contains(txt, "Delete 2 images?") || !strings.Contains(txt, "Image A (install.wim)") || !strings.Contains(txt, "Image C (") {
		t.Fatalf("Delete of two asks %q", txt)
	}
	tapButton(t, c, "Delete")
	for _, r := range []store.ImageRef{f.refs[0], f.refs[3]} {
		if _, ok := c.model.Node(app.ImageID(f.srv, r)); ok {
			t.Fatalf("%s not deleted", r)
		}
	}
	if _, ok := c.model.Node(app.ImageID(f.srv, f.refs[1])); !ok {
		t.Fatal("the image not selected was deleted")
	}
	if d := c.Details(); len(d.Rows) != 1 || len(c.details.selectedIDs()) != 0 {
		t.Fatalf("after the delete the list shows %v, selected %v", d.Rows, c.details.selectedIDs())
	}
}

// runMenu runs the Action menu's item labelled label.
func runMenu(t *testing.T, c *Console, label string) {
	t.Helper()
	for _, it := range c.Window.MainMenu().Items[1].Items {
		if it.Label == label && !it.Disabled {
			it.Action()
			c.settle()
			return
		}
	}
	t.Fatalf("the Action menu has no %q: %v", label, menuLabels(c.Window.MainMenu().Items[1].Items))
}

// The list's selection drives the Action menu; the menu bar is built again
// only when the set of actions changes; a click in the tree gives the
// actions back to the tree's selection.
func TestDetailsSelectionDrivesActionMenu(t *testing.T) {
	f := listFixture(t)
	c := f.c
	group := "Add Install Image…,Regroup…,Find Files…,Rename,Delete,Refresh,Properties"
	image := "Disable,Export Image…,Replace Image…,Copy Image…,Browse Files…,Service Image…,Mount to Folder…,Add Driver Package…,Rename,Delete,Refresh,Properties"
	if got := strings.Join(menuLabels(c.Window.MainMenu().Items[1].Items), ","); got != group {
		t.Fatalf("Action menu of the group: %s", got)
	}
	clickRow(c, 0, 0)
	bar := c.Window.MainMenu()
	if got := strings.Join(menuLabels(bar.Items[1].Items), ","); got != image {
		t.Fatalf("Action menu with a row selected: %s", got)
	}
	clickRow(c, 2, 0)
	if c.Window.MainMenu() != bar {
		t.Fatal("the menu bar was built again for the same actions")
	}
	runMenu(t, c, "Disable") // acts on the row selected now: C
	if f.image(t, f.refs[3]).Enabled || !f.image(t, f.refs[0]).Enabled {
		t.Fatal("the Action menu's Disable did not act on the selected row")
	}
	// Properties of the row, the tree's selection unchanged.
	runMenu(t, c, "Properties")
	if p, ok := c.current.(*imageProperties); !ok || p.p.Image.Name != "Image C" {
		t.Fatalf("Properties opened %T", c.current)
	}
	// A click in the tree: the group's actions again.
	var row *nodeRow
	for _, r := range c.rows {
		if r.id == app.GroupID(f.srv, "Lab") {
			row = r
		}
	}
	if row == nil {
		t.Fatal("no tree row shows Lab")
	}
	test.Tap(row)
	if len(c.details.selectedIDs()) != 0 {
		t.Fatalf("a click in the tree left %v selected in the list", c.details.selectedIDs())
	}
	if got := strings.Join(menuLabels(c.Window.MainMenu().Items[1].Items), ","); got != group {
		t.Fatalf("Action menu after a click in the tree: %s", got)
	}
}

// Enter opens the Properties of the focused row, also with several rows
// selected.
func TestDetailsEnterOpensFocusedRow(t *testing.T) {
	f := listFixture(t)
	c := f.c
	clickRow(c, 0, 0)
	clickRow(c, 2, fyne.KeyModifierControl) // focus on C
	c.detailsKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	c.settle()
	if p, ok := c.current.(*imageProperties); !ok || p.p.Image.Name != "Image C" {
		t.Fatalf("Enter opened %T, want the Properties of Image C", c.current)
	}
}

// Dragging the separator between two headers resizes the column on its
// left; the width stays through a reload and when the pane comes back to
// the same columns, while the other columns still fit their content.
func TestDetailsColumnResizeKept(t *testing.T) {
	f := listFixture(t)
	c := f.c
	p := c.details
	col := indexOf(p.content.Columns, "Description")
	if col < 0 || indexOf(p.content.Columns, "Priority") < 0 {
		t.Fatalf("columns %v lack Priority or Description", p.content.Columns)
	}
	before, name := p.width(col), p.width(0)
	dragSeparator(t, c, col, 80)
	if got := p.width(col); math.Abs(float64(got-(before+80))) > 0.5 {
		t.Fatalf("dragged 80 pixels: width %v, was %v", got, before)
	}
	c.redraw() // a reload (live sync, F5)
	c.Select(app.InstallID(f.srv))
	c.Select(app.GroupID(f.srv, "Lab"))
	if got := p.width(col); math.Abs(float64(got-(before+80))) > 0.5 {
		t.Fatalf("width after a reload and coming back: %v, want %v", got, before+80)
	}
	if h := header(t, c, col); math.Abs(float64(h.Size().Width-(before+80))) > 0.5 {
		t.Fatalf("the header is %v wide, want %v", h.Size().Width, before+80)
	}
	if got := p.width(0); got != name || len(p.widths) != 1 {
		t.Fatalf("the columns not dragged: first %v, was %v; widths kept %v", got, name, p.widths)
	}
	// Sorting by a header still works.
	test.Tap(header(t, c, col))
	if p.sortCol != col {
		t.Fatalf("tap on the header sorted by %d", p.sortCol)
	}
}

// header returns the header of column col as the window shows it.
func header(t *testing.T, c *Console, col int) *headerCell {
	t.Helper()
	var found *headerCell
	var walk func(o fyne.CanvasObject)
	walk = func(o fyne.CanvasObject) {
		if o == nil || !o.Visible() {
			return
		}
		if h, ok := o.(*headerCell); ok && h.col == col {
			found = h
			return
		}
		switch v := o.(type) {
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
	walk(c.Window.Content())
	if found == nil {
		t.Fatalf("no header shows column %d", col)
	}
	return found
}

// dragSeparator drags the separator right of column col's header dx
// pixels, as the mouse does: over it, down, moved, up.
func dragSeparator(t *testing.T, c *Console, col int, dx float32) {
	t.Helper()
	d := fyne.CurrentApp().Driver()
	h := header(t, c, col)
	tbl := c.details.widget
	x := d.AbsolutePositionForObject(h).X - d.AbsolutePositionForObject(tbl).X + h.Size().Width + theme.Padding()/2
	at := fyne.NewPos(x, h.Size().Height/2)
	tbl.MouseMoved(&desktop.MouseEvent{PointEvent: fyne.PointEvent{Position: at}})
	if tbl.Cursor() != desktop.HResizeCursor {
		t.Fatalf("the pointer over the separator is %v", tbl.Cursor())
	}
	tbl.MouseDown(&desktop.MouseEvent{PointEvent: fyne.PointEvent{Position: at}})
	for _, step := range []float32{dx / 2, dx} {
		tbl.Dragged(&fyne.DragEvent{PointEvent: fyne.PointEvent{Position: at.AddXY(step, 0)}, Dragged: fyne.NewDelta(dx/2, 0)})
	}
	tbl.DragEnd()
	tbl.MouseUp(&desktop.MouseEvent{})
}

// variantTheme is Fyne's default theme in variant v, whatever the
// system's.
type variantTheme struct {
	fyne.Theme
	v fyne.ThemeVariant
}

func (t variantTheme) Color(n fyne.ThemeColorName, _ fyne.ThemeVariant) color.Color {
	return t.Theme.Color(n, t.v)
}

// Offline rows stay readable: WCAG contrast 4.5:1 at least between their
// text and the background, plain and under the selection, in the light
// and the dark theme; and the tree draws them in that colour.
func TestOfflineRowsContrast(t *testing.T) {
	f := newFixture(t)
	id := app.ImageID(f.srv, f.refs[0])
	f.do(t, id, "Disable")
	for _, tc := range []struct {
		name string
		v    fyne.ThemeVariant
	}{{"light", theme.VariantLight}, {"dark", theme.VariantDark}} {
		th := variantTheme{theme.DefaultTheme(), tc.v}
		fyne.CurrentApp().Settings().SetTheme(th)
		bg := th.Color(theme.ColorNameBackground, tc.v)
		text := th.Color(offlineTextColor, tc.v)
		for what, back := range map[string]color.Color{
			"background": bg,
			"selection":  over(th.Color(theme.ColorNameSelection, tc.v), bg),
			"hover":      over(th.Color(theme.ColorNameHover, tc.v), bg),
		} {
			if r := contrast(text, back); r < 4.5 {
				t.Errorf("%s theme: offline text on the %s: contrast %.2f:1, want 4.5:1", tc.name, what, r)
			}
		}
		f.c.Select(app.GroupID(f.srv, "Lab"))
		f.c.tree.Refresh()
		var row *nodeRow
		for _, r := range f.c.rows {
			if r.id == id {
				row = r
			}
		}
		if row == nil {
			t.Fatal("no tree row shows the disabled image")
		}
		row.show(mustNode(t, f.c, id))
		if r := contrast(row.label.Color, bg); r < 4.5 || !row.label.TextStyle.Italic {
			t.Errorf("%s theme: the tree draws the offline image at contrast %.2f:1 (italic %v), want 4.5:1",
				tc.name, r, row.label.TextStyle.Italic)
		}
	}
}

func mustNode(t *testing.T, c *Console, id string) app.Node {
	t.Helper()
	n, ok := c.model.Node(id)
	if !ok {
		t.Fatalf("no node %s", id)
	}
	return n
}

// over composes colour top (with its alpha) over the opaque bottom.
func over(top, bottom color.Color) color.Color {
	tr, tg, tb, ta := top.RGBA() // premultiplied
	br, bg, bb, _ := bottom.RGBA()
	mix := func(t, b uint32) uint8 { return uint8((t + b*(0xffff-ta)/0xffff) >> 8) }
	return color.NRGBA{R: mix(tr, br), G: mix(tg, bg), B: mix(tb, bb), A: 0xff}
}

// contrast is the WCAG 2 contrast ratio of two opaque colours.
func contrast(a, b color.Color) float64 {
	la, lb := luminance(a), luminance(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

// luminance is the WCAG 2 relative luminance of c.
func luminance(c color.Color) float64 {
	r, g, b, _ := color.NRGBAModel.Convert(c).RGBA()
	lin := func(v uint32) float64 {
		s := float64(v) / 0xffff
		if s <= 0.03928 {
			return s / 12.92
		}
		return math.Pow((s+0.055)/1.055, 2.4)
	}
	return 0.2126*lin(r) + 0.7152*lin(g) + 0.0722*lin(b)
}

func TestContrastFormula(t *testing.T) {
	for _, tc := range []struct {
		a, b color.Color
		want float64
	}{
		{color.White, color.Black, 21},
		{color.White, color.White, 1},
		{color.NRGBA{0x77, 0x77, 0x77, 0xff}, color.White, 4.48},
		{color.NRGBA{0xe3, 0xe3, 0xe3, 0xff}, color.White, 1.28}, // the light theme's Disabled
	} {
		if got := contrast(tc.a, tc.b); math.Abs(got-tc.want) > 0.01 {
			t.Errorf("contrast(%v, %v) = %.3f, want %.2f", tc.a, tc.b, got, tc.want)
		}
	}
}
