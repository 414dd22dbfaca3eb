package main

import (
	"bytes"
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"testing"

	"github.com/wimconsole/wimconsole/internal/oracle"
	"github.com/wimconsole/wimconsole/internal/versiontest"
)

// TestVersionNamesTheBinary: `wimconsole version` names wimconsole and the
// commit the build info holds (wimconsole-cli's is in its TestBinary).
func TestVersionNamesTheBinary(t *testing.T) {
	versiontest.Check(t, wimconsoleBinary(t), "wimconsole")
}

// TestCLIQuietInCLocale runs the real binary's command line under the C
// locales of servers and containers: stderr must stay empty (Fyne's locale
// lookup once logged a parse error on every run).
func TestCLIQuietInCLocale(t *testing.T) {
	bin := wimconsoleBinary(t)
	for _, lang := range []string{"", "C", "C.UTF-8", "POSIX"} {
		cmd := exec.Command(bin, "version")
		cmd.Env = append(os.Environ(), "LANG="+lang, "LC_ALL=", "LC_MESSAGES=", "LANGUAGE=")
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("LANG=%s: %v\n%s", lang, err, stderr.String())
		}
		if stderr.Len() != 0 || stdout.Len() == 0 {
			t.Errorf("LANG=%s: stdout %q, stderr %q", lang, stdout.String(), stderr.String())
		}
	}
}

// TestCLILeavesTheDisplayAlone runs a command with DISPLAY naming a live X
// server: it must cost what it costs without one (sqweek/dialog's
// gtk_init_check at package init once connected and loaded GTK on every
// run, ~50 MB and ~0.05 s more), while the console (no command) still
// opens on that display (TestConsoleWindowUnderXvfb).
func TestCLILeavesTheDisplayAlone(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the display variables are cleared on Linux (glibc) only")
	}
	xvfb := oracle.Need(t, "Xvfb")
	bin := wimconsoleBinary(t)
	display := startXvfb(t, xvfb)
	peak := func(env ...string) int64 {
		t.Helper()
		var best int64
		for range 3 {
			cmd := exec.Command(bin, "version", "--store", t.TempDir())
			cmd.Env = append(os.Environ(), env...)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("wimconsole version: %v\n%s", err, out)
			}
			rss := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss // KiB
			if best == 0 || rss < best {
				best = rss
			}
		}
		return best
	}
	without, with := peak("DISPLAY=", "WAYLAND_DISPLAY="), peak("DISPLAY="+display)
	t.Logf("peak RSS of `version`: %d KiB without a display, %d KiB with one", without, with)
	if with > without+20<<10 {
		t.Errorf("with DISPLAY set a command takes %d KiB, %d KiB more than without: it initialised GTK", with, with-without)
	}
}
