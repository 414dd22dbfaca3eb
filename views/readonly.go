package views

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"

	"github.com/wimconsole/wimconsole/app"
)

// windowTitle is the console's title: the server of the selection and
// where its store is ("WIM Console – HOST – /srv/RemoteInstall"), and
// "(read-only)" while that store cannot be changed (a mounted snapshot, a
// share without write rights).
func (c *Console) windowTitle() string {
	s := c.server()
	if s == nil {
		return Title
	}
	t := Title + " – " + s.Name + " – " + s.Location()
	if ro, _ := s.ReadOnly(); ro {
		t += " (read-only)"
	}
	return t
}

// readOnly reports whether the selection's server cannot be changed.
func (c *Console) readOnly() bool {
	s := c.server()
	if s == nil {
		return false
	}
	ro, _ := s.ReadOnly()
	return ro
}

// showReadOnly brings the title and the toolbar's changing actions in line
// with the selection's server.
func (c *Console) showReadOnly() {
	if t := c.windowTitle(); c.Window.Title() != t {
		c.Window.SetTitle(t)
	}
	ro := c.readOnly()
	for _, a := range c.changing {
		setToolbarDisabled(a, ro)
	}
}

func setToolbarDisabled(a *widget.ToolbarAction, disabled bool) {
	if disabled {
		a.Disable()
	} else {
		a.Enable()
	}
}

// disableOnReadOnly disables buttons that would change a read-only
// server's store (in the Properties dialog).
func disableOnReadOnly(s *app.Server, buttons ...*widget.Button) {
	if ro, _ := s.ReadOnly(); ro {
		for _, b := range buttons {
			b.Disable()
		}
	}
}

// disableChanging greys out the items that would change a read-only
// server's store.
func disableChanging(n app.Node, items ...*fyne.MenuItem) {
	if ro, _ := n.Server.ReadOnly(); ro {
		for _, it := range items {
			it.Disabled = true
		}
	}
}
