package main

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wimconsole/wimconsole/internal/oracle"
)

// dialogConsole is the real console under Xvfb on a store with one
// disabled image (Lab/install), its tree expanded, for the file dialog
// tests.
type dialogConsole struct {
	t       *testing.T
	ctx     context.Context
	env     []string
	xdotool string
	imp     string
	win     string
	logs    *strings.Builder
	exited  chan struct{}
}

func startDialogConsole(t *testing.T, timeout time.Duration, extraEnv ...string) *dialogConsole {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a real X server")
	}
	xvfb := oracle.Need(t, "Xvfb")
	d := &dialogConsole{t: t, xdotool: oracle.Need(t, "xdotool"), imp: oracle.Need(t, "import"), logs: &strings.Builder{}}
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
	store := filepath.Join(tmp, "RemoteInstall")
	for _, args := range [][]string{{"add-image", wimFile, "--group", "Lab"}, {"set-image", "Lab/install", "--enabled", "no"}} {
		if out, err := exec.Command(bin, append([]string{"--store", store}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("wimconsole %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}

	display := startXvfb(t, xvfb)
	home := filepath.Join(tmp, "home")
	if err := os.MkdirAll(home, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "WAYLAND_DISPLAY=") && !strings.HasPrefix(kv, "GDK_BACKEND=") {
			d.env = append(d.env, kv)
		}
	}
	d.env = append(d.env, "DISPLAY="+display, "HOME="+home, "XDG_CONFIG_HOME="+tmp, "XDG_DATA_HOME="+tmp,
		"XDG_CACHE_HOME="+tmp, "LIBGL_ALWAYS_SOFTWARE=1", "LANG=en_US.UTF-8", "NO_AT_BRIDGE=1")
	d.env = append(d.env, extraEnv...)
	cmd := exec.Command(bin, "--store", store)
	cmd.Env = d.env
	cmd.Stdout, cmd.Stderr = d.logs, d.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d.exited = make(chan struct{})
	go func() { _ = cmd.Wait(); close(d.exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-d.exited
	})
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	d.ctx = ctx
	d.win = strings.Fields(d.x("search", "--sync", "--onlyvisible", "--name", consoleWindowName))[0]
	time.Sleep(time.Second) // first frame
	d.click("1", 41, 116)   // expand Install Images
	d.click("1", 65, 147)   // expand Lab
	d.click("1", 160, 178)  // select the image
	return d
}

// alive fails the test when the console has exited.
func (d *dialogConsole) alive(what string) {
	d.t.Helper()
	select {
	case <-d.exited:
		d.t.Fatalf("the console exited %s\nconsole output:\n%s", what, d.logs.String())
	default:
	}
}

// x runs xdotool and returns its output.
func (d *dialogConsole) x(args ...string) string {
	d.t.Helper()
	out, err := d.xErr(args...)
	if err != nil {
		d.alive("during xdotool " + strings.Join(args, " "))
		d.t.Fatalf("xdotool %s: %v\nconsole output:\n%s", strings.Join(args, " "), err, d.logs.String())
	}
	return out
}

func (d *dialogConsole) xErr(args ...string) (string, error) {
	return xdotoolRun(d.ctx, d.xdotool, d.env, args...)
}

// click clicks button at (px, py) of the console window.
func (d *dialogConsole) click(button string, px, py int) {
	d.t.Helper()
	d.x("mousemove", "--window", d.win, strconv.Itoa(px), strconv.Itoa(py), "click", button)
	time.Sleep(100 * time.Millisecond)
}

// cancelNative waits for the GTK file chooser titled title, presses Escape
// in it, and waits for it to go.
func (d *dialogConsole) cancelNative(title string) {
	d.t.Helper()
	name := "^" + title + "$"
	var dlg string
	deadline := time.Now().Add(10 * time.Second)
	for dlg == "" {
		// Polled here: xdotool search --sync polls twice a second.
		out, err := d.xErr("search", "--onlyvisible", "--name", name)
		var exit *exec.ExitError
		switch {
		case err == nil:
			dlg = strings.Fields(out)[0]
		case !errors.As(err, &exit) || time.Now().After(deadline):
			d.alive("while the console opened its " + title + " dialog")
			d.screenshotRoot("no-" + strings.ReplaceAll(title, " ", "-") + ".png")
			d.t.Fatalf("no %s dialog opened (%v)\nconsole output:\n%s", title, err, d.logs.String())
		default:
			time.Sleep(30 * time.Millisecond)
		}
	}
	d.x("windowfocus", "--sync", dlg, "key", "Escape")
	deadline = time.Now().Add(10 * time.Second)
	for {
		_, err := d.xErr("search", "--name", name)
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			break // no such window
		}
		if err != nil || time.Now().After(deadline) {
			d.alive("while its " + title + " dialog was open")
			d.screenshotRoot("stuck-" + strings.ReplaceAll(title, " ", "-") + ".png")
			d.t.Fatalf("the %s dialog did not close on Escape (%v)", title, err)
		}
		time.Sleep(30 * time.Millisecond)
	}
	d.alive("after its " + title + " dialog was cancelled")
	// The console's window is still there; its answer to the dialog
	// reaches the main goroutine before the next request.
	d.x("search", "--onlyvisible", "--name", consoleWindowName)
	time.Sleep(50 * time.Millisecond)
}

// screenshot returns the console window's image, also kept as name in
// WIMCONSOLE_SCREENSHOT_DIR when that is set.
func (d *dialogConsole) screenshot(name string) image.Image {
	d.t.Helper()
	file := filepath.Join(d.t.TempDir(), name)
	if err := importWindow(d.ctx, d.imp, d.env, d.win, file); err != nil {
		d.t.Fatal(err)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		d.t.Fatal(err)
	}
	if dir := os.Getenv("WIMCONSOLE_SCREENSHOT_DIR"); dir != "" {
		_ = os.WriteFile(filepath.Join(dir, name), data, 0o644)
	}
	img, err := png.Decode(strings.NewReader(string(data)))
	if err != nil {
		d.t.Fatalf("%s: %v", name, err)
	}
	return img
}

// screenshotRoot keeps the whole screen as name in the test's log
// directory (WIMCONSOLE_SCREENSHOT_DIR, else a temporary one it names).
func (d *dialogConsole) screenshotRoot(name string) {
	dir := os.Getenv("WIMCONSOLE_SCREENSHOT_DIR")
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "wimconsole-shot"); err != nil {
			return
		}
	}
	file := filepath.Join(dir, name)
	c := exec.Command(d.imp, "-window", "root", file)
	c.Env = d.env
	if err := c.Run(); err == nil {
		d.t.Logf("screen: %s", file)
	}
}

