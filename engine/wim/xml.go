package wim

import (
	"bytes"
	"encoding/binary"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/wimconsole/wimconsole/engine/wintext"
)

// Info is a WIM's XML data: the file's total size and a description of
// each image. Elements Info has no field for are kept, in their place, so
// that Marshal writes back everything parseXMLData read.
type Info struct {
	TotalBytes int64
	Images     []ImageInfo // Images[i].Index == i+1

	layout []slot // children of <WIM> in document order
	tail   string // whitespace after </WIM> (wimlib 1.13 writes "\n")
	// noTotal makes Marshal leave TOTALBYTES out, as wimlib writes the
	// copy of the XML data at the start of a pipable WIM (the file's size
	// is not known yet there).
	noTotal bool
}

// ImageInfo is the <IMAGE> element describing one image.
type ImageInfo struct {
	Index              int // 1-based; Marshal renumbers from the slice position
	Name               string
	Description        string
	DisplayName        string
	DisplayDescription string
	Flags              string // edition flag, e.g. "Professional"
	DirCount           int64
	FileCount          int64
	TotalBytes         int64
	HardLinkBytes      int64
	Created            time.Time // zero when absent
	Modified           time.Time // zero when absent
	WIMBoot            bool
	Windows            *WindowsInfo // nil when absent

	attrs  []xml.Attr // attributes other than INDEX
	layout []slot
}

// WindowsInfo is the <WINDOWS> element of an image: what the image is.
type WindowsInfo struct {
	Arch             int // 0 x86, 5 ARM, 6 IA64, 9 AMD64, 12 ARM64
	ProductName      string
	EditionID        string
	InstallationType string
	HAL              string
	ProductType      string
	ProductSuite     string
	Languages        []string
	DefaultLanguage  string
	Version          WindowsVersion
	SystemRoot       string

	layout     []slot
	langLayout []slot // children of <LANGUAGES>
	verLayout  []slot // children of <VERSION>
}

// WindowsVersion is the <VERSION> element of <WINDOWS>.
type WindowsVersion struct {
	Major, Minor, Build, SPBuild, SPLevel int
}

// ArchName returns wimlib's name for the architecture code, e.g. "x86_64".
func (w *WindowsInfo) ArchName() string {
	switch w.Arch {
	case 0:
		return "x86"
	case 1:
		return "MIPS"
	case 5:
		return "ARM"
	case 6:
		return "ia64"
	case 9:
		return "x86_64"
	case 12:
		return "ARM64"
	}
	return "unknown"
}

// slot is one child of a known element, in document order: a known field
// (name set, node nil) or an element kept as read (node set).
type slot struct {
	name string
	node *xmlNode
}

// xmlNode is an element kept verbatim, or (name "") a run of text. An
// element whose content is a single run of text holds it in text, with no
// children.
type xmlNode struct {
	name     string
	attrs    []xml.Attr
	text     string
	children []*xmlNode
}

// Canonical child orders, as Microsoft's tools write them. A field that
// was not in the parsed document is inserted at its place in this order.
var (
	wimOrder     = []string{"TOTALBYTES", "IMAGE"}
	imageOrder   = []string{"DIRCOUNT", "FILECOUNT", "TOTALBYTES", "HARDLINKBYTES", "CREATIONTIME", "LASTMODIFICATIONTIME", "WIMBOOT", "WINDOWS", "NAME", "DESCRIPTION", "FLAGS", "DISPLAYNAME", "DISPLAYDESCRIPTION"}
	windowsOrder = []string{"ARCH", "PRODUCTNAME", "EDITIONID", "INSTALLATIONTYPE", "HAL", "PRODUCTTYPE", "PRODUCTSUITE", "LANGUAGES", "VERSION", "SYSTEMROOT"}
	langOrder    = []string{"LANGUAGE", "DEFAULT"}
	versionOrder = []string{"MAJOR", "MINOR", "BUILD", "SPBUILD", "SPLEVEL"}
)

// Limits on XML data.
const (
	maxXMLDepth = 50
	maxXMLSize  = 256 << 20
)

// xmlError reports invalid XML data.
func xmlError(format string, args ...any) error {
	return &FormatError{Msg: "XML data: " + fmt.Sprintf(format, args...)}
}

