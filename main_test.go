package main

import (
	"bufio"
	"context"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wimconsole/wimconsole/internal/oracle"
)

// consoleWindowName matches the console window's title for xdotool search
// --name: "WIM Console – HOST – /path/of/the/store" (the store is an
// absolute path), not the window of a store that cannot be opened.
const consoleWindowName = "^WIM Console .+ /"

// TestConsoleWindowUnderXvfb starts the real binary under Xvfb, waits for
// the console window (consoleWindowName), and screenshots it.
func TestConsoleWindowUnderXvfb(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real X server")
	}
	xvfb := oracle.Need(t, "Xvfb")
	xdotool := oracle.Need(t, "xdotool")
	imp := oracle.Need(t, "import")
	tmp := t.TempDir()

	bin := wimconsoleBinary(t)
	display := startXvfb(t, xvfb)

	store := filepath.Join(tmp, "RemoteInstall")
	cmd := exec.Command(bin, "--store", store)
	cmd.Env = append(os.Environ(), "DISPLAY="+display, "XDG_CONFIG_HOME="+tmp, "XDG_DATA_HOME="+tmp,
		"XDG_CACHE_HOME="+tmp, "LIBGL_ALWAYS_SOFTWARE=1", "LANG=en_US.UTF-8")
	var logs strings.Builder
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	search := exec.CommandContext(ctx, xdotool, "search", "--sync", "--onlyvisible", "--name", consoleWindowName)
	search.Env = append(os.Environ(), "DISPLAY="+display)
	out, err := search.Output()
	if err != nil {
		t.Fatalf("the console window did not appear: %v\nconsole output:\n%s", err, logs.String())
	}
	win := strings.Fields(string(out))[0]

	// The store was created on first run with the WDS layout.
	for _, p := range []string{"Images", "Boot/x64/Images", "WdsConsole/catalog.db"} {
		if _, err := os.Stat(filepath.Join(store, p)); err != nil {
			t.Errorf("store not laid out: %v", err)
		}
	}

	// Give the first frame time to paint, then screenshot the window.
	shot := filepath.Join(t.TempDir(), "console.png")
	var colors int
	for i := 0; i < 20; i++ {
		time.Sleep(500 * time.Millisecond)
		c := exec.Command(imp, "-window", win, shot)
		c.Env = append(os.Environ(), "DISPLAY="+display)
		if out, err := c.CombinedOutput(); err != nil {
			t.Fatalf("import: %v\n%s", err, out)
		}
		colors = distinctColors(t, shot)
		if colors >= 16 {
			break
		}
	}
	if colors < 16 {
		t.Fatalf("screenshot %s looks blank (%d colours)", shot, colors)
	}
	t.Logf("screenshot %s: %d colours", shot, colors)
	if dir := os.Getenv("WIMCONSOLE_SCREENSHOT_DIR"); dir != "" {
		data, _ := os.ReadFile(shot)
		_ = os.WriteFile(filepath.Join(dir, "console.png"), data, 0o644)
	}
}

// startXvfb starts an X server on a free display and returns its name. A
// display is taken when its lock file names a live process; a lock left by
// a killed server is stale, and Xvfb replaces it. Xvfb says when it is
// ready on a pipe (-displayfd), and it is stopped with SIGTERM, so that it
// removes its lock and socket.
func startXvfb(t *testing.T, xvfb string) string {
	t.Helper()
	return startXvfbScreen(t, xvfb, "1280x800x24")
}

// startXvfbScreen starts Xvfb with one screen of geometry (WxHxDEPTH).
func startXvfbScreen(t *testing.T, xvfb, geometry string) string {
	t.Helper()
	for n := 90; n < 140; n++ {
		if displayInUse(n) {
			continue
		}
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		display := fmt.Sprintf(":%d", n)
		cmd := exec.Command(xvfb, display, "-screen", "0", geometry, "-nolisten", "tcp", "-displayfd", "3")
		cmd.ExtraFiles = []*os.File{w}
		err = cmd.Start()
		w.Close()
		if err != nil {
			r.Close()
			t.Fatal(err)
		}
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		stop := func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(3 * time.Second):
				_ = cmd.Process.Kill()
				<-exited
			}
		}
		ready := make(chan bool, 1)
		go func() {
			line, _ := bufio.NewReader(r).ReadString('\n')
			ready <- strings.TrimSpace(line) == strconv.Itoa(n)
		}()
		select {
		case ok := <-ready:
			r.Close()
			if ok {
				t.Cleanup(stop)
				return display
			}
		case <-time.After(10 * time.Second):
			r.Close()
		}
		stop()
	}
	t.Fatal("no free X display for Xvfb")
	return ""
}

// displayInUse reports whether X display n's lock file names a live
// process.
func displayInUse(n int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/tmp/.X%d-lock", n))
	if err != nil {
		return false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 {
		return true // not ours to judge
	}
	return syscall.Kill(pid, 0) == nil
}

func distinctColors(t *testing.T, name string) int {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	seen := map[[3]uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, _ := img.At(x, y).RGBA()
			seen[[3]uint32{r >> 8, g >> 8, bl >> 8}] = true
		}
	}
	return len(seen)
}
