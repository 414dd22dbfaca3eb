package views

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/wimconsole/wimconsole/app"
	"github.com/wimconsole/wimconsole/engine/progress"
)

// pickFiles asks for WIM files with the file dialog (see filedialogs.go)
// unless files were given, and calls then with them on the main goroutine.
func (c *Console) pickFiles(title string, files []string, then func([]string)) {
	if len(files) > 0 {
		then(files)
		return
	}
	c.openFiles(title, app.WIMFilters, then)
}

// addWizard is the Add Image wizard: source files, the group (existing or
// new) or boot architecture, the images to add, what the group gains, name
// and description; then a job with progress and a summary.
type addWizard struct {
	c      *Console
	srv    *app.Server
	boot   bool
	dlg    dialog.Dialog
	files  []string
	images []app.SourceImage

	group  *widget.SelectEntry // install images
	arch   *widget.Select      // boot images
	checks []*widget.Check
	gain   *widget.Label
	name   *widget.Entry
	desc   *widget.Entry
	// gains counts the gain computations started (for tests).
	gains int
}

// addImage opens the Add Image wizard for install images, on files (asked
// for with the native dialog when nil), group preselected.
func (c *Console) addImage(files []string, group string) {
	c.pickFiles("Add Install Image", files, func(files []string) { c.openAddWizard(files, false, group) })
}

// addBootImage opens the Add Image wizard for boot images.
func (c *Console) addBootImage(files []string, arch string) {
	c.pickFiles("Add Boot Image", files, func(files []string) { c.openAddWizard(files, true, arch) })
}

func (c *Console) openAddWizard(files []string, boot bool, target string) {
	leftOut := c.takeLeftOut() // files a drop left out: told on top of the wizard
	srv := c.server()
	if srv == nil {
		c.reportLeftOut(leftOut)
		return
	}
	c.background(func() func() {
		images, err := app.InspectSources(files)
		return func() {
			defer c.reportLeftOut(leftOut)
			if err != nil {
				c.showError("Add Image", err)
				return
			}
			w := &addWizard{c: c, srv: srv, boot: boot, files: files, images: images}
			w.show(target)
		}
	})
}

func (w *addWizard) show(target string) {
	c := w.c
	title := "Add Install Image"
	var where *widget.FormItem
	if w.boot {
		title = "Add Boot Image"
		archs := append([]string{"(from the image)"}, app.BootArchs()...)
		w.arch = widget.NewSelect(archs, nil)
		w.arch.SetSelected(archs[0])
		if target != "" {
			w.arch.SetSelected(target)
		}
		where = widget.NewFormItem("Architecture", w.arch)
	} else {
		groups := c.model.Groups(w.srv)
		w.group = widget.NewSelectEntry(groups)
		switch {
		case target != "":
			w.group.SetText(target)
		case len(groups) > 0:
			w.group.SetText(groups[0])
		default:
			w.group.SetText(app.DefaultGroup)
		}
		w.group.OnChanged = func(string) { w.updateGain() }
		where = widget.NewFormItem("Image group", w.group)
		where.HintText = "Pick a group, or type a new name to create it"
	}
	list := container.NewVBox()
	for _, im := range w.images {
		label := fmt.Sprintf("%s   %s  %s  %s  (%s, image %d)", im.Name, im.Edition, im.Arch,
			app.FormatBytes(im.Bytes), filepath.Base(im.File), im.Index)
		ch := widget.NewCheck(label, func(bool) { w.ticked() })
		ch.Checked = true
		w.checks = append(w.checks, ch)
		list.Add(ch)
	}
	w.gain = widget.NewLabel("")
	w.name = widget.NewEntry()
	w.desc = widget.NewEntry()
	names := make([]string, len(w.files))
	for i, f := range w.files {
		names[i] = filepath.Base(f)
	}
	form := widget.NewForm(
		widget.NewFormItem("Files", widget.NewLabel(strings.Join(names, "\n"))),
		where,
		widget.NewFormItem("Images", container.NewVScroll(list)),
	)
	if !w.boot {
		form.Append("The group gains", w.gain)
	}
	form.Append("Name", w.name)
	form.Append("Description", w.desc)
	w.ticked()
	w.dlg = c.ask(title, "Add", form, fyne.NewSize(720, 520), w.submit)
	c.current = w
}

