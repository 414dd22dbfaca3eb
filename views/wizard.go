package views

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// A wizard is a dialog of pages, one shown at a time, with < Back, Next >
// (Finish on the last page) and Cancel, as the WDS wizards have. Enter
// presses Next or Finish, Esc (also inside a text box or on a focused
// button) presses Cancel; Enter on a button focused with Tab presses that
// button (see dialogButton).
// Nothing is done before Finish: Cancel at any page changes nothing.

// wizardPage is one page of a wizard.
type wizardPage struct {
	title   string
	content fyne.CanvasObject
	// validate says what keeps the page from going on (nil: nothing);
	// Next and Finish are disabled while it says something. Pages call
	// wizard.check when a field they validate changes.
	validate func() error
	// enter, when set, runs each time the page is shown (a summary
	// computes what it says).
	enter func()
	// leave, when set, runs on Next instead of moving on at once (work
	// that reads files, in the background): it calls next on the main
	// goroutine once the page may be left, or reports a problem with
	// wizard.setProblem and stays.
	leave func(next func())
	// focus is the widget focused when the page is shown; nil leaves
	// none focused, so that Enter and Esc reach the dialog.
	focus fyne.Focusable
}

// wizard shows pages in a dialog over the console.
type wizard struct {
	c     *Console
	title string
	pages []*wizardPage
	at    int
	// finish runs on Finish, once the last page validates and the dialog
	// has closed.
	finish func()

	dlg                *dialog.CustomDialog
	heading, problem   *widget.Label
	back, next, cancel *dialogButton
	// closed is set once the wizard closed (Finish, Cancel, Esc): work
	// of a page's leave that ends later is dropped.
	closed bool
	// leaving is set while a page's leave works.
	leaving bool
}

// newWizard builds a wizard titled title of size over pages; finish runs
// on Finish.
func (c *Console) newWizard(title string, size fyne.Size, finish func(), pages ...*wizardPage) *wizard {
	w := &wizard{c: c, title: title, pages: pages, finish: finish}
	w.heading = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	w.problem = widget.NewLabel("")
	w.problem.Importance = widget.DangerImportance
	w.problem.Wrapping = fyne.TextWrapWord
	w.back = c.newDialogButton("Back", theme.NavigateBackIcon(), w.Back)
	w.next = c.newDialogButton("Next", theme.NavigateNextIcon(), w.Next)
	w.next.Importance = widget.HighImportance
	w.cancel = c.newDialogButton("Cancel", theme.CancelIcon(), w.Cancel)
	stack := container.NewStack()
	for _, p := range pages {
		p.content.Hide()
		stack.Add(p.content)
	}
	body := container.NewBorder(container.NewVBox(w.heading, widget.NewSeparator()),
		container.NewVBox(widget.NewSeparator(), w.problem), nil, nil, stack)
	w.dlg = dialog.NewCustomWithoutButtons(title, body, c.Window)
	// As WDS lays them out; Esc presses Cancel (see dialogButtons).
	w.dlg.SetButtons([]fyne.CanvasObject{w.back, w.next, w.cancel})
	w.dlg.Resize(size)
	return w
}

// show shows the wizard at page at.
func (w *wizard) show(at int) {
	w.dlg.Show()
	w.goTo(at)
}

// page returns the page shown.
func (w *wizard) page() *wizardPage { return w.pages[w.at] }

// goTo shows page i.
func (w *wizard) goTo(i int) {
	w.page().content.Hide()
	w.at = i
	p := w.page()
	if p.enter != nil {
		p.enter()
	}
	p.content.Show()
	w.heading.SetText(fmt.Sprintf("%s (step %d of %d)", p.title, i+1, len(w.pages)))
	if i == 0 {
		w.back.Disable()
	} else {
		w.back.Enable()
	}
	if i == len(w.pages)-1 {
		w.next.SetText("Finish")
		w.next.SetIcon(theme.ConfirmIcon())
	} else {
		w.next.SetText("Next")
		w.next.SetIcon(theme.NavigateNextIcon())
	}
	w.check()
	if p.focus != nil {
		w.c.Window.Canvas().Focus(p.focus)
	} else {
		w.c.Window.Canvas().Unfocus()
	}
}

// check validates the page shown: its problem shows under it and Next
// (Finish) is disabled while there is one.
func (w *wizard) check() {
	var err error
	if v := w.page().validate; v != nil {
		err = v()
	}
	w.setProblem(err)
}

