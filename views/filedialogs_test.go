package views

import (
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/wimconsole/wimconsole/app"
)

// noNativeDialogs stands in for native dialogs that cannot start (GTK
// without a display): every call fails with app.ErrNoNativeDialogs.
type noNativeDialogs struct{ calls int }

func (d *noNativeDialogs) fail() error {
	d.calls++
	return fmt.Errorf("%w: gtk initialisation failed; presumably no X server is available", app.ErrNoNativeDialogs)
}
func (d *noNativeDialogs) OpenFiles(string, ...app.FileFilter) ([]string, error) {
	return nil, d.fail()
}
func (d *noNativeDialogs) SaveFile(string, string, ...app.FileFilter) (string, error) {
	return "", d.fail()
}
func (d *noNativeDialogs) PickFolder(string) (string, error) { return "", d.fail() }

// TestFileDialogsFallBackToFyne: when the native dialogs cannot start, each
// kind of file dialog opens Fyne's own dialog in the window (not an error),
// and the save dialog's answer reaches the Export wizard.
func TestFileDialogsFallBackToFyne(t *testing.T) {
	f := newFixture(t)
	d := &noNativeDialogs{}
	f.c.dialogs = d
	image := app.ImageID(f.srv, f.refs[0])
	for _, tc := range []struct {
		name, title string
		open        func()
	}{
		{"open", "Add Install Image", func() { f.c.addImage(nil, "Lab"); tapButton(t, f.c, "Browse…") }},
		{"folder", "Extract to folder", func() { f.c.extractPath(f.srv, f.refs[0], "/a.txt") }},
		{"save", "Export Image", func() {
			f.c.Select(image)
			f.c.exportImage()
			w := f.c.current.(*exportWizard)
			w.wiz.Next()
			tapButton(t, f.c, "Browse…")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := d.calls
			tc.open()
			f.c.settle()
			if d.calls != before+1 {
				t.Fatalf("native dialog asked %d times, want 1", d.calls-before)
			}
			shown := overlayText(f.c)
			if strings.Contains(shown, "cannot be shown") || strings.Contains(shown, "gtk") {
				t.Fatalf("an error is shown instead of Fyne's dialog: %q", shown)
			}
			if !strings.Contains(shown, tc.title) {
				t.Fatalf("the dialog shown is not %q: %q", tc.title, shown)
			}
			if tc.name == "save" {
				dest := filepath.Join(t.TempDir(), "out.wim")
				e := findEntry(t, f.c.Window.Canvas().Overlays().Top())
				if file := f.image(t, f.refs[0]).File; filepath.Base(e.Text) != file {
					t.Errorf("suggested %q, want a path ending in the image's file name %s", e.Text, file)
				}
				e.SetText(dest)
				tapButton(t, f.c, "Save")
				w, ok := f.c.current.(*exportWizard)
				if !ok || w.dest.Text != dest {
					t.Fatalf("Export wizard not opened on %s: current %T", dest, f.c.current)
				}
				w.wiz.Cancel()
				return
			}
			if _, ok := f.c.current.(*dialog.FileDialog); !ok {
				t.Fatalf("current dialog is %T, want Fyne's file dialog", f.c.current)
			}
			f.c.current.(*dialog.FileDialog).Hide()
		})
	}
}

func findEntry(t *testing.T, o fyne.CanvasObject) *widget.Entry {
	t.Helper()
	var found *widget.Entry
	var walk func(fyne.CanvasObject)
	walk = func(o fyne.CanvasObject) {
		if o == nil || found != nil {
			return
		}
		switch v := o.(type) {
		case *widget.Entry:
			found = v
		case *fyne.Container:
			for _, x := range v.Objects {
				walk(x)
			}
		case fyne.Widget:
			for _, x := range test.WidgetRenderer(v).Objects() {
				walk(x)
			}
		}
	}
	walk(o)
	if found == nil {
		t.Fatal("no entry in the dialog")
	}
	return found
}

// blockingDialogs' OpenFiles stays open until release is closed, then
// answers cancelled.
type blockingDialogs struct {
	fakeDialogs
	opens   atomic.Int32
	release chan struct{}
}

func (d *blockingDialogs) OpenFiles(string, ...app.FileFilter) ([]string, error) {
	d.opens.Add(1)
	<-d.release
	return nil, app.ErrCancelled
}

// TestSecondFileDialogIsRefused: asking for a file dialog while a native
// one is open says so and does not open a second one; once it closes, the
// next request opens one again.
func TestSecondFileDialogIsRefused(t *testing.T) {
	f := newFixture(t)
	d := &blockingDialogs{release: make(chan struct{})}
	f.c.dialogs = d
	f.c.addImage(nil, "Lab") // the wizard, on its source page
	tapButtonNoWait(t, f.c, "Browse…")
	tapButtonNoWait(t, f.c, "Browse…")
	if shown := overlayText(f.c); !strings.Contains(shown, fileDialogBusy) {
		t.Errorf("second request shows %q, want %q", shown, fileDialogBusy)
	}
	close(d.release)
	f.c.settle()
	if n := d.opens.Load(); n != 1 {
		t.Fatalf("native dialog opened %d times, want 1", n)
	}
	if shown := overlayText(f.c); strings.Contains(shown, fileDialogBusy) {
		press(t, f.c, fyne.KeyEscape) // the message
	}
	tapButton(t, f.c, "Browse…")
	if n := d.opens.Load(); n != 2 {
		t.Fatalf("after the first closed, native dialog opened %d times in all, want 2", n)
	}
}
