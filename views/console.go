// Package views holds the console window's Fyne widgets: the MMC-style tree
// and details pane, menus, dialogs and wizards. It never imports
// fyne.io/fyne/v2/app (only main.go does), so it builds without cgo and its
// tests run headless with fyne.io/fyne/v2/test.
//
// Fyne calls its callbacks on the main goroutine; anything that touches the
// disk runs in a goroutine (an app.Jobs job for long work) and hands its
// result back through fyne.Do.
package views

import (
	"fmt"
	"runtime"
	"strings"
	"sync"

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
// the selection on the right, a menu bar, a toolbar, the running jobs and a
// status bar.
type Console struct {
	Window  fyne.Window
	model   *app.Model
	dialogs app.Dialogs
	jobs    *app.Jobs
	// fileDialogOpen is set while a native file dialog is open (see
	// filedialogs.go); main goroutine only.
	fileDialogOpen bool

	tree      *widget.Tree
	treeW     *keyTree // the tree as the window holds it (it takes the keys)
	rows      []*nodeRow
	details   *detailsPane
	status    *widget.Label
	jobStatus *widget.Label
	jobBox    *fyne.Container
	jobRows   map[*app.Job]*jobRow
	// jobNote is what the job status shows when no job runs: how the
	// last job ended when that is news ("Export x: Cancelled").
	jobNote  string
	selected string
	// current is the dialog or wizard opened last (tests drive it).
	current any
	// browser is the open file browser, if any: files dropped on the
	// window while it services an image are staged into its session.
	browser *fileBrowser
	// drop is what the last files dropped on the window left (drop.go).
	drop dropState

	// do and doWait hand work to the main goroutine: fyne.Do and
	// fyne.DoAndWait (tests serialise them instead, as the test driver
	// runs them on the calling goroutine).
	do, doWait func(func())

	// serverList is the user's server list file ("" keeps none); watches
	// stop the event streams of the remote servers.
	serverList string
	watchMu    sync.Mutex
	watches    map[*app.Server]func()

	// busy counts background work started from the UI (file dialogs,
	// jobs) until its result has been shown; tests wait on it.
	busy pending
	// idle, when set, runs settle's wait: tests, whose goroutine stands
	// for the main goroutine, let the hand-offs to it run there.
	idle func(wait func())

	// changing are the toolbar's actions that change a store, disabled
	// on a read-only one.
	changing []*widget.ToolbarAction
	// toolbarFirst is the toolbar's first button (Tab reaches it).
	toolbarFirst *widget.ToolbarAction

	// quit quits the application (File > Quit, Ctrl+Q).
	quit func()

	// menuKey names the action set the menu bar was built for: the bar is
	// built again only when it changes, since setting it closes a menu
	// the user has open (and a reload comes at any time).
	menuKey string

	// listSelected rows of the details list are selected, while the tree
	// selection is listSelectedFor (see setSelectionStatus).
	listSelected    int
	listSelectedFor string

	// syncMu guards syncStop, which stops the live sync of the local
	// store (see LiveSync); a switch of stores restarts it.
	syncMu   sync.Mutex
	syncStop func()
	syncing  bool
}

// NewConsole builds the console window over model. dialogs are the native
// file dialogs (a fake in tests).
func NewConsole(a fyne.App, model *app.Model, dialogs app.Dialogs) *Console {
	c := &Console{
		Window:    a.NewWindow(Title),
		model:     model,
		dialogs:   dialogs,
		jobs:      app.NewJobs(),
		status:    widget.NewLabel(""),
		jobStatus: widget.NewLabel(""),
		jobRows:   map[*app.Job]*jobRow{},
		do:        fyne.Do,
		doWait:    fyne.DoAndWait,
		quit:      a.Quit,
	}
	// A long status line is cut with an ellipsis rather than widening the
	// window beyond the screen (FYNE_SCALE=2).
	c.status.Truncation = fyne.TextTruncateEllipsis
	c.Window.SetIcon(resources.AppIcon)
	c.treeW = c.newTree()
	c.tree = &c.treeW.Tree
	c.details = newDetailsPane()
	c.details.onKey = c.detailsKey
	c.wireDetails()
	c.details.open = func(id string) {
		if _, ok := c.model.Node(id); ok {
			c.tree.Select(id)
			c.showProperties()
		}
	}
	split := container.NewHSplit(c.treeW, c.details.widget)
	split.Offset = 0.3
	c.jobBox = container.NewVBox()
	statusBar := container.NewBorder(widget.NewSeparator(), nil, nil, c.jobStatus, c.status)
	bottom := container.NewVBox(c.jobBox, statusBar)
	c.Window.SetContent(container.NewBorder(c.toolbar(), bottom, nil, nil, split))
	c.updateMenu()
	c.Window.Canvas().SetOnTypedKey(c.typedKey)
	c.Window.SetOnDropped(c.dropped)
	c.Window.SetCloseIntercept(c.closeRequested)
	c.jobs.SetOnChange(func() { c.do(c.showJobs) })
	c.Window.Resize(defaultWindowSize) // FitScreen makes it smaller on a small screen
	if roots := model.Children(""); len(roots) > 0 {
		c.tree.OpenBranch(roots[0])
		c.tree.Select(roots[0])
	}
	c.Window.Canvas().Focus(c.treeW)
	c.updateStatus()
	return c
}

// Tree returns the console tree (for tests).
func (c *Console) Tree() *widget.Tree { return c.tree }

// Selected returns the ID of the selected tree node.
func (c *Console) Selected() string { return c.selected }

// Select selects the tree node id, opening the branches above it.
func (c *Console) Select(id string) {
	for p := parentID(id); p != ""; p = parentID(p) {
		if _, ok := c.model.Node(p); ok {
			c.tree.OpenBranch(p)
		}
	}
	c.tree.Select(id)
}

// parentID returns the ID of id's parent node ("" for a root).
func parentID(id string) string {
	for i := len(id) - 1; i >= 0; i-- {
		if id[i] == '/' {
			return id[:i]
		}
	}
	return ""
}

// Details returns what the details pane shows now (sorted as shown).
func (c *Console) Details() app.Table { return c.details.content }

// Jobs returns the console's job list.
func (c *Console) Jobs() *app.Jobs { return c.jobs }

// Refresh reloads the model from disk, and lists the image libraries
// again, and redraws; expansion and selection are kept because node IDs
// are stable. The reload runs in a goroutine.
func (c *Console) Refresh() {
	c.model.RefreshLibraries()
	c.background(func() func() {
		err := c.model.Refresh()
		return func() {
			if err != nil {
				c.showError("Refresh", err)
			}
			c.redraw()
		}
	})
}

// LiveSync keeps the window in step with the stores on disk: changes made by
// the command line, another console or a file manager show within a second.
// The returned function stops it (and the live sync of a store switched to
// later, see openStore).
func (c *Console) LiveSync() (stop func(), err error) {
	if err := c.restartSync(); err != nil {
		return nil, err
	}
	c.syncMu.Lock()
	c.syncing = true
	c.syncMu.Unlock()
	return func() {
		c.syncMu.Lock()
		old := c.syncStop
		c.syncStop, c.syncing = nil, false
		c.syncMu.Unlock()
		if old != nil {
			old()
		}
	}, nil
}

// restartSync stops the watchers of the stores shown before and watches
// the model's stores as they are now. It may run on any goroutine.
func (c *Console) restartSync() error {
	stop, err := c.model.Watch(func(err error) {
		c.do(func() {
			if err != nil {
				c.showStatusError(err)
				return
			}
			c.redraw()
		})
	})
	if err != nil {
		return err
	}
	c.syncMu.Lock()
	old := c.syncStop
	c.syncStop = stop
	c.syncMu.Unlock()
	if old != nil {
		old()
	}
	return nil
}

// background runs work in a goroutine, then the function it returns (if
// any) on the main goroutine.
func (c *Console) background(work func() func()) {
	c.busy.Add(1)
	go func() {
		defer c.busy.Done()
		if ui := work(); ui != nil {
			c.doWait(ui)
		}
	}()
}

// pending counts work in flight, like a sync.WaitGroup, except that Add
// may run while Wait does: results of event streams and file watchers
// arrive at any time, also while a test waits.
type pending struct {
	mu   sync.Mutex
	zero *sync.Cond // signalled when n drops to 0
	n    int
}

func (p *pending) Add(delta int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.n += delta; p.n < 0 {
		panic("views: negative pending count")
	}
	if p.n == 0 && p.zero != nil {
		p.zero.Broadcast()
	}
}

func (p *pending) Done() { p.Add(-1) }

// Wait returns once nothing is in flight.
func (p *pending) Wait() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.zero == nil {
		p.zero = sync.NewCond(&p.mu)
	}
	for p.n > 0 {
		p.zero.Wait()
	}
}

