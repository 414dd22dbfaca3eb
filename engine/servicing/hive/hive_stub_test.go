//go:build !(cgo && (linux || darwin || freebsd))

package hive

import (
	"errors"
	"strings"
	"testing"
)

func TestStub(t *testing.T) {
	_, err := Open("SYSTEM", Options{})
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "SYSTEM: open: registry editing needs libhivex") {
		t.Errorf("Open: %v", err)
	}
	if _, err := OpenBytes("X", nil, Options{}); !errors.Is(err, ErrUnsupported) {
		t.Errorf("OpenBytes: %v", err)
	}
}
