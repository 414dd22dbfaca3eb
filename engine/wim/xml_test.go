package wim

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/wimconsole/wimconsole/internal/oracle"
)

// msXML is the XML data of a Microsoft install.wim (Windows 10, DISM
// order): TOTALBYTES first, WINDOWS before NAME, elements this package has
// no field for (WIMBOOT is one it has; SERVICINGDATA, FALLBACK, BRANCH are
// not).
const msXML = `<WIM><TOTALBYTES>4467285286</TOTALBYTES><IMAGE INDEX="1"><DIRCOUNT>19473</DIRCOUNT><FILECOUNT>100097</FILECOUNT><TOTALBYTES>15040566613</TOTALBYTES><HARDLINKBYTES>6315875713</HARDLINKBYTES><CREATIONTIME><HIGHPART>0x01D6C4C2</HIGHPART><LOWPART>0x2C8D5EAB</LOWPART></CREATIONTIME><LASTMODIFICATIONTIME><HIGHPART>0x01D6C4C2</HIGHPART><LOWPART>0x47E5E8E0</LOWPART></LASTMODIFICATIONTIME><WIMBOOT>0</WIMBOOT><WINDOWS><ARCH>9</ARCH><PRODUCTNAME>Microsoft® Windows® Operating System</PRODUCTNAME><EDITIONID>Education</EDITIONID><INSTALLATIONTYPE>Client</INSTALLATIONTYPE><SERVICINGDATA><GDRDUREVISION>0</GDRDUREVISION><PKEYCONFIGVERSION>10.0.19041.1;2016-01-01T00:00:00Z</PKEYCONFIGVERSION></SERVICINGDATA><PRODUCTTYPE>WinNT</PRODUCTTYPE><PRODUCTSUITE>Terminal Server</PRODUCTSUITE><LANGUAGES><LANGUAGE>en-US</LANGUAGE><LANGUAGE>de-DE</LANGUAGE><FALLBACK LANGUAGE="de-DE">en-US</FALLBACK><DEFAULT>en-US</DEFAULT></LANGUAGES><VERSION><MAJOR>10</MAJOR><MINOR>0</MINOR><BUILD>19041</BUILD><SPBUILD>572</SPBUILD><SPLEVEL>0</SPLEVEL><BRANCH>vb_release</BRANCH></VERSION><SYSTEMROOT>WINDOWS</SYSTEMROOT></WINDOWS><NAME>Windows 10 Education</NAME><DESCRIPTION>Windows 10 Education</DESCRIPTION><FLAGS>Education</FLAGS><DISPLAYNAME>Windows 10 Education</DISPLAYNAME><DISPLAYDESCRIPTION>Windows 10 Education &amp; more</DISPLAYDESCRIPTION></IMAGE><IMAGE INDEX="2"><DIRCOUNT>1</DIRCOUNT><FILECOUNT>2</FILECOUNT><TOTALBYTES>3</TOTALBYTES><HARDLINKBYTES>0</HARDLINKBYTES><CREATIONTIME><HIGHPART>0x01D6C4C2</HIGHPART><LOWPART>0x2C8D5EAB</LOWPART></CREATIONTIME><LASTMODIFICATIONTIME><HIGHPART>0x01D6C4C2</HIGHPART><LOWPART>0x2C8D5EAB</LOWPART></LASTMODIFICATIONTIME><NAME>Second</NAME></IMAGE></WIM>`