// picks returns the ticked images.
func (w *addWizard) picks() []app.SourceImage {
	var out []app.SourceImage
	for i, ch := range w.checks {
		if ch.Checked {
			out = append(out, w.images[i])
		}
	}
	return out
}

// ticked follows the ticks: name and description apply to one image only.
func (w *addWizard) ticked() {
	p := w.picks()
	if len(p) == 1 {
		w.name.Enable()
		w.desc.Enable()
		if w.name.Text == "" {
			w.name.SetText(p[0].Name)
			w.desc.SetText(p[0].Description)
		}
	} else {
		w.name.SetText("")
		w.desc.SetText("")
		w.name.Disable()
		w.desc.Disable()
	}
	w.updateGain()
}

// updateGain works out, in a goroutine, what the group gains.
func (w *addWizard) updateGain() {
	if w.boot || w.gain == nil {
		return
	}
	picks, group := w.picks(), strings.TrimSpace(w.group.Text)
	if len(picks) == 0 {
		w.gain.SetText("no image ticked")
		return
	}
	w.gain.SetText("working it out…")
	w.gains++
	n := w.gains
	w.c.background(func() func() {
		var text string
		if err := app.CheckGroupName(group); err != nil {
			text = err.Error()
		} else if g, err := w.srv.GroupGain(context.Background(), group, picks); err != nil {
			text = "cannot tell: " + err.Error()
		} else {
			text = g.String()
		}
		return func() {
			if n == w.gains { // a newer computation supersedes this one
				w.gain.SetText(text)
			}
		}
	})
}

// submit starts adding the ticked images.
func (w *addWizard) submit() {
	c := w.c
	req := app.AddRequest{Picks: w.picks(), Boot: w.boot}
	if len(req.Picks) == 0 {
		c.showError("Add Image", errors.New("no image is ticked"))
		return
	}
	if w.boot {
		if w.arch.SelectedIndex() > 0 {
			req.Arch = w.arch.Selected
		}
	} else {
		req.Group = strings.TrimSpace(w.group.Text)
		if err := app.CheckGroupName(req.Group); err != nil {
			c.showError("Add Image", err)
			return
		}
	}
	if len(req.Picks) == 1 {
		req.Name, req.Description = strings.TrimSpace(w.name.Text), strings.TrimSpace(w.desc.Text)
	}
	w.dlg.Hide()
	var added []app.ImageRef
	title := fmt.Sprintf("Add %d image(s)", len(req.Picks))
	c.runJob(title, func(ctx context.Context, report progress.Func) error {
		var err error
		added, err = w.srv.AddImages(ctx, req, report)
		return err
	}, func(err error) {
		if err != nil {
			return
		}
		lines := make([]string, len(added))
		for i, r := range added {
			lines[i] = "  " + r.String()
		}
		dialog.ShowInformation("Add Image", fmt.Sprintf("Added %d image(s):\n\n%s", len(added), strings.Join(lines, "\n")), c.Window)
		if len(added) > 0 {
			c.Select(app.ImageID(w.srv, added[0]))
		}
	})
}

// exportWizard is the Export Image wizard.
type exportWizard struct {
	c    *Console
	dlg  dialog.Dialog
	dest string
	mode *widget.RadioGroup
	name *widget.Entry
	desc *widget.Entry
	n    app.Node
}

const (
	exportNew       = "New file"
	exportOverwrite = "Overwrite the file"
	exportAppend    = "Append to the file"
)

func (c *Console) exportImage() {
	n, ok := c.selectedNode()
	if !ok || n.Image == nil {
		return
	}
	c.saveFile("Export Image", n.Image.File, app.WIMFilters, func(dest string) {
		w := &exportWizard{c: c, dest: dest, n: n}
		w.show()
	})
}

