package app

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"4000", 4000 << 20, true},
		{"700M", 700 << 20, true},
		{"700MB", 700 << 20, true},
		{"700MiB", 700 << 20, true},
		{"3.8G", 4080218931, true},
		{"3.8 GiB", 4080218931, true},
		{"64k", 64 << 10, true},
		{"1T", 1 << 40, true},
		{"", 0, false},
		{"0", 0, false},
		{"-5M", 0, false},
		{"big", 0, false},
		{"5X", 0, false},
	}
	for _, tt := range tests {
		got, err := ParseSize(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

// dupNamesWIM writes a WIM whose images 1 and 3 are both named
// "Windows 11 Pro" (as files made by other tools can be: our writers and
// wimlib refuse it), image 2 "Home".
func dupNamesWIM(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "a.txt"), []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "install.wim")
	for i, name := range []string{"Windows 11 Pro", "Home", "Windows 11 Prx"} {
		if _, err := Capture(context.Background(), src, file, CaptureOptions{Name: name, Append: i > 0}); err != nil {
			t.Fatal(err)
		}
	}
	// The XML data is stored as UTF-16LE, uncompressed and unhashed:
	// rename image 3 in place.
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	utf16 := func(s string) []byte {
		var b []byte
		for _, r := range s {
			b = append(b, byte(r), 0)
		}
		return b
	}
	if bytes.Count(data, utf16("Windows 11 Prx")) != 1 {
		t.Fatal("name not found in the XML data")
	}
	data = bytes.Replace(data, utf16("Windows 11 Prx"), utf16("Windows 11 Pro"), 1)
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

func TestImageIndex(t *testing.T) {
	file := dupNamesWIM(t)
	w, err := OpenWIM(file, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	tests := []struct {
		arg  string
		want int
		err  string
	}{
		{"1", 1, ""},
		{"3", 3, ""},
		{"Home", 2, ""},
		{"4", 0, "has no image 4 (it has 3)"},
		{"0", 0, "has no image 0"},
		{"home", 0, `has no image named "home"`},
		{"Windows 11 Pro", 0, `install.wim has 2 images named "Windows 11 Pro" (1 and 3): give the index`},
	}
	for _, tt := range tests {
		got, err := ImageIndex(w, tt.arg)
		if tt.err == "" {
			if err != nil || got != tt.want {
				t.Errorf("ImageIndex(%q) = %d, %v; want %d", tt.arg, got, err, tt.want)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("ImageIndex(%q) = %d, %v; want error %q", tt.arg, got, err, tt.err)
		}
	}
}

func TestImageIndexes(t *testing.T) {
	file := dupNamesWIM(t)
	tests := []struct {
		args []string
		want []int
		err  string
	}{
		{[]string{"Home", "1"}, []int{2, 1}, ""},
		{[]string{"3"}, []int{3}, ""},
		{[]string{"2", "Home"}, nil, `image 2 is given twice (as "Home")`},
		{[]string{"Windows 11 Pro"}, nil, "2 images named"},
		{[]string{"Nope"}, nil, `no image named "Nope"`},
	}
	for _, tt := range tests {
		got, err := ImageIndexes(file, tt.args)
		if tt.err == "" {
			if err != nil || !slices.Equal(got, tt.want) {
				t.Errorf("ImageIndexes(%q) = %v, %v; want %v", tt.args, got, err, tt.want)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("ImageIndexes(%q) = %v, %v; want error %q", tt.args, got, err, tt.err)
		}
	}
}

// TestSetWIMImageInfo: the use case changes the file and refuses a name
// another image has.
func TestSetWIMImageInfo(t *testing.T) {
	file := dupNamesWIM(t)
	if err := SetWIMImageInfo(file, 2, WIMInfoEdit{Name: ptrTo("Windows 11 Pro")}); err == nil || !strings.Contains(err.Error(), `already named "Windows 11 Pro"`) {
		t.Fatalf("duplicate name: %v", err)
	}
	p, err := ParseWIMProperty("windows/editionid=Professional")
	if err != nil {
		t.Fatal(err)
	}
	if err := SetWIMImageInfo(file, 3, WIMInfoEdit{Name: ptrTo("Windows 11 Pro N"), Description: ptrTo("N edition"), Properties: []WIMProperty{p}, Boot: true}); err != nil {
		t.Fatal(err)
	}
	w, err := OpenWIM(file, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	im := w.XML().Image(3)
	if im.Name != "Windows 11 Pro N" || im.Description != "N edition" || im.Windows == nil || im.Windows.EditionID != "Professional" || w.BootIndex() != 3 {
		t.Errorf("image 3: %+v, boot %d", im, w.BootIndex())
	}
	if i, err := ImageIndex(w, "Windows 11 Pro"); err != nil || i != 1 {
		t.Errorf("ImageIndex after rename = %d, %v", i, err)
	}
	if _, err := ParseWIMProperty("WINDOWS/ARCH=9"); err == nil {
		t.Error("WINDOWS/ARCH accepted")
	}
}

func ptrTo[T any](v T) *T { return &v }
func TestParseCompressionAndChunkSize(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Compression
		ok   bool
	}{
		{"none", NoCompression, true}, {"XPRESS", XPRESS, true}, {"maximum", LZX, true},
		{"lzms", LZMS, true}, {"recovery", LZMS, true}, {"zip", 0, false},
	} {
		got, err := ParseCompression(c.in)
		if (err == nil) != c.ok || (c.ok && got != c.want) {
			t.Errorf("ParseCompression(%q) = %v, %v", c.in, got, err)
		}
	}
	for _, c := range []struct {
		in   string
		want Compression
		ok   bool
	}{
		{"lzms", LZMS, true}, {"lzx", LZX, true}, {"fast", XPRESS, true}, {"none", 0, false}, {"zip", 0, false},
	} {
		got, err := ParseSolidCompression(c.in)
		if (err == nil) != c.ok || (c.ok && got != c.want) {
			t.Errorf("ParseSolidCompression(%q) = %v, %v", c.in, got, err)
		}
	}
	for _, c := range []struct {
		in    string
		codec Compression
		want  int
	}{
		{"32768", LZX, 32768}, {"32K", LZX, 32768}, {"2m", LZX, 2 << 20}, {"64M", LZMS, 64 << 20}, {"1G", LZMS, 1 << 30},
		{"4K", XPRESS, 4096}, {"4K", LZX, 0}, {"4M", LZX, 0}, {"3000", LZMS, 0}, {"2G", LZMS, 0}, {"x", LZX, 0}, {"-32K", LZX, 0},
	} {
		got, err := ParseChunkSize(c.in, c.codec)
		if (err == nil) != (c.want != 0) || got != c.want {
			t.Errorf("ParseChunkSize(%q, %v) = %d, %v; want %d", c.in, c.codec, got, err, c.want)
		}
	}
}
