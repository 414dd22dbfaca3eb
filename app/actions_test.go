package app

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wimconsole/wimconsole/engine/progress"
	"github.com/wimconsole/wimconsole/engine/store"
	"github.com/wimconsole/wimconsole/engine/store/storetest"
)

// makeWIM is shared with the other packages' tests.
var makeWIM = storetest.VariantsWIM

func newServer(t testing.TB) *Server {
	t.Helper()
	srv, err := LocalServer(filepath.Join(t.TempDir(), "RemoteInstall"))
	if err != nil {
		t.Fatal(err)
	}
	return srv
}

func TestModelImagesAndDetails(t *testing.T) {
	ctx := context.Background()
	srv := newServer(t)
	src := makeWIM(t, "A", "B")
	if _, err := storeOf(srv).AddImage(ctx, src, store.AddOptions{Group: "Lab"}); err != nil {
		t.Fatal(err)
	}
	if _, err := storeOf(srv).AddImage(ctx, src, store.AddOptions{Boot: true, Arch: "x64", Indexes: []int{1}}); err != nil {
		t.Fatal(err)
	}
	m := NewModel(srv)
	gid := GroupID(srv, "Lab")
	kids := m.Children(gid)
	if len(kids) != 2 {
		t.Fatalf("group children %v", kids)
	}
	n, _ := m.Node(kids[0])
	if n.Kind != KindImage || n.Label != "Image A" || n.Disabled() {
		t.Fatalf("image node %+v", n)
	}
	if err := srv.SetEnabled(ctx, n.Ref(), false); err != nil {
		t.Fatal(err)
	}
	b, _ := m.Node(kids[1])
	if err := srv.SetNameDescription(ctx, b.Ref(), "Image B", "Lab build"); err != nil {
		t.Fatal(err)
	}
	m.Refresh()
	if n, _ = m.Node(kids[0]); !n.Disabled() {
		t.Fatal("disabled image not shown disabled")
	}
	d := m.Details(gid)
	if len(d.Columns) != 11 || len(d.Rows) != 2 || d.Rows[0][2] != "Offline" || d.Rows[1][2] != "Online" {
		t.Fatalf("group details %v %v", d.Columns, d.Rows)
	}
	// Priority (the display order) and Description, as WDS lists them.
	for i, want := range []struct{ order, desc string }{{"1", ""}, {"2", "Lab build"}} {
		if d.Columns[3] != "Priority" || d.Columns[4] != "Description" || d.Rows[i][3] != want.order || d.Rows[i][4] != want.desc {
			t.Fatalf("group details: Priority and Description %v %v", d.Columns, d.Rows)
		}
	}
	if s := d.Sorted(2, false); s.Rows[0][2] != "Offline" || s.RowIDs[0] != kids[0] {
		t.Fatalf("sorted by status %v", s.Rows)
	}
	if s := d.Sorted(0, true); s.Rows[0][0] != "Image B" || s.RowIDs[0] != kids[1] {
		t.Fatalf("sorted by name descending %v", s.Rows)
	}
	boot := m.Children(ArchID(srv, "x64"))
	if len(boot) != 1 {
		t.Fatalf("boot images %v", boot)
	}
	if b, _ := m.Node(boot[0]); b.Kind != KindBootImage || b.Ref().Arch != "x64" || !b.Ref().Boot {
		t.Fatalf("boot node %+v", b)
	}
	inst := m.Details(InstallID(srv))
	if len(inst.Rows) != 1 || inst.Rows[0][1] != "2" || inst.Columns[2] != "Res.rwm Size" {
		t.Fatalf("install details %v", inst.Rows)
	}
	found := false
	for _, r := range m.Details(m.Children("")[0]).Rows {
		if r[0] == "Install images" && r[1] == "2" {
			found = true
		}
	}
	if !found {
		t.Fatal("server details lack the image total")
	}
}

func TestSortedNumbersAndKeys(t *testing.T) {
	tb := Table{Columns: []string{"n", "size"},
		Rows: [][]string{{"10", "1.0 KB"}, {"9", "900 bytes"}, {"b", "2.0 MB"}},
		Keys: [][]string{{"10", sizeKey(1024)}, {"9", sizeKey(900)}, {"b", sizeKey(2 << 20)}}}
	if got := tb.Sorted(0, false); got.Rows[0][0] != "9" || got.Rows[1][0] != "10" {
		t.Errorf("numeric sort %v", got.Rows)
	}
	if got := tb.Sorted(1, true); got.Rows[0][1] != "2.0 MB" || got.Rows[2][1] != "900 bytes" {
		t.Errorf("size sort %v", got.Rows)
	}
}

func TestFormatBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 bytes", 1: "1 byte", 1536: "1.5 KB", 5 << 30: "5.0 GB", 300 << 20: "300 MB"} {
		if got := FormatBytes(n); got != want {
			t.Errorf("FormatBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestActions(t *testing.T) {
	ctx := context.Background()
	srv := newServer(t)
	src := makeWIM(t, "A", "B")
	picks, err := InspectSources([]string{src})
	if err != nil || len(picks) != 2 || picks[1].Name != "Image B" || picks[0].Bytes == 0 {
		t.Fatalf("InspectSources = %+v, %v", picks, err)
	}
	// A new group gains everything; after adding A, B shares the kernel.
	g, err := srv.GroupGain(ctx, "Lab", picks[:1])
	if err != nil || g.NewBytes == 0 || g.SharedBytes != 0 {
		t.Fatalf("gain into new group %+v %v", g, err)
	}
	refs, err := srv.AddImages(ctx, AddRequest{Picks: picks[:1], Group: "Lab", Name: "Renamed", Description: "d"}, nil)
	if err != nil || len(refs) != 1 {
		t.Fatal(refs, err)
	}
	g, err = srv.GroupGain(ctx, "Lab", picks[1:])
	if err != nil || g.SharedBytes == 0 || g.NewBytes == 0 {
		t.Fatalf("gain of B %+v %v", g, err)
	}
	if !strings.Contains(g.String(), "already in the group") {
		t.Error(g.String())
	}
	im, _ := storeOf(srv).GetImage(ctx, refs[0])
	if im.Name != "Renamed" || im.Description != "d" {
		t.Fatalf("name/description not set: %+v", im)
	}
	// Replace an enabled image: disabled for the swap, enabled again.
	if err := srv.ReplaceImage(ctx, refs[0], src, store.ReplaceOptions{SourceIndex: 2}); err != nil {
		t.Fatal(err)
	}
	im, _ = storeOf(srv).GetImage(ctx, refs[0])
	if !im.Enabled || im.Name != "Renamed" {
		t.Fatalf("after replace: %+v", im)
	}
	cp := srv.FreeFileName(refs[0])
	if _, err := srv.CopyImage(ctx, refs[0], cp, ""); err != nil {
		t.Fatal(err)
	}
	if srv.FreeFileName(refs[0]) == cp {
		t.Fatal("FreeFileName offered a taken name")
	}
	if w := srv.DeleteGroupWarning(ctx, "Lab"); !strings.Contains(w, "2 image(s)") || !strings.Contains(w, "Res.rwm") {
		t.Fatal(w)
	}
	if w := DeleteWarning(&im); !strings.Contains(w, im.File) {
		t.Fatal(w)
	}
	p, err := srv.Properties(ctx, refs[0])
	if err != nil || p.Space == nil {
		t.Fatalf("properties %+v %v", p, err)
	}
	if err := srv.DeleteImage(ctx, refs[0]); err != nil {
		t.Fatal(err)
	}
	pre, err := srv.PreviewRegroup(ctx, "Lab")
	if err != nil || pre.Reclaimable == 0 {
		t.Fatalf("regroup preview %+v %v", pre, err)
	}
	res, err := srv.Regroup(ctx, "Lab", "Lab2", true, nil)
	if err != nil || res.BytesAfter >= res.BytesBefore {
		t.Fatalf("regroup %+v %v", res, err)
	}
	if err := srv.RenameGroup("Lab2", "Lab3"); err != nil {
		t.Fatal(err)
	}
	if err := srv.DeleteGroup("Lab3"); err != nil {
		t.Fatal(err)
	}
	if gs, _ := storeOf(srv).Groups(); len(gs) != 0 {
		t.Fatalf("groups left %v", gs)
	}
}

func TestJobs(t *testing.T) {
	js := NewJobs()
	changes := make(chan struct{}, 100)
	js.SetOnChange(func() {
		select {
		case changes <- struct{}{}:
		default:
		}
	})
	release := make(chan struct{})
	j := js.Start("copy", func(ctx context.Context, report progress.Func) error {
		report(progress.Report{Phase: "copying", Done: 50, Total: 100})
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	deadline := time.Now().Add(2 * time.Second)
	for j.Status().Phase != "copying" && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	st := j.Status()
	if st.Fraction != 0.5 || !strings.Contains(st.String(), "50%") {
		t.Fatalf("status %+v %q", st, st)
	}
	if js.Summary() != "1 job running: copy" {
		t.Fatal(js.Summary())
	}
	j.Cancel()
	<-j.Done()
	if err := j.Err(); err == nil || !strings.Contains(err.Error(), "cancelled") {
		t.Fatalf("cancelled job err %v", err)
	}
	if len(js.Running()) != 0 {
		t.Fatal("job still listed")
	}
	j2 := js.Start("ok", func(context.Context, progress.Func) error { <-release; return nil })
	close(release)
	js.Wait()
	if j2.Err() != nil {
		t.Fatal(j2.Err())
	}
	j3 := js.Start("fail", func(context.Context, progress.Func) error { return errors.New("boom") })
	<-j3.Done()
	if j3.Err() == nil || j3.Err().Error() != "boom" {
		t.Fatal(j3.Err())
	}
	if len(changes) == 0 {
		t.Fatal("no change notified")
	}
}
