//go:build linux && cgo

package main

// #cgo pkg-config: gtk+-3.0
// #include <gtk/gtk.h>
// static void settleDisplay(void) {
// 	GdkDisplay *d = gdk_display_get_default();
// 	if (d == NULL) {
// 		return;
// 	}
// 	while (gtk_events_pending()) {
// 		gtk_main_iteration();
// 	}
// 	gdk_display_sync(d);
// }
import "C"

// afterDialog makes the X server take the closed dialog's window away now.
// sqweek/dialog destroys the window and runs GTK's pending events, but the
// destroy request could stay in Xlib's buffer until the next dialog: the
// cancelled dialog stayed on the screen, frozen. Runs on the dialog thread.
func afterDialog() { C.settleDisplay() }
