package views

import (
	"image/color"
	"strconv"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/wimconsole/wimconsole/app"
)

// detailsPane is the right-hand table: the details of the selected node,
// sorted by the column whose header was last clicked. Its rows can be
// selected as in Explorer: a click selects one, Ctrl+click toggles one,
// Shift+click extends from the last one clicked. The selection is kept by
// node ID, so a sort or a reload keeps it.
type detailsPane struct {
	table   *widget.Table
	widget  *keyTable // the table as the window holds it (it takes the keys)
	of      string    // the tree node whose details are shown
	raw     app.Table // as the model gave it
	content app.Table // as shown (sorted)
	sortCol int       // -1: model order
	desc    bool

	sel    map[string]bool // the selected rows, by rowKey
	focus  int             // the focused row (-1: none): Enter opens it
	anchor int             // where Shift+click extends from (-1: none)

	// widths are the column widths the administrator dragged, by column
	// set and column, kept for the session; fit are the widths that fit
	// the content shown (see columns.go).
	widths map[string]float32
	fit    []float32
	sizing bool // the pane is setting the widths: headers laid out meanwhile are not dragged

	// open is called with the node ID of a double-clicked row.
	open func(id string)
	// onKey handles a key typed in the focused table, reporting whether
	// it took it.
	onKey func(ev *fyne.KeyEvent) bool
	// onSelect is called after the administrator changed the selection.
	onSelect func()
	// onMenu shows the selection's context menu at an absolute position.
	onMenu func(pos fyne.Position)
	// offline reports whether the row of node id is a disabled image.
	offline func(id string) bool
}

// offlineTextColor is the text colour of offline (disabled) images, in the
// tree and in the details list: the foreground, as readable as any text
// (WCAG contrast 4.5:1 at least against the background, also under the
// selection highlight, in the light and the dark variant; see
// TestOfflineRowsContrast). Italics and the disabled icon tell them apart;
// the greyed ColorNameDisabled they had reads at 1.3:1 on white.
const offlineTextColor = theme.ColorNameForeground

// cell is one cell of the details table: a label on a background that
// shows whether its row is selected. A tap selects its row (with Ctrl or
// Shift held: toggles or extends), a right-click shows the context menu of
// the selection, a double-tap opens the row.
type cell struct {
	widget.BaseWidget
	p     *detailsPane
	id    widget.TableCellID
	bg    *canvas.Rectangle
	label *widget.Label
	mods  fyne.KeyModifier // the modifiers held when the mouse went down
}

func newCell(p *detailsPane) *cell {
	c := &cell{p: p, bg: canvas.NewRectangle(color.Transparent), label: widget.NewLabel("")}
	c.label.Truncation = fyne.TextTruncateEllipsis
	c.ExtendBaseWidget(c)
	return c
}

func (c *cell) CreateRenderer() fyne.WidgetRenderer {
	return widget.NewSimpleRenderer(container.NewStack(c.bg, c.label))
}

// show points the cell at id.
func (c *cell) show(id widget.TableCellID) {
	c.id = id
	p := c.p
	text := ""
	if id.Row < len(p.content.Rows) && id.Col < len(p.content.Rows[id.Row]) {
		text = p.content.Rows[id.Row][id.Col]
	}
	style := fyne.TextStyle{}
	if p.isOffline(id.Row) {
		// Offline rows keep the foreground colour (readable: see
		// offlineTextColor) and say so in italics, as the tree does.
		style.Italic = true
	}
	if c.label.Text != text || c.label.TextStyle != style {
		c.label.TextStyle = style
		c.label.Text = text
		c.label.Refresh()
	}
	fill := color.Color(color.Transparent)
	if p.selected(id.Row) {
		fill = theme.Color(theme.ColorNameSelection)
	}
	if c.bg.FillColor != fill {
		c.bg.FillColor = fill
		c.bg.Refresh()
	}
}

func (c *cell) MouseDown(ev *desktop.MouseEvent) { c.mods = ev.Modifier }
func (c *cell) MouseUp(*desktop.MouseEvent)      {}

func (c *cell) Tapped(*fyne.PointEvent) {
	mods := c.mods
	c.mods = 0
	c.p.click(c.id.Row, mods)
	if cv := fyne.CurrentApp().Driver().CanvasForObject(c); cv != nil {
		cv.Focus(c.p.widget)
	}
}

// TappedSecondary shows the context menu of the selection; a row outside
// it becomes the selection first, as in Explorer.
func (c *cell) TappedSecondary(ev *fyne.PointEvent) {
	p := c.p
	if c.id.Row >= len(p.content.Rows) {
		return
	}
	if !p.selected(c.id.Row) {
		p.click(c.id.Row, 0)
	}
	if cv := fyne.CurrentApp().Driver().CanvasForObject(c); cv != nil {
		cv.Focus(p.widget)
	}
	if p.onMenu != nil {
		p.onMenu(ev.AbsolutePosition)
	}
}

func (c *cell) DoubleTapped(*fyne.PointEvent) {
	c.p.click(c.id.Row, 0)
	if c.p.open != nil && c.id.Row < len(c.p.content.RowIDs) {
		c.p.open(c.p.content.RowIDs[c.id.Row])
	}
}