// Where the wizards open, centred in the 1100x700 window: Add Image's is
// 800x600, Export Image's 660x512.
var (
	addWizardArea    = image.Rect(150, 50, 950, 650)
	exportWizardArea = image.Rect(220, 94, 880, 606)
)

// key presses k in the console (the window under the pointer: Xvfb runs
// no window manager) and lets it paint.
func (d *dialogConsole) key(k string) {
	d.t.Helper()
	d.x("key", k)
	time.Sleep(50 * time.Millisecond)
}

// waitWizard screenshots the window as name until wizardArea shows a
// wizard (open: a quarter of it changed from base) or is back to base,
// pixel for pixel but for 1 in 50 (closed), and returns that screenshot;
// it fails the test after 10 s.
func (d *dialogConsole) waitWizard(wizardArea image.Rectangle, base image.Image, open bool, name string) image.Image {
	d.t.Helper()
	area := wizardArea.Dx() * wizardArea.Dy()
	deadline := time.Now().Add(10 * time.Second)
	for {
		d.alive("while waiting for its wizard to " + map[bool]string{true: "open", false: "close"}[open])
		shot := d.screenshot(name)
		n := changed(base, shot, wizardArea)
		if open && n >= area/4 || !open && n <= area/50 {
			return shot
		}
		if time.Now().After(deadline) {
			d.screenshotRoot("stuck-" + name)
			if open {
				d.t.Fatalf("%s: no wizard in the window (%d pixels changed)\nconsole output:\n%s", name, n, d.logs.String())
			}
			d.t.Fatalf("%s: the wizard did not close (%d pixels differ)\nconsole output:\n%s", name, n, d.logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// openAddWizard clicks the toolbar's "+" (Add Install Image) and waits for
// its wizard, on its source page: the path box has the focus, Browse… is
// next to it.
func (d *dialogConsole) openAddWizard(base image.Image, name string) image.Image {
	d.t.Helper()
	d.click("1", 67, 49)
	return d.waitWizard(addWizardArea, base, true, name)
}

// pressBrowse presses Browse… from the keyboard: Tab from the path box
// (a page's first field, which has the focus) onto it, Space.
func (d *dialogConsole) pressBrowse() {
	d.t.Helper()
	d.key("Tab")
	d.key("space")
}

// TestNativeDialogsOpenAndCancelUnderXvfb opens each native file dialog in
// the real console and cancels it with Escape, WIMCONSOLE_DIALOG_CYCLES
// times each (10 unless set): the file chooser of Add Image (toolbar "+",
// then the wizard's Browse…), the save dialog of Export Image… (the
// disabled image's right-click menu, Next, Browse…; both wizards are then
// cancelled with Escape) and the folder dialog of Mount to Folder… (the
// same menu). The console must stay alive, the
// dialog's window must go from the screen, and the console must answer
// the next click, after every one. The dialogs used to run on whatever
// goroutine asked, and a cancelled GTK dialog could stay on the screen,
// frozen, until the next one (its destroy request left in Xlib's buffer).
func TestNativeDialogsOpenAndCancelUnderXvfb(t *testing.T) {
	cycles := 10
	if s := os.Getenv("WIMCONSOLE_DIALOG_CYCLES"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("WIMCONSOLE_DIALOG_CYCLES=%q: want a positive number", s)
		}
		cycles = n
	}
	d := startDialogConsole(t, 60*time.Second+time.Duration(cycles)*8*time.Second)
	time.Sleep(time.Second) // the selected image's details
	base := d.screenshot("native-base.png")
	start := time.Now()
	for i := 0; i < cycles; i++ {
		d.openAddWizard(base, "native-wizard.png")
		d.pressBrowse()
		d.cancelNative("Open File")
		// Browse… keeps the focus; Esc on it presses the wizard's Cancel.
		d.key("Escape")
		d.waitWizard(addWizardArea, base, false, "native-wizard-closed.png")
		d.click("3", 160, 178) // the image's menu
		d.click("1", 217, 240) // Export Image…
		d.waitWizard(exportWizardArea, base, true, "native-export.png")
		d.key("Return") // Next: the destination page, its file box
		d.pressBrowse()
		d.cancelNative("Save File")
		d.key("Escape") // on Browse…, as above
		d.waitWizard(exportWizardArea, base, false, "native-export-closed.png")
		d.click("3", 160, 178)
		d.click("1", 226, 440) // Mount to Folder…
		d.cancelNative("Open Folder")
	}
	t.Logf("%d open/cancel cycles of each of 3 native dialogs in %v", cycles, time.Since(start).Round(time.Millisecond))
}

// TestFileDialogFallbackUnderXvfb starts the console where GTK cannot start
// (GDK_BACKEND=wayland with no Wayland display; the window itself is X11
// through GLFW): the Add Image wizard's Browse… (toolbar "+") must show
// Fyne's file dialog inside the window, every time, and the console must
// not crash (it used to die of sqweek/dialog's "gtk initialisation failed"
// panic).
func TestFileDialogFallbackUnderXvfb(t *testing.T) {
	d := startDialogConsole(t, 90*time.Second, "GDK_BACKEND=wayland")
	dialogArea := image.Rect(180, 100, 920, 600) // where Fyne's dialog opens in the 1100x700 window
	pathBox := image.Rect(174, 190, 842, 222)    // the wizard's path box, under the file dialog
	time.Sleep(time.Second)                      // the selected image's details
	before := d.screenshot("fallback-before.png")
	for i := 1; i <= 2; i++ {
		wizard := d.openAddWizard(before, fmt.Sprintf("fallback-wizard-%d.png", i))
		d.pressBrowse()
		time.Sleep(time.Second)
		d.alive(fmt.Sprintf("after Browse… (%d) without GTK", i))
		if out, err := d.xErr("search", "--name", "^Open File$"); err == nil {
			t.Fatalf("a GTK dialog opened although GTK cannot start: %s", out)
		}
		// Fyne's file dialog, as dark as the wizard it covers, changes less
		// of the area than a dialog over the plain window did, but all of
		// the wizard's path box.
		open := d.screenshot(fmt.Sprintf("fallback-open-%d.png", i))
		n, box := changed(wizard, open, dialogArea), changed(wizard, open, pathBox)
		if n < dialogArea.Dx()*dialogArea.Dy()/8 || box < pathBox.Dx()*pathBox.Dy()*3/4 {
			t.Fatalf("Browse… (%d): no file dialog over the wizard (%d pixels changed, %d of %d in the path box)\nconsole output:\n%s",
				i, n, box, pathBox.Dx()*pathBox.Dy(), d.logs.String())
		}
		t.Logf("Browse… (%d): %d pixels changed, %d of %d in the path box", i, n, box, pathBox.Dx()*pathBox.Dy())
		d.click("1", 827, 588) // the dialog's Cancel
		for try := 0; ; try++ {
			d.alive("after cancelling Fyne's dialog")
			n := changed(wizard, d.screenshot(fmt.Sprintf("fallback-closed-%d.png", i)), dialogArea)
			if n <= dialogArea.Dx()*dialogArea.Dy()/50 {
				break
			}
			if try == 10 {
				t.Fatalf("Browse… (%d): the file dialog did not close on Cancel (%d pixels differ from the wizard)", i, n)
			}
			time.Sleep(300 * time.Millisecond)
		}
		d.key("Escape") // Browse… still has the focus: Esc is the wizard's Cancel
		d.waitWizard(addWizardArea, before, false, fmt.Sprintf("fallback-wizard-closed-%d.png", i))
	}
}
