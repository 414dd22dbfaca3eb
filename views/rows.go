package views

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"
)

// listRow is one row of a widget.List of files: a tap selects it, a
// double-tap (which widget.List does not report) selects and opens it,
// as in Explorer.
type listRow struct {
	widget.BaseWidget
	cells  *fyne.Container // the row's labels (columnRow)
	id     widget.ListItemID
	choose func(widget.ListItemID) // selects the row's item
	open   func(widget.ListItemID) // opens it (a folder: shows its files)
}

func newListRow(cells *fyne.Container, choose, open func(widget.ListItemID)) *listRow {
	r := &listRow{cells: cells, id: -1, choose: choose, open: open}
	r.ExtendBaseWidget(r)
	return r
}

func (r *listRow) CreateRenderer() fyne.WidgetRenderer { return widget.NewSimpleRenderer(r.cells) }

func (r *listRow) Tapped(*fyne.PointEvent) {
	if r.id >= 0 {
		r.choose(r.id)
	}
}

func (r *listRow) DoubleTapped(*fyne.PointEvent) {
	if r.id >= 0 {
		r.choose(r.id)
		r.open(r.id)
	}
}

// setTexts shows texts in the row's cells, the row standing for item id.
func (r *listRow) setTexts(id widget.ListItemID, texts []string) {
	r.id = id
	for i, s := range texts {
		if i < len(r.cells.Objects) {
			r.cells.Objects[i].(*widget.Label).SetText(s)
		}
	}
}

// windowsPath writes an image path (/Windows/System32) as Windows shows it
// once the image is applied: C:\Windows\System32.
func windowsPath(p string) string { return `C:` + imagePath(p) }
