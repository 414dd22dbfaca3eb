package views

import (
	"context"
	"fmt"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/wimconsole/wimconsole/app"
)

// pendingSession is a servicing session found at start-up on one server.
type pendingSession struct {
	srv *app.Server
	app.PendingSession
}

// describe says which image the session changes (label, as the tree
// names it), since when and what it holds, then whether it can be resumed
// and where it is mounted.
func (p pendingSession) describe(label string) (string, string) {
	first := fmt.Sprintf("%s (%s) — started %s — %d staged change%s", label, p.Image, app.FormatDate(p.Started),
		len(p.Changes), plural(len(p.Changes)))
	second := "can be resumed"
	if p.Stale != "" {
		second = p.Stale
	}
	if p.Mount != "" {
		second += "; mounted at " + p.Mount
	}
	return first, second
}

// sessionsDialog is the start-up dialog listing the sessions found (tests
// drive it).
type sessionsDialog struct {
	dlg     dialog.Dialog
	list    *widget.List
	pending []pendingSession
	sel     int
	resume  *dialogButton
	discard *dialogButton
}

// CheckSessions looks for servicing sessions left in the local stores (by a
// restart or a crash) and, when there are any, offers to resume or discard
// them. The console calls it once at start-up.
func (c *Console) CheckSessions() {
	servers := c.model.Servers()
	c.background(func() func() {
		var found []pendingSession
		var errs []error
		for _, srv := range servers {
			ps, err := srv.PendingSessions()
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", srv.Name, err))
			}
			for _, p := range ps {
				found = append(found, pendingSession{srv: srv, PendingSession: p})
			}
		}
		if len(found) == 0 && len(errs) == 0 {
			return nil
		}
		return func() {
			for _, err := range errs {
				c.showError("Looking for servicing sessions", err)
			}
			if len(found) > 0 {
				c.showSessions(found)
			}
		}
	})
}

// showSessions shows the sessions found, each with Resume (for those that
// can be) and Discard.
func (c *Console) showSessions(found []pendingSession) {
	w := &sessionsDialog{pending: found, sel: -1}
	w.list = widget.NewList(func() int { return len(w.pending) },
		func() fyne.CanvasObject {
			first, second := widget.NewLabel(""), widget.NewLabel("")
			first.TextStyle.Bold = true
			first.Truncation, second.Truncation = fyne.TextTruncateEllipsis, fyne.TextTruncateEllipsis
			return container.NewVBox(first, second)
		},
		func(id widget.ListItemID, o fyne.CanvasObject) {
			if id < 0 || id >= len(w.pending) {
				return
			}
			p := w.pending[id]
			label := p.Image
			if n, ok := c.model.Node(app.ImageID(p.srv, p.Ref())); ok {
				label = n.Label
			}
			first, second := p.describe(label)
			lines := o.(*fyne.Container).Objects
			lines[0].(*widget.Label).SetText(first)
			lines[1].(*widget.Label).SetText(second)
		})
	w.resume = c.newDialogButton("Resume", nil, func() { c.resumeSession(w) })
	w.discard = c.newDialogButton("Discard…", nil, func() { c.discardSession(w) })
	w.resume.Disable()
	w.discard.Disable()
	w.list.OnSelected = func(id widget.ListItemID) {
		w.sel = id
		w.discard.Enable()
		if w.pending[id].Stale == "" {
			w.resume.Enable()
		} else {
			w.resume.Disable()
		}
	}
	intro := widget.NewLabel("These images have servicing sessions left from an earlier run. Resume one to go on changing the image, or discard it: its staged changes are dropped and the image stays as it is.")
	intro.Wrapping = fyne.TextWrapWord
	content := container.NewBorder(intro, nil, nil, nil, w.list)
	// Resume is the default button (Enter), Later the one Esc presses.
	w.resume.Importance = widget.HighImportance
	d := dialog.NewCustomWithoutButtons("Servicing Sessions", content, c.Window)
	d.SetButtons([]fyne.CanvasObject{c.newDialogButton("Later", nil, d.Hide), w.discard, w.resume})
	w.dlg = d
	w.dlg.Resize(fyne.NewSize(760, 380))
	w.dlg.Show()
	if len(found) == 1 {
		// The one session is selected: Enter resumes it.
		w.list.Select(0)
	}
	c.current = w
}

// resumeSession opens the selected session: the file browser of Service
// Image…, or the Unmount dialog for a mounted image.
func (c *Console) resumeSession(w *sessionsDialog) {
	if w.sel < 0 || w.sel >= len(w.pending) {
		return
	}
	p := w.pending[w.sel]
	w.dlg.Hide()
	r := p.Ref()
	label := r.String()
	if n, ok := c.model.Node(app.ImageID(p.srv, r)); ok {
		label = n.Label
	}
	if p.Mount != "" {
		c.showUnmount(p.srv, r, label, p.Session)
		return
	}
	b := &fileBrowser{c: c, srv: p.srv, ref: r, label: label, ss: p.Session, sel: -1}
	b.show("Service Image – " + label)
}

// discardSession asks, then discards the selected session (a mounted
// image's folder goes with it).
func (c *Console) discardSession(w *sessionsDialog) {
	if w.sel < 0 || w.sel >= len(w.pending) {
		return
	}
	p := w.pending[w.sel]
	msg := fmt.Sprintf("Discard the servicing session of %s and its %d staged changes? The image stays as it is.", p.Image, len(p.Changes))
	if p.Mount != "" {
		msg = fmt.Sprintf("Discard the servicing session of %s? Its mount folder %s and every change made there are removed; the image stays as it is.", p.Image, p.Mount)
	}
	c.confirm("Discard Session", msg, "Discard", func() {
		ss := p.Session
		c.background(func() func() {
			err := app.DiscardSession(context.Background(), ss)
			return func() {
				if err != nil {
					c.showError("Discard session of "+p.Image, err)
					return
				}
				w.pending = append(w.pending[:w.sel:w.sel], w.pending[w.sel+1:]...)
				w.sel = -1
				w.list.UnselectAll()
				w.resume.Disable()
				w.discard.Disable()
				w.list.Refresh()
				if len(w.pending) == 0 {
					w.dlg.Hide()
					return
				}
				c.current = w
			}
		})
	})
}
