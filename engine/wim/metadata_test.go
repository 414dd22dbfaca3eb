//go:build linux

package wim

import (
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wimconsole/wimconsole/internal/oracle"
)

// ---- parsing ----

func TestParseMetadataBasics(t *testing.T) {
	sd1 := []byte{1, 0, 4, 0x80, 20, 0, 0, 0}
	created := TimeToFiletime(time.Date(2020, 1, 2, 3, 4, 5, 600, time.UTC))
	f := mFile("Zeta.txt", mh(1))
	f.short = "ZETA~1.TXT"
	f.sec = 0
	f.times = [3]uint64{created, created + 10, created + 20}
	f.group = 7
	link := &mNode{name: "link", attr: AttrReparsePoint, sec: -1, tag: ReparseTagSymlink, rpFlags: ReparseNotFixed,
		streams: []mStream{{"", mh(2)}}}
	ads := mFile("ads", mh(3))
	ads.streams = []mStream{{"one", mh(4)}, {"two", Hash{}}}
	hard := mFile("alpha", mh(1))
	hard.group = 7
	badSec := mFile("badsec", Hash{})
	badSec.sec = 5
	root := mDir("", f, link, ads, mDir("sub", hard), badSec, mDir("empty"))
	root.extra = []byte{1, 2, 3, 4, 5, 6, 7, 8}
	data, _ := encodeMeta([][]byte{sd1}, root)
	img, err := ParseMetadata(data)
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	img.Walk(func(p string, f *File) error { paths = append(paths, p); return nil })
	want := []string{"/", "/ads", "/badsec", "/empty", "/link", "/sub", "/sub/alpha", "/Zeta.txt"}
	if !slices.Equal(paths, want) {
		t.Fatalf("paths %q, want %q", paths, want)
	}
	if len(img.Security) != 1 || !bytes.Equal(img.Security[0], sd1) {
		t.Errorf("security %x", img.Security)
	}
	if !bytes.Equal(img.Root.Extra, root.extra) {
		t.Errorf("root extra %x", img.Root.Extra)
	}
	z := img.Lookup("/Zeta.txt")
	if z == nil || z.ShortName != "ZETA~1.TXT" || z.SecurityID != 0 || z.LinkGroup != 7 || z.Hash != mh(1) {
		t.Fatalf("Zeta.txt: %+v", z)
	}
	if !z.Created.Equal(FiletimeToTime(created)) || !z.Accessed.Equal(FiletimeToTime(created+10)) || !z.Modified.Equal(FiletimeToTime(created+20)) {
		t.Errorf("times %v %v %v", z.Created, z.Accessed, z.Modified)
	}
	if a := img.Lookup("/sub/alpha"); a.HardLinkKey() != z.HardLinkKey() || a.HardLinkKey() == (HardLinkKey{}) {
		t.Errorf("hard link keys %v %v", a.HardLinkKey(), z.HardLinkKey())
	}
	l := img.Lookup("/link")
	if !l.IsSymlink() || l.IsDir() || l.ReparseFlags != ReparseNotFixed || l.LinkGroup != 0 {
		t.Errorf("link: %+v", l)
	}
	if rp, ok := l.Reparse(); !ok || rp.Hash != mh(2) {
		t.Errorf("link reparse %v %v", rp, ok)
	}
	a := img.Lookup("/ads")
	if ns := a.NamedStreams(); len(ns) != 2 || ns[0].Name != "one" || ns[0].Hash != mh(4) || ns[1].Name != "two" {
		t.Errorf("named streams %+v", ns)
	}
	if b := img.Lookup("/badsec"); b.SecurityID != -1 {
		t.Errorf("out-of-range security id kept: %d", b.SecurityID)
	}
	if e := img.Lookup("/empty"); !e.IsDir() || len(e.Children) != 0 {
		t.Errorf("empty: %+v", e)
	}
	if img.Lookup("/sub/alpha").Parent != img.Lookup("/sub") {
		t.Error("parent links")
	}
}

