package views

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"

	"github.com/wimconsole/wimconsole/app"
)

// detailsPane is the right-hand table: the details of the selected node.
type detailsPane struct {
	table   *widget.Table
	content app.Table
}

func newDetailsPane() *detailsPane {
	p := &detailsPane{}
	p.table = widget.NewTableWithHeaders(
		func() (int, int) { return len(p.content.Rows), len(p.content.Columns) },
		func() fyne.CanvasObject { return widget.NewLabel("") },
		func(id widget.TableCellID, obj fyne.CanvasObject) {
			text := ""
			if id.Row < len(p.content.Rows) && id.Col < len(p.content.Rows[id.Row]) {
				text = p.content.Rows[id.Row][id.Col]
			}
			obj.(*widget.Label).SetText(text)
		},
	)
	p.table.ShowHeaderColumn = false
	p.table.CreateHeader = func() fyne.CanvasObject {
		l := widget.NewLabel("")
		l.TextStyle.Bold = true
		return l
	}
	p.table.UpdateHeader = func(id widget.TableCellID, obj fyne.CanvasObject) {
		text := ""
		if id.Row < 0 && id.Col >= 0 && id.Col < len(p.content.Columns) {
			text = p.content.Columns[id.Col]
		}
		obj.(*widget.Label).SetText(text)
	}
	return p
}

// show replaces the table's content and sizes the columns to fit it.
func (p *detailsPane) show(t app.Table) {
	p.content = t
	for col := range t.Columns {
		w := textWidth(t.Columns[col])
		for _, r := range t.Rows {
			if col < len(r) {
				w = max(w, textWidth(r[col]))
			}
		}
		p.table.SetColumnWidth(col, min(w, 520))
	}
	p.table.Refresh()
}

func textWidth(s string) float32 {
	return fyne.MeasureText(s, 14, fyne.TextStyle{Bold: true}).Width + 24
}