// decodeUTF16 converts UTF-16LE bytes (with or without a byte order mark)
// to a string; unpaired surrogates become U+FFFD.
func decodeUTF16(b []byte) string {
	return wintext.DecodeLE(b)
}

// encodeUTF16 converts s to UTF-16LE with a byte order mark.
func encodeUTF16(s string) []byte {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2+2*len(u))
	b[0], b[1] = 0xFF, 0xFE
	for i, c := range u {
		binary.LittleEndian.PutUint16(b[2+2*i:], c)
	}
	return b
}

// parseXMLData parses a WIM's XML data: UTF-16LE text, normally starting with
// a byte order mark, whose root is <WIM>. Each <IMAGE> must carry an INDEX
// attribute, and the indexes must be exactly 1..N.
func parseXMLData(data []byte) (*Info, error) {
	if len(data) > maxXMLSize {
		return nil, xmlError("%d bytes is too large", len(data))
	}
	return parseXMLFrom(bytes.NewReader(data), int64(len(data)))
}

// parseXMLFrom parses the size bytes of XML data r yields (see parseXMLData),
// decoding the UTF-16 as it goes: the text is never held whole, in
// UTF-16 or in UTF-8, only the tree built from it.
func parseXMLFrom(r io.Reader, size int64) (*Info, error) {
	// An odd last byte is no code unit; a byte order mark is no text.
	// Unpaired surrogates become U+FFFD.
	text := wintext.NewLEReader(io.LimitReader(r, size&^1))
	root, tail, err := parseXMLTree(text)
	if err != nil {
		return nil, err
	}
	if root.name != "WIM" {
		return nil, xmlError("root element is <%s>, want <WIM>", root.name)
	}
	info, err := infoFromTree(root)
	if err != nil {
		return nil, err
	}
	info.tail = tail
	return info, nil
}

// parseXMLTree parses a document into a tree of xmlNodes, returning also
// the whitespace that follows the root element. An element whose content
// is one run of text keeps it in its own text field, without a child node
// (most of a WIM's elements are such leaves).
func parseXMLTree(doc io.Reader) (*xmlNode, string, error) {
	d := xml.NewDecoder(doc)
	d.Strict = true
	d.CharsetReader = func(label string, r io.Reader) (io.Reader, error) {
		// The text was decoded from UTF-16 already; a declaration
		// naming that encoding describes the original bytes.
		return r, nil
	}
	var root *xmlNode
	var stack []*xmlNode
	var tail string
	for {
		tok, err := d.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			var fe *FormatError
			if errors.As(err, &fe) {
				return nil, "", err // reading the resource failed
			}
			return nil, "", xmlError("%v", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if root != nil && len(stack) == 0 {
				return nil, "", xmlError("more than one root element")
			}
			if len(stack) >= maxXMLDepth {
				return nil, "", xmlError("elements nested more than %d deep", maxXMLDepth)
			}
			n := &xmlNode{name: qname(t.Name), attrs: slices.Clone(t.Attr)}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				if p.text != "" {
					// Mixed content: the text becomes a child.
					p.children = append(p.children, &xmlNode{text: p.text})
					p.text = ""
				}
				p.children = append(p.children, n)
			} else {
				root = n
			}
			stack = append(stack, n)
		case xml.EndElement:
			if len(stack) == 0 || stack[len(stack)-1].name != qname(t.Name) {
				return nil, "", xmlError("unexpected end tag </%s>", qname(t.Name))
			}
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) == 0 {
				if len(bytes.TrimSpace(t)) != 0 {
					return nil, "", xmlError("text outside the root element")
				}
				if root != nil {
					tail += string(t)
				}
				continue
			}
			p := stack[len(stack)-1]
			k := len(p.children)
			switch {
			case k == 0:
				p.text += string(t)
			case p.children[k-1].name == "":
				p.children[k-1].text += string(t)
			default:
				p.children = append(p.children, &xmlNode{text: string(t)})
			}
		}
	}
	if root == nil {
		return nil, "", xmlError("no root element")
	}
	if len(stack) != 0 {
		return nil, "", xmlError("element <%s> is not closed", stack[len(stack)-1].name)
	}
	return root, tail, nil
}

func qname(n xml.Name) string {
	if n.Space != "" {
		return n.Space + ":" + n.Local
	}
	return n.Local
}

