package views

import (
	"context"
	"fmt"
	"path"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/wimconsole/wimconsole/app"
)

// findDialog is the Find Files dialog of an image group: a path pattern
// searched in every install image of the group, the matches listed with
// their image, and the selected one browsed or extracted. Tests drive it.
type findDialog struct {
	c       *Console
	srv     *app.Server
	group   string
	search  *widget.Entry
	found   *widget.Label
	list    *widget.List
	matches []app.FileMatch
	labels  []string // image label of each match
	sel     int
}

// findInGroup opens Find Files on the selected group.
func (c *Console) findInGroup() {
	n, ok := c.selectedNode()
	if !ok || n.Kind != app.KindGroup {
		return
	}
	w := &findDialog{c: c, srv: n.Server, group: n.Name, sel: -1}
	w.search = widget.NewEntry()
	w.search.SetPlaceHolder(`*.inf or \Windows\System32\drivers\*.sys`)
	w.search.OnSubmitted = func(string) { w.run() }
	w.found = widget.NewLabel("Every install image of the group is searched; a pattern without \\ matches names.")
	w.found.Wrapping = fyne.TextWrapWord
	w.list = widget.NewList(func() int { return len(w.matches) }, func() fyne.CanvasObject {
		return newListRow(columnRow(len(findColumnNames)), w.list.Select, func(widget.ListItemID) { w.browse() })
	}, func(id widget.ListItemID, o fyne.CanvasObject) {
		if id < 0 || id >= len(w.matches) {
			return
		}
		o.(*listRow).setTexts(id, w.columns(id))
	})
	w.list.OnSelected = func(id widget.ListItemID) { w.sel = id }
	w.list.OnUnselected = func(widget.ListItemID) { w.sel = -1 }
	header := columnRow(len(findColumnNames), findColumnNames...)
	top := container.NewVBox(
		container.NewBorder(nil, nil, nil, widget.NewButton("Search", w.run), w.search),
		w.found, header)
	buttons := container.NewHBox(widget.NewButton("Browse Folder", w.browse), widget.NewButton("Extract…", w.extract))
	d := dialog.NewCustom("Find Files in "+n.Label, "Close", container.NewBorder(top, buttons, nil, nil, w.list), c.Window)
	d.Resize(fyne.NewSize(960, 600))
	d.Show()
	c.current = w
}

// findColumnNames are the columns of the matches: the file's name and its
// whole path in Windows form (C:\Windows\System32\drivers\x.sys) apart.
var findColumnNames = []string{"Image", "Name", "Path", "Size", "Modified"}

// columns returns the texts of match id (see findColumnNames).
func (w *findDialog) columns(id int) []string {
	m := w.matches[id]
	cols := entryColumns(m.Entry, true) // name, path, size, attributes, modified, streams
	return []string{w.labels[id], cols[0], cols[1], cols[2], cols[4]}
}

// run searches the group for the pattern typed, in the background.
func (w *findDialog) run() {
	pattern := strings.TrimSpace(w.search.Text)
	if pattern == "" {
		return
	}
	srv, g := w.srv, w.group
	w.c.background(func() func() {
		ms, err := srv.FindInGroup(context.Background(), g, pattern)
		return func() {
			if err != nil {
				w.c.showError("Find "+pattern, err)
				return
			}
			w.matches, w.labels, w.sel = ms, make([]string, len(ms)), -1
			images := map[string]bool{}
			for i, m := range ms {
				w.labels[i] = m.Image.String()
				if n, ok := w.c.model.Node(app.ImageID(srv, m.Image)); ok {
					w.labels[i] = n.Label
				}
				images[m.Image.String()] = true
			}
			w.found.SetText(fmt.Sprintf("%d found in %d image%s", len(ms), len(images), plural(len(images))))
			w.list.UnselectAll()
			w.list.Refresh()
			w.c.current = w
		}
	})
}

// selected returns the selected match.
func (w *findDialog) selected() (app.FileMatch, bool) {
	if w.sel < 0 || w.sel >= len(w.matches) {
		dialog.ShowInformation("Find Files", "Select a file or folder found.", w.c.Window)
		return app.FileMatch{}, false
	}
	return w.matches[w.sel], true
}

// browse opens Browse Files on the selected match's image, in its folder
// (a folder found opens itself; a double-click on a match does the same).
func (w *findDialog) browse() {
	m, ok := w.selected()
	if !ok {
		return
	}
	dir := path.Dir(m.Path)
	if m.Dir {
		dir = m.Path
	}
	b := &fileBrowser{c: w.c, srv: w.srv, ref: m.Image, label: w.labels[w.sel], sel: -1}
	b.showAt("Browse Files – "+b.label, dir)
}

// extract extracts the selected match to a folder.
func (w *findDialog) extract() {
	if m, ok := w.selected(); ok {
		w.c.extractPath(w.srv, m.Image, m.Path)
	}
}