// settle waits until background work started so far has been shown.
func (c *Console) settle() {
	if c.idle != nil {
		c.idle(c.busy.Wait)
		return
	}
	c.busy.Wait()
}

// redraw shows the model's current state.
func (c *Console) redraw() {
	c.tree.Refresh()
	if _, ok := c.model.Node(c.selected); !ok {
		// The node went (deleted, renamed): select its parent.
		sel := c.selected
		for sel != "" {
			sel = parentID(sel)
			if _, ok := c.model.Node(sel); ok {
				break
			}
		}
		c.selected = ""
		if sel != "" {
			c.tree.Select(sel)
		} else {
			c.tree.UnselectAll()
		}
	}
	c.showDetails()
	c.updateMenu()
	c.updateStatus()
}

func (c *Console) showDetails() { c.details.show(c.selected, c.model.Details(c.selected)) }

func (c *Console) updateStatus() {
	selected := 0
	if c.listSelectedFor == c.selected {
		selected = c.listSelected
	}
	c.status.SetText(c.model.SelectionStatus(c.selected, selected, len(c.details.content.Rows)))
	c.jobStatus.SetText(c.jobSummary())
	c.showReadOnly()
}

func (c *Console) toolbar() *widget.Toolbar {
	refresh := widget.NewToolbarAction(theme.ViewRefreshIcon(), c.Refresh)
	c.toolbarFirst = refresh
	add := widget.NewToolbarAction(theme.ContentAddIcon(), func() { c.addImage(nil, c.selectedGroup()) })
	addGroup := widget.NewToolbarAction(theme.FolderNewIcon(), c.addGroup)
	del := widget.NewToolbarAction(theme.DeleteIcon(), c.deleteSelected)
	c.changing = []*widget.ToolbarAction{add, addGroup, del}
	return widget.NewToolbar(
		refresh,
		widget.NewToolbarSeparator(),
		add, addGroup,
		widget.NewToolbarSeparator(),
		widget.NewToolbarAction(theme.InfoIcon(), c.showProperties),
		del,
	)
}