// text returns the character data directly inside n.
func (n *xmlNode) textContent() string {
	if len(n.children) == 0 {
		return n.text
	}
	var sb strings.Builder
	for _, c := range n.children {
		if c.name == "" {
			sb.WriteString(c.text)
		}
	}
	return sb.String()
}

// elements returns n's child elements, skipping text.
func (n *xmlNode) elements() []*xmlNode {
	var out []*xmlNode
	for _, c := range n.children {
		if c.name != "" {
			out = append(out, c)
		}
	}
	return out
}

// isLeaf reports whether n has no child elements and no attributes, so
// that reading it as a field loses nothing.
func (n *xmlNode) isLeaf() bool {
	for _, c := range n.children {
		if c.name != "" {
			return false
		}
	}
	return len(n.attrs) == 0
}

func parseInt(s string) (int64, bool) {
	v, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	return v, err == nil && v >= 0
}

// parseFiletime decodes a {HIGHPART, LOWPART} element (hexadecimal).
func parseFiletime(n *xmlNode) (time.Time, bool) {
	var hi, lo uint64
	var okHi, okLo bool
	for _, c := range n.elements() {
		s := strings.TrimSpace(c.textContent())
		s = strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
		v, err := strconv.ParseUint(s, 16, 32)
		switch c.name {
		case "HIGHPART":
			hi, okHi = v, err == nil && !okHi
		case "LOWPART":
			lo, okLo = v, err == nil && !okLo
		default:
			return time.Time{}, false
		}
	}
	if !okHi || !okLo || len(n.elements()) != 2 || len(n.attrs) != 0 {
		return time.Time{}, false
	}
	return FiletimeToTime(hi<<32 | lo), true
}

// FiletimeToTime converts a Windows FILETIME (100 ns units since 1601) to
// a UTC time.
func FiletimeToTime(ft uint64) time.Time {
	const epochDiff = 11644473600 // seconds from 1601 to 1970
	return time.Unix(int64(ft/1e7)-epochDiff, int64(ft%1e7)*100).UTC()
}

// TimeToFiletime converts t to a Windows FILETIME; times before 1601 give 0.
func TimeToFiletime(t time.Time) uint64 {
	const epochDiff = 11644473600
	s := t.Unix() + epochDiff
	if s < 0 {
		return 0
	}
	return uint64(s)*1e7 + uint64(t.Nanosecond()/100)
}

// fieldSeen records known field names met while reading a container, so
// that a repeated one is kept as an unknown element.
type fieldSeen map[string]bool

func (f fieldSeen) first(name string) bool {
	if f[name] {
		return false
	}
	f[name] = true
	return true
}

func infoFromTree(root *xmlNode) (*Info, error) {
	info := &Info{}
	seen := fieldSeen{}
	var images []ImageInfo
	for _, c := range root.elements() {
		switch {
		case c.name == "IMAGE":
			img, err := imageFromTree(c)
			if err != nil {
				return nil, err
			}
			if len(images) >= maxImages {
				return nil, xmlError("more than %d images", maxImages)
			}
			images = append(images, img)
			info.layout = append(info.layout, slot{name: "IMAGE"})
			continue
		case c.name == "TOTALBYTES" && c.isLeaf() && seen.first(c.name):
			if v, ok := parseInt(c.textContent()); ok {
				info.TotalBytes = v
				info.layout = append(info.layout, slot{name: c.name})
				continue
			}
		}
		info.layout = append(info.layout, slot{node: c})
	}
	// Order the images by INDEX, which must be exactly 1..N.
	info.Images = make([]ImageInfo, len(images))
	for _, img := range images {
		if img.Index < 1 || img.Index > len(images) {
			return nil, xmlError("IMAGE INDEX %d out of range 1..%d", img.Index, len(images))
		}
		if info.Images[img.Index-1].Index != 0 {
			return nil, xmlError("two IMAGE elements with INDEX %d", img.Index)
		}
		info.Images[img.Index-1] = img
	}
	return info, nil
}