func TestXMLMicrosoftRoundTrip(t *testing.T) {
	raw := encodeUTF16(msXML)
	info, err := parseXMLData(raw)
	if err != nil {
		t.Fatal(err)
	}
	if info.TotalBytes != 4467285286 || len(info.Images) != 2 {
		t.Fatalf("info %+v", info)
	}
	img := info.Images[0]
	want := ImageInfo{
		Index: 1, Name: "Windows 10 Education", Description: "Windows 10 Education",
		DisplayName: "Windows 10 Education", DisplayDescription: "Windows 10 Education & more", Flags: "Education",
		DirCount: 19473, FileCount: 100097, TotalBytes: 15040566613, HardLinkBytes: 6315875713,
	}
	if img.Index != want.Index || img.Name != want.Name || img.Description != want.Description ||
		img.DisplayName != want.DisplayName || img.DisplayDescription != want.DisplayDescription ||
		img.Flags != want.Flags || img.DirCount != want.DirCount || img.FileCount != want.FileCount ||
		img.TotalBytes != want.TotalBytes || img.HardLinkBytes != want.HardLinkBytes || img.WIMBoot {
		t.Errorf("image 1:\n got %+v\nwant %+v", img, want)
	}
	if ft := TimeToFiletime(img.Created); ft != 0x01D6C4C22C8D5EAB {
		t.Errorf("creation time %v = FILETIME 0x%X", img.Created, ft)
	}
	if img.Created.Year() != 2020 || img.Modified.Before(img.Created) {
		t.Errorf("times %v %v", img.Created, img.Modified)
	}
	win := img.Windows
	if win == nil {
		t.Fatal("no WINDOWS")
	}
	wantWin := WindowsInfo{
		Arch: 9, ProductName: "Microsoft® Windows® Operating System", EditionID: "Education",
		InstallationType: "Client", ProductType: "WinNT", ProductSuite: "Terminal Server",
		Languages: []string{"en-US", "de-DE"}, DefaultLanguage: "en-US",
		Version:    WindowsVersion{Major: 10, Minor: 0, Build: 19041, SPBuild: 572, SPLevel: 0},
		SystemRoot: "WINDOWS",
	}
	win2 := *win
	win2.layout, win2.langLayout, win2.verLayout = nil, nil, nil
	if !reflect.DeepEqual(win2, wantWin) {
		t.Errorf("windows:\n got %+v\nwant %+v", win2, wantWin)
	}
	if win.ArchName() != "x86_64" {
		t.Errorf("arch name %q", win.ArchName())
	}

	// Byte-exact round trip, unknown elements included.
	out, err := info.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, raw) {
		t.Fatalf("round trip differs:\n got %s\nwant %s", decodeUTF16(out), msXML)
	}

	// Changing fields keeps everything else in place.
	info.Images[0].Name = "Renamed <edition>"
	info.Images[0].Windows.Languages = append(info.Images[0].Windows.Languages, "fr-FR")
	info.Images[0].Windows.HAL = "acpiapic"
	info.Images[1].Description = "now described"
	info.Images[1].Windows = &WindowsInfo{Arch: 12, Version: WindowsVersion{Major: 10, Build: 22000}}
	out, err = info.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	s := decodeUTF16(out)
	for _, sub := range []string{
		"<NAME>Renamed &lt;edition&gt;</NAME>",
		"<LANGUAGE>en-US</LANGUAGE><LANGUAGE>de-DE</LANGUAGE><LANGUAGE>fr-FR</LANGUAGE><FALLBACK LANGUAGE=\"de-DE\">en-US</FALLBACK><DEFAULT>en-US</DEFAULT>",
		"<INSTALLATIONTYPE>Client</INSTALLATIONTYPE><HAL>acpiapic</HAL><SERVICINGDATA>",
		"<BRANCH>vb_release</BRANCH>",
		"<LASTMODIFICATIONTIME><HIGHPART>0x01D6C4C2</HIGHPART><LOWPART>0x2C8D5EAB</LOWPART></LASTMODIFICATIONTIME><WINDOWS><ARCH>12</ARCH><VERSION><MAJOR>10</MAJOR><MINOR>0</MINOR><BUILD>22000</BUILD><SPBUILD>0</SPBUILD><SPLEVEL>0</SPLEVEL></VERSION></WINDOWS><NAME>Second</NAME><DESCRIPTION>now described</DESCRIPTION></IMAGE>",
	} {
		if !strings.Contains(s, sub) {
			t.Errorf("marshalled XML lacks %s\n%s", sub, s)
		}
	}
	again, err := parseXMLData(out)
	if err != nil {
		t.Fatal(err)
	}
	if again.Images[0].Name != "Renamed <edition>" || len(again.Images[0].Windows.Languages) != 3 || again.Images[1].Windows.Arch != 12 {
		t.Errorf("reparsed %+v", again.Images)
	}
}

