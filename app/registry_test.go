package app

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/wimconsole/wimconsole/engine/servicing/hive"
	"github.com/wimconsole/wimconsole/engine/servicing/hive/hivetest"
	"github.com/wimconsole/wimconsole/engine/store"
	"github.com/wimconsole/wimconsole/engine/wim"
	"github.com/wimconsole/wimconsole/internal/testtree"
)

// hiveImage returns a server with group Reg holding one disabled image whose
// SYSTEM and SAM hives are minimal hives. It skips when this build cannot
// open hives (no cgo or libhivex).
func hiveImage(t *testing.T) (*Server, store.ImageRef) {
	t.Helper()
	if _, err := hive.OpenBytes("probe", hivetest.Minimal("probe"), hive.Options{}); errors.Is(err, hive.ErrUnsupported) {
		t.Skip(err)
	}
	dir := testtree.Write(t, t.TempDir(), map[string]string{
		"Windows/System32/config/SYSTEM": string(hivetest.Minimal("SYSTEM")),
		"Windows/System32/config/SAM":    string(hivetest.Minimal("SAM")),
		"readme.txt":                     "readme\n",
	})
	src := filepath.Join(t.TempDir(), "hives.wim")
	ctx := context.Background()
	if _, err := wim.Capture(ctx, dir, src, wim.CaptureOptions{Name: "Hive Image"}); err != nil {
		t.Fatal(err)
	}
	srv := newServer(t)
	refs, err := storeOf(srv).AddImage(ctx, src, store.AddOptions{Group: "Reg"})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.SetEnabled(ctx, refs[0], false); err != nil {
		t.Fatal(err)
	}
	return srv, refs[0]
}

