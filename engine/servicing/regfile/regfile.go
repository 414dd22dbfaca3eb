// Package regfile parses Windows registry export files (.reg) and applies
// them to an offline hive.
//
// Both formats are read: "Windows Registry Editor Version 5.00" (normally
// UTF-16LE with a byte order mark, also accepted as UTF-8) and "REGEDIT4"
// (ANSI or UTF-8). Supported lines are [key], [-key], "name"="string",
// @="default", "name"=dword:xxxxxxxx, "name"=hex:.., "name"=hex(N):..
// (hex(2) REG_EXPAND_SZ, hex(7) REG_MULTI_SZ, hex(b) REG_QWORD, hex(0)
// REG_NONE, ...), "name"=- to delete a value, ';' comment lines and '\'
// continuations of hex data.
package regfile

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/wimconsole/wimconsole/engine/servicing/hive"
	"github.com/wimconsole/wimconsole/engine/wintext"
)

// MaxSize is the largest .reg file Parse accepts.
const MaxSize = 64 << 20

// Kind is the kind of an operation.
type Kind int

// Operation kinds.
const (
	CreateKey   Kind = iota // [key]: create the key and its parents
	DeleteKey               // [-key]: delete the key and its subtree
	SetValue                // "name"=data
	DeleteValue             // "name"=-
)

func (k Kind) String() string {
	return [...]string{"create key", "delete key", "set value", "delete value"}[k]
}

// Op is one operation of a .reg file. Key is the full key path as written
// in the file, with the root abbreviations (HKLM, HKCU, HKCR, HKU, HKCC)
// expanded. For SetValue, Value holds the name, type and raw data; for
// DeleteValue, Value.Name names the value.
type Op struct {
	Line  int
	Kind  Kind
	Key   string
	Value hive.Value
}

// File is a parsed .reg file.
type File struct {
	Name    string
	Version int // 5 for "Windows Registry Editor Version 5.00", 4 for REGEDIT4
	Ops     []Op
}

// SyntaxError reports a malformed line.
type SyntaxError struct {
	File string
	Line int
	Msg  string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg) }

const (
	header5 = "Windows Registry Editor Version 5.00"
	header4 = "REGEDIT4"
)

var roots = map[string]string{
	"HKLM": "HKEY_LOCAL_MACHINE", "HKCU": "HKEY_CURRENT_USER", "HKCR": "HKEY_CLASSES_ROOT",
	"HKU": "HKEY_USERS", "HKCC": "HKEY_CURRENT_CONFIG",
}

// decode returns the file's text: UTF-16 (either byte order) or UTF-8 by
// its byte order mark, else UTF-8 or ANSI (see wintext.Decode).
func decode(data []byte) (string, error) {
	return wintext.Decode(data)
}

