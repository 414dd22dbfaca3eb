package main

import (
	"encoding/json"
	"image"
	"image/color"
	"testing"
	"time"
)

// TestPropertiesUnderXvfb opens the Properties of an image in the real
// console (the toolbar's Properties button, Lab/install selected), clicks
// each of its tabs in turn at fixed positions and checks that every click
// lands: the selected tab's underline moves under the tab clicked, and the
// dialog's title and buttons stay where they were, pixel for pixel (the
// dialog once grew and moved with each tab, so a click aimed at the next
// tab missed). It then types a new name in the General tab, presses Enter
// and reads the name back with the command line.
//
// Positions are those of Fyne's default theme at scale 1 in the console's
// 1100x700 window: the dialog spans x 230-870, y 82-617; its tabs' titles
// are on y=156, their underline on y=175; the Name field is at y=196.
func TestPropertiesUnderXvfb(t *testing.T) {
	rc := startPopulatedConsole(t)
	rc.click("1", 160, 178) // Lab/install
	rc.click("1", 152, 48)  // the toolbar's Properties
	rc.park()
	const underlineY = 175
	tabs := []struct {
		name string
		x    int
	}{{"General", 285}, {"Unattend", 366}, {"Language Packs", 475}, {"Space", 572}, {"Sessions", 642}}
	// The dialog reads the image's details before it opens: on a loaded
	// machine that takes more than the click's pause.
	general := rc.shot("general")
	for deadline := time.Now().Add(10 * time.Second); isDark(general.At(tabs[0].x, underlineY)) && time.Now().Before(deadline); {
		time.Sleep(300 * time.Millisecond)
		general = rc.shot("general")
	}
	time.Sleep(300 * time.Millisecond) // done painting
	general = rc.shot("general")
	underline := general.At(tabs[0].x, underlineY)
	if isDark(underline) {
		keepFailedShots(t, rc.shots)
		t.Fatalf("Properties did not open, or its General tab is not underlined at (%d, %d) (screenshots in %s)\n%s",
			tabs[0].x, underlineY, rc.shots, rc.logs.String())
	}
	rc.keep(general, image.Rect(0, 0, 1100, 700), "screenshots/properties-general.png")
	title := image.Rect(232, 84, 868, 124)    // the dialog's title band
	buttons := image.Rect(440, 562, 660, 600) // Cancel, Apply, OK
	// Every tab, then back to General.
	for _, tab := range append(tabs[1:], tabs[0]) {
		rc.click("1", tab.x, 156)
		rc.park()
		shot := rc.shot("tab-" + tab.name)
		for _, other := range tabs {
			on := sameColour(shot.At(other.x, underlineY), underline)
			if other.name == tab.name && !on {
				t.Errorf("the click on tab %s at (%d, 156) did not select it: no underline under it (screenshots in %s)", tab.name, tab.x, rc.shots)
			}
			if other.name != tab.name && on {
				t.Errorf("after the click on tab %s, tab %s is still underlined (screenshots in %s)", tab.name, other.name, rc.shots)
			}
		}
		if !sameAs(shot, title, general, title) || !sameAs(shot, buttons, general, buttons) {
			t.Errorf("on tab %s the dialog's title or buttons moved: it changed size or place (screenshots in %s)", tab.name, rc.shots)
		}
	}
	if t.Failed() {
		keepFailedShots(t, rc.shots)
		t.FailNow()
	}

	// A new name, typed in the General tab; Enter is OK.
	const name = "Windows 11 Pro Lab"
	rc.click("1", 610, 196)
	rc.x("key", "ctrl+a")
	rc.x("type", "--delay", "30", name)
	time.Sleep(300 * time.Millisecond)
	typed := rc.shot("typed")
	rc.x("key", "Return")
	var im struct {
		Name string `json:"name"`
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if err := json.Unmarshal(rc.cli("get-image", "Lab/install", "--json"), &im); err != nil {
			t.Fatal(err)
		}
		if im.Name == name {
			break
		}
		if time.Now().After(deadline) {
			rc.shot("after-enter")
			keepFailedShots(t, rc.shots)
			t.Fatalf("after typing the name and Enter, get-image says the name is %q, want %q (screenshots in %s)\n%s",
				im.Name, name, rc.shots, rc.logs.String())
		}
		time.Sleep(300 * time.Millisecond)
	}
	// Enter closed the dialog: its title band shows the window behind.
	time.Sleep(500 * time.Millisecond)
	if closed := rc.shot("closed"); sameAs(closed, title, typed, title) {
		keepFailedShots(t, rc.shots)
		t.Errorf("the Properties dialog is still open after Enter (screenshots in %s)", rc.shots)
	}
}

// isDark reports whether c is one of the theme's dark background colours
// rather than the accent of a selected tab's underline.
func isDark(c color.Color) bool {
	r, g, b, _ := c.RGBA()
	return r>>8 < 60 && g>>8 < 60 && b>>8 < 90
}

func sameColour(a, b color.Color) bool {
	r1, g1, b1, _ := a.RGBA()
	r2, g2, b2, _ := b.RGBA()
	return r1 == r2 && g1 == g2 && b1 == b2
}
