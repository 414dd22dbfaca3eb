package views

import (
	"context"
	"fmt"
	"strconv"
	"strings"

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
	appendRows(form, rows)
	return form
}

// appendRows appends rows (label, value) to form, the values as wrapped
// labels.
func appendRows(form *widget.Form, rows [][]string) {
	for _, r := range rows {
		v := widget.NewLabel(r[1])
		v.Wrapping = fyne.TextWrapBreak
		form.Append(r[0], v)
	}
}

func (c *Console) showTableDialog(title string, rows [][]string) {
	d := dialog.NewCustom(title, "Close", propertyForm(rows), c.Window)
	d.Resize(fyne.NewSize(560, 0))
	d.Show()
	c.current = d
}

// groupProperties is the Properties dialog of an image group: General
// (its name, which OK or Apply renames the group to, and its space) and
// Space by image.
type groupProperties struct {
	c     *Console
	n     app.Node
	space *app.GroupSpace
	rows  [][]string
	tabs  *container.AppTabs
	frame *propertiesFrame
	// name is the group's name field; saved the name the group has.
	name  *dialogEntry
	saved string
}

func (c *Console) showGroupProperties(n app.Node, sp *app.GroupSpace) {
	w := &groupProperties{c: c, n: n, space: sp, saved: n.Name}
	w.rows = [][]string{
		{"Folder", n.Server.GroupDir(n.Name)},
		{"Images", strconv.Itoa(len(sp.Images))},
		{"Res.rwm", app.FormatBytes(sp.ResBytes)},
		{"Data in use", app.FormatBytes(sp.LiveBytes)},
		{"Reclaimable (regroup)", app.FormatBytes(sp.DeadBytes)},
		{"Tables and XML", app.FormatBytes(sp.OverheadBytes)},
		{"Image files", app.FormatBytes(sp.ImageFileBytes)},
	}
	w.name = c.newDialogEntry()
	w.name.SetText(n.Name)
	w.name.Validator = app.CheckGroupName
	general := widget.NewForm(widget.NewFormItem("Group name", w.name))
	appendRows(general, w.rows)
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
	w.tabs = container.NewAppTabs(
		container.NewTabItem("General", container.NewVScroll(general)),
		container.NewTabItem("Space by image", per),
	)
	w.frame = c.showPropertiesFrame(n, w.tabs, groupPropertiesSize, w.save)
	if w.frame.readOnly {
		w.name.Disable()
	} else {
		c.Window.Canvas().Focus(w.name)
	}
	c.current = w
}

// save renames the group when its name was changed, then closes the
// dialog when close is set (OK). A refused rename leaves the dialog open
// with the name typed, behind the error.
func (w *groupProperties) save(close bool) {
	c, srv, from := w.c, w.n.Server, w.saved
	to := strings.TrimSpace(w.name.Text)
	if to == from {
		w.frame.done(close)
		return
	}
	if err := app.CheckGroupName(to); err != nil {
		c.showError("Rename image group "+from, err)
		return
	}
	w.frame.saving()
	c.runJob("Rename group "+from, func(context.Context, progress.Func) error {
		return refusedChange(srv, srv.RenameGroup(from, to))
	}, func(err error) {
		w.frame.saved()
		if err != nil {
			return // runJob showed why; the name typed stays for another try
		}
		w.saved = to
		c.Select(app.GroupID(srv, to))
		w.frame.done(close)
	})
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

	// The General tab's settings: name, description, display order and
	// status; saved are those the image has (since the dialog opened or
	// the last Apply).
	name, description, order *dialogEntry
	online                   *dialogCheck
	saved                    app.ImageSettings
	frame                    *propertiesFrame
}

