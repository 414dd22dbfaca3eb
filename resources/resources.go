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

var (
	//go:embed server.svg
	serverSVG []byte
	//go:embed folder.svg
	folderSVG []byte
	//go:embed group.svg
	groupSVG []byte
	//go:embed image.svg
	imageSVG []byte
	//go:embed image_disabled.svg
	imageDisabledSVG []byte
	//go:embed boot.svg
	bootSVG []byte
	//go:embed boot_disabled.svg
	bootDisabledSVG []byte
)

// Tree icons, one per kind of node. A disabled image has its own icon: grey,
// with a down arrow, as the WDS console shows it.
var (
	ServerIcon            = fyne.NewStaticResource("server.svg", serverSVG)
	FolderIcon            = fyne.NewStaticResource("folder.svg", folderSVG)
	GroupIcon             = fyne.NewStaticResource("group.svg", groupSVG)
	ImageIcon             = fyne.NewStaticResource("image.svg", imageSVG)
	ImageDisabledIcon     = fyne.NewStaticResource("image_disabled.svg", imageDisabledSVG)
	BootImageIcon         = fyne.NewStaticResource("boot.svg", bootSVG)
	BootImageDisabledIcon = fyne.NewStaticResource("boot_disabled.svg", bootDisabledSVG)
)
