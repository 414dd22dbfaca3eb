package views

import (
	"os"
	"strconv"
	"strings"

	"fyne.io/fyne/v2"
)

// defaultWindowSize is the console window's size where the screen has
// room for it (Fyne units; the pixels are these times the canvas scale).
var defaultWindowSize = fyne.NewSize(1100, 700)

// screenMargin is the part of the screen left to the window manager's
// frame and the desktop's panels.
const screenMargin = 0.05

// fitWindow returns the size to open the window with on a screen of
// width×height pixels where Fyne draws at scale: want, made smaller until
// it fits the screen less screenMargin, but never smaller than the
// content's min (which Fyne would enforce anyway). A screen of unknown
// size (0) leaves want as it is.
func fitWindow(want, min fyne.Size, width, height int, scale float32) fyne.Size {
	if width <= 0 || height <= 0 {
		return want
	}
	if scale <= 0 {
		scale = 1
	}
	room := fyne.NewSize(float32(width)*(1-screenMargin)/scale, float32(height)*(1-screenMargin)/scale)
	return fyne.NewSize(max(min.Width, fyne.Min(want.Width, room.Width)), max(min.Height, fyne.Min(want.Height, room.Height)))
}

// FitScreen sizes the window to fit a screen of width×height pixels (the
// monitor it opens on): 1100×700 where that fits at the scale Fyne will
// draw at (FYNE_SCALE or the settings' scale; FYNE_SCALE=2 doubles every
// pixel), else as much of the screen as screenMargin leaves. Call it before
// the window is shown. The scale Fyne finally picks also counts the
// monitor's DPI, known once the window exists: if it differs, the window
// is sized again then.
func (c *Console) FitScreen(width, height int) {
	if width <= 0 || height <= 0 {
		return
	}
	guess := userScale()
	c.Window.Resize(fitWindow(defaultWindowSize, c.Window.Content().MinSize(), width, height, guess))
	go c.do(func() { // runs once the window exists (main.go shows it next)
		if s := c.Window.Canvas().Scale(); s != guess {
			c.Window.Resize(fitWindow(defaultWindowSize, c.Window.Content().MinSize(), width, height, s))
		}
	})
}

// userScale is the scale the user asks Fyne for: FYNE_SCALE, else the
// settings' scale, else 1 (Fyne's own rule, which it keeps internal).
func userScale() float32 {
	if env := strings.TrimSpace(os.Getenv("FYNE_SCALE")); env != "" && env != "auto" {
		if s, err := strconv.ParseFloat(env, 32); err == nil && s > 0 {
			return float32(s)
		}
	}
	if a := fyne.CurrentApp(); a != nil {
		if s := a.Settings().Scale(); s > 0 {
			return s
		}
	}
	return 1
}
