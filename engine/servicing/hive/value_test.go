package hive

import (
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseType(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Type
		ok   bool
	}{
		{"REG_SZ", SZ, true}, {"sz", SZ, true}, {"Reg_Expand_Sz", ExpandSZ, true},
		{"DWORD", DWORD, true}, {"reg_qword", QWORD, true}, {"MULTI_SZ", MultiSZ, true},
		{"REG_BINARY", Binary, true},
		{"REG_NONE", None, false}, {"REG_LINK", None, false}, {"", None, false}, {"REG_", None, false},
	} {
		if got, ok := ParseType(tc.in); got != tc.want || ok != tc.ok {
			t.Errorf("ParseType(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestParseValue(t *testing.T) {
	for _, tc := range []struct {
		typ  string
		data []string
		want Value
	}{
		{"REG_SZ", []string{"héllo"}, String("v", "héllo")},
		{"sz", []string{""}, String("v", "")},
		{"REG_EXPAND_SZ", []string{`%SystemRoot%\x`}, ExpandString("v", `%SystemRoot%\x`)},
		{"REG_DWORD", []string{"42"}, Dword("v", 42)},
		{"dword", []string{"0xDEADBEEF"}, Dword("v", 0xDEADBEEF)},
		{"REG_DWORD", []string{"4294967295"}, Dword("v", 0xFFFFFFFF)},
		{"REG_QWORD", []string{"0x0123456789ABCDEF"}, Qword("v", 0x0123456789ABCDEF)},
		{"REG_MULTI_SZ", []string{"one", "two"}, MultiString("v", []string{"one", "two"})},
		{"REG_MULTI_SZ", nil, MultiString("v", nil)},
		{"REG_BINARY", []string{"00,01,ff"}, Bytes("v", []byte{0, 1, 0xFF})},
		{"BINARY", []string{"DEADbeef"}, Bytes("v", []byte{0xDE, 0xAD, 0xBE, 0xEF})},
		{"REG_BINARY", []string{""}, Bytes("v", nil)},
	} {
		got, err := ParseValue("v", tc.typ, tc.data)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseValue(%s, %q) = %+v, %v; want %+v", tc.typ, tc.data, got, err, tc.want)
		}
	}
}

func TestParseValueErrors(t *testing.T) {
	for _, tc := range []struct {
		typ  string
		data []string
		want string
	}{
		{"REG_LINK", []string{"x"}, `unknown value type "REG_LINK" (REG_SZ, REG_EXPAND_SZ, REG_DWORD, REG_QWORD, REG_MULTI_SZ, REG_BINARY)`},
		{"REG_SZ", []string{"a", "b"}, "REG_SZ takes one value"},
		{"dword", nil, "dword takes one value"},
		{"REG_DWORD", []string{"lots"}, `REG_DWORD "lots": strconv.ParseUint: parsing "lots": invalid syntax`},
		{"REG_DWORD", []string{"4294967296"}, `REG_DWORD "4294967296": strconv.ParseUint: parsing "4294967296": value out of range`},
		{"REG_DWORD", []string{"-1"}, `REG_DWORD "-1"`},
		{"REG_QWORD", []string{"1.5"}, `REG_QWORD "1.5"`},
		{"REG_BINARY", []string{"0g"}, `REG_BINARY "0g": encoding/hex: invalid byte`},
		{"REG_BINARY", []string{"abc"}, `REG_BINARY "abc": encoding/hex: odd length hex string`},
	} {
		v, err := ParseValue("v", tc.typ, tc.data)
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("ParseValue(%s, %q) = %+v, %v; want error %q", tc.typ, tc.data, v, err, tc.want)
		}
	}
}

func TestFormatValue(t *testing.T) {
	for _, tc := range []struct {
		v    Value
		want string
	}{
		{String("", "héllo"), "héllo"},
		{ExpandString("", `%windir%`), `%windir%`},
		{Dword("", 42), "0x2a (42)"},
		{Qword("", 1<<40), "0x10000000000 (1099511627776)"},
		{MultiString("", []string{"a", "b"}), `a\0b`},
		{MultiString("", nil), ""},
		{Bytes("", []byte{0, 1, 0xFF}), "0001ff"},
		{Value{Type: DWORD, Data: []byte{1, 2}}, "0102"},
		{Value{Type: QWORD, Data: []byte{1}}, "01"},
		{Value{Type: None, Data: []byte{7}}, "07"},
		{Value{Type: Type(0x1234), Data: []byte{1, 2, 3}}, "010203"},
	} {
		if got := FormatValue(tc.v); got != tc.want {
			t.Errorf("FormatValue(%v %x) = %q, want %q", tc.v.Type, tc.v.Data, got, tc.want)
		}
	}
}

// Every value ParseValue builds formats back to its text (numbers in
// their decimal part).
func TestParseFormatRoundTrip(t *testing.T) {
	for _, tc := range []struct{ typ, data, want string }{
		{"REG_SZ", "text", "text"}, {"REG_DWORD", "7", "0x7 (7)"}, {"REG_BINARY", "0a0b", "0a0b"},
	} {
		v, err := ParseValue("n", tc.typ, []string{tc.data})
		if err != nil {
			t.Fatal(err)
		}
		if got := FormatValue(v); got != tc.want {
			t.Errorf("%s %q formats as %q, want %q", tc.typ, tc.data, got, tc.want)
		}
	}
}

// FuzzValue feeds ParseValue the text a user types and FormatValue the
// bytes a hive holds: neither may panic, and a REG_SZ typed in comes back
// as it was typed.
func FuzzValue(f *testing.F) {
	for _, s := range [][3]string{
		{"REG_SZ", "text", ""}, {"REG_DWORD", "0x10", ""}, {"REG_QWORD", "18446744073709551615", ""},
		{"REG_BINARY", "0a,0b", ""}, {"REG_MULTI_SZ", "a", "b"}, {"REG_EXPAND_SZ", `%SystemRoot%\x`, ""},
		{"DWORD", "-1", ""}, {"REG_NONE", "x", ""}, {"REG_SZ", "\x00\xff", ""},
	} {
		f.Add(s[0], s[1], s[2], uint32(4), []byte{1, 2, 3})
	}
	f.Fuzz(func(t *testing.T, typ, a, b string, rawType uint32, raw []byte) {
		data := []string{a}
		if b != "" {
			data = append(data, b)
		}
		v, err := ParseValue("v", typ, data)
		if err == nil {
			got := FormatValue(v)
			if v.Type == SZ && utf8.ValidString(a) && !strings.ContainsRune(a, 0) && got != a {
				t.Errorf("REG_SZ %q formats as %q", a, got)
			}
		}
		FormatValue(Value{Name: "raw", Type: Type(rawType), Data: raw})
	})
}
