// Package resources holds WIM Console's bundled assets: the application icon
// and the icons of the console tree.
package resources

import (
	_ "embed"

	"fyne.io/fyne/v2"
)

//go:embed icon.png
var iconPNG []byte

// AppIcon is the application icon (also named in FyneApp.toml).
var AppIcon = fyne.NewStaticResource("icon.png", iconPNG)
