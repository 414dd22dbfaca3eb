package regfile

import (
	"encoding/binary"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/wimconsole/wimconsole/engine/servicing/hive"
)

// memHive is an in-memory hive.Hive for tests.
type memHive struct {
	nodes []*memNode
}

type memNode struct {
	name   string
	parent int
	kids   []int
	values []hive.Value
	dead   bool
}

func newMem() *memHive { return &memHive{nodes: []*memNode{{name: "ROOT", parent: -1}}} }

func (m *memHive) Name() string   { return "MEM" }
func (m *memHive) Root() hive.Key { return hive.Key{ID: 0} }
func (m *memHive) path(id int) string {
	if id == 0 {
		return ""
	}
	return hive.JoinPath(m.path(m.nodes[id].parent), m.nodes[id].name)
}
func (m *memHive) child(id int, name string) int {
	for _, c := range m.nodes[id].kids {
		if strings.EqualFold(m.nodes[c].name, name) {
			return c
		}
	}
	return -1
}
func (m *memHive) Lookup(p string) (hive.Key, error) {
	id := 0
	for _, e := range strings.Split(p, `\`) {
		if e == "" {
			continue
		}
		if id = m.child(id, e); id < 0 {
			return hive.Key{}, fmt.Errorf("lookup %s: %w", p, hive.ErrNotFound)
		}
	}
	return hive.Key{ID: uint64(id), Path: m.path(id)}, nil
}
func (m *memHive) Children(k hive.Key) ([]hive.Key, error) {
	var out []hive.Key
	for _, c := range m.nodes[k.ID].kids {
		out = append(out, hive.Key{ID: uint64(c), Path: m.path(c)})
	}
	return out, nil
}
func (m *memHive) Values(k hive.Key) ([]hive.Value, error) { return m.nodes[k.ID].values, nil }
func (m *memHive) Value(k hive.Key, name string) (hive.Value, error) {
	for _, v := range m.nodes[k.ID].values {
		if strings.EqualFold(v.Name, name) {
			return v, nil
		}
	}
	return hive.Value{}, hive.ErrNotFound
}
func (m *memHive) AddKey(p hive.Key, name string) (hive.Key, error) {
	if c := m.child(int(p.ID), name); c >= 0 {
		return hive.Key{ID: uint64(c), Path: m.path(c)}, nil
	}
	m.nodes = append(m.nodes, &memNode{name: name, parent: int(p.ID)})
	id := len(m.nodes) - 1
	m.nodes[p.ID].kids = append(m.nodes[p.ID].kids, id)
	return hive.Key{ID: uint64(id), Path: m.path(id)}, nil
}
func (m *memHive) DeleteKey(k hive.Key) error {
	if k.ID == 0 {
		return errors.New("root")
	}
	p := m.nodes[m.nodes[k.ID].parent]
	for i, c := range p.kids {
		if c == int(k.ID) {
			p.kids = append(p.kids[:i], p.kids[i+1:]...)
		}
	}
	m.nodes[k.ID].dead = true
	return nil
}
func (m *memHive) SetValue(k hive.Key, v hive.Value) error {
	n := m.nodes[k.ID]
	for i := range n.values {
		if strings.EqualFold(n.values[i].Name, v.Name) {
			n.values[i] = v
			return nil
		}
	}
	n.values = append(n.values, v)
	return nil
}
func (m *memHive) DeleteValue(k hive.Key, name string) error {
	n := m.nodes[k.ID]
	for i := range n.values {
		if strings.EqualFold(n.values[i].Name, name) {
			n.values = append(n.values[:i], n.values[i+1:]...)
			return nil
		}
	}
	return hive.ErrNotFound
}
func (m *memHive) Commit(string) error { return nil }
func (m *memHive) Close() error        { return nil }

// dump lists every key and value, sorted, as "path|name|type|decoded".
func (m *memHive) dump() string {
	var out []string
	var walk func(id int)
	walk = func(id int) {
		out = append(out, `\`+m.path(id))
		for _, v := range m.nodes[id].values {
			d, _ := v.Decoded()
			out = append(out, fmt.Sprintf(`\%s|%s|%v|%v`, m.path(id), v.Name, v.Type, d))
		}
		for _, c := range m.nodes[id].kids {
			walk(c)
		}
	}
	walk(0)
	sort.Strings(out)
	return strings.Join(out, "\n")
}

func utf16le(s string) []byte {
	var b []byte
	b = append(b, 0xFF, 0xFE)
	for _, c := range utf16.Encode([]rune(s)) {
		b = binary.LittleEndian.AppendUint16(b, c)
	}
	return b
}

const sample = `Windows Registry Editor Version 5.00

; a comment
[HKEY_LOCAL_MACHINE\SOFTWARE\Contoso\App]
@="default \"value\""
"Quoted \"name\""="C:\\Program Files\\Contoso"
"Count"=dword:0000002a
"Path"=hex(2):25,00,53,00,79,00,73,00,74,00,65,00,6d,00,52,00,6f,00,6f,00,74,\
  00,25,00,00,00
"List"=hex(7):61,00,00,00,62,00,00,00,00,00
"Big"=hex(b):ef,cd,ab,89,67,45,23,01
"Blob"=hex:de,ad,\
    be,ef
"None"=hex(0):
"Gone"=-

[-HKEY_LOCAL_MACHINE\SOFTWARE\Contoso\Old]

[HKLM\SYSTEM\Setup]
"x"=dword:1
`

func TestParse(t *testing.T) {
	for _, enc := range []string{"utf8", "utf8bom", "utf16"} {
		t.Run(enc, func(t *testing.T) {
			src := sample
			var data []byte
			switch enc {
			case "utf8":
				data = []byte(src)
			case "utf8bom":
				data = append([]byte{0xEF, 0xBB, 0xBF}, strings.ReplaceAll(src, "\n", "\r\n")...)
			case "utf16":
				data = utf16le(strings.ReplaceAll(src, "\n", "\r\n"))
			}
			f, err := Parse("s.reg", data)
			if err != nil {
				t.Fatal(err)
			}
			if f.Version != 5 {
				t.Errorf("version %d", f.Version)
			}
			var got []string
			for _, op := range f.Ops {
				d, _ := op.Value.Decoded()
				got = append(got, fmt.Sprintf("%d %v %s|%s|%v|%v", op.Line, op.Kind, op.Key, op.Value.Name, op.Value.Type, d))
			}
			const app = `HKEY_LOCAL_MACHINE\SOFTWARE\Contoso\App`
			want := []string{
				"4 create key " + app + "||REG_NONE|[]",
				"5 set value " + app + `||REG_SZ|default "value"`,
				"6 set value " + app + `|Quoted "name"|REG_SZ|C:\Program Files\Contoso`,
				"7 set value " + app + "|Count|REG_DWORD|42",
				"8 set value " + app + `|Path|REG_EXPAND_SZ|%SystemRoot%`,
				"10 set value " + app + "|List|REG_MULTI_SZ|[a b]",
				"11 set value " + app + "|Big|REG_QWORD|81985529216486895",
				"12 set value " + app + "|Blob|REG_BINARY|[222 173 190 239]",
				"14 set value " + app + "|None|REG_NONE|[]",
				"15 delete value " + app + "|Gone|REG_NONE|[]",
				`17 delete key HKEY_LOCAL_MACHINE\SOFTWARE\Contoso\Old||REG_NONE|[]`,
				`19 create key HKEY_LOCAL_MACHINE\SYSTEM\Setup||REG_NONE|[]`,
				`20 set value HKEY_LOCAL_MACHINE\SYSTEM\Setup|x|REG_DWORD|1`,
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("ops:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

func TestParseREGEDIT4(t *testing.T) {
	src := "REGEDIT4\r\n\r\n[HKEY_CURRENT_USER\\Software\\X]\r\n\"E\"=hex(2):25,41,25,00\r\n\"S\"=\"caf\xe9\"\r\n"
	f, err := Parse("old.reg", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if f.Version != 4 || len(f.Ops) != 3 {
		t.Fatalf("version %d, ops %+v", f.Version, f.Ops)
	}
	if d, _ := f.Ops[1].Value.Decoded(); d != "%A%" {
		t.Errorf("ANSI hex(2) = %q", d)
	}
	if d, _ := f.Ops[2].Value.Decoded(); d != "café" {
		t.Errorf("ANSI string = %q", d)
	}
}

func TestParseErrors(t *testing.T) {
	const h = "Windows Registry Editor Version 5.00\n"
	tests := []struct{ src, want string }{
		{"", "b.reg:1: empty file"},
		{"REGEDIT5\n", `b.reg:1: first line is "REGEDIT5"`},
		{h + `"a"="b"`, "b.reg:2: value line before the first [key]"},
		{h + "[HKLM\\X", "b.reg:2: key line \"[HKLM\\\\X\" has no closing ]"},
		{h + "[]", "b.reg:2: empty key path"},
		{h + `[HKLM\\X]`, "b.reg:2: key path \"HKLM\\\\\\\\X\" has an empty element"},
		{h + `[SOFTWARE\X]`, "does not start with a root key"},
		{h + "[HKLM\\X]\n\"a\"=dword:123456789", `b.reg:3: value "a": dword "123456789" is not 1 to 8 hex digits`},
		{h + "[HKLM\\X]\n\"a\"=dword:", `not 1 to 8 hex digits`},
		{h + "[HKLM\\X]\n\"a\"=dword:-1", `not 1 to 8 hex digits`},
		{h + "[HKLM\\X]\n\n\"a\"=hex:0g", `b.reg:4: value "a": byte 1 of hex data, "0g", is not two hex digits`},
		{h + "[HKLM\\X]\n\"a\"=hex:1,,2", `byte 2 of hex data`},
		{h + "[HKLM\\X]\n\"a\"=hex(zz):00", `bad type "zz"`},
		{h + "[HKLM\\X]\n\"a\"=hex(2:00", `hex( has no closing )`},
		{h + "[HKLM\\X]\n\"a\"=hex(b):00", `hex(b) qword has 1 bytes, want 8`},
		{h + "[HKLM\\X]\n\"a\"=hexagon", `expected : after hex`},
		{h + "[HKLM\\X]\n\"a\"=\"unterminated", `unterminated string`},
		{h + "[HKLM\\X]\n\"a\"=\"x\" junk", `unexpected " junk" after string`},
		{h + "[HKLM\\X]\n\"a\"=\"\\n\"", `unknown escape \n`},
		{h + "[HKLM\\X]\n\"a\" \"b\"", `expected = after value name "a"`},
		{h + "[HKLM\\X]\n\"\"=\"b\"", `empty value name`},
		{h + "[HKLM\\X]\n\"a\"=true", `data "true" is not a string, dword: or hex: value`},
		{h + "[HKLM\\X]\nnoquote=1", `b.reg:3: value name: expected "`},
		{h + "[-HKLM\\X]\n\"a\"=\"b\"", `b.reg:3: value line under a deleted key`},
		{"\xff\xfe[", "odd number of bytes"},
	}
	for _, tc := range tests {
		_, err := Parse("b.reg", []byte(tc.src))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q): error %v, want %q", tc.src, err, tc.want)
		}
	}
}

