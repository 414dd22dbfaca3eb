package unattend

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/unattend")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", "unattend", name)
	if *update {
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run with -update to create)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from golden file:\n--- got ---\n%s\n--- want ---\n%s", name, got, want)
	}
}

func read(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "unattend", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// isInsertion reports whether out is in with one contiguous run of bytes
// inserted, i.e. nothing of in was changed or lost.
func isInsertion(in, out []byte) bool {
	i := 0
	for i < len(in) && i < len(out) && in[i] == out[i] {
		i++
	}
	j := 0
	for j < len(in)-i && j < len(out)-i && in[len(in)-1-j] == out[len(out)-1-j] {
		j++
	}
	return i+j == len(in)
}

func TestNew(t *testing.T) {
	doc, err := New("amd64")
	if err != nil {
		t.Fatal(err)
	}
	if err := Validate("new.xml", doc); err != nil {
		t.Fatalf("New document does not validate: %v", err)
	}
	golden(t, "new_amd64.golden.xml", doc)
	if _, err := New("sparc"); err == nil {
		t.Error("New(sparc) succeeded")
	}
}

func TestAddDriverPath(t *testing.T) {
	newDoc, err := New("arm64")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		in     []byte
		arch   string
		path   string
		cred   *Credentials
		golden string
		want   []string // every driver path afterwards, "arch key path"
	}{
		{"new", newDoc, "arm64", `C:\Drivers\net`, nil, "new_add.golden.xml",
			[]string{`arm64 1 C:\Drivers\net`}},
		{"existing passes", read(t, "existing.xml"), "amd64", `C:\Drivers\Intel LAN`, nil, "existing_add.golden.xml",
			[]string{`amd64 1 C:\Drivers\Intel LAN`}},
		{"next key", read(t, "with_paths.xml"), "amd64", `C:\Drivers\video & sound <x>`, &Credentials{"D", "u", `p"&`}, "with_paths_add.golden.xml",
			[]string{`amd64 1 C:\Drivers\storage`, `amd64 3 \\server\share\net`, `amd64 4 C:\Drivers\video & sound <x>`}},
		{"other arch", read(t, "with_paths.xml"), "x86", `C:\Drivers\x86`, nil, "with_paths_x86.golden.xml",
			[]string{`amd64 1 C:\Drivers\storage`, `amd64 3 \\server\share\net`, `x86 1 C:\Drivers\x86`}},
		{"component only", read(t, "component_only.xml"), "x86", `D:\drv`, nil, "component_only_add.golden.xml",
			[]string{`x86 1 D:\drv`}},
		{"one line", []byte(`<unattend xmlns="urn:schemas-microsoft-com:unattend"><settings pass="oobeSystem"/></unattend>`), "amd64", `C:\one`, nil, "one_line_add.golden.xml",
			[]string{`amd64 1 C:\one`}},
		{"prefixed self-closing crlf", read(t, "prefixed_crlf.xml"), "amd64", `C:\d`, nil, "prefixed_crlf_add.golden.xml",
			[]string{`amd64 1 C:\d`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, added, err := AddDriverPath(tc.in, tc.arch, tc.path, tc.cred)
			if err != nil {
				t.Fatal(err)
			}
			if !added {
				t.Fatal("added = false")
			}
			if err := Validate(tc.golden, out); err != nil {
				t.Fatalf("result does not validate: %v\n%s", err, out)
			}
			if !bytes.Contains(tc.in, []byte("/>\r\n  <u:settings pass=\"offlineServicing\"/>")) && !isInsertion(tc.in, out) {
				t.Errorf("result is not a pure insertion into the input:\n%s", out)
			}
			golden(t, tc.golden, out)
			dps, err := DriverPaths(out)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, dp := range dps {
				got = append(got, dp.Arch+" "+dp.KeyValue+" "+dp.Path)
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("driver paths:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			// Idempotence: the same path again, in another case and with a
			// trailing backslash, changes nothing.
			again, added, err := AddDriverPath(out, tc.arch, strings.ToUpper(tc.path)+`\`, nil)
			if err != nil || added || !bytes.Equal(again, out) {
				t.Errorf("second add: added=%v err=%v changed=%v", added, err, !bytes.Equal(again, out))
			}
		})
	}
}

func TestAddDriverPathKeepsBOM(t *testing.T) {
	doc, _ := New("amd64")
	doc = append([]byte{0xEF, 0xBB, 0xBF}, doc...)
	out, added, err := AddDriverPath(doc, "amd64", `C:\x`, nil)
	if err != nil || !added {
		t.Fatalf("added=%v err=%v", added, err)
	}
	if !bytes.HasPrefix(out, doc[:3]) || !isInsertion(doc, out) {
		t.Errorf("BOM or content lost:\n%q", out)
	}
}

func TestAddDriverPathErrors(t *testing.T) {
	good, _ := New("amd64")
	tests := []struct {
		name, doc, arch, path, want string
	}{
		{"bad arch", string(good), "mips", `C:\x`, "unknown architecture"},
		{"empty path", string(good), "amd64", "  ", "empty driver path"},
		{"control char", string(good), "amd64", "C:\\x\n", "control characters"},
		{"not xml", "<unattend", "amd64", `C:\x`, "unattend:1: not well-formed"},
		{"wrong root", `<foo xmlns="urn:schemas-microsoft-com:unattend"/>`, "amd64", `C:\x`, "root element"},
		{"wrong namespace", `<unattend/>`, "amd64", `C:\x`, "root element"},
		{"utf16", "\xff\xfe<\x00", "amd64", `C:\x`, "UTF-16"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := AddDriverPath([]byte(tc.doc), tc.arch, tc.path, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	const ns = `xmlns="urn:schemas-microsoft-com:unattend"`
	const comp = `name="C" processorArchitecture="amd64" publicKeyToken="31bf3856ad364e35" language="neutral" versionScope="nonSxS"`
	tests := []struct {
		name, doc string
		want      []string // substrings of the errors, in order; none = valid
	}{
		{"minimal", `<unattend ` + ns + `/>`, nil},
		{"all passes", `<unattend ` + ns + `><settings pass="windowsPE"/><settings pass="offlineServicing"/><settings pass="generalize"/>` +
			`<settings pass="specialize"/><settings pass="auditSystem"/><settings pass="auditUser"/><settings pass="oobeSystem"/></unattend>`, nil},
		{"component ok", `<unattend ` + ns + `><settings pass="specialize"><component ` + comp + `/></settings></unattend>`, nil},
		{"empty", ``, []string{"x.xml:1: no root element"}},
		{"not well-formed", "<unattend " + ns + ">\n<settings>\n</unattend>", []string{"x.xml:3: not well-formed"}},
		{"two roots", `<unattend ` + ns + `/><unattend ` + ns + `/>`, []string{"more than one root"}},
		{"text outside", `<unattend ` + ns + `/>junk`, []string{"text outside"}},
		{"wrong root", `<answers ` + ns + `/>`, []string{`x.xml:1:1: root element is "answers"`}},
		{"no namespace", `<unattend/>`, []string{"namespace is \"\""}},
		{"wrong namespace", `<unattend xmlns="urn:other"/>`, []string{`namespace is "urn:other"`}},
		{"unknown pass", "<unattend " + ns + ">\n  <settings pass=\"firstBoot\"/></unattend>", []string{`x.xml:2:3: unknown pass "firstBoot"`}},
		{"pass case", `<unattend ` + ns + `><settings pass="windowspe"/></unattend>`, []string{`unknown pass "windowspe"`}},
		{"no pass", `<unattend ` + ns + `><settings/></unattend>`, []string{"no pass attribute"}},
		{"duplicate pass", `<unattend ` + ns + `><settings pass="specialize"/><settings pass="specialize"/></unattend>`, []string{"appears more than once"}},
		{"component attrs", `<unattend ` + ns + `><settings pass="specialize"><component name="C" processorArchitecture="mips"/></settings></unattend>`,
			[]string{"no publicKeyToken", "no language", "no versionScope", `unknown processorArchitecture "mips"`}},
		{"utf16", "\xff\xfe<\x00u\x00", []string{"UTF-16"}},
		{"deep", strings.Repeat("<a>", 300) + strings.Repeat("</a>", 300), []string{"nested too deeply"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Validate("x.xml", []byte(tc.doc))
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			var list ErrorList
			var one *Error
			var msgs []string
			switch {
			case errors.As(err, &list):
				for _, e := range list {
					msgs = append(msgs, e.Error())
				}
			case errors.As(err, &one):
				msgs = []string{one.Error()}
			default:
				t.Fatalf("error of type %T: %v", err, err)
			}
			if len(msgs) != len(tc.want) {
				t.Fatalf("got %d errors %q, want %d %q", len(msgs), msgs, len(tc.want), tc.want)
			}
			for i := range msgs {
				if !strings.Contains(msgs[i], tc.want[i]) {
					t.Errorf("error %d = %q, want it to contain %q", i, msgs[i], tc.want[i])
				}
			}
		})
	}
}

func TestValidateGoldenInputs(t *testing.T) {
	for _, name := range []string{"existing.xml", "with_paths.xml", "component_only.xml", "prefixed_crlf.xml"} {
		if err := Validate(name, read(t, name)); err != nil {
			t.Errorf("%v", err)
		}
	}
}
