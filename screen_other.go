//go:build !(linux && cgo)

package main

// screenSize is unknown here (0, 0): the window keeps its default size.
func screenSize() (width, height int) { return 0, 0 }
