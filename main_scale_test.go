package main

import (
	"context"
	"image"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wimconsole/wimconsole/internal/fixtures"
	"github.com/wimconsole/wimconsole/internal/oracle"
)

var geometryRE = regexp.MustCompile(`Position: (-?\d+),(-?\d+).*\n\s*Geometry: (\d+)x(\d+)`)

// TestConsoleFitsTheScreenAtScale2UnderXvfb opens the console with
// FYNE_SCALE=2 on a 1400x900 screen: at 1100x700 units it would be
// 2200x1400 pixels, past the screen's edges with the status bar out of
// sight. The window must lie within the screen and still use most of it.
func TestConsoleFitsTheScreenAtScale2UnderXvfb(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real X server")
	}
	xvfb := oracle.Need(t, "Xvfb")
	rc := &realConsole{t: t, xdotool: oracle.Need(t, "xdotool"), imp: oracle.Need(t, "import")}
	rc.bin = wimconsoleBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), windowTestTimeout)
	defer cancel()
	rc.ctx = ctx
	tmp := t.TempDir()
	rc.shots = t.TempDir()
	rc.store = filepath.Join(tmp, "RemoteInstall")
	rc.cli("add-image", fixtures.Path(t, "install.wim"), "--group", "Lab")

	const screenW, screenH = 1400, 900
	display := startXvfbScreen(t, xvfb, strconv.Itoa(screenW)+"x"+strconv.Itoa(screenH)+"x24")
	rc.env = append(os.Environ(), "DISPLAY="+display, "XDG_CONFIG_HOME="+tmp, "XDG_DATA_HOME="+tmp,
		"XDG_CACHE_HOME="+tmp, "LIBGL_ALWAYS_SOFTWARE=1", "FYNE_SCALE=2")
	rc.cmd = exec.Command(rc.bin, "--store", rc.store)
	rc.cmd.Env = rc.env
	rc.logs = &lockedBuffer{}
	rc.cmd.Stdout, rc.cmd.Stderr = rc.logs, rc.logs
	if err := rc.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = rc.cmd.Process.Kill()
		_ = rc.cmd.Wait()
	})
	rc.win = strings.Fields(rc.x("search", "--sync", "--onlyvisible", "--name", consoleWindowName))[0]

	// The window's place and size, once it has settled (a monitor whose DPI
	// changes Fyne's scale sizes it again just after it shows).
	var x, y, w, h int
	var geometry string
	for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(250 * time.Millisecond) {
		geometry = rc.x("getwindowgeometry", rc.win)
		m := geometryRE.FindStringSubmatch(geometry)
		if m == nil {
			t.Fatalf("xdotool getwindowgeometry: %q", geometry)
		}
		x, _ = strconv.Atoi(m[1])
		y, _ = strconv.Atoi(m[2])
		w, _ = strconv.Atoi(m[3])
		h, _ = strconv.Atoi(m[4])
		if x+w <= screenW && y+h <= screenH || time.Now().After(deadline) {
			break
		}
	}
	t.Logf("FYNE_SCALE=2 on a %dx%d screen: window %dx%d at %d,%d", screenW, screenH, w, h, x, y)
	if x < 0 || y < 0 || x+w > screenW || y+h > screenH {
		t.Fatalf("the window does not fit the %dx%d screen at FYNE_SCALE=2:\n%s\nconsole output:\n%s", screenW, screenH, geometry, rc.logs.String())
	}
	if w < screenW*8/10 || h < screenH*8/10 {
		t.Errorf("the window (%dx%d) leaves most of the %dx%d screen unused", w, h, screenW, screenH)
	}

	// Expand Install Images and Lab (rows at twice the scale-1 positions)
	// for the screenshot, and check the window answers at that scale.
	time.Sleep(time.Second) // first frame
	before := rc.shot("scale2-closed")
	rc.click("1", 82, 232) // Install Images' expander
	rc.click("1", 130, 294)
	rc.park()
	img := rc.shot("scale2")
	lab := image.Rect(160, 280, 500, 310) // Lab's row, under Install Images
	if changed(before, img, lab) == 0 {
		keepFailedShots(t, rc.shots)
		t.Errorf("clicking Install Images' expander at scale 2 showed no group (screenshots in %s)", rc.shots)
	}
	rc.keep(img, image.Rect(0, 0, w, h), "screenshots/console-scale2.png")
}
