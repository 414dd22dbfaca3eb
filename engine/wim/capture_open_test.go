package wim

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCapOpen: the files a capture reads give their bytes, seek back for
// a second read, end with io.EOF, and fail in the administrator's terms
// (the path and what went wrong).
func TestCapOpen(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f.bin")
	want := strings.Repeat("0123456789", 100000)
	if err := os.WriteFile(p, []byte(want), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := capOpen(p)
	if err != nil {
		t.Fatal(err)
	}
	for pass := range 2 {
		got, err := io.ReadAll(f)
		if err != nil || string(got) != want {
			t.Fatalf("pass %d: read %d bytes, %v", pass, len(got), err)
		}
		if n, err := f.Read(make([]byte, 8)); n != 0 || err != io.EOF {
			t.Fatalf("pass %d: at the end: %d, %v", pass, n, err)
		}
		if off, err := f.Seek(0, io.SeekStart); off != 0 || err != nil {
			t.Fatalf("seek: %d, %v", off, err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); !errors.Is(err, os.ErrClosed) {
		t.Errorf("second close: %v", err)
	}
	if _, err := f.Read(make([]byte, 1)); !errors.Is(err, os.ErrClosed) {
		t.Errorf("read after close: %v", err)
	}
	_, err = capOpen(filepath.Join(dir, "missing"))
	var pe *fs.PathError
	if !errors.As(err, &pe) || !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "missing") {
		t.Errorf("missing file: %v", err)
	}
	d, err := capOpen(dir)
	if err != nil {
		t.Fatalf("a folder opens (reading it fails): %v", err)
	}
	defer d.Close()
	if _, err := d.Read(make([]byte, 1)); err == nil || !strings.Contains(err.Error(), dir) {
		t.Errorf("reading a folder: %v", err)
	}
}
