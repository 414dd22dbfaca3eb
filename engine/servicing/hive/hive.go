// Package hive reads and edits Windows registry hive files (SYSTEM,
// SOFTWARE, DEFAULT, NTUSER.DAT, ...) offline.
//
// The Hive interface is implemented with libhivex (LGPL, dynamically
// linked) through a small cgo wrapper; builds without cgo or on other
// platforms get an Open that returns an error explaining how to get it.
// On Debian and Ubuntu install libhivex-dev to build and libhivex0 to run;
// on macOS, Homebrew's hivex; elsewhere build hivex from
// https://github.com/libguestfs/hivex.
package hive

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"unicode/utf16"

	"github.com/wimconsole/wimconsole/engine/wintext"
)

// Type is a registry value type.
type Type uint32

// Registry value types.
const (
	None             Type = 0
	SZ               Type = 1
	ExpandSZ         Type = 2
	Binary           Type = 3
	DWORD            Type = 4
	DWORDBigEndian   Type = 5
	Link             Type = 6
	MultiSZ          Type = 7
	ResourceList     Type = 8
	FullResourceDesc Type = 9
	ResourceReqList  Type = 10
	QWORD            Type = 11
)

var typeNames = map[Type]string{
	None: "REG_NONE", SZ: "REG_SZ", ExpandSZ: "REG_EXPAND_SZ", Binary: "REG_BINARY",
	DWORD: "REG_DWORD", DWORDBigEndian: "REG_DWORD_BIG_ENDIAN", Link: "REG_LINK",
	MultiSZ: "REG_MULTI_SZ", ResourceList: "REG_RESOURCE_LIST",
	FullResourceDesc: "REG_FULL_RESOURCE_DESCRIPTOR", ResourceReqList: "REG_RESOURCE_REQUIREMENTS_LIST",
	QWORD: "REG_QWORD",
}

func (t Type) String() string {
	if s, ok := typeNames[t]; ok {
		return s
	}
	return fmt.Sprintf("REG_TYPE_%#x", uint32(t))
}

// Value is a registry value as stored: Data is the raw bytes (UTF-16LE
// for strings). Name "" is the key's default value.
type Value struct {
	Name string
	Type Type
	Data []byte
}

// Key identifies a key of an open hive. ID is the implementation's handle
// and is only valid until the key or one of its parents is deleted or the
// hive is closed. Path is the key's path from the root, `\`-separated
// ("" for the root), used in messages.
type Key struct {
	ID   uint64
	Path string
}

// Name returns the last element of the key's path.
func (k Key) Name() string {
	return k.Path[strings.LastIndexByte(k.Path, '\\')+1:]
}

// Hive is an open registry hive. Paths are `\`-separated and relative to
// the hive's root; names compare case-insensitively. Writes change the
// hive in memory until Commit. A Hive is safe for use by one goroutine at
// a time.
type Hive interface {
	// Name returns the hive file's name, as used in messages.
	Name() string
	// Root returns the root key.
	Root() Key
	// Lookup finds the key at path below the root; ErrNotFound if absent.
	Lookup(path string) (Key, error)
	// Children lists the subkeys of k.
	Children(k Key) ([]Key, error)
	// Values lists the values of k.
	Values(k Key) ([]Value, error)
	// Value returns the value of k named name; ErrNotFound if absent.
	Value(k Key, name string) (Value, error)
	// AddKey adds a subkey of parent, or returns the existing one.
	AddKey(parent Key, name string) (Key, error)
	// DeleteKey deletes k and everything below it; the root cannot be deleted.
	DeleteKey(k Key) error
	// SetValue creates or replaces a value of k.
	SetValue(k Key, v Value) error
	// DeleteValue deletes the value of k named name; ErrNotFound if absent.
	DeleteValue(k Key, name string) error
	// Commit writes the hive, with the changes made, to the file path
	// (written to a temporary file, then renamed into place).
	Commit(path string) error
	// Close releases the hive; uncommitted changes are lost.
	Close() error
}

// Options control how a hive is opened.
type Options struct {
	// ReadOnly makes every write fail with ErrReadOnly; use it for SAM
	// and SECURITY.
	ReadOnly bool
}

// Errors returned by Hive implementations, wrapped with the hive and key.
var (
	ErrNotFound    = errors.New("not found")
	ErrReadOnly    = errors.New("hive is open read-only")
	ErrUnsupported = errors.New("registry editing needs libhivex; this build has no cgo or libhivex (on Debian/Ubuntu install libhivex-dev and build with CGO_ENABLED=1; see README)")
)

// Error describes a failed operation on a hive key.
type Error struct {
	Op   string // "open", "lookup", "set value", ...
	File string // hive file name
	Key  string // key path, may be empty
	Err  error
}

