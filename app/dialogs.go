package app

// FileFilter limits a native file dialog to some extensions.
type FileFilter struct {
	Description string
	Extensions  []string // without the dot, e.g. "wim"
}

// Dialogs is the platform's native file dialogs. main.go supplies the real
// one (sqweek/dialog); tests supply a fake. Each method blocks until the user
// answers and returns ErrCancelled when they cancel.
type Dialogs interface {
	OpenFiles(title string, filters ...FileFilter) ([]string, error)
	SaveFile(title, suggested string, filters ...FileFilter) (string, error)
	PickFolder(title string) (string, error)
}

// ErrCancelled is returned by Dialogs when the user cancels.
var ErrCancelled = errCancelled{}

type errCancelled struct{}

func (errCancelled) Error() string { return "cancelled" }
