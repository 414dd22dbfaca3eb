package views

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/wimconsole/wimconsole/app"
	"github.com/wimconsole/wimconsole/engine/progress"
	"github.com/wimconsole/wimconsole/engine/store"
	"github.com/wimconsole/wimconsole/engine/store/storetest"
	"github.com/wimconsole/wimconsole/engine/wim"
	"github.com/wimconsole/wimconsole/resources"
)

// makeWIM is shared with the other packages' tests.
var makeWIM = storetest.VariantsWIM

// serialise makes the test's goroutine c's main goroutine: UI work runs on
// one goroutine at a time, as in the real app (the test driver runs
// fyne.Do's function at once on the calling goroutine). The test holds the
// UI while it runs; the hand-offs of background work (c.do, c.doWait) wait
// until it settles (c.settle), and c.do's are counted in c.busy.
func serialise(t *testing.T, c *Console) {
	var mu sync.Mutex
	mu.Lock()
	t.Cleanup(mu.Unlock) // let hand-offs still waiting run out
	run := func(f func()) {
		mu.Lock()
		defer mu.Unlock()
		f()
	}
	c.doWait = run
	c.do = func(f func()) {
		c.busy.Add(1)
		go func() {
			defer c.busy.Done()
			run(f)
		}()
	}
	c.idle = func(wait func()) {
		mu.Unlock()
		defer mu.Lock()
		wait()
	}
}