// TestXMLWimlibRoundTrip parses and re-marshals the XML of wimlib-written
// files byte for byte (wimlib's order: NAME first, TOTALBYTES last).
func TestXMLWimlibRoundTrip(t *testing.T) {
	names, _ := filepath.Glob(filepath.Join(containerFixtureDir, "*"))
	for _, name := range names {
		w, err := Open(name, &OpenOptions{NoSplitSearch: true})
		if err != nil {
			t.Fatal(err)
		}
		out, err := w.XML().Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out, w.RawXML()) {
			t.Errorf("%s: round trip differs:\n got %s\nwant %s", name, decodeUTF16(out), decodeUTF16(w.RawXML()))
		}
		w.Close()
	}
}

func TestXMLNew(t *testing.T) {
	created := time.Date(2024, 5, 6, 7, 8, 9, 123456700, time.UTC)
	info := &Info{TotalBytes: 1234, Images: []ImageInfo{{
		Name: "Install", Description: "Windows", DirCount: 3, FileCount: 4, TotalBytes: 5,
		Created: created, Modified: created, Flags: "Professional", DisplayName: "Windows Pro",
		Windows: &WindowsInfo{Arch: 9, ProductName: "Windows", EditionID: "Professional", InstallationType: "Client",
			ProductType: "WinNT", ProductSuite: "Terminal Server", Languages: []string{"en-US"}, DefaultLanguage: "en-US",
			Version: WindowsVersion{10, 0, 19041, 1, 0}, SystemRoot: "WINDOWS"},
	}}}
	out, err := info.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if out[0] != 0xFF || out[1] != 0xFE {
		t.Fatalf("no byte order mark: % x", out[:4])
	}
	want := `<WIM><TOTALBYTES>1234</TOTALBYTES><IMAGE INDEX="1"><DIRCOUNT>3</DIRCOUNT><FILECOUNT>4</FILECOUNT><TOTALBYTES>5</TOTALBYTES><HARDLINKBYTES>0</HARDLINKBYTES>` +
		`<CREATIONTIME><HIGHPART>0x01DA9F84</HIGHPART><LOWPART>0x267F6907</LOWPART></CREATIONTIME><LASTMODIFICATIONTIME><HIGHPART>0x01DA9F84</HIGHPART><LOWPART>0x267F6907</LOWPART></LASTMODIFICATIONTIME>` +
		`<WINDOWS><ARCH>9</ARCH><PRODUCTNAME>Windows</PRODUCTNAME><EDITIONID>Professional</EDITIONID><INSTALLATIONTYPE>Client</INSTALLATIONTYPE><PRODUCTTYPE>WinNT</PRODUCTTYPE><PRODUCTSUITE>Terminal Server</PRODUCTSUITE>` +
		`<LANGUAGES><LANGUAGE>en-US</LANGUAGE><DEFAULT>en-US</DEFAULT></LANGUAGES><VERSION><MAJOR>10</MAJOR><MINOR>0</MINOR><BUILD>19041</BUILD><SPBUILD>1</SPBUILD><SPLEVEL>0</SPLEVEL></VERSION><SYSTEMROOT>WINDOWS</SYSTEMROOT></WINDOWS>` +
		`<NAME>Install</NAME><DESCRIPTION>Windows</DESCRIPTION><FLAGS>Professional</FLAGS><DISPLAYNAME>Windows Pro</DISPLAYNAME></IMAGE></WIM>`
	if got := decodeUTF16(out); got != want {
		t.Fatalf("new XML:\n got %s\nwant %s", got, want)
	}
	back, err := parseXMLData(out)
	if err != nil {
		t.Fatal(err)
	}
	if !back.Images[0].Created.Equal(created) || back.Images[0].Index != 1 {
		t.Errorf("time round trip: %v", back.Images[0].Created)
	}
	// Removing an image renumbers the rest.
	info.Images = append(info.Images, ImageInfo{Name: "B"}, ImageInfo{Name: "C"})
	info.Images = append(info.Images[:0], info.Images[1:]...)
	out, _ = info.Marshal()
	back, err = parseXMLData(out)
	if err != nil || len(back.Images) != 2 || back.Images[1].Name != "C" || back.Images[1].Index != 2 {
		t.Fatalf("renumbered: %v %+v", err, back)
	}
	// An empty Info is still a valid document.
	out, _ = (&Info{}).Marshal()
	if got := decodeUTF16(out); got != "<WIM><TOTALBYTES>0</TOTALBYTES></WIM>" {
		t.Errorf("empty info: %s", got)
	}
	// Text XML cannot hold is refused.
	bad := &Info{Images: []ImageInfo{{Name: "bell\x07"}}}
	if _, err := bad.Marshal(); err == nil {
		t.Error("Marshal accepted a control character")
	}
}