func (w *exportWizard) show() {
	w.mode = widget.NewRadioGroup([]string{exportNew, exportOverwrite, exportAppend}, nil)
	w.mode.SetSelected(exportNew)
	w.name = widget.NewEntry()
	w.name.SetText(w.n.Image.Name)
	w.desc = widget.NewEntry()
	w.desc.SetText(w.n.Image.Description)
	form := widget.NewForm(
		widget.NewFormItem("Image", widget.NewLabel(w.n.Label)),
		widget.NewFormItem("Destination", widget.NewLabel(w.dest)),
		widget.NewFormItem("If the file exists", w.mode),
		widget.NewFormItem("Name", w.name),
		widget.NewFormItem("Description", w.desc),
	)
	w.dlg = w.c.ask("Export Image", "Export", form, fyne.NewSize(620, 0), w.submit)
	w.c.current = w
}

func (w *exportWizard) submit() {
	w.dlg.Hide()
	o := app.ExportOptions{Name: strings.TrimSpace(w.name.Text), Description: strings.TrimSpace(w.desc.Text)}
	switch w.mode.Selected {
	case exportOverwrite:
		o.Overwrite = app.OverwriteYes
	case exportAppend:
		o.Overwrite = app.OverwriteAppend
	}
	r, srv, dest := w.n.Ref(), w.n.Server, w.dest
	w.c.runJob("Export "+w.n.Label, func(ctx context.Context, report progress.Func) error {
		o.Progress = report
		return srv.ExportImage(ctx, r, dest, o)
	}, func(err error) {
		if err == nil {
			dialog.ShowInformation("Export Image", fmt.Sprintf("Exported %q to\n%s", w.n.Label, dest), w.c.Window)
		}
	})
}

// replaceWizard is the Replace Image wizard.
type replaceWizard struct {
	c        *Console
	dlg      dialog.Dialog
	n        app.Node
	src      string
	images   []app.SourceImage
	index    *widget.Select
	force    *widget.Check
	wait     *widget.Entry // minutes to wait for sessions
	sessions []app.InstallSession
}

func (c *Console) replaceImage() {
	n, ok := c.selectedNode()
	if !ok || n.Image == nil {
		return
	}
	c.pickFiles("Replace Image", nil, func(files []string) {
		c.background(func() func() {
			images, err := app.InspectSources(files[:1])
			var sessions []app.InstallSession
			if err == nil {
				sessions, err = n.Server.Service().Sessions(context.Background(), n.Ref())
			}
			return func() {
				if err != nil {
					c.showError("Replace Image", err)
					return
				}
				w := &replaceWizard{c: c, n: n, src: files[0], images: images, sessions: sessions}
				w.show()
			}
		})
	})
}

func (w *replaceWizard) show() {
	opts := make([]string, len(w.images))
	for i, im := range w.images {
		opts[i] = fmt.Sprintf("%d: %s %s %s (%s)", im.Index, im.Name, im.Edition, im.Arch, app.FormatBytes(im.Bytes))
	}
	w.index = widget.NewSelect(opts, nil)
	if len(opts) > 0 {
		w.index.SetSelectedIndex(0)
	}
	w.force = widget.NewCheck("Force: replace without waiting for install sessions", nil)
	w.wait = widget.NewEntry()
	w.wait.SetText("10")
	sess := "No active install sessions."
	if len(w.sessions) > 0 {
		lines := []string{fmt.Sprintf("%d active install session(s):", len(w.sessions))}
		for _, s := range w.sessions {
			lines = append(lines, fmt.Sprintf("  %s (pid %d) since %s", s.Client, s.PID, s.Started.Local().Format("15:04:05")))
		}
		sess = strings.Join(lines, "\n")
	}
	note := "The image keeps its file name, unattend file, $OEM$ folder, language packs and status."
	if w.n.Image.Enabled {
		note += "\nIt is disabled while it is replaced, then enabled again."
	}
	form := widget.NewForm(
		widget.NewFormItem("Image", widget.NewLabel(w.n.Label+" ("+w.n.Image.File+")")),
		widget.NewFormItem("Source file", widget.NewLabel(w.src)),
		widget.NewFormItem("Source image", w.index),
		widget.NewFormItem("Sessions", widget.NewLabel(sess)),
		widget.NewFormItem("Wait (minutes)", w.wait),
		widget.NewFormItem("", w.force),
		widget.NewFormItem("", widget.NewLabel(note)),
	)
	w.dlg = w.c.ask("Replace Image", "Replace", form, fyne.NewSize(640, 0), w.submit)
	w.c.current = w
}

