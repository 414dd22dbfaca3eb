package app

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wimconsole/wimconsole/engine/progress"
	"github.com/wimconsole/wimconsole/engine/store"
	"github.com/wimconsole/wimconsole/internal/oracle"
	"github.com/wimconsole/wimconsole/internal/seaweedtest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	seaweedtest.Stop()
	os.Exit(code)
}

// cell returns the value of the Property/Value row named prop of t.
func cell(t Table, prop string) string {
	for _, r := range t.Rows {
		if len(r) == 2 && r[0] == prop {
			return r[1]
		}
	}
	return ""
}

// TestLibrariesNodeOffline: a library that cannot be listed shows as
// offline with the reason in its details, and is no error of the refresh;
// the Libraries node lists it; no list, no Libraries node.
func TestLibrariesNodeOffline(t *testing.T) {
	srv := newServer(t)
	m := NewModel(srv)
	if _, ok := m.Node(LibrariesID); ok {
		t.Fatal("a Libraries node without a library list")
	}
	list := filepath.Join(t.TempDir(), "libraries.json")
	m.SetLibraryList(list)
	if err := m.Refresh(); err != nil {
		t.Fatal(err)
	}
	if n, ok := m.Node(LibrariesID); !ok || n.Kind != KindLibraries || !m.IsBranch(LibrariesID) || n.Server != srv {
		t.Fatalf("Libraries node %+v %v", n, ok)
	}
	if roots := m.Children(""); len(roots) != 2 || roots[1] != LibrariesID {
		t.Fatalf("roots %v", roots)
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	for _, tc := range []struct{ name, url, reason string }{
		{"nocreds", "http://127.0.0.1:1/bucket/p", "AWS_ACCESS_KEY_ID"},
		{"down", "http://127.0.0.1:1/bucket/p", "127.0.0.1:1"},
	} {
		if tc.name == "down" {
			t.Setenv("AWS_ACCESS_KEY_ID", "k")
			t.Setenv("AWS_SECRET_ACCESS_KEY", "s")
		}
		if err := m.AddLibrary(LibraryConfig{Name: tc.name, URL: " " + tc.url + " "}); err != nil {
			t.Fatal(err)
		}
		m.RefreshLibraries()
		start := time.Now()
		if err := m.Refresh(); err != nil {
			t.Fatalf("%s: refresh: %v", tc.name, err)
		}
		if d := time.Since(start); d > libraryListTimeout+5*time.Second {
			t.Fatalf("%s: the refresh took %s", tc.name, d)
		}
		n, ok := m.Node(LibraryID(tc.name))
		if !ok || n.Label != tc.name+" (offline)" {
			t.Fatalf("%s: node %+v", tc.name, n)
		}
		d := m.Details(n.ID)
		if cell(d, "Status") != "Offline" || !strings.Contains(cell(d, "Reason"), tc.reason) {
			t.Fatalf("%s: details %v", tc.name, d.Rows)
		}
		if s := m.NodeStatus(n.ID); !strings.Contains(s, "offline") {
			t.Fatalf("%s: status %q", tc.name, s)
		}
		if m.IsBranch(n.ID) || len(m.Children(n.ID)) != 0 {
			t.Fatalf("%s: an offline library is a branch (the tree would draw an expand arrow over no children)", tc.name)
		}
	}
	if err := m.AddLibrary(LibraryConfig{Name: "down", URL: "http://127.0.0.1:2/b/p"}); err == nil || !strings.Contains(err.Error(), "already") {
		t.Fatalf("a second library named down: %v", err)
	}
	d := m.Details(LibrariesID)
	if len(d.Rows) != 2 || d.Rows[0][0] != "down" || !strings.HasPrefix(d.Rows[0][3], "Offline: ") {
		t.Fatalf("Libraries details %v", d.Rows)
	}
	if _, err := m.PullFromLibrary(context.Background(), "nope", "G", srv, "", nil); err == nil || !strings.Contains(err.Error(), "library add") {
		t.Fatalf("pull from an unknown library: %v", err)
	}
}

// TestLibraryPublishPull: the console publishes a group of store A to a
// library on a real SeaweedFS, then pulls it into store B under another
// name; the details show what each store lacks.
func TestLibraryPublishPull(t *testing.T) {
	oracle.Wimlib(t)
	e := seaweedtest.Start(t)
	t.Setenv("AWS_ACCESS_KEY_ID", e.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", e.SecretKey)
	ctx := context.Background()
	list := filepath.Join(t.TempDir(), "libraries.json")
	a, b := newServer(t), newServer(t)
	if _, err := storeOf(a).AddImage(ctx, makeWIM(t, "A", "B"), store.AddOptions{Group: "Lab"}); err != nil {
		t.Fatal(err)
	}
	ma, mb := NewModel(a), NewModel(b)
	ma.SetLibraryList(list)
	mb.SetLibraryList(list)
	url := fmt.Sprintf("http://%s/console%d/sites", e.Addr, time.Now().UnixNano())
	if err := ma.AddLibrary(LibraryConfig{Name: "lab", URL: url}); err != nil {
		t.Fatal(err)
	}
	ma.Refresh()
	if n, _ := ma.Node(LibraryID("lab")); n.Label != "lab" || !strings.Contains(ma.NodeStatus(n.ID), "nothing published yet") {
		t.Fatalf("a library nobody published to: %+v, %q, %v", n, ma.NodeStatus(n.ID), ma.Details(n.ID).Rows)
	}
	// Reports come from the upload workers at once (progress.Func may be
	// called from several goroutines).
	var reports atomic.Int64
	count := func(progress.Report) { reports.Add(1) }
	if _, err := ma.PublishToLibrary(ctx, a, "Lab", "lab", "", count); err != nil {
		t.Fatal(err)
	}
	if reports.Load() == 0 {
		t.Error("publish reported no progress")
	}
	for _, m := range []*Model{ma, mb} {
		if err := m.Refresh(); err != nil {
			t.Fatal(err)
		}
	}
	da, db := ma.Details(LibraryID("lab")), mb.Details(LibraryID("lab"))
	if strings.Join(da.Columns, ",") != "Name,Images,Size,Missing here" || len(da.Rows) != 1 ||
		da.Rows[0][0] != "Lab" || da.Rows[0][1] != "2" || da.Rows[0][3] != "0 bytes" || da.RowIDs[0] != LibraryGroupID("lab", "Lab") {
		t.Fatalf("site A's library details %v %v", da.Rows, da.RowIDs)
	}
	if len(db.Rows) != 1 || db.Rows[0][3] == "0 bytes" {
		t.Fatalf("site B's library details %v", db.Rows)
	}
	if n, ok := mb.Node(LibraryGroupID("lab", "Lab")); !ok || n.Kind != KindLibraryGroup || n.Library != "lab" || n.Server != b {
		t.Fatalf("library group node %+v", n)
	}
	if s := mb.NodeStatus(LibraryGroupID("lab", "Lab")); !strings.HasPrefix(s, "lab/Lab: 2 images, ") || !strings.HasSuffix(s, " missing here") {
		t.Fatalf("library group status %q", s)
	}
	if _, err := mb.PublishToLibrary(ctx, b, "Nope", "lab", "", nil); err == nil || !strings.Contains(err.Error(), "Nope") {
		t.Fatalf("publishing a group store B lacks: %v", err)
	}
	reports.Store(0)
	if _, err := mb.PullFromLibrary(ctx, "lab", "Lab", b, " Site ", count); err != nil {
		t.Fatal(err)
	}
	if reports.Load() == 0 {
		t.Error("pull reported no progress")
	}
	if err := mb.Refresh(); err != nil {
		t.Fatal(err)
	}
	kids := mb.Children(GroupID(b, "Site"))
	if len(kids) != 2 {
		t.Fatalf("pulled group Site: %v", kids)
	}
	// wimlib-imagex reads the pulled images with the pulled Res.rwm.
	res := "--ref=" + storeOf(b).ResPath("Site")
	for _, id := range kids {
		n, _ := mb.Node(id)
		path := storeOf(b).ImagePath(n.Ref())
		oracle.Run(t, "verify", path, res)
		oracle.Run(t, "apply", path, "1", filepath.Join(t.TempDir(), "out"), res)
	}
	// Lab is still missing at B, but its data is there (in Site's
	// Res.rwm, not Lab's): Missing counts per group.
	if g := mb.Details(LibraryGroupID("lab", "Lab")); g.Rows[0][1] != "Lab" || cell(g, "Images") != "2" {
		t.Fatalf("library group details %v", g.Rows)
	}
	if _, err := mb.PullFromLibrary(ctx, "lab", "Lab", b, "", nil); err != nil {
		t.Fatal(err)
	}
	mb.Refresh()
	if db = mb.Details(LibraryID("lab")); db.Rows[0][3] != "0 bytes" {
		t.Fatalf("after the pull, site B lacks %v", db.Rows)
	}
}

// TestLibraryNotAnswering: a library whose endpoint takes the connection
// but never answers shows as offline once libraryListTimeout has passed,
// saying so; the refresh does not wait longer.
func TestLibraryNotAnswering(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var accepted atomic.Int32
	go func() {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			held = append(held, c) // never answered
		}
	}()
	oldTimeout, oldAge := libraryListTimeout, libraryListAge
	libraryListTimeout, libraryListAge = 300*time.Millisecond, 0 // an online library is listed on every refresh
	t.Cleanup(func() { libraryListTimeout, libraryListAge = oldTimeout, oldAge })
	t.Setenv("AWS_ACCESS_KEY_ID", "k")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "s")
	m := NewModel(newServer(t))
	m.SetLibraryList(filepath.Join(t.TempDir(), "libraries.json"))
	if err := m.AddLibrary(LibraryConfig{Name: "mute", URL: "http://" + ln.Addr().String() + "/bucket/p"}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := m.Refresh(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("the refresh took %s", d)
	}
	n, _ := m.Node(LibraryID("mute"))
	if reason := cell(m.Details(n.ID), "Reason"); n.Label != "mute (offline)" || !strings.Contains(reason, "did not answer within") {
		t.Fatalf("node %+v, reason %q", n, reason)
	}
	// The refreshes that follow (changes of the store) do not wait for
	// the offline library again; the console's Refresh does.
	dialled := accepted.Load()
	start = time.Now()
	m.Refresh()
	if d := time.Since(start); accepted.Load() != dialled || d >= libraryListTimeout {
		t.Fatalf("a second refresh dialled the offline library again (%d → %d connections, %s)", dialled, accepted.Load(), d)
	}
	m.RefreshLibraries()
	m.Refresh()
	if accepted.Load() == dialled {
		t.Fatal("RefreshLibraries did not list the library again")
	}
}