// updateMenu sets the menu bar for the current selection, unless the bar
// already holds the same actions (their functions act on the selection of
// the moment, so the bar need not change with it).
func (c *Console) updateMenu() {
	items := c.actionItems()
	key := menuKey(items)
	if c.readOnly() {
		key = "read-only\x00" + key // the File menu's Add is greyed out too
	}
	if c.Window.MainMenu() != nil && key == c.menuKey {
		return
	}
	c.menuKey = key
	c.Window.SetMainMenu(c.mainMenuOf(items))
}

// menuKey names a list of menu items: their labels, separators and
// whether each is disabled.
func menuKey(items []*fyne.MenuItem) string {
	var b strings.Builder
	for _, it := range items {
		switch {
		case it.IsSeparator:
			b.WriteString("-")
		case it.Disabled:
			b.WriteString("!" + it.Label)
		default:
			b.WriteString(it.Label)
		}
		b.WriteByte(0)
	}
	return b.String()
}

// mainMenu builds the menu bar. The Action menu holds the actions of the
// current selection, as in an MMC console.
func (c *Console) mainMenu() *fyne.MainMenu { return c.mainMenuOf(c.actionItems()) }

// mainMenuOf builds the menu bar with actions as its Action menu.
func (c *Console) mainMenuOf(actions []*fyne.MenuItem) *fyne.MainMenu {
	refresh := fyne.NewMenuItem("Refresh", c.Refresh)
	refresh.Shortcut = &desktop.CustomShortcut{KeyName: fyne.KeyF5}
	addInstall := fyne.NewMenuItem("Add Install Image…", c.addImageFromMenu)
	addInstall.Disabled = c.readOnly()
	addInstall.Shortcut = &desktop.CustomShortcut{KeyName: fyne.KeyN, Modifier: fyne.KeyModifierShortcutDefault}
	quit := fyne.NewMenuItem("Quit", c.quitRequested)
	quit.IsQuit = true
	quit.Shortcut = &desktop.CustomShortcut{KeyName: fyne.KeyQ, Modifier: fyne.KeyModifierShortcutDefault}
	file := fyne.NewMenu("File",
		addInstall,
		fyne.NewMenuItem("Add Server…", c.addServer),
		fyne.NewMenuItem("Store Location…", c.showStoreLocation),
		fyne.NewMenuItemSeparator(),
		quit,
	)
	view := fyne.NewMenu("View", refresh)
	help := fyne.NewMenu("Help",
		fyne.NewMenuItem("Command Line…", c.showCommandLineHelp),
		fyne.NewMenuItem("About WIM Console", c.showAbout),
	)
	return fyne.NewMainMenu(file, fyne.NewMenu("Action", actions...), view, help)
}

// showContextMenu shows the selection's actions at pos.
func (c *Console) showContextMenu(pos fyne.Position) {
	widget.ShowPopUpMenuAtPosition(fyne.NewMenu("", c.actionItems()...), c.Window.Canvas(), pos)
}

