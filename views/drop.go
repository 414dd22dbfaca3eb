package views

import (
	"errors"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"

	"github.com/wimconsole/wimconsole/app"
)

// flashFor is how long the node a drop landed on stays marked.
//
// GLFW (Fyne's desktop driver) reports no drag-enter or drag-leave: it
// answers the XDND messages itself and passes on only the pointer position
// while a drag moves over the window (as ordinary pointer motion, so the
// tree's hover follows it) and the dropped paths. The node the files went
// to is therefore marked when they land.
const flashFor = 800 * time.Millisecond

// dropState is what a drop leaves for later: the files it left out, shown
// on top of the wizard it opens, and the node marked where it landed.
type dropState struct {
	leftOut []string
	flash   string
}

// dropped handles files dropped on the window: while Service Image… is
// open they are staged into its session; otherwise WIM files open the Add
// Image wizard (the group under the pointer preselected, and marked) and
// anything else is left out with a message shown on top of the wizard.
func (c *Console) dropped(pos fyne.Position, uris []fyne.URI) {
	var wims, others, local []string
	for _, u := range uris {
		path := u.Path()
		if u.Scheme() != "file" {
			if p, err := url.PathUnescape(u.String()); err == nil {
				path = p
			}
		} else {
			local = append(local, path)
		}
		if u.Scheme() == "file" && app.IsWIMFile(path) {
			wims = append(wims, path)
		} else {
			others = append(others, filepath.Base(path))
		}
	}
	// While an image is being serviced, drops add to it.
	if c.browser != nil && len(local) > 0 && c.browser.dropped(local) {
		return
	}
	// While the Add Image wizard is open, drops go to it.
	if w, ok := c.current.(*addWizard); ok && w.open() {
		if len(others) > 0 {
			w.reportDrop(errors.New(leftOutMessage(others)))
		}
		w.acceptDrop(wims)
		return
	}
	if len(wims) == 0 {
		c.reportLeftOut(others)
		return
	}
	c.drop.leftOut = others // openAddWizard reports them on top of the wizard
	target := c.nodeAt(pos)
	n, ok := c.model.Node(target)
	if ok && n.Server != c.server() {
		c.tree.Select(target) // the wizard adds to the selected server
	}
	if ok && (n.Kind == app.KindBootArch || n.Kind == app.KindBootImage || n.Kind == app.KindBootImages) {
		arch := ""
		if n.Kind != app.KindBootImages {
			arch = n.Name
		}
		c.flash(target)
		c.addBootImage(wims, arch)
		return
	}
	group := c.groupOf(target)
	if group == "" {
		group = c.selectedGroup()
	}
	if srv := c.server(); srv != nil && group != "" {
		c.flash(app.GroupID(srv, group))
	}
	c.addImage(wims, group)
}

// takeLeftOut returns the files the last drop left out, once.
func (c *Console) takeLeftOut() []string {
	names := c.drop.leftOut
	c.drop.leftOut = nil
	return names
}

// reportLeftOut tells, on top of whatever dialog is open, which dropped
// files were not added and why.
func (c *Console) reportLeftOut(names []string) {
	if len(names) == 0 {
		return
	}
	dialog.ShowInformation("Not a Windows Image", leftOutMessage(names), c.Window)
}

// leftOutMessage says which dropped files were left out.
func leftOutMessage(names []string) string {
	const only = "\n\nOnly Windows image files (.wim, .esd, .swm) can be added by dropping them on the window."
	if len(names) == 1 {
		return names[0] + " is not a WIM file; it was left out." + only
	}
	list := strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
	return list + " are not WIM files; they were left out." + only
}

// flash marks the tree node id for flashFor: where dropped files go.
func (c *Console) flash(id string) {
	c.drop.flash = id
	c.tree.Refresh()
	c.background(func() func() {
		time.Sleep(flashFor)
		return func() {
			if c.drop.flash == id {
				c.drop.flash = ""
				c.tree.Refresh()
			}
		}
	})
}