func TestParseXMLErrors(t *testing.T) {
	cases := []struct {
		name, doc, want string
	}{
		{"empty", "", "no root"},
		{"not xml", "hello", "outside the root"},
		{"unclosed", "<WIM><IMAGE INDEX=\"1\">", "not closed"},
		{"mismatched", "<WIM><A></B></WIM>", "end"},
		{"wrong root", "<IMAGE/>", "root element"},
		{"two roots", "<WIM></WIM><WIM></WIM>", "more than one root"},
		{"no index", "<WIM><IMAGE></IMAGE></WIM>", "without INDEX"},
		{"bad index", `<WIM><IMAGE INDEX="x"></IMAGE></WIM>`, "invalid INDEX"},
		{"index gap", `<WIM><IMAGE INDEX="2"></IMAGE></WIM>`, "out of range"},
		{"duplicate index", `<WIM><IMAGE INDEX="1"></IMAGE><IMAGE INDEX="1"></IMAGE></WIM>`, "two IMAGE"},
		{"deep", "<WIM>" + strings.Repeat("<A>", 60) + strings.Repeat("</A>", 60) + "</WIM>", "nested"},
		{"bad entity", "<WIM>&bogus;</WIM>", "entity"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := parseXMLData(encodeUTF16(c.doc))
			if err == nil || !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one mentioning %q", err, c.want)
			}
		})
	}
}

