package views

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/wimconsole/wimconsole/app"
	"github.com/wimconsole/wimconsole/engine/progress"
)

// Labels of the image action that mounts an image to a folder, and of the
// same action once the image is mounted.
const (
	mountLabel   = "Mount to Folder…"
	unmountLabel = "Unmount…"
)

// mountItemLabel returns the label of the mount action for image node n:
// Unmount… when the image is mounted to a folder.
func mountItemLabel(n app.Node) string {
	if n.Server.IsRemote() {
		return mountLabel
	}
	if ss, err := n.Server.Session(n.Ref()); err == nil && ss.Mount != "" {
		return unmountLabel
	}
	return mountLabel
}

// mountImage extracts the selected image, which must be disabled, to a
// folder the administrator picks, so that any tool can change it; when the
// image is mounted already it offers to unmount it instead.
func (c *Console) mountImage() {
	n, ok := c.selectedNode()
	if !ok || n.Image == nil {
		return
	}
	srv, r, label := n.Server, n.Ref(), n.Label
	disabled := n.Disabled()
	c.background(func() func() {
		ss, err := srv.Session(r)
		switch {
		case err == nil && ss.Mount != "":
			return func() { c.showUnmount(srv, r, label, ss) }
		case err == nil:
			return func() {
				c.showInfo("Mount "+label, label+" has a servicing session open. Commit or discard it from Service Image… before mounting the image.")
			}
		case !errors.Is(err, app.ErrNoSession):
			return func() { c.showError("Mount "+label, err) }
		case !disabled:
			return func() {
				c.showInfo("Mount "+label, "Disable "+label+" first.\n\n"+app.ErrImageEnabled.Error()+".")
			}
		}
		return func() {
			c.pickFolder("Mount "+label+" to an empty or new folder", func(dir string) { c.mountTo(srv, r, label, dir) })
		}
	})
}

// mountTo mounts image r (labelled label) of srv to folder dir, as a job.
func (c *Console) mountTo(srv *app.Server, r app.ImageRef, label, dir string) {
	c.runJob("Mount "+label, func(ctx context.Context, report progress.Func) error {
		_, err := srv.MountImage(ctx, r, dir, report)
		return err
	}, func(err error) {
		if err == nil {
			c.showInfo("Mount "+label, fmt.Sprintf("%s is mounted to\n%s\n\nChange its files there with any tool, then choose %s on the image to commit the changes or discard them.", label, dir, unmountLabel))
		}
	})
}

// unmountDialog is the open Unmount dialog (tests drive it).
type unmountDialog struct {
	how  *widget.RadioGroup
	file *widget.Entry
}

// The choices of the Unmount dialog.
const (
	unmountCommit  = "Commit the changes to the image"
	unmountAsNew   = "Commit the changes as a new image"
	unmountDiscard = "Discard the changes"
)

// showUnmount asks how to end the mounted session ss of image r, then
// commits or discards it as a job.
func (c *Console) showUnmount(srv *app.Server, r app.ImageRef, label string, ss *app.Session) {
	how, file := commitChoice([]string{unmountCommit, unmountAsNew, unmountDiscard}, unmountAsNew, srv.FreeFileName(r))
	items := []*widget.FormItem{
		widget.NewFormItem("Folder", widget.NewLabel(ss.Mount)),
		widget.NewFormItem("Mounted", widget.NewLabel(app.FormatDate(ss.Started))),
		widget.NewFormItem("Then", how),
		widget.NewFormItem("New file name", file),
	}
	d := dialog.NewForm("Unmount "+label, "Unmount", "Cancel", items, func(ok bool) {
		if !ok {
			return
		}
		switch how.Selected {
		case unmountDiscard:
			c.confirm("Discard Changes", fmt.Sprintf("Discard every change made in %s? The folder is removed and %s stays as it was.", ss.Mount, label), "Discard", func() {
				c.unmount(label, ss, false, "")
			})
		case unmountAsNew:
			name := strings.TrimSuffix(strings.TrimSpace(file.Text), ".wim")
			if err := app.CheckFileName(name); err != nil {
				c.showError("Unmount "+label, err)
				return
			}
			c.unmount(label, ss, true, name)
		default:
			c.unmount(label, ss, true, "")
		}
	}, c.Window)
	d.Resize(fyne.NewSize(520, 0))
	d.Show()
	c.current = &unmountDialog{how: how, file: file}
}

// unmount ends the mounted session ss as a job and shows what it did.
func (c *Console) unmount(label string, ss *app.Session, commit bool, newImage string) {
	var res *app.MountResult
	title := "Unmount " + label
	c.runJob(title, func(ctx context.Context, report progress.Func) error {
		var err error
		res, err = ss.Unmount(ctx, commit, app.CommitOptions{NewImage: newImage, Progress: report})
		return err
	}, func(err error) {
		if err != nil {
			return
		}
		if !commit {
			c.showInfo(title, "The changes were discarded and the folder removed; "+label+" is as it was.")
			return
		}
		c.showInfo(title, fmt.Sprintf("Committed %s as %s: %d changes; %d files read (%s), %d unchanged; %d new blobs (%s) added to the group.",
			label, res.Image, res.Changes, res.FilesRead, app.FormatBytes(res.BytesRead), res.Unchanged, res.NewBlobs, app.FormatBytes(res.NewBytes)))
	})
}

// showInfo shows a message in a dialog with a wrapping label.
func (c *Console) showInfo(title, msg string) {
	label := widget.NewLabel(msg)
	label.Wrapping = fyne.TextWrapWord
	d := dialog.NewCustom(title, "OK", label, c.Window)
	d.Resize(fyne.NewSize(520, 0))
	d.Show()
}

// commitChoice returns radio buttons offering choices (the first selected)
// and the entry of the new image's file name (initially file), enabled only
// while asNew is chosen.
func commitChoice(choices []string, asNew, file string) (*widget.RadioGroup, *widget.Entry) {
	e := widget.NewEntry()
	e.SetText(file)
	e.Disable()
	how := widget.NewRadioGroup(choices, func(s string) {
		if s == asNew {
			e.Enable()
		} else {
			e.Disable()
		}
	})
	how.SetSelected(choices[0])
	return how, e
}
