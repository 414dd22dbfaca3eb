package views

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/wimconsole/wimconsole/app"
	"github.com/wimconsole/wimconsole/engine/progress"
)

// The wizards of the image actions (see wizard.go): Add Image, Export
// Image, Replace Image and Regroup. Each gathers its answers page by page;
// only Finish starts a job (views/jobs.go), so Cancel or Esc at any page
// changes nothing.

// splitPaths splits the text of a source file box: paths separated by
// "; " (several files dropped at once) or new lines.
func splitPaths(text string) []string {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		for _, p := range strings.Split(line, ";") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// joinPaths is the text of a source file box holding paths.
func joinPaths(paths []string) string { return strings.Join(paths, "; ") }

// checkSourcePaths is the problem of the paths typed in a source file box.
func checkSourcePaths(paths []string) error {
	if len(paths) == 0 {
		return errors.New("type the full path of a Windows image file (.wim, .esd or .swm), or click Browse… to find one")
	}
	for _, p := range paths {
		if !filepath.IsAbs(p) {
			return fmt.Errorf("%s: type the full path of the file (it starts with %s)", p, string(filepath.Separator))
		}
		if !app.IsWIMFile(p) {
			return fmt.Errorf("%s is not a Windows image file: give a .wim, .esd or .swm file", p)
		}
	}
	return nil
}

// sameStrings reports whether a and b hold the same strings in order.
func sameStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// orDash is s, or a dash for a fact the image does not record.
func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

// fixedWidth lays o out width wide.
func fixedWidth(o fyne.CanvasObject, width float32) fyne.CanvasObject {
	return container.New(layout.NewGridWrapLayout(fyne.NewSize(width, o.MinSize().Height)), o)
}

// listCell is a one-line label of a list row, cut with an ellipsis when too
// long.
func listCell(text string, bold bool) *widget.Label {
	l := widget.NewLabelWithStyle(text, fyne.TextAlignLeading, fyne.TextStyle{Bold: bold})
	l.Truncation = fyne.TextTruncateEllipsis
	return l
}

// imageRow lays out a row of the Add wizard's image list: the check box
// (or the header's first cell), then edition, architecture and size.
func imageRow(first fyne.CanvasObject, edition, arch, size string, bold bool) fyne.CanvasObject {
	right := container.NewHBox(fixedWidth(listCell(edition, bold), 190), fixedWidth(listCell(arch, bold), 70), fixedWidth(listCell(size, bold), 90))
	return container.NewBorder(nil, nil, nil, right, first)
}

// addWizard is the Add Image wizard: the source file(s); the images to
// add; the group (existing or new) or boot architecture with the names,
// checked against those the group has; a summary with what the group
// gains. Finish adds the images as a job with progress.
type addWizard struct {
	c    *Console
	srv  *app.Server
	boot bool
	wiz  *wizard

	// files are the source files the images were read from.
	files  []string
	images []app.SourceImage

	source *dialogEntry
	list   *fyne.Container // the image rows
	scroll *container.Scroll
	checks []*wizardCheck

	group *wizardSelectEntry // install images
	arch  *wizardSelect      // boot images
	// one holds name, description and file name (one image ticked);
	// several lists the names (several ticked).
	one, several     fyne.CanvasObject
	name, desc, file *dialogEntry
	severalText      *widget.Label
	// namedFor is the image name, description and file name were filled
	// in for; autoFile the file name suggested (it follows the group
	// while the user leaves it).
	namedFor, autoFile string

	summary, gain *widget.Label
	// gains counts the gain computations started (for tests).
	gains int
}

// addImage opens the Add Image wizard for install images: on files (from
// a drop) at the images page, else at the source file page; group
// preselected.
func (c *Console) addImage(files []string, group string) { c.openAddWizard(files, false, group) }

// addImageFromMenu is File > Add Install Image… and its shortcut Ctrl+N,
// which the window runs whatever is shown and even when the item is greyed
// out: it does nothing on a read-only store or while a dialog is shown.
func (c *Console) addImageFromMenu() {
	if c.readOnly() || c.Window.Canvas().Overlays().Top() != nil {
		return
	}
	c.addImage(nil, c.selectedGroup())
}

// addBootImage opens the Add Image wizard for boot images.
func (c *Console) addBootImage(files []string, arch string) { c.openAddWizard(files, true, arch) }

func (c *Console) openAddWizard(files []string, boot bool, target string) {
	leftOut := c.takeLeftOut() // files a drop left out: told on top of the wizard
	srv := c.server()
	if srv == nil {
		c.reportLeftOut(leftOut)
		return
	}
	if open, ok := c.current.(*addWizard); ok && open.open() {
		return // Ctrl+N again: one Add Image wizard at a time
	}
	w := &addWizard{c: c, srv: srv, boot: boot}
	if len(files) == 0 {
		w.build(target)
		w.wiz.show(0)
		c.current = w
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
			w.build(target)
			w.source.SetText(joinPaths(files))
			w.setImages(files, images)
			w.wiz.show(1)
			c.current = w
		}
	})
}

// open reports whether the wizard is shown.
func (w *addWizard) open() bool { return w.wiz != nil && !w.wiz.closed }

