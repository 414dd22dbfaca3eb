package views

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"
)

// TestErrorDialogSummaryFirst: an error dialog says what failed and the
// error in the administrator's words, naming the real file and not the
// temporary one; the system's detail is folded away under Details.
func TestErrorDialogSummaryFirst(t *testing.T) {
	f := newFixture(t)
	dest := filepath.Join(t.TempDir(), "out.wim")
	tmp := filepath.Join(filepath.Dir(dest), ".out.wim.wimconsole-tmp0123456789ab")
	f.c.showError("Export Image", fmt.Errorf("export Lab/A: %w", &fs.PathError{Op: "write", Path: tmp, Err: syscall.ENOSPC}))
	shown := overlayText(f.c)
	for _, want := range []string{"Export Image failed:", "The disk that holds " + dest + " is full. Free some space on it, then try again.", "Details"} {
		if !strings.Contains(shown, want) {
			t.Errorf("the dialog does not show %q: %q", want, shown)
		}
	}
	for _, not := range []string{"wimconsole-tmp", "no space left on device"} {
		if strings.Contains(shown, not) {
			t.Errorf("the dialog shows %q before Details is opened: %q", not, shown)
		}
	}
	acc := findAccordion(f.c.Window.Canvas().Overlays().Top())
	if acc == nil {
		t.Fatal("no Details section")
	}
	acc.Open(0)
	shown = overlayText(f.c)
	if !strings.Contains(shown, "no space left on device") || strings.Contains(shown, "wimconsole-tmp") {
		t.Errorf("the details: %q", shown)
	}
	tapButton(t, f.c, "OK")
	if overlays(f.c) != 0 {
		t.Error("OK did not close the error dialog")
	}
}

func findAccordion(o fyne.CanvasObject) *widget.Accordion {
	switch v := o.(type) {
	case *widget.Accordion:
		return v
	case *fyne.Container:
		for _, x := range v.Objects {
			if a := findAccordion(x); a != nil {
				return a
			}
		}
	case fyne.Widget:
		for _, x := range test.WidgetRenderer(v).Objects() {
			if a := findAccordion(x); a != nil {
				return a
			}
		}
	}
	return nil
}

// TestStatusErrorInWords: an error of the background work (live sync, a
// remote server's events) shows in the status bar in the same words,
// without the temporary file's name.
func TestStatusErrorInWords(t *testing.T) {
	f := newFixture(t)
	tmp := filepath.Join(storeOf(f.srv).Root(), "Images", "Lab", ".wimconsole-0123456789ab-install.wim")
	f.c.showStatusError(&fs.PathError{Op: "open", Path: tmp, Err: syscall.EACCES})
	want := "You have no permission to read " + filepath.Join(storeOf(f.srv).Root(), "Images", "Lab", "install.wim")
	if got := f.c.status.Text; !strings.HasPrefix(got, want) {
		t.Errorf("status %q, want it to start %q", got, want)
	}
}
