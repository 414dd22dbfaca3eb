// Command wimconsole is WIM Console: with no command word it opens the
// console window; with one it runs that command (see `wimconsole help`).
package main

import (
	"fmt"
	"os"

	fyneapp "fyne.io/fyne/v2/app"

	_ "github.com/wimconsole/wimconsole/internal/posixlocale"

	"github.com/wimconsole/wimconsole/app"
	"github.com/wimconsole/wimconsole/app/cli"
	"github.com/wimconsole/wimconsole/engine/store"
	"github.com/wimconsole/wimconsole/views"
)

// appID is the application ID, as in FyneApp.toml.
const appID = "io.github.wimconsole.console"

func main() {
	env := &cli.Env{Stdout: os.Stdout, Stderr: os.Stderr, Console: runConsole}
	os.Exit(cli.Execute(os.Args[1:], env))
}

// runConsole opens the console window on the store at root ("" for the
// per-user default) and returns when the window is closed.
func runConsole(root string) error {
	root, err := store.ResolveRoot(root)
	if err != nil {
		return err
	}
	local, err := app.LocalServer(root)
	if err != nil {
		return fmt.Errorf("opening the store: %w", err)
	}
	a := fyneapp.NewWithID(appID)
	c := views.NewConsole(a, app.NewModel(local), nativeDialogs{})
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
	c.Window.SetMaster()
	c.Window.ShowAndRun()
	return nil
}
