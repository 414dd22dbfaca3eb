package main

import (
	"encoding/json"
	"image"
	"strconv"
	"testing"
	"time"
)

// TestDetailsListUnderXvfb drives the details list of the real console
// with xdotool: a right-click on a row and Disable in its menu disables
// that image, and its row shows Offline; Ctrl+click on two rows and
// Disable in the menu disables both; dragging a header's separator widens
// its column.
//
// Positions are those of Fyne's default theme at scale 1 in the console's
// 1100x700 window, with Lab selected (see startPopulatedConsole): the
// list's header on y=90, its rows on y=125 (Lab/install) and y=165
// (Lab/install-(2)), the Status column from x=658 to x=748, the
// Description column from x=851 to x=977, the separator after it (4
// pixels, where the pointer turns into a resize arrow) at x=979.
func TestDetailsListUnderXvfb(t *testing.T) {
	rc := startPopulatedConsole(t)
	rows := []int{125, 165}
	files := []string{"Lab/install", "Lab/install-(2)"}
	status := func(row int) image.Rectangle { return image.Rect(662, rows[row]-16, 744, rows[row]+16) }
	enabled := func(image string) bool {
		var im struct {
			Enabled bool `json:"enabled"`
		}
		if err := json.Unmarshal(rc.cli("get-image", image, "--json"), &im); err != nil {
			t.Fatal(err)
		}
		return im.Enabled
	}
	// until waits up to 10 s for ok, screenshotting as it goes.
	until := func(what string, ok func(shown image.Image) bool) image.Image {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			shown := rc.shot("now")
			if ok(shown) {
				return shown
			}
			if time.Now().After(deadline) {
				keepFailedShots(t, rc.shots)
				t.Fatalf("%s (screenshots in %s)\n%s", what, rc.shots, rc.logs.String())
			}
			time.Sleep(300 * time.Millisecond)
		}
	}

	rc.click("1", 90, 147) // select Lab: the list shows its two images
	rc.park()

	// Right-click the second row, then Disable, the menu's first item.
	rc.click("3", 420, rows[1])
	rc.park()
	online := rc.shot("online-selected") // the row selected, Online
	rc.click("1", 452, rows[1]+18)
	rc.park()
	offline := until("right-click → Disable on the second row", func(shown image.Image) bool {
		return !enabled(files[1]) && enabled(files[0]) && changed(online, shown, status(1)) > 0
	})
	if !sameAs(offline, status(0), online, status(0)) {
		t.Fatalf("the first row changed when the second was disabled (screenshots in %s)", rc.shots)
	}

	// Enabled again from the command line (the list follows), then
	// Ctrl+click selects both rows and Disable disables both.
	rc.cli("set-image", files[1], "--enabled", "yes")
	until("the list shows the image enabled again", func(shown image.Image) bool {
		return sameAs(shown, status(1), online, status(1))
	})
	rc.click("1", 420, rows[0])
	rc.x("mousemove", "--window", rc.win, "420", strconv.Itoa(rows[1]), "keydown", "ctrl", "click", "1", "keyup", "ctrl")
	time.Sleep(600 * time.Millisecond)
	rc.click("3", 420, rows[1])
	rc.click("1", 452, rows[1]+18) // Disable
	rc.park()
	both := until("Ctrl+click on two rows → Disable", func(shown image.Image) bool {
		// Both rows selected and Offline: each Status cell as the
		// second row's showed once disabled.
		return !enabled(files[0]) && !enabled(files[1]) &&
			sameAs(shown, status(0), offline, status(1)) && sameAs(shown, status(1), offline, status(1))
	})

	// Drag the separator right of Description 100 pixels right:
	// the columns after it move.
	header := image.Rect(980, 75, 1095, 105)
	rc.x("mousemove", "--window", rc.win, "978", "90")
	time.Sleep(100 * time.Millisecond)
	rc.x("mousemove", "--window", rc.win, "979", "90", "mousedown", "1")
	for _, x := range []int{999, 1029, 1059, 1079} {
		rc.x("mousemove", "--window", rc.win, strconv.Itoa(x), "90")
		time.Sleep(100 * time.Millisecond)
	}
	rc.x("mouseup", "1")
	rc.park()
	wide := until("dragging the Description header's separator", func(shown image.Image) bool {
		return changed(both, shown, header) > 0
	})
	if !sameAs(wide, status(0), both, status(0)) || enabled(files[0]) {
		t.Fatalf("dragging the separator changed the rows (screenshots in %s)", rc.shots)
	}
	rc.keep(wide, image.Rect(0, 0, 1100, 700), "screenshots/details-multiselect.png")
}
