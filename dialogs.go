package main

import (
	"errors"
	"fmt"
	"runtime"
	"sync"

	"github.com/sqweek/dialog"

	"github.com/wimconsole/wimconsole/app"
)

// nativeDialogs are the platform's file dialogs through sqweek/dialog (GTK on
// Linux, Cocoa on macOS, the common dialogs on Windows).
//
// Every dialog runs on one OS thread, started on first use and locked to it
// for the life of the process, one dialog at a time: GTK must be used from
// one thread only. (sqweek/dialog calls gtk_init_check from its package
// init, on the main thread before main runs; after that only this thread
// touches GTK. Fyne's main thread is never used: a dialog there would stop
// the window's event loop while it is open.) On macOS sqweek/dialog runs the
// panel on the main thread itself (performSelectorOnMainThread, waiting for
// it), which the GLFW event loop serves; on Windows the common dialogs run
// on any thread. A call made while a dialog is open waits for it.
//
// When GTK could not start (no display, a broken DISPLAY, GDK_BACKEND naming
// a backend that is not there) sqweek/dialog panics on every call; that
// panic is recovered on the dialog thread and remembered, and every call
// from then on returns an error wrapping app.ErrNoNativeDialogs without
// trying GTK again, so that the console shows Fyne's own dialog.
type nativeDialogs struct {
	start sync.Once
	calls chan func()

	mu     sync.Mutex
	broken error // why the dialogs cannot be shown; nil while they can
}

func (d *nativeDialogs) OpenFiles(title string, filters ...app.FileFilter) ([]string, error) {
	var names []string
	err := d.run(func() error {
		b := dialog.File().Title(title)
		for _, f := range filters {
			b = b.Filter(f.Description, f.Extensions...)
		}
		// sqweek/dialog picks one file at a time.
		name, err := b.Load()
		names = []string{name}
		return err
	})
	if err != nil {
		return nil, err
	}
	return names, nil
}

func (d *nativeDialogs) SaveFile(title, suggested string, filters ...app.FileFilter) (string, error) {
	var name string
	err := d.run(func() error {
		b := dialog.File().Title(title).SetStartFile(suggested)
		for _, f := range filters {
			b = b.Filter(f.Description, f.Extensions...)
		}
		var err error
		name, err = b.Save()
		return err
	})
	return name, err
}

func (d *nativeDialogs) PickFolder(title string) (string, error) {
	var name string
	err := d.run(func() error {
		var err error
		name, err = dialog.Directory().Title(title).Browse()
		return err
	})
	return name, err
}

// run runs show on the dialog thread and waits for it.
func (d *nativeDialogs) run(show func() error) error {
	if err := d.unavailable(); err != nil {
		return err
	}
	d.start.Do(func() {
		d.calls = make(chan func())
		go d.serve()
	})
	done := make(chan error, 1)
	d.calls <- func() { done <- d.call(show) }
	return <-done
}

// serve is the dialog thread: it runs the calls one at a time.
func (d *nativeDialogs) serve() {
	runtime.LockOSThread() // never unlocked: the thread ends with the process
	for call := range d.calls {
		call()
	}
}

// call runs show, turning sqweek/dialog's panic when the toolkit cannot
// start into the remembered error.
func (d *nativeDialogs) call(show func() error) (err error) {
	if err := d.unavailable(); err != nil {
		return err // a call queued behind the one that failed
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", app.ErrNoNativeDialogs, r)
			d.mu.Lock()
			d.broken = err
			d.mu.Unlock()
		}
	}()
	err = show()
	afterDialog()
	if errors.Is(err, dialog.ErrCancelled) {
		return app.ErrCancelled
	}
	return err
}

func (d *nativeDialogs) unavailable() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.broken
}
