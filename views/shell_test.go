package views

import (
	"fyne.io/fyne/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wimconsole/wimconsole/app"
	"github.com/wimconsole/wimconsole/engine/store"
	"github.com/wimconsole/wimconsole/engine/store/storetest"
)

// TestStatusBarCountsSelection: the status bar says what the selection
// holds (images, offline ones, size) and how many rows of its list are
// selected; a new tree selection forgets the list's.
func TestStatusBarCountsSelection(t *testing.T) {
	f := newFixture(t)
	f.disable(t, 1)
	group := app.GroupID(f.srv, "Lab")
	f.c.Select(group)
	gi, err := storeOf(f.srv).GroupInfos()
	if err != nil {
		t.Fatal(err)
	}
	want := "Lab: 2 images, 1 offline, " + app.FormatBytes(gi[0].ResBytes)
	if got := f.c.status.Text; got != want {
		t.Errorf("status of the group %q, want %q", got, want)
	}
	f.c.details.click(1, 0)
	if got := f.c.status.Text; got != "Lab: 1 of 2 selected" {
		t.Errorf("status with a row of the list selected %q", got)
	}
	f.c.details.click(0, fyne.KeyModifierControl) // Ctrl+click a second row
	if got := f.c.status.Text; got != "Lab: 2 of 2 selected" {
		t.Errorf("status with two rows selected %q", got)
	}
	f.c.Select(app.InstallID(f.srv))
	if got := f.c.status.Text; !strings.HasPrefix(got, "Install Images: 1 image group, 2 images, 1 offline") {
		t.Errorf("status after a new tree selection %q", got)
	}
}

// waitFor settles the console until ok holds, for up to 5 seconds.
func waitFor(t *testing.T, c *Console, what string, ok func() bool) {
	t.Helper()
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		c.settle()
		if ok() {
			return
		}
	}
	t.Fatalf("%s: not within 5 seconds", what)
}

// TestStoreLocationSwitchesStores: File > Store Location… opens another
// folder in the same window: a store as it is, an empty folder as a new
// store, a folder of other files only when the administrator agrees, a
// file not at all. Live sync follows the new store and stops following
// the old one.
func TestStoreLocationSwitchesStores(t *testing.T) {
	f := newFixture(t)
	stop, err := f.c.LiveSync()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	old := storeOf(f.srv).Root()
	dir := t.TempDir()
	other := filepath.Join(dir, "Other")
	if _, err := app.LocalServer(other); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(other, "Images", "Branch"), 0o755); err != nil {
		t.Fatal(err)
	}
	open := func(folder string) {
		t.Helper()
		f.c.dialogs = &folderDialogs{fakeDialogs: f.dlg, folder: folder}
		f.c.showStoreLocation()
		if txt := overlayText(f.c); !strings.Contains(txt, f.c.model.Servers()[0].Location()) {
			t.Fatalf("Store Location does not show the store: %q", txt)
		}
		tapButton(t, f.c, "Open Another Store…")
	}
	local := func() *app.Server { return f.c.model.Servers()[0] }

	open(other)
	if got := local().Location(); got != other {
		t.Fatalf("the console shows %s, want %s", got, other)
	}
	if g := f.c.model.Groups(local()); !slices.Equal(g, []string{"Branch"}) {
		t.Errorf("groups shown %v, want the other store's", g)
	}
	if got := f.c.Window.Title(); !strings.HasSuffix(got, " – "+other) {
		t.Errorf("title %q does not name the new store", got)
	}
	// Live sync follows the new store, no longer the old one.
	if err := os.Mkdir(filepath.Join(old, "Images", "InOld"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(other, "Images", "InNew"), 0o755); err != nil {
		t.Fatal(err)
	}
	waitFor(t, f.c, "the new store's change shown", func() bool {
		return slices.Contains(f.c.model.Groups(local()), "InNew")
	})
	if slices.Contains(f.c.model.Groups(local()), "InOld") {
		t.Error("the old store's group shows in the new store")
	}

	// A folder of other files: asked first; Cancel leaves things be.
	docs := filepath.Join(dir, "Documents")
	if err := os.Mkdir(docs, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(docs, "notes.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	open(docs)
	if txt := overlayText(f.c); !strings.Contains(txt, docs+" is not an image store and is not empty. Create a store in it?") {
		t.Fatalf("no question for a folder of other files: %q", txt)
	}
	tapButton(t, f.c, "Cancel")
	if local().Location() != other {
		t.Fatal("Cancel switched stores")
	}
	if _, err := os.Stat(filepath.Join(docs, store.ConsoleDir)); err == nil {
		t.Fatal("Cancel made a store in the folder")
	}
	open(docs)
	tapButton(t, f.c, "Create Store")
	if local().Location() != docs {
		t.Fatalf("Create Store: the console shows %s", local().Location())
	}
	if _, err := os.Stat(filepath.Join(docs, store.ConsoleDir, store.CatalogFile)); err != nil {
		t.Fatalf("no store made in the folder: %v", err)
	}

	// An empty folder becomes a store without a question.
	empty := filepath.Join(dir, "Empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	open(empty)
	if local().Location() != empty {
		t.Fatalf("empty folder: the console shows %s (%q)", local().Location(), overlayText(f.c))
	}

	// A file is refused in words, the store shown stays.
	file := filepath.Join(dir, "install.wim")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	open(file)
	if txt := overlayText(f.c); !strings.Contains(txt, file+" is a file, not a folder") {
		t.Fatalf("a file as the store: %q", txt)
	}
	if local().Location() != empty {
		t.Fatal("a file replaced the store")
	}
}

// TestStoreLocationOpensReadOnlyStore: a store that cannot be written
// opens read-only, as at start-up.
func TestStoreLocationOpensReadOnlyStore(t *testing.T) {
	dir, seal := storetest.ReadOnlyMount(t)
	root := filepath.Join(dir, "RemoteInstall")
	if _, err := store.Open(root); err != nil {
		t.Fatal(err)
	}
	seal()
	f := newFixture(t)
	f.c.dialogs = &folderDialogs{fakeDialogs: f.dlg, folder: root}
	f.c.showStoreLocation()
	tapButton(t, f.c, "Open Another Store…")
	if got := f.c.model.Servers()[0].Location(); got != root {
		t.Fatalf("the console shows %s (%q)", got, overlayText(f.c))
	}
	if got := f.c.Window.Title(); !strings.HasSuffix(got, root+" (read-only)") {
		t.Errorf("title %q", got)
	}
}