// acceptDrop takes WIM files dropped on the window while the wizard is
// open as its source files: it reads them and shows their images (the
// images page). It reports whether it took them (not when closed).
func (w *addWizard) acceptDrop(paths []string) bool {
	if !w.open() || len(paths) == 0 {
		return false
	}
	w.source.SetText(joinPaths(paths))
	if w.wiz.at != 0 {
		w.wiz.goTo(0)
	}
	w.wiz.Next()
	return true
}

// reportDrop shows err (files dropped that cannot be added) in a dialog on
// top of the wizard, which stays open with what was entered.
func (w *addWizard) reportDrop(err error) {
	if err == nil {
		return
	}
	dialog.ShowInformation("Not a Windows Image", err.Error(), w.c.Window)
}

func (w *addWizard) build(target string) {
	c := w.c
	title := "Add Install Image"
	if w.boot {
		title = "Add Boot Image"
	}

	// Page 1: the source file(s).
	w.source = c.newDialogEntry()
	w.source.SetPlaceHolder(string(filepath.Separator) + filepath.Join("path", "to", "install.wim"))
	browse := c.newDialogButton("Browse…", nil, func() {
		c.openFiles(title, app.WIMFilters, func(files []string) {
			c.current = w
			w.source.SetText(joinPaths(files))
		})
	})
	hint := widget.NewLabel("The Windows image file (.wim, .esd or .swm) whose images to add.\n" +
		"Type its full path or click Browse…; files dropped on the window come here too.")
	sourcePage := &wizardPage{
		title:   "Image file",
		content: container.NewVBox(widget.NewLabel("File location:"), container.NewBorder(nil, nil, nil, browse, w.source), hint),
		validate: func() error {
			return checkSourcePaths(splitPaths(w.source.Text))
		},
		leave: w.readSource,
		focus: w.source,
	}

	// Page 2: the images of the file(s), all visible in a tall list.
	w.list = container.NewVBox()
	w.scroll = container.NewVScroll(w.list)
	rowH := widget.NewCheck("Image", nil).MinSize().Height
	w.scroll.SetMinSize(fyne.NewSize(0, 8*(rowH+theme.Padding())))
	header := imageRow(listCell("Image", true), "Edition", "Arch", "Size", true)
	imagesPage := &wizardPage{
		title:   "Images",
		content: container.NewBorder(container.NewVBox(widget.NewLabel("Tick the images to add (Space ticks the focused one):"), header), nil, nil, nil, w.scroll),
		validate: func() error {
			if len(w.picks()) == 0 {
				return errors.New("tick at least one image to add")
			}
			return nil
		},
	}

	// Page 3: where to, and the names.
	var where *widget.FormItem
	if w.boot {
		archs := append([]string{"(from the image)"}, app.BootArchs()...)
		w.arch = c.newWizardSelect(archs, func(string) { w.targetChanged() })
		w.arch.Selected = archs[0]
		if target != "" {
			w.arch.Selected = target
		}
		where = widget.NewFormItem("Architecture", w.arch)
	} else {
		groups := c.model.Groups(w.srv)
		w.group = c.newWizardSelectEntry(groups)
		switch {
		case target != "":
			w.group.SetText(target)
		case len(groups) > 0:
			w.group.SetText(groups[0])
		default:
			w.group.SetText(app.DefaultGroup)
		}
		where = widget.NewFormItem("Image group", w.group)
		where.HintText = "Pick a group, or type a new name to create it"
	}
	w.name = c.newDialogEntry()
	w.desc = c.newDialogEntry()
	w.desc.MultiLine = true
	w.desc.Wrapping = fyne.TextWrapWord
	w.desc.SetMinRowsVisible(3)
	w.file = c.newDialogEntry()
	fileItem := widget.NewFormItem("File name", w.file)
	fileItem.HintText = "The image's .wim file in the group folder"
	w.one = widget.NewForm(widget.NewFormItem("Image name", w.name), widget.NewFormItem("Description", w.desc), fileItem)
	w.severalText = widget.NewLabel("")
	w.several = w.severalText
	namesPage := &wizardPage{
		title:    "Image group and names",
		content:  container.NewVBox(widget.NewForm(where), widget.NewSeparator(), w.one, w.several),
		validate: w.namesProblem,
	}
	if w.group != nil {
		namesPage.focus = w.group
	} else {
		namesPage.focus = w.arch
	}

	// Page 4: the summary.
	w.summary = widget.NewLabel("")
	w.summary.Wrapping = fyne.TextWrapWord
	w.gain = widget.NewLabel("")
	gainRow := container.NewBorder(nil, nil, widget.NewLabelWithStyle("The group gains", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), nil, w.gain)
	if w.boot {
		gainRow.Hide()
	}
	summaryPage := &wizardPage{
		title:   "Summary",
		content: container.NewVBox(w.summary, gainRow, widget.NewLabel("Click Finish to add the images. The job shows its progress and can be cancelled.")),
		enter:   w.showSummary,
	}

	w.wiz = c.newWizard(title, fyne.NewSize(800, 600), w.submit, sourcePage, imagesPage, namesPage, summaryPage)
	w.source.OnChanged = func(string) { w.wiz.check() }
	w.name.OnChanged = func(string) { w.wiz.check() }
	w.file.OnChanged = func(string) { w.wiz.check() }
	if w.group != nil {
		w.group.OnChanged = func(string) { w.targetChanged() }
	}
}

