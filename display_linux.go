//go:build linux && cgo

package main

/*
#include <stdlib.h>
#include <string.h>

// cliWithoutDisplay keeps command-line runs from connecting to the display.
// sqweek/dialog calls gtk_init_check when its package initialises, so every
// run of the binary with DISPLAY set connected to the X server and loaded
// GTK's modules (about 0.07 s and 60 MB more per run) although only the
// console uses the file dialogs. This is an ELF constructor: glibc runs it
// before the Go runtime and any package's init, passing it the command line.
// When the command line names a command (anything but --store DIR), the
// display variables are removed for this process, so gtk_init_check fails
// at once; the console, opened when there is no command, keeps them.
#ifdef __GLIBC__
__attribute__((constructor)) static void cliWithoutDisplay(int argc, char **argv, char **envp) {
	(void)envp;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--store") == 0) {
			i++;
			continue;
		}
		if (strncmp(argv[i], "--store=", 8) == 0) {
			continue;
		}
		unsetenv("DISPLAY");
		unsetenv("WAYLAND_DISPLAY");
		return;
	}
}
#endif
*/
import "C"
