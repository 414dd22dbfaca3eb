package views

import (
	"context"
	"fmt"
	"path"
	"path/filepath"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/wimconsole/wimconsole/app"
	"github.com/wimconsole/wimconsole/engine/progress"
)

// fileBrowser shows an image's files without extracting it: one folder at
// a time (name, size, attributes, modified), a search by path pattern, and
// Extract… of the selected entry. In a servicing session it shows the tree
// with the staged changes, the change list, and the buttons that stage
// changes, commit or discard them.
type fileBrowser struct {
	c     *Console
	srv   *app.Server
	ref   app.ImageRef
	label string
	ss    *app.Session // nil: browsing only
	// closed is set when the dialog has closed.
	closed bool

	dir       string          // the folder shown ("/")
	searching bool            // entries are search results
	header    *fyne.Container // the column names (they change for search results)
	entries   []app.FileEntry
	sel       int // index in entries, -1 for none
	changes   []app.StagedChange

	dlg       dialog.Dialog
	pathLabel *widget.Label
	list      *widget.List
	search    *widget.Entry
	changeBox *widget.List
}

// browseFiles opens the file browser on the selected image.
func (c *Console) browseFiles() {
	n, ok := c.selectedNode()
	if !ok || n.Image == nil {
		return
	}
	b := &fileBrowser{c: c, srv: n.Server, ref: n.Ref(), label: n.Label, sel: -1}
	b.show("Browse Files – " + n.Label)
}

// serviceImage begins or resumes a servicing session on the selected image,
// which must be disabled, and opens the browser on it.
func (c *Console) serviceImage() {
	n, ok := c.selectedNode()
	if !ok || n.Image == nil {
		return
	}
	if !n.Disabled() {
		dialog.ShowInformation("Service Image", "Disable "+n.Label+" first.\n\n"+app.ErrImageEnabled.Error()+".", c.Window)
		return
	}
	srv, r, label := n.Server, n.Ref(), n.Label
	c.background(func() func() {
		ss, err := srv.ServiceImage(context.Background(), r)
		return func() {
			if err != nil {
				c.showError("Service "+label, err)
				return
			}
			if ss.Mount != "" {
				// A mounted image is changed in its folder.
				c.showUnmount(srv, r, label, ss)
				return
			}
			b := &fileBrowser{c: c, srv: srv, ref: r, label: label, ss: ss, sel: -1}
			b.show("Service Image – " + label)
		}
	})
}

func (b *fileBrowser) show(title string) { b.showAt(title, "/") }

// showAt opens the browser's dialog on the folder dir.
func (b *fileBrowser) showAt(title, dir string) {
	b.pathLabel = widget.NewLabel("/")
	b.list = widget.NewList(func() int { return len(b.entries) }, func() fyne.CanvasObject {
		return newListRow(columnRow(len(entryColumnNames)), b.list.Select, func(widget.ListItemID) { b.openSelected() })
	}, func(id widget.ListItemID, o fyne.CanvasObject) {
		if id < 0 || id >= len(b.entries) {
			return
		}
		o.(*listRow).setTexts(id, entryColumns(b.entries[id], b.searching))
	})
	b.list.OnSelected = func(id widget.ListItemID) { b.sel = id }
	b.list.OnUnselected = func(widget.ListItemID) { b.sel = -1 }
	b.search = widget.NewEntry()
	b.search.SetPlaceHolder(`Search: *.inf or \Windows\System32\*.dll`)
	b.search.OnSubmitted = b.runSearch
	header := columnRow(len(entryColumnNames), entryColumnNames...)
	b.header = header
	nav := container.NewHBox(
		widget.NewButton("Up", b.up),
		widget.NewButton("Open", b.openSelected),
		widget.NewButton("Extract…", b.extract),
	)
	top := container.NewVBox(container.NewBorder(nil, nil, nil, widget.NewButton("Search", func() { b.runSearch(b.search.Text) }), b.search),
		container.NewBorder(nil, nil, nav, nil, b.pathLabel), header)
	content := container.NewBorder(top, nil, nil, nil, b.list)
	if b.ss != nil {
		b.changeBox = widget.NewList(func() int { return len(b.changes) }, func() fyne.CanvasObject { return widget.NewLabel("") },
			func(id widget.ListItemID, o fyne.CanvasObject) {
				if id >= 0 && id < len(b.changes) {
					o.(*widget.Label).SetText(b.changes[id].String())
				}
			})
		edit := container.NewHBox(
			widget.NewButton("Add Files…", b.addFiles),
			widget.NewButton("Add Folder…", b.addFolder),
			widget.NewButton("New Folder…", b.newFolder),
			widget.NewButton("Replace…", b.replaceSelected),
			widget.NewButton("Delete", b.deleteSelected),
			widget.NewButton("Rename…", b.renameSelected),
			widget.NewButton("Registry…", b.openRegistry),
			widget.NewButton("Commit…", b.askCommit),
			widget.NewButton("Discard", b.discard),
		)
		changes := container.NewBorder(container.NewVBox(edit, widget.NewLabel("Staged changes")), nil, nil, nil, b.changeBox)
		split := container.NewVSplit(content, changes)
		split.Offset = 0.65
		content = container.NewStack(split)
	}
	b.dlg = dialog.NewCustom(title, "Close", content, b.c.Window)
	b.dlg.SetOnClosed(func() {
		b.closed = true
		if b.c.browser == b {
			b.c.browser = nil
		}
	})
	b.c.browser = b
	b.dlg.Resize(fyne.NewSize(1000, 640))
	b.dlg.Show()
	b.c.current = b
	b.open(dir)
}

