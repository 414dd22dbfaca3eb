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
