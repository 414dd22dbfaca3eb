package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wimconsole/wimconsole/internal/fixtures"
	"github.com/wimconsole/wimconsole/internal/oracle"
)

// The tests in this file start the real console under Xvfb on a populated
// store and drive it with xdotool, to see what the headless fyne/test tests
// cannot: a menu closed by a refresh, a reload storm burning CPU, a row
// that does not show what the store holds.
//
// Positions are those of Fyne's default theme at scale 1 in the console's
// 1100x700 window (see TestRightClickDisableUnderXvfb): menu titles on
// y=14, tree rows 31 pixels apart from the server's at y=85, the
// details pane's Status row (for an image) at y=284.

// windowTestTimeout bounds each real-window test, from after the build of
// the binary (shared by the tests) to its end: a guard against a hung
// test, not a measure of the console (the tests check what they time).
// On a loaded machine (make test runs the packages side by side) a test
// of 25 s alone has taken 45 s.
const windowTestTimeout = 3 * time.Minute

// commandTimeout bounds each xdotool or import command.
const commandTimeout = 20 * time.Second

// importWindow screenshots X window win into file with ImageMagick's
// import, trying again when an attempt fails or outlasts commandTimeout:
// on a loaded machine one attempt can time out while the console and the
// X server are fine. It gives up after 3 attempts or when ctx ends.
func importWindow(ctx context.Context, imp string, env []string, win, file string) error {
	var err error
	for try := 0; try < 3 && ctx.Err() == nil; try++ {
		c, cancel := context.WithTimeout(ctx, commandTimeout)
		cmd := exec.CommandContext(c, imp, "-window", win, file)
		cmd.Env = env
		out, e := cmd.CombinedOutput()
		cancel()
		if e == nil {
			return nil
		}
		err = fmt.Errorf("import -window %s (attempt %d): %v\n%s", win, try+1, e, out)
	}
	if err == nil {
		err = ctx.Err()
	}
	return err
}

// xdotoolRun runs xdotool with args on the display of env, within
// commandTimeout, and returns its trimmed output. It is not retried: a
// click or a key is not to be sent twice.
func xdotoolRun(ctx context.Context, xdotool string, env []string, args ...string) (string, error) {
	c, cancel := context.WithTimeout(ctx, commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(c, xdotool, args...)
	cmd.Env = env
	out, err := cmd.Output()
	return strings.TrimSpace(string(out)), err
}

// realConsole is the console binary running on its own X server.
type realConsole struct {
	t       *testing.T
	ctx     context.Context
	bin     string
	store   string
	imp     string
	xdotool string
	xvfb    string
	home    string // XDG config, data and cache folder; holds the store
	env     []string
	cmd     *exec.Cmd
	logs    *lockedBuffer
	win     string
	shots   string // folder of this test's screenshots
}

// lockedBuffer collects the console's output, written by exec's copying
// goroutine and read by the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startPopulatedConsole makes a store with two image groups, Lab (images
// Lab/install and Lab/install-(2)) and Prod (Prod/server, disabled), opens
// the console on it and expands Install Images, Lab and Prod:
//
//	y=85 server, 116 Install Images, 147 Lab, 178 Lab/install,
//	209 Lab/install-(2), 240 Prod, 271 Prod/server, 302 Boot Images
func startPopulatedConsole(t *testing.T) *realConsole {
	t.Helper()
	rc := newRealConsole(t)
	// Two images (Windows 11 Pro and Enterprise) and one (Windows Server 2025)
	// of a two-file tree, made by testdata/make.sh with wimlib-imagex.
	install, server := fixtures.Path(t, "install.wim"), fixtures.Path(t, "server.wim")
	rc.cli("add-image", install, "--group", "Lab")
	rc.cli("add-image", server, "--group", "Prod")
	rc.cli("set-image", "Prod/server", "--enabled", "no")
	rc.start()
	rc.click("1", 41, 116) // expand Install Images
	rc.click("1", 65, 147) // expand Lab
	rc.click("1", 65, 240) // expand Prod
	rc.park()
	return rc
}

// newRealConsole prepares a console on the store folder rc.store, which
// does not exist yet: fill it with rc.cli, then open the console with
// rc.start. It skips the test in -short mode or when Xvfb, xdotool or
// import is missing.
func newRealConsole(t *testing.T) *realConsole {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a real X server")
	}
	rc := &realConsole{t: t, xvfb: oracle.Need(t, "Xvfb"), xdotool: oracle.Need(t, "xdotool"), imp: oracle.Need(t, "import")}
	rc.bin = wimconsoleBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), windowTestTimeout)
	start := time.Now()
	t.Cleanup(func() {
		cancel()
		t.Logf("%s after the build of the binary", time.Since(start).Round(100*time.Millisecond))
	})
	rc.ctx = ctx
	rc.home = t.TempDir()
	rc.shots = t.TempDir()
	rc.store = filepath.Join(rc.home, "RemoteInstall")
	return rc
}

