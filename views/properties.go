package views

import (
	"context"
	"fmt"
	"strconv"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/wimconsole/wimconsole/app"
	"github.com/wimconsole/wimconsole/engine/progress"
)

// showProperties opens the Properties of the selection.
func (c *Console) showProperties() {
	n, ok := c.selectedNode()
	if !ok {
		return
	}
	switch n.Kind {
	case app.KindServer:
		c.showTableDialog(n.Label+" Properties", c.model.Details(n.ID).Rows)
	case app.KindGroup:
		c.background(func() func() {
			sp, err := n.Server.Service().Space(context.Background(), n.Name)
			return func() {
				if err != nil {
					c.showError("Properties of "+n.Label, err)
					return
				}
				c.showGroupProperties(n, sp)
			}
		})
	case app.KindImage, app.KindBootImage:
		c.background(func() func() {
			ctx := context.Background()
			p, err := n.Server.Properties(ctx, n.Ref())
			var x imageExtras
			if err == nil {
				x = loadImageExtras(ctx, n)
			}
			return func() {
				if err != nil {
					c.showError("Properties of "+n.Label, err)
					return
				}
				c.showImageProperties(n, p, x)
			}
		})
	}
}

func propertyForm(rows [][]string) *widget.Form {
	form := widget.NewForm()
	for _, r := range rows {
		v := widget.NewLabel(r[1])
		v.Wrapping = fyne.TextWrapBreak
		form.Append(r[0], v)
	}
	return form
}

func (c *Console) showTableDialog(title string, rows [][]string) {
	d := dialog.NewCustom(title, "Close", propertyForm(rows), c.Window)
	d.Resize(fyne.NewSize(560, 0))
	d.Show()
	c.current = d
}

// groupProperties is the Properties dialog of an image group.
type groupProperties struct {
	space *app.GroupSpace
	rows  [][]string
}

func (c *Console) showGroupProperties(n app.Node, sp *app.GroupSpace) {
	rows := [][]string{
		{"Group", n.Name},
		{"Folder", n.Server.GroupDir(n.Name)},
		{"Images", strconv.Itoa(len(sp.Images))},
		{"Res.rwm", app.FormatBytes(sp.ResBytes)},
		{"Data in use", app.FormatBytes(sp.LiveBytes)},
		{"Reclaimable (regroup)", app.FormatBytes(sp.DeadBytes)},
		{"Tables and XML", app.FormatBytes(sp.OverheadBytes)},
		{"Image files", app.FormatBytes(sp.ImageFileBytes)},
	}
	per := widget.NewTable(
		func() (int, int) { return len(sp.Images) + 1, 3 },
		func() fyne.CanvasObject { return widget.NewLabel("") },
		func(id widget.TableCellID, o fyne.CanvasObject) {
			l := o.(*widget.Label)
			if id.Row == 0 {
				l.TextStyle.Bold = true
				l.SetText([]string{"Image", "Exclusive", "Shared"}[id.Col])
				return
			}
			l.TextStyle.Bold = false
			is := sp.Images[id.Row-1]
			l.SetText([]string{is.Name, app.FormatBytes(is.ExclusiveBytes), app.FormatBytes(is.SharedBytes)}[id.Col])
		})
	per.SetColumnWidth(0, 260)
	per.SetColumnWidth(1, 110)
	per.SetColumnWidth(2, 110)
	tabs := container.NewAppTabs(
		container.NewTabItem("General", propertyForm(rows)),
		container.NewTabItem("Space by image", per),
	)
	d := dialog.NewCustom(n.Label+" Properties", "Close", tabs, c.Window)
	d.Resize(fyne.NewSize(600, 460))
	d.Show()
	c.current = &groupProperties{space: sp, rows: rows}
}

// imageExtras is what the Properties of an image show beyond
// app.ImageProperties: the unattend file's validation status and the
// language packs (install images).
type imageExtras struct {
	unattendStatus string // "" when there is nothing to check
	unattendOK     bool
	packs          []app.LangPack
	packsErr       error
}

// loadImageExtras gathers n's imageExtras (in the background).
func loadImageExtras(ctx context.Context, n app.Node) imageExtras {
	var x imageExtras
	x.unattendStatus, x.unattendOK = n.Server.UnattendStatus(ctx, n.Ref())
	if n.Kind == app.KindImage {
		x.packs, x.packsErr = n.Server.LanguagePacks(ctx, n.Ref())
	}
	return x
}