func imageFromTree(n *xmlNode) (ImageInfo, error) {
	var img ImageInfo
	for _, a := range n.attrs {
		if a.Name.Space == "" && a.Name.Local == "INDEX" {
			v, err := strconv.Atoi(strings.TrimSpace(a.Value))
			if err != nil || v < 1 {
				return img, xmlError("IMAGE has invalid INDEX %q", a.Value)
			}
			img.Index = v
		} else {
			img.attrs = append(img.attrs, a)
		}
	}
	if img.Index == 0 {
		return img, xmlError("IMAGE element without INDEX")
	}
	seen := fieldSeen{}
	for _, c := range n.elements() {
		if known := img.setField(c, seen); known {
			img.layout = append(img.layout, slot{name: c.name})
		} else {
			img.layout = append(img.layout, slot{node: c})
		}
	}
	return img, nil
}

// setField stores c in the field of its name and reports whether it did;
// elements that do not fit a field (unknown, repeated, malformed) are kept
// verbatim instead.
func (img *ImageInfo) setField(c *xmlNode, seen fieldSeen) bool {
	if !slices.Contains(imageOrder, c.name) || seen[c.name] {
		return false
	}
	if c.name == "WINDOWS" {
		if len(c.attrs) != 0 {
			return false
		}
		img.Windows = windowsFromTree(c)
		return seen.first(c.name)
	}
	if c.name == "CREATIONTIME" || c.name == "LASTMODIFICATIONTIME" {
		t, ok := parseFiletime(c)
		if !ok {
			return false
		}
		if c.name == "CREATIONTIME" {
			img.Created = t
		} else {
			img.Modified = t
		}
		return seen.first(c.name)
	}
	if !c.isLeaf() {
		return false
	}
	s := c.textContent()
	var num *int64
	switch c.name {
	case "NAME":
		img.Name = s
	case "DESCRIPTION":
		img.Description = s
	case "DISPLAYNAME":
		img.DisplayName = s
	case "DISPLAYDESCRIPTION":
		img.DisplayDescription = s
	case "FLAGS":
		img.Flags = s
	case "DIRCOUNT":
		num = &img.DirCount
	case "FILECOUNT":
		num = &img.FileCount
	case "TOTALBYTES":
		num = &img.TotalBytes
	case "HARDLINKBYTES":
		num = &img.HardLinkBytes
	case "WIMBOOT":
		v, ok := parseInt(s)
		if !ok || v > 1 {
			return false
		}
		img.WIMBoot = v == 1
	}
	if num != nil {
		v, ok := parseInt(s)
		if !ok {
			return false
		}
		*num = v
	}
	return seen.first(c.name)
}

func windowsFromTree(n *xmlNode) *WindowsInfo {
	w := &WindowsInfo{}
	seen := fieldSeen{}
	for _, c := range n.elements() {
		if w.setField(c, seen) {
			w.layout = append(w.layout, slot{name: c.name})
		} else {
			w.layout = append(w.layout, slot{node: c})
		}
	}
	return w
}

func (w *WindowsInfo) setField(c *xmlNode, seen fieldSeen) bool {
	if !slices.Contains(windowsOrder, c.name) || seen[c.name] || len(c.attrs) != 0 {
		return false
	}
	switch c.name {
	case "LANGUAGES":
		for _, l := range c.elements() {
			switch {
			case l.name == "LANGUAGE" && l.isLeaf():
				w.Languages = append(w.Languages, l.textContent())
				w.langLayout = append(w.langLayout, slot{name: l.name})
			case l.name == "DEFAULT" && l.isLeaf() && !slices.ContainsFunc(w.langLayout, func(s slot) bool { return s.name == "DEFAULT" }):
				w.DefaultLanguage = l.textContent()
				w.langLayout = append(w.langLayout, slot{name: l.name})
			default:
				w.langLayout = append(w.langLayout, slot{node: l})
			}
		}
		return seen.first(c.name)
	case "VERSION":
		vseen := fieldSeen{}
		for _, v := range c.elements() {
			var p *int
			switch v.name {
			case "MAJOR":
				p = &w.Version.Major
			case "MINOR":
				p = &w.Version.Minor
			case "BUILD":
				p = &w.Version.Build
			case "SPBUILD":
				p = &w.Version.SPBuild
			case "SPLEVEL":
				p = &w.Version.SPLevel
			}
			if p != nil && v.isLeaf() && !vseen[v.name] {
				if x, ok := parseInt(v.textContent()); ok && x <= 1<<31-1 {
					*p = int(x)
					vseen.first(v.name)
					w.verLayout = append(w.verLayout, slot{name: v.name})
					continue
				}
			}
			w.verLayout = append(w.verLayout, slot{node: v})
		}
		return seen.first(c.name)
	}
	if !c.isLeaf() {
		return false
	}
	s := c.textContent()
	switch c.name {
	case "ARCH":
		v, ok := parseInt(s)
		if !ok || v > 1<<31-1 {
			return false
		}
		w.Arch = int(v)
	case "PRODUCTNAME":
		w.ProductName = s
	case "EDITIONID":
		w.EditionID = s
	case "INSTALLATIONTYPE":
		w.InstallationType = s
	case "HAL":
		w.HAL = s
	case "PRODUCTTYPE":
		w.ProductType = s
	case "PRODUCTSUITE":
		w.ProductSuite = s
	case "SYSTEMROOT":
		w.SystemRoot = s
	}
	return seen.first(c.name)
}

