package store

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// maxNameLen bounds group and file names (NTFS allows 255 UTF-16 units per
// component; the store keeps well inside it to leave room for suffixes).
const maxNameLen = 200

// CheckGroupName reports whether name can name an image group: one path
// component, not hidden, free of the characters Windows refuses in file
// names, of NUL and of control characters.
func CheckGroupName(name string) error {
	if err := checkComponent("image group", name); err != nil {
		return err
	}
	return nil
}

// CheckFileName reports whether name (with or without ".wim") can name an
// image file of a group or a boot architecture.
func CheckFileName(name string) error {
	base := strings.TrimSuffix(name, ".wim")
	if err := checkComponent("image file", base); err != nil {
		return err
	}
	if strings.EqualFold(base+".wim", ResFile) || strings.EqualFold(base, "Res") {
		return fmt.Errorf("image file name %q is reserved for the group's resource file", name)
	}
	return nil
}

func checkComponent(what, name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%s name is empty", what)
	case name == "." || name == "..":
		return fmt.Errorf("%s name %q is not allowed", what, name)
	case strings.HasPrefix(name, "."):
		return fmt.Errorf("%s name %q starts with a dot (names starting with a dot are the store's own)", what, name)
	case len(name) > maxNameLen:
		return fmt.Errorf("%s name is %d bytes long (at most %d)", what, len(name), maxNameLen)
	case !utf8.ValidString(name):
		return fmt.Errorf("%s name %q is not valid UTF-8", what, name)
	case strings.TrimSpace(name) != name || strings.HasSuffix(name, "."):
		return fmt.Errorf("%s name %q starts or ends with a space or ends with a dot", what, name)
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f || strings.ContainsRune(`<>:"/\|?*`, r) {
			return fmt.Errorf("%s name %q contains %q, which is not allowed", what, name, r)
		}
	}
	up := strings.ToUpper(name)
	if i := strings.IndexByte(up, '.'); i >= 0 {
		up = up[:i]
	}
	switch up {
	case "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8", "COM9",
		"LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9":
		return fmt.Errorf("%s name %q is a reserved device name on Windows", what, name)
	}
	return nil
}

// fileBase returns name without its ".wim" suffix.
func fileBase(name string) string { return strings.TrimSuffix(name, ".wim") }

// ImageRef names one image of the store: an install image (Group, File) or
// a boot image (Arch, File, Boot true). File has no ".wim" suffix.
type ImageRef struct {
	Boot  bool
	Group string // install images
	Arch  string // boot images
	File  string
}

// ParseImageRef parses "GROUP/FILE" or "boot/ARCH/FILE" (FILE with or without
// ".wim") and checks every name.
func ParseImageRef(s string) (ImageRef, error) {
	parts := strings.Split(s, "/")
	var r ImageRef
	switch {
	case len(parts) == 3 && strings.EqualFold(parts[0], "boot"):
		r = ImageRef{Boot: true, Arch: parts[1], File: fileBase(parts[2])}
		if err := checkComponent("architecture", r.Arch); err != nil {
			return ImageRef{}, fmt.Errorf("image %q: %w", s, err)
		}
	case len(parts) == 2:
		r = ImageRef{Group: parts[0], File: fileBase(parts[1])}
		if err := CheckGroupName(r.Group); err != nil {
			return ImageRef{}, fmt.Errorf("image %q: %w", s, err)
		}
	default:
		return ImageRef{}, fmt.Errorf("image %q: want GROUP/FILE or boot/ARCH/FILE", s)
	}
	if err := CheckFileName(r.File); err != nil {
		return ImageRef{}, fmt.Errorf("image %q: %w", s, err)
	}
	return r, nil
}

// String returns the reference in the form ParseImageRef reads.
func (r ImageRef) String() string {
	if r.Boot {
		return "boot/" + r.Arch + "/" + r.File
	}
	return r.Group + "/" + r.File
}

// key is the catalog key of the image's record.
func (r ImageRef) key() []byte { return []byte(r.String()) }