// start opens the console on rc.store on its own X server and waits for
// its window's first frame.
func (rc *realConsole) start() {
	t := rc.t
	t.Helper()
	display := startXvfb(t, rc.xvfb)
	rc.env = append(os.Environ(), "DISPLAY="+display, "XDG_CONFIG_HOME="+rc.home, "XDG_DATA_HOME="+rc.home,
		"XDG_CACHE_HOME="+rc.home, "LIBGL_ALWAYS_SOFTWARE=1")
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
	time.Sleep(time.Second) // first frame
}

// cli runs the command line on the console's store.
func (rc *realConsole) cli(args ...string) []byte {
	rc.t.Helper()
	out, err := exec.CommandContext(rc.ctx, rc.bin, append([]string{"--store", rc.store}, args...)...).CombinedOutput()
	if err != nil {
		rc.t.Fatalf("wimconsole %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// x runs xdotool on the console's display.
func (rc *realConsole) x(args ...string) string {
	rc.t.Helper()
	out, err := xdotoolRun(rc.ctx, rc.xdotool, rc.env, args...)
	if err != nil {
		rc.t.Fatalf("xdotool %s: %v\nconsole output:\n%s", strings.Join(args, " "), err, rc.logs.String())
	}
	return out
}

// click clicks button at (px, py) in the window and lets it paint.
func (rc *realConsole) click(button string, px, py int) {
	rc.t.Helper()
	rc.x("mousemove", "--window", rc.win, strconv.Itoa(px), strconv.Itoa(py), "click", button)
	time.Sleep(600 * time.Millisecond)
}

// park moves the pointer onto the status bar, where it highlights nothing.
func (rc *realConsole) park() {
	rc.t.Helper()
	rc.x("mousemove", "--window", rc.win, "1000", "690")
	time.Sleep(300 * time.Millisecond)
}

// shot screenshots the window into the test's folder as name.png.
func (rc *realConsole) shot(name string) image.Image {
	rc.t.Helper()
	file := filepath.Join(rc.shots, name+".png")
	if err := importWindow(rc.ctx, rc.imp, rc.env, rc.win, file); err != nil {
		rc.t.Fatal(err)
	}
	f, err := os.Open(file)
	if err != nil {
		rc.t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		rc.t.Fatalf("%s: %v", file, err)
	}
	return img
}

// keep saves a crop of img as name (a path relative to
// $WIMCONSOLE_SCREENSHOT_DIR) when that variable is set: the screenshots in
// docs are made so.
func (rc *realConsole) keep(img image.Image, r image.Rectangle, name string) {
	rc.t.Helper()
	dir := os.Getenv("WIMCONSOLE_SCREENSHOT_DIR")
	if dir == "" {
		return
	}
	var b bytes.Buffer
	if err := png.Encode(&b, crop(img, r)); err != nil {
		rc.t.Fatal(err)
	}
	name = filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		rc.t.Fatal(err)
	}
	if err := os.WriteFile(name, b.Bytes(), 0o644); err != nil {
		rc.t.Fatal(err)
	}
}

func crop(img image.Image, r image.Rectangle) image.Image {
	out := image.NewRGBA(image.Rect(0, 0, r.Dx(), r.Dy()))
	for y := 0; y < r.Dy(); y++ {
		for x := 0; x < r.Dx(); x++ {
			out.Set(x, y, img.At(r.Min.X+x, r.Min.Y+y))
		}
	}
	return out
}

// changed counts the pixels of r that differ between a and b.
func changed(a, b image.Image, r image.Rectangle) int {
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			r1, g1, b1, _ := a.At(x, y).RGBA()
			r2, g2, b2, _ := b.At(x, y).RGBA()
			if r1 != r2 || g1 != g2 || b1 != b2 {
				n++
			}
		}
	}
	return n
}

// sameAs reports whether the crop ra of a is pixel for pixel the crop rb
// of b.
func sameAs(a image.Image, ra image.Rectangle, b image.Image, rb image.Rectangle) bool {
	if ra.Size() != rb.Size() {
		return false
	}
	for y := 0; y < ra.Dy(); y++ {
		for x := 0; x < ra.Dx(); x++ {
			r1, g1, b1, _ := a.At(ra.Min.X+x, ra.Min.Y+y).RGBA()
			r2, g2, b2, _ := b.At(rb.Min.X+x, rb.Min.Y+y).RGBA()
			if r1 != r2 || g1 != g2 || b1 != b2 {
				return false
			}
		}
	}
	return true
}