// readSource is the source page's leave: it reads the images of the files
// typed (in the background), then goes on.
func (w *addWizard) readSource(next func()) {
	files := splitPaths(w.source.Text)
	if sameStrings(files, w.files) && len(w.images) > 0 {
		next()
		return
	}
	w.c.background(func() func() {
		images, err := app.InspectSources(files)
		return func() {
			if err != nil {
				w.wiz.leaveFailed(fmt.Errorf("cannot read the images: %v", err))
				return
			}
			w.setImages(files, images)
			next()
		}
	})
}

// setImages lists the images of files, all ticked.
func (w *addWizard) setImages(files []string, images []app.SourceImage) {
	w.files, w.images = files, images
	w.checks = nil
	w.list.Objects = nil
	for _, im := range images {
		label := fmt.Sprintf("%s   (%s, image %d)", im.Name, filepath.Base(im.File), im.Index)
		ch := w.c.newWizardCheck(label, func(bool) { w.ticked() })
		ch.Checked = true
		w.checks = append(w.checks, ch)
		w.list.Add(imageRow(ch, orDash(im.Edition), orDash(im.Arch), app.FormatBytes(im.Bytes), false))
	}
	w.list.Refresh()
	w.namedFor = ""
	w.ticked()
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

func pickKey(p app.SourceImage) string { return p.File + "\x00" + strconv.Itoa(p.Index) }

// ticked follows the ticks: name, description and file name apply to one
// image only; several are listed by name.
func (w *addWizard) ticked() {
	p := w.picks()
	if len(p) == 1 {
		w.several.Hide()
		w.one.Show()
		if k := pickKey(p[0]); w.namedFor != k {
			w.namedFor = k
			w.name.SetText(p[0].Name)
			w.desc.SetText(p[0].Description)
			w.autoFile = w.predictFiles(p)[0]
			w.file.SetText(w.autoFile)
		}
	} else {
		w.one.Hide()
		w.several.Show()
	}
	w.updateGain()
	w.wiz.check()
}

// targetChanged follows the group or architecture: the suggested file
// name, the gain and the names' check.
func (w *addWizard) targetChanged() {
	if p := w.picks(); len(p) == 1 && w.file.Text == w.autoFile {
		w.autoFile = w.predictFiles(p)[0]
		w.file.SetText(w.autoFile)
	}
	w.updateGain()
	w.wiz.check()
}

// targetGroup is the group typed or picked.
func (w *addWizard) targetGroup() string { return strings.TrimSpace(w.group.Text) }

// folder returns the tree node of the folder pick goes into and how the
// page names it.
func (w *addWizard) folder(pick app.SourceImage) (id, what string) {
	if !w.boot {
		g := w.targetGroup()
		return app.GroupID(w.srv, g), fmt.Sprintf("the image group %s", g)
	}
	arch := pick.Arch
	if w.arch.SelectedIndex() > 0 {
		arch = w.arch.Selected
	}
	return app.ArchID(w.srv, arch), fmt.Sprintf("the boot images of %s", arch)
}

// existing returns the names (lower case, to the image holding it) and
// file names (lower case, without .wim) of the images of pick's folder, as
// the tree knows them.
func (w *addWizard) existing(pick app.SourceImage) (names map[string]string, files map[string]bool) {
	names, files = map[string]string{}, map[string]bool{}
	id, _ := w.folder(pick)
	for _, kid := range w.c.model.Children(id) {
		n, ok := w.c.model.Node(kid)
		if !ok || n.Image == nil {
			continue
		}
		names[strings.ToLower(n.Image.Name)] = n.Ref().String()
		files[strings.ToLower(strings.TrimSuffix(n.Image.File, ".wim"))] = true
	}
	return names, files
}

// predictFiles returns the file names the store will give picks, as WDS
// names them: install, install-(2), ... after the source file, skipping
// those taken.
func (w *addWizard) predictFiles(picks []app.SourceImage) []string {
	out := make([]string, len(picks))
	given := map[string]bool{}
	for i, p := range picks {
		_, taken := w.existing(p)
		id, _ := w.folder(p)
		base := strings.TrimSuffix(filepath.Base(p.File), filepath.Ext(p.File))
		if app.CheckFileName(base) != nil {
			base = "install"
		}
		for k := 1; ; k++ {
			f := base
			if k > 1 {
				f = fmt.Sprintf("%s-(%d)", base, k)
			}
			key := strings.ToLower(f)
			if !taken[key] && !given[id+"/"+key] {
				given[id+"/"+key] = true
				out[i] = f
				break
			}
		}
	}
	return out
}

// namesProblem checks the group (or architecture) and the names against
// the images there: an image name or file name taken is flagged on the
// page, before Finish.
func (w *addWizard) namesProblem() error {
	if !w.boot {
		if err := app.CheckGroupName(w.targetGroup()); err != nil {
			return fmt.Errorf("image group: %v; pick a group or type another name", err)
		}
	}
	p := w.picks()
	if len(p) == 0 {
		return errors.New("no image is ticked: tick at least one on the Images page (Back)")
	}
	if len(p) == 1 {
		names, files := w.existing(p[0])
		_, where := w.folder(p[0])
		name := strings.TrimSpace(w.name.Text)
		if name == "" {
			return errors.New("type a name for the image")
		}
		if ref, ok := names[strings.ToLower(name)]; ok {
			return fmt.Errorf("%s already has an image named %q (%s): type another name, or choose another group", where, name, ref)
		}
		f := strings.TrimSuffix(strings.TrimSpace(w.file.Text), ".wim")
		if f == "" {
			return errors.New("type a file name for the image")
		}
		if err := app.CheckFileName(f); err != nil {
			return fmt.Errorf("file name: %v", err)
		}
		if files[strings.ToLower(f)] {
			return fmt.Errorf("%s already has an image file %s.wim: type another file name", where, f)
		}
		return nil
	}
	files := w.predictFiles(p)
	seen := map[string]app.SourceImage{}
	var lines, bad []string
	for i, pk := range p {
		names, _ := w.existing(pk)
		key := strings.ToLower(pk.Name)
		line := fmt.Sprintf("%s  →  %s.wim", pk.Name, files[i])
		if ref, ok := names[key]; ok {
			line += "   ⚠ name already in use by " + ref
			bad = append(bad, fmt.Sprintf("%q is already the name of %s", pk.Name, ref))
		} else if o, ok := seen[key]; ok {
			line += "   ⚠ name ticked twice"
			bad = append(bad, fmt.Sprintf("%q names two ticked images (image %d of %s and image %d of %s)",
				pk.Name, o.Index, filepath.Base(o.File), pk.Index, filepath.Base(pk.File)))
		}
		seen[key] = pk
		lines = append(lines, line)
	}
	w.severalText.SetText(fmt.Sprintf("The %d images keep their names:\n", len(p)) + strings.Join(lines, "\n"))
	if len(bad) > 0 {
		return fmt.Errorf("%s. Image names must differ within a group: untick the image on the Images page (Back), add it on its own to rename it, or choose another group", strings.Join(bad, "; "))
	}
	return nil
}

// request is the add the wizard's answers ask for.
func (w *addWizard) request() app.AddRequest {
	req := app.AddRequest{Picks: w.picks(), Boot: w.boot}
	if w.boot {
		if w.arch.SelectedIndex() > 0 {
			req.Arch = w.arch.Selected
		}
	} else {
		req.Group = w.targetGroup()
	}
	if len(req.Picks) == 1 {
		req.Name, req.Description = strings.TrimSpace(w.name.Text), strings.TrimSpace(w.desc.Text)
		req.FileName = strings.TrimSuffix(strings.TrimSpace(w.file.Text), ".wim")
	}
	return req
}

// showSummary says what Finish will do.
func (w *addWizard) showSummary() {
	req := w.request()
	var b strings.Builder
	if w.boot {
		where := "the architecture of each image"
		if req.Arch != "" {
			where = req.Arch
		}
		fmt.Fprintf(&b, "Add %d boot image(s), under %s:\n", len(req.Picks), where)
	} else {
		state := "an existing group"
		if _, ok := w.c.model.Node(app.GroupID(w.srv, req.Group)); !ok {
			state = "a new group, created with its images"
		}
		fmt.Fprintf(&b, "Add %d image(s) to the image group %s (%s):\n", len(req.Picks), req.Group, state)
	}
	files := w.predictFiles(req.Picks)
	for i, p := range req.Picks {
		name, file := p.Name, files[i]
		if len(req.Picks) == 1 {
			name, file = req.Name, req.FileName
		}
		fmt.Fprintf(&b, "  %s  →  %s.wim   (image %d of %s)\n", name, file, p.Index, filepath.Base(p.File))
	}
	w.summary.SetText(strings.TrimRight(b.String(), "\n"))
	w.updateGain()
}

// updateGain works out, in a goroutine, what the group gains.
func (w *addWizard) updateGain() {
	if w.boot || w.gain == nil {
		return
	}
	picks, group := w.picks(), w.targetGroup()
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

// submit adds the ticked images (Finish).
func (w *addWizard) submit() {
	c := w.c
	req := w.request()
	if len(req.Picks) == 0 {
		c.showError("Add Image", errors.New("no image is ticked"))
		return
	}
	if err := w.namesProblem(); err != nil {
		c.showError("Add Image", err)
		return
	}
	if !w.wiz.closed {
		w.wiz.closed = true
		w.wiz.dlg.Hide()
	}
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

// exportWizard is the Export Image wizard: the image; the destination
// (new file, append to or overwrite an existing one) with the name and
// description the copy gets; a summary. Finish exports as a job.
type exportWizard struct {
	c       *Console
	wiz     *wizard
	n       app.Node
	dest    *dialogEntry
	mode    *wizardSelect
	name    *dialogEntry
	desc    *dialogEntry
	summary *widget.Label
	// imagePage is the first page; destPage the destination page.
	imagePage, destPage *wizardPage
	// taken is what the destination's leave read of the file to append
	// to: the names of its images.
	taken destNames
	// reads counts the reads of the destination's leave: a read that ends
	// after another began is dropped.
	reads int
}

// destNames are the image names of a WIM file as read at its size and
// time: a file changed since is read again.
type destNames struct {
	path  string
	size  int64
	mod   time.Time
	names map[string]bool
}

// of reports whether d holds the names of the file path as st describes it.
func (d destNames) of(path string, st os.FileInfo) bool {
	return d.names != nil && d.path == path && d.size == st.Size() && d.mod.Equal(st.ModTime())
}

const (
	exportNew       = "New file"
	exportOverwrite = "Overwrite the file"
	exportAppend    = "Append to the file"
	exportSplit     = "New split set for a FAT32 USB stick (parts of 3.8 GiB)"
)

func (c *Console) exportImage() {
	n, ok := c.selectedNode()
	if !ok || n.Image == nil {
		return
	}
	w := &exportWizard{c: c, n: n}
	w.build()
	w.wiz.show(0)
	c.current = w
}

func (w *exportWizard) build() {
	c, im := w.c, w.n.Image
	about := widget.NewForm()
	for _, kv := range app.GeneralProperties(im) {
		switch kv[0] {
		case "Name", "Description", "Architecture", "Edition", "Group", "File name", "Expanded size":
			l := widget.NewLabel(kv[1])
			l.Truncation = fyne.TextTruncateEllipsis
			about.Append(kv[0], l)
		}
	}
	// The facts scroll: the page fits the wizard whatever the window.
	w.imagePage = &wizardPage{
		title: "Image",
		content: container.NewBorder(widget.NewLabel("Export this image as a standalone WIM file (its metadata and the data it uses):"),
			nil, nil, nil, container.NewVScroll(about)),
	}

	home, err := os.UserHomeDir()
	if err != nil {
		home = string(filepath.Separator)
	}
	file := im.File
	if !strings.HasSuffix(strings.ToLower(file), ".wim") {
		file += ".wim"
	}
	w.dest = c.newDialogEntry()
	w.dest.SetText(filepath.Join(home, file))
	browse := c.newDialogButton("Browse…", nil, func() {
		c.saveFile("Export Image", im.File, app.WIMFilters, func(dest string) {
			c.current = w
			w.dest.SetText(dest)
		})
	})
	w.mode = c.newWizardSelect([]string{exportNew, exportAppend, exportOverwrite, exportSplit}, func(string) { w.wiz.check() })
	w.mode.Selected = exportNew
	w.name = c.newDialogEntry()
	w.name.SetText(im.Name)
	w.desc = c.newDialogEntry()
	w.desc.MultiLine = true
	w.desc.Wrapping = fyne.TextWrapWord
	w.desc.SetMinRowsVisible(3)
	w.desc.SetText(im.Description)
	w.destPage = &wizardPage{
		title: "Destination",
		content: widget.NewForm(
			widget.NewFormItem("File", container.NewBorder(nil, nil, nil, browse, w.dest)),
			widget.NewFormItem("Write", w.mode),
			widget.NewFormItem("Image name", w.name),
			widget.NewFormItem("Description", w.desc),
		),
		validate: w.destProblem,
		leave:    w.readDest,
		focus:    w.dest,
	}

	w.summary = widget.NewLabel("")
	w.summary.Wrapping = fyne.TextWrapWord
	summaryPage := &wizardPage{title: "Summary", content: w.summary, enter: w.showSummary}

	w.wiz = c.newWizard("Export Image", fyne.NewSize(660, 460), w.submit, w.imagePage, w.destPage, summaryPage)
	w.dest.OnChanged = func(string) { w.wiz.check() }
	w.name.OnChanged = func(string) { w.wiz.check() }
}

// destPath is the destination typed.
func (w *exportWizard) destPath() string { return filepath.Clean(strings.TrimSpace(w.dest.Text)) }

// destProblem checks the destination against what is on disk: a new file
// onto an existing one, appending to a missing one, a missing folder.
func (w *exportWizard) destProblem() error {
	text := strings.TrimSpace(w.dest.Text)
	if text == "" || !filepath.IsAbs(text) {
		return errors.New("type the full path of the file to write, or click Browse… to choose it")
	}
	dest := w.destPath()
	if st, err := os.Stat(filepath.Dir(dest)); err != nil || !st.IsDir() {
		return fmt.Errorf("the folder %s does not exist: choose another folder", filepath.Dir(dest))
	}
	if w.mode.Selected == exportSplit {
		// The parts are DEST.swm, DEST2.swm …: none may exist.
		first := app.SplitSetName(dest)
		if _, err := os.Stat(first); err == nil {
			return fmt.Errorf("%s exists: a split set is always new; choose another name or folder", first)
		}
		if strings.TrimSpace(w.name.Text) == "" {
			return errors.New("type a name for the exported image")
		}
		return nil
	}
	st, err := os.Stat(dest)
	switch {
	case err == nil && st.IsDir():
		return fmt.Errorf("%s is a folder: type the name of a file in it", dest)
	case err == nil && w.mode.Selected == exportNew:
		return fmt.Errorf("%s exists: choose %q or %q, or another file", dest, exportAppend, exportOverwrite)
	case err != nil && w.mode.Selected == exportAppend:
		return fmt.Errorf("%s does not exist: choose %q to create it", dest, exportNew)
	}
	if strings.TrimSpace(w.name.Text) == "" {
		return errors.New("type a name for the exported image")
	}
	if w.mode.Selected == exportAppend && w.taken.of(dest, st) && w.taken.names[w.exportName()] {
		return fmt.Errorf("%s already has an image named %q: type another name", dest, w.exportName())
	}
	return nil
}

// exportName is the name the exported image gets: the name typed, or the
// image's own.
func (w *exportWizard) exportName() string {
	if name := strings.TrimSpace(w.name.Text); name != "" {
		return name
	}
	return w.n.Image.Name
}

// readDest is the destination page's leave: appending to a file, it reads
// the names of the file's images (in the background) so that destProblem
// flags a name the file has already, then goes on if none is taken.
func (w *exportWizard) readDest(next func()) {
	dest := w.destPath()
	st, err := os.Stat(dest)
	if w.mode.Selected != exportAppend || err != nil || w.taken.of(dest, st) {
		next()
		return
	}
	w.reads++
	read := w.reads
	w.c.background(func() func() {
		names, err := wimImageNames(dest)
		return func() {
			if read != w.reads || w.wiz.closed || w.wiz.page() != w.destPage {
				return // Back, or another Next, since
			}
			if err != nil {
				w.wiz.leaveFailed(fmt.Errorf("cannot read the images of the file to append to: %v; choose another file, or %q", err, exportOverwrite))
				return
			}
			w.taken = destNames{path: dest, size: st.Size(), mod: st.ModTime(), names: names}
			if err := w.destProblem(); err != nil {
				w.wiz.leaveFailed(err)
				return
			}
			next()
		}
	})
}

// wimImageNames returns the names of the images of the WIM file name.
func wimImageNames(name string) (map[string]bool, error) {
	f, err := app.OpenWIM(name, nil)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names := map[string]bool{}
	for _, im := range f.XML().Images {
		names[im.Name] = true
	}
	return names, nil
}

func (w *exportWizard) showSummary() {
	verb := "Write the new file"
	switch w.mode.Selected {
	case exportAppend:
		verb = "Append to the file"
	case exportOverwrite:
		verb = "Overwrite the file"
	case exportSplit:
		first := app.SplitSetName(w.destPath())
		w.summary.SetText(fmt.Sprintf("Export the image %q (%s)\n\nas a split set for a FAT32 USB stick: %s, %s, … (parts of at most %s; copy them all to the stick's sources folder)\nas the image %q.\n\nClick Finish to export it; the job shows its progress and can be cancelled.",
			w.n.Image.Name, w.n.Ref(), first, strings.TrimSuffix(first, ".swm")+"2.swm", app.FormatBytes(app.DefaultPartSize), strings.TrimSpace(w.name.Text)))
		return
	}
	w.summary.SetText(fmt.Sprintf("Export the image %q (%s)\n\n%s %s\nas the image %q.\n\nClick Finish to export it; the job shows its progress and can be cancelled.",
		w.n.Image.Name, w.n.Ref(), verb, w.destPath(), strings.TrimSpace(w.name.Text)))
}

// submit exports the image (Finish).
func (w *exportWizard) submit() {
	if err := w.destProblem(); err != nil {
		w.c.showError("Export Image", err)
		return
	}
	if !w.wiz.closed {
		w.wiz.closed = true
		w.wiz.dlg.Hide()
	}
	o := app.ExportOptions{Name: strings.TrimSpace(w.name.Text), Description: strings.TrimSpace(w.desc.Text)}
	switch w.mode.Selected {
	case exportOverwrite:
		o.Overwrite = app.OverwriteYes
	case exportAppend:
		o.Overwrite = app.OverwriteAppend
	}
	r, srv, dest := w.n.Ref(), w.n.Server, w.destPath()
	if w.mode.Selected == exportSplit {
		first := app.SplitSetName(dest)
		var parts []string
		w.c.runJob("Export "+w.n.Label, func(ctx context.Context, report progress.Func) error {
			o.Progress = report
			var err error
			parts, err = srv.ExportImageSplit(ctx, r, first, app.DefaultPartSize, o)
			return err
		}, func(err error) {
			if err == nil {
				dialog.ShowInformation("Export Image", fmt.Sprintf("Exported %q as a split set of %d part(s):\n%s", w.n.Label, len(parts), strings.Join(parts, "\n")), w.c.Window)
			}
		})
		return
	}
	w.c.runJob("Export "+w.n.Label, func(ctx context.Context, report progress.Func) error {
		o.Progress = report
		return srv.ExportImage(ctx, r, dest, o)
	}, func(err error) {
		if err == nil {
			dialog.ShowInformation("Export Image", fmt.Sprintf("Exported %q to\n%s", w.n.Label, dest), w.c.Window)
		}
	})
}

// replaceWizard is the Replace Image wizard: the source file; the image of
// it; the options (wait for install sessions or force, keep the name); a
// summary. Finish replaces as a job.
type replaceWizard struct {
	c        *Console
	wiz      *wizard
	n        app.Node
	src      *dialogEntry
	file     string // the file images were read from
	images   []app.SourceImage
	sessions []app.InstallSession
	index    *wizardSelect
	force    *wizardCheck
	wait     *dialogEntry // minutes to wait for sessions
	keepName *wizardCheck
	sessText *widget.Label
	summary  *widget.Label
}

func (c *Console) replaceImage() {
	n, ok := c.selectedNode()
	if !ok || n.Image == nil {
		return
	}
	w := &replaceWizard{c: c, n: n}
	w.build()
	w.wiz.show(0)
	c.current = w
}

func (w *replaceWizard) build() {
	c := w.c
	w.src = c.newDialogEntry()
	w.src.SetPlaceHolder(string(filepath.Separator) + filepath.Join("path", "to", "install.wim"))
	browse := c.newDialogButton("Browse…", nil, func() {
		c.openFiles("Replace Image", app.WIMFilters, func(files []string) {
			c.current = w
			w.src.SetText(files[0])
		})
	})
	sourcePage := &wizardPage{
		title: "Source file",
		content: container.NewVBox(
			widget.NewLabel(fmt.Sprintf("Replace the image %q (%s) with an image of this file:", w.n.Image.Name, w.n.Ref())),
			container.NewBorder(nil, nil, nil, browse, w.src)),
		validate: func() error {
			p := splitPaths(w.src.Text)
			if len(p) > 1 {
				return errors.New("give one file: an image is replaced by one image")
			}
			return checkSourcePaths(p)
		},
		leave: w.readSource,
		focus: w.src,
	}

	w.index = c.newWizardSelect(nil, func(string) { w.wiz.check() })
	imagePage := &wizardPage{
		title:   "Source image",
		content: widget.NewForm(widget.NewFormItem("Image of the file", w.index)),
		validate: func() error {
			if w.index.SelectedIndex() < 0 {
				return errors.New("choose the image of the file that replaces it")
			}
			return nil
		},
		focus: w.index,
	}

	w.sessText = widget.NewLabel("")
	w.wait = c.newDialogEntry()
	w.wait.SetText("10")
	w.force = c.newWizardCheck("Force: replace without waiting for install sessions", func(bool) { w.wiz.check() })
	w.keepName = c.newWizardCheck(fmt.Sprintf("Keep the image's name %q (else it takes the source image's)", w.n.Image.Name), nil)
	w.keepName.Checked = true
	note := "The image keeps its file name, unattend file, $OEM$ folder, language packs and status."
	if w.n.Image.Enabled {
		note += "\nIt is disabled while it is replaced, then enabled again."
	}
	optionsPage := &wizardPage{
		title: "Options",
		content: widget.NewForm(
			widget.NewFormItem("Sessions", w.sessText),
			widget.NewFormItem("Wait (minutes)", w.wait),
			widget.NewFormItem("", w.force),
			widget.NewFormItem("", w.keepName),
			widget.NewFormItem("", widget.NewLabel(note)),
		),
		validate: func() error {
			_, err := w.waitFor()
			return err
		},
		focus: w.wait,
	}

	w.summary = widget.NewLabel("")
	w.summary.Wrapping = fyne.TextWrapWord
	summaryPage := &wizardPage{title: "Summary", content: w.summary, enter: w.showSummary}
	w.wiz = c.newWizard("Replace Image", fyne.NewSize(680, 440), w.submit, sourcePage, imagePage, optionsPage, summaryPage)
	w.src.OnChanged = func(string) { w.wiz.check() }
	w.wait.OnChanged = func(string) { w.wiz.check() }
}

// readSource reads the source file's images and the image's install
// sessions (in the background), then goes on.
func (w *replaceWizard) readSource(next func()) {
	file := splitPaths(w.src.Text)[0]
	if file == w.file && len(w.images) > 0 {
		next()
		return
	}
	n := w.n
	w.c.background(func() func() {
		images, err := app.InspectSources([]string{file})
		var sessions []app.InstallSession
		if err == nil {
			sessions, err = n.Server.Service().Sessions(context.Background(), n.Ref())
		}
		return func() {
			if err != nil {
				w.wiz.leaveFailed(fmt.Errorf("cannot read the images: %v", err))
				return
			}
			w.setImages(file, images, sessions)
			next()
		}
	})
}

// setImages offers the images of file; sessions are the image's install
// sessions.
func (w *replaceWizard) setImages(file string, images []app.SourceImage, sessions []app.InstallSession) {
	w.file, w.images, w.sessions = file, images, sessions
	opts := make([]string, len(images))
	for i, im := range images {
		opts[i] = fmt.Sprintf("%d: %s %s %s (%s)", im.Index, im.Name, im.Edition, im.Arch, app.FormatBytes(im.Bytes))
	}
	w.index.Options = opts
	w.index.ClearSelected()
	if len(opts) > 0 {
		w.index.SetSelectedIndex(0)
	}
	sess := "No active install sessions."
	if len(sessions) > 0 {
		lines := []string{fmt.Sprintf("%d active install session(s):", len(sessions))}
		for _, s := range sessions {
			lines = append(lines, fmt.Sprintf("  %s (pid %d) since %s", s.Client, s.PID, s.Started.Local().Format("15:04:05")))
		}
		sess = strings.Join(lines, "\n")
	}
	w.sessText.SetText(sess)
}

// waitFor is how long to wait for install sessions.
func (w *replaceWizard) waitFor() (time.Duration, error) {
	if w.force.Checked {
		return 0, nil
	}
	mins, err := strconv.ParseFloat(strings.TrimSpace(w.wait.Text), 64)
	if err != nil || mins < 0 {
		return 0, fmt.Errorf("wait %q: type a number of minutes (0 or more), or tick Force", w.wait.Text)
	}
	return time.Duration(mins * float64(time.Minute)), nil
}

// options are the replace the answers ask for.
func (w *replaceWizard) options() (app.ReplaceOptions, error) {
	i := w.index.SelectedIndex()
	if i < 0 || i >= len(w.images) {
		return app.ReplaceOptions{}, errors.New("no source image chosen")
	}
	wait, err := w.waitFor()
	if err != nil {
		return app.ReplaceOptions{}, err
	}
	o := app.ReplaceOptions{SourceIndex: w.images[i].Index, Force: w.force.Checked, Wait: wait}
	if !w.keepName.Checked {
		o.Name, o.Description = w.images[i].Name, w.images[i].Description
	}
	return o, nil
}

func (w *replaceWizard) showSummary() {
	o, err := w.options()
	if err != nil {
		w.summary.SetText(err.Error())
		return
	}
	name := w.n.Image.Name
	if o.Name != "" {
		name = o.Name
	}
	how := fmt.Sprintf("waiting up to %s for install sessions to end", o.Wait)
	if o.Force {
		how = "without waiting for install sessions"
	}
	w.summary.SetText(fmt.Sprintf("Replace the image %q (%s)\nwith image %d of %s,\n%s.\n\nIt will be named %q.\n\nClick Finish to replace it; the job shows its progress and can be cancelled.",
		w.n.Image.Name, w.n.Ref(), o.SourceIndex, w.file, how, name))
}

// submit replaces the image (Finish).
func (w *replaceWizard) submit() {
	c := w.c
	o, err := w.options()
	if err != nil {
		c.showError("Replace Image", err)
		return
	}
	if !w.wiz.closed {
		w.wiz.closed = true
		w.wiz.dlg.Hide()
	}
	r, srv, src := w.n.Ref(), w.n.Server, w.file
	c.runJob("Replace "+w.n.Label, func(ctx context.Context, report progress.Func) error {
		o.Progress = report
		return srv.ReplaceImage(ctx, r, src, o)
	}, func(err error) {
		if err == nil {
			dialog.ShowInformation("Replace Image", fmt.Sprintf("Replaced %s with image %d of\n%s", r, o.SourceIndex, src), c.Window)
		}
	})
}

// regroupWizard is the Regroup wizard: the group; the options (a new
// name, verify); a summary with the bytes reclaimable. Finish regroups as
// a job.
type regroupWizard struct {
	c       *Console
	wiz     *wizard
	srv     *app.Server
	preview app.RegroupPreview
	into    *dialogEntry
	verify  *wizardCheck
	summary *widget.Label
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
			w.build()
			w.wiz.show(0)
			c.current = w
		}
	})
}

