package main

import (
	"crypto/sha256"
	"fmt"
	"image"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Regions of the console's 1100x700 window while one job runs: the job
// row (title, bar, detail, Cancel) sits between the split and the status
// bar, whose right end is the job status line.
var (
	exportCancelButton = image.Rect(1012, 580, 1096, 650)
	exportAbove        = image.Rect(0, 0, 1100, 655) // all but the status bar
	exportStatusRight  = image.Rect(600, 664, 1100, 694)
)

// exportBarLine is a line across the job row's progress bar, above its
// percentage text: the filled part is the theme's primary blue.
const exportBarLine = 584

// barFill counts the filled pixels on the progress bar's line.
func barFill(img image.Image) int {
	n := 0
	for x := 0; x < exportCancelButton.Min.X; x++ {
		r, g, b, _ := img.At(x, exportBarLine).RGBA()
		r, g, b = r>>8, g>>8, b>>8
		if b > 200 && r < 90 && g > 80 && g < 150 {
			n++
		}
	}
	return n
}

// fileState is a file's size and SHA-256, or "missing".
func fileState(name string) string {
	b, err := os.ReadFile(name)
	if err != nil {
		return "missing"
	}
	return fmt.Sprintf("%d bytes, SHA-256 %x", len(b), sha256.Sum256(b))
}

// TestExportCancelUnderXvfb exports an image with the Export Image wizard
// (right-click → Export Image…, the destination typed, the mode chosen,
// Next, Finish) and clicks the job's Cancel button while it runs:
//
//   - Append: 160 MiB of random data (40 files) stored XPRESS in the
//     group, appended to an existing LZX WIM, so every chunk is compressed
//     again with LZX (tens of seconds). Cancel is clicked once the bar
//     shows 15% or so and the file has grown; within 2 s the file is back
//     byte for byte (size and SHA-256).
//   - New file: the same image into an empty folder. Its data is copied as
//     stored (the file keeps the group's XPRESS), in the kernel
//     (copy_file_range), which takes a fraction of a second, faster than
//     anyone clicks: the console is stopped (SIGSTOP) as soon as the
//     temporary file appears and let run 10 ms at a time until its window
//     shows the job's Cancel button; the click is then queued and the
//     console continued. Within 2 s the folder is empty: no file, no
//     .new.wim.wimconsole-tmp…. The copy races the window's next frame: an
//     export that ends first is tried again, 3 times in all.
//
// After each cancel the job row is gone, no dialog shows (the window is
// as it was before the export, but for the job status line) and the job
// status line shows "<job>: Cancelled" (the console sets it only for a
// cancelled job; a finished or failed one shows a dialog and no note).
// The times from the click to the destination restored and to the window
// showing it are logged.
func TestExportCancelUnderXvfb(t *testing.T) {
	rc := newRealConsole(t)
	work := t.TempDir()

	// The image: 40 files of 4 MiB from a seeded PRNG, captured XPRESS
	// (the group keeps the codec of its first source).
	tree := filepath.Join(work, "tree")
	if err := os.Mkdir(tree, 0o755); err != nil {
		t.Fatal(err)
	}
	rng := rand.NewChaCha8([32]byte{'e', 'x', 'p', 'o', 'r', 't'})
	buf := make([]byte, 4<<20)
	for i := range 40 {
		_, _ = rng.Read(buf)
		if err := os.WriteFile(filepath.Join(tree, fmt.Sprintf("data%d.bin", i)), buf, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	big := filepath.Join(work, "install.wim")
	rc.cli("capture", tree, big, "--name", "Windows 11 Enterprise", "--compress", "xpress")
	rc.cli("add-image", big, "--group", "Lab", "--skip-verify")
	if err := os.RemoveAll(tree); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(big); err != nil {
		t.Fatal(err)
	}
	// The WIM to append to: one small LZX image.
	small := filepath.Join(work, "small")
	if err := os.Mkdir(small, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(small, "readme.txt"), []byte("lab notes\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	appendDir, newDir := filepath.Join(work, "append"), filepath.Join(work, "new")
	for _, d := range []string{appendDir, newDir} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	appendTo := filepath.Join(appendDir, "lab.wim")
	rc.cli("capture", small, appendTo, "--name", "Lab notes", "--compress", "lzx")
	original := fileState(appendTo)
	st, err := os.Stat(appendTo)
	if err != nil {
		t.Fatal(err)
	}
	originalSize := st.Size()

	rc.start()
	rc.click("1", 41, 116)  // expand Install Images
	rc.click("1", 65, 147)  // expand Lab
	rc.click("1", 160, 178) // select its image
	rc.park()
	before := rc.shot("before")

	fail := func(format string, args ...any) {
		t.Helper()
		keepFailedShots(t, rc.shots)
		t.Fatalf(format+"\n(screenshots in %s)\nconsole output:\n%s", append(args, rc.shots, rc.logs.String())...)
	}
	// Keys go to the window under the pointer (Xvfb runs no window
	// manager): the pointer stays on the status bar.
	key := func(k string) {
		t.Helper()
		rc.x("key", k)
		time.Sleep(600 * time.Millisecond)
	}
	// wizard goes through the Export Image wizard up to its last page.
	wizard := func(name, dest string, appendMode bool) {
		t.Helper()
		rc.click("3", 160, 178) // right-click the image
		rc.click("1", 217, 240) // Export Image…
		rc.park()
		key("Return") // the image page: Next
		key("ctrl+a")
		rc.x("type", "--delay", "15", dest)
		time.Sleep(400 * time.Millisecond)
		if appendMode {
			key("Tab")   // Browse…
			key("Tab")   // Write
			key("Right") // New file → Append to the file
		}
		key("Return") // Next: the summary
		rc.shot(name + "-summary")
	}
	// cancelled waits until the window shows the cancelled job: no job
	// row, no dialog, a job status line. It returns that screenshot.
	cancelled := func(name string, click time.Time) image.Image {
		t.Helper()
		rc.park()
		for i := 0; ; i++ {
			shot := rc.shot(fmt.Sprintf("%s-after-%d", name, i))
			diff, status := changed(before, shot, exportAbove), changed(before, shot, exportStatusRight)
			if diff < 100 && status > 100 {
				t.Logf("%s: the window showed the cancelled job %v after the click", name, time.Since(click).Round(10*time.Millisecond))
				return shot
			}
			if time.Since(click) > 10*time.Second {
				fail("%s: 10 s after Cancel the window is not as before the export with a job status line: %d pixels differ above the status bar (a dialog or the job row), %d in the job status line",
					name, diff, status)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}

	// Append: cancelled while it writes; the file comes back as it was.
	wizard("append", appendTo, true)
	rc.x("key", "Return") // Finish
	var running image.Image
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		running = rc.shot("append-running")
		if changed(before, running, exportCancelButton) > 500 && barFill(running) >= 120 {
			break
		}
		if time.Now().After(deadline) {
			fail("append: 30 s after Finish no job row with progress shows (bar: %d filled pixels); %s is %s",
				barFill(running), appendTo, fileState(appendTo))
		}
	}
	rc.keep(running, image.Rect(0, 0, 1100, 700), "screenshots/export-progress.png")
	st, err = os.Stat(appendTo)
	if err != nil {
		fail("append: %v", err)
	}
	grown := st.Size()
	if grown <= originalSize {
		fail("append: the job shows progress but %s has not grown: %d bytes", appendTo, grown)
	}
	click := time.Now()
	rc.x("mousemove", "--window", rc.win, "1053", "615", "click", "1") // Cancel
	var restored time.Duration
	for {
		// Read it only once it has its old size again (it was grown to
		// tens of MiB).
		if st, err := os.Stat(appendTo); err == nil && st.Size() == originalSize && fileState(appendTo) == original {
			restored = time.Since(click)
			break
		}
		if time.Since(click) > 2*time.Second {
			fail("append: 2 s after Cancel %s is %s; it was %s", appendTo, fileState(appendTo), original)
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Logf("append: cancelled at %.1f MiB written (bar %d px); %s was back as it was %v after the click",
		float64(grown)/(1<<20), barFill(running), appendTo, restored.Round(time.Millisecond))
	done := cancelled("append", click)
	if got := fileState(appendTo); got != original {
		fail("append: %s is %s after the job ended; it was %s", appendTo, got, original)
	}
	if ents, _ := os.ReadDir(appendDir); len(ents) != 1 {
		fail("append: left in %s: %v", appendDir, ents)
	}

	// New file: the console is held still until its Cancel button shows.
	pid := rc.cmd.Process.Pid
	signal := func(s syscall.Signal) {
		t.Helper()
		if err := syscall.Kill(pid, s); err != nil {
			fail("signal %v to the console: %v", s, err)
		}
	}
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGCONT) })
	names := func() []string {
		ents, err := os.ReadDir(newDir)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range ents {
			out = append(out, e.Name())
		}
		return out
	}
	dest := filepath.Join(newDir, "new.wim")
	tempPrefix := "." + filepath.Base(dest) + ".wimconsole-tmp"
	// attempt exports into newDir, holds the console still as soon as the
	// temporary file appears, and lets it run 10 ms at a time until its
	// window shows the Cancel button. It clicks Cancel and lets the console
	// go on, and returns then, or returns false when the export ended
	// first (the file made and its dialog dismissed).
	attempt := func(try int) bool {
		t.Helper()
		wizard(fmt.Sprintf("new%d", try), dest, false)
		rc.x("key", "Return") // Finish
		for deadline := time.Now().Add(30 * time.Second); len(names()) == 0; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				fail("new: 30 s after Finish nothing was written in %s", newDir)
			}
		}
		signal(syscall.SIGSTOP)
		for steps := 0; ; steps++ {
			got := names()
			if len(got) != 1 || !strings.HasPrefix(got[0], tempPrefix) {
				signal(syscall.SIGCONT)
				t.Logf("new, try %d: the export ended before its Cancel button showed (%d steps of 10 ms): %s holds %v", try, steps, newDir, got)
				for deadline := time.Now().Add(10 * time.Second); !slices.Equal(names(), []string{"new.wim"}); time.Sleep(10 * time.Millisecond) {
					if time.Now().After(deadline) {
						fail("new, try %d: %s holds %v, not the exported new.wim", try, newDir, names())
					}
				}
				time.Sleep(time.Second) // its dialog
				key("Return")           // OK
				if err := os.Remove(dest); err != nil {
					fail("new: %v", err)
				}
				return false
			}
			st, err := os.Stat(filepath.Join(newDir, got[0]))
			if err != nil {
				fail("new: %v", err)
			}
			if sameAs(rc.shot(fmt.Sprintf("new%d-held", try)), exportCancelButton, running, exportCancelButton) {
				rc.x("mousemove", "--window", rc.win, "1053", "615", "click", "1") // Cancel, queued
				click = time.Now()
				signal(syscall.SIGCONT)
				t.Logf("new, try %d: Cancel clicked with %s at %.1f MiB (%d steps of 10 ms)", try, got[0], float64(st.Size())/(1<<20), steps)
				return true
			}
			if steps == 100 {
				fail("new: no Cancel button after %d steps of 10 ms", steps)
			}
			signal(syscall.SIGCONT)
			time.Sleep(10 * time.Millisecond)
			signal(syscall.SIGSTOP)
		}
	}
	for try := 1; !attempt(try); try++ {
		if try == 3 {
			fail("new: in 3 tries the export ended before its Cancel button showed")
		}
	}
	for len(names()) != 0 {
		if time.Since(click) > 2*time.Second {
			fail("new: 2 s after Cancel %s holds %v", newDir, names())
		}
		time.Sleep(2 * time.Millisecond)
	}
	restored = time.Since(click)
	t.Logf("new: %s was empty %v after the click", newDir, restored.Round(time.Millisecond))
	doneNew := cancelled("new", click)
	if got := names(); len(got) != 0 {
		fail("new: left in %s after the job ended: %v", newDir, got)
	}
	if !sameAs(done, exportStatusRight, doneNew, exportStatusRight) {
		fail("new: the job status line differs from the cancelled append's")
	}
	if strings.Contains(rc.logs.String(), "panic") {
		fail("the console logged a panic")
	}
}
