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

// LoadLibraries shows the image libraries of the list at path (the one
// `wimconsole library add` writes) under a Libraries node beside the
// servers. They are listed in the background: a library that does not
// answer shows as offline, with the reason in its details.
func (c *Console) LoadLibraries(path string) {
	c.model.SetLibraryList(path)
	c.Refresh()
}

// libraryItems are the actions of a Libraries, library or library group
// node.
func (c *Console) libraryItems(n app.Node) []*fyne.MenuItem {
	item := fyne.NewMenuItem
	sep := fyne.NewMenuItemSeparator
	refresh := item("Refresh", c.Refresh)
	add := item("Add Library…", c.addLibrary)
	switch n.Kind {
	case app.KindLibraryGroup:
		pull := item("Pull…", c.pullGroup)
		if n.Server == nil {
			pull.Disabled = true // no store on this machine to pull into
		} else {
			disableChanging(n, pull)
		}
		return []*fyne.MenuItem{pull, sep(), refresh}
	case app.KindLibrary:
		return []*fyne.MenuItem{add, sep(), refresh}
	}
	return []*fyne.MenuItem{add, sep(), refresh}
}

// publishItem is "Publish to Library…" of an image group (of the store
// on this machine: publishing reads its Res.rwm).
func (c *Console) publishItem(n app.Node) *fyne.MenuItem {
	it := fyne.NewMenuItem("Publish to Library…", c.publishGroup)
	it.Disabled = n.Server.IsRemote()
	return it
}

// addLibraryDialog is "Add Library…": a name, the library's address and,
// optionally, a credentials file. Tests fill it in and call submit.
type addLibraryDialog struct {
	c                *Console
	name, url, creds *widget.Entry
	form             dialog.Dialog
}

