package wim

import (
	"encoding/binary"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
)

// InfoEdit is what SetImageInfo changes in an image's XML data and in the
// header. A nil field is left as it is; an empty string removes the
// element.
type InfoEdit struct {
	Name               *string
	Description        *string
	DisplayName        *string
	DisplayDescription *string
	Flags              *string // <FLAGS>, the edition flag ("Professional")
	// Properties set further elements, as wimlib-imagex's
	// --image-property does: "NAME", "WINDOWS/EDITIONID" … (see
	// SettableProperties). They apply after the fields above.
	Properties []Property
	// Boot makes the image the bootable one (header BootIndex and
	// BootMetadata).
	Boot bool
}

// Property is one element of an image's XML data to set, by its path
// below <IMAGE> ("DESCRIPTION", "WINDOWS/EDITIONID").
type Property struct {
	Path, Value string
}

// SettableProperties are the property paths SetImageInfo can set.
var SettableProperties = []string{
	"NAME", "DESCRIPTION", "DISPLAYNAME", "DISPLAYDESCRIPTION", "FLAGS",
	"WINDOWS/PRODUCTNAME", "WINDOWS/EDITIONID", "WINDOWS/INSTALLATIONTYPE",
	"WINDOWS/HAL", "WINDOWS/PRODUCTTYPE", "WINDOWS/PRODUCTSUITE", "WINDOWS/SYSTEMROOT",
}

// ParseProperty reads NAME=VALUE as wimlib-imagex's --image-property takes
// it; the name is case-insensitive and must be one of SettableProperties.
func ParseProperty(s string) (Property, error) {
	k, v, ok := strings.Cut(s, "=")
	if !ok {
		return Property{}, fmt.Errorf("image property %q: want NAME=VALUE", s)
	}
	p := strings.ToUpper(strings.TrimSpace(k))
	if !slices.Contains(SettableProperties, p) {
		return Property{}, fmt.Errorf("image property %q cannot be set; these can: %s", k, strings.Join(SettableProperties, ", "))
	}
	return Property{Path: p, Value: v}, nil
}

// SetImageInfo changes the XML data of image index (1-based) of the WIM
// file name, and with e.Boot makes it the bootable image, in place.
//
// Only the XML data and the header are rewritten, crash-safe: the new XML
// data is written after the current end of the file and synced, then the
// header is rewritten to point to it (the old XML data stays, unused, until
// the file is optimized). A crash at any point leaves a file that opens
// with the old properties or the new ones. The header's write-in-progress
// flag is set meanwhile, and the file locked against other writers, as
// OpenAppend does. Elements of the XML data this package has no field for
// are kept as they were.
//
// A new name must not be another image's name, nor a number (which would
// read as an index).
func SetImageInfo(name string, index int, e InfoEdit) error {
	return rewriteInfo(name, func(src *WIM, info *Info) (int, error) {
		img := info.Image(index)
		if img == nil {
			return 0, fmt.Errorf("%s has no image %d (it has %d)", name, index, len(info.Images))
		}
		oldName := img.Name
		props := slices.Clone(e.Properties)
		for _, f := range []struct {
			path string
			v    *string
		}{{"NAME", e.Name}, {"DESCRIPTION", e.Description}, {"DISPLAYNAME", e.DisplayName}, {"DISPLAYDESCRIPTION", e.DisplayDescription}, {"FLAGS", e.Flags}} {
			if f.v != nil {
				props = slices.Insert(props, 0, Property{Path: f.path, Value: *f.v})
			}
		}
		for _, p := range props {
			if err := img.setProperty(p); err != nil {
				return 0, fmt.Errorf("%s: image %d: %w", name, index, err)
			}
		}
		if img.Name != oldName {
			if err := checkImageName(name, info, index); err != nil {
				return 0, err
			}
		}
		boot := src.BootIndex()
		if e.Boot {
			boot = index
		}
		return boot, nil
	})
}

// checkImageName refuses a name of image index that another image has, or
// that is a number.
func checkImageName(file string, info *Info, index int) error {
	n := info.Images[index-1].Name
	if n == "" {
		return nil
	}
	if _, err := strconv.Atoi(strings.TrimSpace(n)); err == nil {
		return fmt.Errorf("%s: image name %q is a number, which commands would read as an index: choose a name with a letter in it", file, n)
	}
	for i, im := range info.Images {
		if i+1 != index && im.Name == n {
			return fmt.Errorf("%s: image %d is already named %q: choose another name", file, i+1, n)
		}
	}
	return nil
}