// closeRequested asks before closing while jobs run.
func (c *Console) closeRequested() {
	running := c.jobs.Running()
	if len(running) == 0 {
		c.Window.Close()
		return
	}
	c.confirmCloseWithJobs(c.Window.Close)
}

// confirmCloseWithJobs asks whether to cancel the running jobs and, if so,
// cancels them and runs closeFn once they have stopped.
func (c *Console) confirmCloseWithJobs(closeFn func()) {
	running := c.jobs.Running()
	msg := fmt.Sprintf("%d job(s) are still running:\n", len(running))
	for _, j := range running {
		msg += "\n  " + j.Title()
	}
	msg += "\n\nCancel them and close? Work that is cancelled is rolled back."
	dialog.ShowConfirm("Jobs Running", msg, func(ok bool) {
		if !ok {
			return
		}
		c.jobs.CancelAll()
		c.background(func() func() {
			c.jobs.Wait()
			return closeFn
		})
	}, c.Window)
}

// setSelectionStatus says in the status bar that n rows of the details
// list are selected ("Lab: 3 of 12 selected"); 0 shows what the tree's
// selection holds. The list calls it when its selection changes; a new
// tree selection forgets it.
func (c *Console) setSelectionStatus(n int) {
	c.listSelected, c.listSelectedFor = n, c.selected
	c.updateStatus()
}

// storeLocationTitle is the title of File > Store Location….
const storeLocationTitle = "Store Location"

// showStoreLocation shows where the servers' stores are, and offers to
// open another folder as the local store.
func (c *Console) showStoreLocation() {
	var text string
	for _, s := range c.model.Servers() {
		text += fmt.Sprintf("%s\n%s\n\n", s.Name, s.Location())
	}
	entry := widget.NewMultiLineEntry()
	entry.SetText(strings.TrimSpace(text))
	entry.Wrapping = fyne.TextWrapBreak
	d := dialog.NewCustomConfirm(storeLocationTitle, "Open Another Store…", "Close", entry, func(ok bool) {
		if ok {
			c.chooseStore()
		}
	}, c.Window)
	d.Resize(fyne.NewSize(600, 240))
	d.Show()
	c.current = d
}

// chooseStore asks for a folder and opens it as the local store.
func (c *Console) chooseStore() {
	if len(c.jobs.Running()) > 0 {
		c.showInfo(storeLocationTitle, "Jobs are running on the store shown. Wait for them to end, or cancel them, before opening another store.")
		return
	}
	c.pickFolder("Open Image Store", c.openStore)
}

// openStore opens the folder root as the local server's store in this
// window: the tree shows it, live sync follows it instead of the old one,
// and its leftover servicing sessions are offered. A folder that holds
// other files and no store is made a store only when the administrator
// agrees; an empty or missing one becomes a new store; a store that cannot
// be written opens read-only.
func (c *Console) openStore(root string) {
	c.background(func() func() {
		kind, err := app.InspectStoreFolder(root)
		return func() {
			switch {
			case err != nil:
				c.showError("Open store "+root, err)
			case kind == app.FolderOther:
				c.confirm("Create a Store?", notAStore(root), "Create Store", func() { c.switchStore(root) })
			default:
				c.switchStore(root)
			}
		}
	})
}

// notAStore asks whether to create a store in root, a folder of other files.
func notAStore(root string) string {
	return fmt.Sprintf("%s is not an image store and is not empty. Create a store in it?\n\nThe store's folders (Images, Boot, WdsConsole) are added beside what the folder holds; nothing in it is changed.", root)
}

// switchStore opens root (creating the store if needed) and shows it in
// place of the local store shown now.
func (c *Console) switchStore(root string) {
	c.background(func() func() {
		srv, err := app.LocalServer(root)
		if err != nil {
			return func() { c.showError("Open store "+root, err) }
		}
		c.model.SetLocalServer(srv)
		c.syncMu.Lock()
		syncing := c.syncing
		c.syncMu.Unlock()
		var serr error
		if syncing {
			serr = c.restartSync()
		}
		return func() {
			c.redraw()
			if roots := c.model.Children(""); len(roots) > 0 {
				c.tree.OpenBranch(roots[0])
				c.Select(roots[0])
			}
			if serr != nil {
				c.showError("Watching "+root, serr)
			}
			c.CheckSessions()
		}
	})
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
	// The version the build stamped (app.Version), not FyneApp.toml's
	// packaging version, which go build does not see.
	dialog.ShowInformation("About WIM Console", fmt.Sprintf(
		"WIM Console %s\n\nManages Windows deployment images and image stores\nlaid out as Windows Deployment Services lays them out.\n\n%s/%s, %s",
		app.Version(), runtime.GOOS, runtime.GOARCH, runtime.Version()), c.Window)
}
