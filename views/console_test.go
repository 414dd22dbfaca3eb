package views

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/wimconsole/wimconsole/app"
)

// fakeDialogs stands in for the native file dialogs.
// It answers OpenFiles with files (cancelled when empty), SaveFile with
// save and PickFolder with folder (cancelled when empty), and counts the
// calls.
type fakeDialogs struct {
	files  []string
	save   string
	folder string
	opens  int
	saves  int
}

func (f *fakeDialogs) OpenFiles(string, ...app.FileFilter) ([]string, error) {
	f.opens++
	if len(f.files) == 0 {
		return nil, app.ErrCancelled
	}
	return f.files, nil
}
func (f *fakeDialogs) SaveFile(string, string, ...app.FileFilter) (string, error) {
	f.saves++
	if f.save == "" {
		return "", app.ErrCancelled
	}
	return f.save, nil
}
func (f *fakeDialogs) PickFolder(string) (string, error) {
	if f.folder == "" {
		return "", app.ErrCancelled
	}
	return f.folder, nil
}

func newTestConsole(t *testing.T, root string) (*Console, *app.Server) {
	t.Helper()
	a := test.NewTempApp(t)
	srv, err := app.LocalServer(root)
	if err != nil {
		t.Fatal(err)
	}
	c := NewConsole(a, app.NewModel(srv), &fakeDialogs{})
	serialise(t, c)
	c.Window.Resize(fyne.NewSize(1000, 700))
	return c, srv
}

// labels returns the texts of every label rendered in the window.
func labels(o fyne.CanvasObject) []string {
	var out []string
	var walk func(fyne.CanvasObject)
	walk = func(o fyne.CanvasObject) {
		if o == nil || !o.Visible() {
			return
		}
		switch v := o.(type) {
		case *widget.Label:
			out = append(out, v.Text)
			return
		case *canvas.Text:
			out = append(out, v.Text)
			return
		case *fyne.Container:
			for _, c := range v.Objects {
				walk(c)
			}
			return
		case fyne.Widget:
			for _, c := range test.WidgetRenderer(v).Objects() {
				walk(c)
			}
		}
	}
	walk(o)
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestTreeShowsServerAndFolders(t *testing.T) {
	c, srv := newTestConsole(t, filepath.Join(t.TempDir(), "RemoteInstall"))
	shown := labels(c.Window.Content())
	for _, want := range []string{srv.Name, "Install Images", "Boot Images"} {
		if !contains(shown, want) {
			t.Errorf("tree does not show %q; shown: %q", want, shown)
		}
	}
	if got, want := c.Window.Title(), "WIM Console – "+srv.Name+" – "+srv.Location(); got != want {
		t.Errorf("title %q, want %q", got, want)
	}
	var menus []string
	for _, m := range c.Window.MainMenu().Items {
		menus = append(menus, m.Label)
	}
	if strings.Join(menus, ",") != "File,Action,View,Help" {
		t.Errorf("menus = %v", menus)
	}
}

func TestDetailsFollowSelection(t *testing.T) {
	root := filepath.Join(t.TempDir(), "RemoteInstall")
	c, srv := newTestConsole(t, root)
	// The server is selected at start: its details name the store path.
	d := c.Details()
	found := false
	for _, r := range d.Rows {
		if r[0] == "Store path" && r[1] == root {
			found = true
		}
	}
	if !found {
		t.Fatalf("server details lack the store path: %v", d.Rows)
	}
	if st := c.status.Text; !strings.HasPrefix(st, srv.Name+" ("+root+"): ") || !contains(labels(c.Window.Content()), st) {
		t.Errorf("status bar %q does not show the server and its store path", st)
	}
	// A group created on disk appears after Refresh, under Install Images.
	if err := os.MkdirAll(filepath.Join(root, "Images", "Win11"), 0o755); err != nil {
		t.Fatal(err)
	}
	install := "server:" + srv.Name + "/install"
	c.Refresh()
	c.settle()
	c.Tree().OpenBranch(install)
	c.Select(install)
	if d := c.Details(); len(d.Rows) != 1 || d.Rows[0][0] != "Win11" {
		t.Fatalf("Install Images details = %v", d.Rows)
	}
	if !contains(labels(c.Window.Content()), "Win11") {
		t.Fatal("new group not shown in the tree")
	}
	// The selection survives a refresh.
	c.Refresh()
	c.settle()
	if c.Selected() != install {
		t.Fatalf("selection lost: %q", c.Selected())
	}
}

func TestActionMenuFollowsSelection(t *testing.T) {
	c, srv := newTestConsole(t, filepath.Join(t.TempDir(), "RemoteInstall"))
	items := func() []string {
		var out []string
		for _, it := range c.Window.MainMenu().Items[1].Items {
			out = append(out, it.Label)
		}
		return out
	}
	if got := items(); !contains(got, "Properties") || !contains(got, "Refresh") {
		t.Fatalf("server Action menu = %v", got)
	}
	c.Select("server:" + srv.Name + "/boot")
	if got := items(); contains(got, "Properties") {
		t.Fatalf("Boot Images Action menu = %v", got)
	}
}

func TestLiveSync(t *testing.T) {
	root := filepath.Join(t.TempDir(), "RemoteInstall")
	c, srv := newTestConsole(t, root)
	stop, err := c.LiveSync()
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	install := "server:" + srv.Name + "/install"
	c.Tree().OpenBranch(install)
	if err := os.MkdirAll(filepath.Join(root, "Images", "Dropped"), 0o755); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Second)
	shown := func() bool {
		c.settle() // let the watcher's redraw run
		return contains(labels(c.Window.Content()), "Dropped")
	}
	for !shown() {
		if time.Now().After(deadline) {
			t.Fatal("a group made on disk did not show within a second")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRefreshKeepsMenu: a reload (F5, the watcher) with the same actions
// leaves the menu bar alone: setting it again closes a menu the user has
// open, and the menus of a console that reloads often never stayed open.
// A selection with other actions gets its own bar.
func TestRefreshKeepsMenu(t *testing.T) {
	root := filepath.Join(t.TempDir(), "RemoteInstall")
	c, srv := newTestConsole(t, root)
	if err := os.MkdirAll(filepath.Join(root, "Images", "Win11"), 0o755); err != nil {
		t.Fatal(err)
	}
	before := c.Window.MainMenu()
	for range 3 {
		c.Refresh()
		c.settle()
	}
	if c.Window.MainMenu() != before {
		t.Fatal("Refresh set the menu bar again though the actions did not change")
	}
	c.Select("server:" + srv.Name + "/boot")
	boot := c.Window.MainMenu()
	if boot == before {
		t.Fatal("the menu bar kept the server's actions for Boot Images")
	}
	c.Select("server:" + srv.Name + "/boot/x64")
	c.Refresh()
	c.settle()
	if c.Window.MainMenu() != boot {
		t.Error("the menu bar was set again for a selection with the same actions")
	}
	var got []string
	for _, it := range c.Window.MainMenu().Items[1].Items {
		got = append(got, it.Label)
	}
	if !contains(got, "Add Boot Image…") || contains(got, "Properties") {
		t.Errorf("Action menu of a boot architecture = %v", got)
	}
}
