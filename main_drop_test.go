package main

import (
	"bufio"
	"encoding/json"
	"image"
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

// buildXDNDSource compiles testdata/xdnd/source.c, a GTK 3 window that
// drags the files named on its command line (text/uri-list over XDND).
func buildXDNDSource(t *testing.T) string {
	t.Helper()
	gcc := oracle.Need(t, "gcc")
	pkgConfig := oracle.Need(t, "pkg-config")
	flags, err := exec.Command(pkgConfig, "--cflags", "--libs", "gtk+-3.0").Output()
	if err != nil {
		if oracle.Required() {
			t.Fatalf("pkg-config gtk+-3.0: %v (install libgtk-3-dev)", err)
		}
		t.Skipf("pkg-config gtk+-3.0: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "xdnd-source")
	args := append([]string{"-o", bin, filepath.Join("testdata", "xdnd", "source.c")}, strings.Fields(string(flags))...)
	if out, err := exec.Command(gcc, args...).CombinedOutput(); err != nil {
		t.Fatalf("gcc %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return bin
}

// xdndSource is the drag source running beside the console.
type xdndSource struct {
	win string
	mu  sync.Mutex
	log []string // what it printed: drag-begin, data-get N, drag-end, drag-failed R
}

func (s *xdndSource) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.log, "\n")
}

// startXDNDSource opens the drag source of files at (x, y) on the
// console's display.
func (rc *realConsole) startXDNDSource(bin string, x, y int, files ...string) *xdndSource {
	rc.t.Helper()
	cmd := exec.Command(bin, append([]string{strconv.Itoa(x), strconv.Itoa(y)}, files...)...)
	cmd.Env = rc.env
	out, err := cmd.StdoutPipe()
	if err != nil {
		rc.t.Fatal(err)
	}
	cmd.Stderr = rc.logs
	if err := cmd.Start(); err != nil {
		rc.t.Fatal(err)
	}
	rc.t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	s := &xdndSource{}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			s.mu.Lock()
			s.log = append(s.log, sc.Text())
			s.mu.Unlock()
		}
	}()
	s.win = strings.Fields(rc.x("search", "--sync", "--onlyvisible", "--name", "^xdnd source$"))[0]
	time.Sleep(500 * time.Millisecond) // first frame
	return s
}

// groupImages lists the images of group as the command line shows them.
func (rc *realConsole) groupImages(group string) []string {
	rc.t.Helper()
	var all []struct {
		Image string `json:"image"`
		Group string `json:"group"`
	}
	out := rc.cli("get-all-images", "--json")
	if err := json.Unmarshal(out, &all); err != nil {
		rc.t.Fatalf("get-all-images --json: %v\n%s", err, out)
	}
	var refs []string
	for _, im := range all {
		if im.Group == group {
			refs = append(refs, im.Image)
		}
	}
	return refs
}

// TestDropFromAnotherAppUnderXvfb drags a WIM file and a text file from
// another X client (a GTK 3 drag source, so the real XDND protocol) onto
// the Prod group's row of the real console, and checks that
//   - the row under the pointer is highlighted while the drag is over it;
//   - the drop opens Add Image for Prod, with the note that notes.txt was
//     left out on top of it: the first Enter closes the note and adds
//     nothing, the second presses the wizard's Add;
//   - the images are then in Prod (get-all-images --json).
func TestDropFromAnotherAppUnderXvfb(t *testing.T) {
	src := buildXDNDSource(t)
	rc := startPopulatedConsole(t)
	defer func() {
		if t.Failed() {
			keepFailedShots(t, rc.shots)
		}
	}()
	dir := t.TempDir()
	wim := filepath.Join(dir, "install.wim")
	data, err := os.ReadFile(fixtures.Path(t, "install.wim")) // Windows 11 Pro and Enterprise
	if err != nil {
		t.Fatal(err)
	}
	notes := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(wim, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(notes, []byte("not an image\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// The console is at (0,0), 1100x700, on a 1280x800 screen: the source
	// goes to its right.
	s := rc.startXDNDSource(src, 1110, 50, wim, notes)
	explain := func(format string, args ...any) {
		t.Helper()
		xprop := ""
		if p, err := exec.LookPath("xprop"); err == nil {
			c := exec.Command(p, "-id", rc.win, "XdndAware")
			c.Env = rc.env
			out, _ := c.CombinedOutput()
			xprop = strings.TrimSpace(string(out))
		}
		t.Fatalf(format+"\ndrag source said:\n%s\nxprop of the console: %s\nconsole output:\n%s\nscreenshots in %s",
			append(args, s.String(), xprop, rc.logs.String(), rc.shots)...)
	}

	prodRow := image.Rect(160, 228, 320, 252) // Prod's row right of its label
	before := rc.shot("before")
	rc.x("mousemove", "--window", s.win, "80", "40", "mousedown", "1")
	time.Sleep(300 * time.Millisecond)
	for _, x := range []int{70, 60, 40, 20} { // past GTK's drag threshold, out of the source
		rc.x("mousemove", "--window", s.win, strconv.Itoa(x), "40")
		time.Sleep(100 * time.Millisecond)
	}
	for _, x := range []int{1000, 800, 600, 400, 200, 100, 65} { // over the console to Prod's row
		rc.x("mousemove", "--window", rc.win, strconv.Itoa(x), "240")
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(400 * time.Millisecond)
	over := rc.shot("drag-over-prod")
	if n := changed(before, over, prodRow); n < prodRow.Dx()*prodRow.Dy()/2 {
		explain("while the drag is over Prod its row is not highlighted: %d of %d pixels changed", n, prodRow.Dx()*prodRow.Dy())
	}
	rc.x("mouseup", "1")

	// The wizard, then the note on top of it.
	time.Sleep(2 * time.Second)
	dropped := rc.shot("dropped")
	if !strings.Contains(s.String(), "data-get 2") {
		explain("the console never asked the drag source for the files")
	}
	rc.keep(dropped, image.Rect(0, 0, 1100, 700), "screenshots/console-drop-note.png")
	note := image.Rect(300, 300, 800, 400) // the note's text, over the wizard's form
	if n := changed(before, dropped, note); n < note.Dx()*note.Dy()/20 {
		explain("no dialog after the drop: %d pixels changed where it shows", n)
	}
	if got := rc.groupImages("Prod"); len(got) != 1 {
		explain("the drop added images before the wizard's Add: Prod holds %v", got)
	}

	// Enter closes the note (the dialog on top) and adds nothing.
	rc.x("key", "--window", rc.win, "Return")
	time.Sleep(1500 * time.Millisecond)
	wizard := rc.shot("wizard")
	if got := rc.groupImages("Prod"); len(got) != 1 {
		explain("the first Enter went to the wizard, not to the note about notes.txt: the note was not on top (Prod holds %v)", got)
	}
	if n := changed(dropped, wizard, note); n < note.Dx()*note.Dy()/20 {
		explain("Enter did not close the note: %d pixels changed where it showed", n)
	}
	if n := changed(before, wizard, note); n < note.Dx()*note.Dy()/20 {
		explain("no wizard under the note: %d pixels changed", n)
	}

	// The wizard opens on its images page: Enter goes on to the names
	// page, then to the summary, and presses Finish: both images go into
	// Prod.
	for range 3 {
		rc.x("key", "--window", rc.win, "Return")
		time.Sleep(1200 * time.Millisecond)
	}
	var got []string
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(300 * time.Millisecond) {
		if got = rc.groupImages("Prod"); len(got) == 3 {
			break
		}
	}
	if len(got) != 3 {
		rc.shot("after-add")
		explain("after Add, Prod holds %v; want Prod/server and the two dropped images", got)
	}
	t.Logf("drag source: %s; Prod: %v", strings.ReplaceAll(s.String(), "\n", ", "), got)
}