// Parse parses a .reg file. name is used in messages.
func Parse(name string, data []byte) (*File, error) {
	fail := func(line int, format string, args ...any) error {
		return &SyntaxError{name, line, fmt.Sprintf(format, args...)}
	}
	if len(data) > MaxSize {
		return nil, fail(0, "file is %d bytes, larger than the %d accepted", len(data), MaxSize)
	}
	text, err := decode(data)
	if err != nil {
		return nil, fail(0, "%v", err)
	}
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	f := &File{Name: name}
	i := 0
	for ; i < len(lines) && strings.TrimSpace(lines[i]) == ""; i++ {
	}
	if i == len(lines) {
		return nil, fail(1, "empty file")
	}
	switch strings.TrimSpace(lines[i]) {
	case header5:
		f.Version = 5
	case header4:
		f.Version = 4
	default:
		return nil, fail(i+1, "first line is %q, want %q or %q", trunc(lines[i]), header5, header4)
	}
	key := ""        // current key; "" before the first [key]
	deleted := false // current section is a [-key]
	for i++; i < len(lines); i++ {
		num := i + 1
		l := strings.TrimSpace(lines[i])
		// Join continuation lines (used by regedit for long hex data).
		for strings.HasSuffix(l, `\`) && i+1 < len(lines) && !strings.HasPrefix(l, "[") {
			i++
			l = l[:len(l)-1] + strings.TrimSpace(lines[i])
		}
		switch {
		case l == "" || strings.HasPrefix(l, ";"):
			continue
		case strings.HasPrefix(l, "["):
			if !strings.HasSuffix(l, "]") {
				return nil, fail(num, "key line %q has no closing ]", trunc(l))
			}
			p := l[1 : len(l)-1]
			deleted = strings.HasPrefix(p, "-")
			p = strings.TrimPrefix(p, "-")
			k, err := cleanKey(p)
			if err != nil {
				return nil, fail(num, "%v", err)
			}
			key = k
			kind := CreateKey
			if deleted {
				kind = DeleteKey
			}
			f.Ops = append(f.Ops, Op{Line: num, Kind: kind, Key: key})
		default:
			if key == "" {
				return nil, fail(num, "value line before the first [key]")
			}
			if deleted {
				return nil, fail(num, "value line under a deleted key [-%s]", key)
			}
			op, err := parseValue(l, f.Version)
			if err != nil {
				return nil, fail(num, "%v", err)
			}
			op.Line, op.Key = num, key
			f.Ops = append(f.Ops, op)
		}
	}
	return f, nil
}

func trunc(s string) string {
	if len(s) > 60 {
		return s[:60] + "..."
	}
	return s
}

// cleanKey validates a key path and expands an abbreviated root.
func cleanKey(p string) (string, error) {
	if p == "" {
		return "", errors.New("empty key path")
	}
	elems := strings.Split(p, `\`)
	for _, e := range elems {
		if e == "" {
			return "", fmt.Errorf("key path %q has an empty element", trunc(p))
		}
		if len(e) > 255 {
			return "", fmt.Errorf("key name %q is longer than 255 characters", trunc(e))
		}
	}
	if r, ok := roots[strings.ToUpper(elems[0])]; ok {
		elems[0] = r
	}
	if !strings.HasPrefix(strings.ToUpper(elems[0]), "HKEY_") {
		return "", fmt.Errorf("key path %q does not start with a root key such as HKEY_LOCAL_MACHINE", trunc(p))
	}
	return strings.Join(elems, `\`), nil
}

// parseQuoted reads a "..." string with \\ and \" escapes at the start of
// s and returns it and the rest of s.
func parseQuoted(s string) (string, string, error) {
	if !strings.HasPrefix(s, `"`) {
		return "", s, errors.New(`expected "`)
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; c {
		case '"':
			return b.String(), s[i+1:], nil
		case '\\':
			if i+1 >= len(s) {
				return "", "", errors.New("unterminated string")
			}
			i++
			if s[i] != '\\' && s[i] != '"' {
				return "", "", fmt.Errorf(`unknown escape \%c in string (only \\ and \" are allowed)`, s[i])
			}
			b.WriteByte(s[i])
		default:
			b.WriteByte(c)
		}
	}
	return "", "", errors.New("unterminated string")
}

func parseValue(l string, version int) (Op, error) {
	var name, rest string
	if strings.HasPrefix(l, "@") {
		rest = l[1:]
	} else {
		var err error
		name, rest, err = parseQuoted(l)
		if err != nil {
			return Op{}, fmt.Errorf("value name: %v", err)
		}
		if name == "" {
			return Op{}, errors.New(`empty value name "" (use @ for the default value)`)
		}
	}
	rest = strings.TrimLeft(rest, " \t")
	if !strings.HasPrefix(rest, "=") {
		return Op{}, fmt.Errorf("expected = after value name %q", name)
	}
	data := strings.TrimSpace(rest[1:])
	if data == "-" {
		return Op{Kind: DeleteValue, Value: hive.Value{Name: name}}, nil
	}
	v, err := parseData(data, version)
	if err != nil {
		return Op{}, fmt.Errorf("value %q: %v", name, err)
	}
	v.Name = name
	return Op{Kind: SetValue, Value: v}, nil
}

func parseData(data string, version int) (hive.Value, error) {
	switch {
	case strings.HasPrefix(data, `"`):
		s, rest, err := parseQuoted(data)
		if err != nil {
			return hive.Value{}, err
		}
		if strings.TrimSpace(rest) != "" {
			return hive.Value{}, fmt.Errorf("unexpected %q after string", trunc(rest))
		}
		return hive.String("", s), nil
	case hasPrefixFold(data, "dword:"):
		h := strings.TrimSpace(data[len("dword:"):])
		n, err := strconv.ParseUint(h, 16, 32)
		if err != nil || len(h) > 8 || h == "" || strings.ContainsAny(h, "+-_xX") {
			return hive.Value{}, fmt.Errorf("dword %q is not 1 to 8 hex digits", trunc(h))
		}
		return hive.Dword("", uint32(n)), nil
	case hasPrefixFold(data, "hex"):
		t := hive.Binary
		rest := data[3:]
		if strings.HasPrefix(rest, "(") {
			end := strings.IndexByte(rest, ')')
			if end < 0 {
				return hive.Value{}, errors.New("hex( has no closing )")
			}
			n, err := strconv.ParseUint(rest[1:end], 16, 32)
			if err != nil || end == 1 || strings.ContainsAny(rest[1:end], "+-_xX") {
				return hive.Value{}, fmt.Errorf("bad type %q in hex(...)", rest[1:end])
			}
			t = hive.Type(n)
			rest = rest[end+1:]
		}
		if !strings.HasPrefix(rest, ":") {
			return hive.Value{}, errors.New("expected : after hex")
		}
		b, err := parseHex(rest[1:])
		if err != nil {
			return hive.Value{}, err
		}
		if version == 4 && (t == hive.SZ || t == hive.ExpandSZ || t == hive.MultiSZ) {
			b = ansiToUTF16(b) // REGEDIT4 stores these strings as ANSI bytes
		}
		if t == hive.QWORD && len(b) != 8 {
			return hive.Value{}, fmt.Errorf("hex(b) qword has %d bytes, want 8", len(b))
		}
		if t == hive.DWORD && len(b) != 4 {
			return hive.Value{}, fmt.Errorf("hex(4) dword has %d bytes, want 4", len(b))
		}
		return hive.Value{Type: t, Data: b}, nil
	}
	return hive.Value{}, fmt.Errorf("data %q is not a string, dword: or hex: value", trunc(data))
}

func hasPrefixFold(s, p string) bool { return len(s) >= len(p) && strings.EqualFold(s[:len(p)], p) }

func parseHex(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return []byte{}, nil
	}
	parts := strings.Split(s, ",")
	out := make([]byte, 0, len(parts))
	for i, p := range parts {
		p = strings.TrimSpace(p)
		if p == "" && i == len(parts)-1 {
			break // trailing comma
		}
		n, err := strconv.ParseUint(p, 16, 8)
		if err != nil || len(p) > 2 || strings.ContainsAny(p, "+-_xX") {
			return nil, fmt.Errorf("byte %d of hex data, %q, is not two hex digits", i+1, trunc(p))
		}
		out = append(out, byte(n))
	}
	return out, nil
}

