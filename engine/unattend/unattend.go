// Package unattend validates and edits Windows answer files
// (ImageUnattend.xml) associated with deployment images.
//
// Edits work on the document's bytes: new elements are spliced into the
// original text, so everything else in the document (unknown elements,
// comments, formatting, attribute order) is kept exactly as it was.
//
// Only UTF-8 documents (with or without byte order mark) are supported;
// that is what Windows System Image Manager writes.
package unattend

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// Namespace is the XML namespace of the unattend element and its content.
const Namespace = "urn:schemas-microsoft-com:unattend"

// WCMNamespace is the namespace of the wcm:action and wcm:keyValue
// attributes used in list items.
const WCMNamespace = "http://schemas.microsoft.com/WMIConfig/2002/State"

const xsiNamespace = "http://www.w3.org/2001/XMLSchema-instance"

// PnpComponent is the component that stages driver paths for Windows Setup.
const PnpComponent = "Microsoft-Windows-PnpCustomizationsNonWinPE"

// Passes lists the configuration pass names allowed in settings elements,
// in the order Windows Setup runs them.
var Passes = []string{
	"windowsPE", "offlineServicing", "generalize", "specialize",
	"auditSystem", "auditUser", "oobeSystem",
}

// Architectures lists the accepted processorArchitecture values.
var Architectures = []string{"x86", "amd64", "arm", "arm64", "ia64", "wow64"}

// componentAttrs are the attributes every component must carry.
var componentAttrs = []string{"name", "processorArchitecture", "publicKeyToken", "language", "versionScope"}

// Error is one problem in a document, at a 1-based line and column.
type Error struct {
	Name   string // document name given by the caller, may be empty
	Line   int
	Column int
	Msg    string
}

func (e *Error) Error() string {
	name := e.Name
	if name == "" {
		name = "unattend"
	}
	if e.Column > 0 {
		return fmt.Sprintf("%s:%d:%d: %s", name, e.Line, e.Column, e.Msg)
	}
	return fmt.Sprintf("%s:%d: %s", name, e.Line, e.Msg)
}

// ErrorList is the error Validate returns when it finds problems.
type ErrorList []*Error

func (l ErrorList) Error() string {
	msgs := make([]string, len(l))
	for i, e := range l {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// Credentials are the optional network credentials of a driver path.
type Credentials struct {
	Domain, Username, Password string
}

// DriverPath is one PathAndCredentials entry of the PnP component.
type DriverPath struct {
	Arch     string // processorArchitecture of the component
	KeyValue string // wcm:keyValue
	Path     string
	Line     int
}

// node is an element of the parsed document with its byte span.
type node struct {
	name        xml.Name
	raw         string // qualified name as written, e.g. "u:settings"
	attrs       []xml.Attr
	start       int // offset of '<'
	startEnd    int // offset after the start tag's '>'
	endStart    int // offset of "</"; equals startEnd when self-closing
	end         int // offset after the end tag
	selfClosing bool
	line, col   int
	parent      *node
	children    []*node
	text        strings.Builder
}

func (n *node) attr(space, local string) (string, bool) {
	for _, a := range n.attrs {
		if a.Name.Space == space && a.Name.Local == local {
			return a.Value, true
		}
	}
	return "", false
}

func (n *node) is(local string) bool { return n.name.Space == Namespace && n.name.Local == local }

// maxDepth bounds element nesting so hostile input cannot exhaust memory.
const maxDepth = 256

// parse builds the element tree of body. Offsets are relative to body.
func parse(name string, body []byte) (*node, error) {
	if len(body) >= 2 && (body[0] == 0xFF && body[1] == 0xFE || body[0] == 0xFE && body[1] == 0xFF) {
		return nil, &Error{Name: name, Line: 1, Msg: "UTF-16 documents are not supported; save the answer file as UTF-8"}
	}
	d := xml.NewDecoder(bytes.NewReader(body))
	d.Strict = true
	var root, cur *node
	depth := 0
	for {
		off := int(d.InputOffset())
		line, col := d.InputPos()
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				return nil, &Error{Name: name, Line: se.Line, Msg: "not well-formed: " + se.Msg}
			}
			return nil, &Error{Name: name, Line: line, Column: col, Msg: err.Error()}
		}
		now := int(d.InputOffset())
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			if depth > maxDepth {
				return nil, &Error{Name: name, Line: line, Column: col, Msg: "elements nested too deeply"}
			}
			n := &node{name: t.Name, attrs: t.Attr, start: off, startEnd: now, line: line, col: col, parent: cur}
			n.raw = rawName(body[off:now])
			n.selfClosing = now >= 2 && body[now-2] == '/'
			if cur == nil {
				if root != nil {
					return nil, &Error{Name: name, Line: line, Column: col, Msg: "more than one root element"}
				}
				root = n
			} else {
				cur.children = append(cur.children, n)
			}
			cur = n
		case xml.EndElement:
			depth--
			if cur.selfClosing {
				cur.endStart, cur.end = cur.startEnd, cur.startEnd
			} else {
				cur.endStart, cur.end = off, now
			}
			cur = cur.parent
		case xml.CharData:
			if cur != nil {
				cur.text.Write(t)
			} else if len(bytes.TrimSpace(t)) > 0 {
				return nil, &Error{Name: name, Line: line, Column: col, Msg: "text outside the root element"}
			}
		}
	}
	if root == nil {
		return nil, &Error{Name: name, Line: 1, Msg: "no root element"}
	}
	return root, nil
}