// TestStreamRoles checks how the main hash and unnamed extra entries are
// assigned, as in wimlib: a zero main hash yields to extra entries, the
// first unnamed stream of a reparse point is its reparse data.
func TestStreamRoles(t *testing.T) {
	tests := []struct {
		name     string
		n        *mNode
		data     Hash
		reparse  *Hash
		nStreams int
	}{
		{"plain", mFile("f", mh(1)), mh(1), nil, 0},
		{"extra unnamed", &mNode{name: "f", attr: AttrNormal, sec: -1, streams: []mStream{{"", mh(5)}, {"x", mh(6)}}}, mh(5), nil, 1},
		{"reparse in main", &mNode{name: "f", attr: AttrReparsePoint, sec: -1, tag: ReparseTagSymlink, hash: mh(2)}, Hash{}, &[]Hash{mh(2)}[0], 1},
		{"reparse and data", &mNode{name: "f", attr: AttrReparsePoint, sec: -1, tag: 0x80000017,
			streams: []mStream{{"", mh(7)}, {"", mh(8)}}}, mh(8), &[]Hash{mh(7)}[0], 1},
		{"empty reparse", &mNode{name: "f", attr: AttrReparsePoint, sec: -1, tag: ReparseTagSymlink}, Hash{}, &Hash{}, 1},
		{"encrypted", &mNode{name: "f", attr: AttrEncrypted, sec: -1, streams: []mStream{{"", mh(9)}}}, mh(9), nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, _ := encodeMeta(nil, mDir("", tt.n))
			img, err := ParseMetadata(data)
			if err != nil {
				t.Fatal(err)
			}
			f := img.Root.Children[0]
			if f.Hash != tt.data {
				t.Errorf("data hash %v, want %v", f.Hash, tt.data)
			}
			rp, ok := f.Reparse()
			if (tt.reparse != nil) != ok || ok && rp.Hash != *tt.reparse {
				t.Errorf("reparse %v %v, want %v", rp, ok, tt.reparse)
			}
			if len(f.Streams) != tt.nStreams {
				t.Errorf("%d streams, want %d", len(f.Streams), tt.nStreams)
			}
		})
	}
}

// TestNamesAreWTF8 checks that UTF-16 names become UTF-8, and unpaired
// surrogates their 3-byte form, as wimlib converts them on POSIX.
func TestNamesAreWTF8(t *testing.T) {
	n := mFile("", Hash{})
	n.rawName = []uint16{'a', 0xD800, 'b', 0xD83D, 0xDE00, 0xDC01}
	data, _ := encodeMeta(nil, mDir("", n))
	img, err := ParseMetadata(data)
	if err != nil {
		t.Fatal(err)
	}
	got := img.Root.Children[0].Name
	want := "a\xed\xa0\x80b\U0001F600\xed\xb0\x81"
	if got != want {
		t.Fatalf("name %q, want %q", got, want)
	}
	if u := stringToUnits(got); !slices.Equal(u, n.rawName) {
		t.Fatalf("back to UTF-16: %x", u)
	}
}

func TestCheckName(t *testing.T) {
	// '\\' and ':' are ordinary characters in POSIX-captured images.
	good := []string{"a", "a.txt", "...", ". ", "日本", "😀", strings.Repeat("x", 255), "a b", "\xed\xa0\x80", `a\b`, "C:x", "File::Spec.3pm"}
	bad := []string{"", ".", "..", "a/b", "a\x00", "/", strings.Repeat("x", 256), strings.Repeat("😀", 128)}
	for _, n := range good {
		if err := CheckName(n); err != nil {
			t.Errorf("CheckName(%q): %v", n, err)
		}
	}
	for _, n := range bad {
		if err := CheckName(n); err == nil {
			t.Errorf("CheckName(%q) accepted", n)
		}
	}
}

func TestEmptyTreeIsEmptyImage(t *testing.T) {
	data := make([]byte, 16) // security data of 8 bytes, then an end marker
	binary.LittleEndian.PutUint32(data, 8)
	img, err := ParseMetadata(data)
	if err != nil {
		t.Fatal(err)
	}
	if !img.Root.IsDir() || len(img.Root.Children) != 0 {
		t.Fatalf("root %+v", img.Root)
	}
}

