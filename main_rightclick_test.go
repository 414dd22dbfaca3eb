package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wimconsole/wimconsole/internal/fixtures"
	"github.com/wimconsole/wimconsole/internal/oracle"
)

// TestRightClickDisableUnderXvfb drives the real console with xdotool:
// expand Install Images and the group, right-click the first image, choose
// Disable, and check the image's state in the store through the CLI.
//
// Positions are those of Fyne's default theme at scale 1 in a 1100x700
// window: rows 31 pixels apart, the first one (the server) at y=85.
func TestRightClickDisableUnderXvfb(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real X server")
	}
	xvfb := oracle.Need(t, "Xvfb")
	xdotool := oracle.Need(t, "xdotool")
	imp := oracle.Need(t, "import")
	tmp := t.TempDir()

	bin := wimconsoleBinary(t)
	wimFile := fixtures.Path(t, "install.wim") // Windows 11 Pro and Enterprise
	store := filepath.Join(tmp, "RemoteInstall")
	cli := func(args ...string) []byte {
		t.Helper()
		out, err := exec.Command(bin, append([]string{"--store", store}, args...)...).Output()
		if err != nil {
			t.Fatalf("wimconsole %s: %v", strings.Join(args, " "), err)
		}
		return out
	}
	cli("add-image", wimFile, "--group", "Lab")

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
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
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
	click := func(button, px, py string) {
		x("mousemove", "--window", win, px, py, "click", button)
		time.Sleep(600 * time.Millisecond)
	}
	click("1", "41", "116")  // expand Install Images
	click("1", "65", "147")  // expand Lab
	click("3", "160", "178") // right-click the first image
	shot := filepath.Join(t.TempDir(), "context-menu.png")
	if err := importWindow(ctx, imp, env, win, shot); err != nil {
		t.Fatal(err)
	}
	click("1", "192", "196") // the menu's first item: Disable

	var im struct {
		Name    string `json:"name"`
		Enabled bool   `json:"enabled"`
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if err := json.Unmarshal(cli("get-image", "Lab/install", "--json"), &im); err != nil {
			t.Fatal(err)
		}
		if !im.Enabled || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if im.Enabled {
		t.Fatalf("image %q still enabled after right-click → Disable (menu screenshot: %s)\n%s", im.Name, shot, logs.String())
	}
	var other struct {
		Enabled bool `json:"enabled"`
	}
	if err := json.Unmarshal(cli("get-image", "Lab/install-(2)", "--json"), &other); err != nil || !other.Enabled {
		t.Fatalf("the other image changed: enabled=%v %v", other.Enabled, err)
	}

	// The disabled image can be serviced: right-click → Service Image…
	// begins a servicing session and opens its file browser.
	click("3", "160", "178")
	click("1", "192", "401") // Enable, Export, Replace, Copy | Browse, Service
	deadline = time.Now().Add(10 * time.Second)
	var status []byte
	for {
		status = cli("service", "status")
		if strings.Contains(string(status), "Lab/install ") || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !strings.Contains(string(status), "Lab/install ") {
		t.Fatalf("right-click → Service Image… began no session: %q\n%s", status, logs.String())
	}
	time.Sleep(time.Second) // the browser's first listing
	serviceShot := filepath.Join(t.TempDir(), "service-image.png")
	if err := importWindow(ctx, imp, env, win, serviceShot); err != nil {
		t.Fatal(err)
	}
	if dir := os.Getenv("WIMCONSOLE_SCREENSHOT_DIR"); dir != "" {
		for name, from := range map[string]string{"context-menu.png": shot, "service-image.png": serviceShot} {
			data, _ := os.ReadFile(from)
			_ = os.WriteFile(filepath.Join(dir, name), data, 0o644)
		}
	}
}