// setProperty sets one element of the image; an empty value removes it.
func (img *ImageInfo) setProperty(p Property) error {
	path := strings.ToUpper(p.Path)
	if !slices.Contains(SettableProperties, path) {
		return fmt.Errorf("image property %q cannot be set; these can: %s", p.Path, strings.Join(SettableProperties, ", "))
	}
	if !validXMLText(p.Value) {
		return fmt.Errorf("%s %q contains characters XML cannot hold", path, p.Value)
	}
	if win, ok := strings.CutPrefix(path, "WINDOWS/"); ok {
		if img.Windows == nil {
			if p.Value == "" {
				return nil
			}
			img.Windows = &WindowsInfo{}
		}
		w := img.Windows
		field := map[string]*string{
			"PRODUCTNAME": &w.ProductName, "EDITIONID": &w.EditionID, "INSTALLATIONTYPE": &w.InstallationType,
			"HAL": &w.HAL, "PRODUCTTYPE": &w.ProductType, "PRODUCTSUITE": &w.ProductSuite, "SYSTEMROOT": &w.SystemRoot,
		}[win]
		if err := setLeaf(&w.layout, win, field, p.Value); err != nil {
			return fmt.Errorf("WINDOWS/%w", err)
		}
		return nil
	}
	field := map[string]*string{
		"NAME": &img.Name, "DESCRIPTION": &img.Description, "DISPLAYNAME": &img.DisplayName,
		"DISPLAYDESCRIPTION": &img.DisplayDescription, "FLAGS": &img.Flags,
	}[path]
	return setLeaf(&img.layout, path, field, p.Value)
}

// setLeaf sets the text element name, held in field, of a container whose
// children are layout. An element kept verbatim under that name (repeated
// or with attributes) is refused rather than shadowed; an empty value
// drops the element.
func setLeaf(layout *[]slot, name string, field *string, value string) error {
	for _, s := range *layout {
		if s.node != nil && s.node.name == name {
			return fmt.Errorf("%s: the XML data holds this element in a form this program keeps as it is (repeated, or with attributes); change it with wimlib-imagex", name)
		}
	}
	*field = value
	if value == "" {
		*layout = slices.DeleteFunc(*layout, func(s slot) bool { return s.node == nil && s.name == name })
	}
	return nil
}

// rewriteInfo rewrites the XML data of the WIM file name, and its header's
// boot index, in place (see SetImageInfo): edit changes info (parsed from
// the file, unknown elements kept) and returns the boot index to record.
func rewriteInfo(name string, edit func(src *WIM, info *Info) (int, error)) error {
	// Lock first: the file read below is then the one rewritten.
	f, err := os.OpenFile(name, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("wim: %w", err)
	}
	defer f.Close()
	if err := lockFile(f); err != nil {
		return fmt.Errorf("wim: %s: %w", name, err)
	}
	src, err := Open(name, &OpenOptions{NoSplitSearch: true})
	if err != nil {
		return err
	}
	defer src.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("wim: %w", err)
	}
	if !os.SameFile(st, mustStat(src.f)) {
		return fmt.Errorf("wim: %s changed while being opened; try again", name)
	}
	h := src.Header()
	switch {
	case h.TotalParts != 1:
		return fmt.Errorf("wim: %s: part %d of a split set cannot be changed; change the WIM before splitting it", name, h.Part)
	case h.Flags&FlagReadOnly != 0:
		return fmt.Errorf("wim: %s: the file is marked read-only", name)
	}
	raw, err := src.rawXML()
	if err != nil {
		return err
	}
	info, err := parseXMLData(raw)
	if err != nil {
		return err
	}
	boot, err := edit(src, info)
	if err != nil {
		return err
	}
	if boot < 0 || boot > len(info.Images) {
		return fmt.Errorf("wim: %s: boot index %d out of range (%d images)", name, boot, len(info.Images))
	}
	newH := h
	newH.Flags &^= FlagWriteInProgress
	newH.BootIndex = uint32(boot)
	newH.BootMetadata = ResourceHeader{}
	if boot > 0 {
		e, err := src.MetadataEntry(boot)
		if err != nil {
			return err
		}
		newH.BootMetadata = e.Res
	}
	// The new XML goes after everything the file holds, so that no byte
	// the current header references is overwritten.
	base := max(st.Size(), int64(HeaderSize))
	info.TotalBytes = base
	data, err := info.Marshal()
	if err != nil {
		return fmt.Errorf("wim: %s: %w", name, err)
	}
	newH.XML = ResourceHeader{Offset: base, StoredSize: int64(len(data)), Size: int64(len(data)), Flags: ResMetadata}

	// Mark the file as being written; on failure before the new header,
	// cut what was written and clear the mark again.
	var fl [4]byte
	binary.LittleEndian.PutUint32(fl[:], h.Flags|FlagWriteInProgress)
	if _, err := f.WriteAt(fl[:], 0x10); err != nil {
		return fmt.Errorf("wim: %s: %w", name, err)
	}
	committed := false
	defer func() {
		if committed {
			return
		}
		f.Truncate(st.Size())
		binary.LittleEndian.PutUint32(fl[:], h.Flags&^FlagWriteInProgress)
		f.WriteAt(fl[:], 0x10)
		f.Sync()
	}()
	if _, err := f.WriteAt(data, base); err != nil {
		return fmt.Errorf("wim: %s: writing XML data: %w", name, err)
	}
	if crashHook != nil {
		crashHook("after-xml")
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("wim: %s: %w", name, err)
	}
	if crashHook != nil {
		crashHook("before-header")
	}
	hb, err := newH.MarshalBinary()
	if err != nil {
		return fmt.Errorf("wim: %s: %w", name, err)
	}
	committed = true // from here on the file must not be cut back
	if _, err := f.WriteAt(hb, 0); err != nil {
		return fmt.Errorf("wim: %s: writing header: %w", name, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("wim: %s: %w", name, err)
	}
	if crashHook != nil {
		crashHook("after-header")
	}
	return nil
}