// imageProperties is the Properties dialog of an image: General, Unattend,
// Language Packs (install images), Space and Sessions tabs.
type imageProperties struct {
	c        *Console
	n        app.Node
	p        *app.ImageProperties
	dlg      dialog.Dialog
	tabs     *container.AppTabs
	unattend *widget.Entry
	// validity is the unattend file's validation status.
	validity *widget.Label

	packs     []app.LangPack
	packSel   int // index in packs, -1 for none
	packList  *widget.List
	packState *widget.Label
}

func (c *Console) showImageProperties(n app.Node, p *app.ImageProperties, x imageExtras) {
	w := &imageProperties{c: c, n: n, p: p, packs: x.packs, packSel: -1}
	im := p.Image
	var general [][]string
	for _, kv := range app.GeneralProperties(&im) {
		general = append(general, []string{kv[0], kv[1]})
	}
	// Unattend: associate, view, remove.
	w.unattend = widget.NewMultiLineEntry()
	w.unattend.SetText(p.Unattend)
	w.unattend.Disable()
	state := "No unattend file is associated with this image."
	if im.Unattend != "" {
		state = "Unattend file: " + im.Unattend
	}
	w.validity = wrapLabel(x.unattendStatus)
	w.validity.Hidden = x.unattendStatus == ""
	if !x.unattendOK {
		w.validity.Importance = widget.DangerImportance
	}
	associate, remove := widget.NewButton("Associate…", w.associate), widget.NewButton("Remove", w.removeUnattend)
	disableOnReadOnly(n.Server, associate, remove)
	unattend := container.NewBorder(
		container.NewVBox(widget.NewLabel(state), w.validity, container.NewHBox(associate, remove)),
		nil, nil, nil, container.NewVScroll(w.unattend))
	// Space.
	var space [][]string
	space = append(space, []string{"Expanded size", app.FormatBytes(im.ExpandedBytes)})
	space = append(space, []string{"Image file", app.FormatBytes(im.FileBytes)})
	if p.Space != nil {
		space = append(space,
			[]string{"Exclusive data", app.FormatBytes(p.Space.ExclusiveBytes) + " (freed by deleting it and regrouping)"},
			[]string{"Shared data", app.FormatBytes(p.Space.SharedBytes) + " (also used by other images of the group)"})
		if p.Space.MissingBlobs > 0 {
			space = append(space, []string{"Missing data", fmt.Sprintf("%d blobs are missing from Res.rwm", p.Space.MissingBlobs)})
		}
	}
	// Sessions.
	sessions := [][]string{}
	if len(p.Sessions) == 0 {
		sessions = append(sessions, []string{"Active installs", "none"})
	}
	for _, s := range p.Sessions {
		sessions = append(sessions, []string{s.Client, fmt.Sprintf("pid %d, started %s, last heartbeat %s",
			s.PID, s.Started.Local().Format("2006-01-02 15:04:05"), s.Heartbeat.Local().Format("15:04:05"))})
	}
	w.tabs = container.NewAppTabs(
		container.NewTabItem("General", container.NewVScroll(propertyForm(general))),
		container.NewTabItem("Unattend", unattend),
	)
	if n.Kind == app.KindImage {
		w.tabs.Append(container.NewTabItem("Language Packs", w.langPacksTab(x.packsErr)))
	}
	w.tabs.Append(container.NewTabItem("Space", propertyForm(space)))
	w.tabs.Append(container.NewTabItem("Sessions", propertyForm(sessions)))
	w.dlg = dialog.NewCustom(n.Label+" Properties", "Close", w.tabs, c.Window)
	w.dlg.Resize(fyne.NewSize(640, 520))
	w.dlg.Show()
	c.current = w
}

// associate picks an unattend file and associates it with the image.
func (w *imageProperties) associate() {
	c := w.c
	c.openFiles("Associate Unattend File", []app.FileFilter{{Description: "Unattend files (*.xml)", Extensions: []string{"xml"}}}, func(files []string) {
		w.dlg.Hide()
		r, srv := w.n.Ref(), w.n.Server
		c.runJob("Associate unattend file with "+w.n.Label, func(ctx context.Context, _ progress.Func) error {
			return srv.SetUnattend(ctx, r, files[0])
		}, nil)
	})
}

func (w *imageProperties) removeUnattend() {
	if w.p.Image.Unattend == "" {
		return
	}
	c := w.c
	c.confirm("Remove Unattend File", fmt.Sprintf("Remove the unattend file of %q?\n\n%s is deleted from the image's folder.",
		w.p.Image.Name, w.p.Image.Unattend), "Remove", func() {
		w.dlg.Hide()
		r, srv := w.n.Ref(), w.n.Server
		c.runJob("Remove unattend file of "+w.n.Label, func(ctx context.Context, _ progress.Func) error {
			return srv.SetUnattend(ctx, r, "")
		}, nil)
	})
}

