package views

import (
	"errors"
	"fmt"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/wimconsole/wimconsole/app"
	"github.com/wimconsole/wimconsole/resources"
)

// StoreProblemTitle is the title of the window shown at start-up when the
// store cannot be opened.
const StoreProblemTitle = Title + " – Cannot Open the Store"

// StartConsole opens the console window on the store at root. When the
// store cannot be opened, or root is a folder of other files, a window
// says why in the administrator's words and offers a way out: Choose
// Another Folder…, Create Store (for a folder of other files) or Quit.
// started is called with the console once a store opens; it shows the
// console's window. StartConsole is called before the app runs, on the
// main goroutine.
func StartConsole(a fyne.App, root string, dialogs app.Dialogs, started func(*Console)) {
	s := newStarter(a, dialogs, started)
	s.do = fyne.Do
	s.tryNow(root, false)
}

// starter opens the first store, showing the problem window until one
// opens.
type starter struct {
	a       fyne.App
	dialogs app.Dialogs
	started func(*Console)
	// do hands work to the main goroutine (fyne.Do; tests run it at once).
	do func(func())
	// busy counts the attempts in the background (tests wait on it).
	busy pending

	win      fyne.Window // the problem window (nil until a problem)
	root     string      // the folder of the problem shown
	choosing bool        // a native folder dialog is open
	console  *Console    // once a store opened
}

func newStarter(a fyne.App, dialogs app.Dialogs, started func(*Console)) *starter {
	return &starter{a: a, dialogs: dialogs, started: started, do: func(f func()) { f() }}
}

// attempt is what opening a folder came to: a server, a folder of other
// files to ask about, or an error.
type attempt struct {
	srv   *app.Server
	other bool
	err   error
}

// openFolder inspects root and opens it as a store, unless it is a folder of
// other files and create is false.
func openFolder(root string, create bool) attempt {
	kind, err := app.InspectStoreFolder(root)
	if err != nil {
		return attempt{err: err}
	}
	if kind == app.FolderOther && !create {
		return attempt{other: true}
	}
	srv, err := app.LocalServer(root)
	if err != nil {
		return attempt{err: err}
	}
	return attempt{srv: srv}
}

// tryNow opens root on the calling (main) goroutine: at start-up, before
// the app runs, as the console always did.
func (s *starter) tryNow(root string, create bool) { s.show(root, openFolder(root, create)) }

// try opens root in the background and shows the outcome.
func (s *starter) try(root string, create bool) {
	s.busy.Add(1)
	go func() {
		defer s.busy.Done()
		at := openFolder(root, create)
		s.do(func() { s.show(root, at) })
	}()
}

// show opens the console on an opened store, or shows the problem.
func (s *starter) show(root string, at attempt) {
	if at.srv != nil {
		s.console = NewConsole(s.a, app.NewModel(at.srv), s.dialogs)
		s.started(s.console)
		if s.win != nil {
			s.win.Close()
			s.win = nil
		}
		return
	}
	s.root = root
	var content fyne.CanvasObject
	buttons := []fyne.CanvasObject{}
	choose := widget.NewButtonWithIcon("Choose Another Folder…", theme.FolderOpenIcon(), s.choose)
	quit := widget.NewButton("Quit", s.a.Quit)
	if at.other {
		head := widget.NewLabel(notAStore(root))
		head.Wrapping = fyne.TextWrapWord
		content = head
		create := widget.NewButton("Create Store", func() { s.try(root, true) })
		create.Importance = widget.HighImportance
		buttons = append(buttons, quit, choose, create)
	} else {
		content = errorContent(fmt.Sprintf("The image store %s cannot be opened.", root), at.err)
		choose.Importance = widget.HighImportance
		buttons = append(buttons, quit, choose)
	}
	if s.win == nil {
		s.win = s.a.NewWindow(StoreProblemTitle)
		s.win.SetIcon(resources.AppIcon)
		s.win.Resize(fyne.NewSize(640, 300))
	}
	s.win.SetContent(container.NewBorder(nil, container.NewHBox(append([]fyne.CanvasObject{layout.NewSpacer()}, buttons...)...),
		nil, nil, container.NewVScroll(container.NewPadded(content))))
	s.win.Show()
}

// choose asks for another folder (the native dialog, or Fyne's in the
// problem window where there is none) and opens it.
func (s *starter) choose() {
	if s.choosing {
		return
	}
	s.choosing = true
	s.busy.Add(1)
	go func() {
		defer s.busy.Done()
		folder, err := s.dialogs.PickFolder("Open Image Store")
		s.do(func() {
			s.choosing = false
			switch {
			case errors.Is(err, app.ErrCancelled):
			case errors.Is(err, app.ErrNoNativeDialogs):
				d := dialog.NewFolderOpen(func(u fyne.ListableURI, err error) {
					if err == nil && u != nil {
						s.try(u.Path(), false)
					}
				}, s.win)
				d.Resize(fileDialogSize)
				d.Show()
			case err != nil:
				s.show(s.root, attempt{err: err})
			case folder != "":
				s.try(folder, false)
			}
		})
	}()
}