// entryColumnNames are the browser's columns; searchColumnNames those of
// its search results, which show where each one is instead of its
// creation date.
var (
	entryColumnNames  = []string{"Name", "Size", "Attributes", "Created", "Modified", "Streams"}
	searchColumnNames = []string{"Name", "Path", "Size", "Attributes", "Modified", "Streams"}
)

// entryColumns returns the columns of e (see entryColumnNames; with
// whole, searchColumnNames: the whole path in Windows form, as
// C:\Windows\System32\drivers\x.sys); Streams names the named data
// streams.
func entryColumns(e app.FileEntry, whole bool) []string {
	name := path.Base(e.Path)
	size := ""
	if e.Dir {
		name += "/"
	} else {
		size = app.FormatBytes(e.Size)
	}
	if whole {
		return []string{name, windowsPath(e.Path), size, app.FormatAttributes(e.Attributes), app.FormatDate(e.Modified), strings.Join(e.Streams, ", ")}
	}
	return []string{name, size, app.FormatAttributes(e.Attributes), app.FormatDate(e.Created), app.FormatDate(e.Modified), strings.Join(e.Streams, ", ")}
}

// columnRow returns a row of n labels that cut long text with an ellipsis,
// or of the texts given.
func columnRow(n int, texts ...string) *fyne.Container {
	row := container.NewGridWithColumns(n)
	for i := range n {
		l := widget.NewLabel("")
		if i < len(texts) {
			l.SetText(texts[i])
			l.TextStyle.Bold = true
		}
		l.Truncation = fyne.TextTruncateEllipsis
		row.Add(l)
	}
	return row
}

// load runs list in the background and shows its entries.
func (b *fileBrowser) load(what string, searching bool, dir string, list func() ([]app.FileEntry, error)) {
	b.c.background(func() func() {
		entries, err := list()
		var changes []app.StagedChange
		if b.ss != nil {
			changes = append(changes, b.ss.Changes...)
		}
		return func() {
			if err != nil {
				b.c.showError(what, err)
				return
			}
			b.entries, b.searching, b.dir, b.sel = entries, searching, dir, -1
			names := entryColumnNames
			if searching {
				names = searchColumnNames
			}
			for i, l := range b.header.Objects {
				l.(*widget.Label).SetText(names[i])
			}
			b.changes = changes
			b.pathLabel.SetText(imagePath(dir))
			if searching {
				b.pathLabel.SetText(fmt.Sprintf("%d found", len(entries)))
			}
			b.list.UnselectAll()
			b.list.Refresh()
			if b.changeBox != nil {
				b.changeBox.Refresh()
			}
		}
	})
}

// open shows the folder dir of the image (or of the serviced tree).
func (b *fileBrowser) open(dir string) {
	b.load("Browse "+dir, false, dir, func() ([]app.FileEntry, error) {
		if b.ss != nil {
			return app.SessionEntries(b.ss, dir)
		}
		return b.srv.ListFiles(context.Background(), b.ref, dir)
	})
}