func TestApply(t *testing.T) {
	f, err := Parse("s.reg", []byte(sample))
	if err != nil {
		t.Fatal(err)
	}
	m := newMem()
	old, _ := m.AddKey(m.Root(), "Contoso")
	old, _ = m.AddKey(old, "Old")
	m.AddKey(old, "Deep")
	app, _ := ensure(m, `Contoso\App`)
	m.SetValue(app, hive.String("gone", "x"))

	res, err := f.Apply(m, `HKLM\software\`)
	if err != nil {
		t.Fatal(err)
	}
	if res.Applied != 11 || len(res.Skipped) != 2 || res.Skipped[0].Line != 19 {
		t.Errorf("applied %d, skipped %+v", res.Applied, res.Skipped)
	}
	want := strings.Join([]string{
		`\`,
		`\Contoso`,
		`\Contoso\App`,
		`\Contoso\App|Big|REG_QWORD|81985529216486895`,
		`\Contoso\App|Blob|REG_BINARY|[222 173 190 239]`,
		`\Contoso\App|Count|REG_DWORD|42`,
		`\Contoso\App|List|REG_MULTI_SZ|[a b]`,
		`\Contoso\App|None|REG_NONE|[]`,
		`\Contoso\App|Path|REG_EXPAND_SZ|%SystemRoot%`,
		`\Contoso\App|Quoted "name"|REG_SZ|C:\Program Files\Contoso`,
		`\Contoso\App||REG_SZ|default "value"`,
	}, "\n")
	if got := m.dump(); got != want {
		t.Errorf("hive:\n%s\nwant:\n%s", got, want)
	}

	// The same file applied to the SYSTEM hive touches only [HKLM\SYSTEM\...].
	sys := newMem()
	res, err = f.Apply(sys, `HKEY_LOCAL_MACHINE\SYSTEM`)
	if err != nil || res.Applied != 2 {
		t.Fatalf("applied %d, %v", res.Applied, err)
	}
	if got := sys.dump(); got != "\\\n\\Setup\n\\Setup|x|REG_DWORD|1" {
		t.Errorf("system hive:\n%s", got)
	}

	// Mount roots must be prefixes on key boundaries.
	other := newMem()
	if res, _ := f.Apply(other, `HKEY_LOCAL_MACHINE\SOFT`); res.Applied != 0 {
		t.Errorf("applied %d ops to a hive mounted at a partial name", res.Applied)
	}
}

func TestApplyErrors(t *testing.T) {
	f, err := Parse("d.reg", []byte("REGEDIT4\n[-HKLM\\SOFTWARE]\n"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.Apply(newMem(), `HKLM\SOFTWARE`)
	if err == nil || !strings.Contains(err.Error(), `d.reg:2: delete key [HKEY_LOCAL_MACHINE\SOFTWARE]: cannot delete the root`) {
		t.Errorf("deleting the mount root: %v", err)
	}
	if _, err := f.Apply(newMem(), `SOFTWARE`); err == nil {
		t.Error("bad mount root accepted")
	}
}

func TestDecodeUTF16(t *testing.T) {
	f, err := Parse("u.reg", utf16le("Windows Registry Editor Version 5.00\r\n[HKCU\\Ключ]\r\n\"Имя\"=\"значение\"\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if f.Ops[0].Key != `HKEY_CURRENT_USER\Ключ` || f.Ops[1].Value.Name != "Имя" {
		t.Errorf("ops %+v", f.Ops)
	}
	if d, _ := f.Ops[1].Value.Decoded(); !reflect.DeepEqual(d, "значение") {
		t.Errorf("value %v", d)
	}
}

// TestDecodeUTF16BE: a .reg file in UTF-16BE with its byte order mark
// reads as the same file in UTF-16LE does (it used to be refused).
func TestDecodeUTF16BE(t *testing.T) {
	le := utf16le("Windows Registry Editor Version 5.00\r\n[HKCU\\Ключ]\r\n\"Имя\"=\"значение\"\r\n")
	be := make([]byte, len(le))
	for i := 0; i+1 < len(le); i += 2 {
		be[i], be[i+1] = le[i+1], le[i]
	}
	want, err := Parse("u.reg", le)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Parse("u.reg", be)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("UTF-16BE file parsed to %+v, want %+v", got.Ops, want.Ops)
	}
}
