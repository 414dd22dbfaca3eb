package wim

import (
	"encoding/hex"
	"errors"
	"fmt"
	"runtime/debug"
)

// ErrCorrupt is matched (with errors.Is) by every error that reports
// damaged or invalid WIM data: *FormatError and *ChecksumError.
var ErrCorrupt = errors.New("wim: corrupt or invalid data")

// FormatError reports invalid or damaged WIM data: where it is and what is
// wrong with it.
type FormatError struct {
	File   string // the file as named to Open, or "" when parsing a byte slice
	Offset int64  // file offset of the bad data
	Msg    string
}

// Error returns "file: offset 0xN: message".
func (e *FormatError) Error() string {
	if e.File == "" {
		return fmt.Sprintf("offset 0x%x: %s", e.Offset, e.Msg)
	}
	return fmt.Sprintf("%s: offset 0x%x: %s", e.File, e.Offset, e.Msg)
}

// Is reports whether target is ErrCorrupt.
func (e *FormatError) Is(target error) bool { return target == ErrCorrupt }

// ChecksumError reports data whose SHA-1 digest is not the one recorded for
// it: a damaged blob or metadata resource.
type ChecksumError struct {
	File   string // the file holding the data, as named to Open
	Offset int64  // file offset of the resource holding the data
	What   string // "blob", "metadata resource of image 2", ...
	Want   Hash   // recorded digest
	Got    Hash   // digest of the data read
}

// Error names the file, the resource offset, the data and both digests.
func (e *ChecksumError) Error() string {
	return fmt.Sprintf("%s: offset 0x%x: %s %s: SHA-1 mismatch (data hashes to %s)", e.File, e.Offset, e.What, e.Want, e.Got)
}

// Is reports whether target is ErrCorrupt.
func (e *ChecksumError) Is(target error) bool { return target == ErrCorrupt }

// MissingBlobError reports a blob that is in none of the files a WIM was
// opened with: typically a split part or a resource WIM (Res.rwm) that was
// not given as a reference.
type MissingBlobError struct {
	Hash Hash
	File string // the WIM that was searched, with its references
	Hint string // which file is probably missing
}

// Error names the file, the blob and the probably missing file.
func (e *MissingBlobError) Error() string {
	s := fmt.Sprintf("%s: blob %s not found", e.File, e.Hash)
	if e.Hint != "" {
		s += "; " + e.Hint
	}
	return s
}

// Hash is a SHA-1 digest, the name of a blob.
type Hash [20]byte

// String returns the digest in lower-case hexadecimal.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// IsZero reports whether h is all zeros (the hash of "no data").
func (h Hash) IsZero() bool { return h == Hash{} }

// ParseHash parses a 40-digit hexadecimal digest, with or without a "0x"
// prefix.
func ParseHash(s string) (Hash, error) {
	var h Hash
	if len(s) == 42 && (s[:2] == "0x" || s[:2] == "0X") {
		s = s[2:]
	}
	if len(s) != 40 {
		return h, fmt.Errorf("wim: hash %q: want 40 hex digits", s)
	}
	if _, err := hex.Decode(h[:], []byte(s)); err != nil {
		return h, fmt.Errorf("wim: hash %q: %v", s, err)
	}
	return h, nil
}

// errAt builds a FormatError for file name at off.
func errAt(name string, off int64, format string, args ...any) *FormatError {
	return &FormatError{File: name, Offset: off, Msg: fmt.Sprintf(format, args...)}
}

// PanicError is a panic caught in a worker goroutine (see Guard): a bug,
// usually on hostile input, reported as an error instead of ending the
// process, since nothing above a goroutine can recover its panic.
type PanicError struct {
	Value any    // what was passed to panic
	Stack []byte // the panicking goroutine's stack
}

// Error returns "internal error: " and the panic's value.
func (e *PanicError) Error() string { return fmt.Sprintf("internal error: %v", e.Value) }

// Guard runs fn and returns its error, or a *PanicError if fn panics. The
// package's worker goroutines run their work under it; so should other
// packages' goroutines that read WIM data.
func Guard(fn func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &PanicError{Value: v, Stack: debug.Stack()}
		}
	}()
	return fn()
}
