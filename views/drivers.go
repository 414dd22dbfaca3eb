package views

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/wimconsole/wimconsole/app"
	"github.com/wimconsole/wimconsole/engine/progress"
)

// archFromImage is the architecture choice that lets the engine read the
// architecture from the image's XML data.
const archFromImage = "From the image"

// driverForm is the form of Add Driver Package…: the package's folder name
// in the image, the path Windows Setup searches and the architecture of the
// unattend entry (install images; a boot image loads the package with
// drvload instead).
type driverForm struct {
	folder    string
	name      *widget.Entry
	setupPath *widget.Entry  // nil for boot images
	arch      *widget.Select // nil for boot images
}

// options returns the engine's options for the form's fields.
func (f *driverForm) options() app.DriverOptions {
	o := app.DriverOptions{Name: strings.TrimSpace(f.name.Text)}
	if f.setupPath != nil {
		o.SetupPath = strings.TrimSpace(f.setupPath.Text)
	}
	if f.arch != nil && f.arch.Selected != archFromImage {
		o.Arch = f.arch.Selected
	}
	return o
}

// addDriverPackage asks for a driver package folder and its options, then
// stages the package for Windows Setup in the selected image as a job: in
// the image's open servicing session, or committed at once when it has
// none. Local servers only; the image must be disabled, as for Service
// Image….
func (c *Console) addDriverPackage() {
	n, ok := c.selectedNode()
	if !ok || n.Image == nil || n.Server.IsRemote() {
		return
	}
	if !n.Disabled() {
		dialog.ShowInformation("Add Driver Package", "Disable "+n.Label+" first.\n\n"+app.ErrImageEnabled.Error()+".", c.Window)
		return
	}
	c.pickFolder("Driver Package Folder", func(folder string) { c.askDriverOptions(n, folder) })
}

// askDriverOptions shows the form of the driver package in folder, then
// runs the job.
func (c *Console) askDriverOptions(n app.Node, folder string) {
	f := &driverForm{folder: folder, name: widget.NewEntry()}
	f.name.SetText(filepath.Base(filepath.Clean(folder)))
	items := []*widget.FormItem{
		widget.NewFormItem("Folder", wrapLabel(folder)),
		widget.NewFormItem("Package name", f.name),
	}
	if n.Kind == app.KindBootImage {
		items = append(items, widget.NewFormItem("Loaded by", wrapLabel(`drvload X:\Drivers\<name>\*.inf in startnet.cmd`)))
	} else {
		f.setupPath = widget.NewEntry()
		f.setupPath.SetPlaceHolder(`C:\Drivers\<name>`)
		f.arch = widget.NewSelect(append([]string{archFromImage}, app.DriverArchitectures()...), nil)
		f.arch.SetSelected(archFromImage)
		items = append(items,
			widget.NewFormItem("Windows Setup path", f.setupPath),
			widget.NewFormItem("Architecture", f.arch))
	}
	d := dialog.NewForm("Add Driver Package to "+n.Label, "Add", "Cancel", items, func(ok bool) {
		if ok {
			c.runAddDriver(n, f)
		}
	}, c.Window)
	d.Resize(fyne.NewSize(560, 0))
	d.Show()
	c.current = f
}

// runAddDriver runs Add Driver Package as a job and shows what it did.
// A refused package (failed INF checks, a bad name) shows as an error
// dialog and changes nothing.
func (c *Console) runAddDriver(n app.Node, f *driverForm) {
	o := f.options()
	title := "Add driver package " + filepath.Base(f.folder) + " to " + n.Label
	if err := app.CheckEntryName(o.Name); err != nil {
		c.showError(title, fmt.Errorf("driver package name: %w", err))
		return
	}
	srv, r, folder := n.Server, n.Ref(), f.folder
	var out *app.DriverOutcome
	var files int
	c.runJob(title, func(ctx context.Context, _ progress.Func) error {
		var err error
		if out, err = srv.AddDriver(ctx, r, folder, o); err == nil {
			files = countFiles(folder)
		}
		return err
	}, func(err error) {
		if err == nil {
			c.showDriverResult(n.Label, r, o.Name, files, out)
		}
	})
}

// countFiles counts the regular files below dir.
func countFiles(dir string) int {
	n := 0
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			n++
		}
		return nil
	})
	return n
}

// driverSummary says what Add Driver Package did to image label (r): the
// package is staged for Windows Setup (or loaded by WinPE), never
// injected.
func driverSummary(label string, r app.ImageRef, name string, files int, out *app.DriverOutcome) string {
	var b strings.Builder
	if r.Boot {
		fmt.Fprintf(&b, "Driver package %s is staged for WinPE in %s: it is loaded at start by drvload.\n\n", name, label)
	} else {
		fmt.Fprintf(&b, "Driver package %s is staged for Windows Setup in %s: Setup installs it from the image's driver path.\n\n", name, label)
	}
	fmt.Fprintf(&b, "INF files checked: %s\n", strings.Join(out.INFs, ", "))
	fmt.Fprintf(&b, "Files copied: %d, to %s\n", files, strings.ReplaceAll(out.ImagePath, "/", `\`))
	switch {
	case r.Boot && len(out.Startnet) > 0:
		fmt.Fprintf(&b, "startnet.cmd lines added:\n  %s\n", strings.Join(out.Startnet, "\n  "))
	case r.Boot:
		b.WriteString("startnet.cmd already loads the package.\n")
	case out.SetupPath != "":
		fmt.Fprintf(&b, "DriverPaths entry added to ImageUnattend.xml: %s\n(%s, offlineServicing pass)\n", out.SetupPath, app.PnpComponent)
	default:
		b.WriteString("ImageUnattend.xml already lists the package's DriverPaths entry.\n")
	}
	if len(out.Warnings) > 0 {
		b.WriteString("Warnings:\n")
		for _, w := range out.Warnings {
			fmt.Fprintf(&b, "  %s\n", w)
		}
	}
	b.WriteString("\n")
	if out.Staged {
		fmt.Fprintf(&b, "Staged in the image's servicing session %s: commit it (or discard it) from Service Image….", out.SessionID)
	} else {
		b.WriteString("Committed to the image.")
	}
	return b.String()
}

// driverResult is the dialog that shows what Add Driver Package did.
type driverResult struct {
	outcome *app.DriverOutcome
	text    string
}

func (c *Console) showDriverResult(label string, r app.ImageRef, name string, files int, out *app.DriverOutcome) {
	text := driverSummary(label, r, name, files, out)
	d := dialog.NewCustom("Driver Package Staged", "Close", container.NewVScroll(wrapLabel(text)), c.Window)
	d.Resize(fyne.NewSize(620, 380))
	d.Show()
	c.current = &driverResult{outcome: out, text: text}
}

// wrapLabel is a label that wraps at word boundaries.
func wrapLabel(s string) *widget.Label {
	l := widget.NewLabel(s)
	l.Wrapping = fyne.TextWrapWord
	return l
}