func (w *replaceWizard) submit() {
	c := w.c
	i := w.index.SelectedIndex()
	if i < 0 {
		c.showError("Replace Image", errors.New("no source image chosen"))
		return
	}
	mins, err := strconv.ParseFloat(strings.TrimSpace(w.wait.Text), 64)
	if err != nil || mins < 0 {
		c.showError("Replace Image", fmt.Errorf("wait %q: want a number of minutes", w.wait.Text))
		return
	}
	w.dlg.Hide()
	o := app.ReplaceOptions{SourceIndex: w.images[i].Index, Force: w.force.Checked,
		Wait: time.Duration(mins * float64(time.Minute))}
	r, srv, src := w.n.Ref(), w.n.Server, w.src
	c.runJob("Replace "+w.n.Label, func(ctx context.Context, report progress.Func) error {
		o.Progress = report
		return srv.ReplaceImage(ctx, r, src, o)
	}, func(err error) {
		if err == nil {
			dialog.ShowInformation("Replace Image", fmt.Sprintf("Replaced %s with image %d of\n%s", r, o.SourceIndex, src), c.Window)
		}
	})
}

// regroupWizard is the Regroup wizard.
type regroupWizard struct {
	c       *Console
	dlg     dialog.Dialog
	srv     *app.Server
	preview app.RegroupPreview
	into    *widget.Entry
	verify  *widget.Check
	result  *app.RegroupResult
}

func (c *Console) regroup() {
	n, ok := c.selectedNode()
	if !ok || n.Kind != app.KindGroup {
		return
	}
	c.background(func() func() {
		p, err := n.Server.PreviewRegroup(context.Background(), n.Name)
		return func() {
			if err != nil {
				c.showError("Regroup", err)
				return
			}
			w := &regroupWizard{c: c, srv: n.Server, preview: p}
			w.show()
		}
	})
}

func (w *regroupWizard) show() {
	p := w.preview
	why := widget.NewLabel(fmt.Sprintf("Deleting or replacing images leaves their data in the group's Res.rwm, "+
		"which only grows. Regroup rebuilds the group from its %d live image(s), keeping their unattend files, "+
		"$OEM$ folders, language packs and status, and reclaims the rest.\n\n"+
		"Res.rwm is %s; regroup reclaims about %s.", p.Images, app.FormatBytes(p.ResBytes), app.FormatBytes(p.Reclaimable)))
	why.Wrapping = fyne.TextWrapWord
	w.into = widget.NewEntry()
	w.into.SetPlaceHolder("(keep " + p.Group + ")")
	// The data is copied as stored and the new group's structure is
	// always checked; this also decompresses and checks every file.
	w.verify = widget.NewCheck("Check every file's data before the swap (slower)", nil)
	form := widget.NewForm(
		widget.NewFormItem("Group", widget.NewLabel(p.Group)),
		widget.NewFormItem("", why),
		widget.NewFormItem("New name", w.into),
		widget.NewFormItem("", w.verify),
	)
	w.dlg = w.c.ask("Regroup", "Regroup", form, fyne.NewSize(600, 0), w.submit)
	w.c.current = w
}

func (w *regroupWizard) submit() {
	c := w.c
	into := strings.TrimSpace(w.into.Text)
	if into == w.preview.Group {
		into = ""
	}
	if into != "" {
		if err := app.CheckGroupName(into); err != nil {
			c.showError("Regroup", err)
			return
		}
	}
	w.dlg.Hide()
	g, srv, verify := w.preview.Group, w.srv, w.verify.Checked
	c.runJob("Regroup "+g, func(ctx context.Context, report progress.Func) error {
		var err error
		w.result, err = srv.Regroup(ctx, g, into, verify, report)
		return err
	}, func(err error) {
		if err != nil || w.result == nil {
			return
		}
		r := w.result
		dialog.ShowInformation("Regroup", fmt.Sprintf("Group %s rebuilt.\n\nBefore: %s\nAfter:   %s\nReclaimed: %s",
			r.Group, app.FormatBytes(r.BytesBefore), app.FormatBytes(r.BytesAfter), app.FormatBytes(r.BytesBefore-r.BytesAfter)), c.Window)
		c.Select(app.GroupID(srv, r.Group))
	})
}