func (c *Console) showImageProperties(n app.Node, p *app.ImageProperties, x imageExtras) {
	w := &imageProperties{c: c, n: n, p: p, packs: x.packs, packSel: -1}
	im := p.Image
	// General: the settings, then the image's facts.
	w.saved = app.SettingsOf(&im)
	w.name, w.description, w.order = c.newDialogEntry(), c.newDialogEntry(), c.newDialogEntry()
	w.name.SetText(im.Name)
	w.name.Validator = checkImageName
	w.description.SetText(im.Description)
	w.order.SetText(strconv.Itoa(im.DisplayOrder))
	w.order.Validator = func(s string) error { _, err := parseDisplayOrder(s); return err }
	w.online = c.newDialogCheck("Online: offered to clients for installing")
	w.online.SetChecked(im.Enabled)
	general := widget.NewForm(
		widget.NewFormItem("Name", w.name),
		widget.NewFormItem("Description", w.description),
		widget.NewFormItem("Display order", w.order),
		widget.NewFormItem("Status", w.online),
	)
	general.Items[2].HintText = "Lower numbers are listed first to clients"
	var facts [][]string
	for _, kv := range app.GeneralProperties(&im) {
		switch kv[0] {
		case "Name", "Description", "Status":
		default:
			facts = append(facts, []string{kv[0], kv[1]})
		}
	}
	appendRows(general, facts)
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
		container.NewTabItem("General", container.NewVScroll(general)),
		container.NewTabItem("Unattend", unattend),
	)
	if n.Kind == app.KindImage {
		w.tabs.Append(container.NewTabItem("Language Packs", w.langPacksTab(x.packsErr)))
	}
	w.tabs.Append(container.NewTabItem("Space", container.NewVScroll(propertyForm(space))))
	w.tabs.Append(container.NewTabItem("Sessions", container.NewVScroll(propertyForm(sessions))))
	w.frame = c.showPropertiesFrame(n, w.tabs, imagePropertiesSize, w.save)
	w.dlg = w.frame.dlg
	if w.frame.readOnly {
		w.name.Disable()
		w.description.Disable()
		w.order.Disable()
		w.online.Disable()
	} else {
		c.Window.Canvas().Focus(w.name)
	}
	c.current = w
}

// dialogCheck is a check box in a dialog: Enter presses the dialog's
// default button and Esc cancels it, as in a dialogEntry (a focused check
// box takes the keys, and Fyne's uses Space only).
type dialogCheck struct {
	widget.Check
	c *Console
}

func (c *Console) newDialogCheck(text string) *dialogCheck {
	k := &dialogCheck{c: c}
	k.Text = text
	k.ExtendBaseWidget(k)
	return k
}

func (k *dialogCheck) TypedKey(ev *fyne.KeyEvent) {
	switch ev.Name {
	case fyne.KeyEscape, fyne.KeyReturn, fyne.KeyEnter:
		if top := k.c.Window.Canvas().Overlays().Top(); top != nil {
			k.c.overlayKey(top, ev)
			return
		}
	}
	k.Check.TypedKey(ev)
}

// parseDisplayOrder reads a display order (priority) as typed.
func parseDisplayOrder(s string) (int, error) {
	v, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || v < 0 {
		return 0, fmt.Errorf("the display order %q is not a whole number of 0 or more: type 0 to list the image first, higher numbers to list it later", strings.TrimSpace(s))
	}
	return v, nil
}

// settings returns the General tab's settings as typed.
func (w *imageProperties) settings() (app.ImageSettings, error) {
	e := app.ImageSettings{Name: w.name.Text, Description: w.description.Text, Enabled: w.online.Checked}
	if e.Name != w.saved.Name {
		e.Name = strings.TrimSpace(e.Name)
	}
	if err := checkImageName(e.Name); err != nil {
		return e, fmt.Errorf("%w: type the name clients see in the image list", err)
	}
	var err error
	e.DisplayOrder, err = parseDisplayOrder(w.order.Text)
	return e, err
}