// Encrypted reports whether the XML marks the WIM as an encrypted ESD
// (<ESD><ENCRYPTED>), which cannot be read without the key.
func (i *Info) Encrypted() bool {
	for _, s := range i.layout {
		if s.node != nil && s.node.name == "ESD" {
			for _, c := range s.node.elements() {
				if c.name == "ENCRYPTED" {
					return true
				}
			}
		}
	}
	return false
}

// Clone returns a deep copy of i, which can be changed without affecting i.
func (i *Info) Clone() *Info {
	c := *i
	c.Images = slices.Clone(i.Images)
	for k := range c.Images {
		img := &c.Images[k]
		img.attrs = slices.Clone(img.attrs)
		if img.Windows != nil {
			w := *img.Windows
			w.Languages = slices.Clone(w.Languages)
			img.Windows = &w
		}
	}
	return &c
}

// Image returns the image with 1-based index, or nil.
func (i *Info) Image(index int) *ImageInfo {
	if index < 1 || index > len(i.Images) {
		return nil
	}
	return &i.Images[index-1]
}

// xmlWriter builds the document text, recording the first invalid string.
type xmlWriter struct {
	sb  strings.Builder
	err error
}

// validXMLText reports whether s holds only characters XML allows.
func validXMLText(s string) bool {
	for _, r := range s {
		if r == utf8.RuneError || r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r == 0xFFFE || r == 0xFFFF {
			return false
		}
	}
	return utf8.ValidString(s)
}

func (w *xmlWriter) escaped(s string) {
	if w.err == nil && !validXMLText(s) {
		w.err = fmt.Errorf("wim: XML text %q contains characters XML cannot hold", s)
	}
	for _, r := range s {
		switch r {
		case '<':
			w.sb.WriteString("&lt;")
		case '>':
			w.sb.WriteString("&gt;")
		case '&':
			w.sb.WriteString("&amp;")
		case '\'':
			w.sb.WriteString("&apos;")
		case '"':
			w.sb.WriteString("&quot;")
		default:
			w.sb.WriteRune(r)
		}
	}
}

func (w *xmlWriter) start(name string, attrs []xml.Attr) {
	w.sb.WriteString("<" + name)
	for _, a := range attrs {
		w.sb.WriteString(" " + qname(a.Name) + `="`)
		w.escaped(a.Value)
		w.sb.WriteString(`"`)
	}
	w.sb.WriteString(">")
}

func (w *xmlWriter) end(name string) { w.sb.WriteString("</" + name + ">") }

func (w *xmlWriter) leaf(name, text string) {
	w.start(name, nil)
	w.escaped(text)
	w.end(name)
}

func (w *xmlWriter) num(name string, v int64) { w.leaf(name, strconv.FormatInt(v, 10)) }

func (w *xmlWriter) filetime(name string, t time.Time) {
	ft := TimeToFiletime(t)
	w.start(name, nil)
	w.leaf("HIGHPART", fmt.Sprintf("0x%08X", uint32(ft>>32)))
	w.leaf("LOWPART", fmt.Sprintf("0x%08X", uint32(ft)))
	w.end(name)
}

func (w *xmlWriter) node(n *xmlNode) {
	if n.name == "" {
		w.escaped(n.text)
		return
	}
	w.start(n.name, n.attrs)
	w.escaped(n.text)
	for _, c := range n.children {
		w.node(c)
	}
	w.end(n.name)
}

