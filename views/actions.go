package views

import (
	"context"
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/wimconsole/wimconsole/app"
	"github.com/wimconsole/wimconsole/engine/progress"
)

// actionItems are the actions of the selected node (the target: the row
// selected in the details list, else the tree's selection; see
// listactions.go): the Action menu and the node's context menu show the
// same list.
func (c *Console) actionItems() []*fyne.MenuItem {
	item := fyne.NewMenuItem
	sep := fyne.NewMenuItemSeparator
	refresh := item("Refresh", c.Refresh)
	if images, several := c.listImages(); several {
		return c.multiActionItems(images)
	}
	n, ok := c.model.Node(c.target())
	if !ok {
		return []*fyne.MenuItem{refresh}
	}
	switch n.Kind {
	case app.KindLibraries, app.KindLibrary, app.KindLibraryGroup:
		return c.libraryItems(n)
	}
	props := item("Properties", c.showProperties)
	addInstall := item("Add Install Image…", func() { c.addImage(nil, c.selectedGroup()) })
	addBoot := item("Add Boot Image…", func() { c.addBootImage(nil, c.selectedArch()) })
	addGroup := item("Add Image Group…", c.addGroup)
	switch n.Kind {
	case app.KindServer:
		servers := []*fyne.MenuItem{item("Add Server…", c.addServer)}
		if n.Server.IsRemote() {
			servers = append(servers, item("Remove Server", c.removeServer))
		}
		disableChanging(n, addInstall, addBoot, addGroup)
		items := append([]*fyne.MenuItem{addInstall, addBoot, addGroup, sep()}, servers...)
		return append(items, sep(), refresh, sep(), props)
	case app.KindInstallImages:
		disableChanging(n, addInstall, addGroup)
		return []*fyne.MenuItem{addInstall, addGroup, sep(), refresh}
	case app.KindBootImages, app.KindBootArch:
		disableChanging(n, addBoot)
		return []*fyne.MenuItem{addBoot, sep(), refresh}
	case app.KindGroup:
		find := item("Find Files…", c.findInGroup)
		find.Disabled = n.Server.IsRemote() // searching reads the images: local servers only
		regroup, rename, del := item("Regroup…", c.regroup), item("Rename", c.renameGroup), item("Delete", c.deleteSelected)
		disableChanging(n, addInstall, regroup, rename, del)
		items := []*fyne.MenuItem{addInstall, regroup, find}
		if c.model.LibraryList() != "" {
			items = append(items, c.publishItem(n))
		}
		return append(items, sep(), rename, del, sep(), refresh, sep(), props)
	case app.KindImage, app.KindBootImage:
		toggle := item("Disable", func() { c.setEnabled(false) })
		if n.Disabled() {
			toggle = item("Enable", func() { c.setEnabled(true) })
		}
		replace, cp := item("Replace Image…", c.replaceImage), item("Copy Image…", c.copyImage)
		items := []*fyne.MenuItem{toggle, sep(), item("Export Image…", c.exportImage), replace}
		if n.Kind == app.KindImage {
			items = append(items, cp)
		}
		// Browsing and servicing work on the local store only.
		browse, service := item("Browse Files…", c.browseFiles), item("Service Image…", c.serviceImage)
		mount := item(mountItemLabel(n), c.mountImage)
		driver := item("Add Driver Package…", c.addDriverPackage)
		for _, it := range []*fyne.MenuItem{browse, service, mount, driver} {
			it.Disabled = n.Server.IsRemote()
		}
		rename, del := item("Rename", c.renameImage), item("Delete", c.deleteSelected)
		// A read-only store is listed, shown and exported from only.
		disableChanging(n, toggle, replace, cp, service, mount, driver, rename, del)
		items = append(items, sep(), browse, service, mount, driver)
		return append(items, sep(), rename, del, sep(), refresh, sep(), props)
	}
	return []*fyne.MenuItem{refresh}
}

// selectedNode returns the node the actions act on.
func (c *Console) selectedNode() (app.Node, bool) { return c.model.Node(c.target()) }

// selectedGroup returns the image group of the selection ("" if none).
func (c *Console) selectedGroup() string { return c.groupOf(c.target()) }

func (c *Console) groupOf(id string) string {
	n, ok := c.model.Node(id)
	if ok && (n.Kind == app.KindGroup || n.Kind == app.KindImage) {
		return n.Name
	}
	return ""
}

// selectedArch returns the boot architecture of the selection ("" if none).
func (c *Console) selectedArch() string {
	n, ok := c.selectedNode()
	if ok && (n.Kind == app.KindBootArch || n.Kind == app.KindBootImage) {
		return n.Name
	}
	return ""
}

// server returns the server of the selection, or the first one.
func (c *Console) server() *app.Server {
	if n, ok := c.selectedNode(); ok {
		return n.Server
	}
	if s := c.model.Servers(); len(s) > 0 {
		return s[0]
	}
	return nil
}

