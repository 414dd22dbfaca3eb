package views

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// The details table's column headers: a click sorts by the column (a
// second click reverses), dragging the separator at a header's right edge
// resizes the column. Widths dragged are kept for the session (see
// detailsPane.widths), also when the pane shows another node and comes
// back, and when the store is reloaded.

// gripWidth is how wide the separator that resizes a column is to grab.
const gripWidth = 8

// headerCell is one column header: the sort button and the grip.
type headerCell struct {
	widget.BaseWidget
	p    *detailsPane
	col  int
	sort *widget.Button
	grip *columnGrip
}

func newHeaderCell(p *detailsPane) *headerCell {
	h := &headerCell{p: p, col: -1}
	h.sort = widget.NewButton("", func() {
		if h.col >= 0 {
			p.sortBy(h.col)
		}
	})
	h.sort.Importance = widget.LowImportance
	h.sort.Alignment = widget.ButtonAlignLeading
	h.grip = &columnGrip{h: h, line: canvas.NewRectangle(theme.Color(theme.ColorNameSeparator))}
	h.grip.ExtendBaseWidget(h.grip)
	h.ExtendBaseWidget(h)
	return h
}

func (h *headerCell) CreateRenderer() fyne.WidgetRenderer {
	return widget.NewSimpleRenderer(container.New(&headerLayout{h: h}, h.sort, h.grip))
}

// show points the header at column col.
func (h *headerCell) show(col int) {
	p := h.p
	h.col = col
	text := ""
	if col >= 0 && col < len(p.content.Columns) {
		text = p.content.Columns[col]
	}
	var icon fyne.Resource
	if col == p.sortCol {
		if p.desc {
			icon = theme.MenuDropDownIcon()
		} else {
			icon = theme.MenuDropUpIcon()
		}
	}
	if h.sort.Text != text || h.sort.Icon != icon {
		h.sort.Icon = icon
		h.sort.Text = text
		h.sort.Refresh()
	}
}

// headerLayout lays out the sort button over the whole header and the grip
// along its right edge, on top.
type headerLayout struct{ h *headerCell }

func (*headerLayout) MinSize(objs []fyne.CanvasObject) fyne.Size { return objs[0].MinSize() }

func (l *headerLayout) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	objs[0].Move(fyne.NewPos(0, 0))
	objs[0].Resize(size)
	objs[1].Move(fyne.NewPos(size.Width-gripWidth, 0))
	objs[1].Resize(fyne.NewSize(gripWidth, size.Height))
	l.h.p.headerH = size.Height
}

// columnGrip is the separator at a header's right edge: dragging it
// resizes the column.
type columnGrip struct {
	widget.BaseWidget
	h     *headerCell
	line  *canvas.Rectangle
	start float32 // the column's width when the drag began (-1: no drag)
	moved float32
}

func (g *columnGrip) CreateRenderer() fyne.WidgetRenderer {
	return &gripRenderer{g: g}
}

func (g *columnGrip) Cursor() desktop.Cursor { return desktop.HResizeCursor }

func (g *columnGrip) Dragged(ev *fyne.DragEvent) {
	col := g.h.col
	if col < 0 {
		return
	}
	if g.start <= 0 {
		g.start, g.moved = g.h.p.width(col), 0
	}
	g.moved += ev.Dragged.DX
	g.h.p.setWidth(col, g.start+g.moved)
}

func (g *columnGrip) DragEnd() { g.start, g.moved = 0, 0 }

// gripRenderer draws the grip as a thin line in the middle of its strip.
type gripRenderer struct{ g *columnGrip }

func (r *gripRenderer) Layout(size fyne.Size) {
	r.g.line.Move(fyne.NewPos(size.Width-2, size.Height/4))
	r.g.line.Resize(fyne.NewSize(1, size.Height/2))
}
func (r *gripRenderer) MinSize() fyne.Size { return fyne.NewSize(gripWidth, 1) }
func (r *gripRenderer) Refresh() {
	r.g.line.FillColor = theme.Color(theme.ColorNameSeparator)
	r.g.line.Refresh()
}
func (r *gripRenderer) Objects() []fyne.CanvasObject { return []fyne.CanvasObject{r.g.line} }
func (r *gripRenderer) Destroy()                     {}
