// Package wintext decodes text as Windows writes it: UTF-16 in either byte
// order, marked or not by a byte order mark, UTF-8, and ANSI. Every
// UTF-16 decoder of the engine is one of these, built on
// golang.org/x/text/encoding/unicode, so that the files agree on what they
// accept. What each kind of data is:
//
//   - Text files an administrator brings (INF files, .reg files): Decode.
//     A byte order mark says the encoding (UTF-16LE FF FE, UTF-16BE FE FF,
//     UTF-8 EF BB BF); without one the text is UTF-8 when it is valid
//     UTF-8, otherwise ANSI, read as Latin-1. UTF-16 of an odd number of
//     bytes is refused.
//   - Data whose format fixes UTF-16LE (registry hive strings, a WIM's XML
//     data): DecodeLE and NewLEReader. A leading FF FE is a byte order mark
//     (the WIM XML's) and dropped; FE FF is no byte order mark there but
//     the character U+FFFE, as wimlib and Windows read it; an odd last byte
//     is no code unit and ignored.
//
// Unpaired surrogates become U+FFFD everywhere. (A WIM's file names are
// the exception and are not decoded here: they map lone surrogates to
// WTF-8 so that every Windows name stays distinct, see engine/wim.)
package wintext

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

var (
	bomLE   = []byte{0xFF, 0xFE}
	bomBE   = []byte{0xFE, 0xFF}
	bomUTF8 = []byte{0xEF, 0xBB, 0xBF}
)

// ErrOddLength refuses UTF-16 text of an odd number of bytes.
var ErrOddLength = errors.New("UTF-16 text has an odd number of bytes")

// Decode returns the text of a file as Windows tools write it (see the
// package comment): by its byte order mark UTF-16LE, UTF-16BE or UTF-8;
// without one UTF-8 when valid, otherwise ANSI read as Latin-1.
func Decode(data []byte) (string, error) {
	var order unicode.Endianness
	switch {
	case bytes.HasPrefix(data, bomLE):
		order = unicode.LittleEndian
	case bytes.HasPrefix(data, bomBE):
		order = unicode.BigEndian
	default:
		data = bytes.TrimPrefix(data, bomUTF8)
		if utf8.Valid(data) {
			return string(data), nil
		}
		s, err := charmap.ISO8859_1.NewDecoder().Bytes(data)
		return string(s), err
	}
	if len(data)%2 != 0 {
		return "", ErrOddLength
	}
	// ExpectBOM consumes the byte order mark checked above.
	s, err := unicode.UTF16(order, unicode.ExpectBOM).NewDecoder().Bytes(data)
	return string(s), err
}

// le decodes UTF-16LE, a byte order mark being text (U+FEFF).
var le = unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM)

// DecodeLE decodes UTF-16LE data: a leading FF FE byte order mark is
// dropped and an odd last byte ignored.
func DecodeLE(data []byte) string {
	data = bytes.TrimPrefix(data[:len(data)&^1], bomLE)
	s, _ := le.NewDecoder().Bytes(data) // UTF-16 to UTF-8 cannot fail
	return string(s)
}

// CutNUL returns UTF-16 data up to its first NUL character (two zero
// bytes at an even offset), or all of it; and whether there was one.
func CutNUL(data []byte) ([]byte, bool) {
	for i := 0; i+1 < len(data); i += 2 {
		if data[i] == 0 && data[i+1] == 0 {
			return data[:i], true
		}
	}
	return data, false
}

// NewLEReader returns r's UTF-16LE text as UTF-8, decoded as it is read,
// as DecodeLE decodes it; r should end at an even byte count (an odd last
// byte becomes U+FFFD).
func NewLEReader(r io.Reader) io.Reader {
	br := bufio.NewReaderSize(r, 64<<10)
	if b, err := br.Peek(2); err == nil && bytes.Equal(b, bomLE) {
		br.Discard(2)
	}
	return transform.NewReader(br, le.NewDecoder())
}