// setEnabled disables or enables the selected image.
func (c *Console) setEnabled(enabled bool) {
	n, ok := c.selectedNode()
	if !ok || n.Image == nil {
		return
	}
	verb := "Disable"
	if enabled {
		verb = "Enable"
	}
	r := n.Ref()
	c.runJob(fmt.Sprintf("%s %s", verb, n.Label), func(ctx context.Context, _ progress.Func) error {
		return n.Server.SetEnabled(ctx, r, enabled)
	}, nil)
}

// deleteSelected deletes the selected image or group after a confirmation
// that names what is lost.
func (c *Console) deleteSelected() {
	if _, several := c.listImages(); several {
		c.deleteImages() // the toolbar's Delete, on rows selected in the list
		return
	}
	n, ok := c.selectedNode()
	if !ok {
		return
	}
	switch n.Kind {
	case app.KindImage, app.KindBootImage:
		r := n.Ref()
		c.confirm("Delete Image", app.DeleteWarning(n.Image), "Delete", func() {
			c.runJob("Delete "+n.Label, func(ctx context.Context, _ progress.Func) error {
				return n.Server.DeleteImage(ctx, r)
			}, nil)
		})
	case app.KindGroup:
		g := n.Name
		c.background(func() func() {
			msg := n.Server.DeleteGroupWarning(context.Background(), g)
			return func() {
				c.confirm("Delete Image Group", msg, "Delete", func() {
					c.runJob("Delete group "+g, func(context.Context, progress.Func) error {
						return n.Server.DeleteGroup(g)
					}, nil)
				})
			}
		})
	}
}

// ask shows content in a dialog whose buttons are verb and Cancel, of
// size (height 0: as the content needs); yes runs on verb. It returns the
// dialog, shown.
func (c *Console) ask(title, verb string, content fyne.CanvasObject, size fyne.Size, yes func()) dialog.Dialog {
	d := dialog.NewCustomConfirm(title, verb, "Cancel", content, func(ok bool) {
		if ok {
			yes()
		}
	}, c.Window)
	d.Resize(size)
	d.Show()
	return d
}

// confirm asks a yes/no question whose yes button says verb.
func (c *Console) confirm(title, msg, verb string, yes func()) {
	label := widget.NewLabel(msg)
	label.Wrapping = fyne.TextWrapWord
	c.current = c.ask(title, verb, label, fyne.NewSize(520, 0), yes)
}

// askName asks for a name, checked by check, then calls done with it.
func (c *Console) askName(title, label, initial string, check func(string) error, done func(string)) {
	e := c.newDialogEntry()
	e.SetText(initial)
	e.Validator = check
	f := dialog.NewForm(title, "OK", "Cancel", []*widget.FormItem{widget.NewFormItem(label, e)}, func(ok bool) {
		if ok {
			done(strings.TrimSpace(e.Text))
		}
	}, c.Window)
	f.Resize(fyne.NewSize(420, 0))
	f.Show()
	c.Window.Canvas().Focus(e) // type the name at once; Enter: OK, Esc: Cancel
	c.current = &nameDialog{entry: e, submit: func() {
		if err := check(e.Text); err != nil {
			c.showError(title, err)
			return
		}
		f.Hide()
		done(strings.TrimSpace(e.Text))
	}}
}

// nameDialog lets tests fill in and submit a name dialog.
type nameDialog struct {
	entry  *dialogEntry
	submit func()
}

func (c *Console) addGroup() {
	s := c.server()
	if s == nil {
		return
	}
	c.askName("Add Image Group", "Group name", "", app.CheckGroupName, func(g string) {
		c.runJob("Add group "+g, func(context.Context, progress.Func) error { return s.AddGroup(g) }, func(err error) {
			if err == nil {
				c.Select(app.GroupID(s, g))
			}
		})
	})
}

func (c *Console) renameGroup() {
	n, ok := c.selectedNode()
	if !ok || n.Kind != app.KindGroup {
		return
	}
	from := n.Name
	c.askName("Rename Image Group", "New name", from, app.CheckGroupName, func(to string) {
		if to == from {
			return
		}
		c.runJob("Rename group "+from, func(context.Context, progress.Func) error {
			return n.Server.RenameGroup(from, to)
		}, func(err error) {
			if err == nil {
				c.Select(app.GroupID(n.Server, to))
			}
		})
	})
}

func (c *Console) copyImage() {
	n, ok := c.selectedNode()
	if !ok || n.Kind != app.KindImage {
		return
	}
	r := n.Ref()
	c.askName("Copy Image", "File name of the copy", n.Server.FreeFileName(r), app.CheckFileName, func(file string) {
		file = strings.TrimSuffix(file, ".wim")
		c.runJob("Copy "+n.Label, func(ctx context.Context, _ progress.Func) error {
			_, err := n.Server.CopyImage(ctx, r, file, "")
			return err
		}, nil)
	})
}
