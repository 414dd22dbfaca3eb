package main

import (
	"errors"

	"github.com/sqweek/dialog"

	"github.com/wimconsole/wimconsole/app"
)

// nativeDialogs are the platform's file dialogs through sqweek/dialog (GTK on
// Linux, Cocoa on macOS, the common dialogs on Windows).
type nativeDialogs struct{}

func (nativeDialogs) OpenFiles(title string, filters ...app.FileFilter) ([]string, error) {
	b := dialog.File().Title(title)
	for _, f := range filters {
		b = b.Filter(f.Description, f.Extensions...)
	}
	// sqweek/dialog picks one file at a time.
	name, err := b.Load()
	if err != nil {
		return nil, translate(err)
	}
	return []string{name}, nil
}

func (nativeDialogs) SaveFile(title, suggested string, filters ...app.FileFilter) (string, error) {
	b := dialog.File().Title(title).SetStartFile(suggested)
	for _, f := range filters {
		b = b.Filter(f.Description, f.Extensions...)
	}
	name, err := b.Save()
	return name, translate(err)
}

func (nativeDialogs) PickFolder(title string) (string, error) {
	name, err := dialog.Directory().Title(title).Browse()
	return name, translate(err)
}

func translate(err error) error {
	if errors.Is(err, dialog.ErrCancelled) {
		return app.ErrCancelled
	}
	return err
}