// ---- collation ----

// TestUpcaseTableMatchesNTFS compares the collation table with the $UpCase
// file of a volume made by mkntfs.
func TestUpcaseTableMatchesNTFS(t *testing.T) {
	oracle.Need(t, "mkntfs")
	ntfscat := oracle.Need(t, "ntfscat")
	vol := filepath.Join(t.TempDir(), "vol.img")
	if err := os.WriteFile(vol, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(vol, 8<<20); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mkntfs", "-F", "-f", "-Q", vol).CombinedOutput(); err != nil {
		t.Fatalf("mkntfs: %v\n%s", err, out)
	}
	up, err := exec.Command(ntfscat, vol, "$UpCase").Output()
	if err != nil || len(up) != 131072 {
		t.Fatalf("ntfscat $UpCase: %v (%d bytes)", err, len(up))
	}
	tab := upcaseTable()
	bad := 0
	for c := range 65536 {
		if want := binary.LittleEndian.Uint16(up[2*c:]); tab[c] != want {
			if bad++; bad < 10 {
				t.Errorf("upcase U+%04X = U+%04X, $UpCase says U+%04X", c, tab[c], want)
			}
		}
	}
}

// TestCollationMatchesWimlib lists names that sort differently in code
// point order, plain case folding and NTFS collation, and compares the
// order with wimlib-imagex dir.
func TestCollationMatchesWimlib(t *testing.T) {
	oracle.Wimlib(t)
	src := filepath.Join(t.TempDir(), "names")
	if err := os.Mkdir(src, 0o755); err != nil {
		t.Fatal(err)
	}
	names := []string{"a", "A", "b", "B", "_", "[", "`", "{", "~", "Z", "z", "aa", "aA", "Aa",
		"é", "É", "e", "f", "ß", "ss", "ı", "I", "i", "İ", "ſ", "s", "S", "σ", "ς", "Σ", "µ", "μ", "Μ",
		"ǅ", "ǆ", "Ǆ", "я", "Я", "ё", "Ё", "Ａ", "ａ", "😀", "😀a", "\uFF5E", "\uFFFD", "日本", "本日",
		"ȿ", "Ȿ", "ɐ", "Ɐ", "ⓐ", "Ⓐ", "ⅰ", "Ⅰ", "x y", "x.y", "x-y", "1", "10", "9"}
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(src, n), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	w := filepath.Join(t.TempDir(), "names.wim")
	imgCapture(t, src, w, "--compress=none")
	img, err := imgOpen(t, w).Image(1)
	if err != nil {
		t.Fatal(err)
	}
	imgCheckDir(t, w, img, nil)
}

// TestPlainNameUTF16: the check a light scan makes on a name as stored
// answers as plainName on the name decoded, for every name of up to three
// code units drawn from those that matter ('.', '/', NUL, a letter, code
// units whose high or low byte is one of those, surrogates), and refuses
// names of an odd number of bytes (left to the decoding path).
func TestPlainNameUTF16(t *testing.T) {
	units := []uint16{'.', '/', 0, 'a', 0x2E00, 0x2F00, 0x012E, 0x012F, 0x0100, 0xD800, 0xDC00, 0xFF0F}
	var check func(name []byte, depth int)
	check = func(name []byte, depth int) {
		if got, want := plainNameUTF16(name), plainName(appendWTF8(nil, name)); got != want {
			t.Errorf("name % x: plainNameUTF16 %v, plainName of the decoded name %v", name, got, want)
		}
		if odd := append(slices.Clone(name), 'a'); plainNameUTF16(odd) {
			t.Errorf("name % x of an odd length passes", odd)
		}
		if depth == 3 {
			return
		}
		for _, u := range units {
			check(append(slices.Clone(name), byte(u), byte(u>>8)), depth+1)
		}
	}
	check(nil, 0)
}