// rawName returns the element name as written in a start tag.
func rawName(tag []byte) string {
	tag = tag[1:]
	i := bytes.IndexFunc(tag, func(r rune) bool {
		return r == ' ' || r == '\t' || r == '\r' || r == '\n' || r == '/' || r == '>'
	})
	if i < 0 {
		return string(tag)
	}
	return string(tag[:i])
}

func splitBOM(doc []byte) (bom, body []byte) {
	if bytes.HasPrefix(doc, []byte{0xEF, 0xBB, 0xBF}) {
		return doc[:3], doc[3:]
	}
	return nil, doc
}

// Validate checks that data is a well-formed answer file: an unattend root
// element in [Namespace], settings elements with a known, unique pass name,
// and components carrying the name, processorArchitecture, publicKeyToken,
// language and versionScope attributes. name is used in error messages.
// The result is nil, an [*Error] for a document that cannot be parsed, or an
// [ErrorList] of every problem found.
func Validate(name string, data []byte) error {
	_, body := splitBOM(data)
	root, err := parse(name, body)
	if err != nil {
		return err
	}
	var list ErrorList
	add := func(n *node, format string, args ...any) {
		list = append(list, &Error{Name: name, Line: n.line, Column: n.col, Msg: fmt.Sprintf(format, args...)})
	}
	if root.name.Local != "unattend" {
		add(root, "root element is %q, want unattend", root.name.Local)
		return list
	}
	if root.name.Space != Namespace {
		add(root, "root element namespace is %q, want %q", root.name.Space, Namespace)
		return list
	}
	seen := map[string]bool{}
	for _, s := range root.children {
		if !s.is("settings") {
			continue
		}
		pass, ok := s.attr("", "pass")
		switch {
		case !ok:
			add(s, "settings element has no pass attribute")
		case !slices.Contains(Passes, pass):
			add(s, "unknown pass %q (known: %s)", pass, strings.Join(Passes, ", "))
		case seen[pass]:
			add(s, "pass %q appears more than once", pass)
		}
		seen[pass] = true
		for _, c := range s.children {
			if !c.is("component") {
				continue
			}
			for _, a := range componentAttrs {
				v, ok := c.attr("", a)
				if !ok || strings.TrimSpace(v) == "" {
					cname, _ := c.attr("", "name")
					add(c, "component %q has no %s attribute", cname, a)
				}
			}
			if arch, ok := c.attr("", "processorArchitecture"); ok && arch != "" && !slices.Contains(Architectures, arch) {
				add(c, "unknown processorArchitecture %q", arch)
			}
		}
	}
	if len(list) > 0 {
		return list
	}
	return nil
}

