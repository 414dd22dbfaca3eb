package main

import (
	"encoding/json"
	"fmt"
	"image"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wimconsole/wimconsole/app"
	"github.com/wimconsole/wimconsole/internal/fixtures"
	"github.com/wimconsole/wimconsole/internal/seaweedtest"
)

// The job bar's Cancel button while one job runs (scale 1).
const cancelX, cancelY = 1050, 614

// TestLibraryPullUnderXvfb drives the real console against a real
// SeaweedFS (through seaweedtest.Proxy, which can hold blob requests):
// another site publishes Win11 through the command line; the console shows
// the Libraries node, the library's groups with what the store lacks, and
// library remote, whose endpoint does not answer, as a leaf "remote
// (offline)"; once remote's endpoint answers, F5 shows it with an expand
// arrow. A
// right-click → Pull… of Win11 held mid-way is cancelled with the job
// bar's Cancel (the store gets no group Pulled); pulled again, it runs to
// completion.
//
// Rows (scale 1, 31 pixels apart): y=85 server, 116 Install Images, 147
// Boot Images, 178 Libraries, then lab 209, Win11 240 and remote 271 once
// expanded.
func TestLibraryPullUnderXvfb(t *testing.T) {
	rc := newRealConsole(t)
	e := seaweedtest.Start(t)
	p := seaweedtest.NewProxy(t, e, "")
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
	// A port nothing listens on until the test brings remote's endpoint up.
	ln, lerr := net.Listen("tcp", "127.0.0.1:0")
	if lerr != nil {
		t.Fatal(lerr)
	}
	remote := ln.Addr().String()
	ln.Close()
	must("library", "add", "lab", fmt.Sprintf("http://%s/window%d/lab", p.Addr, time.Now().UnixNano()))
	must("library", "add", "remote", fmt.Sprintf("http://%s/remote%d/lab", remote, time.Now().UnixNano()))
	must("--store", site, "add-image", fixtures.Path(t, "install.wim"), "--group", "Win11")
	must("--store", site, "publish", "Win11", "--to", "lab")
	rc.cli("add-image-group", "Local")
	rc.start()

	rc.click("1", 17, 178)  // expand Libraries
	rc.click("1", 100, 209) // select lab: its groups in the details
	rc.click("1", 41, 209)  // expand lab
	rc.park()
	offline := rc.shot("library-groups")

	// remote answers now: F5 lists it again, and it gets its expand arrow.
	seaweedtest.NewProxy(t, e, remote)
	rc.x("key", "F5")
	time.Sleep(2 * time.Second)
	online := rc.shot("remote-online")
	arrow := image.Rect(33, 263, 50, 280) // remote's expander
	if n := changed(offline, online, arrow); n < 10 {
		keepFailedShots(t, rc.shots)
		t.Fatalf("remote's row has no expand arrow once online (%d pixels changed)", n)
	}
	if changed(offline, online, image.Rect(33, 201, 50, 218)) != 0 {
		t.Fatal("lab's expander changed")
	}

	pull := func(as string) {
		rc.click("3", 120, 240) // right-click Win11
		rc.shot("pull-menu")
		rc.click("1", 152, 258) // the menu's first item: Pull…
		if as != "" {
			rc.x("type", "--delay", "20", as)
		}
		rc.x("key", "Return")
	}
	// Pull held after the first blob, then cancelled.
	p.Hold(1)
	pull("Pulled")
	for deadline := time.Now().Add(30 * time.Second); p.Held() == 0; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			keepFailedShots(t, rc.shots)
			t.Fatalf("the pull sent no blob request within 30 s\nconsole output:\n%s", rc.logs.String())
		}
	}
	time.Sleep(time.Second) // the job bar shows
	rc.park()
	rc.shot("pull-running")
	rc.click("1", cancelX, cancelY) // the job bar's Cancel
	time.Sleep(2 * time.Second)
	rc.park()
	rc.shot("pull-cancelled")
	if out, err := run("--store", rc.store, "get-image", "Pulled/install", "--json"); err == nil {
		keepFailedShots(t, rc.shots)
		t.Fatalf("Pulled/install is in the store after the pull was cancelled:\n%s", out)
	}
	if p.Held() != 0 {
		keepFailedShots(t, rc.shots)
		t.Fatalf("the pull still waits for a blob after Cancel\nconsole output:\n%s", rc.logs.String())
	}
	p.Release()
	pull("") // as Win11

	deadline := time.Now().Add(30 * time.Second)
	var out string
	var err error
	for {
		out, err = run("--store", rc.store, "get-image", "Win11/install", "--json")
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(300 * time.Millisecond)
	}
	if err != nil {
		rc.shot("pull-failed")
		keepFailedShots(t, rc.shots)
		t.Fatalf("Win11/install not in the store after right-click → Pull…: %v\n%s\nconsole output:\n%s", err, out, rc.logs.String())
	}
	time.Sleep(time.Second) // the job's end: the tree selects Win11
	rc.park()
	rc.shot("pulled")

	// The library's groups as this store sees them, by the command line.
	listed := func() app.LibraryGroup {
		t.Helper()
		out, err := run("--store", rc.store, "library", "list", "lab", "--json")
		var gs []app.LibraryGroup
		if err == nil {
			err = json.Unmarshal([]byte(out), &gs)
		}
		if err != nil || len(gs) != 1 {
			t.Fatalf("library list lab: %v\n%s", err, out)
		}
		return gs[0]
	}
	// Rows now: Install Images 116, Local 147, Win11 178, Boot Images 209,
	// Libraries 240, lab 271, its Win11 302, remote 333.
	rc.click("1", 100, 271) // select lab
	rc.park()
	rc.shot("after-pull")
	before := listed()
	if before.Images != 2 || before.MissingBytes != 0 || before.MissingBlobs != 0 {
		t.Fatalf("after the pull the store lacks %+v", before)
	}
	// Site A adds an image to Win11 and publishes it again: F5 shows the
	// group with 3 images, missing here only what the new image brings.
	extra := filepath.Join(t.TempDir(), "extra")
	if err := os.MkdirAll(extra, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(extra, "tool.txt"), []byte(strings.Repeat("a tool only the new image has\n", 400)), 0o644); err != nil {
		t.Fatal(err)
	}
	must("capture", extra, filepath.Join(extra+".wim"), "--name", "Tools", "--compress", "lzx")
	must("--store", site, "add-image", extra+".wim", "--group", "Win11")
	must("--store", site, "publish", "Win11", "--to", "lab")
	rc.click("1", 100, 271) // select lab (the tree takes F5)
	rc.x("key", "F5")
	time.Sleep(2 * time.Second)
	rc.park()
	rc.shot("after-republish")
	after := listed()
	if after.Images != 3 || after.MissingBlobs == 0 || after.MissingBytes != after.Size-before.Size {
		t.Fatalf("after site A published Win11 again: %+v (before: %+v); want missing here = the size it gained", after, before)
	}
	if dir := os.Getenv("WIMCONSOLE_SCREENSHOT_DIR"); dir != "" {
		for _, name := range []string{"library-groups.png", "remote-online.png", "pull-menu.png", "pull-running.png", "pull-cancelled.png", "pulled.png", "after-pull.png", "after-republish.png"} {
			data, _ := os.ReadFile(filepath.Join(rc.shots, name))
			_ = os.WriteFile(filepath.Join(dir, name), data, 0o644)
		}
	}
}