func ansiToUTF16(b []byte) []byte {
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, c, 0)
	}
	return out
}

// Result reports what Apply did.
type Result struct {
	Applied int  // operations applied to the hive
	Skipped []Op // operations for keys outside the hive's mount root
}

// Apply applies the file's operations, in order, to h, a hive mounted at
// root (such as `HKEY_LOCAL_MACHINE\SOFTWARE` or `HKLM\SYSTEM`; keys are
// matched case-insensitively). Operations on keys outside root are skipped
// and listed in the Result, so one file can be applied to several hives.
// As regedit does, deleting a key or value that does not exist is not an
// error. On error the hive may hold part of the changes: discard it
// rather than commit.
func (f *File) Apply(h hive.Hive, root string) (Result, error) {
	var res Result
	mount, err := cleanKey(strings.Trim(root, `\`))
	if err != nil {
		return res, fmt.Errorf("%s: mount root: %v", f.Name, err)
	}
	for _, op := range f.Ops {
		rel, ok := under(op.Key, mount)
		if !ok {
			res.Skipped = append(res.Skipped, op)
			continue
		}
		if err := apply(h, op, rel); err != nil {
			return res, fmt.Errorf("%s:%d: %s [%s]: %w", f.Name, op.Line, op.Kind, op.Key, err)
		}
		res.Applied++
	}
	return res, nil
}

// under returns key's path relative to mount, if key is mount or below.
func under(key, mount string) (string, bool) {
	if len(key) < len(mount) || !strings.EqualFold(key[:len(mount)], mount) {
		return "", false
	}
	rest := key[len(mount):]
	if rest == "" {
		return "", true
	}
	if rest[0] != '\\' {
		return "", false
	}
	return rest[1:], true
}

func apply(h hive.Hive, op Op, rel string) error {
	switch op.Kind {
	case CreateKey:
		_, err := ensure(h, rel)
		return err
	case DeleteKey:
		if rel == "" {
			return errors.New("cannot delete the root of the hive")
		}
		k, err := h.Lookup(rel)
		if errors.Is(err, hive.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		return h.DeleteKey(k)
	case SetValue:
		k, err := ensure(h, rel)
		if err != nil {
			return err
		}
		return h.SetValue(k, op.Value)
	case DeleteValue:
		k, err := h.Lookup(rel)
		if errors.Is(err, hive.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := h.DeleteValue(k, op.Value.Name); err != nil && !errors.Is(err, hive.ErrNotFound) {
			return err
		}
		return nil
	}
	return fmt.Errorf("unknown operation %d", op.Kind)
}

// ensure returns the key at rel, creating it and its parents.
func ensure(h hive.Hive, rel string) (hive.Key, error) {
	k := h.Root()
	for _, e := range strings.Split(rel, `\`) {
		if e == "" {
			continue
		}
		var err error
		if k, err = h.AddKey(k, e); err != nil {
			return hive.Key{}, err
		}
	}
	return k, nil
}
