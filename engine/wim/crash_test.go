package wim

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wimconsole/wimconsole/internal/oracle"
)

// Environment of the crash helper process.
const (
	crashEnvOp   = "WIMCRASH_OP"   // capture-append, export, soft-delete, set-info
	crashEnvFile = "WIMCRASH_FILE" // the WIM being changed
	crashEnvSrc  = "WIMCRASH_SRC"  // folder (capture) or WIM (export)
	crashEnvStep = "WIMCRASH_STEP" // exit(137) at this step ("blob:N" for the Nth blob)
	crashEnvKill = "WIMCRASH_KILL" // "1": SIGKILL itself at the step instead
)

// TestCrashHelper is not a test: it is the process TestCrash starts and
// kills. It runs one writing operation, stopping dead at the step named by
// WIMCRASH_STEP.
func TestCrashHelper(t *testing.T) {
	op := os.Getenv(crashEnvOp)
	if op == "" {
		t.Skip("crash helper: run by TestCrash only")
	}
	if step := os.Getenv(crashEnvStep); step != "" {
		want, nth := step, 1
		if i := strings.IndexByte(step, ':'); i >= 0 {
			want = step[:i]
			nth, _ = strconv.Atoi(step[i+1:])
		}
		seen := 0
		crashHook = func(s string) {
			if s == want {
				seen++
				if seen == nth {
					if os.Getenv(crashEnvKill) == "1" {
						syscall.Kill(os.Getpid(), syscall.SIGKILL)
						select {}
					}
					os.Exit(137)
				}
			}
		}
	}
	ctx := context.Background()
	file, src := os.Getenv(crashEnvFile), os.Getenv(crashEnvSrc)
	fmt.Fprintln(os.Stdout, crashStart) // the parent times kills from here
	var err error
	switch op {
	case "capture-append":
		_, err = Capture(ctx, src, file, CaptureOptions{Name: "new", Append: true})
	case "export":
		var w *WIM
		w, err = Open(src, nil)
		if err == nil {
			_, err = Export(ctx, w, []int{1}, file, ExportOptions{Name: "new"})
			w.Close()
		}
	case "soft-delete":
		err = DeleteImage(ctx, file, 1, true)
	case "set-info":
		err = SetImageInfo(file, 2, InfoEdit{Name: ptr("new name"), Flags: ptr("Professional"), Boot: true})
	default:
		err = fmt.Errorf("unknown op %q", op)
	}
	if err != nil {
		t.Fatal(err)
	}
	os.Exit(0) // skip the rest of the test binary's work
}

// crashStart is what the helper prints when it starts the operation.
const crashStart = "CRASH-HELPER-START"

// crashRun runs the helper and returns its exit code (-1 when killed) and
// how long the operation ran (from the helper's start line to its exit).
// With killAfter > 0 the helper is killed that long after its start line.
func crashRun(t *testing.T, op, file, src, step string, killAfter time.Duration) (int, time.Duration) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnvOp+"="+op, crashEnvFile+"="+file, crashEnvSrc+"="+src, crashEnvStep+"="+step)
	out := &strings.Builder{}
	cmd.Stderr = out
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait for the start line, then arm the kill.
	var started time.Time
	sc := bufio.NewScanner(pipe)
	for sc.Scan() {
		out.WriteString(sc.Text() + "\n")
		if sc.Text() == crashStart {
			started = time.Now()
			break
		}
	}
	if killAfter > 0 {
		timer := time.AfterFunc(killAfter, func() { cmd.Process.Signal(syscall.SIGKILL) })
		defer timer.Stop()
	}
	io.Copy(out, pipe)
	err = cmd.Wait()
	ran := time.Since(started)
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, ran
	case errors.As(err, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return -1, ran
		}
		if ee.ExitCode() != 137 {
			t.Fatalf("helper %s/%s failed (%v):\n%s", op, step, err, out)
		}
		return ee.ExitCode(), ran
	}
	t.Fatal(err)
	return 0, ran
}

