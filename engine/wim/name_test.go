package wim

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/wimconsole/wimconsole/internal/oracle"
)

// TestPOSIXNamesRoundTrip: names with ':' and '\' — common in Linux trees
// (Perl's "File::Spec.3pm") and kept by wimlib's capture — are read, listed,
// applied and captured like any other name on POSIX systems.
func TestPOSIXNamesRoundTrip(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("':' and '\\' cannot be file names on Windows")
	}
	oracle.Wimlib(t)
	src := filepath.Join(t.TempDir(), "src")
	names := []string{"File::Spec.3pm", `back\slash`, "C:drive"}
	if err := os.MkdirAll(filepath.Join(src, "man"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(src, "man", n), []byte("content of "+n), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()

	// wimlib's capture: our dir equals wimlib's, our apply equals the source.
	theirs := filepath.Join(t.TempDir(), "theirs.wim")
	oracle.Run(t, "capture", src, theirs, "posix")
	w := imgOpen(t, theirs)
	img, err := w.Image(1)
	if err != nil {
		t.Fatal(err)
	}
	var ours []string
	if err := img.Walk(func(p string, f *File) error { ours = append(ours, p); return nil }); err != nil {
		t.Fatal(err)
	}
	want := strings.Fields(oracle.Run(t, "dir", theirs, "1"))
	if strings.Join(ours, "\n") != strings.Join(want, "\n") {
		t.Fatalf("dir:\nours   %q\nwimlib %q", ours, want)
	}
	// Trees are compared with wimlib's apply (times have 100 ns steps).
	ref := filepath.Join(t.TempDir(), "ref")
	oracle.Run(t, "apply", theirs, "1", ref)
	out := filepath.Join(t.TempDir(), "out")
	if err := w.Apply(ctx, 1, out, nil); err != nil {
		t.Fatal(err)
	}
	compareTrees(t, ref, out)

	// Our capture: wimlib applies it as the source.
	mine := filepath.Join(t.TempDir(), "mine.wim")
	if _, err := Capture(ctx, src, mine, CaptureOptions{Name: "posix", Compression: LZX}); err != nil {
		t.Fatal(err)
	}
	oracle.Run(t, "verify", mine)
	if got := strings.Fields(oracle.Run(t, "dir", mine, "1")); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("wimlib dir of our capture %q, want %q", got, want)
	}
	// Access times moved when the files were read for capture, so the
	// applied trees are compared with each other, not with ref.
	wout, oout := filepath.Join(t.TempDir(), "wout"), filepath.Join(t.TempDir(), "oout")
	oracle.Run(t, "apply", mine, "1", wout)
	if err := imgOpen(t, mine).Apply(ctx, 1, oout, nil); err != nil {
		t.Fatal(err)
	}
	compareTrees(t, wout, oout)
	for _, n := range names {
		data, err := os.ReadFile(filepath.Join(wout, "man", n))
		if err != nil || string(data) != "content of "+n {
			t.Fatalf("%s after wimlib apply: %q, %v", n, data, err)
		}
	}
}