// arrange returns the children to write: the parsed layout, with each
// wanted field that was not in it inserted at its place in the canonical
// order. want reports whether a field absent from the layout should be
// written.
func arrange(layout []slot, order []string, want func(string) bool) []slot {
	out := slices.Clone(layout)
	have := map[string]bool{}
	for _, s := range layout {
		if s.node == nil {
			have[s.name] = true
		} else {
			have[s.node.name] = true // a kept element shadows its field
		}
	}
	for rank, name := range order {
		if have[name] || !want(name) {
			continue
		}
		// Insert after the last field that comes earlier in the order,
		// or before the first field if none does.
		at := 0
		for i, s := range out {
			if s.node == nil && slices.Index(order, s.name) < rank {
				at = i + 1
			}
		}
		if at == 0 {
			for i, s := range out {
				if s.node == nil {
					at = i
					break
				}
				at = i + 1
			}
		}
		out = slices.Insert(out, at, slot{name: name})
	}
	return out
}

// Marshal encodes the XML data as a WIM stores it: UTF-16LE with a byte
// order mark, no declaration, no whitespace between elements. Elements
// parseXMLData kept are written back in their places; fields that were not in
// the parsed document go where Microsoft's tools put them. The images'
// INDEX attributes are renumbered from their positions.
func (i *Info) Marshal() ([]byte, error) {
	w := &xmlWriter{}
	w.start("WIM", nil)
	layout := arrange(i.layout, wimOrder, func(name string) bool {
		if name == "TOTALBYTES" {
			return !i.noTotal
		}
		return len(i.Images) > 0
	})
	// Each IMAGE slot takes the next image; images beyond the parsed
	// slots follow the last one.
	slots := 0
	for _, s := range layout {
		if s.name == "IMAGE" {
			slots++
		}
	}
	next := 0
	for _, s := range layout {
		switch {
		case s.node != nil:
			w.node(s.node)
		case s.name == "TOTALBYTES":
			if !i.noTotal {
				w.num("TOTALBYTES", i.TotalBytes)
			}
		case s.name == "IMAGE":
			slots--
			for next < len(i.Images) {
				i.Images[next].marshal(w, next+1)
				next++
				if slots > 0 {
					break
				}
			}
		}
	}
	w.end("WIM")
	w.sb.WriteString(i.tail)
	if w.err != nil {
		return nil, w.err
	}
	return encodeUTF16(w.sb.String()), nil
}

func (img *ImageInfo) marshal(w *xmlWriter, index int) {
	attrs := append([]xml.Attr{{Name: xml.Name{Local: "INDEX"}, Value: strconv.Itoa(index)}}, img.attrs...)
	w.start("IMAGE", attrs)
	always := map[string]bool{"DIRCOUNT": true, "FILECOUNT": true, "TOTALBYTES": true, "HARDLINKBYTES": true}
	want := func(name string) bool {
		switch name {
		case "NAME":
			return img.Name != ""
		case "DESCRIPTION":
			return img.Description != ""
		case "DISPLAYNAME":
			return img.DisplayName != ""
		case "DISPLAYDESCRIPTION":
			return img.DisplayDescription != ""
		case "FLAGS":
			return img.Flags != ""
		case "CREATIONTIME":
			return !img.Created.IsZero()
		case "LASTMODIFICATIONTIME":
			return !img.Modified.IsZero()
		case "WIMBOOT":
			return img.WIMBoot
		case "WINDOWS":
			return img.Windows != nil
		}
		return always[name]
	}
	for _, s := range arrange(img.layout, imageOrder, want) {
		if s.node != nil {
			w.node(s.node)
			continue
		}
		switch s.name {
		case "NAME":
			w.leaf(s.name, img.Name)
		case "DESCRIPTION":
			w.leaf(s.name, img.Description)
		case "DISPLAYNAME":
			w.leaf(s.name, img.DisplayName)
		case "DISPLAYDESCRIPTION":
			w.leaf(s.name, img.DisplayDescription)
		case "FLAGS":
			w.leaf(s.name, img.Flags)
		case "DIRCOUNT":
			w.num(s.name, img.DirCount)
		case "FILECOUNT":
			w.num(s.name, img.FileCount)
		case "TOTALBYTES":
			w.num(s.name, img.TotalBytes)
		case "HARDLINKBYTES":
			w.num(s.name, img.HardLinkBytes)
		case "CREATIONTIME":
			w.filetime(s.name, img.Created)
		case "LASTMODIFICATIONTIME":
			w.filetime(s.name, img.Modified)
		case "WIMBOOT":
			if img.WIMBoot {
				w.leaf(s.name, "1")
			} else {
				w.leaf(s.name, "0")
			}
		case "WINDOWS":
			if img.Windows != nil {
				img.Windows.marshal(w)
			}
		}
	}
	w.end("IMAGE")
}