func newDetailsPane() *detailsPane {
	p := &detailsPane{sortCol: -1, focus: -1, anchor: -1, sel: map[string]bool{}, widths: map[string]float32{}}
	p.widget = &keyTable{p: p}
	p.table = &p.widget.Table
	p.table.Length = func() (int, int) { return len(p.content.Rows), len(p.content.Columns) }
	p.table.CreateCell = func() fyne.CanvasObject { return newCell(p) }
	p.table.UpdateCell = func(id widget.TableCellID, obj fyne.CanvasObject) { obj.(*cell).show(id) }
	p.widget.ExtendBaseWidget(p.widget)
	p.table.ShowHeaderRow = true
	p.table.ShowHeaderColumn = false
	p.table.CreateHeader = func() fyne.CanvasObject { return newHeaderCell(p) }
	p.table.UpdateHeader = func(id widget.TableCellID, obj fyne.CanvasObject) {
		obj.(*headerCell).show(id.Col)
	}
	return p
}

// rowKey names row i of the content: its node ID, or its position when
// the table names no nodes (a property list).
func (p *detailsPane) rowKey(i int) string {
	if i < len(p.content.RowIDs) && p.content.RowIDs[i] != "" {
		return p.content.RowIDs[i]
	}
	return "#" + strconv.Itoa(i)
}

func (p *detailsPane) selected(i int) bool {
	return i >= 0 && i < len(p.content.Rows) && p.sel[p.rowKey(i)]
}

func (p *detailsPane) isOffline(i int) bool {
	return p.offline != nil && i < len(p.content.RowIDs) && p.content.RowIDs[i] != "" && p.offline(p.content.RowIDs[i])
}

// click selects row i as a click with modifiers mods does: alone; Ctrl
// (Cmd on macOS): toggled; Shift: the rows from the anchor to it.
func (p *detailsPane) click(i int, mods fyne.KeyModifier) {
	if i < 0 || i >= len(p.content.Rows) {
		return
	}
	switch {
	case mods&fyne.KeyModifierShift != 0 && p.anchor >= 0 && p.anchor < len(p.content.Rows):
		lo, hi := min(p.anchor, i), max(p.anchor, i)
		if mods&(fyne.KeyModifierControl|fyne.KeyModifierSuper) == 0 {
			clear(p.sel)
		}
		for r := lo; r <= hi; r++ {
			p.sel[p.rowKey(r)] = true
		}
	case mods&(fyne.KeyModifierControl|fyne.KeyModifierSuper) != 0:
		k := p.rowKey(i)
		if p.sel[k] {
			delete(p.sel, k)
		} else {
			p.sel[k] = true
		}
		p.anchor = i
	default:
		clear(p.sel)
		p.sel[p.rowKey(i)] = true
		p.anchor = i
	}
	p.focus = i
	p.table.ScrollTo(widget.TableCellID{Row: i, Col: 0})
	p.table.Refresh()
	if p.onSelect != nil {
		p.onSelect()
	}
}

// clearSelection unselects every row (the tree took over).
func (p *detailsPane) clearSelection() {
	if len(p.sel) == 0 && p.focus < 0 {
		return
	}
	clear(p.sel)
	p.focus, p.anchor = -1, -1
	p.table.Refresh()
	if p.onSelect != nil {
		p.onSelect()
	}
}

// selectedIDs returns the node IDs of the selected rows, top to bottom.
func (p *detailsPane) selectedIDs() []string {
	var out []string
	for i := range p.content.Rows {
		if i < len(p.content.RowIDs) && p.content.RowIDs[i] != "" && p.sel[p.content.RowIDs[i]] {
			out = append(out, p.content.RowIDs[i])
		}
	}
	return out
}

// focusedID returns the node ID of the focused row ("" when none).
func (p *detailsPane) focusedID() string {
	if p.focus >= 0 && p.focus < len(p.content.RowIDs) {
		return p.content.RowIDs[p.focus]
	}
	return ""
}

// sortBy sorts by column col; a second click on the same column reverses.
func (p *detailsPane) sortBy(col int) {
	focused := p.rowKey(max(p.focus, 0))
	if p.sortCol == col {
		p.desc = !p.desc
	} else {
		p.sortCol, p.desc = col, false
	}
	p.content = p.raw.Sorted(p.sortCol, p.desc)
	p.refocus(focused)
	p.table.Refresh()
}

// refocus points the focus and anchor at the row whose key was key.
func (p *detailsPane) refocus(key string) {
	if p.focus < 0 {
		return
	}
	p.focus, p.anchor = -1, -1
	for i := range p.content.Rows {
		if p.rowKey(i) == key {
			p.focus, p.anchor = i, i
		}
	}
}

// show replaces the table's content with t, the details of node of. For
// the same node the sort and the selection stay (rows that went leave it);
// the columns take the widths dragged for them this session, or fit
// their content.
func (p *detailsPane) show(of string, t app.Table) {
	same := of == p.of && sameColumns(p.raw.Columns, t.Columns)
	if !sameColumns(p.raw.Columns, t.Columns) {
		p.sortCol, p.desc = -1, false
	}
	focused := p.rowKey(max(p.focus, 0))
	p.of = of
	p.raw = t
	p.content = t
	if p.sortCol >= 0 {
		p.content = t.Sorted(p.sortCol, p.desc)
	}
	if !same {
		clear(p.sel)
		p.focus, p.anchor = -1, -1
	} else {
		keep := map[string]bool{}
		for i := range p.content.Rows {
			if k := p.rowKey(i); p.sel[k] {
				keep[k] = true
			}
		}
		p.sel = keep
		p.refocus(focused)
	}
	p.fitWidths()
	p.sizing = true
	for col := range t.Columns {
		p.table.SetColumnWidth(col, p.width(col))
	}
	p.sizing = false
	p.table.Refresh()
}

func sameColumns(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
