package views

import (
	"testing"

	"fyne.io/fyne/v2"
)

func TestFitWindow(t *testing.T) {
	want, min := fyne.NewSize(1100, 700), fyne.NewSize(360, 170)
	for _, tc := range []struct {
		name          string
		width, height int
		scale         float32
		out           fyne.Size
	}{
		{"room at scale 1", 1280, 800, 1, want},
		{"room at scale 2", 2560, 1600, 2, want},
		{"Xvfb 1400x900 at scale 2", 1400, 900, 2, fyne.NewSize(665, 427.5)},
		{"small laptop", 1024, 600, 1, fyne.NewSize(972.8, 570)},
		{"unknown screen", 0, 0, 2, want},
		{"screen smaller than the content's min", 600, 300, 2, min},
		{"no scale given", 1280, 800, 0, want},
	} {
		if got := fitWindow(want, min, tc.width, tc.height, tc.scale); got != tc.out {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.out)
		}
	}
}

// At FYNE_SCALE=2 on a 1400x900 screen the window and its content's min
// size, in pixels, fit the screen.
func TestFitScreenAtScale2(t *testing.T) {
	t.Setenv("FYNE_SCALE", "2")
	f := newFixture(t)
	f.c.Window.Canvas().(interface{ SetScale(float32) }).SetScale(2)
	f.c.FitScreen(1400, 900)
	f.c.settle()
	size, min := f.c.Window.Canvas().Size(), f.c.Window.Content().MinSize()
	if size.Width*2 > 1400 || size.Height*2 > 900 {
		t.Errorf("window %v is %vx%v pixels at scale 2", size, size.Width*2, size.Height*2)
	}
	if min.Width*2 > size.Width*2 || min.Height*2 > size.Height*2 {
		t.Errorf("the content's min size %v does not fit the window %v", min, size)
	}
	// With room for it the window keeps its default size.
	f.c.FitScreen(2800, 1800)
	f.c.settle()
	if got := f.c.Window.Canvas().Size(); got != defaultWindowSize {
		t.Errorf("on a 2800x1800 screen at scale 2: %v, want %v", got, defaultWindowSize)
	}
}