// save stores the General tab's settings that changed, in one change of the
// store, then closes the dialog when close is set (OK). A refused change
// (a name another image has, a read-only store, a server offline) changes
// nothing and leaves the dialog open with what was typed, behind the error.
func (w *imageProperties) save(close bool) {
	c, srv, r, from := w.c, w.n.Server, w.n.Ref(), w.saved
	title := "Properties of " + w.n.Label
	to, err := w.settings()
	if err != nil {
		c.showError(title, err)
		return
	}
	if to == from {
		w.frame.done(close)
		return
	}
	w.frame.saving()
	c.runJob(title, func(ctx context.Context, _ progress.Func) error {
		return refusedChange(srv, srv.SetImageSettings(ctx, r, from, to))
	}, func(err error) {
		w.frame.saved()
		if err != nil {
			return // runJob showed why
		}
		w.saved = to
		w.p.Image.Name, w.p.Image.Description = to.Name, to.Description
		w.frame.done(close)
	})
}

// refusedChange adds to err, why the server refused a change made in a
// Properties dialog, that nothing was changed and what to do.
func refusedChange(s *app.Server, err error) error {
	if err == nil || app.IsCancelled(err) {
		return err
	}
	if s.Offline() {
		return app.WithAdvice(err, fmt.Sprintf("The server %s cannot be reached, so nothing was changed: check that it runs (wimconsole serve) and that the network reaches it, then press OK or Apply again.", s.Name))
	}
	if ro, _ := s.ReadOnly(); ro {
		return app.WithAdvice(err, "Nothing was changed: this store can only be read from here.")
	}
	return app.WithAdvice(err, "Nothing was changed: correct the setting, then press OK or Apply again, or Cancel.")
}

// Properties dialogs keep one size, whichever tab shows: the tabs' own
// minimum sizes change as each is first drawn (a wrapped label asks for its
// height at the width it is given), and a dialog that followed them grew,
// moved (it is centred) and drew past the window, so that a click aimed at
// the next tab missed. Long content scrolls inside its tab.
var (
	imagePropertiesSize = fyne.NewSize(600, 420)
	groupPropertiesSize = fyne.NewSize(560, 380)
)

// fixedSize is a layout that asks for size, whatever its objects ask,
// and lays them over all the space it is given.
type fixedSize struct{ size fyne.Size }

func (l fixedSize) MinSize([]fyne.CanvasObject) fyne.Size { return l.size }

func (l fixedSize) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	for _, o := range objs {
		o.Move(fyne.Position{})
		o.Resize(size)
	}
}

// propertiesFrame is the frame of a Properties dialog: its tabs at one
// fixed size, and Cancel, Apply and OK (the default: Enter presses it, Esc
// presses Cancel). On a read-only store nothing can be changed: OK only
// closes and Apply is greyed out.
type propertiesFrame struct {
	dlg       *dialog.CustomDialog
	ok, apply *dialogButton
	readOnly  bool
}

// showPropertiesFrame shows tabs as the Properties of node n, at size;
// save(close) stores what was changed (close: OK, else Apply).
func (c *Console) showPropertiesFrame(n app.Node, tabs *container.AppTabs, size fyne.Size, save func(close bool)) *propertiesFrame {
	f := &propertiesFrame{}
	f.readOnly, _ = n.Server.ReadOnly()
	f.dlg = dialog.NewCustomWithoutButtons(n.Label+" Properties", container.New(fixedSize{size}, tabs), c.Window)
	cancel := c.newDialogButton("Cancel", nil, f.dlg.Hide)
	f.apply = c.newDialogButton("Apply", nil, func() { save(false) })
	f.ok = c.newDialogButton("OK", nil, func() { save(true) })
	f.ok.Importance = widget.HighImportance
	if f.readOnly {
		f.apply.Disable()
	}
	f.dlg.SetButtons([]fyne.CanvasObject{cancel, f.apply, f.ok})
	f.dlg.Show()
	return f
}

// saving greys out OK and Apply while a change is stored.
func (f *propertiesFrame) saving() {
	f.ok.Disable()
	f.apply.Disable()
}

// saved enables OK and Apply again.
func (f *propertiesFrame) saved() {
	f.ok.Enable()
	if !f.readOnly {
		f.apply.Enable()
	}
}

// done closes the dialog after OK (close); after Apply it stays.
func (f *propertiesFrame) done(close bool) {
	if close {
		f.dlg.Hide()
	}
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
