package wim

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/wimconsole/wimconsole/internal/oracle"
)

// siTwoImages captures two small images ("one", "two") into a new file,
// with an integrity table when check is set.
func siTwoImages(t *testing.T, c Compression, check bool) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "two.wim")
	for i, name := range []string{"one", "two"} {
		if _, err := Capture(context.Background(), wtSampleTree(t, uint64(31+i)), file, CaptureOptions{Name: name, Compression: c, Append: i > 0, Integrity: check}); err != nil {
			t.Fatal(err)
		}
	}
	return file
}

// wimlibImageField returns the value of field (e.g. "Name") of image index
// as `wimlib-imagex info FILE INDEX` prints it.
func wimlibImageField(t *testing.T, file, index, field string) string {
	t.Helper()
	out := oracle.Run(t, "info", file, index)
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(field) + `:[ \t]*(.*)$`).FindStringSubmatch(out)
	if m == nil {
		return ""
	}
	return strings.TrimSpace(m[1])
}

// wimlibBootIndex returns the boot index `wimlib-imagex info --header`
// reports.
func wimlibBootIndex(t *testing.T, file string) string {
	t.Helper()
	out := oracle.Run(t, "info", file, "--header")
	m := regexp.MustCompile(`(?m)^Boot Index\s*=\s*(\d+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no boot index in:\n%s", out)
	}
	return m[1]
}

func TestSetImageInfo(t *testing.T) {
	oracle.Wimlib(t)
	tests := []struct {
		name      string
		c         Compression
		check     bool
		index     int
		edit      InfoEdit
		wantName  string
		wantDesc  string
		wantFlags string
		wantEd    string // WINDOWS/EDITIONID
		wantBoot  int
	}{
		{"name and description", LZX, false, 2, InfoEdit{Name: ptr("Windows 11 Pro"), Description: ptr("Pro & more <x>")}, "Windows 11 Pro", "Pro & more <x>", "", "", 0},
		{"flags and boot, integrity kept", XPRESS, true, 1, InfoEdit{Flags: ptr("Professional"), Boot: true}, "one", "", "Professional", "", 1},
		{"boot only", None, false, 2, InfoEdit{Boot: true}, "two", "", "", "", 2},
		{"image properties", LZX, true, 1, InfoEdit{Properties: []Property{{"WINDOWS/EDITIONID", "Professional"}, {"DISPLAYNAME", "Pro"}}}, "one", "", "", "Professional", 0},
		{"same name again", LZX, false, 1, InfoEdit{Name: ptr("one")}, "one", "", "", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := siTwoImages(t, tt.c, tt.check)
			before := imgOpenW(t, file)
			var metas []Hash
			for i := 1; i <= 2; i++ {
				e, _ := before.MetadataEntry(i)
				metas = append(metas, e.Hash)
			}
			other := *before.XML().Image(3 - tt.index)
			oldHdr := before.Header()
			before.Close()

			if err := SetImageInfo(file, tt.index, tt.edit); err != nil {
				t.Fatal(err)
			}
			w := imgOpenW(t, file)
			img := w.XML().Image(tt.index)
			if img.Name != tt.wantName || img.Description != tt.wantDesc || img.Flags != tt.wantFlags {
				t.Errorf("image %d: name %q, description %q, flags %q", tt.index, img.Name, img.Description, img.Flags)
			}
			if tt.wantEd != "" && (img.Windows == nil || img.Windows.EditionID != tt.wantEd) {
				t.Errorf("edition %+v", img.Windows)
			}
			if o := w.XML().Image(3 - tt.index); o.Name != other.Name || o.Description != other.Description {
				t.Errorf("other image changed: %q %q", o.Name, o.Description)
			}
			if w.BootIndex() != tt.wantBoot {
				t.Errorf("boot index %d, want %d", w.BootIndex(), tt.wantBoot)
			}
			h := w.Header()
			if tt.wantBoot > 0 {
				e, _ := w.MetadataEntry(tt.wantBoot)
				if h.BootMetadata != e.Res {
					t.Errorf("boot metadata %+v, want %+v", h.BootMetadata, e.Res)
				}
			}
			if h.Flags != oldHdr.Flags || h.BlobTable != oldHdr.BlobTable || h.Integrity != oldHdr.Integrity || h.GUID != oldHdr.GUID {
				t.Errorf("header changed beyond XML and boot: %+v -> %+v", oldHdr, h)
			}
			if h.XML.Offset <= oldHdr.XML.Offset {
				t.Errorf("new XML at %d, old at %d: not appended", h.XML.Offset, oldHdr.XML.Offset)
			}
			for i, m := range metas {
				if e, _ := w.MetadataEntry(i + 1); e.Hash != m {
					t.Errorf("image %d metadata changed", i+1)
				}
			}
			if err := w.Verify(context.Background(), nil); err != nil {
				t.Fatal(err)
			}
			// The oracles.
			oracle.Run(t, "verify", file)
			idx := []string{"1", "2"}[tt.index-1]
			if got := wimlibImageField(t, file, idx, "Name"); got != tt.wantName {
				t.Errorf("wimlib name %q", got)
			}
			if got := wimlibImageField(t, file, idx, "Description"); got != tt.wantDesc {
				t.Errorf("wimlib description %q", got)
			}
			if got := wimlibImageField(t, file, idx, "Flags"); got != tt.wantFlags {
				t.Errorf("wimlib flags %q", got)
			}
			if got := wimlibImageField(t, file, idx, "Edition ID"); got != tt.wantEd {
				t.Errorf("wimlib edition %q", got)
			}
			if got := wimlibBootIndex(t, file); got != []string{"0", "1", "2"}[tt.wantBoot] {
				t.Errorf("wimlib boot index %s", got)
			}
			if h.Integrity.IsZero() == tt.check {
				t.Errorf("integrity table: %+v", h.Integrity)
			}
			// Still appendable afterwards.
			if _, err := Capture(context.Background(), wtSampleTree(t, 39), file, CaptureOptions{Name: "three", Append: true}); err != nil {
				t.Fatal(err)
			}
			oracle.Run(t, "verify", file)
			w2 := imgOpenW(t, file)
			if got := w2.XML().Image(tt.index).Name; got != tt.wantName || w2.BootIndex() != tt.wantBoot {
				t.Errorf("after append: name %q, boot %d", got, w2.BootIndex())
			}
		})
	}
}

// TestSetImageInfoRemove: an empty value removes the element.
func TestSetImageInfoRemove(t *testing.T) {
	file := siTwoImages(t, LZX, false)
	if err := SetImageInfo(file, 1, InfoEdit{Description: ptr("d"), Flags: ptr("f")}); err != nil {
		t.Fatal(err)
	}
	if err := SetImageInfo(file, 1, InfoEdit{Flags: ptr("")}); err != nil {
		t.Fatal(err)
	}
	w := imgOpenW(t, file)
	if s := decodeUTF16(w.RawXML()); strings.Contains(s, "<FLAGS>") || !strings.Contains(s, "<DESCRIPTION>d</DESCRIPTION>") {
		t.Errorf("XML %s", s)
	}
}

// TestSetImageInfoRefuses: bad edits and files that cannot be changed
// leave the file byte for byte as it was.
func TestSetImageInfoRefuses(t *testing.T) {
	file := siTwoImages(t, LZX, false)
	readOnly := filepath.Join(t.TempDir(), "ro.wim")
	copyFile(t, file, readOnly)
	{
		data, _ := os.ReadFile(readOnly)
		data[0x10] |= FlagReadOnly
		os.WriteFile(readOnly, data, 0o644)
	}
	split := filepath.Join("testdata", "container", "split.swm")
	tests := []struct {
		name  string
		file  string
		index int
		edit  InfoEdit
		want  string
	}{
		{"duplicate name", file, 2, InfoEdit{Name: ptr("one")}, `image 1 is already named "one"`},
		{"numeric name", file, 1, InfoEdit{Name: ptr("12")}, "is a number"},
		{"no such image", file, 3, InfoEdit{Name: ptr("x")}, "has no image 3"},
		{"bad characters", file, 1, InfoEdit{Description: ptr("a\x01b")}, "XML cannot hold"},
		{"unknown property", file, 1, InfoEdit{Properties: []Property{{"WINDOWS/ARCH", "9"}}}, "cannot be set"},
		{"read-only file", readOnly, 1, InfoEdit{Name: ptr("x")}, "read-only"},
		{"split part", split, 1, InfoEdit{Name: ptr("x")}, "split set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := tt.file
			if tt.file == split {
				if _, err := os.Stat(split); err != nil {
					t.Skipf("no fixture %s", split)
				}
				f = filepath.Join(t.TempDir(), "split.swm")
				copyFile(t, split, f)
			}
			data, _ := os.ReadFile(f)
			err := SetImageInfo(f, tt.index, tt.edit)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
			if got, _ := os.ReadFile(f); !bytes.Equal(got, data) {
				t.Error("file changed")
			}
		})
	}
}

// unknownXML is XML data for two images with elements this package has no
// field for, at every level.
const unknownXML = `<WIM><TOTALBYTES>1</TOTALBYTES><IMAGE INDEX="1" VENDOR="acme"><DIRCOUNT>1</DIRCOUNT><FILECOUNT>1</FILECOUNT><TOTALBYTES>1</TOTALBYTES><HARDLINKBYTES>0</HARDLINKBYTES><WINDOWS><ARCH>9</ARCH><EDITIONID>Professional</EDITIONID><SERVICINGDATA><GDRDUREVISION>7</GDRDUREVISION><PKEYCONFIGVERSION>10.0.22621.1;2016-01-01T00:00:00Z</PKEYCONFIGVERSION></SERVICINGDATA><LANGUAGES><LANGUAGE>en-US</LANGUAGE><FALLBACK LANGUAGE="en-US">en-GB</FALLBACK><DEFAULT>en-US</DEFAULT></LANGUAGES><VERSION><MAJOR>10</MAJOR><MINOR>0</MINOR><BUILD>22621</BUILD><SPBUILD>1</SPBUILD><SPLEVEL>0</SPLEVEL><BRANCH>ni_release</BRANCH></VERSION></WINDOWS><NAME>one</NAME><ACME:TAG xmlns:ACME="urn:acme">golden</ACME:TAG></IMAGE><IMAGE INDEX="2"><NAME>two</NAME><VENDORDATA><BUILT>yes</BUILT></VENDORDATA></IMAGE><WIMVENDOR>kept</WIMVENDOR></WIM>`

// unknownParts are the unknown elements of unknownXML, as Marshal writes
// them.
var unknownParts = []string{
	`<SERVICINGDATA><GDRDUREVISION>7</GDRDUREVISION><PKEYCONFIGVERSION>10.0.22621.1;2016-01-01T00:00:00Z</PKEYCONFIGVERSION></SERVICINGDATA>`,
	`<FALLBACK LANGUAGE="en-US">en-GB</FALLBACK>`,
	`<BRANCH>ni_release</BRANCH>`,
	`VENDOR="acme"`,
	`<ACME:TAG xmlns:ACME="urn:acme">golden</ACME:TAG>`,
	`<VENDORDATA><BUILT>yes</BUILT></VENDORDATA>`,
	`<WIMVENDOR>kept</WIMVENDOR>`,
}

// siWithUnknown makes a two-image file whose XML data is unknownXML.
func siWithUnknown(t *testing.T) string {
	t.Helper()
	file := siTwoImages(t, LZX, false)
	err := rewriteInfo(file, func(src *WIM, info *Info) (int, error) {
		ui, err := parseXMLData(encodeUTF16(unknownXML))
		if err != nil {
			return 0, err
		}
		*info = *ui
		return 0, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return file
}

// siHasUnknown checks that the XML data of file holds every part of want.
func siHasUnknown(t *testing.T, file string, want []string, what string) {
	t.Helper()
	w := imgOpenW(t, file)
	s := decodeUTF16(w.RawXML())
	for _, p := range want {
		if !strings.Contains(s, p) {
			t.Errorf("%s: %s lost from the XML data:\n%s", what, p, s)
		}
	}
	w.Close()
}

// TestUnknownXMLSurvives: elements this package has no field for survive
// SetImageInfo, capture --append, a soft delete and export (the image's own
// elements), and wimlib still reads the file and sees them.
func TestUnknownXMLSurvives(t *testing.T) {
	oracle.Wimlib(t)
	ctx := context.Background()
	file := siWithUnknown(t)
	siHasUnknown(t, file, unknownParts, "written")

	if err := SetImageInfo(file, 1, InfoEdit{Name: ptr("renamed"), Description: ptr("d"), Properties: []Property{{"WINDOWS/EDITIONID", "Enterprise"}}, Boot: true}); err != nil {
		t.Fatal(err)
	}
	siHasUnknown(t, file, unknownParts, "after SetImageInfo")
	w := imgOpenW(t, file)
	if im := w.XML().Image(1); im.Name != "renamed" || im.Windows.EditionID != "Enterprise" || im.Windows.Version.Build != 22621 {
		t.Errorf("image 1 after SetImageInfo: %+v %+v", im, im.Windows)
	}
	w.Close()
	oracle.Run(t, "verify", file)
	if got := wimlibImageField(t, file, "1", "Edition ID"); got != "Enterprise" {
		t.Errorf("wimlib edition %q", got)
	}
	if out := oracle.Run(t, "info", "--xml", file); !strings.Contains(decodeUTF16([]byte(out)), "<GDRDUREVISION>7</GDRDUREVISION>") {
		t.Errorf("wimlib's XML lacks SERVICINGDATA:\n%s", decodeUTF16([]byte(out)))
	}

	if _, err := Capture(ctx, wtSampleTree(t, 41), file, CaptureOptions{Name: "three", Append: true}); err != nil {
		t.Fatal(err)
	}
	siHasUnknown(t, file, unknownParts, "after capture --append")

	// Export: each image keeps its own elements, into a new file and
	// into an existing one.
	src := imgOpenW(t, file)
	img1 := unknownParts[:5] // image 1's; unknownParts[5] is image 2's
	fresh := filepath.Join(t.TempDir(), "fresh.wim")
	if _, err := Export(ctx, src, []int{1}, fresh, ExportOptions{}); err != nil {
		t.Fatal(err)
	}
	siHasUnknown(t, fresh, img1, "exported to a new file")
	existing := siTwoImages(t, LZX, false)
	if _, err := Export(ctx, src, []int{1}, existing, ExportOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := Export(ctx, src, []int{2}, existing, ExportOptions{Name: "two again"}); err != nil {
		t.Fatal(err)
	}
	siHasUnknown(t, existing, unknownParts[:6], "exported into an existing file")
	oracle.Run(t, "verify", fresh)
	oracle.Run(t, "verify", existing)
	src.Close()

	if err := DeleteImage(ctx, file, 3, true); err != nil {
		t.Fatal(err)
	}
	siHasUnknown(t, file, unknownParts, "after a soft delete")
}

// TestSetImageInfoCrash kills SetImageInfo at each of its steps and checks
// that the file still opens and verifies (wimlib and ours) with the old
// properties or, once the header is written, the new ones; and that it
// can be changed and appended to afterwards.
func TestSetImageInfoCrash(t *testing.T) {
	oracle.Wimlib(t)
	base := siTwoImages(t, LZX, true)
	var committed []Hash
	{
		w := imgOpenW(t, base)
		for i := 1; i <= w.ImageCount(); i++ {
			e, _ := w.MetadataEntry(i)
			committed = append(committed, e.Hash)
		}
		w.Close()
	}
	for _, step := range []string{"after-xml", "before-header", "after-header"} {
		t.Run(step, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "crash.wim")
			copyFile(t, base, file)
			if code, _ := crashRun(t, "set-info", file, "", step, 0); code != 137 {
				t.Fatalf("helper exited %d", code)
			}
			crashCheck(t, file, committed, false, "set-info killed at "+step)
			w := imgOpenW(t, file)
			im := w.XML().Image(2)
			done := step == "after-header"
			if done {
				if im.Name != "new name" || im.Flags != "Professional" || w.BootIndex() != 2 {
					t.Errorf("committed: name %q, flags %q, boot %d", im.Name, im.Flags, w.BootIndex())
				}
			} else if im.Name != "two" || im.Flags != "" || w.BootIndex() != 0 {
				t.Errorf("not committed: name %q, flags %q, boot %d", im.Name, im.Flags, w.BootIndex())
			}
			w.Close()
			if err := SetImageInfo(file, 1, InfoEdit{Description: ptr("after the crash")}); err != nil {
				t.Fatal(err)
			}
			oracle.Run(t, "verify", file)
			crashAppendAgain(t, file, wtSampleTree(t, 43), step)
		})
	}
}

// TestSetImageInfoLock: SetImageInfo is refused while another writer has
// the file, and an append is refused while SetImageInfo holds it.
func TestSetImageInfoLock(t *testing.T) {
	if lockFile(nil) == nil {
		t.Skip("no file locks on this system")
	}
	file := siTwoImages(t, XPRESS, false)
	w, err := OpenAppend(file, WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	err = SetImageInfo(file, 1, InfoEdit{Name: ptr("x")})
	w.Abort()
	if err == nil || !strings.Contains(err.Error(), "another process") {
		t.Fatalf("SetImageInfo during an append: %v", err)
	}
	// While SetImageInfo writes (stopped at its hook), no append starts.
	defer func() { crashHook = nil }()
	var appendErr error
	crashHook = func(step string) {
		if step == "before-header" {
			w, appendErr = OpenAppend(file, WriteOptions{})
			if appendErr == nil {
				w.Abort()
			}
		}
	}
	if err := SetImageInfo(file, 1, InfoEdit{Name: ptr("y")}); err != nil {
		t.Fatal(err)
	}
	if appendErr == nil {
		t.Error("OpenAppend succeeded while SetImageInfo held the file")
	}
	if got := imgOpenW(t, file).XML().Image(1).Name; got != "y" {
		t.Errorf("name %q", got)
	}
}
