package main

import (
	"context"
	"encoding/json"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wimconsole/wimconsole/internal/oracle"
)

// TestKeysUnderXvfb drives the real console from the keyboard with
// xdotool: the arrows select the first image; Delete then Escape on a selected image deletes nothing and
// leaves no dialog; Delete then Return deletes it (seen through the CLI)
// and opens nothing behind the confirmation; Ctrl+Q quits with status 0.
//
// Positions are those of Fyne's default theme at scale 1 in a 1100x700
// window. Which image the arrows selected shows in what Delete deletes. A dialog is seen in a
// screenshot by the shade a modal dialog lays over the whole window: the
// empty right end of the toolbar changes colour.
func TestKeysUnderXvfb(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real X server")
	}
	xvfb := oracle.Need(t, "Xvfb")
	xdotool := oracle.Need(t, "xdotool")
	imp := oracle.Need(t, "import")
	oracle.Wimlib(t)
	tmp := t.TempDir()

	bin := wimconsoleBinary(t)
	src := filepath.Join(tmp, "src")
	if err := os.MkdirAll(filepath.Join(src, "Windows"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "Windows", "win.ini"), []byte("[fonts]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	wimFile := filepath.Join(tmp, "install.wim")
	oracle.Run(t, "capture", src, wimFile, "Windows 11 Pro")
	oracle.Run(t, "append", src, wimFile, "Windows 11 Enterprise")
	store := filepath.Join(tmp, "RemoteInstall")
	cli := func(args ...string) []byte {
		t.Helper()
		out, err := exec.Command(bin, append([]string{"--store", store}, args...)...).Output()
		if err != nil {
			t.Fatalf("wimconsole %s: %v", strings.Join(args, " "), err)
		}
		return out
	}
	images := func() []string {
		t.Helper()
		var list []struct {
			Ref string `json:"image"`
		}
		if err := json.Unmarshal(cli("get-all-images", "--json"), &list); err != nil {
			t.Fatal(err)
		}
		var refs []string
		for _, im := range list {
			refs = append(refs, im.Ref)
		}
		return refs
	}
	cli("add-image", wimFile, "--group", "Lab")
	if got := images(); len(got) != 2 {
		t.Fatalf("store holds %v, want two images", got)
	}

	display := startXvfb(t, xvfb)
	env := append(os.Environ(), "DISPLAY="+display, "XDG_CONFIG_HOME="+tmp, "XDG_DATA_HOME="+tmp,
		"XDG_CACHE_HOME="+tmp, "LIBGL_ALWAYS_SOFTWARE=1")
	cmd := exec.Command(bin, "--store", store)
	cmd.Env = env
	var logs strings.Builder
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		select {
		case <-exited:
		default:
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), windowTestTimeout)
	defer cancel()
	x := func(args ...string) string {
		t.Helper()
		out, err := xdotoolRun(ctx, xdotool, env, args...)
		if err != nil {
			t.Fatalf("xdotool %s: %v\nconsole output:\n%s", strings.Join(args, " "), err, logs.String())
		}
		return out
	}
	win := strings.Fields(x("search", "--sync", "--onlyvisible", "--name", consoleWindowName))[0]
	time.Sleep(time.Second) // first frame
	// Keys go to the window under the pointer (Xvfb runs no window
	// manager): the pointer stays over the window.
	key := func(k string) {
		x("key", k)
		time.Sleep(500 * time.Millisecond)
	}
	shots := map[string]string{}
	shoot := func(name string) image.Image {
		t.Helper()
		file := filepath.Join(t.TempDir(), name)
		if err := importWindow(ctx, imp, env, win, file); err != nil {
			t.Fatal(err)
		}
		shots[name] = file
		f, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		img, err := png.Decode(f)
		if err != nil {
			t.Fatal(err)
		}
		return img
	}
	t.Cleanup(func() {
		if dir := os.Getenv("WIMCONSOLE_SCREENSHOT_DIR"); dir != "" {
			for name, from := range shots {
				data, _ := os.ReadFile(from)
				_ = os.WriteFile(filepath.Join(dir, name), data, 0o644)
			}
		}
	})
	// shaded reports whether a modal dialog shades the window: the empty
	// right end of the toolbar differs from how it looked with none.
	var plain image.Image
	shaded := func(img image.Image) bool {
		for _, p := range []image.Point{{900, 20}, {1000, 20}, {1080, 25}} {
			r1, g1, b1, _ := plain.At(p.X, p.Y).RGBA()
			r2, g2, b2, _ := img.At(p.X, p.Y).RGBA()
			if r1 != r2 || g1 != g2 || b1 != b2 {
				return true
			}
		}
		return false
	}

	// The tree has the focus from the start: the arrows reach the first
	// image (Down: Install Images; Right: open it, its group Lab, open
	// Lab, its first image).
	x("mousemove", "--window", win, "700", "400")
	for _, k := range []string{"Down", "Right", "Right", "Right", "Right"} {
		key(k)
	}
	plain = shoot("selected.png")

	key("Delete")
	if !shaded(shoot("delete-asks.png")) {
		t.Fatalf("Delete showed no confirmation (screenshots %v)\n%s", shots, logs.String())
	}
	key("Escape")
	if shaded(shoot("after-escape.png")) {
		t.Fatalf("Escape left a dialog open (screenshots %v)", shots)
	}
	if got := images(); len(got) != 2 {
		t.Fatalf("Delete, Escape deleted: the store holds %v", got)
	}

	key("Delete")
	key("Return")
	var left []string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if left = images(); len(left) == 1 || time.Now().After(deadline) {
			break
		}
	}
	if len(left) != 1 || left[0] != "Lab/install-(2)" {
		t.Fatalf("Delete, Return: the store holds %v, want Lab/install-(2) alone\n%s", left, logs.String())
	}
	time.Sleep(700 * time.Millisecond) // Properties would take this long to open
	if shaded(shoot("after-return.png")) {
		t.Fatalf("a dialog is open after Return confirmed the delete (screenshots %v)", shots)
	}

	key("ctrl+q")
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("Ctrl+Q: the console exited with %v\n%s", err, logs.String())
		}
		exited <- nil // for the cleanup
	case <-time.After(10 * time.Second):
		t.Fatalf("Ctrl+Q did not quit the console within 10 s\n%s", logs.String())
	}
}
