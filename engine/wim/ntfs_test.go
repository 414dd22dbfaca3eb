//go:build linux

package wim

import (
	"context"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wimconsole/wimconsole/internal/oracle"
)

// makeNTFSWim makes a WIM with NTFS-only metadata: it formats a volume
// image with mkntfs, applies image 1 of srcWim to it with wimlib (NTFS-3G
// mode), adds a named data stream with ntfscp, gives a file a DOS short
// name when an NTFS-3G FUSE mount is possible here, and captures the volume
// with wimlib, which records security descriptors, named streams and short
// names. It reports whether the short name could be set.
func makeNTFSWim(t testing.TB, srcWim, dst string) (shortNames bool) {
	t.Helper()
	oracle.Wimlib(t)
	oracle.Need(t, "mkntfs")
	ntfscp := oracle.Need(t, "ntfscp")
	dir := t.TempDir()
	vol := filepath.Join(dir, "vol.img")
	if err := os.WriteFile(vol, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(vol, 16<<20); err != nil { // sparse
		t.Fatal(err)
	}
	if out, err := exec.Command("mkntfs", "-F", "-f", "-Q", vol).CombinedOutput(); err != nil {
		t.Fatalf("mkntfs: %v\n%s", err, out)
	}
	oracle.Run(t, "apply", srcWim, "1", vol)
	ads := filepath.Join(dir, "ads")
	if err := os.WriteFile(ads, []byte("alternate data stream\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(ntfscp, "-N", "stream:one", vol, ads, "/readme").CombinedOutput(); err != nil {
		t.Fatalf("ntfscp: %v\n%s", err, out)
	}
	if out, err := exec.Command(ntfscp, "-N", "second", vol, ads, "/readme").CombinedOutput(); err != nil {
		t.Fatalf("ntfscp: %v\n%s", err, out)
	}
	shortNames = setShortNameViaFUSE(t, vol)
	oracle.Run(t, "capture", vol, dst, "ntfs")
	return shortNames
}

// setShortNameViaFUSE mounts vol with ntfs-3g in the foreground, creates
// "/Long File Name.txt" with the DOS name LONGFI~1.TXT and unmounts. It
// returns false, changing nothing, when FUSE mounts are not possible.
func setShortNameViaFUSE(t testing.TB, vol string) bool {
	t.Helper()
	ntfs3g, err := exec.LookPath("ntfs-3g")
	if err != nil {
		t.Logf("no ntfs-3g: short names not tested")
		return false
	}
	if _, err := os.Stat("/dev/fuse"); err != nil {
		t.Logf("no /dev/fuse: short names not tested")
		return false
	}
	mnt := t.TempDir()
	cmd := exec.Command(ntfs3g, "-o", "no_detach", vol, mnt)
	if err := cmd.Start(); err != nil {
		t.Logf("ntfs-3g: %v: short names not tested", err)
		return false
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	unmount := func() {
		exec.Command("umount", mnt).Run()
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	}
	// Wait for the mount to appear.
	mounted := false
	for i := 0; i < 100 && !mounted; i++ {
		select {
		case err := <-exited:
			t.Logf("ntfs-3g exited (%v): short names not tested", err)
			return false
		case <-time.After(50 * time.Millisecond):
		}
		if data, err := os.ReadFile("/proc/self/mounts"); err == nil && strings.Contains(string(data), " "+mnt+" ") {
			mounted = true
		}
	}
	if !mounted {
		cmd.Process.Kill()
		<-exited
		t.Logf("ntfs-3g did not mount: short names not tested")
		return false
	}
	p := filepath.Join(mnt, "Long File Name.txt")
	err = os.WriteFile(p, []byte("long name\n"), 0o644)
	if err == nil {
		err = syscall.Setxattr(p, "system.ntfs_dos_name", []byte("LONGFI~1.TXT"), 0)
	}
	unmount()
	if err != nil {
		t.Fatalf("setting a short name on the mounted volume: %v", err)
	}
	return true
}

// TestNTFSMetadata checks NTFS-only metadata against wimlib: security
// descriptors, named data streams and short names (dir --detailed), and
// that apply skips named streams as wimlib does.
func TestNTFSMetadata(t *testing.T) {
	oracle.Wimlib(t)
	dir := t.TempDir()
	small := filepath.Join(dir, "small.wim")
	imgCapture(t, makeSmallTree(t), small, "--compress=none")
	p := filepath.Join(dir, "ntfs.wim")
	shortNames := makeNTFSWim(t, small, p)
	w := imgOpen(t, p)
	img, err := w.Image(1)
	if err != nil {
		t.Fatal(err)
	}
	// What the fixture must contain for the comparison to mean something.
	if len(img.Security) == 0 {
		t.Fatal("no security descriptors captured")
	}
	r := img.Lookup("/readme")
	if r == nil || r.SecurityID < 0 || len(r.NamedStreams()) != 2 {
		t.Fatalf("/readme: %+v", r)
	}
	if shortNames {
		if f := img.Lookup("/Long File Name.txt"); f == nil || f.ShortName != "LONGFI~1.TXT" {
			t.Fatalf("short name not captured: %+v", f)
		}
	}
	imgCheckDir(t, p, img, nil)
	imgCheckDetailed(t, p, img, nil)
	imgCheckInfo(t, p, w)
	st := imgCheckApply(t, p, w, img, nil)
	if st.NamedStreams != 1 {
		t.Errorf("ApplyStats.NamedStreams = %d, want 1", st.NamedStreams)
	}
	if err := w.Verify(context.Background(), nil); err != nil {
		t.Error(err)
	}
}

var updateImageSeeds = flag.Bool("update-image-seeds", false, "rewrite testdata/image/*.meta from wimlib-imagex captures")

// TestUpdateImageSeeds rewrites the seeds (go test -run
// TestUpdateImageSeeds -update-image-seeds).
func TestUpdateImageSeeds(t *testing.T) {
	if !*updateImageSeeds {
		t.Skip("use -update-image-seeds")
	}
	oracle.Wimlib(t)
	if err := os.MkdirAll(imageSeedDir, 0o755); err != nil {
		t.Fatal(err)
	}
	save := func(name, wimPath string) {
		data, err := imgOpen(t, wimPath).MetadataResource(1)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(imageSeedDir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	small := filepath.Join(dir, "small.wim")
	imgCapture(t, makeSmallTree(t), small, "--compress=none")
	save("small.meta", small)
	src := makeSourceTree(t)
	os.RemoveAll(filepath.Join(src, "dup"))
	links := filepath.Join(dir, "links.wim")
	imgCapture(t, src, links, "--compress=none")
	save("links.meta", links)
	ntfs := filepath.Join(dir, "ntfs.wim")
	makeNTFSWim(t, small, ntfs)
	save("ntfs.meta", ntfs)
}
