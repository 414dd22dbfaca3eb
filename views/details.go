package views

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/wimconsole/wimconsole/app"
)

// detailsPane is the right-hand table: the details of the selected node,
// sorted by the column whose header was last clicked.
type detailsPane struct {
	table   *widget.Table
	widget  *keyTable // the table as the window holds it (it takes the keys)
	row     int       // the selected row (-1: none)
	raw     app.Table // as the model gave it
	content app.Table // as shown (sorted)
	sortCol int       // -1: model order
	desc    bool
	// open is called with the node ID of a double-clicked row.
	open func(id string)
	// onKey handles a key typed in the focused table, reporting whether
	// it took it.
	onKey func(ev *fyne.KeyEvent) bool
}

// cell is one cell of the details table: a label that selects its row on a
// tap and opens it on a double-tap.
type cell struct {
	widget.Label
	p  *detailsPane
	id widget.TableCellID
}

func newCell(p *detailsPane) *cell {
	c := &cell{p: p}
	c.Truncation = fyne.TextTruncateEllipsis
	c.ExtendBaseWidget(c)
	return c
}

func (c *cell) Tapped(*fyne.PointEvent) {
	c.p.table.Select(c.id)
	if cv := fyne.CurrentApp().Driver().CanvasForObject(c); cv != nil {
		cv.Focus(c.p.widget)
	}
}

func (c *cell) DoubleTapped(*fyne.PointEvent) {
	c.p.table.Select(c.id)
	if c.p.open != nil && c.id.Row < len(c.p.content.RowIDs) {
		c.p.open(c.p.content.RowIDs[c.id.Row])
	}
}

func newDetailsPane() *detailsPane {
	p := &detailsPane{sortCol: -1, row: -1}
	p.widget = &keyTable{p: p}
	p.table = &p.widget.Table
	p.table.Length = func() (int, int) { return len(p.content.Rows), len(p.content.Columns) }
	p.table.CreateCell = func() fyne.CanvasObject { return newCell(p) }
	p.table.UpdateCell = func(id widget.TableCellID, obj fyne.CanvasObject) {
		text := ""
		if id.Row < len(p.content.Rows) && id.Col < len(p.content.Rows[id.Row]) {
			text = p.content.Rows[id.Row][id.Col]
		}
		c := obj.(*cell)
		c.id = id
		c.SetText(text)
	}
	p.widget.ExtendBaseWidget(p.widget)
	p.table.ShowHeaderRow = true
	p.table.ShowHeaderColumn = false
	p.table.OnSelected = func(id widget.TableCellID) { p.row = id.Row }
	p.table.OnUnselected = func(widget.TableCellID) { p.row = -1 }
	p.table.CreateHeader = func() fyne.CanvasObject {
		b := widget.NewButton("", nil)
		b.Importance = widget.LowImportance
		b.Alignment = widget.ButtonAlignLeading
		return b
	}
	p.table.UpdateHeader = func(id widget.TableCellID, obj fyne.CanvasObject) {
		b := obj.(*widget.Button)
		text := ""
		if id.Row < 0 && id.Col >= 0 && id.Col < len(p.content.Columns) {
			text = p.content.Columns[id.Col]
		}
		b.SetIcon(nil)
		if id.Col == p.sortCol {
			if p.desc {
				b.SetIcon(theme.MenuDropDownIcon())
			} else {
				b.SetIcon(theme.MenuDropUpIcon())
			}
		}
		b.SetText(text)
		col := id.Col
		b.OnTapped = func() { p.sortBy(col) }
	}
	return p
}

// sortBy sorts by column col; a second click on the same column reverses.
func (p *detailsPane) sortBy(col int) {
	if p.sortCol == col {
		p.desc = !p.desc
	} else {
		p.sortCol, p.desc = col, false
	}
	p.content = p.raw.Sorted(p.sortCol, p.desc)
	p.table.Refresh()
}

// show replaces the table's content (keeping the sort when the columns are
// the same) and sizes the columns to fit it.
func (p *detailsPane) show(t app.Table) {
	if !sameColumns(p.raw.Columns, t.Columns) {
		p.sortCol, p.desc = -1, false
		p.table.UnselectAll()
	}
	p.raw = t
	p.content = t
	if p.sortCol >= 0 {
		p.content = t.Sorted(p.sortCol, p.desc)
	}
	for col := range t.Columns {
		w := textWidth(t.Columns[col]) + theme.IconInlineSize()
		for i, r := range t.Rows {
			if i > 200 { // enough to size the column; keeps big tables fast
				break
			}
			if col < len(r) {
				w = max(w, textWidth(r[col]))
			}
		}
		p.table.SetColumnWidth(col, min(w, 520))
	}
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

func textWidth(s string) float32 {
	return fyne.MeasureText(s, 14, fyne.TextStyle{Bold: true}).Width + 24
}
