//go:build cgo && (linux || darwin || freebsd)

package hive

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/wimconsole/wimconsole/engine/servicing/hive/hivetest"
	"github.com/wimconsole/wimconsole/internal/oracle"
)

func newHive(t *testing.T, opt Options) Hive {
	t.Helper()
	h, err := OpenBytes("TEST", hivetest.Minimal("ROOT"), opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

func hivexget(t *testing.T, args ...string) string {
	t.Helper()
	bin := oracle.Need(t, "hivexget")
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("hivexget %q: %v\n%s", args, err, out)
	}
	return strings.TrimRight(string(out), "\n")
}

func TestMinimalHiveOpensInHivex(t *testing.T) {
	p := filepath.Join(t.TempDir(), "min")
	os.WriteFile(p, hivetest.Minimal("ROOT"), 0o644)
	if got := hivexget(t, p, `\`); got != "" {
		t.Errorf("root of empty hive lists %q", got)
	}
}

var testValues = []Value{
	String("Str", "héllo wörld"),
	ExpandString("Exp", `%SystemRoot%\x`),
	Dword("Num", 0xDEADBEEF),
	Qword("Big", 0x0123456789ABCDEF),
	MultiString("Multi", []string{"one", "two", "три"}),
	Bytes("Bin", []byte{0, 1, 2, 0xFF}),
	String("", "default"),
	{Name: "Nothing", Type: None, Data: []byte{7}},
	{Name: "Odd", Type: Type(0x1234), Data: []byte{1, 2, 3}},
}

var testDecoded = []any{
	"héllo wörld", `%SystemRoot%\x`, uint32(0xDEADBEEF), uint64(0x0123456789ABCDEF),
	[]string{"one", "two", "три"}, []byte{0, 1, 2, 0xFF}, "default", []byte{7}, []byte{1, 2, 3},
}

func TestRoundTrip(t *testing.T) {
	h := newHive(t, Options{})
	root := h.Root()
	sw, err := h.AddKey(root, "Software")
	if err != nil {
		t.Fatal(err)
	}
	k, err := h.AddKey(sw, "Contoso")
	if err != nil {
		t.Fatal(err)
	}
	if k.Path != `Software\Contoso` || k.Name() != "Contoso" {
		t.Errorf("key = %+v", k)
	}
	for _, v := range testValues {
		if err := h.SetValue(k, v); err != nil {
			t.Fatal(err)
		}
	}
	// Replace one value, case-insensitively.
	if err := h.SetValue(k, Dword("NUM", 42)); err != nil {
		t.Fatal(err)
	}
	gone, _ := h.AddKey(sw, "Gone")
	h.AddKey(gone, "Child")
	if err := h.DeleteKey(gone); err != nil {
		t.Fatal(err)
	}
	h.SetValue(k, String("Temp", "x"))
	if err := h.DeleteValue(k, "tEMP"); err != nil {
		t.Fatal(err)
	}
	again, err := h.AddKey(root, "SOFTWARE")
	if err != nil || again.ID != sw.ID || again.Path != "Software" {
		t.Errorf("AddKey of existing key = %+v, %v", again, err)
	}

	file := filepath.Join(t.TempDir(), "SOFTWARE")
	if err := h.Commit(file); err != nil {
		t.Fatal(err)
	}

	// Check with hivex's own tool.
	checks := map[string]string{"Str": "héllo wörld", "Exp": `%SystemRoot%\x`, "Num": "42", "Big": "81985529216486895"}
	for name, want := range checks {
		if got := hivexget(t, file, `\Software\Contoso`, name); got != want {
			t.Errorf("hivexget %s = %q, want %q", name, got, want)
		}
	}
	listing := hivexget(t, file, `\Software\Contoso`)
	for _, want := range []string{`"Multi"=hex(7):6f,00,6e,00,65,00,00,00,74,00,77,00,6f,00,00,00,42,04,40,04,38,04,00,00,00,00`,
		`"Bin"=hex(3):00,01,02,ff`, `"@"="default"`, `"Nothing"=hex(0):07`, `"Odd"=hex(4660):01,02,03`,
		`"Num"=dword:0000002a`, `"Exp"=str(2):"%SystemRoot%\\x"`} {
		if !strings.Contains(listing, want) {
			t.Errorf("hivexget listing lacks %s:\n%s", want, listing)
		}
	}
	if strings.Contains(listing, "Temp") {
		t.Errorf("deleted value still present:\n%s", listing)
	}
	if got := hivexget(t, file, `\Software`); strings.Contains(got, "Gone") {
		t.Errorf("deleted key still present: %s", got)
	}

	// Read back with our own code.
	h2, err := Open(file, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer h2.Close()
	k2, err := h2.Lookup(`software\CONTOSO`)
	if err != nil {
		t.Fatal(err)
	}
	if k2.Path != `Software\Contoso` {
		t.Errorf("Lookup path = %q", k2.Path)
	}
	vs, err := h2.Values(k2)
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != len(testValues) {
		t.Fatalf("%d values, want %d: %+v", len(vs), len(testValues), vs)
	}
	for i, v := range testValues {
		got, err := h2.Value(k2, v.Name)
		if err != nil {
			t.Fatal(err)
		}
		want := testDecoded[i]
		if v.Name == "Num" {
			want = uint32(42)
		}
		d, err := got.Decoded()
		if err != nil || !reflect.DeepEqual(d, want) || got.Type != v.Type {
			t.Errorf("value %q = %v %#v (%v), want %v %#v", v.Name, got.Type, d, err, v.Type, want)
		}
	}
	kids, err := h2.Children(h2.Root())
	if err != nil || len(kids) != 1 || kids[0].Path != "Software" {
		t.Errorf("children of root = %+v, %v", kids, err)
	}
}

func TestErrors(t *testing.T) {
	h := newHive(t, Options{})
	_, err := h.Lookup(`Software\Missing`)
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), `TEST: lookup \Software: not found`) {
		t.Errorf("Lookup missing: %v", err)
	}
	k, _ := h.AddKey(h.Root(), "K")
	if err := h.DeleteValue(k, "nope"); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), `TEST: delete value "nope" of \K`) {
		t.Errorf("DeleteValue missing: %v", err)
	}
	if _, err := h.Value(k, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Value missing: %v", err)
	}
	if err := h.DeleteKey(h.Root()); err == nil {
		t.Error("deleting the root succeeded")
	}
	if _, err := h.AddKey(k, `a\b`); err == nil {
		t.Error("key name with backslash accepted")
	}
	if err := h.Commit(filepath.Join(t.TempDir(), "no", "such", "dir")); err == nil {
		t.Error("commit into missing folder succeeded")
	}
	h.Close()
	if _, err := h.Lookup("K"); err == nil {
		t.Error("Lookup after Close succeeded")
	}
}

func TestReadOnly(t *testing.T) {
	h := newHive(t, Options{ReadOnly: true})
	root := h.Root()
	checks := []error{
		func() error { _, err := h.AddKey(root, "X"); return err }(),
		h.SetValue(root, Dword("x", 1)),
		h.DeleteValue(root, "x"),
		h.DeleteKey(root),
		h.Commit(filepath.Join(t.TempDir(), "out")),
	}
	for i, err := range checks {
		if !errors.Is(err, ErrReadOnly) {
			t.Errorf("write %d: %v, want ErrReadOnly", i, err)
		}
	}
	if _, err := h.Children(root); err != nil {
		t.Errorf("reading a read-only hive: %v", err)
	}
}

func TestCorrupt(t *testing.T) {
	good := hivetest.Minimal("ROOT")
	mod := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	tests := map[string][]byte{
		"empty":       {},
		"text":        []byte("Windows Registry Editor Version 5.00\r\n"),
		"header only": good[:0x1000],
		"truncated":   good[:0x1800],
		"bad magic":   mod(func(b []byte) []byte { b[0] = 'x'; return b }),
		"bad sum":     mod(func(b []byte) []byte { b[0x1FC] ^= 1; return b }),
		"bad version": mod(func(b []byte) []byte { b[0x14] = 2; return b }),
		"bad hbin":    mod(func(b []byte) []byte { b[0x1000] = 'x'; return b }),
		"bad root":    mod(func(b []byte) []byte { b[0x1024] = 'x'; return b }),
		"bad cell":    mod(func(b []byte) []byte { b[0x1020] = 3; return b }),
	}
	for name, data := range tests {
		t.Run(name, func(t *testing.T) {
			h, err := OpenBytes("CORRUPT", data, Options{})
			if err == nil {
				// hivex may accept some damage; walking must still not crash.
				walk(h, h.Root(), 0)
				h.Close()
				t.Skipf("hivex accepted this damage")
			}
			if !strings.HasPrefix(err.Error(), "CORRUPT: open: ") {
				t.Errorf("error %q does not name the hive", err)
			}
		})
	}
	if _, err := Open(filepath.Join(t.TempDir(), "missing"), Options{}); err == nil || !strings.Contains(err.Error(), "missing: open") {
		t.Errorf("missing file: %v", err)
	}
}

// walk reads every key and value below k, to a bounded depth.
func walk(h Hive, k Key, depth int) int {
	if depth > 64 {
		return 0
	}
	n := 1
	if vs, err := h.Values(k); err == nil {
		for _, v := range vs {
			v.Decoded()
		}
	}
	kids, _ := h.Children(k)
	for _, c := range kids {
		n += walk(h, c, depth+1)
	}
	return n
}

func TestDecoded(t *testing.T) {
	tests := []struct {
		v    Value
		want any
		err  bool
	}{
		{Value{Type: DWORD, Data: []byte{1, 2}}, nil, true},
		{Value{Type: QWORD, Data: []byte{1}}, nil, true},
		{Value{Type: DWORDBigEndian, Data: []byte{0, 0, 1, 2}}, uint32(0x102), false},
		{Value{Type: SZ, Data: []byte{'a', 0, 'b'}}, "a", false},          // odd byte ignored
		{Value{Type: SZ, Data: []byte{'a', 0, 0, 0, 'b', 0}}, "a", false}, // stops at NUL
		{Value{Type: MultiSZ, Data: []byte{'a', 0, 0, 0, 0, 0, 'b', 0}}, []string{"a"}, false},
		{Value{Type: MultiSZ, Data: []byte{'a', 0}}, []string{"a"}, false}, // unterminated
		{Value{Type: MultiSZ}, []string(nil), false},
		{Value{Type: Link, Data: []byte{'x', 0}}, "x", false},
	}
	for i, tc := range tests {
		got, err := tc.v.Decoded()
		if (err != nil) != tc.err || !tc.err && !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%d: %v: got %#v, %v; want %#v", i, tc.v.Type, got, err, tc.want)
		}
	}
	if MultiString("m", []string{"", "a"}).Data[0] != 'a' {
		t.Error("empty string not dropped from MultiString")
	}
	if Type(11).String() != "REG_QWORD" || Type(99).String() != "REG_TYPE_0x63" {
		t.Error("Type.String")
	}
}

// FuzzOpen damages the minimal hive (and one with content) and checks that
// opening and walking it never crashes.
func FuzzOpen(f *testing.F) {
	f.Add(hivetest.Minimal("ROOT"), uint16(0), byte(0), false)
	f.Add(hivetest.Minimal("ROOT"), uint16(0x1024), byte(0xFF), true)
	f.Add(hivetest.Minimal("ROOT"), uint16(0x1068), byte(0x80), true)
	real := seedHive(f)
	f.Add(real, uint16(0), byte(0), false)
	for _, at := range []uint16{0x24, 0x1020, 0x1100, 0x2000, 0x3000} {
		f.Add(real, at, byte(0xFF), true)
	}
	f.Fuzz(func(t *testing.T, data []byte, at uint16, x byte, fix bool) {
		if len(data) > 1<<20 {
			return
		}
		if int(at) < len(data) {
			data[at] ^= x
		}
		if fix {
			hivetest.FixChecksum(data) // let damage past the header reach hivex
		}
		h, err := OpenBytes("FUZZ", data, Options{})
		if err != nil {
			return
		}
		defer h.Close()
		walk(h, h.Root(), 0)
		if k, err := h.AddKey(h.Root(), "Fuzz"); err == nil {
			h.SetValue(k, String("s", "v"))
			h.Commit(filepath.Join(t.TempDir(), "out"))
		}
	})
}

// seedHive is a hive written by hivex, with what real SYSTEM and SOFTWARE
// hives have: nested keys, a key with many subkeys (an index of several
// leaves), and values of every type, empty, small and large.
func seedHive(f *testing.F) []byte {
	h, err := OpenBytes("SEED", hivetest.Minimal("ROOT"), Options{})
	if err != nil {
		f.Fatal(err)
	}
	defer h.Close()
	must := func(k Key, err error) Key {
		if err != nil {
			f.Fatal(err)
		}
		return k
	}
	cs := must(h.AddKey(h.Root(), "ControlSet001"))
	svcs := must(h.AddKey(must(h.AddKey(cs, "Control")), "Services"))
	for i := range 300 {
		k := must(h.AddKey(svcs, fmt.Sprintf("svc%03d", i)))
		if i%50 == 0 {
			for _, v := range []Value{
				String("DisplayName", fmt.Sprintf("Service %d", i)),
				ExpandString("ImagePath", `%SystemRoot%\System32\drivers\x.sys`),
				Dword("Start", 3), Qword("Big", 1<<40),
				MultiString("DependOnService", []string{"a", "b"}),
				Bytes("Blob", bytes.Repeat([]byte{0xA5}, 3000)),
				String("", "default value"), Bytes("Empty", nil),
			} {
				if err := h.SetValue(k, v); err != nil {
					f.Fatal(err)
				}
			}
		}
	}
	out := filepath.Join(f.TempDir(), "SEED")
	if err := h.Commit(out); err != nil {
		f.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		f.Fatal(err)
	}
	return b
}

// TestOpenRefusesOversizedBins opens hives whose header's hive bins size
// (offset 0x28) does not fit the file: the fuzzer's 8 KiB hive claiming
// about 1 GB made AddKey and Commit take 11 s each. Each is refused at once,
// naming the field.
func TestOpenRefusesOversizedBins(t *testing.T) {
	for _, bins := range []uint32{0x3E001000, 0x2000, 0, 0x1800} {
		t.Run(fmt.Sprintf("0x%x", bins), func(t *testing.T) {
			data := hivetest.Minimal("ROOT")
			binary.LittleEndian.PutUint32(data[0x28:], bins)
			hivetest.FixChecksum(data)
			h, err := OpenBytes("BAD", data, Options{})
			if err == nil {
				h.Close()
				t.Fatal("opened")
			}
			if !strings.Contains(err.Error(), "BAD") || !strings.Contains(err.Error(), "offset 0x28: hive bins size") {
				t.Fatalf("error %q; want the file and the field", err)
			}
		})
	}
}
