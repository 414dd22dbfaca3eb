package wim

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wimconsole/wimconsole/internal/oracle"
)

// tempFiles returns the names of the WIM temporary files in dir.
func tempFiles(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if isTempName(e.Name()) || legacyTempName.MatchString(e.Name()) {
			out = append(out, e.Name())
		}
	}
	return out
}

// TestStaleTempsRemovedByNextWrite: the temporary files killed writers
// left beside a WIM go with the next export into that folder; a file a
// live writer holds (its lock), an earlier version's recent file and files
// that only look alike stay.
func TestStaleTempsRemovedByNextWrite(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	src := filepath.Join(t.TempDir(), "src.wim")
	if _, err := Capture(ctx, wtSampleTree(t, 7), src, CaptureOptions{Name: "a", Compression: XPRESS}); err != nil {
		t.Fatal(err)
	}
	zeros := make([]byte, 4096)
	write := func(name string, data []byte, age time.Duration) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		old := time.Now().Add(-age)
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
		return p
	}
	dead := write(".old.wim.wimconsole-tmp0123456789ab", zeros, 0)
	legacyOld := write(".big.wim.tmp00112233aabb", zeros, 2*time.Hour)
	legacyNew := write(".big.wim.tmp445566778899", zeros, 0)
	notWIM := write(".notes.txt.tmpaabbccddeeff", []byte(strings.Repeat("x", 300)), 2*time.Hour)
	other := write(".other.wimconsole-tmp", zeros, 2*time.Hour)

	// A live writer: the test holds the lock, as a writer does.
	live := write(".live.wim.wimconsole-tmpffeeddccbbaa", zeros, 0)
	lf, err := os.Open(live)
	if err != nil {
		t.Fatal(err)
	}
	defer lf.Close()
	if err := syscall.Flock(int(lf.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	// And a live writer of this package, mid-write.
	w, err := Create(filepath.Join(dir, "writing.wim"), WriteOptions{Compression: XPRESS})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()

	s := imgOpenW(t, src)
	if _, err := Export(ctx, s, []int{1}, filepath.Join(dir, "out.wim"), ExportOptions{}); err != nil {
		t.Fatal(err)
	}
	exists := func(p string) bool { _, err := os.Stat(p); return err == nil }
	for _, p := range []string{dead, legacyOld} {
		if exists(p) {
			t.Errorf("%s: a dead writer's temporary file was left", filepath.Base(p))
		}
	}
	for _, p := range []string{legacyNew, notWIM, other, live, w.path} {
		if !exists(p) {
			t.Errorf("%s: removed, but it is not a dead writer's", filepath.Base(p))
		}
	}
	if err := w.Close(); err != nil {
		t.Fatalf("the live writer, after the cleanup: %v", err)
	}
	imgOpenW(t, filepath.Join(dir, "writing.wim"))
}

// TestKilledExportTempRemoved kills (SIGKILL) an export into a new file
// mid-write, finds its temporary file beside the target, and checks that
// the next export into that folder removes it.
func TestKilledExportTempRemoved(t *testing.T) {
	oracle.Wimlib(t)
	ctx := context.Background()
	dir := t.TempDir()
	src := filepath.Join(t.TempDir(), "src.wim")
	if _, err := Capture(ctx, wtSampleTree(t, 11), src, CaptureOptions{Name: "a", Compression: LZX}); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(dir, "new.wim")
	t.Setenv(crashEnvKill, "1")
	if code, _ := crashRun(t, "export", target, src, "after-data", 0); code != -1 {
		t.Fatalf("helper exited %d, want killed", code)
	}
	left := tempFiles(t, dir)
	if len(left) != 1 || !strings.HasPrefix(left[0], ".new.wim"+TempInfix) {
		t.Fatalf("after the kill: temporary files %q, want one .new.wim%s…", left, TempInfix)
	}
	if _, err := os.Stat(target); err == nil {
		t.Fatal("the killed export left its target")
	}
	// The next export into the folder (another target) cleans up.
	s := imgOpenW(t, src)
	other := filepath.Join(dir, "other.wim")
	if _, err := Export(ctx, s, []int{1}, other, ExportOptions{}); err != nil {
		t.Fatal(err)
	}
	if left := tempFiles(t, dir); len(left) != 0 {
		t.Fatalf("after the next export: temporary files %q left", left)
	}
	oracle.Run(t, "verify", other)
	ents, _ := os.ReadDir(dir)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{"other.wim"}) {
		t.Fatalf("folder holds %q", names)
	}
}

// TestCreateTempBesideCleaners creates temporary files in one folder while
// other goroutines run RemoveStaleTemps on it, as writers creating WIM
// files side by side do (each Create cleans its folder first). A cleaner
// can open and lock a new file between its creation and its writer's lock;
// the writer must then take another name, not fail with "locking:
// resource temporarily unavailable", and no live writer's file may go.
func TestCreateTempBesideCleaners(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no flock: Windows keeps a file open for writing from removal instead")
	}
	dir := t.TempDir()
	stop := make(chan struct{})
	var cleaners sync.WaitGroup
	for range 2 {
		cleaners.Add(1)
		go func() {
			defer cleaners.Done()
			for {
				select {
				case <-stop:
					return
				default:
					RemoveStaleTemps(dir)
				}
			}
		}()
	}
	var writers sync.WaitGroup
	errs := make(chan error, 4)
	for w := range 4 {
		writers.Add(1)
		go func() {
			defer writers.Done()
			for i := range 300 {
				f, hold, err := createTemp(dir, fmt.Sprintf("w%d.wim", w))
				if err != nil {
					errs <- fmt.Errorf("writer %d, file %d: %w", w, i, err)
					return
				}
				if !stillAt(f, f.Name()) {
					errs <- fmt.Errorf("writer %d, file %d: a cleaner removed a live writer's file", w, i)
				}
				os.Remove(f.Name())
				f.Close()
				if hold != nil {
					hold.Close()
				}
			}
		}()
	}
	writers.Wait()
	close(stop)
	cleaners.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