func (b *fileBrowser) up() {
	if b.searching {
		b.open(b.dir)
		return
	}
	b.open(path.Dir(b.dir))
}

// selected returns the selected entry.
func (b *fileBrowser) selected() (app.FileEntry, bool) {
	if b.sel < 0 || b.sel >= len(b.entries) {
		return app.FileEntry{}, false
	}
	return b.entries[b.sel], true
}

// selectPath selects the entry at image path p among those shown.
func (b *fileBrowser) selectPath(p string) bool {
	for i, e := range b.entries {
		if strings.EqualFold(e.Path, p) {
			b.list.Select(i)
			b.sel = i
			return true
		}
	}
	return false
}

func (b *fileBrowser) openSelected() {
	if e, ok := b.selected(); ok && e.Dir {
		b.open(e.Path)
	}
}

// runSearch shows the entries of the image matching pattern.
func (b *fileBrowser) runSearch(pattern string) {
	pattern = strings.TrimSpace(pattern)
	if pattern == "" {
		b.open(b.dir)
		return
	}
	dir := b.dir
	b.load("Search "+pattern, true, dir, func() ([]app.FileEntry, error) {
		if b.ss != nil {
			return app.SessionSearch(context.Background(), b.ss, pattern)
		}
		ms, err := b.srv.SearchFiles(context.Background(), b.ref, pattern)
		out := make([]app.FileEntry, len(ms))
		for i, m := range ms {
			out[i] = m.Entry
		}
		return out, err
	})
}

// extract asks for a folder and extracts the selected entry into it, as a
// job.
func (b *fileBrowser) extract() {
	e, ok := b.selected()
	if !ok {
		dialog.ShowInformation("Extract", "Select a file or folder to extract.", b.c.Window)
		return
	}
	b.c.extractPath(b.srv, b.ref, e.Path)
}

// extractPath asks for a folder and extracts the file or folder at image
// path p of image r into it, as a job.
func (c *Console) extractPath(srv *app.Server, r app.ImageRef, p string) {
	title := "Extract " + path.Base(p)
	c.pickFolder("Extract to folder", func(dest string) {
		c.runJob(title, func(ctx context.Context, report progress.Func) error {
			return srv.ExtractFiles(ctx, r, []string{p}, dest, report)
		}, nil)
	})
}

// stage runs a change of the session in the background, then shows the
// folder again with the change list.
func (b *fileBrowser) stage(what string, fn func() error) {
	dir := b.dir
	b.c.background(func() func() {
		err := fn()
		return func() {
			if err != nil {
				b.c.showError(what, err)
			}
			b.open(dir)
		}
	})
}

// addFiles asks for files and stages adding them to the folder shown.
func (b *fileBrowser) addFiles() {
	if b.ss == nil || b.searching {
		return
	}
	b.c.openFiles("Add Files to "+imagePath(b.dir), nil, b.addLocal)
}

// addFolder asks for a folder and stages adding it, with everything in it,
// to the folder shown.
func (b *fileBrowser) addFolder() {
	if b.ss == nil || b.searching {
		return
	}
	b.c.pickFolder("Add Folder to "+imagePath(b.dir), func(folder string) { b.addLocal([]string{folder}) })
}

// addLocal stages adding the local files and folders paths to the folder
// shown; each keeps its name.
func (b *fileBrowser) addLocal(paths []string) {
	dir := b.dir
	b.stage("Add "+strings.Join(baseNames(paths), ", "), func() error {
		for _, p := range paths {
			if err := b.ss.Add(p, path.Join(dir, filepath.Base(p))); err != nil {
				return err
			}
		}
		return nil
	})
}

// dropped stages adding files and folders dropped on the window while the
// session's browser is open. It reports whether the browser took them.
func (b *fileBrowser) dropped(paths []string) bool {
	if b.ss == nil || b.closed {
		return false
	}
	if b.searching {
		dialog.ShowInformation("Add Files", "Open a folder of the image (leave the search results) to drop files into it.", b.c.Window)
		return true
	}
	b.addLocal(paths)
	return true
}

