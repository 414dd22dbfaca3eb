package hive

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// EditTypes are the value types ParseValue reads, in the order reg.exe
// lists them; the command line and the console offer these.
var EditTypes = []Type{SZ, ExpandSZ, DWORD, QWORD, MultiSZ, Binary}

// ParseType returns the type named typ: one of EditTypes, by its name
// (REG_DWORD) or without the REG_ prefix (DWORD), in any case.
func ParseType(typ string) (Type, bool) {
	u := strings.ToUpper(typ)
	for _, t := range EditTypes {
		if n := t.String(); u == n || u == strings.TrimPrefix(n, "REG_") {
			return t, true
		}
	}
	return None, false
}

// ParseValue builds the value named name of type typ (see ParseType) from
// its text as reg.exe takes it: REG_MULTI_SZ takes any number of strings,
// every other type exactly one; REG_DWORD and REG_QWORD take a number,
// decimal, 0x-hexadecimal or 0-octal; REG_BINARY takes hexadecimal bytes,
// optionally separated by commas.
func ParseValue(name, typ string, data []string) (Value, error) {
	t, ok := ParseType(typ)
	if !ok {
		names := make([]string, len(EditTypes))
		for i, t := range EditTypes {
			names[i] = t.String()
		}
		return Value{}, fmt.Errorf("unknown value type %q (%s)", typ, strings.Join(names, ", "))
	}
	if t == MultiSZ {
		return MultiString(name, data), nil
	}
	if len(data) != 1 {
		return Value{}, fmt.Errorf("%s takes one value", typ)
	}
	s := data[0]
	switch t {
	case SZ:
		return String(name, s), nil
	case ExpandSZ:
		return ExpandString(name, s), nil
	case DWORD:
		n, err := strconv.ParseUint(s, 0, 32)
		if err != nil {
			return Value{}, fmt.Errorf("REG_DWORD %q: %v", s, err)
		}
		return Dword(name, uint32(n)), nil
	case QWORD:
		n, err := strconv.ParseUint(s, 0, 64)
		if err != nil {
			return Value{}, fmt.Errorf("REG_QWORD %q: %v", s, err)
		}
		return Qword(name, n), nil
	default: // Binary
		b, err := hex.DecodeString(strings.ReplaceAll(s, ",", ""))
		if err != nil {
			return Value{}, fmt.Errorf("REG_BINARY %q: %v", s, err)
		}
		return Bytes(name, b), nil
	}
}

// FormatValue returns the value's data as reg query prints it: strings as
// they are, numbers in hexadecimal and decimal, the strings of a
// REG_MULTI_SZ joined by \0, anything else (and data too short for its
// type) as hexadecimal bytes.
func FormatValue(v Value) string {
	switch v.Type {
	case SZ, ExpandSZ:
		return DecodeUTF16(v.Data)
	case DWORD:
		if len(v.Data) == 4 {
			n := binary.LittleEndian.Uint32(v.Data)
			return fmt.Sprintf("0x%x (%d)", n, n)
		}
	case QWORD:
		if len(v.Data) == 8 {
			n := binary.LittleEndian.Uint64(v.Data)
			return fmt.Sprintf("0x%x (%d)", n, n)
		}
	case MultiSZ:
		if d, err := v.Decoded(); err == nil {
			return strings.Join(d.([]string), `\0`)
		}
	}
	return hex.EncodeToString(v.Data)
}

// AddKeys returns the key at path (`\`-separated, below the root),
// creating it and any missing parents. An empty path is the root.
func AddKeys(h Hive, path string) (Key, error) {
	k := h.Root()
	for _, n := range splitPath(path) {
		var err error
		if k, err = h.AddKey(k, n); err != nil {
			return k, err
		}
	}
	return k, nil
}
