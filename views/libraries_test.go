package views

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/wimconsole/wimconsole/app"
	"github.com/wimconsole/wimconsole/internal/seaweedtest"
	"github.com/wimconsole/wimconsole/resources"
)

func TestMain(m *testing.M) {
	code := m.Run()
	seaweedtest.Stop()
	os.Exit(code)
}

// detailsValue returns the value of the Property/Value row named prop of
// the details shown.
func detailsValue(c *Console, prop string) string {
	for _, r := range c.Details().Rows {
		if len(r) == 2 && r[0] == prop {
			return r[1]
		}
	}
	return ""
}

// TestLibrariesOffline: the Libraries node lists a library that does not
// answer as offline, with the reason in the details, and the console
// stays usable; Add Library… refuses a bad address in words; Publish with
// no usable library says how to add one.
func TestLibrariesOffline(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	f := newFixture(t)
	c := f.c
	if _, ok := c.model.Node(app.LibrariesID); ok {
		t.Fatal("a Libraries node before LoadLibraries")
	}
	if contains(menuLabels(c.actionItems()), "Publish to Library…") {
		t.Fatal("Publish to Library… without a library list")
	}
	f.do(t, app.GroupID(f.srv, "Lab"), "Refresh")
	if contains(menuLabels(c.actionItems()), "Publish to Library…") {
		t.Fatal("Publish to Library… without a library list")
	}
	c.LoadLibraries(filepath.Join(t.TempDir(), "config", app.LibraryListFile))
	c.settle()
	f.do(t, app.GroupID(f.srv, "Lab"), "Publish to Library…")
	if txt := overlayText(c); !strings.Contains(txt, "Add Library…") {
		t.Fatalf("publish with no library: %q", txt)
	}
	tapButton(t, c, "OK")
	f.do(t, app.LibrariesID, "Add Library…")
	d, ok := c.current.(*addLibraryDialog)
	if !ok {
		t.Fatalf("Add Library… opened %T", c.current)
	}
	d.name.SetText("bad")
	d.url.SetText("ftp://host/bucket")
	d.submit()
	c.settle()
	if txt := overlayText(c); !strings.Contains(txt, "Add Library bad failed") {
		t.Fatalf("a bad address: %q", txt)
	}
	tapButton(t, c, "OK")
	// A credentials file others can read is refused, saying what to do.
	creds := filepath.Join(t.TempDir(), "creds")
	if err := os.WriteFile(creds, []byte("AWS_ACCESS_KEY_ID=k\nAWS_SECRET_ACCESS_KEY=s\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f.do(t, app.LibrariesID, "Add Library…")
	d = c.current.(*addLibraryDialog)
	d.name.SetText("open")
	d.url.SetText("http://127.0.0.1:1/bucket/p")
	d.creds.SetText(creds)
	d.submit()
	c.settle()
	if txt := overlayText(c); !strings.Contains(txt, "chmod 600 "+creds) {
		t.Fatalf("a credentials file others can read: %q", txt)
	}
	tapButton(t, c, "OK")
	f.do(t, app.LibrariesID, "Add Library…")
	d = c.current.(*addLibraryDialog)
	d.name.SetText("away")
	d.url.SetText("http://127.0.0.1:1/bucket/p")
	d.submit()
	c.settle()
	if c.Selected() != app.LibraryID("away") {
		t.Fatalf("selected %q after Add Library", c.Selected())
	}
	if n, _ := c.model.Node(app.LibraryID("away")); n.Label != "away (offline)" {
		t.Fatalf("library node %+v", n)
	}
	if detailsValue(c, "Status") != "Offline" || !strings.Contains(detailsValue(c, "Reason"), "AWS_ACCESS_KEY_ID") {
		t.Fatalf("offline library details %v", c.Details().Rows)
	}
	if got := strings.Join(menuLabels(c.actionItems()), ","); got != "Add Library…,Refresh" {
		t.Fatalf("library menu %s", got)
	}
	if !contains(labels(c.treeW), "away (offline)") {
		t.Fatalf("tree shows %v", labels(c.treeW))
	}
}

// TestLibrariesPublishPull is the console against a real SeaweedFS: Add
// Library…, Publish to Library… of a group as another name, the library's
// groups listed with what the store lacks, Pull… into the store under a
// new name, and a pull without credentials refused in words.
func TestLibrariesPublishPull(t *testing.T) {
	e := seaweedtest.Start(t)
	t.Setenv("AWS_ACCESS_KEY_ID", e.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", e.SecretKey)
	f := newFixture(t)
	c := f.c
	c.LoadLibraries(filepath.Join(t.TempDir(), "config", app.LibraryListFile))
	c.settle()
	f.do(t, app.LibrariesID, "Add Library…")
	d := c.current.(*addLibraryDialog)
	d.name.SetText("lab")
	d.url.SetText(fmt.Sprintf("http://%s/views%d/site", e.Addr, time.Now().UnixNano()))
	d.submit()
	c.settle()
	if c.Selected() != app.LibraryID("lab") || strings.Join(c.Details().Columns, ",") != "Name,Images,Size,Missing here" || len(c.Details().Rows) != 0 {
		t.Fatalf("new library: selected %q, details %v %v", c.Selected(), c.Details().Columns, c.Details().Rows)
	}
	f.do(t, app.GroupID(f.srv, "Lab"), "Publish to Library…")
	pd, ok := c.current.(*publishDialog)
	if !ok {
		t.Fatalf("Publish to Library… opened %T", c.current)
	}
	if pd.library.Selected != "lab" {
		t.Fatalf("library offered: %q", pd.library.Selected)
	}
	pd.as.SetText("Shared")
	pd.submit()
	c.settle()
	if txt := overlayText(c); txt != "" {
		t.Fatalf("publish: %q", txt)
	}
	c.Select(app.LibraryID("lab"))
	rows := c.Details().Rows
	if len(rows) != 1 || rows[0][0] != "Shared" || rows[0][1] != "2" || rows[0][3] == "0 bytes" {
		t.Fatalf("library groups %v", rows)
	}
	if n, _ := c.model.Node(app.LibraryGroupID("lab", "Shared")); nodeIcon(n) != resources.GroupIcon {
		t.Error("a library group has not the group icon")
	}
	f.do(t, app.LibraryGroupID("lab", "Shared"), "Pull…")
	nd := c.current.(*nameDialog)
	nd.entry.SetText("Pulled")
	nd.submit()
	c.settle()
	if txt := overlayText(c); txt != "" {
		t.Fatalf("pull: %q", txt)
	}
	if c.Selected() != app.GroupID(f.srv, "Pulled") || len(c.model.Children(app.GroupID(f.srv, "Pulled"))) != 2 {
		t.Fatalf("after the pull: selected %q, %v", c.Selected(), c.model.Children(app.GroupID(f.srv, "Pulled")))
	}
	f.do(t, app.LibraryGroupID("lab", "Shared"), "Refresh")
	if detailsValue(c, "Images") != "2" {
		t.Fatalf("library group details %v", c.Details().Rows)
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	f.do(t, app.LibraryGroupID("lab", "Shared"), "Pull…")
	nd = c.current.(*nameDialog)
	nd.entry.SetText("Again")
	nd.submit()
	c.settle()
	if txt := overlayText(c); !strings.Contains(txt, "Pull Shared from lab failed") || !strings.Contains(txt, "AWS_ACCESS_KEY_ID") {
		t.Fatalf("pull without credentials: %q", txt)
	}
}

// treeBranches returns the labels of the tree rows drawn as branches (with
// an expand arrow).
func treeBranches(o fyne.CanvasObject) []string {
	var out []string
	var walk func(fyne.CanvasObject)
	walk = func(o fyne.CanvasObject) {
		if o == nil || !o.Visible() {
			return
		}
		if fmt.Sprintf("%T", o) == "*widget.branch" {
			out = append(out, strings.Join(labels(o), " "))
			return
		}
		switch v := o.(type) {
		case *fyne.Container:
			for _, c := range v.Objects {
				walk(c)
			}
		case fyne.Widget:
			for _, c := range test.WidgetRenderer(v).Objects() {
				walk(c)
			}
		}
	}
	walk(o)
	return out
}

// TestLibraryOfflineIsLeaf: a library whose endpoint does not answer is a
// leaf of the tree, "NAME (offline)" with the reason in its details (no
// expand arrow over no children); once its endpoint answers, Refresh
// shows it as a branch again, with its groups.
func TestLibraryOfflineIsLeaf(t *testing.T) {
	e := seaweedtest.Start(t)
	t.Setenv("AWS_ACCESS_KEY_ID", e.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", e.SecretKey)
	// A port nothing listens on, for now.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	f := newFixture(t)
	c := f.c
	list := filepath.Join(t.TempDir(), "config", app.LibraryListFile)
	url := fmt.Sprintf("http://%s/leaf%d/site", addr, time.Now().UnixNano())
	if err := app.AddLibrary(list, app.LibraryConfig{Name: "away", URL: url}); err != nil {
		t.Fatal(err)
	}
	c.LoadLibraries(list)
	c.settle()
	c.tree.OpenBranch(app.LibrariesID)
	c.Select(app.LibraryID("away"))
	c.settle()
	if n, _ := c.model.Node(app.LibraryID("away")); n.Label != "away (offline)" {
		t.Fatalf("library node %+v", n)
	}
	if detailsValue(c, "Status") != "Offline" || !strings.Contains(detailsValue(c, "Reason"), addr) {
		t.Fatalf("offline library details %v", c.Details().Rows)
	}
	if !contains(labels(c.treeW), "away (offline)") {
		t.Fatalf("tree shows %v", labels(c.treeW))
	}
	if b := treeBranches(c.treeW); !contains(b, "Libraries") || contains(b, "away (offline)") {
		t.Fatalf("tree branches %v: want Libraries, and away (offline) as a leaf", b)
	}

	// The endpoint answers now; a group is published there.
	seaweedtest.NewProxy(t, e, addr)
	cfg, err := app.FindLibrary(list, "away")
	if err != nil {
		t.Fatal(err)
	}
	l, err := app.OpenLibrary(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Publish(context.Background(), f.srv.Service().(*app.LocalService), "Lab", "Shared", nil); err != nil {
		t.Fatal(err)
	}
	c.Refresh()
	c.settle()
	c.tree.OpenBranch(app.LibraryID("away"))
	c.redraw()
	if n, _ := c.model.Node(app.LibraryID("away")); n.Label != "away" {
		t.Fatalf("library node after Refresh %+v", n)
	}
	if b := treeBranches(c.treeW); !contains(b, "away") {
		t.Fatalf("tree branches %v after Refresh: want away", b)
	}
	if !contains(labels(c.treeW), "Shared") {
		t.Fatalf("tree shows %v: want group Shared under away", labels(c.treeW))
	}
}

// waitHeld waits until the proxy holds a blob request of a transfer (it
// then runs and is stuck mid-way).
func waitHeld(t *testing.T, p *seaweedtest.Proxy) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for p.Held() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no blob request reached the library within a minute")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// cancelRunningJob checks that the job titled title shows its progress,
// presses its Cancel and waits for its end: it ends cancelled, with no
// error dialog, its row gone and the status line saying so.
func cancelRunningJob(t *testing.T, c *Console, title, phase string) string {
	t.Helper()
	running := c.jobs.Running()
	if len(running) != 1 || running[0].Title() != title {
		t.Fatalf("running jobs %v, want %s", running, title)
	}
	j := running[0]
	for deadline := time.Now().Add(30 * time.Second); j.Status().Phase != phase; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("job %s is at %q, want %q", title, j.Status().Phase, phase)
		}
	}
	c.showJobs()
	row := c.jobRows[j]
	if row == nil || !strings.Contains(row.detail.Text, phase) || !strings.Contains(c.jobStatus.Text, title) {
		t.Fatalf("job row %v, status %q: want %q", row, c.jobStatus.Text, phase)
	}
	test.Tap(row.cancel)
	c.settle()
	if j.State() != app.JobCancelled {
		t.Fatalf("job %s after Cancel: %v %v", title, j.State(), j.Err())
	}
	if txt := overlayText(c); txt != "" {
		t.Fatalf("a dialog after Cancel: %q", txt)
	}
	if len(c.jobBox.Objects) != 0 || len(c.jobs.Running()) != 0 {
		t.Fatal("the job bar still shows a job")
	}
	return c.jobStatus.Text
}

// TestLibrariesCancel: Publish to Library… and Pull… really cancelled
// mid-way (the library's endpoint holds blob requests after the first):
// the job shows its progress, Cancel ends it, the console is idle again
// with the status line saying what was left, and nothing half is shown —
// the library has no group after the cancelled publish, the store no
// group after the cancelled pull. Publishing and pulling again then
// finish.
func TestLibrariesCancel(t *testing.T) {
	e := seaweedtest.Start(t)
	t.Setenv("AWS_ACCESS_KEY_ID", e.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", e.SecretKey)
	p := seaweedtest.NewProxy(t, e, "")
	f := newFixture(t)
	c := f.c
	list := filepath.Join(t.TempDir(), "config", app.LibraryListFile)
	url := fmt.Sprintf("http://%s/cancel%d/site", p.Addr, time.Now().UnixNano())
	if err := app.AddLibrary(list, app.LibraryConfig{Name: "lab", URL: url}); err != nil {
		t.Fatal(err)
	}
	c.LoadLibraries(list)
	c.settle()
	cfg, _ := app.FindLibrary(list, "lab")
	lib, err := app.OpenLibrary(cfg)
	if err != nil {
		t.Fatal(err)
	}
	groups := func() []string {
		gs, err := lib.Groups(context.Background(), nil)
		if err != nil && !strings.Contains(err.Error(), "NoSuchBucket") {
			t.Fatal(err)
		}
		var out []string
		for _, g := range gs {
			out = append(out, g.Name)
		}
		return out
	}

	// Publish, held after the first blob, cancelled.
	p.Hold(1)
	f.do(t, app.GroupID(f.srv, "Lab"), "Publish to Library…")
	pd := c.current.(*publishDialog)
	pd.submit()
	waitHeld(t, p)
	note := cancelRunningJob(t, c, "Publish Lab to lab", "uploading file data")
	if !strings.Contains(note, "Publish Lab to lab: Cancelled") || !strings.Contains(note, "still shows the group as it was") {
		t.Fatalf("status line after the cancelled publish: %q", note)
	}
	if g := groups(); len(g) != 0 {
		t.Fatalf("the library shows groups %v after a cancelled publish", g)
	}
	p.Release()
	f.do(t, app.GroupID(f.srv, "Lab"), "Publish to Library…")
	c.current.(*publishDialog).submit()
	c.settle()
	if txt := overlayText(c); txt != "" {
		t.Fatalf("publish: %q", txt)
	}
	if g := groups(); len(g) != 1 || g[0] != "Lab" {
		t.Fatalf("the library shows groups %v, want Lab", g)
	}

	// Pull as Pulled, held after the first blob, cancelled.
	resBefore, _ := os.ReadFile(storeOf(f.srv).ResPath("Lab"))
	p.Hold(1)
	f.do(t, app.LibraryGroupID("lab", "Lab"), "Pull…")
	nd := c.current.(*nameDialog)
	nd.entry.SetText("Pulled")
	nd.submit()
	waitHeld(t, p)
	note = cancelRunningJob(t, c, "Pull Lab from lab", "downloading file data")
	if !strings.Contains(note, "Pull Lab from lab: Cancelled") || !strings.Contains(note, "fetches only what is still missing") {
		t.Fatalf("status line after the cancelled pull: %q", note)
	}
	if _, err := os.Stat(storeOf(f.srv).GroupDir("Pulled")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the cancelled pull created group Pulled: %v", err)
	}
	if _, ok := c.model.Node(app.GroupID(f.srv, "Pulled")); ok {
		t.Fatal("the tree shows group Pulled after a cancelled pull")
	}
	if resAfter, _ := os.ReadFile(storeOf(f.srv).ResPath("Lab")); string(resAfter) != string(resBefore) {
		t.Fatal("the cancelled pull changed Lab's Res.rwm")
	}
	p.Release()
	f.do(t, app.LibraryGroupID("lab", "Lab"), "Pull…")
	nd = c.current.(*nameDialog)
	nd.entry.SetText("Pulled")
	nd.submit()
	c.settle()
	if txt := overlayText(c); txt != "" {
		t.Fatalf("pull: %q", txt)
	}
	if len(c.model.Children(app.GroupID(f.srv, "Pulled"))) != 2 {
		t.Fatalf("after the pull: %v", c.model.Children(app.GroupID(f.srv, "Pulled")))
	}
}
