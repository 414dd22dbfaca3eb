// Command wimconsole is WIM Console: with no command word it opens the
// console window; with one it runs that command (see `wimconsole help`).
// cmd/wimconsole-cli is the same command line without the window.
package main

import (
	"fmt"
	"os"

	fyneapp "fyne.io/fyne/v2/app"

	_ "github.com/wimconsole/wimconsole/internal/posixlocale"

	"github.com/wimconsole/wimconsole/app"
	"github.com/wimconsole/wimconsole/app/cli"
	"github.com/wimconsole/wimconsole/internal/startup"
	"github.com/wimconsole/wimconsole/views"
)

// appID is the application ID, as in FyneApp.toml.
const appID = "io.github.wimconsole.console"

// main runs the command line on its own goroutine and keeps the main
// goroutine for the console window. Fyne's GLFW driver locks the main
// goroutine to the process's first OS thread (the GUI toolkits need it), so
// command-line work done there paid a thread switch every time it blocked
// and woke (verify and export ran 25–40% slower); on another goroutine it
// runs on the scheduler's threads like any Go program.
func main() {
	exit := make(chan int)
	open := make(chan string)
	closed := make(chan error)
	env := &cli.Env{Stdout: os.Stdout, Stderr: os.Stderr, Console: func(store string) error {
		open <- store
		return <-closed
	}}
	stopProfile := startup.Init(os.Stderr)
	go func() { exit <- cli.Execute(os.Args[1:], env) }()
	for {
		select {
		case code := <-exit:
			stopProfile()
			os.Exit(code)
		case store := <-open:
			closed <- runConsole(store)
		}
	}
}

// runConsole opens the console window on the store at root ("" for the
// per-user default) and returns when the window is closed. A store that
// cannot be opened shows a window saying why, with a way out (another
// folder, or Quit), instead of ending with a message in the terminal.
func runConsole(root string) error {
	root, err := app.ResolveRoot(root)
	if err != nil {
		return err
	}
	a := fyneapp.NewWithID(appID)
	var consoles []*views.Console
	var stops []func()
	views.StartConsole(a, root, &nativeDialogs{}, func(c *views.Console) {
		consoles = append(consoles, c)
		c.FitScreen(screenSize())
		stop, err := c.LiveSync()
		if err != nil {
			// The console works without it; changes made elsewhere show
			// on Refresh (F5).
			c.ShowError("Watching the store for changes", err)
		} else {
			stops = append(stops, stop)
		}
		if path, err := app.ServerListPath(); err == nil {
			if err := c.LoadServers(path); err != nil {
				fmt.Fprintln(os.Stderr, "wimconsole:", err)
			}
		}
		if path, err := app.LibraryListPath(); err == nil {
			c.LoadLibraries(path)
		}
		c.CheckSessions()
		c.Window.SetMaster()
		c.Window.Show()
	})
	a.Run()
	for _, stop := range stops {
		stop()
	}
	for _, c := range consoles {
		c.StopServers()
	}
	return nil
}
