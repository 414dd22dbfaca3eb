package wintext

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestDecode(t *testing.T) {
	for _, c := range []struct {
		name, in, want string
		err            error
	}{
		{"LE BOM", "\xff\xfe[\x00V\x00e\x00r\x00]\x00", "[Ver]", nil},
		{"BE BOM", "\xfe\xff\x00[\x00V\x00e\x00r\x00]", "[Ver]", nil},
		{"LE pair", "\xff\xfe\x3d\xd8\x00\xde", "\U0001F600", nil},
		{"BE pair", "\xfe\xff\xd8\x3d\xde\x00", "\U0001F600", nil},
		{"LE lone high surrogate", "\xff\xfea\x00\x3d\xd8b\x00", "a\uFFFDb", nil},
		{"BE lone low surrogate", "\xfe\xff\x00a\xde\x00\x00b", "a\uFFFDb", nil},
		{"LE lone surrogate at end", "\xff\xfea\x00\x3d\xd8", "a\uFFFD", nil},
		{"LE odd length", "\xff\xfe[\x00V", "", ErrOddLength},
		{"BE odd length", "\xfe\xff\x00[\x00", "", ErrOddLength},
		{"LE BOM only", "\xff\xfe", "", nil},
		{"UTF-8 BOM", "\xef\xbb\xbf[Ver] é", "[Ver] é", nil},
		{"UTF-8", "[Ver] é", "[Ver] é", nil},
		{"ANSI", "caf\xe9", "café", nil},
		{"ANSI after UTF-8 BOM", "\xef\xbb\xbfcaf\xe9", "café", nil},
		{"empty", "", "", nil},
		{"no BOM UTF-16LE is bytes", "a\x00", "a\x00", nil},
	} {
		got, err := Decode([]byte(c.in))
		if !errors.Is(err, c.err) || got != c.want {
			t.Errorf("%s: Decode(%q) = %q, %v; want %q, %v", c.name, c.in, got, err, c.want, c.err)
		}
	}
}

func TestDecodeLE(t *testing.T) {
	for _, c := range []struct{ name, in, want string }{
		{"plain", "W\x00I\x00M\x00", "WIM"},
		{"LE BOM dropped", "\xff\xfeW\x00", "W"},
		{"BE BOM is U+FFFE", "\xfe\xffW\x00", "\uFFFEW"},
		{"BOM inside is text", "W\x00\xff\xfe", "W\uFEFF"},
		{"odd last byte ignored", "W\x00I", "W"},
		{"one byte", "W", ""},
		{"pair", "\x3d\xd8\x00\xde", "\U0001F600"},
		{"lone high", "\x3d\xd8W\x00", "\uFFFDW"},
		{"lone low", "\x00\xdeW\x00", "\uFFFDW"},
		{"lone at end", "W\x00\x3d\xd8", "W\uFFFD"},
		{"NUL kept", "a\x00\x00\x00b\x00", "a\x00b"},
		{"empty", "", ""},
	} {
		if got := DecodeLE([]byte(c.in)); got != c.want {
			t.Errorf("%s: DecodeLE(%q) = %q, want %q", c.name, c.in, got, c.want)
		}
		// The streaming form agrees on every even-length input.
		in := c.in[:len(c.in)&^1]
		got, err := io.ReadAll(NewLEReader(strings.NewReader(in)))
		if err != nil || string(got) != DecodeLE([]byte(in)) {
			t.Errorf("%s: NewLEReader(%q) = %q, %v; DecodeLE gives %q", c.name, in, got, err, DecodeLE([]byte(in)))
		}
	}
}

func TestNewLEReaderLong(t *testing.T) {
	// Longer than the reader's buffer, with a pair across every boundary.
	want := strings.Repeat("a\U0001F600", 50000)
	var b bytes.Buffer
	b.Write(bomLE)
	for _, r := range want {
		if r > 0xFFFF {
			b.Write([]byte{0x3d, 0xd8, 0x00, 0xde})
		} else {
			b.Write([]byte{byte(r), 0})
		}
	}
	got, err := io.ReadAll(NewLEReader(&b))
	if err != nil || string(got) != want {
		t.Errorf("long text decoded to %d bytes, %v; want %d", len(got), err, len(want))
	}
}

func TestCutNUL(t *testing.T) {
	for _, c := range []struct {
		in, want string
		found    bool
	}{
		{"a\x00b\x00\x00\x00c\x00", "a\x00b\x00", true},
		{"a\x00\x00b", "a\x00\x00b", false}, // zero bytes at odd offsets are no NUL
		{"\x00\x00", "", true},
		{"a\x00\x00", "a\x00\x00", false},
		{"", "", false},
	} {
		got, found := CutNUL([]byte(c.in))
		if string(got) != c.want || found != c.found {
			t.Errorf("CutNUL(%q) = %q, %v; want %q, %v", c.in, got, found, c.want, c.found)
		}
	}
}
