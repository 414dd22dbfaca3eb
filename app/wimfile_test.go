package app

import "testing"

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
