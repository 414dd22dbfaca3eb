package store

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/wimconsole/wimconsole/engine/wim"
	"github.com/wimconsole/wimconsole/internal/oracle"
)

// TestCommitImageRefusesStaleBase: CommitImage compares the base version it
// is given with the image's under the group lock. Of two commits made from
// one version, the second is refused with a StaleError naming who made the
// current version, and changes nothing; also when the two run at once.
func TestCommitImageRefusesStaleBase(t *testing.T) {
	oracle.Wimlib(t)
	ctx := context.Background()
	s := openStore(t)
	refs, err := s.AddImage(ctx, captureWIM(t, "lzx", writeTree(t, baseTree("A"))), AddOptions{Group: "G", FileName: "install"})
	if err != nil {
		t.Fatal(err)
	}
	r := refs[0]
	off := false
	if err := s.SetImage(ctx, r, SetOptions{Enabled: &off}); err != nil {
		t.Fatal(err)
	}
	tree := func() *wim.Image {
		w, err := s.openImage(r)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		img, err := w.Image(1)
		if err != nil {
			t.Fatal(err)
		}
		return img
	}
	write := func(ctx context.Context, w *wim.Writer) error { return w.Flush(true) }
	v0, err := s.ImageVersion(r)
	if err != nil {
		t.Fatal(err)
	}
	img := tree()
	if _, err := s.CommitImage(ctx, r, v0, img, write, CommitOptions{Description: "first", By: "servicing session one"}); err != nil {
		t.Fatal(err)
	}
	v1, err := s.ImageVersion(r)
	if err != nil {
		t.Fatal(err)
	}
	if v1.Same(v0) {
		t.Fatalf("a commit left the image's version as it was: %+v", v1)
	}
	before, _ := os.ReadFile(s.ImagePath(r))
	resBefore := fileSizeOf(t, s.ResPath("G"))
	_, err = s.CommitImage(ctx, r, v0, img, write, CommitOptions{Description: "second", By: "servicing session two"})
	var se *StaleError
	if !errors.As(err, &se) || !errors.Is(err, ErrStale) {
		t.Fatalf("commit on a stale base: %v; want a StaleError", err)
	}
	if se.By != "servicing session one" || !strings.Contains(err.Error(), "servicing session one") || !strings.Contains(err.Error(), r.String()) {
		t.Errorf("stale error %q does not name the image and the commit that changed it", err)
	}
	if after, _ := os.ReadFile(s.ImagePath(r)); string(after) != string(before) {
		t.Error("the refused commit changed the image file")
	}
	if fileSizeOf(t, s.ResPath("G")) != resBefore {
		t.Error("the refused commit grew Res.rwm")
	}
	im, err := s.GetImage(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	if im.Description != "first" {
		t.Errorf("description %q, want the first commit's", im.Description)
	}

	// Two commits on one base at once: exactly one wins.
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = s.CommitImage(ctx, r, v1, img, write, CommitOptions{By: "racer"})
		}()
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, ErrStale) && !errors.Is(err, ErrGroupBusy):
			t.Errorf("racing commit: %v", err)
		}
	}
	if won != 1 {
		t.Errorf("%d of two commits on one base succeeded (%v), want 1", won, errs)
	}
	oracleApply(t, s, r, baseTree("A"))
	mustVerify(t, s)
}

func fileSizeOf(t testing.TB, p string) int64 {
	t.Helper()
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}
