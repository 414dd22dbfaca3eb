package views

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"

	"github.com/wimconsole/wimconsole/engine/servicing"
)

// TestStartupSessions leaves three sessions in the store as a crash would
// (one to resume, one mounted, one whose image was changed since) and checks
// what the start-up check offers for each.
func TestStartupSessions(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	st := storeOf(f.srv)
	f.disable(t, 0)
	f.disable(t, 1)
	f.disable(t, 2)
	open, err := servicing.Begin(ctx, st, f.refs[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := open.AddData("/Windows/staged.txt", []byte("staged before the restart\n")); err != nil {
		t.Fatal(err)
	}
	mnt := filepath.Join(t.TempDir(), "mnt")
	if _, err := servicing.Mount(ctx, st, f.refs[1], mnt, nil); err != nil {
		t.Fatal(err)
	}
	stale, err := servicing.Begin(ctx, st, f.refs[2])
	if err != nil {
		t.Fatal(err)
	}
	// The boot image's file changes under its session (as a replace by
	// another tool would): the session can only be discarded.
	old := stale.Started.Add(-time.Hour)
	if err := os.Chtimes(st.ImagePath(f.refs[2]), old, old); err != nil {
		t.Fatal(err)
	}

	f.c.CheckSessions()
	f.c.settle()
	w, ok := f.c.current.(*sessionsDialog)
	if !ok {
		t.Fatalf("no sessions dialog at start-up: %T %q", f.c.current, overlayText(f.c))
	}
	if len(w.pending) != 3 {
		t.Fatalf("%d sessions offered, want 3", len(w.pending))
	}
	find := func(image string) int {
		for i, p := range w.pending {
			if strings.EqualFold(p.Image, image) {
				return i
			}
		}
		t.Fatalf("session of %s not offered", image)
		return -1
	}
	txt := overlayText(f.c)
	for _, want := range []string{"1 staged change", "mounted at " + mnt, "changed since the session began"} {
		if !strings.Contains(txt, want) {
			t.Errorf("dialog does not say %q: %q", want, txt)
		}
	}

	// The stale one cannot be resumed; discard it.
	w.list.Select(find(f.refs[2].String()))
	if !w.resume.Disabled() || w.discard.Disabled() {
		t.Fatal("a stale session can be resumed, or not discarded")
	}
	tapButtonNoWait(t, f.c, "Discard…")
	tapButton(t, f.c, "Discard")
	if _, err := servicing.ForImage(st, f.refs[2]); !errors.Is(err, servicing.ErrNoSession) {
		t.Fatalf("stale session not discarded: %v", err)
	}
	if len(w.pending) != 2 {
		t.Fatalf("%d sessions left in the dialog, want 2", len(w.pending))
	}

	// Resuming the mounted one offers to unmount it.
	w.list.Select(find(f.refs[1].String()))
	tapButton(t, f.c, "Resume")
	if _, ok := f.c.current.(*unmountDialog); !ok {
		t.Fatalf("resuming a mounted session opened %T", f.c.current)
	}
	tapButton(t, f.c, "Cancel")

	// Resuming the open one shows the browser with its staged change.
	f.c.CheckSessions()
	f.c.settle()
	w = f.c.current.(*sessionsDialog)
	w.list.Select(find(f.refs[0].String()))
	tapButton(t, f.c, "Resume")
	b := f.browser(t)
	if b.ss == nil || len(b.changes) != 1 {
		t.Fatalf("resumed browser has session %v with changes %v", b.ss, b.changes)
	}
	b.open("/Windows")
	f.c.settle()
	if got := strings.Join(entryPaths(b.entries), ","); !strings.Contains(got, "/Windows/staged.txt") {
		t.Fatalf("the resumed tree lists %s", got)
	}
}

// TestSingleSessionPreselected: one leftover servicing session is selected
// in the start-up dialog, so Enter resumes it.
func TestSingleSessionPreselected(t *testing.T) {
	f := newFixture(t)
	f.disable(t, 0)
	if _, err := servicing.Begin(context.Background(), storeOf(f.srv), f.refs[0]); err != nil {
		t.Fatal(err)
	}
	f.c.CheckSessions()
	f.c.settle()
	w, ok := f.c.current.(*sessionsDialog)
	if !ok {
		t.Fatalf("no sessions dialog: %T", f.c.current)
	}
	if w.sel != 0 || w.resume.Disabled() {
		t.Fatalf("the one session is not selected (sel %d), or Resume is disabled", w.sel)
	}
	press(t, f.c, fyne.KeyReturn)
	b := f.browser(t)
	if b.ss == nil || b.ref != f.refs[0] {
		t.Fatalf("Enter opened %v on %s", b.ss, b.ref)
	}
}