// dump lists the keys below path of h (depth first, in regedit's order),
// each with its values as name=data, one a line.
func dump(t *testing.T, h *LoadedHive, path string) string {
	t.Helper()
	var b strings.Builder
	var walk func(p string)
	walk = func(p string) {
		vs, err := h.Values(p)
		if err != nil {
			t.Fatalf("values of %q: %v", p, err)
		}
		SortHiveValues(vs)
		b.WriteString(`\` + p)
		for _, v := range vs {
			b.WriteString(" " + HiveValueName(v.Name) + "=" + FormatHiveValue(v))
		}
		b.WriteString("\n")
		kids, err := h.Subkeys(p)
		if err != nil {
			t.Fatalf("subkeys of %q: %v", p, err)
		}
		SortKeyPaths(kids)
		for _, k := range kids {
			walk(k)
		}
	}
	walk(path)
	return b.String()
}

// TestRegistryEditsThroughApp stages each registry edit in a session of an
// image holding a real (minimal) hive, reads the hive back through
// OpenSessionHive and, after the commit, through OpenHive.
func TestRegistryEditsThroughApp(t *testing.T) {
	ctx := context.Background()
	srv, r := hiveImage(t)
	ss, err := srv.ServiceImage(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	reg := filepath.Join(t.TempDir(), "x.reg")
	os.WriteFile(reg, []byte("Windows Registry Editor Version 5.00\r\n\r\n"+
		"[HKEY_LOCAL_MACHINE\\SYSTEM\\Contoso]\r\n\"Imported\"=\"yes\"\r\n\r\n"+
		"[HKEY_LOCAL_MACHINE\\SOFTWARE\\Other]\r\n\"x\"=dword:00000001\r\n"), 0o644)
	dword := func(name string, v uint32) HiveValue { return hive.Dword(name, v) }

	for _, tc := range []struct {
		name  string
		edit  func() error
		want  string // dump of SYSTEM after the edit
		fails string // the edit fails with this text and stages nothing
	}{
		{"set value creates its key", func() error {
			return SetRegistryValue(ctx, ss, "SYSTEM", `Contoso\Settings`, dword("Level", 7))
		}, "\\\n\\Contoso\n\\Contoso\\Settings Level=0x7 (7)\n", ""},
		{"add key and its parents", func() error { return AddRegistryKey(ctx, ss, "system", `Contoso\Temp\Sub`) },
			"\\\n\\Contoso\n\\Contoso\\Settings Level=0x7 (7)\n\\Contoso\\Temp\n\\Contoso\\Temp\\Sub\n", ""},
		{"replace a value, add the default value", func() error {
			if err := SetRegistryValue(ctx, ss, "SYSTEM", `Contoso\Settings`, dword("Level", 9)); err != nil {
				return err
			}
			return SetRegistryValue(ctx, ss, "SYSTEM", `Contoso\Settings`, hive.String("", "def"))
		}, "\\\n\\Contoso\n\\Contoso\\Settings (Default)=def Level=0x9 (9)\n\\Contoso\\Temp\n\\Contoso\\Temp\\Sub\n", ""},
		{"delete a key with its subkeys", func() error { return DeleteRegistryKey(ctx, ss, "SYSTEM", `Contoso\Temp`) },
			"\\\n\\Contoso\n\\Contoso\\Settings (Default)=def Level=0x9 (9)\n", ""},
		{"delete a value", func() error { return DeleteRegistryValue(ctx, ss, "SYSTEM", `Contoso\Settings`, "") },
			"\\\n\\Contoso\n\\Contoso\\Settings Level=0x9 (9)\n", ""},
		{"import a .reg file", func() error {
			res, err := ImportRegFile(ctx, ss, "SYSTEM", reg)
			if err == nil && (res.Applied != 2 || res.Skipped != 2) {
				t.Errorf("import: %+v, want 2 applied and 2 skipped", res)
			}
			return err
		}, "\\\n\\Contoso Imported=yes\n\\Contoso\\Settings Level=0x9 (9)\n", ""},
		{"delete a missing key", func() error { return DeleteRegistryKey(ctx, ss, "SYSTEM", `Nothing`) }, "", "not found"},
		{"delete a missing value", func() error { return DeleteRegistryValue(ctx, ss, "SYSTEM", `Contoso`, "nothing") }, "", "not found"},
		{"SAM is read-only", func() error { return AddRegistryKey(ctx, ss, "SAM", `X`) }, "", "read-only"},
		{"unknown hive", func() error { return AddRegistryKey(ctx, ss, "HARDWARE", `X`) }, "", "unknown hive"},
		{"missing .reg file", func() error {
			_, err := ImportRegFile(ctx, ss, "SYSTEM", filepath.Join(t.TempDir(), "none.reg"))
			return err
		}, "", "no such file"},
	} {
		before := len(ss.Changes)
		err := tc.edit()
		if tc.fails != "" {
			if err == nil || !strings.Contains(err.Error(), tc.fails) {
				t.Errorf("%s: %v, want an error with %q", tc.name, err, tc.fails)
			}
			if len(ss.Changes) != before {
				t.Errorf("%s: a failed edit staged %v", tc.name, ss.Changes[before:])
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		h, err := OpenSessionHive(ss, "SYSTEM")
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := dump(t, h, ""); got != tc.want {
			t.Errorf("%s: SYSTEM holds\n%s\nwant\n%s", tc.name, got, tc.want)
		}
		h.Close()
	}
	for _, c := range ss.Changes {
		if c.String() != "replace /Windows/System32/config/SYSTEM" {
			t.Errorf("unexpected change %s", c)
		}
	}

	// Before the commit, OpenHive shows the session's hive; SAM opens.
	h, err := srv.OpenHive(ctx, r, "SYSTEM")
	if err != nil {
		t.Fatal(err)
	}
	if v, err := h.Value(`contoso\settings`, "level"); err != nil || FormatHiveValue(v) != "0x9 (9)" {
		t.Errorf("OpenHive in the session: Level %v %v", v, err)
	}
	if p, err := h.Lookup(`contoso\SETTINGS`); err != nil || !strings.EqualFold(p, `Contoso\Settings`) {
		t.Errorf("Lookup: %q %v", p, err)
	}
	if _, err := h.Lookup(`Nothing`); !errors.Is(err, ErrKeyNotFound) {
		t.Errorf("Lookup of a missing key: %v", err)
	}
	h.Close()
	if _, err := h.Values(""); err == nil {
		t.Error("a closed hive was read")
	}
	sam, err := srv.OpenHive(ctx, r, "SAM")
	if err != nil || !sam.Info.ReadOnly {
		t.Fatalf("SAM: %+v %v", sam, err)
	}
	sam.Close()

	// After the commit, OpenHive reads the image itself.
	if _, err := ss.Commit(ctx, CommitOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Session(r); !errors.Is(err, ErrNoSession) {
		t.Fatalf("session after commit: %v", err)
	}
	h, err = srv.OpenHive(ctx, r, "SYSTEM")
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if got, want := dump(t, h, ""), "\\\n\\Contoso Imported=yes\n\\Contoso\\Settings Level=0x9 (9)\n"; got != want {
		t.Errorf("committed SYSTEM holds\n%s\nwant\n%s", got, want)
	}
	if _, err := srv.OpenHive(ctx, r, `\Users\Nobody\NTUSER.DAT`); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("a missing user hive: %v", err)
	}
}

func TestHiveValueText(t *testing.T) {
	for _, tc := range []struct {
		typ, text string
		want      string // FormatHiveValue of the parsed value; "" when refused
		back      string // HiveValueText of it
	}{
		{"REG_SZ", "WIM Console", "WIM Console", "WIM Console"},
		{"REG_EXPAND_SZ", `%SystemRoot%\x`, `%SystemRoot%\x`, `%SystemRoot%\x`},
		{"REG_DWORD", "0x10", "0x10 (16)", "16"},
		{"REG_DWORD", "lots", "", ""},
		{"REG_QWORD", "42", "0x2a (42)", "42"},
		{"REG_MULTI_SZ", "a\r\nb", `a\0b`, "a\nb"},
		{"REG_BINARY", "01ff", "01ff", "01ff"},
	} {
		v, err := ParseHiveValueText("n", tc.typ, tc.text)
		if tc.want == "" {
			if err == nil {
				t.Errorf("%s %q: accepted", tc.typ, tc.text)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s %q: %v", tc.typ, tc.text, err)
			continue
		}
		if got := FormatHiveValue(v); got != tc.want {
			t.Errorf("%s %q shows %q, want %q", tc.typ, tc.text, got, tc.want)
		}
		if back, ok := HiveValueText(v); !ok || back != tc.back {
			t.Errorf("%s %q: edit text %q %v, want %q", tc.typ, tc.text, back, ok, tc.back)
		}
	}
	if _, ok := HiveValueText(HiveValue{Name: "x", Type: hive.Type(99)}); ok {
		t.Error("a value of an unknown type can be edited")
	}
	if got := HiveValueTypes(); !slices.Contains(got, HiveTypeSZ) || !slices.Contains(got, HiveTypeMultiSZ) || got[0] != "REG_SZ" {
		t.Errorf("HiveValueTypes %v", got)
	}
}

func TestRegistrySorting(t *testing.T) {
	keys := []string{`b`, `A_x`, `a`, `C`}
	SortKeyPaths(keys)
	if got := strings.Join(keys, ","); got != "a,A_x,b,C" {
		t.Errorf("SortKeyPaths: %s", got)
	}
	vs := []HiveValue{{Name: "zeta"}, {Name: "Alpha"}, {Name: ""}, {Name: "beta"}}
	SortHiveValues(vs)
	var names []string
	for _, v := range vs {
		names = append(names, HiveValueName(v.Name))
	}
	if got := strings.Join(names, ","); got != "(Default),Alpha,beta,zeta" {
		t.Errorf("SortHiveValues: %s", got)
	}
}

// TestSessionUseCases: begin, mount, find the mounted session and discard
// (mounted or not) through app; a server on the network is refused.
func TestSessionUseCases(t *testing.T) {
	ctx := context.Background()
	srv, r := disabledImage(t)
	ss, err := srv.BeginSession(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.BeginSession(ctx, r); err == nil {
		t.Error("a second session was begun on the same image")
	}
	if err := DiscardSession(ctx, ss); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Session(r); !errors.Is(err, ErrNoSession) {
		t.Fatalf("after discard: %v", err)
	}

	mnt := filepath.Join(t.TempDir(), "mnt")
	if _, err := srv.MountImage(ctx, r, mnt, nil); err != nil {
		t.Fatal(err)
	}
	ms, err := srv.MountedSession(mnt)
	if err != nil || ms.Mount == "" {
		t.Fatalf("MountedSession: %+v %v", ms, err)
	}
	if _, err := srv.MountedSession(t.TempDir()); err == nil {
		t.Error("a folder that is not mounted gave a session")
	}
	if err := DiscardSession(ctx, ms); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(mnt); !os.IsNotExist(err) {
		t.Errorf("the mount folder is left after discard: %v", err)
	}
	if _, err := srv.Session(r); !errors.Is(err, ErrNoSession) {
		t.Fatalf("after discarding the mount: %v", err)
	}

	// Unattend: none, then set, shown and validated.
	if _, err := srv.ImageUnattend(ctx, r); err == nil || !strings.Contains(err.Error(), "has no unattend file") {
		t.Errorf("ImageUnattend without one: %v", err)
	}
	good := filepath.Join(t.TempDir(), "good.xml")
	os.WriteFile(good, []byte(`<unattend xmlns="urn:schemas-microsoft-com:unattend"><settings pass="oobeSystem"/></unattend>`), 0o644)
	if err := srv.SetUnattend(ctx, r, good); err != nil {
		t.Fatal(err)
	}
	doc, err := srv.ImageUnattend(ctx, r)
	if err != nil || !strings.Contains(string(doc), "oobeSystem") {
		t.Fatalf("ImageUnattend: %q %v", doc, err)
	}
	if err := ValidateUnattend("ImageUnattend.xml", doc); err != nil {
		t.Errorf("ValidateUnattend: %v", err)
	}
	if err := ValidateUnattend("bad.xml", []byte(`<unattend xmlns="urn:schemas-microsoft-com:unattend"><settings pass="bogus"/></unattend>`)); err == nil || !strings.Contains(err.Error(), "bad.xml") {
		t.Errorf("ValidateUnattend of a bad pass: %v", err)
	}

	far := &Server{} // no local store: as a server on the network
	for name, err := range map[string]error{
		"BeginSession":   func() error { _, err := far.BeginSession(ctx, r); return err }(),
		"MountedSession": func() error { _, err := far.MountedSession(mnt); return err }(),
		"OpenHive":       func() error { _, err := far.OpenHive(ctx, r, "SYSTEM"); return err }(),
		"ImageUnattend":  func() error { _, err := far.ImageUnattend(ctx, r); return err }(),
	} {
		if !errors.Is(err, ErrRemoteServicing) {
			t.Errorf("%s on a server without a local store: %v", name, err)
		}
	}
}

func TestDriverArchitectures(t *testing.T) {
	got := DriverArchitectures()
	if slices.Contains(got, "wow64") || !slices.Contains(got, "amd64") || !slices.Contains(got, "x86") {
		t.Errorf("DriverArchitectures %v", got)
	}
}
