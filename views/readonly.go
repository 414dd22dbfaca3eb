package views

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"

	"github.com/wimconsole/wimconsole/app"
)

// windowTitle is the console's title: "read-only" is added while a store
// shown cannot be changed (a mounted snapshot, a share without write
// rights).
func (c *Console) windowTitle() string {
	var ro []string
	servers := c.model.Servers()
	for _, s := range servers {
		if ok, _ := s.ReadOnly(); ok {
			ro = append(ro, s.Name)
		}
	}
	switch {
	case len(ro) == 0:
		return Title
	case len(servers) == 1:
		return Title + " (read-only)"
	}
	t := Title + " ("
	for i, n := range ro {
		if i > 0 {
			t += ", "
		}
		t += n
	}
	return t + " read-only)"
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
