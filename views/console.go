// Package views holds the console window's Fyne widgets: the MMC-style tree
// and details pane, menus, dialogs and wizards. It never imports
// fyne.io/fyne/v2/app (only main.go does), so it builds without cgo and its
// tests run headless with fyne.io/fyne/v2/test.
package views

import (
	"fmt"
	"runtime"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/wimconsole/wimconsole/app"
	"github.com/wimconsole/wimconsole/resources"
)

// Title is the console window's title.
const Title = "WIM Console"

// Console is the main window: a tree of servers on the left, the details of
// the selection on the right, a menu bar and a status bar.
type Console struct {
	Window  fyne.Window
	model   *app.Model
	dialogs app.Dialogs

	tree     *widget.Tree
	details  *detailsPane
	status   *widget.Label
	selected string
}

// NewConsole builds the console window over model. dialogs are the native
// file dialogs (a fake in tests).
func NewConsole(a fyne.App, model *app.Model, dialogs app.Dialogs) *Console {
	c := &Console{
		Window:  a.NewWindow(Title),
		model:   model,
		dialogs: dialogs,
		status:  widget.NewLabel(""),
	}
	c.Window.SetIcon(resources.AppIcon)
	c.tree = c.newTree()
	c.details = newDetailsPane()
	split := container.NewHSplit(c.tree, c.details.table)
	split.Offset = 0.28
	statusBar := container.NewBorder(widget.NewSeparator(), nil, nil, nil, c.status)
	c.Window.SetContent(container.NewBorder(nil, statusBar, nil, nil, split))
	c.Window.SetMainMenu(c.mainMenu())
	c.Window.Canvas().AddShortcut(&desktop.CustomShortcut{KeyName: fyne.KeyF5}, func(fyne.Shortcut) { c.Refresh() })
	c.Window.Canvas().SetOnTypedKey(func(ev *fyne.KeyEvent) {
		switch ev.Name {
		case fyne.KeyF5:
			c.Refresh()
		case fyne.KeyReturn, fyne.KeyEnter:
			c.showProperties()
		}
	})
	c.Window.Resize(fyne.NewSize(1100, 700))
	if roots := model.Children(""); len(roots) > 0 {
		c.tree.OpenBranch(roots[0])
		c.tree.Select(roots[0])
	}
	c.updateStatus()
	return c
}

// Tree returns the console tree (for tests).
func (c *Console) Tree() *widget.Tree { return c.tree }

// Selected returns the ID of the selected tree node.
func (c *Console) Selected() string { return c.selected }

// Select selects the tree node id.
func (c *Console) Select(id string) { c.tree.Select(id) }

// Details returns what the details pane shows now.
func (c *Console) Details() app.Table { return c.details.content }

// Refresh reloads the model from disk and redraws; expansion and selection
// are kept because node IDs are stable.
func (c *Console) Refresh() {
	if err := c.model.Refresh(); err != nil {
		dialog.ShowError(err, c.Window)
	}
	c.redraw()
}

// LiveSync keeps the window in step with the stores on disk: changes made by
// the command line, another console or a file manager show within a second.
// The returned function stops it.
func (c *Console) LiveSync() (stop func(), err error) {
	return c.model.Watch(func(err error) {
		fyne.Do(func() {
			if err != nil {
				c.status.SetText(err.Error())
				return
			}
			c.redraw()
		})
	})
}

// redraw shows the model's current state.
func (c *Console) redraw() {
	c.tree.Refresh()
	if _, ok := c.model.Node(c.selected); !ok {
		c.selected = ""
	}
	c.details.show(c.model.Details(c.selected))
	c.Window.SetMainMenu(c.mainMenu())
	c.updateStatus()
}

func (c *Console) newTree() *widget.Tree {
	t := widget.NewTree(
		c.model.Children,
		c.model.IsBranch,
		func(branch bool) fyne.CanvasObject {
			return container.NewHBox(widget.NewIcon(theme.FolderIcon()), widget.NewLabel("template"))
		},
		func(id widget.TreeNodeID, branch bool, obj fyne.CanvasObject) {
			n, _ := c.model.Node(id)
			box := obj.(*fyne.Container)
			box.Objects[0].(*widget.Icon).SetResource(nodeIcon(n.Kind))
			box.Objects[1].(*widget.Label).SetText(n.Label)
		},
	)
	t.OnSelected = func(id widget.TreeNodeID) {
		c.selected = id
		c.details.show(c.model.Details(id))
		c.Window.SetMainMenu(c.mainMenu())
		c.updateStatus()
	}
	return t
}