func TestParseXMLTolerance(t *testing.T) {
	// Declarations, comments, pretty-printing, images out of order, odd
	// or malformed values: all read, and kept when not understood.
	doc := "<?xml version=\"1.0\" encoding=\"UTF-16\"?>\n<!-- c -->\n<WIM>\n  <IMAGE INDEX=\"2\"><NAME>two</NAME></IMAGE>\n" +
		"  <IMAGE INDEX=\"1\" EXTRA=\"x\"><DIRCOUNT>lots</DIRCOUNT><NAME>one</NAME><NAME>again</NAME><CREATIONTIME><HIGHPART>zz</HIGHPART></CREATIONTIME></IMAGE>\n" +
		"  <ESD><ENCRYPTED>1</ENCRYPTED></ESD>\n</WIM>\n"
	info, err := parseXMLData(encodeUTF16(doc))
	if err != nil {
		t.Fatal(err)
	}
	if info.Images[0].Name != "one" || info.Images[1].Name != "two" || info.Images[0].DirCount != 0 || !info.Images[0].Created.IsZero() {
		t.Errorf("%+v", info.Images)
	}
	if !info.Encrypted() {
		t.Error("ESD/ENCRYPTED not seen")
	}
	out, err := info.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	s := decodeUTF16(out)
	for _, sub := range []string{`<IMAGE INDEX="1" EXTRA="x">`, "<DIRCOUNT>lots</DIRCOUNT>", "<NAME>again</NAME>", "<HIGHPART>zz</HIGHPART>", "<ESD><ENCRYPTED>1</ENCRYPTED></ESD>"} {
		if !strings.Contains(s, sub) {
			t.Errorf("lost %s:\n%s", sub, s)
		}
	}
	if img1, _, _ := strings.Cut(s, `<IMAGE INDEX="2">`); strings.Count(img1, "<DIRCOUNT>") != 1 {
		t.Errorf("a malformed DIRCOUNT was duplicated:\n%s", s)
	}
	// Odd byte counts and a missing BOM are accepted.
	raw := encodeUTF16("<WIM></WIM>")[2:]
	if _, err := parseXMLData(append(raw, 0)); err != nil {
		t.Errorf("no BOM, odd length: %v", err)
	}
}

func TestFiletime(t *testing.T) {
	for _, ft := range []uint64{0, 1, 116444736000000000, 0x01D6C4C22C8D5EAB, 1<<63 - 1} {
		if got := TimeToFiletime(FiletimeToTime(ft)); got != ft {
			t.Errorf("FILETIME 0x%X round trips to 0x%X", ft, got)
		}
	}
	if !FiletimeToTime(116444736000000000).Equal(time.Unix(0, 0)) {
		t.Error("FILETIME epoch offset wrong")
	}
	if TimeToFiletime(time.Date(1500, 1, 1, 0, 0, 0, 0, time.UTC)) != 0 {
		t.Error("times before 1601 should give 0")
	}
}

// TestXMLAcceptedByWimlib writes new XML into a wimlib file and checks
// that wimlib-imagex reads the values back.
func TestXMLAcceptedByWimlib(t *testing.T) {
	oracle.Wimlib(t)
	data := withoutIntegrity(containerFixture(t, "lzx.wim"))
	h, _ := ParseHeader(data)
	info, err := parseXMLData(data[h.XML.Offset:h.XML.End()])
	if err != nil {
		t.Fatal(err)
	}
	img := &info.Images[0]
	img.Name, img.Description, img.DisplayName, img.Flags = "Renamed & <more>", "Described", "Shown Name", "Professional"
	img.Windows = &WindowsInfo{Arch: 9, ProductName: "Microsoft® Windows® Operating System", EditionID: "Professional",
		InstallationType: "Client", ProductType: "WinNT", Languages: []string{"en-US", "de-DE"}, DefaultLanguage: "en-US",
		Version: WindowsVersion{10, 0, 19041, 572, 0}, SystemRoot: "WINDOWS"}
	x, err := info.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	out := append(data[:h.XML.Offset:h.XML.Offset], x...)
	h.XML.StoredSize, h.XML.Size = int64(len(x)), int64(len(x))
	setRawHeader(out, h)
	name := filepath.Join(t.TempDir(), "renamed.wim")
	if err := os.WriteFile(name, out, 0o644); err != nil {
		t.Fatal(err)
	}
	got := oracle.Run(t, "info", name, "1")
	for _, sub := range []string{"Name:                   Renamed & <more>", "Description:            Described", "Display Name:           Shown Name",
		"Architecture:           x86_64", "Edition ID:             Professional", "Languages:              en-US de-DE",
		"Default Language:       en-US", "Build:                  19041", "Service Pack Build:     572", "Flags:                  Professional"} {
		if !strings.Contains(got, sub) {
			t.Errorf("wimlib-imagex info lacks %q:\n%s", sub, got)
		}
	}
	oracle.Run(t, "verify", name)
}
