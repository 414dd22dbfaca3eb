package views

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"

	"github.com/wimconsole/wimconsole/app"
	"github.com/wimconsole/wimconsole/engine/progress"
)

// The details list's selection drives the actions: while rows are selected
// in it, the Action menu, the context menu and the keys act on them (one
// row: the node's own actions, as the tree shows them; several images:
// Disable, Enable, Export Images…, Delete on all of them). A click in the
// tree gives the actions back to the tree's selection.

// wireDetails connects the details pane to the console.
func (c *Console) wireDetails() {
	p := c.details
	p.onSelect = func() {
		c.updateMenu()
		c.setSelectionStatus(len(p.selectedIDs())) // "3 of 12 selected"
	}
	p.onMenu = c.showContextMenu
	p.offline = func(id string) bool {
		n, ok := c.model.Node(id)
		return ok && n.Disabled()
	}
}

// target returns the node the actions on one node act on: the row
// selected in the details list (with several, the focused one: the
// toolbar's Properties opens it), else the tree's selection.
func (c *Console) target() string {
	id := ""
	switch ids := c.details.selectedIDs(); {
	case len(ids) == 1:
		id = ids[0]
	case len(ids) > 1 && c.details.selected(c.details.focus):
		id = c.details.focusedID()
	}
	if _, ok := c.model.Node(id); ok && id != "" {
		return id
	}
	return c.selected
}

// listImages returns the images selected in the details list, top to
// bottom, when there are several rows selected (nil otherwise).
func (c *Console) listImages() (images []app.Node, several bool) {
	ids := c.details.selectedIDs()
	if len(ids) < 2 {
		return nil, false
	}
	for _, id := range ids {
		if n, ok := c.model.Node(id); ok && n.Image != nil {
			images = append(images, n)
		}
	}
	return images, true
}

// multiActionItems are the actions on several rows selected in the list:
// Disable (when one of them is enabled), Enable (when one is disabled),
// Export Images… and Delete. The items act on the selection of the moment
// they are chosen (the menu bar keeps its items while the set of labels is
// the same).
func (c *Console) multiActionItems(images []app.Node) []*fyne.MenuItem {
	item := fyne.NewMenuItem
	sep := fyne.NewMenuItemSeparator
	refresh := item("Refresh", c.Refresh)
	if len(images) == 0 {
		return []*fyne.MenuItem{refresh}
	}
	var items []*fyne.MenuItem
	var changing []*fyne.MenuItem
	enabled, disabled := 0, 0
	for _, n := range images {
		if n.Disabled() {
			disabled++
		} else {
			enabled++
		}
	}
	if enabled > 0 {
		it := item("Disable", func() { c.setEnabledAll(false) })
		items, changing = append(items, it), append(changing, it)
	}
	if disabled > 0 {
		it := item("Enable", func() { c.setEnabledAll(true) })
		items, changing = append(items, it), append(changing, it)
	}
	del := item("Delete", c.deleteImages)
	changing = append(changing, del)
	disableChanging(images[0], changing...)
	items = append(items, sep(), item("Export Images…", c.exportImages))
	return append(items, sep(), del, sep(), refresh)
}

// imagesLabel names n images for a job title or a question.
func imagesLabel(n int) string {
	if n == 1 {
		return "1 image"
	}
	return fmt.Sprintf("%d images", n)
}

// setEnabledAll disables or enables the images selected in the list (those
// not already so), as one job.
func (c *Console) setEnabledAll(enabled bool) {
	images, _ := c.listImages()
	var todo []app.Node
	for _, n := range images {
		if n.Disabled() == enabled {
			todo = append(todo, n)
		}
	}
	if len(todo) == 0 {
		return
	}
	verb := "Disable"
	if enabled {
		verb = "Enable"
	}
	c.runJob(fmt.Sprintf("%s %s", verb, imagesLabel(len(todo))), func(ctx context.Context, report progress.Func) error {
		var errs []error
		for i, n := range todo {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := n.Server.SetEnabled(ctx, n.Ref(), enabled); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", n.Label, err))
			}
			report.Send(progress.Report{Phase: n.Label, Done: int64(i + 1), Total: int64(len(todo))})
		}
		return errors.Join(errs...)
	}, nil)
}

// deleteImages deletes the images selected in the list after one question
// that names them.
func (c *Console) deleteImages() {
	images, _ := c.listImages()
	if len(images) == 0 {
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Delete %s?\n\n", imagesLabel(len(images)))
	var exclusive int64
	sessions := 0
	for _, n := range images {
		fmt.Fprintf(&b, "  %s (%s)\n", n.Image.Name, n.Image.File)
		if n.Kind == app.KindImage { // an install image: its data is in Res.rwm
			exclusive += n.Image.ExclusiveBytes
		}
		sessions += n.Image.Sessions
	}
	b.WriteString("\nTheir image files go, with their unattend files, $OEM$ folders and language packs.")
	if exclusive > 0 {
		fmt.Fprintf(&b, "\nTheir data stays in the group's Res.rwm until the group is regrouped (%s exclusive to them).", app.FormatBytes(exclusive))
	}
	if sessions > 0 {
		fmt.Fprintf(&b, "\n\n%d install session(s) are using them: the store will refuse those until they end.", sessions)
	}
	c.confirm("Delete Images", b.String(), "Delete", func() {
		c.runJob("Delete "+imagesLabel(len(images)), func(ctx context.Context, report progress.Func) error {
			var errs []error
			for i, n := range images {
				if err := ctx.Err(); err != nil {
					return err
				}
				if err := n.Server.DeleteImage(ctx, n.Ref()); err != nil {
					errs = append(errs, fmt.Errorf("%s: %w", n.Label, err))
				}
				report.Send(progress.Report{Phase: n.Label, Done: int64(i + 1), Total: int64(len(images))})
			}
			return errors.Join(errs...)
		}, nil)
	})
}

// exportImages exports the images selected in the list as WDS does, one
// standalone WIM each: it asks for a destination folder and writes each
// image there under its file name (install.wim, install-(2).wim …). A file
// that exists already is not overwritten: that image is reported and the
// others are exported.
func (c *Console) exportImages() {
	images, _ := c.listImages()
	if len(images) == 0 {
		return
	}
	title := "Export " + imagesLabel(len(images))
	c.pickFolder(title+" to a Folder", func(dir string) {
		c.runJob(title, func(ctx context.Context, report progress.Func) error {
			var errs []error
			for i, n := range images {
				if err := ctx.Err(); err != nil {
					return err
				}
				dest := filepath.Join(dir, n.Image.File)
				if _, err := os.Stat(dest); err == nil {
					errs = append(errs, fmt.Errorf("%s: %s exists already; remove it or choose another folder", n.Label, dest))
					continue
				}
				phase := fmt.Sprintf("Export %s (%d of %d)", n.Label, i+1, len(images))
				report.Send(progress.Report{Phase: phase})
				o := app.ExportOptions{Progress: func(r progress.Report) {
					r.Phase = phase
					report.Send(r)
				}}
				if err := n.Server.ExportImage(ctx, n.Ref(), dest, o); err != nil {
					errs = append(errs, fmt.Errorf("%s: %w", n.Label, err))
				}
			}
			return errors.Join(errs...)
		}, func(err error) {
			if err == nil {
				var names []string
				for _, n := range images {
					names = append(names, "  "+n.Image.File)
				}
				dialog.ShowInformation(title, fmt.Sprintf("Exported to %s:\n%s", dir, strings.Join(names, "\n")), c.Window)
			}
		})
	})
}
