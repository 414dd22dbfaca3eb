// Command wimconsole is WIM Console: with no command word it opens the
// console window; with one it runs that command (see `wimconsole help`).
package main

import (
	"fmt"
	"os"
	"runtime/debug"
	"runtime/pprof"

	fyneapp "fyne.io/fyne/v2/app"

	_ "github.com/wimconsole/wimconsole/internal/posixlocale"

	"github.com/wimconsole/wimconsole/app"
	"github.com/wimconsole/wimconsole/app/cli"
	"github.com/wimconsole/wimconsole/engine/store"
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
	if os.Getenv("GOGC") == "" {
		// The engine's live heap is mostly an image's file tree and the
		// chunks in flight; collecting at +50% instead of Go's +100% keeps
		// peak memory about 20 MB lower on a capture at no measured cost
		// in time (GOGC=100 restores the default).
		debug.SetGCPercent(50)
	}
	exit := make(chan int)
	open := make(chan string)
	closed := make(chan error)
	env := &cli.Env{Stdout: os.Stdout, Stderr: os.Stderr, Console: func(store string) error {
		open <- store
		return <-closed
	}}
	stopProfile := startProfile(os.Getenv("WIMCONSOLE_CPUPROFILE"))
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
	c.CheckSessions()
	c.Window.SetMaster()
	c.Window.ShowAndRun()
	return nil
}

// startProfile writes a CPU profile of the whole run to file when it is set
// (WIMCONSOLE_CPUPROFILE=cpu.out wimconsole capture …; then go tool pprof),
// for finding where a command spends its time. It returns the function that
// ends the profile.
func startProfile(file string) func() {
	if file == "" {
		return func() {}
	}
	f, err := os.Create(file)
	if err == nil {
		err = pprof.StartCPUProfile(f)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "wimconsole: CPU profile:", err)
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}