func (e *Error) Error() string {
	s := e.File + ": " + e.Op
	if e.Key != "" {
		s += ` \` + e.Key
	}
	return s + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// splitPath returns the non-empty elements of a `\`-separated path.
func splitPath(p string) []string {
	var out []string
	for _, e := range strings.Split(p, `\`) {
		if e != "" {
			out = append(out, e)
		}
	}
	return out
}

// JoinPath joins key path elements with `\`.
func JoinPath(parent, name string) string {
	if parent == "" {
		return name
	}
	return parent + `\` + name
}

// Constructors for values of the common types.

// String returns a REG_SZ value.
func String(name, s string) Value { return Value{name, SZ, utf16z(s)} }

// ExpandString returns a REG_EXPAND_SZ value.
func ExpandString(name, s string) Value { return Value{name, ExpandSZ, utf16z(s)} }

// Dword returns a REG_DWORD value.
func Dword(name string, v uint32) Value {
	return Value{name, DWORD, binary.LittleEndian.AppendUint32(nil, v)}
}

// Qword returns a REG_QWORD value.
func Qword(name string, v uint64) Value {
	return Value{name, QWORD, binary.LittleEndian.AppendUint64(nil, v)}
}

// MultiString returns a REG_MULTI_SZ value. Empty strings cannot be
// represented and are dropped.
func MultiString(name string, ss []string) Value {
	var b []byte
	for _, s := range ss {
		if s != "" {
			b = append(b, utf16z(s)...)
		}
	}
	return Value{name, MultiSZ, append(b, 0, 0)}
}

// Bytes returns a REG_BINARY value.
func Bytes(name string, b []byte) Value { return Value{name, Binary, append([]byte(nil), b...)} }

func utf16z(s string) []byte {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 0, 2*len(u)+2)
	for _, c := range u {
		b = binary.LittleEndian.AppendUint16(b, c)
	}
	return append(b, 0, 0)
}

// DecodeUTF16 decodes UTF-16LE bytes up to the first NUL character; an odd
// trailing byte is ignored.
func DecodeUTF16(b []byte) string {
	b, _ = wintext.CutNUL(b)
	return wintext.DecodeLE(b)
}

// Decoded returns the value as a Go value: string for REG_SZ, REG_EXPAND_SZ
// and REG_LINK; uint32 for REG_DWORD and REG_DWORD_BIG_ENDIAN; uint64 for
// REG_QWORD; []string for REG_MULTI_SZ; []byte (the raw data) for
// REG_BINARY, REG_NONE and every other type. It fails when the data is too
// short for its type.
func (v Value) Decoded() (any, error) {
	switch v.Type {
	case SZ, ExpandSZ, Link:
		return DecodeUTF16(v.Data), nil
	case DWORD, DWORDBigEndian:
		if len(v.Data) < 4 {
			return nil, fmt.Errorf("value %q: %v data is %d bytes, want 4", v.Name, v.Type, len(v.Data))
		}
		if v.Type == DWORDBigEndian {
			return binary.BigEndian.Uint32(v.Data), nil
		}
		return binary.LittleEndian.Uint32(v.Data), nil
	case QWORD:
		if len(v.Data) < 8 {
			return nil, fmt.Errorf("value %q: %v data is %d bytes, want 8", v.Name, v.Type, len(v.Data))
		}
		return binary.LittleEndian.Uint64(v.Data), nil
	case MultiSZ:
		var out []string
		for rest := v.Data; len(rest) > 1; {
			str, found := wintext.CutNUL(rest)
			if found && len(str) == 0 {
				break // the empty string ends the list
			}
			out = append(out, wintext.DecodeLE(str))
			if !found {
				break
			}
			rest = rest[len(str)+2:]
		}
		return out, nil
	}
	return v.Data, nil
}

// checkHeader explains the most common reasons a file is not a hive; the
// full validation is left to the implementation.
func checkHeader(hdr []byte, size int64) error {
	switch {
	case size < 0x2000 || len(hdr) < 0x200:
		return fmt.Errorf("not a valid registry hive: file is %d bytes, too small", size)
	case string(hdr[:4]) != "regf":
		return errors.New("not a valid registry hive: no regf signature")
	}
	var sum uint32
	for i := 0; i < 0x1FC; i += 4 {
		sum ^= binary.LittleEndian.Uint32(hdr[i:])
	}
	if sum != binary.LittleEndian.Uint32(hdr[0x1FC:]) {
		return errors.New("not a valid registry hive: header checksum mismatch")
	}
	// hivex trusts this size: a header claiming a gigabyte of hive bins in
	// a small file made adding a key and committing take seconds each and
	// write a file of that size.
	if bins := int64(binary.LittleEndian.Uint32(hdr[0x28:])); bins == 0 || bins%0x1000 != 0 || bins > size-0x1000 {
		return fmt.Errorf("not a valid registry hive: offset 0x28: hive bins size %d is not a multiple of 4096 within the file's %d bytes after its header", bins, size-0x1000)
	}
	return nil
}

// Open opens the hive file at path.
func Open(path string, opt Options) (Hive, error) { return open(path, opt) }

// OpenBytes opens a hive held in memory; name is used in messages.
func OpenBytes(name string, data []byte, opt Options) (Hive, error) {
	return openBytes(name, data, opt)
}
