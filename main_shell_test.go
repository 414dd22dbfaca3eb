package main

import (
	"image"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wimconsole/wimconsole/views"
)

// TestStoreTitleAndProblemWindowUnderXvfb: the console's title names the
// server and its store; a store that cannot be opened (its catalog is not
// a catalog) opens a window saying why, with Choose Another Folder… and
// Quit, where the console used to end with a message in the terminal.
func TestStoreTitleAndProblemWindowUnderXvfb(t *testing.T) {
	rc := startPopulatedConsole(t)
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	if got, want := rc.x("getwindowname", rc.win), "WIM Console – "+host+" – "+rc.store; got != want {
		t.Errorf("title %q, want %q", got, want)
	}
	rc.click("1", 150, 147) // select Lab: the status bar counts its images
	rc.park()
	img := rc.shot("console-title")
	rc.keep(img, img.Bounds(), "screenshots/console-status.png")

	damaged := filepath.Join(t.TempDir(), "RemoteInstall")
	if err := os.MkdirAll(filepath.Join(damaged, "WdsConsole"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(damaged, "WdsConsole", "catalog.db"), []byte("not a catalog at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(rc.bin, "--store", damaged)
	cmd.Env = rc.env
	logs := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	// The window is searched for with a deadline of its own, so that a
	// console that ended instead reports what it printed.
	var win string
	for end := time.Now().Add(20 * time.Second); win == "" && time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("the console ended (%v) instead of showing why the store cannot be opened:\n%s", err, logs.String())
		default:
		}
		c := exec.CommandContext(rc.ctx, rc.xdotool, "search", "--onlyvisible", "--name", "^"+views.StoreProblemTitle+"$")
		c.Env = rc.env
		if out, err := c.Output(); err == nil {
			win = strings.Fields(string(out))[0]
		}
	}
	if win == "" {
		t.Fatalf("no window %q:\n%s", views.StoreProblemTitle, logs.String())
	}
	time.Sleep(time.Second) // first frame
	shot := filepath.Join(rc.shots, "store-problem.png")
	if err := importWindow(rc.ctx, rc.imp, rc.env, win, shot); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	problem, _, err := image.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	// Text is drawn: the window is not one flat colour.
	b := problem.Bounds()
	flat := problem.At(b.Min.X, b.Min.Y)
	if changed(problem, image.NewUniform(flat), b) < b.Dx()*b.Dy()/100 {
		t.Errorf("the window %q shows nothing (%v)", views.StoreProblemTitle, b)
	}
	rc.keep(problem, b, "screenshots/store-problem.png")
	select {
	case err := <-exited:
		t.Fatalf("the console ended (%v):\n%s", err, logs.String())
	default:
	}
}
