package views

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wimconsole/wimconsole/app"
	"github.com/wimconsole/wimconsole/engine/remote"
	"github.com/wimconsole/wimconsole/engine/remote/remotetest"
	"github.com/wimconsole/wimconsole/engine/store"
	"github.com/wimconsole/wimconsole/engine/wim"
)

// eventually waits up to 10 seconds for ok, letting the console show what
// arrived meanwhile.
func eventually(t *testing.T, c *Console, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
		c.settle()
	}
}

// TestAddRemoteServer is the console end to end against a served store:
// Add Server… (the probed fingerprint shown, then trusted), the server's
// tree, Disable through the console, a change made on the server arriving
// through the event stream, the server going away (offline) and coming
// back without a restart, and Remove Server.
func TestAddRemoteServer(t *testing.T) {
	oldMin, oldMax := app.ReconnectMin, app.ReconnectMax
	app.ReconnectMin, app.ReconnectMax = 50*time.Millisecond, 200*time.Millisecond
	t.Cleanup(func() { app.ReconnectMin, app.ReconnectMax = oldMin, oldMax })
	ctx := context.Background()
	f := newFixture(t)
	c := f.c
	c.serverList = filepath.Join(t.TempDir(), "config", app.ServerListFile)

	st, err := store.Open(filepath.Join(t.TempDir(), "RemoteInstall"))
	if err != nil {
		t.Fatal(err)
	}
	refs, err := st.AddImage(ctx, f.src, store.AddOptions{Group: "Deploy"})
	if err != nil {
		t.Fatal(err)
	}
	token, _, err := remote.OpenTokens(st.Root()).Create(remote.RoleAdmin, nil, "console")
	if err != nil {
		t.Fatal(err)
	}
	addr, stop := remotetest.Serve(t, st, "127.0.0.1:0")
	t.Cleanup(c.StopServers) // runs before the server stops
	cert, err := remote.LoadOrCreateCert(st.Root())
	if err != nil {
		t.Fatal(err)
	}
	fp := remote.CertFingerprint(cert)

	// Add Server…: address and token, Connect, the fingerprint, Trust.
	var add func()
	for _, it := range c.mainMenu().Items[0].Items {
		if it.Label == "Add Server…" {
			add = it.Action
		}
	}
	if add == nil {
		t.Fatal("the File menu has no Add Server…")
	}
	add()
	d, ok := c.current.(*addServerDialog)
	if !ok {
		t.Fatalf("Add Server… opened %T", c.current)
	}
	d.address.SetText("https://" + addr)
	d.token.SetText(token)
	tapButton(t, c, "Connect")
	if text := overlayText(c); !strings.Contains(text, fp) {
		t.Fatalf("the trust dialog does not show the fingerprint %s:\n%s", fp, text)
	}
	tapButton(t, c, "Trust")

	var srv *app.Server
	for _, s := range c.model.Servers() {
		if s.IsRemote() {
			srv = s
		}
	}
	if srv == nil || srv.Name != addr {
		t.Fatalf("no remote server %s in the console: %v", addr, c.model.Servers())
	}
	list, err := app.LoadServerList(c.serverList)
	if err != nil || len(list) != 1 || list[0].URL != "https://"+addr || list[0].Fingerprint != fp || list[0].Token != token {
		t.Fatalf("server list after Add Server: %+v %v", list, err)
	}
	saved := list[0]
	if _, ok := c.model.Node(app.GroupID(srv, "Deploy")); !ok {
		t.Fatalf("group Deploy of the remote server is not in the tree: %v", c.model.Children(app.InstallID(srv)))
	}
	imgID := app.ImageID(srv, refs[0])
	n, ok := c.model.Node(imgID)
	if !ok || n.Disabled() {
		t.Fatalf("remote image node %s: %+v %v", imgID, n, ok)
	}
	if tab := c.model.Details(app.GroupID(srv, "Deploy")); len(tab.Rows) != len(refs) {
		t.Errorf("details of the remote group: %d rows, want %d", len(tab.Rows), len(refs))
	}

	// A remote server's menus are the local ones, with Remove Server.
	c.Select(imgID)
	if got := strings.Join(menuLabels(c.actionItems()), ","); got != "Disable,Export Image…,Replace Image…,Copy Image…,Browse Files…,Service Image…,Mount to Folder…,Add Driver Package…,Rename,Delete,Refresh,Properties" {
		t.Errorf("remote image menu: %s", got)
	}
	for _, it := range c.actionItems() {
		if (it.Label == "Browse Files…" || it.Label == "Service Image…" || it.Label == "Mount to Folder…" || it.Label == "Add Driver Package…") && !it.Disabled {
			t.Errorf("%s is enabled for a remote image", it.Label)
		}
	}
	c.Select(parentID(app.InstallID(srv)))
	if got := strings.Join(menuLabels(c.actionItems()), ","); got != "Add Install Image…,Add Boot Image…,Add Image Group…,Add Server…,Remove Server,Refresh,Properties" {
		t.Errorf("remote server menu: %s", got)
	}

	// Disable through the console: the server's store has it.
	f.do(t, imgID, "Disable")
	if im, err := st.GetImage(ctx, refs[0]); err != nil || im.Enabled {
		t.Fatalf("after Disable the server's image is %+v %v", im, err)
	}
	if n, _ := c.model.Node(imgID); !n.Disabled() {
		t.Errorf("the tree does not show the image disabled")
	}
	f.do(t, imgID, "Properties")
	if p, ok := c.current.(*imageProperties); !ok || p.p.Image.Enabled {
		t.Fatalf("Properties of the remote image: %T", c.current)
	}

	// A change made on the server arrives through the event stream.
	name := "Renamed on the server"
	if err := st.SetImage(ctx, refs[1], store.SetOptions{Name: &name}); err != nil {
		t.Fatal(err)
	}
	id1 := app.ImageID(srv, refs[1])
	eventually(t, c, "the rename to arrive", func() bool {
		n, _ := c.model.Node(id1)
		return n.Label == name
	})

	// Export downloads, Copy Image copies on the server, Add Install
	// Image uploads: each as a job of the console.
	dest := filepath.Join(t.TempDir(), "out.wim")
	f.do(t, id1, "Export Image…")
	ew := c.current.(*exportWizard)
	ew.dest.SetText(dest)
	ew.submit()
	c.settle()
	x, err := wim.Open(dest, nil)
	if err != nil {
		t.Fatalf("exported file: %v (%s)", err, overlayText(c))
	}
	if x.ImageCount() != 1 || x.XML().Images[0].Name != name {
		t.Errorf("exported file: %d images", x.ImageCount())
	}
	if err := x.Verify(ctx, nil); err != nil {
		t.Error(err)
	}
	x.Close()
	f.do(t, id1, "Copy Image…")
	nd := c.current.(*nameDialog)
	if nd.entry.Text != refs[1].File+"-copy" {
		t.Errorf("suggested copy name %q", nd.entry.Text)
	}
	nd.submit()
	c.settle()
	cp := refs[1]
	cp.File += "-copy"
	if _, err := st.GetImage(ctx, cp); err != nil {
		t.Fatalf("copy on the server: %v (%s)", err, overlayText(c))
	}
	f.do(t, app.ImageID(srv, cp), "Delete")
	tapButton(t, c, "Delete")
	if _, err := st.GetImage(ctx, cp); err == nil {
		t.Fatalf("Delete left the copy on the server (%s)", overlayText(c))
	}
	f.do(t, app.GroupID(srv, "Deploy"), "Add Install Image…")
	w := c.current.(*addWizard)
	w.source.SetText(makeWIM(t, "Z"))
	next(t, w.wiz)
	if !strings.Contains(w.gain.Text, "cannot tell") {
		t.Errorf("gain on a remote group: %q", w.gain.Text)
	}
	w.submit()
	c.settle()
	ims, err := st.ListImages(ctx, store.ListOptions{Group: "Deploy"})
	if err != nil || len(ims) != len(refs)+1 {
		t.Fatalf("after Add Install Image the server's group has %d images, %v (%s)", len(ims), err, overlayText(c))
	}
	eventually(t, c, "the added images in the tree", func() bool {
		return len(c.model.Children(app.GroupID(srv, "Deploy"))) == len(refs)+1
	})

	// The server goes away: offline; it comes back: online, no restart.
	sid := parentID(app.InstallID(srv))
	label := func() string { n, _ := c.model.Node(sid); return n.Label }
	stop()
	eventually(t, c, "the server to show offline", func() bool { return label() == addr+" (offline)" })
	if n, _ := c.model.Node(sid); nodeIcon(n) != offlineServerIcon {
		t.Errorf("offline server icon %v", nodeIcon(n).Name())
	}
	remotetest.Serve(t, st, addr)
	eventually(t, c, "the server to come back", func() bool {
		_, ok := c.model.Node(id1)
		return label() == addr && ok
	})

	// Remove Server: gone from the tree and the list, the store untouched.
	f.do(t, sid, "Remove Server")
	tapButton(t, c, "Remove")
	if _, ok := c.model.Node(sid); ok {
		t.Fatal("the removed server is still in the tree")
	}
	if list, err := app.LoadServerList(c.serverList); err != nil || len(list) != 0 {
		t.Fatalf("server list after Remove Server: %+v %v", list, err)
	}
	if ims, err := st.ListImages(ctx, store.ListOptions{Group: "Deploy"}); err != nil || len(ims) != len(refs)+1 {
		t.Fatalf("the server's store after Remove Server: %d images, %v", len(ims), err)
	}

	// A saved list loads at start: the server is back in the tree.
	if err := app.SaveServerList(c.serverList, []app.RemoteServer{saved}); err != nil {
		t.Fatal(err)
	}
	if err := c.LoadServers(c.serverList); err != nil {
		t.Fatal(err)
	}
	eventually(t, c, "the saved server to load", func() bool {
		n, ok := c.model.Node(id1)
		return ok && n.Label == name
	})
}