func (w *regroupWizard) build() {
	c, p := w.c, w.preview
	why := widget.NewLabel(fmt.Sprintf("Deleting or replacing images leaves their data in the group's Res.rwm, "+
		"which only grows. Regroup rebuilds the group from its %d live image(s), keeping their unattend files, "+
		"$OEM$ folders, language packs and status, and reclaims the rest.\n\n"+
		"Res.rwm is %s; regroup reclaims about %s.", p.Images, app.FormatBytes(p.ResBytes), app.FormatBytes(p.Reclaimable)))
	why.Wrapping = fyne.TextWrapWord
	groupPage := &wizardPage{
		title:   "Image group",
		content: container.NewVBox(widget.NewForm(widget.NewFormItem("Group", widget.NewLabel(p.Group))), why),
	}

	w.into = c.newDialogEntry()
	w.into.SetPlaceHolder("(keep " + p.Group + ")")
	// The data is copied as stored and the new group's structure is
	// always checked; this also decompresses and checks every file.
	w.verify = c.newWizardCheck("Check every file's data before the swap (slower)", nil)
	optionsPage := &wizardPage{
		title: "Options",
		content: widget.NewForm(
			widget.NewFormItem("New name", w.into),
			widget.NewFormItem("", w.verify),
		),
		validate: w.intoProblem,
		focus:    w.into,
	}

	w.summary = widget.NewLabel("")
	w.summary.Wrapping = fyne.TextWrapWord
	summaryPage := &wizardPage{title: "Summary", content: w.summary, enter: w.showSummary}
	w.wiz = c.newWizard("Regroup", fyne.NewSize(620, 420), w.submit, groupPage, optionsPage, summaryPage)
	w.into.OnChanged = func(string) { w.wiz.check() }
}

