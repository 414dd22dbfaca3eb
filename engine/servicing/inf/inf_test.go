package inf

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	src := "; comment\r\n" +
		"[Version]\r\n" +
		"Signature=\"$Windows NT$\" ; trailing\r\n" +
		"[Strings]\r\n" +
		"Name=\"Big \"\"Q\"\" Co\"\r\n" +
		"Pct=\"100%%\"\r\n" +
		"[Install]\r\n" +
		"Key = %Name%, \"a,b\" , plain value ,,last\r\n" +
		"Cont = one, \\\r\n" +
		"   two \\ ; comment after continuation\r\n" +
		"   three\r\n" +
		"NoKeyLine, x\r\n" +
		"%Undefined% = %pct%\r\n" +
		"[version]\r\n" + // merged with [Version]
		"Class=Net\r\n"
	f, err := Parse("t.inf", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Sections) != 3 {
		t.Fatalf("got %d sections, want 3", len(f.Sections))
	}
	ver := f.Section("VERSION")
	if l, ok := ver.Get("signature"); !ok || l.Value(0) != "$Windows NT$" || l.Num != 3 {
		t.Errorf("Signature = %+v", l)
	}
	if l, ok := ver.Get("Class"); !ok || l.Value(0) != "Net" || l.Num != 15 {
		t.Errorf("merged Class = %+v", l)
	}
	inst := f.Section("install")
	want := []Line{
		{8, "Key", []string{`Big "Q" Co`, "a,b", "plain value", "", "last"}},
		{9, "Cont", []string{"one", "two    three"}},
		{12, "", []string{"NoKeyLine", "x"}},
		{13, "%Undefined%", []string{"100%"}},
	}
	if len(inst.Lines) != len(want) {
		t.Fatalf("got %d lines: %+v", len(inst.Lines), inst.Lines)
	}
	for i, w := range want {
		g := inst.Lines[i]
		if g.Num != w.Num || g.Key != w.Key || strings.Join(g.Values, "|") != strings.Join(w.Values, "|") {
			t.Errorf("line %d = %+v, want %+v", i, g, w)
		}
	}
	if len(f.Problems) != 1 || f.Problems[0].Line != 13 || !strings.Contains(f.Problems[0].Msg, "%Undefined%") {
		t.Errorf("problems = %v", f.Problems)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"unclosed header", "[Version\nA=1\n", "x.inf:1: section header has no closing ]"},
		{"empty header", "[Version]\n[ ]\n", "x.inf:2: empty section name"},
		{"junk after header", "[Version] junk\n", "x.inf:1: text \"junk\" after section header"},
		{"unterminated quote", "[Version]\nA=1\nB=\"abc\n", "x.inf:3: unterminated quoted string"},
		{"entry before section", "A=1\n[Version]\n", "x.inf:1: entry before the first [section]"},
		{"nul", "[Version]\nA=\x00\n", "x.inf:2: NUL character"},
		{"odd utf16", "\xff\xfe[\x00V", "x.inf:0: UTF-16 text has an odd number of bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("x.inf", []byte(tc.src))
			if err == nil || err.Error() != tc.want && !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

func TestDecode(t *testing.T) {
	tests := []struct {
		in   []byte
		want string
	}{
		{[]byte("abc"), "abc"},
		{[]byte("\xef\xbb\xbfabc\xc3\xa9"), "abcé"},
		{[]byte("caf\xe9"), "café"}, // ANSI
		{[]byte("\xff\xfea\x00\xe9\x00"), "aé"},
		{[]byte("\xfe\xff\x00a\x00\xe9"), "aé"},
	}
	for _, tc := range tests {
		got, err := Decode(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("Decode(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestCheckGood(t *testing.T) {
	for _, dir := range []string{"good", "utf16"} {
		t.Run(dir, func(t *testing.T) {
			res, err := CheckPackage(filepath.Join("testdata", "inf", dir))
			if err != nil {
				t.Fatal(err)
			}
			if !res.OK() || len(res.Problems) != 0 {
				t.Errorf("OK=%v problems:\n%v", res.OK(), res.Problems)
			}
			if len(res.INFs) != 1 {
				t.Errorf("INFs = %v", res.INFs)
			}
		})
	}
	f, err := Parse("fabrikam.inf", mustRead(t, "testdata/inf/utf16/fabrikam.inf"))
	if err != nil {
		t.Fatal(err)
	}
	if l, _ := f.Section("Version").Get("Provider"); l.Value(0) != "Fabrikam Ünïcødé GmbH" {
		t.Errorf("UTF-16 Provider = %q", l.Value(0))
	}
}

func mustRead(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCheckBad(t *testing.T) {
	res, err := CheckPackage(filepath.Join("testdata", "inf", "bad"))
	if err != nil {
		t.Fatal(err)
	}
	if res.OK() {
		t.Fatal("bad package passes")
	}
	var got []string
	for _, p := range res.Problems {
		got = append(got, p.String())
	}
	want := []string{
		`broken.inf:2: error: Signature is "$Windows 3.1$", want $Windows NT$ or $Chicago$`,
		`broken.inf:3: warning: [Version] has ClassGuid but no Class`,
		`broken.inf:3: error: ClassGuid "{not-a-guid}" is not a {xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx} GUID`,
		`broken.inf:1: error: [Version] has no Provider`,
		`broken.inf:4: error: DriverVer date "13/40/2024" is out of range`,
		`broken.inf:4: error: DriverVer version "1.2.3.4.5" has more than four parts`,
		`broken.inf:5: error: catalog file "missing.cat" named by CatalogFile is not in the package`,
		`broken.inf:9: error: file "absent.sys" named in [SourceDisksFiles] is not in the package`,
		`broken.inf:10: error: file name "..\\escape.sys" in [SourceDisksFiles] is not a plain file name`,
		`broken.inf:13: error: CopyFiles section [NoSuchSection] does not exist`,
		`broken.inf:13: warning: "lonely.dll" is copied but not listed in [SourceDisksFiles]`,
		`broken.inf:13: error: file "lonely.dll" named in CopyFiles is not in the package`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestCheckVersionTable(t *testing.T) {
	base := map[string]string{
		"Signature": `"$Chicago$"`, "Class": "Net", "ClassGuid": "{4d36e972-e325-11ce-bfc1-08002be10318}",
		"Provider": "P", "DriverVer": "1/2/2020,1.0", "CatalogFile": "c.cat",
	}
	tests := []struct {
		name, key, value string // value "-" removes the key
		want             string // "" = no problem
	}{
		{"all good", "", "", ""},
		{"no signature", "Signature", "-", "error: [Version] has no Signature"},
		{"no class at all", "Class", "-", "warning: [Version] has ClassGuid but no Class"},
		{"no provider", "Provider", "-", "error: [Version] has no Provider"},
		{"unresolved provider", "Provider", "%Missing%", "warning: string key %Missing% is not defined"},
		{"no driverver", "DriverVer", "-", "error: [Version] has no DriverVer"},
		{"bad date", "DriverVer", "2020-01-02,1.0", `error: DriverVer date "2020-01-02" is not mm/dd/yyyy`},
		{"no version", "DriverVer", "01/02/2020", "warning: DriverVer has no version number"},
		{"big version", "DriverVer", "01/02/2020,1.70000", `error: DriverVer version "1.70000" is not w.x.y.z`},
		{"no catalog", "CatalogFile", "-", "error: [Version] has no CatalogFile"},
		{"catalog path", "CatalogFile", `..\c.cat`, "must be a plain file name"},
		{"arch catalog", "CatalogFile", "-", "error: [Version] has no CatalogFile"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			var b strings.Builder
			b.WriteString("[Version]\n")
			for _, k := range []string{"Signature", "Class", "ClassGuid", "Provider", "DriverVer", "CatalogFile"} {
				v := base[k]
				if k == tc.key {
					v = tc.value
				}
				if v != "-" {
					b.WriteString(k + "=" + v + "\n")
				}
			}
			os.WriteFile(filepath.Join(dir, "d.inf"), []byte(b.String()), 0o644)
			os.WriteFile(filepath.Join(dir, "C.CAT"), []byte("c"), 0o644)
			res, err := CheckPackage(dir)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range res.Problems {
				got = append(got, p.String())
			}
			all := strings.Join(got, "\n")
			if tc.want == "" && len(got) != 0 || tc.want != "" && !strings.Contains(all, tc.want) {
				t.Errorf("problems:\n%s\nwant one containing %q", all, tc.want)
			}
		})
	}
}

func TestHostilePackage(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("hostile names cannot be created on Windows")
	}
	tests := []struct {
		name  string
		setup func(dir string) error
		want  string
	}{
		{"backslash dotdot name", func(d string) error { return os.WriteFile(filepath.Join(d, `..\..\evil.sys`), nil, 0o644) }, `name contains one of`},
		{"colon name", func(d string) error { return os.WriteFile(filepath.Join(d, `a:b`), nil, 0o644) }, `name contains one of`},
		{"reserved", func(d string) error { return os.WriteFile(filepath.Join(d, `con.sys`), nil, 0o644) }, `reserved device name`},
		{"trailing dot", func(d string) error { return os.WriteFile(filepath.Join(d, `x.`), nil, 0o644) }, `ends with a dot`},
		{"control", func(d string) error { return os.WriteFile(filepath.Join(d, "x\ty"), nil, 0o644) }, `control characters`},
		{"case clash", func(d string) error {
			os.WriteFile(filepath.Join(d, "A.sys"), nil, 0o644)
			return os.WriteFile(filepath.Join(d, "a.SYS"), nil, 0o644)
		}, `only in case`},
		{"symlink out", func(d string) error { return os.Symlink("/etc/passwd", filepath.Join(d, "p.sys")) }, `points outside the package`},
		{"symlink dotdot", func(d string) error {
			os.Mkdir(filepath.Join(d, "sub"), 0o755)
			return os.Symlink("../../x", filepath.Join(d, "sub", "l"))
		}, `symbolic link`},
		{"symlink dir out", func(d string) error { return os.Symlink("/", filepath.Join(d, "root")) }, `points outside the package`},
		{"fifo-like dangling", func(d string) error { return os.Symlink("nowhere", filepath.Join(d, "dangling")) }, `symbolic link`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, "ok.inf"), []byte("[Version]\n"), 0o644)
			if err := tc.setup(dir); err != nil {
				t.Skipf("cannot set up: %v", err)
			}
			_, err := CheckPackage(dir)
			if err == nil || !strings.Contains(err.Error(), "refused") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want a refusal containing %q", err, tc.want)
			}
		})
	}
	// A symbolic link to a file inside the package is accepted.
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "real.sys"), nil, 0o644)
	os.Symlink("real.sys", filepath.Join(dir, "alias.sys"))
	p, err := OpenPackage(dir)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(p.Files, ",") != "alias.sys,real.sys" {
		t.Errorf("files = %v", p.Files)
	}
}

