package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wimconsole/wimconsole/internal/fixtures"
	"github.com/wimconsole/wimconsole/internal/seaweedtest"
)

// TestLibraryPullUnderXvfb drives the real console against a real
// SeaweedFS: another site publishes Win11 through the command line; the
// console shows the Libraries node, the library's groups with what the
// store lacks, and a right-click → Pull… of Win11 as Pulled runs to
// completion.
//
// Rows (scale 1, 31 pixels apart): y=85 server, 116 Install Images, 147
// Boot Images, 178 Libraries, then lab 209 and Win11 240 once expanded.
func TestLibraryPullUnderXvfb(t *testing.T) {
	rc := newRealConsole(t)
	e := seaweedtest.Start(t)
	t.Setenv("XDG_CONFIG_HOME", rc.home) // the list `library add` writes is the console's
	t.Setenv("AWS_ACCESS_KEY_ID", e.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", e.SecretKey)
	site := filepath.Join(t.TempDir(), "SiteA")
	run := func(args ...string) (string, error) {
		out, err := exec.CommandContext(rc.ctx, rc.bin, args...).CombinedOutput()
		return string(out), err
	}
	must := func(args ...string) {
		t.Helper()
		if out, err := run(args...); err != nil {
			t.Fatalf("wimconsole %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	must("library", "add", "lab", fmt.Sprintf("http://%s/window%d/lab", e.Addr, time.Now().UnixNano()))
	must("--store", site, "add-image", fixtures.Path(t, "install.wim"), "--group", "Win11")
	must("--store", site, "publish", "Win11", "--to", "lab")
	rc.cli("add-image-group", "Local")
	rc.start()

	rc.click("1", 17, 178)  // expand Libraries
	rc.click("1", 100, 209) // select lab: its groups in the details
	rc.click("1", 41, 209)  // expand lab
	rc.park()
	rc.shot("library-groups")
	rc.click("3", 120, 240) // right-click Win11
	rc.shot("pull-menu")
	rc.click("1", 152, 258) // the menu's first item: Pull…
	rc.x("type", "--delay", "20", "Pulled")
	rc.x("key", "Return")

	deadline := time.Now().Add(30 * time.Second)
	var out string
	var err error
	for {
		out, err = run("--store", rc.store, "get-image", "Pulled/install", "--json")
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(300 * time.Millisecond)
	}
	if err != nil {
		rc.shot("pull-failed")
		keepFailedShots(t, rc.shots)
		t.Fatalf("Pulled/install not in the store after right-click → Pull…: %v\n%s\nconsole output:\n%s", err, out, rc.logs.String())
	}
	time.Sleep(time.Second) // the job's end: the tree selects Pulled
	rc.park()
	rc.shot("pulled")
	if dir := os.Getenv("WIMCONSOLE_SCREENSHOT_DIR"); dir != "" {
		for _, name := range []string{"library-groups.png", "pull-menu.png", "pulled.png"} {
			data, _ := os.ReadFile(filepath.Join(rc.shots, name))
			_ = os.WriteFile(filepath.Join(dir, name), data, 0o644)
		}
	}
}
