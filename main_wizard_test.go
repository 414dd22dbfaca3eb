package main

import (
	"encoding/json"
	"image"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wimconsole/wimconsole/internal/fixtures"
)

// TestAddWizardKeyboardOnlyUnderXvfb adds the images of testdata/install.wim
// with the keyboard alone: Ctrl+N opens Add Install Image on its source
// page, the path is typed, Enter goes through the pages (Tab onto the first
// image's check box, Enter still goes on); on the names page the group Lab,
// which has images of those names already, is flagged and Enter does
// nothing; a new group typed in goes on, and Enter on Finish adds both
// images, as the command line then lists.
//
// The wizard is 800x600, centred in the 1100x700 window: (150,50) to
// (950,650).
func TestAddWizardKeyboardOnlyUnderXvfb(t *testing.T) {
	rc := startPopulatedConsole(t)
	images := func() []string {
		t.Helper()
		var list []struct {
			Ref string `json:"image"`
		}
		if err := json.Unmarshal(rc.cli("get-all-images", "--json"), &list); err != nil {
			t.Fatal(err)
		}
		var refs []string
		for _, im := range list {
			refs = append(refs, im.Ref)
		}
		return refs
	}
	before := images()
	// Keys go to the window under the pointer (Xvfb runs no window
	// manager): the pointer stays on the status bar.
	key := func(k string) {
		t.Helper()
		rc.x("key", k)
		time.Sleep(600 * time.Millisecond)
	}
	typeText := func(s string) {
		t.Helper()
		rc.x("type", "--delay", "15", s)
		time.Sleep(400 * time.Millisecond)
	}
	dialog := image.Rect(150, 50, 950, 650)
	plain := rc.shot("plain")
	fail := func(format string, args ...any) {
		t.Helper()
		keepFailedShots(t, rc.shots)
		t.Fatalf(format+"\n(screenshots in %s)\nconsole output:\n%s", append(args, rc.shots, rc.logs.String())...)
	}

	key("ctrl+n")
	source := rc.shot("source")
	if n := changed(plain, source, dialog); n < dialog.Dx()*dialog.Dy()/4 {
		fail("Ctrl+N opened no wizard: %d pixels changed", n)
	}
	typeText(fixtures.Path(t, "install.wim"))
	rc.keep(rc.shot("source-typed"), dialog.Inset(-10), "screenshots/add-wizard-source.png")
	key("Return")
	time.Sleep(time.Second) // the images are read in the background
	imagesPage := rc.shot("images")
	if n := changed(source, imagesPage, dialog); n < 2000 {
		fail("Enter on the source page did not go on: %d pixels changed", n)
	}
	rc.keep(imagesPage, dialog.Inset(-10), "screenshots/add-wizard-images.png")

	key("Tab") // onto the first image's check box: Enter still goes on
	key("Return")
	names := rc.shot("names")
	if n := changed(imagesPage, names, dialog); n < 2000 {
		fail("Enter on the images page did not go on: %d pixels changed", n)
	}
	// The group box has the focus: Lab already has both names.
	key("ctrl+a")
	typeText("Lab")
	time.Sleep(500 * time.Millisecond)
	flagged := rc.shot("names-flagged")
	rc.keep(flagged, dialog.Inset(-10), "screenshots/add-wizard-duplicate.png")
	key("Return")
	key("Return")
	if after := rc.shot("names-after-return"); changed(flagged, after, image.Rect(150, 560, 950, 650)) > 200 {
		fail("Enter went on from a names page with a duplicate name")
	}
	key("ctrl+a")
	typeText("Keyboard")
	key("Return") // the summary
	summary := rc.shot("summary")
	if n := changed(flagged, summary, dialog); n < 2000 {
		fail("Enter on the names page did not go on: %d pixels changed", n)
	}
	rc.keep(summary, dialog.Inset(-10), "screenshots/add-wizard-summary.png")
	key("Return") // Finish

	var got []string
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(300 * time.Millisecond) {
		got = images()
		if len(got) == len(before)+2 || time.Now().After(deadline) {
			break
		}
	}
	for _, want := range []string{"Keyboard/install", "Keyboard/install-(2)"} {
		if !slices.Contains(got, want) {
			fail("after Finish the store holds %v, want %s too", got, want)
		}
	}
	if n := len(got) - len(before); n != 2 {
		fail("%d images added (%v), want 2: the flagged page added to Lab?", n, got)
	}
	for _, r := range got {
		if strings.HasPrefix(r, "Lab/") && !slices.Contains(before, r) {
			fail("an image was added to Lab: %s", r)
		}
	}
	rc.shot("done")
}
