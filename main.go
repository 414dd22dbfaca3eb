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
// per-user default) and returns when the window is closed.
func runConsole(root string) error {
	root, err := app.ResolveRoot(root)
	if err != nil {
		return err
	}
	local, err := app.LocalServer(root)
	if err != nil {
		return fmt.Errorf("opening the store: %w", err)
	}
	a := fyneapp.NewWithID(appID)
	c := views.NewConsole(a, app.NewModel(local), &nativeDialogs{})
	c.FitScreen(screenSize())
	stop, err := c.LiveSync()
	if err != nil {
		return fmt.Errorf("watching the store: %w", err)
	}
	defer stop()
	if path, err := app.ServerListPath(); err == nil {
		if err := c.LoadServers(path); err != nil {
			fmt.Fprintln(os.Stderr, "wimconsole:", err)
		}
	}
	defer c.StopServers()
	c.CheckSessions()
	c.Window.SetMaster()
	c.Window.ShowAndRun()
	return nil
}