// TestAddServerRefused: a wrong token, or a fingerprint not trusted, adds
// nothing and saves nothing.
func TestAddServerRefused(t *testing.T) {
	f := newFixture(t)
	c := f.c
	c.serverList = filepath.Join(t.TempDir(), app.ServerListFile)
	st, err := store.Open(filepath.Join(t.TempDir(), "RemoteInstall"))
	if err != nil {
		t.Fatal(err)
	}
	addr, _ := remotetest.Serve(t, st, "127.0.0.1:0")
	t.Cleanup(c.StopServers)
	fill := func(token string) {
		c.addServer()
		d := c.current.(*addServerDialog)
		d.address.SetText(addr) // https:// is implied
		d.token.SetText(token)
		tapButton(t, c, "Connect")
	}
	fill("not-a-token")
	tapButton(t, c, "Trust")
	if txt := overlayText(c); !strings.Contains(txt, "Add Server https://"+addr+" failed") {
		t.Errorf("wrong token: %q", txt)
	}
	fill("not-a-token")
	tapButton(t, c, "Cancel")
	if len(c.model.Servers()) != 1 {
		t.Fatalf("servers after refusals: %v", c.model.Servers())
	}
	if list, err := app.LoadServerList(c.serverList); err != nil || len(list) != 0 {
		t.Fatalf("server list after refusals: %+v %v", list, err)
	}
	c.addServer()
	c.current.(*addServerDialog).address.SetText("http://" + addr)
	c.current.(*addServerDialog).token.SetText("x")
	tapButton(t, c, "Connect")
	if txt := overlayText(c); !strings.Contains(txt, "https only") {
		t.Errorf("plain http: %q", txt)
	}
}