// setProblem shows err under the page and disables Next while it is not
// nil.
func (w *wizard) setProblem(err error) {
	if err != nil {
		w.problem.SetText(sentence(err.Error()))
		w.next.Disable()
		return
	}
	w.problem.SetText("")
	if !w.leaving {
		w.next.Enable()
	}
}

// Next goes to the next page, or finishes on the last one.
func (w *wizard) Next() {
	if w.closed || w.leaving {
		return
	}
	if v := w.page().validate; v != nil {
		if err := v(); err != nil {
			w.setProblem(err)
			return
		}
	}
	from := w.at
	move := func() {
		w.leaving = false
		if w.closed || w.at != from {
			return
		}
		if from == len(w.pages)-1 {
			w.closed = true
			w.dlg.Hide()
			w.finish()
			return
		}
		w.goTo(from + 1)
	}
	if l := w.page().leave; l != nil {
		w.leaving = true
		w.next.Disable()
		l(move)
		return
	}
	move()
}

// Back goes to the previous page, keeping what was entered.
func (w *wizard) Back() {
	if w.closed || w.at == 0 {
		return
	}
	w.leaving = false // what the page's leave finds is dropped
	w.goTo(w.at - 1)
}

// Cancel closes the wizard; nothing is done.
func (w *wizard) Cancel() {
	if w.closed {
		return
	}
	w.closed = true
	w.dlg.Hide()
}

// leaveFailed ends a page's leave that found a problem: err shows under the
// page, which stays.
func (w *wizard) leaveFailed(err error) {
	w.leaving = false
	if !w.closed {
		w.setProblem(err)
	}
}

// wizardCheck is a check box in a wizard: Enter presses Next, Esc
// cancels, as they do when nothing has the focus.
type wizardCheck struct {
	widget.Check
	c *Console
}

func (c *Console) newWizardCheck(label string, changed func(bool)) *wizardCheck {
	ch := &wizardCheck{c: c}
	ch.Text, ch.OnChanged = label, changed
	ch.ExtendBaseWidget(ch)
	return ch
}

func (ch *wizardCheck) TypedKey(ev *fyne.KeyEvent) {
	if !ch.c.dialogKey(ev) {
		ch.Check.TypedKey(ev)
	}
}

// wizardSelect is a drop-down list in a wizard, with the keys of
// wizardCheck.
type wizardSelect struct {
	widget.Select
	c *Console
}

func (c *Console) newWizardSelect(options []string, changed func(string)) *wizardSelect {
	s := &wizardSelect{c: c}
	s.Options, s.OnChanged = options, changed
	s.ExtendBaseWidget(s)
	return s
}

func (s *wizardSelect) TypedKey(ev *fyne.KeyEvent) {
	if !s.c.dialogKey(ev) {
		s.Select.TypedKey(ev)
	}
}

// wizardSelectEntry is a text box with a list to pick from, with the keys
// of dialogEntry; its arrow, which shows the list, has those of
// dialogButton.
type wizardSelectEntry struct {
	widget.SelectEntry
	c *Console
}

func (c *Console) newWizardSelectEntry(options []string) *wizardSelectEntry {
	e := &wizardSelectEntry{c: c}
	e.ExtendBaseWidget(e)
	e.Wrapping = fyne.TextWrap(fyne.TextTruncateClip)
	e.SetOptions(options)
	// The list's arrow is a button Tab reaches: with the keys of
	// dialogButton, Esc on it cancels the wizard.
	if arrow, ok := e.ActionItem.(*widget.Button); ok {
		b := c.newDialogButton(arrow.Text, arrow.Icon, arrow.OnTapped)
		b.Importance = arrow.Importance
		e.ActionItem = b
	}
	return e
}

func (e *wizardSelectEntry) TypedKey(ev *fyne.KeyEvent) {
	if !e.c.dialogKey(ev) {
		e.SelectEntry.TypedKey(ev)
	}
}

// sentence makes msg (an error's text) a sentence: a capital first letter
// and a full stop.
func sentence(msg string) string {
	r, n := utf8.DecodeRuneInString(msg)
	if n == 0 {
		return msg
	}
	msg = string(unicode.ToUpper(r)) + msg[n:]
	if !strings.HasSuffix(msg, ".") {
		msg += "."
	}
	return msg
}