// langPacksTab lists the image's language packs (name and size) with Add…
// and Remove. Servers on the network list them only: their API carries no
// language packs.
func (w *imageProperties) langPacksTab(loadErr error) fyne.CanvasObject {
	w.packList = widget.NewList(func() int { return len(w.packs) }, func() fyne.CanvasObject {
		return container.NewGridWithColumns(2, widget.NewLabel(""), widget.NewLabel(""))
	}, func(id widget.ListItemID, o fyne.CanvasObject) {
		if id < 0 || id >= len(w.packs) {
			return
		}
		cells := o.(*fyne.Container).Objects
		cells[0].(*widget.Label).SetText(w.packs[id].Name)
		size := "on the server"
		if w.packs[id].Bytes >= 0 {
			size = app.FormatBytes(w.packs[id].Bytes)
		}
		cells[1].(*widget.Label).SetText(size)
	})
	w.packList.OnSelected = func(id widget.ListItemID) { w.packSel = id }
	w.packList.OnUnselected = func(widget.ListItemID) { w.packSel = -1 }
	w.packState = wrapLabel("")
	w.showPackState(loadErr)
	top := container.NewVBox(w.packState)
	if w.n.Server.CanChangeLanguagePacks() {
		add, remove := widget.NewButton("Add…", w.addLangPacks), widget.NewButton("Remove", w.removeLangPack)
		disableOnReadOnly(w.n.Server, add, remove)
		top.Add(container.NewHBox(add, remove))
	} else {
		top.Add(wrapLabel("Language packs of images on a server on the network are listed here only: " +
			"change them on the server itself (wimconsole langpack add|remove)."))
	}
	header := container.NewGridWithColumns(2, widget.NewLabel("Name"), widget.NewLabel("Size"))
	return container.NewBorder(container.NewVBox(top, header), nil, nil, nil, w.packList)
}

// showPackState says how many language packs the image has, or why they
// could not be listed.
func (w *imageProperties) showPackState(err error) {
	switch {
	case err != nil:
		w.packState.SetText("Cannot list the language packs: " + err.Error())
	case len(w.packs) == 0:
		w.packState.SetText("No language pack is associated with this image.")
	default:
		w.packState.SetText(fmt.Sprintf("%d language pack(s), installed with the image by Windows Setup.", len(w.packs)))
	}
}

// reloadLangPacks lists the language packs again (in the background).
func (w *imageProperties) reloadLangPacks() {
	srv, r := w.n.Server, w.n.Ref()
	w.c.background(func() func() {
		packs, err := srv.LanguagePacks(context.Background(), r)
		return func() {
			if err == nil {
				w.packs = packs
			}
			w.packSel = -1
			w.packList.UnselectAll()
			w.packList.Refresh()
			w.showPackState(err)
		}
	})
}

// addLangPacks asks for cabinet files and associates them with the image,
// as a job.
func (w *imageProperties) addLangPacks() {
	c := w.c
	c.openFiles("Add Language Packs", []app.FileFilter{{Description: "Language packs (*.cab)", Extensions: []string{"cab"}}}, func(files []string) {
		r, srv := w.n.Ref(), w.n.Server
		c.runJob("Add language packs to "+w.n.Label, func(ctx context.Context, _ progress.Func) error {
			for _, f := range files {
				if err := srv.AddLanguagePack(ctx, r, f); err != nil {
					return err
				}
			}
			return nil
		}, func(error) { w.reloadLangPacks() })
	})
}

// removeLangPack asks, then removes the selected language pack.
func (w *imageProperties) removeLangPack() {
	if w.packSel < 0 || w.packSel >= len(w.packs) {
		dialog.ShowInformation("Remove Language Pack", "Select a language pack to remove.", w.c.Window)
		return
	}
	c, name := w.c, w.packs[w.packSel].Name
	c.confirm("Remove Language Pack", fmt.Sprintf("Remove the language pack %s from %q?\n\nIts file is deleted from the image's folder.",
		name, w.p.Image.Name), "Remove", func() {
		c.current = w
		r, srv := w.n.Ref(), w.n.Server
		c.runJob("Remove language pack "+name+" from "+w.n.Label, func(ctx context.Context, _ progress.Func) error {
			return srv.RemoveLanguagePack(ctx, r, name)
		}, func(error) { w.reloadLangPacks() })
	})
}