func TestSourceOutsidePackage(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "c.cat"), nil, 0o644)
	inf := "[Version]\nSignature=$Windows NT$\nClass=X\nClassGuid={4d36e972-e325-11ce-bfc1-08002be10318}\nProvider=P\nDriverVer=01/01/2020,1.0.0.0\nCatalogFile=c.cat\n" +
		"[SourceDisksNames]\n1=disk,,,..\\..\\outside\n2=disk,,,C:\\abs\n[SourceDisksFiles]\na.sys=1\nb.sys=2\n"
	os.WriteFile(filepath.Join(dir, "d.inf"), []byte(inf), 0o644)
	res, err := CheckPackage(dir)
	if err != nil {
		t.Fatal(err)
	}
	all := ""
	for _, p := range res.Errors() {
		all += p.String() + "\n"
	}
	if !strings.Contains(all, "d.inf:12: error: [SourceDisksFiles]: path \"../../outside/a.sys\" leaves the package folder") ||
		!strings.Contains(all, `d.inf:13: error: [SourceDisksFiles]: path "C:\\abs\\b.sys" is not relative`) {
		t.Errorf("errors:\n%s", all)
	}
}

func TestNoINF(t *testing.T) {
	res, err := CheckPackage(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if res.OK() || len(res.Errors()) != 1 {
		t.Errorf("empty package: %v", res.Problems)
	}
	if _, err := CheckPackage(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("missing folder accepted")
	}
}
