package views

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/wimconsole/wimconsole/app"
)

// Every error the console shows goes through showError: what failed, then
// the error in the administrator's words (app.ExplainError: which file,
// what is wrong, what to do), and the engine's detail (offsets, hashes, the
// chain of causes) folded away under "Details".

// errorDialogSize is the width of the error dialog (its height follows
// the text).
var errorDialogSize = fyne.NewSize(560, 0)

// showError shows err as a dialog saying what failed.
func (c *Console) showError(what string, err error) {
	d := dialog.NewCustom(what, "OK", errorContent(what+" failed:", err), c.Window)
	d.Resize(errorDialogSize)
	d.Show()
}

// ShowError shows err in the console's window as showError does, for
// what failed outside it (main.go's start-up work).
func (c *Console) ShowError(what string, err error) { c.showError(what, err) }

// showStatusError says err in the status bar, in the administrator's
// words: for errors of the background (live sync, a remote server's
// events) that open no dialog.
func (c *Console) showStatusError(err error) {
	summary, _ := app.ExplainError(err)
	c.status.SetText(summary)
}

// errorContent is headline (bold), err's summary and, when the engine
// said more, its details in a closed "Details" section.
func errorContent(headline string, err error) fyne.CanvasObject {
	summary, details := app.ExplainError(err)
	head := widget.NewLabel(headline)
	head.TextStyle.Bold = true
	head.Wrapping = fyne.TextWrapWord
	text := widget.NewLabel(summary)
	text.Wrapping = fyne.TextWrapWord
	box := container.NewVBox(head, text)
	if details != "" {
		more := widget.NewLabel(details)
		more.Wrapping = fyne.TextWrapWord
		more.Selectable = true // to copy into a report
		box.Add(widget.NewAccordion(widget.NewAccordionItem("Details", more)))
	}
	return box
}
