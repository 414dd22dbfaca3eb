package views

import (
	"errors"
	"os"
	"path/filepath"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/widget"

	"github.com/wimconsole/wimconsole/app"
)

// The file dialogs. Every caller asks through these: the native dialog
// (c.dialogs) blocks until the user answers, so it is called in the
// background and its answer handed to then on the main goroutine; the window
// stays responsive meanwhile. One native dialog is open at a time: asking
// again while one is open says so instead of stacking a second one. When the
// native dialogs cannot be shown on this system (app.ErrNoNativeDialogs)
// Fyne's own dialog opens in the window instead. then is not called when the
// user cancels.

// fileDialogBusy is what asking for a second file dialog says.
const fileDialogBusy = "A file dialog is already open. Choose or cancel there first."

// openFiles asks for files to open with filters; title names what for.
func (c *Console) openFiles(title string, filters []app.FileFilter, then func([]string)) {
	c.nativeFileDialog(title, func() ([]string, error) {
		return c.dialogs.OpenFiles(title, filters...)
	}, func() { c.fyneOpenFile(title, filters, then) }, then)
}

// saveFile asks for the file to save to, suggested by name.
func (c *Console) saveFile(title, suggested string, filters []app.FileFilter, then func(string)) {
	c.nativeFileDialog(title, func() ([]string, error) {
		name, err := c.dialogs.SaveFile(title, suggested, filters...)
		return []string{name}, err
	}, func() { c.fyneSaveFile(title, suggested, then) }, func(p []string) { then(p[0]) })
}

// pickFolder asks for a folder.
func (c *Console) pickFolder(title string, then func(string)) {
	c.nativeFileDialog(title, func() ([]string, error) {
		name, err := c.dialogs.PickFolder(title)
		return []string{name}, err
	}, func() { c.fynePickFolder(title, then) }, func(p []string) { then(p[0]) })
}

// nativeFileDialog runs native in the background and hands its answer to
// then, or falls back when the native dialogs cannot be shown. An empty
// answer counts as cancelled.
func (c *Console) nativeFileDialog(title string, native func() ([]string, error), fallback func(), then func([]string)) {
	if c.fileDialogOpen {
		c.showInfo(title, fileDialogBusy)
		return
	}
	c.fileDialogOpen = true
	c.background(func() func() {
		paths, err := native()
		return func() {
			c.fileDialogOpen = false
			switch {
			case errors.Is(err, app.ErrCancelled):
			case errors.Is(err, app.ErrNoNativeDialogs):
				fallback()
			case err != nil:
				c.showError(title, err)
			case len(paths) > 0 && paths[0] != "":
				then(paths)
			}
		}
	})
}

// fileDialogSize is the size of Fyne's file dialogs in the window.
var fileDialogSize = fyne.NewSize(760, 520)

// fyneOpenFile is Fyne's open dialog, for one file.
func (c *Console) fyneOpenFile(title string, filters []app.FileFilter, then func([]string)) {
	d := dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
		if err != nil {
			c.showError(title, err)
			return
		}
		if r == nil {
			return
		}
		name := r.URI().Path()
		_ = r.Close() // only read for its name
		then([]string{name})
	}, c.Window)
	var exts []string
	for _, f := range filters {
		for _, e := range f.Extensions {
			exts = append(exts, "."+strings.TrimPrefix(e, "."))
		}
	}
	if len(exts) > 0 {
		d.SetFilter(storage.NewExtensionFileFilter(exts))
	}
	d.SetTitleText(title)
	d.Resize(fileDialogSize)
	d.Show()
	c.current = d
}

// fynePickFolder is Fyne's folder dialog.
func (c *Console) fynePickFolder(title string, then func(string)) {
	d := dialog.NewFolderOpen(func(u fyne.ListableURI, err error) {
		if err != nil {
			c.showError(title, err)
			return
		}
		if u != nil {
			then(u.Path())
		}
	}, c.Window)
	d.SetTitleText(title)
	d.Resize(fileDialogSize)
	d.Show()
	c.current = d
}

// fyneSaveFile asks for the path to save to in the window: a path entry
// and Fyne's folder dialog to browse for the folder. Fyne's save dialog is
// not used: it opens the chosen file for writing, truncating an existing
// one, before it answers, and Export can append to the file it names.
func (c *Console) fyneSaveFile(title, suggested string, then func(string)) {
	dir, err := os.UserHomeDir()
	if err != nil {
		dir = string(filepath.Separator)
	}
	entry := widget.NewEntry()
	entry.SetText(filepath.Join(dir, filepath.Base(suggested)))
	entry.Validator = func(s string) error {
		if !filepath.IsAbs(strings.TrimSpace(s)) {
			return errors.New("type the full path of the file")
		}
		return nil
	}
	browse := c.newDialogButton("Browse…", nil, func() {
		folder := dialog.NewFolderOpen(func(u fyne.ListableURI, err error) {
			if err == nil && u != nil {
				entry.SetText(filepath.Join(u.Path(), filepath.Base(strings.TrimSpace(entry.Text))))
			}
		}, c.Window)
		folder.SetTitleText("Folder to save in")
		folder.Resize(fileDialogSize)
		folder.Show()
	})
	d := dialog.NewForm(title, "Save", "Cancel", []*widget.FormItem{
		widget.NewFormItem("File", container.NewBorder(nil, nil, nil, browse, entry)),
	}, func(ok bool) {
		if ok {
			then(filepath.Clean(strings.TrimSpace(entry.Text)))
		}
	}, c.Window)
	d.Resize(fyne.NewSize(620, 0))
	d.Show()
	c.current = d
}
