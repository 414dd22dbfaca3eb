//go:build linux && cgo

package main

/*
#cgo LDFLAGS: -lX11 -lXrandr
#include <X11/Xlib.h>
#include <X11/extensions/Xrandr.h>

// primaryMonitor reports the size in pixels of the X display's primary
// monitor (the first one when none is primary; the whole screen when RandR
// knows no monitors). It returns 0 without a display.
static int primaryMonitor(int *width, int *height) {
	Display *d = XOpenDisplay(NULL);
	if (d == NULL) {
		return 0;
	}
	Screen *s = DefaultScreenOfDisplay(d);
	*width = WidthOfScreen(s);
	*height = HeightOfScreen(s);
	int ev, err, n = 0;
	if (XRRQueryExtension(d, &ev, &err)) {
		XRRMonitorInfo *m = XRRGetMonitors(d, RootWindowOfScreen(s), True, &n);
		if (m != NULL) {
			for (int i = 0; i < n; i++) {
				if (i == 0 || m[i].primary) {
					*width = m[i].width;
					*height = m[i].height;
				}
			}
			XRRFreeMonitors(m);
		}
	}
	XCloseDisplay(d);
	return 1;
}
*/
import "C"

// screenSize returns the size in pixels of the monitor the console opens
// on (X11's primary monitor), or 0, 0 when there is no X display (Wayland
// without XWayland: the compositor sizes the window).
func screenSize() (width, height int) {
	var w, h C.int
	if C.primaryMonitor(&w, &h) == 0 {
		return 0, 0
	}
	return int(w), int(h)
}