// menuTitles are the menu bar's titles and the x of each.
var menuTitles = []struct {
	name string
	x    int
}{{"File", 27}, {"Action", 78}, {"View", 135}, {"Help", 185}}

// menuArea is where a menu opened from the title at x covers the toolbar:
// the toolbar's band under the title, which nothing else changes.
func menuArea(x int) image.Rectangle { return image.Rect(x-10, 34, x+90, 64) }

// TestConsoleMenusStayOpenUnderXvfb opens each menu of the menu bar right
// after F5 and right after a change made with the command line, and checks,
// 1.5 s later (past the refresh either causes), that the menu is still
// open: the toolbar band under its title differs from the closed window's,
// and is back to it once the menu is dismissed. A refresh that set the menu
// bar again closed an open menu.
func TestConsoleMenusStayOpenUnderXvfb(t *testing.T) {
	rc := startPopulatedConsole(t)
	enabled := true
	closed := rc.shot("closed")
	for _, trigger := range []string{"F5", "CLI"} {
		for _, m := range menuTitles {
			area := menuArea(m.x)
			switch trigger {
			case "F5":
				rc.x("key", "--window", rc.win, "F5")
			case "CLI":
				enabled = !enabled
				rc.cli("set-image", "Lab/install-(2)", "--enabled", map[bool]string{true: "yes", false: "no"}[enabled])
			}
			rc.x("mousemove", "--window", rc.win, strconv.Itoa(m.x), "14", "click", "1")
			time.Sleep(1500 * time.Millisecond)
			open := rc.shot(trigger + "-" + m.name + "-open")
			if n := changed(closed, open, area); n < area.Dx()*area.Dy()/4 {
				t.Errorf("after %s, menu %s is not open 1.5 s after the click: %d of %d pixels under its title changed (screenshots in %s)",
					trigger, m.name, n, area.Dx()*area.Dy(), rc.shots)
			}
			if trigger == "CLI" {
				rc.keep(open, image.Rect(max(m.x-20, 0), 0, m.x+240, 290), "screenshots/menu-"+strings.ToLower(m.name)+"-after-change.png")
				if m.name == "Action" {
					rc.keep(open, image.Rect(0, 0, 560, 360), "console-menu-open.png")
				}
			}
			// Dismiss the menu with a click outside it, on the status bar;
			// the band comes back as it was (the menu is what changed it).
			rc.x("mousemove", "--window", rc.win, "1000", "690", "click", "1")
			time.Sleep(400 * time.Millisecond)
			dismissed := rc.shot(trigger + "-" + m.name + "-dismissed")
			if n := changed(closed, dismissed, area); n > area.Dx()*area.Dy()/100 {
				t.Errorf("after %s, menu %s: the band under its title does not come back when the menu is dismissed (%d pixels differ; screenshots in %s)",
					trigger, m.name, n, rc.shots)
			}
			closed = dismissed
		}
	}
	if t.Failed() {
		t.Logf("console output:\n%s", rc.logs.String())
		keepFailedShots(t, rc.shots)
	}
}