// addLibrary opens "Add Library…".
func (c *Console) addLibrary() {
	if c.model.LibraryList() == "" {
		c.showError("Add Library", errors.New("the console has no library list (no user config folder): use `wimconsole library add` with XDG_CONFIG_HOME set"))
		return
	}
	d := &addLibraryDialog{c: c, name: widget.NewEntry(), url: widget.NewEntry(), creds: widget.NewEntry()}
	d.name.SetPlaceHolder("lab")
	d.url.SetPlaceHolder("https://s3.example.com:8333/bucket/prefix")
	d.creds.SetPlaceHolder("empty: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
	d.form = dialog.NewForm("Add Library", "Add", "Cancel", []*widget.FormItem{
		widget.NewFormItem("Name", d.name),
		widget.NewFormItem("Address", d.url),
		widget.NewFormItem("Credentials file", d.creds),
	}, func(ok bool) {
		if ok {
			d.submit()
		}
	}, c.Window)
	d.form.Resize(fyne.NewSize(560, 0))
	d.form.Show()
	c.Window.Canvas().Focus(d.name)
	c.current = d
}

// submit adds the library to the list, lists it and selects it.
func (d *addLibraryDialog) submit() {
	c := d.c
	d.form.Hide()
	cfg := app.LibraryConfig{Name: strings.TrimSpace(d.name.Text), URL: strings.TrimSpace(d.url.Text),
		Credentials: strings.TrimSpace(d.creds.Text)}
	c.background(func() func() {
		err := c.model.AddLibrary(cfg)
		if err == nil {
			c.model.RefreshLibraries()
			err = c.model.Refresh()
		}
		return func() {
			c.redraw()
			if err != nil {
				c.showError("Add Library "+cfg.Name, err)
				return
			}
			c.tree.OpenBranch(app.LibrariesID)
			c.Select(app.LibraryID(cfg.Name))
		}
	})
}

// checkOptionalGroupName accepts "" (keep the group's name) or a name the
// store takes.
func checkOptionalGroupName(s string) error {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	return app.CheckGroupName(strings.TrimSpace(s))
}

// pullGroup is "Pull…" of a library group: it asks for the name to give
// the group in the local store (empty: the same) and pulls it as a job.
func (c *Console) pullGroup() {
	n, ok := c.selectedNode()
	if !ok || n.Kind != app.KindLibraryGroup {
		return
	}
	lib, g, srv := n.Library, n.Name, n.Server
	if srv == nil {
		c.showError("Pull "+g, errors.New("the console has no store on this machine to pull into"))
		return
	}
	c.askName("Pull "+g+" from "+lib, "Name in "+srv.Name+" (empty: "+g+")", "", checkOptionalGroupName, func(as string) {
		into := g
		if as != "" {
			into = as
		}
		title := fmt.Sprintf("Pull %s from %s", g, lib)
		c.runJob(title, func(ctx context.Context, report progress.Func) error {
			_, err := c.model.PullFromLibrary(ctx, lib, g, srv, as, report)
			return err
		}, func(err error) {
			switch {
			case err == nil:
				c.tree.OpenBranch(app.InstallID(srv))
				c.Select(app.GroupID(srv, into))
			case app.IsCancelled(err):
				c.cancelledNote(title + ": Cancelled; the blobs already checked are kept, and Pull… again fetches only what is still missing")
			}
		})
	})
}

// publishDialog is "Publish to Library…": the library and, optionally,
// the group's name there. Tests fill it in and call submit.
type publishDialog struct {
	c       *Console
	srv     *app.Server
	group   string
	library *widget.Select
	as      *dialogEntry
	form    dialog.Dialog
}

// publishGroup is "Publish to Library…" of a local image group.
func (c *Console) publishGroup() {
	n, ok := c.selectedNode()
	if !ok || n.Kind != app.KindGroup {
		return
	}
	var names []string
	for _, l := range c.model.Libraries() {
		names = append(names, l.Name)
	}
	if len(names) == 0 {
		c.showError("Publish "+n.Name, errors.New("no image library is set up: add one with Add Library… on the Libraries node (or `wimconsole library add`)"))
		return
	}
	d := &publishDialog{c: c, srv: n.Server, group: n.Name, library: widget.NewSelect(names, nil), as: c.newDialogEntry()}
	d.library.SetSelectedIndex(0)
	d.as.SetPlaceHolder("empty: " + n.Name)
	d.as.Validator = checkOptionalGroupName
	d.form = dialog.NewForm("Publish "+n.Name+" to Library", "Publish", "Cancel", []*widget.FormItem{
		widget.NewFormItem("Library", d.library),
		widget.NewFormItem("Name in the library", d.as),
	}, func(ok bool) {
		if ok {
			d.submit()
		}
	}, c.Window)
	d.form.Resize(fyne.NewSize(480, 0))
	d.form.Show()
	c.current = d
}

// submit publishes the group as a job.
func (d *publishDialog) submit() {
	c, srv, g, lib, as := d.c, d.srv, d.group, d.library.Selected, strings.TrimSpace(d.as.Text)
	d.form.Hide()
	if err := checkOptionalGroupName(as); err != nil {
		c.showError("Publish "+g, err)
		return
	}
	if lib == "" {
		c.showError("Publish "+g, errors.New("no library chosen"))
		return
	}
	title := fmt.Sprintf("Publish %s to %s", g, lib)
	c.runJob(title, func(ctx context.Context, report progress.Func) error {
		_, err := c.model.PublishToLibrary(ctx, srv, g, lib, as, report)
		return err
	}, func(err error) {
		if app.IsCancelled(err) {
			c.cancelledNote(title + ": Cancelled; the library still shows the group as it was, and publishing again sends only what it lacks")
		}
	})
}

// cancelledNote says in the job status line how a cancelled library
// transfer left things (instead of runJob's bare "Cancelled").
func (c *Console) cancelledNote(s string) {
	if c.jobNote != "" {
		c.jobNote = s
		c.showJobs()
	}
}