func nodeIcon(k app.NodeKind) fyne.Resource {
	switch k {
	case app.KindServer:
		return theme.ComputerIcon()
	case app.KindGroup, app.KindBootArch:
		return theme.FolderOpenIcon()
	default:
		return theme.FolderIcon()
	}
}

func (c *Console) updateStatus() {
	c.status.SetText(c.model.StatusText(c.selected))
}

// mainMenu builds the menu bar. The Action menu holds the actions of the
// current selection, as in an MMC console.
func (c *Console) mainMenu() *fyne.MainMenu {
	refresh := fyne.NewMenuItem("Refresh", c.Refresh)
	refresh.Shortcut = &desktop.CustomShortcut{KeyName: fyne.KeyF5}
	file := fyne.NewMenu("File",
		fyne.NewMenuItem("Store Location…", c.showStoreLocation),
	)
	view := fyne.NewMenu("View", refresh)
	help := fyne.NewMenu("Help",
		fyne.NewMenuItem("Command Line…", c.showCommandLineHelp),
		fyne.NewMenuItem("About WIM Console", c.showAbout),
	)
	return fyne.NewMainMenu(file, fyne.NewMenu("Action", c.actionItems()...), view, help)
}

// actionItems are the actions of the selected node: the Action menu and the
// node's context menu show the same list.
func (c *Console) actionItems() []*fyne.MenuItem {
	refresh := fyne.NewMenuItem("Refresh", c.Refresh)
	n, ok := c.model.Node(c.selected)
	if !ok {
		return []*fyne.MenuItem{refresh}
	}
	items := []*fyne.MenuItem{refresh}
	if n.Kind == app.KindServer {
		items = append(items, fyne.NewMenuItemSeparator(), fyne.NewMenuItem("Properties", c.showProperties))
	}
	return items
}

func (c *Console) showProperties() {
	n, ok := c.model.Node(c.selected)
	if !ok || n.Kind != app.KindServer {
		return
	}
	t := c.model.Details(n.ID)
	form := widget.NewForm()
	for _, r := range t.Rows {
		v := widget.NewLabel(r[1])
		v.Wrapping = fyne.TextWrapBreak
		form.Append(r[0], v)
	}
	d := dialog.NewCustom(n.Label+" Properties", "Close", form, c.Window)
	d.Resize(fyne.NewSize(560, 0))
	d.Show()
}

func (c *Console) showStoreLocation() {
	var text string
	for _, s := range c.model.Servers() {
		text += fmt.Sprintf("%s\n%s\n\n", s.Name, s.Store.Root())
	}
	entry := widget.NewMultiLineEntry()
	entry.SetText(text)
	d := dialog.NewCustom("Store Location", "Close", entry, c.Window)
	d.Resize(fyne.NewSize(600, 220))
	d.Show()
}

func (c *Console) showCommandLineHelp() {
	msg := widget.NewLabel("Every action of this console is also a command:\n\n" +
		"    wimconsole help              list the commands\n" +
		"    wimconsole COMMAND --help    help for one command\n" +
		"    wimconsole --store DIR       open the console on another store\n\n" +
		"The store can also be chosen with the WIMCONSOLE_STORE variable.")
	dialog.ShowCustom("Command Line", "Close", msg, c.Window)
}

func (c *Console) showAbout() {
	meta := fyne.CurrentApp().Metadata()
	version := meta.Version
	if version == "" {
		version = "development build"
	}
	dialog.ShowInformation("About WIM Console", fmt.Sprintf(
		"WIM Console %s\n\nManages Windows deployment images and image stores\nlaid out as Windows Deployment Services lays them out.\n\n%s/%s, %s",
		version, runtime.GOOS, runtime.GOARCH, runtime.Version()), c.Window)
}