// replaceSelected asks for a local file and stages replacing the selected
// file's data with it (name, attributes and security stay).
func (b *fileBrowser) replaceSelected() {
	e, ok := b.selected()
	if b.ss == nil {
		return
	}
	if !ok || e.Dir {
		dialog.ShowInformation("Replace", "Select the file to replace.", b.c.Window)
		return
	}
	b.c.openFiles("Replace "+imagePath(e.Path), nil, func(files []string) {
		if len(files) != 1 {
			b.c.showError("Replace "+path.Base(e.Path), fmt.Errorf("choose one file, not %d", len(files)))
			return
		}
		b.stage("Replace "+path.Base(e.Path), func() error { return b.ss.Replace(e.Path, files[0]) })
	})
}

// imagePath shows an image path as Windows does (\Windows\System32).
func imagePath(p string) string { return strings.ReplaceAll(p, "/", `\`) }

// plural returns "s" unless n is 1, for counts in messages.
func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func baseNames(paths []string) []string {
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i] = filepath.Base(p)
	}
	return out
}

// deleteSelected stages deleting the selected entry.
func (b *fileBrowser) deleteSelected() {
	e, ok := b.selected()
	if b.ss == nil || !ok {
		return
	}
	b.stage("Delete "+path.Base(e.Path), func() error { return b.ss.Delete(e.Path) })
}

// renameSelected asks for a new name and stages the rename.
func (b *fileBrowser) renameSelected() {
	e, ok := b.selected()
	if b.ss == nil || !ok {
		return
	}
	b.c.askName("Rename", "New name", path.Base(e.Path), app.CheckEntryName, func(name string) {
		b.c.current = b
		b.stage("Rename "+path.Base(e.Path), func() error { return b.ss.Rename(e.Path, name) })
	})
}

// newFolder asks for a name and stages a new empty folder in the folder
// shown.
func (b *fileBrowser) newFolder() {
	if b.ss == nil || b.searching {
		return
	}
	dir := b.dir
	b.c.askName("New Folder", "Name", "New Folder", app.CheckEntryName, func(name string) {
		b.c.current = b
		b.stage("New folder "+name, func() error { return b.ss.Mkdir(path.Join(dir, name)) })
	})
}

// askCommit asks how to commit: as an update of the image, or as a new
// image with a file name.
func (b *fileBrowser) askCommit() {
	if b.ss == nil {
		return
	}
	const update, asNew = "Update the image", "Save as a new image"
	how, file := commitChoice([]string{update, asNew}, asNew, b.srv.FreeFileName(b.ref))
	items := []*widget.FormItem{
		widget.NewFormItem("Changes", widget.NewLabel(fmt.Sprintf("%d staged", len(b.ss.Changes)))),
		widget.NewFormItem("Commit as", how),
		widget.NewFormItem("File name", file),
	}
	f := dialog.NewForm("Commit "+b.label, "Commit", "Cancel", items, func(ok bool) {
		if !ok {
			return
		}
		name := ""
		if how.Selected == asNew {
			name = strings.TrimSuffix(strings.TrimSpace(file.Text), ".wim")
			if err := app.CheckFileName(name); err != nil {
				b.c.showError("Commit", err)
				return
			}
		}
		b.commit(name)
	}, b.c.Window)
	f.Resize(fyne.NewSize(460, 0))
	f.Show()
}

// commit commits the session as a job (as a new image named newImage when
// set); the browser closes when it succeeds.
func (b *fileBrowser) commit(newImage string) {
	ss := b.ss
	b.c.runJob("Commit "+b.label, func(ctx context.Context, report progress.Func) error {
		_, err := ss.Commit(ctx, app.CommitOptions{NewImage: newImage, Progress: report})
		return err
	}, func(err error) {
		if err == nil {
			b.dlg.Hide()
		}
	})
}

// discard asks, then ends the session without changing the image.
func (b *fileBrowser) discard() {
	if b.ss == nil {
		return
	}
	b.c.confirm("Discard Changes", fmt.Sprintf("Discard the %d staged changes to %s? The image stays as it is.", len(b.ss.Changes), b.label), "Discard", func() {
		b.doDiscard()
	})
}

func (b *fileBrowser) doDiscard() {
	ss := b.ss
	b.c.background(func() func() {
		err := ss.Discard()
		return func() {
			if err != nil {
				b.c.showError("Discard", err)
				return
			}
			b.dlg.Hide()
		}
	})
}