// New returns a minimal valid answer file for arch with an empty
// Microsoft-Windows-PnpCustomizationsNonWinPE component in the
// offlineServicing pass, ready for [AddDriverPath].
func New(arch string) ([]byte, error) {
	if !slices.Contains(Architectures, arch) {
		return nil, fmt.Errorf("unattend: unknown architecture %q", arch)
	}
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?>` + "\n")
	b.WriteString(`<unattend xmlns="` + Namespace + `">` + "\n")
	for _, l := range settingsLines("", arch, nil) {
		b.WriteString(strings.Repeat(indentUnit, l.depth+1) + l.text + "\n")
	}
	b.WriteString("</unattend>\n")
	return []byte(b.String()), nil
}

// DriverPaths lists the PathAndCredentials entries of every
// Microsoft-Windows-PnpCustomizationsNonWinPE component in the
// offlineServicing pass.
func DriverPaths(doc []byte) ([]DriverPath, error) {
	_, body := splitBOM(doc)
	root, err := parse("", body)
	if err != nil {
		return nil, err
	}
	if !root.is("unattend") {
		return nil, fmt.Errorf("unattend: root element is {%s}%s, want {%s}unattend", root.name.Space, root.name.Local, Namespace)
	}
	var out []DriverPath
	for _, s := range root.children {
		if p, _ := s.attr("", "pass"); !s.is("settings") || p != "offlineServicing" {
			continue
		}
		for _, c := range s.children {
			if !isPnp(c) {
				continue
			}
			arch, _ := c.attr("", "processorArchitecture")
			for _, dp := range c.children {
				if !dp.is("DriverPaths") {
					continue
				}
				for _, pc := range dp.children {
					if !pc.is("PathAndCredentials") {
						continue
					}
					kv, _ := pc.attr(WCMNamespace, "keyValue")
					out = append(out, DriverPath{Arch: arch, KeyValue: kv, Path: pathOf(pc), Line: pc.line})
				}
			}
		}
	}
	return out, nil
}

func isPnp(c *node) bool {
	n, _ := c.attr("", "name")
	return c.is("component") && strings.EqualFold(n, PnpComponent)
}

func pathOf(pc *node) string {
	for _, p := range pc.children {
		if p.is("Path") {
			return strings.TrimSpace(p.text.String())
		}
	}
	return ""
}

func samePath(a, b string) bool {
	norm := func(s string) string { return strings.TrimRight(strings.TrimSpace(s), `\/`) }
	return strings.EqualFold(norm(a), norm(b))
}

// AddDriverPath adds path (a folder Windows Setup searches for drivers,
// such as `C:\Drivers\net`) to the PathAndCredentials list of the
// Microsoft-Windows-PnpCustomizationsNonWinPE component for arch in the
// offlineServicing pass of doc, creating the pass, component and
// DriverPaths elements as needed. The new entry gets the next free numeric
// wcm:keyValue. cred may be nil.
//
// If the path is already listed for arch (compared case-insensitively,
// ignoring a trailing backslash), doc is returned unchanged with added
// false. Everything else in doc is kept byte for byte.
func AddDriverPath(doc []byte, arch, path string, cred *Credentials) (out []byte, added bool, err error) {
	if !slices.Contains(Architectures, arch) {
		return nil, false, fmt.Errorf("unattend: unknown architecture %q", arch)
	}
	if strings.TrimSpace(path) == "" {
		return nil, false, errors.New("unattend: empty driver path")
	}
	if strings.ContainsFunc(path, func(r rune) bool { return r < 0x20 }) {
		return nil, false, fmt.Errorf("unattend: driver path %q contains control characters", path)
	}
	bom, body := splitBOM(doc)
	root, err := parse("", body)
	if err != nil {
		return nil, false, err
	}
	if !root.is("unattend") {
		return nil, false, fmt.Errorf("unattend: root element is {%s}%s, want {%s}unattend", root.name.Space, root.name.Local, Namespace)
	}

	// Find the deepest existing element on the way to DriverPaths.
	var settings, comp, paths *node
	for _, s := range root.children {
		if p, _ := s.attr("", "pass"); s.is("settings") && p == "offlineServicing" {
			settings = s
			break
		}
	}
	if settings != nil {
		for _, c := range settings.children {
			if a, _ := c.attr("", "processorArchitecture"); isPnp(c) && strings.EqualFold(a, arch) {
				comp = c
				break
			}
		}
	}
	if comp != nil {
		for _, c := range comp.children {
			if c.is("DriverPaths") {
				paths = c
				break
			}
		}
	}

	var parent, before *node
	var lines []line
	switch {
	case paths != nil:
		maxKey := 0
		for _, pc := range paths.children {
			if !pc.is("PathAndCredentials") {
				continue
			}
			if samePath(pathOf(pc), path) {
				return doc, false, nil
			}
			kv, _ := pc.attr(WCMNamespace, "keyValue")
			if k, err := strconv.Atoi(strings.TrimSpace(kv)); err == nil && k > maxKey {
				maxKey = k
			}
		}
		wcm, declare := wcmPrefix(paths)
		parent = paths
		lines = entryLines(prefixFor(paths), wcm, declare, maxKey+1, path, cred)
	case comp != nil:
		wcm, declare := wcmPrefix(comp)
		parent = comp
		lines = pathsLines(prefixFor(comp), wcm, declare, path, cred)
	case settings != nil:
		parent = settings
		lines = componentLines(prefixFor(settings), arch, wcmScope(settings), path, cred)
	default:
		parent = root
		before = settingsSlot(root)
		lines = settingsLines(prefixFor(root), arch, &entry{path: path, cred: cred, wcm: wcmScope(root)})
	}
	out = splice(body, parent, before, lines)
	return append(append([]byte(nil), bom...), out...), true, nil
}

// prefixFor returns the prefix ("u:" or "") to give new children of n in
// the unattend namespace.
func prefixFor(n *node) string {
	if i := strings.IndexByte(n.raw, ':'); i >= 0 && n.name.Space == Namespace {
		return n.raw[:i+1]
	}
	return ""
}

// wcmScope returns the prefix bound to WCMNamespace in scope at n, or "".
func wcmScope(n *node) string {
	for ; n != nil; n = n.parent {
		for _, a := range n.attrs {
			if a.Name.Space == "xmlns" && a.Value == WCMNamespace {
				return a.Name.Local
			}
		}
	}
	return ""
}

// wcmPrefix returns the prefix to use for wcm attributes in new children
// of n and whether the new element must declare it.
func wcmPrefix(n *node) (string, bool) {
	if p := wcmScope(n); p != "" {
		return p, false
	}
	return "wcm", true
}

const indentUnit = "    "

type line struct {
	depth int
	text  string
}

type entry struct {
	path string
	cred *Credentials
	wcm  string // prefix in scope, "" to declare one on the component
}

func esc(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

func entryLines(p, wcm string, declare bool, key int, path string, cred *Credentials) []line {
	decl := ""
	if declare {
		decl = ` xmlns:` + wcm + `="` + WCMNamespace + `"`
	}
	ls := []line{{0, fmt.Sprintf(`<%sPathAndCredentials%s %s:action="add" %s:keyValue="%d">`, p, decl, wcm, wcm, key)}}
	ls = append(ls, line{1, "<" + p + "Path>" + esc(path) + "</" + p + "Path>"})
	if cred != nil {
		ls = append(ls, line{1, "<" + p + "Credentials>"})
		ls = append(ls, line{2, "<" + p + "Domain>" + esc(cred.Domain) + "</" + p + "Domain>"})
		ls = append(ls, line{2, "<" + p + "Username>" + esc(cred.Username) + "</" + p + "Username>"})
		ls = append(ls, line{2, "<" + p + "Password>" + esc(cred.Password) + "</" + p + "Password>"})
		ls = append(ls, line{1, "</" + p + "Credentials>"})
	}
	return append(ls, line{0, "</" + p + "PathAndCredentials>"})
}

func nest(open, close string, inner []line) []line {
	ls := []line{{0, open}}
	for _, l := range inner {
		ls = append(ls, line{l.depth + 1, l.text})
	}
	return append(ls, line{0, close})
}

func pathsLines(p, wcm string, declare bool, path string, cred *Credentials) []line {
	return nest("<"+p+"DriverPaths>", "</"+p+"DriverPaths>", entryLines(p, wcm, declare, 1, path, cred))
}

// componentLines builds the PnP component; with path "" it has no
// DriverPaths. wcm is the prefix already in scope, or "".
func componentLines(p, arch, wcm string, path string, cred *Credentials) []line {
	decl := ""
	if wcm == "" {
		wcm = "wcm"
		decl = ` xmlns:wcm="` + WCMNamespace + `"`
	}
	open := fmt.Sprintf(`<%scomponent name="%s" processorArchitecture="%s" publicKeyToken="31bf3856ad364e35" language="neutral" versionScope="nonSxS"%s xmlns:xsi="%s">`,
		p, PnpComponent, arch, decl, xsiNamespace)
	var inner []line
	if path != "" {
		inner = pathsLines(p, wcm, false, path, cred)
	}
	if len(inner) == 0 {
		return []line{{0, open}, {0, "</" + p + "component>"}}
	}
	return nest(open, "</"+p+"component>", inner)
}

func settingsLines(p, arch string, e *entry) []line {
	var comp []line
	if e == nil {
		comp = componentLines(p, arch, "", "", nil)
	} else {
		comp = componentLines(p, arch, e.wcm, e.path, e.cred)
	}
	return nest(`<`+p+`settings pass="offlineServicing">`, "</"+p+"settings>", comp)
}

// indentAt returns the whitespace between the start of pos's line and pos,
// and whether only whitespace precedes pos on that line.
func indentAt(body []byte, pos int) (string, bool) {
	i := pos
	for i > 0 && (body[i-1] == ' ' || body[i-1] == '\t') {
		i--
	}
	return string(body[i:pos]), i == 0 || body[i-1] == '\n'
}

// unit guesses the document's indentation step from the first child
// element that starts its own line.
func unit(body []byte, root *node) string {
	var walk func(n *node) string
	walk = func(n *node) string {
		pi, _ := indentAt(body, n.start)
		for _, c := range n.children {
			ci, own := indentAt(body, c.start)
			if own && len(ci) > len(pi) && strings.HasPrefix(ci, pi) {
				return ci[len(pi):]
			}
			if u := walk(c); u != "" {
				return u
			}
		}
		return ""
	}
	if u := walk(root); u != "" {
		return u
	}
	return indentUnit
}

// settingsSlot returns the child of root before which a new
// offlineServicing settings element belongs, keeping passes in the order
// Windows Setup runs them and settings before cpi:offlineImage; nil means
// at the end.
func settingsSlot(root *node) *node {
	for _, c := range root.children {
		if c.is("settings") {
			p, _ := c.attr("", "pass")
			if i := slices.Index(Passes, p); i > slices.Index(Passes, "offlineServicing") {
				return c
			}
		} else if c.name.Local == "offlineImage" {
			return c
		}
	}
	return nil
}

// splice inserts lines as children of parent, before the child before or,
// if before is nil, after the last child.
func splice(body []byte, parent, before *node, lines []line) []byte {
	root := parent
	for root.parent != nil {
		root = root.parent
	}
	step := unit(body, root)
	nl := "\n"
	if bytes.Contains(body, []byte("\r\n")) {
		nl = "\r\n"
	}
	pIndent, _ := indentAt(body, parent.start)
	childIndent := pIndent + step
	var frag strings.Builder
	for _, l := range lines {
		frag.WriteString(childIndent + strings.Repeat(step, l.depth) + l.text + nl)
	}
	var out bytes.Buffer
	switch {
	case before != nil:
		ind, own := indentAt(body, before.start)
		at := before.start
		text := frag.String()
		if own {
			at -= len(ind)
		} else {
			text = nl + text + childIndent
		}
		out.Write(body[:at])
		out.WriteString(text)
		out.Write(body[at:])
	case parent.selfClosing:
		out.Write(body[:parent.startEnd-2])
		out.WriteString(">" + nl + frag.String() + pIndent + "</" + parent.raw + ">")
		out.Write(body[parent.startEnd:])
	default:
		ind, own := indentAt(body, parent.endStart)
		if own {
			at := parent.endStart - len(ind)
			out.Write(body[:at])
			out.WriteString(frag.String())
			out.Write(body[at:])
		} else {
			out.Write(body[:parent.endStart])
			out.WriteString(nl + frag.String() + pIndent)
			out.Write(body[parent.endStart:])
		}
	}
	return out.Bytes()
}