// keepFailedShots copies a failed test's screenshots to
// $WIMCONSOLE_SCREENSHOT_DIR when it is set (t.TempDir goes with the test).
func keepFailedShots(t *testing.T, from string) {
	dir := os.Getenv("WIMCONSOLE_SCREENSHOT_DIR")
	if dir == "" {
		return
	}
	files, _ := filepath.Glob(filepath.Join(from, "*.png"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err == nil {
			_ = os.WriteFile(filepath.Join(dir, t.Name()+"-"+filepath.Base(f)), data, 0o644)
		}
	}
}

// cpuTicks reads the user and system CPU time of process pid, in clock
// ticks, from /proc/PID/stat.
func cpuTicks(t *testing.T, pid int) int64 {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	// The command name (field 2) is in parentheses and may hold spaces;
	// utime and stime are fields 14 and 15, the 12th and 13th after it.
	s := string(data)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 13 {
		t.Fatalf("/proc/%d/stat: %q", pid, s)
	}
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		t.Fatalf("/proc/%d/stat: %q", pid, s)
	}
	return utime + stime
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat's times: 100 on every
// Linux architecture Go supports.
const clockTicks = 100

// TestConsoleIdleAfterChangeUnderXvfb changes an image with the command
// line while the console runs, checks that the window shows it (the row's
// icon), then, from 2 s after the change, samples the console's CPU time
// for 10 s: an idle console uses almost none, and a reload storm (each
// refresh writing the catalog, which the watcher reports as a change)
// kept a core busy. The catalog must not be written while the console is
// idle.
func TestConsoleIdleAfterChangeUnderXvfb(t *testing.T) {
	rc := startPopulatedConsole(t)
	icon := image.Rect(104, 199, 124, 219) // Lab/install-(2)'s icon
	before := rc.shot("before")
	rc.cli("set-image", "Lab/install-(2)", "--enabled", "no")
	time.Sleep(2 * time.Second)
	after := rc.shot("after")
	if changed(before, after, icon) == 0 {
		t.Fatalf("the console did not show the change made with the command line: Lab/install-(2)'s icon did not change (screenshots in %s)\n%s",
			rc.shots, rc.logs.String())
	}

	catalog := filepath.Join(rc.store, "WdsConsole", "catalog.db")
	st0, err := os.Stat(catalog)
	if err != nil {
		t.Fatal(err)
	}
	pid := rc.cmd.Process.Pid
	const window = 10 * time.Second
	t0, c0 := time.Now(), cpuTicks(t, pid)
	time.Sleep(window)
	t1, c1 := time.Now(), cpuTicks(t, pid)
	st1, err := os.Stat(catalog)
	if err != nil {
		t.Fatal(err)
	}
	pct := float64(c1-c0) / clockTicks / t1.Sub(t0).Seconds() * 100
	t.Logf("idle CPU of the console from 2 s to 12 s after a change: %.2f%% of a core (%d ticks in %.1f s)",
		pct, c1-c0, t1.Sub(t0).Seconds())
	if !st1.ModTime().Equal(st0.ModTime()) || st1.Size() != st0.Size() {
		t.Errorf("the idle console wrote %s: modified %s, then %s", catalog,
			st0.ModTime().Format(time.RFC3339Nano), st1.ModTime().Format(time.RFC3339Nano))
	}
	// The goal is under 1% of a core; 5% leaves room for a loaded machine
	// and still fails a reload storm, which keeps a core busy.
	if pct >= 5 {
		t.Errorf("the console used %.1f%% of a core while idle after a change", pct)
	}
}

// TestConsoleDisableShowsOfflineUnderXvfb right-clicks an image, chooses
// Disable, and checks that the window shows it disabled: its row's icon is
// the disabled image icon and the details pane's Status reads Offline,
// pixel for pixel as they show for Prod/server, disabled from the start.
func TestConsoleDisableShowsOfflineUnderXvfb(t *testing.T) {
	rc := startPopulatedConsole(t)
	status := image.Rect(472, 272, 640, 298) // the Status value in the details pane
	iconAt := func(y int) image.Rectangle { return image.Rect(104, y-10, 124, y+10) }

	// The references: Prod/server selected.
	rc.click("1", 160, 271)
	rc.park()
	ref := rc.shot("reference")

	rc.click("3", 160, 178) // right-click Lab/install
	menu := rc.shot("context-menu")
	if changed(ref, menu, image.Rect(165, 190, 310, 210)) == 0 {
		t.Fatalf("right-click showed no menu (screenshots in %s)\n%s", rc.shots, rc.logs.String())
	}
	rc.park()
	online := rc.shot("online")
	if sameAs(online, status, ref, status) {
		t.Fatalf("Lab/install shows Offline before it is disabled (screenshots in %s)", rc.shots)
	}
	if sameAs(online, iconAt(178), ref, iconAt(271)) {
		t.Fatalf("Lab/install shows the disabled icon before it is disabled (screenshots in %s)", rc.shots)
	}
	rc.click("3", 160, 178)
	rc.click("1", 192, 196) // the menu's first item: Disable
	rc.park()

	var im struct {
		Enabled bool `json:"enabled"`
	}
	var shown image.Image
	deadline := time.Now().Add(10 * time.Second)
	for {
		if err := json.Unmarshal(rc.cli("get-image", "Lab/install", "--json"), &im); err != nil {
			t.Fatal(err)
		}
		shown = rc.shot("offline")
		if !im.Enabled && sameAs(shown, status, ref, status) && sameAs(shown, iconAt(178), ref, iconAt(271)) {
			break
		}
		if time.Now().After(deadline) {
			keepFailedShots(t, rc.shots)
			t.Fatalf("after right-click → Disable: enabled=%v, Status shows Offline: %v, disabled icon: %v (screenshots in %s)\n%s",
				im.Enabled, sameAs(shown, status, ref, status), sameAs(shown, iconAt(178), ref, iconAt(271)),
				rc.shots, rc.logs.String())
		}
		time.Sleep(300 * time.Millisecond)
	}
	rc.keep(shown, image.Rect(0, 0, 1100, 700), "console-disabled.png")
}
