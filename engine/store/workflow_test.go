package store

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/wimconsole/wimconsole/engine/wim"
	"github.com/wimconsole/wimconsole/internal/fixtures"
	"github.com/wimconsole/wimconsole/internal/oracle"
)

// TestWDSServicingWorkflow runs the servicing workflow of a WDS
// administrator end to end, checking every image with wimlib after each
// step.
func TestWDSServicingWorkflow(t *testing.T) {
	oracle.Wimlib(t)
	ctx := context.Background()
	s := openStore(t)
	a, b := baseTree("A"), baseTree("B")
	src := captureWIM(t, "lzx", writeTree(t, a), writeTree(t, b))
	unattend := fixtures.Path(t, "ImageUnattend.xml")

	// 1. Add a two-image WIM.
	refs, err := s.AddImage(ctx, src, AddOptions{Group: "Win11", Unattend: unattend})
	if err != nil {
		t.Fatal(err)
	}
	ra, rb := refs[0], refs[1]
	oem := filepath.Join(s.GroupDir("Win11"), rb.File, "$OEM$", "$1", "setup.cmd")
	os.MkdirAll(filepath.Dir(oem), 0o755)
	os.WriteFile(oem, []byte("echo oem\n"), 0o644)
	check := func(want map[ImageRef]map[string]string) {
		t.Helper()
		for r, tree := range want {
			oracleApply(t, s, r, tree)
		}
		mustVerify(t, s)
	}
	check(map[ImageRef]map[string]string{ra: a, rb: b})

	// 2. Disable image B, 3. export it, 4. change it by capturing a
	// modified tree.
	no := false
	if err := s.SetImage(ctx, rb, SetOptions{Enabled: &no}); err != nil {
		t.Fatal(err)
	}
	exp := filepath.Join(t.TempDir(), "b.wim")
	if err := s.ExportImage(ctx, rb, exp, ExportOptions{}); err != nil {
		t.Fatal(err)
	}
	mod := filepath.Join(t.TempDir(), "mod")
	oracle.Run(t, "apply", exp, "1", mod)
	b2 := baseTree("B")
	b2["Windows/system32/drivers.sys"] = "patched driver\n"
	b2["Windows/new.txt"] = "added by servicing\n"
	for k, v := range b2 {
		os.MkdirAll(filepath.Join(mod, filepath.Dir(k)), 0o755)
		os.WriteFile(filepath.Join(mod, filepath.FromSlash(k)), []byte(v), 0o644)
	}
	if _, err := wim.Capture(ctx, mod, exp, wim.CaptureOptions{Name: "Serviced B", Append: true}); err != nil {
		t.Fatal(err)
	}

	// 5. Replace it while an install session runs: enable briefly so
	// the session can start, then disable and replace; replace waits.
	yes := true
	s.SetImage(ctx, rb, SetOptions{Enabled: &yes})
	se, err := s.OpenSession(rb, "client-1")
	if err != nil {
		t.Fatal(err)
	}
	s.SetImage(ctx, rb, SetOptions{Enabled: &no})
	ended := make(chan time.Time, 1)
	go func() {
		time.Sleep(700 * time.Millisecond)
		ended <- time.Now()
		s.CloseSession(se.ID)
	}()
	if err := s.ReplaceImage(ctx, rb, exp, ReplaceOptions{SourceIndex: 2, Wait: 50 * time.Millisecond}); err == nil {
		t.Fatal("replace did not wait for the install session")
	}
	if err := s.ReplaceImage(ctx, rb, exp, ReplaceOptions{SourceIndex: 2, Wait: 30 * time.Second}); err != nil {
		t.Fatal(err)
	}
	if time.Now().Before(<-ended) {
		t.Fatal("replace finished before the session ended")
	}
	if _, err := os.Stat(oem); err != nil {
		t.Fatalf("$OEM$ lost by replace: %v", err)
	}
	im, _ := s.GetImage(ctx, rb)
	if im.Unattend == "" || im.Enabled {
		t.Fatalf("after replace: %+v", im)
	}
	check(map[ImageRef]map[string]string{ra: a, rb: b2})

	// 6. Remove the other image: the group does not shrink.
	before := dirWIMBytes(s.GroupDir("Win11"))
	resBefore, _ := os.Stat(s.ResPath("Win11"))
	if err := s.RemoveImage(ctx, ra); err != nil {
		t.Fatal(err)
	}
	resAfter, _ := os.Stat(s.ResPath("Win11"))
	if resAfter.Size() != resBefore.Size() {
		t.Fatalf("Res.rwm changed on remove: %d -> %d", resBefore.Size(), resAfter.Size())
	}
	gs, _ := s.Space(ctx, "Win11")
	if gs.DeadBytes == 0 {
		t.Errorf("no dead bytes after remove: %+v", gs)
	}
	check(map[ImageRef]map[string]string{rb: b2})

	// 7. Regroup: the size drops to about a fresh group's.
	res, err := s.Regroup(ctx, "Win11", RegroupOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fresh := openStore(t)
	if _, err := fresh.AddImage(ctx, exp, AddOptions{Group: "F", Indexes: []int{2}}); err != nil {
		t.Fatal(err)
	}
	freshBytes := dirWIMBytes(fresh.GroupDir("F"))
	t.Logf("group bytes: before remove %d, before regroup %d, after %d, fresh %d", before, res.BytesBefore, res.BytesAfter, freshBytes)
	if res.BytesAfter >= res.BytesBefore || res.BytesAfter > freshBytes+freshBytes/10+4096 {
		t.Errorf("regroup: %d -> %d bytes, a fresh group has %d", res.BytesBefore, res.BytesAfter, freshBytes)
	}
	if _, err := os.Stat(oem); err != nil {
		t.Fatalf("$OEM$ lost by regroup: %v", err)
	}
	im, _ = s.GetImage(ctx, rb)
	if im.Unattend == "" || im.Enabled {
		t.Fatalf("catalog state lost by regroup: %+v", im)
	}
	if _, err := os.Stat(filepath.Join(s.GroupDir("Win11"), im.Unattend)); err != nil {
		t.Fatal(err)
	}
	check(map[ImageRef]map[string]string{rb: b2})
}
