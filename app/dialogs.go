package app

import "errors"

// FileFilter limits a native file dialog to some extensions.
type FileFilter struct {
	Description string
	Extensions  []string // without the dot, e.g. "wim"
}

// Dialogs is the platform's native file dialogs. main.go supplies the real
// one (sqweek/dialog); tests supply a fake. Each method blocks until the user
// answers and returns ErrCancelled when they cancel, so callers call it off
// the UI goroutine (views does, one dialog at a time). An implementation that
// cannot show its dialogs at all (no display, the toolkit missing) returns
// an error wrapping ErrNoNativeDialogs: the caller then shows its own dialog
// instead.
type Dialogs interface {
	OpenFiles(title string, filters ...FileFilter) ([]string, error)
	SaveFile(title, suggested string, filters ...FileFilter) (string, error)
	PickFolder(title string) (string, error)
}

// ErrCancelled is returned by Dialogs when the user cancels.
var ErrCancelled = errCancelled{}

type errCancelled struct{}

func (errCancelled) Error() string { return "cancelled" }

// ErrNoNativeDialogs is wrapped by the errors of Dialogs that cannot show
// the platform's dialogs on this system.
var ErrNoNativeDialogs = errors.New("the system's file dialogs cannot be shown")