func (win *WindowsInfo) marshal(w *xmlWriter) {
	w.start("WINDOWS", nil)
	want := func(name string) bool {
		switch name {
		case "ARCH":
			return true
		case "PRODUCTNAME":
			return win.ProductName != ""
		case "EDITIONID":
			return win.EditionID != ""
		case "INSTALLATIONTYPE":
			return win.InstallationType != ""
		case "HAL":
			return win.HAL != ""
		case "PRODUCTTYPE":
			return win.ProductType != ""
		case "PRODUCTSUITE":
			return win.ProductSuite != ""
		case "LANGUAGES":
			return len(win.Languages) > 0 || win.DefaultLanguage != ""
		case "VERSION":
			return win.Version != WindowsVersion{}
		case "SYSTEMROOT":
			return win.SystemRoot != ""
		}
		return false
	}
	for _, s := range arrange(win.layout, windowsOrder, want) {
		if s.node != nil {
			w.node(s.node)
			continue
		}
		switch s.name {
		case "ARCH":
			w.num(s.name, int64(win.Arch))
		case "PRODUCTNAME":
			w.leaf(s.name, win.ProductName)
		case "EDITIONID":
			w.leaf(s.name, win.EditionID)
		case "INSTALLATIONTYPE":
			w.leaf(s.name, win.InstallationType)
		case "HAL":
			w.leaf(s.name, win.HAL)
		case "PRODUCTTYPE":
			w.leaf(s.name, win.ProductType)
		case "PRODUCTSUITE":
			w.leaf(s.name, win.ProductSuite)
		case "SYSTEMROOT":
			w.leaf(s.name, win.SystemRoot)
		case "LANGUAGES":
			win.marshalLanguages(w)
		case "VERSION":
			win.marshalVersion(w)
		}
	}
	w.end("WINDOWS")
}

func (win *WindowsInfo) marshalLanguages(w *xmlWriter) {
	w.start("LANGUAGES", nil)
	// Each LANGUAGE slot takes the next language; languages beyond the
	// parsed slots follow the last one.
	layout := arrange(win.langLayout, langOrder, func(name string) bool {
		if name == "DEFAULT" {
			return win.DefaultLanguage != ""
		}
		return len(win.Languages) > 0
	})
	nlang := 0
	for _, s := range layout {
		if s.name == "LANGUAGE" {
			nlang++
		}
	}
	next := 0
	for _, s := range layout {
		switch {
		case s.node != nil:
			w.node(s.node)
		case s.name == "LANGUAGE":
			nlang--
			if nlang > 0 {
				if next < len(win.Languages) {
					w.leaf("LANGUAGE", win.Languages[next])
					next++
				}
				continue
			}
			for ; next < len(win.Languages); next++ {
				w.leaf("LANGUAGE", win.Languages[next])
			}
		case s.name == "DEFAULT":
			w.leaf("DEFAULT", win.DefaultLanguage)
		}
	}
	w.end("LANGUAGES")
}

func (win *WindowsInfo) marshalVersion(w *xmlWriter) {
	w.start("VERSION", nil)
	v := win.Version
	vals := map[string]int{"MAJOR": v.Major, "MINOR": v.Minor, "BUILD": v.Build, "SPBUILD": v.SPBuild, "SPLEVEL": v.SPLevel}
	for _, s := range arrange(win.verLayout, versionOrder, func(string) bool { return true }) {
		if s.node != nil {
			w.node(s.node)
			continue
		}
		w.num(s.name, int64(vals[s.name]))
	}
	w.end("VERSION")
}
