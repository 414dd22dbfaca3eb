package views

import (
	"strconv"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// The details table's column headers: a click sorts by the column (a
// second click reverses); dragging the separator between two headers
// (the table's own resize: the pointer turns into a resize arrow over it)
// resizes the column on its left. Widths dragged are kept for the session
// (detailsPane.widths): through reloads, and when the pane shows another
// node and comes back to the same columns. Columns not dragged fit their
// content each time the pane is shown.

// headerCell is one column header: a flat button that sorts.
type headerCell struct {
	widget.Button
	p   *detailsPane
	col int
}

func newHeaderCell(p *detailsPane) *headerCell {
	h := &headerCell{p: p, col: -1}
	h.Importance = widget.LowImportance
	h.Alignment = widget.ButtonAlignLeading
	h.OnTapped = func() {
		if h.col >= 0 {
			p.sortBy(h.col)
		}
	}
	h.ExtendBaseWidget(h)
	return h
}

// show points the header at column col. The table has laid the header
// out at the column's width just before: a width other than the one the
// pane set is one the administrator dragged, and is kept.
func (h *headerCell) show(col int) {
	p := h.p
	h.col = col
	if w := h.Size().Width; w > 0 {
		p.noteWidth(col, w)
	}
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
	if h.Text != text || h.Icon != icon {
		h.Icon = icon
		h.Text = text
		h.Refresh()
	}
}

// widthKey names column col of the columns shown, for widths.
func (p *detailsPane) widthKey(col int) string {
	return strings.Join(p.content.Columns, "\x00") + "\x01" + strconv.Itoa(col)
}

// width returns column col's width: as dragged this session, or what fits
// its content.
func (p *detailsPane) width(col int) float32 {
	if w, ok := p.widths[p.widthKey(col)]; ok {
		return w
	}
	if col >= 0 && col < len(p.fit) {
		return p.fit[col]
	}
	return 0
}

// noteWidth keeps w as column col's width when it is not the width the
// pane gave the column: the administrator dragged it.
func (p *detailsPane) noteWidth(col int, w float32) {
	if p.sizing || col < 0 || col >= len(p.content.Columns) {
		return
	}
	if d := w - p.width(col); d > 0.5 || d < -0.5 {
		p.widths[p.widthKey(col)] = w
	}
}

// fitWidths computes the widths that fit the columns' content.
func (p *detailsPane) fitWidths() {
	t := p.content
	p.fit = make([]float32, len(t.Columns))
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
		p.fit[col] = min(w, 520)
	}
}

func textWidth(s string) float32 {
	return fyne.MeasureText(s, 14, fyne.TextStyle{Bold: true}).Width + 24
}
