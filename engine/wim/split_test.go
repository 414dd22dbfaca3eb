package wim

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/wimconsole/wimconsole/engine/progress"
	"github.com/wimconsole/wimconsole/internal/oracle"
)

func TestSplitPartNames(t *testing.T) {
	tests := []struct {
		dest  string
		parts int
		want  []string
	}{
		{"install.swm", 3, []string{"install.swm", "install2.swm", "install3.swm"}},
		{"/usb/sources/install.swm", 2, []string{"/usb/sources/install.swm", "/usb/sources/install2.swm"}},
		{"set", 2, []string{"set", "set2"}},
		{"a.b/part.swm", 1, []string{"a.b/part.swm"}},
	}
	for _, tt := range tests {
		if got := SplitPartNames(tt.dest, tt.parts); !slices.Equal(got, tt.want) {
			t.Errorf("SplitPartNames(%q, %d) = %q, want %q", tt.dest, tt.parts, got, tt.want)
		}
	}
}

// TestSplit splits two-image files of every codec into parts smaller than
// the data and checks each part's header, then reads the set back with
// wimlib-imagex (verify, apply --ref) and with our reader.
func TestSplit(t *testing.T) {
	oracle.Wimlib(t)
	for _, c := range []Compression{LZX, XPRESS, None} {
		t.Run(c.String(), func(t *testing.T) {
			srcFile, srcs := wtTwoImages(t, c)
			src := imgOpenW(t, srcFile)
			var data int64
			for _, e := range src.Blobs() {
				if !e.IsMetadata() {
					data += e.Res.StoredSize
				}
			}
			partSize := data / 4
			dest := filepath.Join(t.TempDir(), "install.swm")
			var last progress.Report
			names, err := Split(context.Background(), src, dest, SplitOptions{PartSize: partSize, Progress: func(r progress.Report) { last = r }})
			if err != nil {
				t.Fatal(err)
			}
			if len(names) < 3 {
				t.Fatalf("%d parts for %d bytes of data at part size %d", len(names), data, partSize)
			}
			if last.Done != last.Total || last.Total < data {
				t.Errorf("last progress %+v, want done = total >= %d", last, data)
			}
			var guid [16]byte
			for i, n := range names {
				p := imgOpenW(t, n)
				h := p.Header()
				if i == 0 {
					guid = h.GUID
				}
				if h.GUID != guid || int(h.Part) != i+1 || int(h.TotalParts) != len(names) || h.Flags&FlagSpanned == 0 || h.ImageCount != 2 {
					t.Errorf("%s: part %d/%d, flags %#x, images %d, GUID shared %v", n, h.Part, h.TotalParts, h.Flags, h.ImageCount, h.GUID == guid)
				}
				if i > 0 && p.XML().Image(2).Name != "two" {
					t.Errorf("%s: no XML data of the images", n)
				}
				big := false
				for _, e := range p.Blobs() {
					big = big || e.Res.StoredSize >= partSize
				}
				if st, _ := os.Stat(n); i > 0 && !big && st.Size() > partSize+4096 {
					t.Errorf("%s: %d bytes, part size %d", n, st.Size(), partSize)
				}
			}
			wtCheckWimlib(t, names[0], names[1:], srcs...)
			wtCheckOurs(t, names[0], names[1:], srcs...)
			// 7-Zip, the second reader, tests the set from its first part.
			// (It reports "Unexpected end of archive" on uncompressed split
			// sets, wimlib-imagex's own as well: 7-Zip 26.02.)
			if c == None {
				return
			}
			if out, err := exec.Command(oracle.Need(t, "7z"), "t", names[0]).CombinedOutput(); err != nil || !strings.Contains(string(out), "Everything is Ok") {
				t.Errorf("7z t %s: %v\n%s", names[0], err, out)
			}
		})
	}
}

// TestSplitBigBlob: a blob larger than the part size goes whole into a
// part of its own, as DISM and wimlib do.
func TestSplitBigBlob(t *testing.T) {
	oracle.Wimlib(t)
	srcFile, srcs := wtTwoImages(t, XPRESS)
	src := imgOpenW(t, srcFile)
	dest := filepath.Join(t.TempDir(), "p.swm")
	names, err := Split(context.Background(), src, dest, SplitOptions{PartSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	blobs := 0
	for _, e := range src.Blobs() {
		if !e.IsMetadata() {
			blobs++
		}
	}
	// Part 1 holds only the metadata; then one part per blob.
	if len(names) != blobs+1 {
		t.Errorf("%d parts for %d blobs", len(names), blobs)
	}
	wtCheckWimlib(t, names[0], names[1:], srcs...)
}

// TestSplitRefusesAndLeavesNothing: an existing part, a solid source and
// a cancel leave the folder as it was.
func TestSplitRefusesAndLeavesNothing(t *testing.T) {
	oracle.Wimlib(t)
	srcFile, _ := wtTwoImages(t, LZX)
	src := imgOpenW(t, srcFile)
	listDir := func(dir string) []string {
		es, _ := os.ReadDir(dir)
		var out []string
		for _, e := range es {
			out = append(out, e.Name())
		}
		return out
	}

	t.Run("existing part", func(t *testing.T) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "p2.swm"), []byte("old"), 0o644)
		_, err := Split(context.Background(), src, filepath.Join(dir, "p.swm"), SplitOptions{PartSize: 1})
		if err == nil || !strings.Contains(err.Error(), "p2.swm already exists") {
			t.Fatalf("err = %v", err)
		}
		if got := listDir(dir); !slices.Equal(got, []string{"p2.swm"}) {
			t.Errorf("folder holds %q", got)
		}
	})

	t.Run("solid", func(t *testing.T) {
		dir := t.TempDir()
		solid := filepath.Join(dir, "solid.esd")
		oracle.Run(t, "capture", wtSampleTree(t, 5), solid, "s", "--solid")
		w := imgOpenW(t, solid)
		_, err := Split(context.Background(), w, filepath.Join(dir, "p.swm"), SplitOptions{})
		if err == nil || !strings.Contains(err.Error(), "solid") {
			t.Fatalf("err = %v", err)
		}
		if got := listDir(dir); !slices.Equal(got, []string{"solid.esd"}) {
			t.Errorf("folder holds %q", got)
		}
	})

	t.Run("cancelled", func(t *testing.T) {
		dir := t.TempDir()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var data int64
		for _, e := range src.Blobs() {
			data += e.Res.StoredSize
		}
		_, err := Split(ctx, src, filepath.Join(dir, "p.swm"), SplitOptions{PartSize: data / 4, Progress: func(r progress.Report) {
			if r.Done > r.Total/2 {
				cancel()
			}
		}})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want cancelled", err)
		}
		if got := listDir(dir); len(got) != 0 {
			t.Errorf("folder holds %q after a cancel", got)
		}
	})
}