// crashCheck checks that file opens and verifies with wimlib and our
// reader, and holds the committed images (their metadata unchanged, all
// data verified), plus possibly the one being added.
func crashCheck(t *testing.T, file string, committed []Hash, adding bool, what string) (added bool) {
	t.Helper()
	out, err := oracle.Try(t, "verify", file)
	if err != nil {
		t.Fatalf("%s: wimlib-imagex verify: %v\n%s", what, err, out)
	}
	w, err := Open(file, nil)
	if err != nil {
		t.Fatalf("%s: Open: %v", what, err)
	}
	defer w.Close()
	if err := w.Verify(context.Background(), nil); err != nil {
		t.Fatalf("%s: Verify: %v", what, err)
	}
	n := w.ImageCount()
	if n != len(committed) && !(adding && n == len(committed)+1) {
		t.Fatalf("%s: %d images, want %d (or one more)", what, n, len(committed))
	}
	for i, h := range committed {
		e, err := w.MetadataEntry(i + 1)
		if err != nil || e.Hash != h {
			t.Fatalf("%s: image %d changed (%v)", what, i+1, err)
		}
	}
	return n > len(committed)
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestCrash kills `capture --append`, export into an existing file and a
// soft delete at named steps (exit 137 from inside the writer) and at
// random moments (SIGKILL), and checks after each kill that the file still
// opens, verifies (wimlib and ours) and holds every image committed before.
// Each file is then appended to again, which must succeed.
func TestCrash(t *testing.T) {
	oracle.Wimlib(t)
	if testing.Short() {
		t.Skip("slow")
	}
	ctx := context.Background()
	dir := t.TempDir()
	base := filepath.Join(dir, "base.wim")
	src1, src2 := wtSampleTree(t, 91), wtSampleTree(t, 92)
	for i, s := range []string{src1, src2} {
		if _, err := Capture(ctx, s, base, CaptureOptions{Name: "img" + strconv.Itoa(i), Compression: LZX, Append: i > 0, Integrity: true}); err != nil {
			t.Fatal(err)
		}
	}
	var committed []Hash
	{
		w := imgOpenW(t, base)
		for i := 1; i <= w.ImageCount(); i++ {
			e, _ := w.MetadataEntry(i)
			committed = append(committed, e.Hash)
		}
		w.Close()
	}
	src3 := wtSampleTree(t, 93)
	exportSrc := filepath.Join(dir, "export-src.wim")
	if _, err := Capture(ctx, src3, exportSrc, CaptureOptions{Name: "x", Compression: XPRESS}); err != nil {
		t.Fatal(err)
	}
	ops := []struct{ op, src string }{{"capture-append", src3}, {"export", exportSrc}, {"soft-delete", ""}}
	steps := []string{"blob:1", "blob:3", "after-data", "after-table", "before-header", "after-header"}
	for _, op := range ops {
		for _, step := range steps {
			if op.op == "soft-delete" && strings.HasPrefix(step, "blob") {
				continue
			}
			what := op.op + " killed at " + step
			file := filepath.Join(dir, "step.wim")
			copyFile(t, base, file)
			if code, _ := crashRun(t, op.op, file, op.src, step, 0); code != 137 {
				t.Fatalf("%s: helper exited %d", what, code)
			}
			if op.op == "soft-delete" {
				crashSoftDeleteCheck(t, file, committed, step == "after-header", what)
			} else {
				added := crashCheck(t, file, committed, true, what)
				if added != (step == "after-header") {
					t.Errorf("%s: image added = %v", what, added)
				}
			}
			if step == "before-header" || step == "blob:1" {
				crashAppendAgain(t, file, src1, what)
			}
		}
	}
	// Random kills during the operation (timed from the helper's start
	// line), on a bigger tree. WIMCRASH_ITER sets how many per operation
	// (default 4).
	iters := 4
	if n, err := strconv.Atoi(os.Getenv("WIMCRASH_ITER")); err == nil {
		iters = n
	}
	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 8))
	big := filepath.Join(t.TempDir(), "big")
	for i, seed := range []uint64{94, 95, 96} {
		if err := os.CopyFS(filepath.Join(big, strconv.Itoa(i)), os.DirFS(wtSampleTree(t, seed))); err != nil {
			t.Fatal(err)
		}
	}
	bigWim := filepath.Join(dir, "big.wim")
	if _, err := Capture(ctx, big, bigWim, CaptureOptions{Name: "big", Compression: XPRESS}); err != nil {
		t.Fatal(err)
	}
	for _, op := range []struct{ op, src string }{{"capture-append", big}, {"export", bigWim}} {
		file := filepath.Join(dir, "timed.wim")
		copyFile(t, base, file)
		code, full := crashRun(t, op.op, file, op.src, "", 0)
		if code != 0 {
			t.Fatalf("%s: helper exited %d", op.op, code)
		}
		kills, completed, added := 0, 0, 0
		for i := 0; i < iters; i++ {
			copyFile(t, base, file)
			d := time.Duration(r.Int64N(int64(full) + 1))
			what := fmt.Sprintf("%s killed after %v (full run %v)", op.op, d, full)
			switch code, _ := crashRun(t, op.op, file, op.src, "", d); code {
			case -1:
				kills++
			case 0:
				completed++
			}
			if crashCheck(t, file, committed, true, what) {
				added++
			}
		}
		t.Logf("%s: %d runs killed, %d completed, image committed in %d (full run %v)", op.op, kills, completed, added, full)
	}
}

// crashSoftDeleteCheck: a soft delete is committed by its header, all or
// nothing.
func crashSoftDeleteCheck(t *testing.T, file string, committed []Hash, done bool, what string) {
	t.Helper()
	if done {
		crashCheck(t, file, committed[1:], false, what)
	} else {
		crashCheck(t, file, committed, false, what)
	}
}

// crashAppendAgain appends an image to a file left by a killed writer.
func crashAppendAgain(t *testing.T, file, src, what string) {
	t.Helper()
	w, err := Open(file, nil)
	if err != nil {
		t.Fatal(err)
	}
	n := w.ImageCount()
	w.Close()
	if _, err := Capture(context.Background(), src, file, CaptureOptions{Name: "after-crash", Append: true}); err != nil {
		t.Fatalf("%s: appending afterwards: %v", what, err)
	}
	w, err = Open(file, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if w.ImageCount() != n+1 || w.Header().Flags&FlagWriteInProgress != 0 {
		t.Fatalf("%s: after appending again: %d images, flags 0x%x", what, w.ImageCount(), w.Header().Flags)
	}
	if err := w.Verify(context.Background(), nil); err != nil {
		t.Fatalf("%s: after appending again: %v", what, err)
	}
	oracle.Run(t, "verify", file)
}