// fixture is a console over a store with group Lab (images A and B, from
// src) and one x64 boot image.
type fixture struct {
	c    *Console
	srv  *app.Server
	dlg  *fakeDialogs
	src  string
	refs []store.ImageRef
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	a := test.NewTempApp(t)
	srv, err := app.LocalServer(filepath.Join(t.TempDir(), "RemoteInstall"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	src := makeWIM(t, "A", "B")
	refs, err := storeOf(srv).AddImage(ctx, src, store.AddOptions{Group: "Lab"})
	if err != nil {
		t.Fatal(err)
	}
	boot, err := storeOf(srv).AddImage(ctx, src, store.AddOptions{Boot: true, Arch: "x64", Indexes: []int{1}})
	if err != nil {
		t.Fatal(err)
	}
	dlg := &fakeDialogs{}
	c := NewConsole(a, app.NewModel(srv), dlg)
	serialise(t, c)
	c.Window.Resize(fyne.NewSize(1000, 700))
	t.Cleanup(func() { c.jobs.CancelAll(); c.settle() })
	return &fixture{c: c, srv: srv, dlg: dlg, src: src, refs: append(refs, boot...)}
}

// do selects node id and runs the action labelled label of its menu.
func (f *fixture) do(t *testing.T, id, label string) {
	t.Helper()
	f.c.Select(id)
	if f.c.Selected() != id {
		t.Fatalf("cannot select %s", id)
	}
	for _, it := range f.c.actionItems() {
		if it.Label == label {
			it.Action()
			f.c.settle()
			return
		}
	}
	t.Fatalf("%s has no action %q; it has %v", id, label, menuLabels(f.c.actionItems()))
}

func menuLabels(items []*fyne.MenuItem) []string {
	var out []string
	for _, it := range items {
		if !it.IsSeparator {
			out = append(out, it.Label)
		}
	}
	return out
}

// overlayText returns the labels of the topmost dialog.
func overlayText(c *Console) string {
	top := c.Window.Canvas().Overlays().Top()
	if top == nil {
		return ""
	}
	return strings.Join(labels(top), "\n")
}

// tapButton taps the button labelled label in the topmost dialog, then
// waits for the work it started.
func tapButton(t *testing.T, c *Console, label string) {
	t.Helper()
	tapButtonNoWait(t, c, label)
	c.settle()
}

// tapButtonNoWait taps the button labelled label in the topmost dialog.
func tapButtonNoWait(t *testing.T, c *Console, label string) {
	t.Helper()
	top := c.Window.Canvas().Overlays().Top()
	if top == nil {
		t.Fatalf("no dialog to tap %q in", label)
	}
	var found *widget.Button
	var walk func(o fyne.CanvasObject)
	walk = func(o fyne.CanvasObject) {
		if o == nil || !o.Visible() || found != nil {
			return
		}
		switch v := o.(type) {
		case *widget.Button:
			if v.Text == label {
				found = v
			}
		case *dialogButton:
			if v.Text == label {
				found = &v.Button
			}
		case *fyne.Container:
			for _, x := range v.Objects {
				walk(x)
			}
		case fyne.Widget:
			for _, x := range test.WidgetRenderer(v).Objects() {
				walk(x)
			}
		}
	}
	walk(top)
	if found == nil {
		t.Fatalf("no button %q in the dialog: %q", label, overlayText(c))
	}
	test.Tap(found)
}

func (f *fixture) image(t *testing.T, r store.ImageRef) store.Image {
	t.Helper()
	im, err := storeOf(f.srv).GetImage(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	return im
}

func TestTreeShowsImagesAndIcons(t *testing.T) {
	f := newFixture(t)
	id := app.ImageID(f.srv, f.refs[0])
	f.c.Select(id)
	f.c.Select(app.ImageID(f.srv, f.refs[2]))
	shown := labels(f.c.Window.Content())
	for _, want := range []string{"Lab", "Image A", "Image B", "x64"} {
		if !contains(shown, want) {
			t.Errorf("tree does not show %q: %q", want, shown)
		}
	}
	n, _ := f.c.model.Node(id)
	if nodeIcon(n) != resources.ImageIcon {
		t.Error("enabled image has the wrong icon")
	}
}

func TestRightClickOpensContextMenu(t *testing.T) {
	f := newFixture(t)
	id := app.ImageID(f.srv, f.refs[0])
	f.c.Select(id)
	f.c.Select(app.InstallID(f.srv))
	var row *nodeRow
	for _, r := range f.c.rows {
		if r.id == id {
			row = r
		}
	}
	if row == nil {
		t.Fatal("no row shows the image")
	}
	test.TapSecondary(row)
	if f.c.Selected() != id {
		t.Fatalf("right-click did not select the image: %q", f.c.Selected())
	}
	if txt := overlayText(f.c); !strings.Contains(txt, "Export Image…") || !strings.Contains(txt, "Disable") {
		t.Fatalf("right-click showed %q, want the image's menu", txt)
	}
	// The Action menu holds the same items as the context menu.
	got := menuLabels(f.c.Window.MainMenu().Items[1].Items)
	want := []string{"Disable", "Export Image…", "Replace Image…", "Copy Image…", "Browse Files…", "Service Image…", "Mount to Folder…", "Add Driver Package…", "Rename", "Delete", "Refresh", "Properties"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("install image actions %v, want %v", got, want)
	}
	// The menus of the other kinds.
	for id, want := range map[string]string{
		"server:" + f.srv.Name:        "Add Install Image…,Add Boot Image…,Add Image Group…,Add Server…,Refresh,Properties",
		app.GroupID(f.srv, "Lab"):     "Add Install Image…,Regroup…,Find Files…,Rename,Delete,Refresh,Properties",
		app.ImageID(f.srv, f.refs[2]): "Disable,Export Image…,Replace Image…,Browse Files…,Service Image…,Mount to Folder…,Add Driver Package…,Rename,Delete,Refresh,Properties",
		app.InstallID(f.srv):          "Add Install Image…,Add Image Group…,Refresh",
	} {
		f.c.Select(id)
		if got := strings.Join(menuLabels(f.c.actionItems()), ","); got != want {
			t.Errorf("%s: menu %s, want %s", id, got, want)
		}
	}
	// Double-click opens Properties.
	test.DoubleTap(row)
	f.c.settle()
	if _, ok := f.c.current.(*imageProperties); !ok {
		t.Fatalf("double-click opened %T", f.c.current)
	}
}

func TestDisableEnable(t *testing.T) {
	f := newFixture(t)
	for _, r := range []store.ImageRef{f.refs[0], f.refs[2]} {
		id := app.ImageID(f.srv, r)
		f.do(t, id, "Disable")
		if f.image(t, r).Enabled {
			t.Fatalf("%s still enabled", r)
		}
		n, _ := f.c.model.Node(id)
		if !n.Disabled() || (nodeIcon(n) != resources.ImageDisabledIcon && nodeIcon(n) != resources.BootImageDisabledIcon) {
			t.Fatalf("%s not shown disabled", r)
		}
		f.do(t, id, "Enable")
		if !f.image(t, r).Enabled {
			t.Fatalf("%s not enabled again", r)
		}
	}
	// The group's details show the status.
	f.do(t, app.ImageID(f.srv, f.refs[1]), "Disable")
	f.c.Select(app.GroupID(f.srv, "Lab"))
	d := f.c.Details()
	if len(d.Rows) != 2 || d.Rows[1][2] != "Offline" || d.Rows[0][2] != "Online" {
		t.Fatalf("group details %v", d.Rows)
	}
}

func TestDeleteImageConfirms(t *testing.T) {
	f := newFixture(t)
	id := app.ImageID(f.srv, f.refs[0])
	f.do(t, id, "Delete")
	if txt := overlayText(f.c); !strings.Contains(txt, f.refs[0].File+".wim") || !strings.Contains(txt, "Res.rwm") {
		t.Fatalf("confirmation does not name what is lost: %q", txt)
	}
	tapButton(t, f.c, "Cancel")
	if _, err := os.Stat(storeOf(f.srv).ImagePath(f.refs[0])); err != nil {
		t.Fatal("cancelled delete removed the image")
	}
	f.do(t, id, "Delete")
	tapButton(t, f.c, "Delete")
	if _, err := os.Stat(storeOf(f.srv).ImagePath(f.refs[0])); !os.IsNotExist(err) {
		t.Fatal("image not deleted")
	}
	if f.c.Selected() != app.GroupID(f.srv, "Lab") {
		t.Fatalf("selection after delete: %q", f.c.Selected())
	}
	// The Delete key deletes too (boot image).
	f.c.Select(app.ImageID(f.srv, f.refs[2]))
	f.c.Window.Canvas().(interface{ OnTypedKey() func(*fyne.KeyEvent) }).OnTypedKey()(&fyne.KeyEvent{Name: fyne.KeyDelete})
	f.c.settle()
	tapButton(t, f.c, "Delete")
	if _, err := os.Stat(storeOf(f.srv).ImagePath(f.refs[2])); !os.IsNotExist(err) {
		t.Fatal("boot image not deleted by the Delete key")
	}
}

func TestGroupAddRenameDelete(t *testing.T) {
	f := newFixture(t)
	f.do(t, "server:"+f.srv.Name, "Add Image Group…")
	nd := f.c.current.(*nameDialog)
	nd.entry.SetText("New Group")
	nd.submit()
	f.c.settle()
	if _, err := os.Stat(storeOf(f.srv).GroupDir("New Group")); err != nil {
		t.Fatal(err)
	}
	if f.c.Selected() != app.GroupID(f.srv, "New Group") {
		t.Fatalf("new group not selected: %q", f.c.Selected())
	}
	// A bad name is refused with a dialog.
	f.do(t, "server:"+f.srv.Name, "Add Image Group…")
	nd = f.c.current.(*nameDialog)
	nd.entry.SetText("a/b")
	nd.submit()
	if txt := overlayText(f.c); !strings.Contains(txt, "failed") {
		t.Fatalf("bad name not refused: %q", txt)
	}
	tapButton(t, f.c, "OK")
	// Rename to a taken name fails with a dialog; then to a free one.
	f.do(t, app.GroupID(f.srv, "New Group"), "Rename")
	nd = f.c.current.(*nameDialog)
	nd.entry.SetText("Lab")
	nd.submit()
	f.c.settle()
	if txt := overlayText(f.c); !strings.Contains(txt, "Rename group New Group failed") {
		t.Fatalf("rename onto an existing group: %q", txt)
	}
	tapButton(t, f.c, "OK")
	f.do(t, app.GroupID(f.srv, "New Group"), "Rename")
	nd = f.c.current.(*nameDialog)
	nd.entry.SetText("Renamed")
	nd.submit()
	f.c.settle()
	if f.c.Selected() != app.GroupID(f.srv, "Renamed") {
		t.Fatalf("renamed group not selected: %q", f.c.Selected())
	}
	// Delete Lab: the confirmation lists its images.
	f.do(t, app.GroupID(f.srv, "Lab"), "Delete")
	txt := overlayText(f.c)
	if !strings.Contains(txt, "Image A") || !strings.Contains(txt, "Image B") {
		t.Fatalf("group delete confirmation: %q", txt)
	}
	tapButton(t, f.c, "Delete")
	if gs, _ := storeOf(f.srv).Groups(); len(gs) != 1 || gs[0] != "Renamed" {
		t.Fatalf("groups after delete: %v", gs)
	}
}

func TestAddImageWizard(t *testing.T) {
	f := newFixture(t)
	// The wizard opens on its source page, asking no file dialog;
	// Browse… cancelled leaves the page as it was.
	f.do(t, app.GroupID(f.srv, "Lab"), "Add Install Image…")
	w, ok := f.c.current.(*addWizard)
	if !ok || w.wiz.at != 0 || f.dlg.opens != 0 {
		t.Fatalf("Add Install Image… opened %T (%d file dialogs)", f.c.current, f.dlg.opens)
	}
	if !w.wiz.next.Disabled() {
		t.Fatal("Next is enabled with no source file")
	}
	tapButton(t, f.c, "Browse…")
	if f.dlg.opens != 1 || w.source.Text != "" || w.wiz.at != 0 {
		t.Fatalf("cancelled Browse…: %d opens, source %q, page %d", f.dlg.opens, w.source.Text, w.wiz.at)
	}
	src := makeWIM(t, "A", "C")
	f.dlg.files = []string{src}
	tapButton(t, f.c, "Browse…")
	if w.source.Text != src {
		t.Fatalf("Browse… filled in %q", w.source.Text)
	}
	next(t, w.wiz)
	if w.wiz.at != 1 || w.group.Text != "Lab" || len(w.checks) != 2 {
		t.Fatalf("images page %d: group %q, %d images", w.wiz.at, w.group.Text, len(w.checks))
	}
	if !strings.Contains(w.gain.Text, "already in the group") {
		t.Fatalf("gain %q", w.gain.Text)
	}
	// Only image C, renamed.
	w.checks[0].SetChecked(false)
	f.c.settle()
	next(t, w.wiz)
	if w.wiz.at != 2 || w.name.Text != "Image C" || w.file.Text != "install-(3)" {
		t.Fatalf("names page %d: name %q, file %q", w.wiz.at, w.name.Text, w.file.Text)
	}
	w.name.SetText("Lab C")
	w.desc.SetText("third")
	next(t, w.wiz)
	if txt := w.summary.Text; w.wiz.at != 3 || !strings.Contains(txt, "Lab C") || !strings.Contains(txt, "install-(3).wim") {
		t.Fatalf("summary page %d: %q", w.wiz.at, txt)
	}
	next(t, w.wiz) // Finish
	if txt := overlayText(f.c); !strings.Contains(txt, "Added 1 image") {
		t.Fatalf("summary %q", txt)
	}
	ims, _ := storeOf(f.srv).ListImages(context.Background(), store.ListOptions{Group: "Lab"})
	if len(ims) != 3 || ims[2].Name != "Lab C" || ims[2].Description != "third" || ims[2].File != "install-(3).wim" {
		t.Fatalf("images after add: %+v", ims)
	}
	if n, _ := f.c.model.Node(f.c.Selected()); n.Label != "Lab C" {
		t.Fatalf("added image not selected: %q", f.c.Selected())
	}
	// Both images into a new group, typed in.
	f.do(t, "server:"+f.srv.Name, "Add Install Image…")
	w = f.c.current.(*addWizard)
	w.source.SetText(src)
	next(t, w.wiz)
	next(t, w.wiz)
	w.group.SetText("Fresh")
	f.c.settle()
	if !strings.Contains(w.gain.Text, "0 bytes already") {
		t.Fatalf("gain into a new group: %q", w.gain.Text)
	}
	next(t, w.wiz)
	next(t, w.wiz)
	if ims, _ := storeOf(f.srv).ListImages(context.Background(), store.ListOptions{Group: "Fresh"}); len(ims) != 2 {
		t.Fatalf("new group has %d images", len(ims))
	}
	// Boot image.
	f.do(t, app.ArchID(f.srv, "x64"), "Add Boot Image…")
	w = f.c.current.(*addWizard)
	if w.arch.Selected != "x64" {
		t.Fatalf("arch %q", w.arch.Selected)
	}
	w.source.SetText(src)
	next(t, w.wiz)
	w.checks[1].SetChecked(false)
	next(t, w.wiz)
	w.name.SetText("WinPE")
	next(t, w.wiz)
	next(t, w.wiz)
	if kids := f.c.model.Children(app.ArchID(f.srv, "x64")); len(kids) != 2 {
		t.Fatalf("boot images %v", kids)
	}
	// A damaged source typed in: the source page says so and stays.
	bad := filepath.Join(t.TempDir(), "bad.wim")
	os.WriteFile(bad, []byte("not a wim"), 0o644)
	f.do(t, app.GroupID(f.srv, "Lab"), "Add Install Image…")
	w = f.c.current.(*addWizard)
	w.source.SetText(bad)
	next(t, w.wiz)
	if w.wiz.at != 0 || !strings.Contains(w.wiz.problem.Text, "bad.wim") {
		t.Fatalf("damaged source: page %d, problem %q", w.wiz.at, w.wiz.problem.Text)
	}
	w.wiz.Cancel()
	// A damaged source dropped is an error dialog.
	f.c.addImage([]string{bad}, "Lab")
	f.c.settle()
	if txt := overlayText(f.c); !strings.Contains(txt, "Add Image failed") || !strings.Contains(txt, "bad.wim") {
		t.Fatalf("damaged source: %q", txt)
	}
}

// next presses Next (Finish on the last page) and waits for what it
// started.
func next(t *testing.T, w *wizard) {
	t.Helper()
	w.Next()
	w.c.settle()
}

func TestDropFiles(t *testing.T) {
	f := newFixture(t)
	src := makeWIM(t, "D")
	f.c.Select(app.GroupID(f.srv, "Lab"))
	f.c.dropped(fyne.NewPos(-1, -1), []fyne.URI{storage.NewFileURI(src)})
	f.c.settle()
	w, ok := f.c.current.(*addWizard)
	if !ok || w.group.Text != "Lab" || w.files[0] != src || w.wiz.at != 1 {
		t.Fatalf("drop opened %T", f.c.current)
	}
	// Dropped onto another group's row: that group is preselected.
	w.wiz.Cancel()
	f.c.current = nil
	f.srv.AddGroup("Other")
	f.c.model.Refresh()
	f.c.redraw()
	f.c.Select(app.InstallID(f.srv))
	var row *nodeRow
	for _, r := range f.c.rows {
		if r.id == app.GroupID(f.srv, "Other") {
			row = r
		}
	}
	if row == nil {
		t.Fatal("no row for group Other")
	}
	f.c.Window.Canvas().Refresh(f.c.Window.Content())
	pos := fyne.CurrentApp().Driver().AbsolutePositionForObject(row).Add(fyne.NewPos(5, 5))
	f.c.dropped(pos, []fyne.URI{storage.NewFileURI(src)})
	f.c.settle()
	if w := f.c.current.(*addWizard); w.group.Text != "Other" {
		t.Fatalf("dropped on Other: group %q", w.group.Text)
	}
	f.c.current.(*addWizard).wiz.Cancel()
	// Other files get a message.
	f.c.dropped(fyne.NewPos(0, 0), []fyne.URI{storage.NewFileURI("/tmp/notes.txt")})
	if txt := overlayText(f.c); !strings.Contains(txt, "notes.txt") || !strings.Contains(txt, ".wim") {
		t.Fatalf("non-WIM drop: %q", txt)
	}
}

func TestExportWizard(t *testing.T) {
	f := newFixture(t)
	dest := filepath.Join(t.TempDir(), "out.wim")
	f.do(t, app.ImageID(f.srv, f.refs[0]), "Export Image…")
	w := f.c.current.(*exportWizard)
	next(t, w.wiz)
	w.dest.SetText(dest)
	w.name.SetText("Exported A")
	next(t, w.wiz)
	if !strings.Contains(w.summary.Text, dest) || !strings.Contains(w.summary.Text, "Exported A") {
		t.Fatalf("summary %q", w.summary.Text)
	}
	next(t, w.wiz)
	// Append the second image.
	f.do(t, app.ImageID(f.srv, f.refs[1]), "Export Image…")
	w = f.c.current.(*exportWizard)
	next(t, w.wiz)
	w.dest.SetText(dest)
	w.mode.SetSelected(exportAppend)
	next(t, w.wiz)
	next(t, w.wiz)
	x, err := wim.Open(dest, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if x.ImageCount() != 2 || x.XML().Images[0].Name != "Exported A" || x.XML().Images[1].Name != "Image B" {
		t.Fatalf("exported file: %d images", x.ImageCount())
	}
	if err := x.Verify(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	// New file onto an existing one: flagged on the destination page,
	// Next disabled, nothing written.
	before, _ := os.Stat(dest)
	f.do(t, app.ImageID(f.srv, f.refs[1]), "Export Image…")
	w = f.c.current.(*exportWizard)
	next(t, w.wiz)
	w.dest.SetText(dest)
	if !strings.Contains(w.wiz.problem.Text, "exists") || !w.wiz.next.Disabled() {
		t.Fatalf("new file onto an existing one: problem %q, Next disabled %v", w.wiz.problem.Text, w.wiz.next.Disabled())
	}
	next(t, w.wiz)
	if w.wiz.at != 1 {
		t.Fatalf("Next left the page with the problem %q", w.wiz.problem.Text)
	}
	w.wiz.Cancel()
	if after, _ := os.Stat(dest); after.Size() != before.Size() || !after.ModTime().Equal(before.ModTime()) {
		t.Fatal("the cancelled export changed the file")
	}
}

func TestReplaceWizard(t *testing.T) {
	f := newFixture(t)
	src := makeWIM(t, "X", "Y")
	f.do(t, app.ImageID(f.srv, f.refs[0]), "Replace Image…")
	w := f.c.current.(*replaceWizard)
	f.dlg.files = []string{src}
	tapButton(t, f.c, "Browse…")
	next(t, w.wiz)
	if w.wiz.at != 1 || len(w.index.Options) != 2 {
		t.Fatalf("source images %v", w.index.Options)
	}
	w.index.SetSelectedIndex(1)
	next(t, w.wiz)
	w.force.SetChecked(true)
	next(t, w.wiz)
	if !strings.Contains(w.summary.Text, "image 2 of "+src) || !strings.Contains(w.summary.Text, "without waiting") {
		t.Fatalf("summary %q", w.summary.Text)
	}
	next(t, w.wiz)
	im := f.image(t, f.refs[0])
	if !im.Enabled || im.Name != "Image A" {
		t.Fatalf("after replace: %+v", im)
	}
	// The replaced image's data is image Y's.
	x, err := wim.Open(storeOf(f.srv).ImagePath(f.refs[0]), &wim.OpenOptions{Refs: []string{storeOf(f.srv).ResPath("Lab")}})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	img, err := x.Image(1)
	if err != nil {
		t.Fatal(err)
	}
	data, err := x.ReadBlob(img.Lookup("/Windows/own.txt").Hash, 1<<20)
	if err != nil || !strings.HasPrefix(string(data), "variant Y") {
		t.Fatalf("replaced data %q %v", data[:min(len(data), 20)], err)
	}
	// A bad wait is flagged on the options page.
	f.do(t, app.ImageID(f.srv, f.refs[0]), "Replace Image…")
	w = f.c.current.(*replaceWizard)
	w.src.SetText(src)
	next(t, w.wiz)
	next(t, w.wiz)
	w.wait.SetText("soon")
	if !strings.Contains(w.wiz.problem.Text, "minutes") || !w.wiz.next.Disabled() {
		t.Fatalf("bad wait: %q", w.wiz.problem.Text)
	}
	// Not keeping the name: the image takes the source image's.
	w.wait.SetText("0")
	w.keepName.SetChecked(false)
	next(t, w.wiz)
	next(t, w.wiz)
	if im := f.image(t, f.refs[0]); im.Name != "Image X" {
		t.Fatalf("replaced without keeping the name: %q", im.Name)
	}
}

func TestCopyImage(t *testing.T) {
	f := newFixture(t)
	f.do(t, app.ImageID(f.srv, f.refs[0]), "Copy Image…")
	nd := f.c.current.(*nameDialog)
	if nd.entry.Text != f.refs[0].File+"-copy" {
		t.Fatalf("suggested %q", nd.entry.Text)
	}
	nd.submit()
	f.c.settle()
	c := f.refs[0]
	c.File += "-copy"
	if im := f.image(t, c); !strings.Contains(im.Name, "Image A") {
		t.Fatalf("copy %+v", im)
	}
}

func TestRegroupWizard(t *testing.T) {
	f := newFixture(t)
	if err := f.srv.DeleteImage(context.Background(), f.refs[1]); err != nil {
		t.Fatal(err)
	}
	f.c.model.Refresh()
	f.do(t, app.GroupID(f.srv, "Lab"), "Regroup…")
	w := f.c.current.(*regroupWizard)
	if w.preview.Reclaimable == 0 || !strings.Contains(overlayText(f.c), "reclaims about") {
		t.Fatalf("preview %+v: %q", w.preview, overlayText(f.c))
	}
	next(t, w.wiz)
	w.into.SetText("Lab2")
	next(t, w.wiz)
	if want := app.FormatBytes(w.preview.Reclaimable) + " are reclaimable"; !strings.Contains(w.summary.Text, want) || !strings.Contains(w.summary.Text, "renamed Lab2") {
		t.Fatalf("summary %q, want %q", w.summary.Text, want)
	}
	next(t, w.wiz)
	txt := overlayText(f.c)
	if !strings.Contains(txt, "Before:") || !strings.Contains(txt, "Reclaimed:") {
		t.Fatalf("summary %q", txt)
	}
	if w.result == nil || w.result.BytesAfter >= w.result.BytesBefore {
		t.Fatalf("result %+v", w.result)
	}
	if f.c.Selected() != app.GroupID(f.srv, "Lab2") {
		t.Fatalf("selected %q", f.c.Selected())
	}
}

func TestProperties(t *testing.T) {
	f := newFixture(t)
	id := app.ImageID(f.srv, f.refs[0])
	f.do(t, id, "Properties")
	p := f.c.current.(*imageProperties)
	var tabs []string
	for _, it := range p.tabs.Items {
		tabs = append(tabs, it.Text)
	}
	if strings.Join(tabs, ",") != "General,Unattend,Language Packs,Space,Sessions" {
		t.Fatalf("tabs %v", tabs)
	}
	if txt := overlayText(f.c); !strings.Contains(txt, "Image A") || !strings.Contains(txt, f.refs[0].File+".wim") {
		t.Fatalf("general tab %q", txt)
	}
	if p.p.Space == nil || p.p.Space.SharedBytes == 0 {
		t.Fatalf("space %+v", p.p.Space)
	}
	// Associate an unattend file, view it, remove it.
	xml := filepath.Join(t.TempDir(), "unattend.xml")
	os.WriteFile(xml, []byte(`<?xml version="1.0"?><unattend xmlns="urn:schemas-microsoft-com:unattend"/>`), 0o644)
	f.dlg.files = []string{xml}
	p.associate()
	f.c.settle()
	if im := f.image(t, f.refs[0]); im.Unattend == "" {
		t.Fatal("unattend not associated")
	}
	f.do(t, id, "Properties")
	p = f.c.current.(*imageProperties)
	if !strings.Contains(p.unattend.Text, "unattend") {
		t.Fatalf("unattend text %q", p.unattend.Text)
	}
	p.removeUnattend()
	tapButton(t, f.c, "Remove")
	if im := f.image(t, f.refs[0]); im.Unattend != "" {
		t.Fatal("unattend not removed")
	}
	// Group: the space breakdown.
	f.do(t, app.GroupID(f.srv, "Lab"), "Properties")
	g := f.c.current.(*groupProperties)
	if len(g.space.Images) != 2 || g.space.ResBytes == 0 {
		t.Fatalf("group space %+v", g.space)
	}
	// Enter opens Properties too (boot image), once the dialog is closed.
	tapButton(t, f.c, "Cancel")
	f.c.Select(app.ImageID(f.srv, f.refs[2]))
	f.c.Window.Canvas().(interface{ OnTypedKey() func(*fyne.KeyEvent) }).OnTypedKey()(&fyne.KeyEvent{Name: fyne.KeyReturn})
	f.c.settle()
	if bp := f.c.current.(*imageProperties); bp.p.Image.Type != store.TypeBoot {
		t.Fatalf("Enter opened %+v", bp.p.Image)
	}
}

func TestDetailsSortAndDoubleClick(t *testing.T) {
	f := newFixture(t)
	f.c.Select(app.GroupID(f.srv, "Lab"))
	if d := f.c.Details(); d.Rows[0][0] != "Image A" {
		t.Fatalf("unsorted %v", d.Rows)
	}
	f.c.details.sortBy(0)
	f.c.details.sortBy(0) // second click: descending
	d := f.c.Details()
	if d.Rows[0][0] != "Image B" || d.RowIDs[0] != app.ImageID(f.srv, f.refs[1]) {
		t.Fatalf("descending %v", d.Rows)
	}
	// The sort survives a refresh.
	f.c.redraw()
	if f.c.Details().Rows[0][0] != "Image B" {
		t.Fatal("sort lost on refresh")
	}
	cell := newCell(f.c.details)
	cell.id = widget.TableCellID{Row: 0, Col: 3}
	cell.DoubleTapped(nil)
	f.c.settle()
	if p, ok := f.c.current.(*imageProperties); !ok || p.p.Image.Name != "Image B" {
		t.Fatalf("double-click opened %T", f.c.current)
	}
}

func TestJobBarAndCloseWithJobs(t *testing.T) {
	f := newFixture(t)
	release := make(chan struct{})
	j := f.c.runJob("Long work", func(ctx context.Context, report progress.Func) error {
		report(progress.Report{Phase: "copying", Done: 25, Total: 100})
		select {
		case <-release:
		case <-ctx.Done():
			return ctx.Err()
		}
		return nil
	}, nil)
	for j.Status().Phase == "" {
	}
	var row *jobRow
	var value float64
	var detail, status string
	f.c.showJobs()
	row = f.c.jobRows[j]
	if row != nil {
		value, detail = row.bar.Value, row.detail.Text
	}
	status = f.c.jobStatus.Text
	if row == nil || value != 0.25 || !strings.Contains(detail, "25%") {
		t.Fatalf("job row %v %q", value, detail)
	}
	if !strings.Contains(status, "Long work") {
		t.Fatalf("status bar %q", status)
	}
	// Closing asks first; "No" keeps the window and the job.
	f.c.closeRequested()
	txt := overlayText(f.c)
	tapButtonNoWait(t, f.c, "No")
	if !strings.Contains(txt, "Long work") {
		t.Fatalf("close confirmation %q", txt)
	}
	if len(f.c.jobs.Running()) != 1 {
		t.Fatal("job ended")
	}
	// The job bar's Cancel cancels it: the row says it is cancelling,
	// then the status line says "Cancelled", with no error dialog.
	test.Tap(row.cancel)
	if row.detail.Text != "Cancelling…" {
		t.Fatalf("job row after Cancel: %q", row.detail.Text)
	}
	f.c.settle()
	if j.State() != app.JobCancelled || !app.IsCancelled(j.Err()) {
		t.Fatalf("cancelled job: %v, %v", j.State(), j.Err())
	}
	if txt := overlayText(f.c); txt != "" {
		t.Fatalf("a dialog after Cancel: %q", txt)
	}
	f.c.showJobs()
	if len(f.c.jobBox.Objects) != 0 || f.c.jobStatus.Text != "Long work: Cancelled" {
		t.Fatalf("job bar not cleared, status %q", f.c.jobStatus.Text)
	}
	close(release)
}