// target is the new name typed ("" keeps the group's).
func (w *regroupWizard) target() string {
	into := strings.TrimSpace(w.into.Text)
	if into == w.preview.Group {
		return ""
	}
	return into
}

// intoProblem checks the new name: a valid name no other group has.
func (w *regroupWizard) intoProblem() error {
	into := w.target()
	if into == "" {
		return nil
	}
	if err := app.CheckGroupName(into); err != nil {
		return fmt.Errorf("new name: %v", err)
	}
	for _, g := range w.c.model.Groups(w.srv) {
		if strings.EqualFold(g, into) {
			return fmt.Errorf("an image group named %q exists already: type another name, or none to keep %s", g, w.preview.Group)
		}
	}
	return nil
}

func (w *regroupWizard) showSummary() {
	p := w.preview
	name := "keeps its name"
	if into := w.target(); into != "" {
		name = "is renamed " + into
	}
	check := "Its structure is checked before the swap."
	if w.verify.Checked {
		check = "Every file's data and the structure are checked before the swap."
	}
	w.summary.SetText(fmt.Sprintf("Rebuild the image group %s from its %d live image(s); it %s.\n\n"+
		"Res.rwm is %s; %s are reclaimable.\n%s\n\nClick Finish to regroup; the job shows its progress and can be cancelled.",
		p.Group, p.Images, name, app.FormatBytes(p.ResBytes), app.FormatBytes(p.Reclaimable), check))
}

// submit regroups (Finish).
func (w *regroupWizard) submit() {
	c := w.c
	if err := w.intoProblem(); err != nil {
		c.showError("Regroup", err)
		return
	}
	if !w.wiz.closed {
		w.wiz.closed = true
		w.wiz.dlg.Hide()
	}
	into := w.target()
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
