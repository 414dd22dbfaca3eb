//go:build !(linux && cgo)

package main

// afterDialog has nothing to do where the dialogs are not GTK's.
func afterDialog() {}
