package cli

import (
	"bytes"
	"encoding/json"
	"github.com/wimconsole/wimconsole/app"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/wimconsole/wimconsole/internal/oracle"
)

// wimlibField returns the value of field (e.g. "Name") of image index as
// `wimlib-imagex info FILE INDEX` prints it ("" when absent).
func wimlibField(t *testing.T, file, index, field string) string {
	t.Helper()
	out := oracle.Run(t, "info", file, index)
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(field) + `:[ \t]*(.*)$`).FindStringSubmatch(out)
	if m == nil {
		return ""
	}
	return strings.TrimSpace(m[1])
}

// wimlibBoot returns the boot index `wimlib-imagex info --header` reports.
func wimlibBoot(t *testing.T, file string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^Boot Index\s*=\s*(\d+)`).FindStringSubmatch(oracle.Run(t, "info", file, "--header"))
	if m == nil {
		t.Fatal("no boot index in wimlib-imagex info --header")
	}
	return m[1]
}

// dupNamesWIM writes, with wimlib-imagex, a WIM whose images 1 and 3 are
// both named "Windows 11 Pro" (as files made by other tools can be; wimlib
// and our writers refuse it, so the XML data is patched), image 2 "Home".
func dupNamesWIM(t *testing.T) string {
	t.Helper()
	oracle.Wimlib(t)
	tree := writeTree(t, "dup")
	file := filepath.Join(t.TempDir(), "install.wim")
	oracle.Run(t, "capture", tree, file, "Windows 11 Pro")
	oracle.Run(t, "append", tree, file, "Home")
	oracle.Run(t, "append", tree, file, "Windows 11 Prx")
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	u16 := func(s string) []byte {
		var b []byte
		for _, r := range s {
			b = append(b, byte(r), 0)
		}
		return b
	}
	if bytes.Count(data, u16("Windows 11 Prx")) != 1 {
		t.Fatal("name not found in the XML data")
	}
	data = bytes.Replace(data, u16("Windows 11 Prx"), u16("Windows 11 Pro"), 1)
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// TestInfoSetCommand changes images with info and checks the result with
// wimlib-imagex (info, verify) and 7-Zip.
func TestInfoSetCommand(t *testing.T) {
	tests := []struct {
		name      string
		args      []string // after "info FILE"
		index     string
		wantName  string
		wantDesc  string
		wantFlags string
		wantEd    string
		wantBoot  string
	}{
		{"positional name and description", []string{"2", "Windows 11 Pro", "Pro, described"}, "2", "Windows 11 Pro", "Pro, described", "", "", "0"},
		{"flags and boot by name", []string{"Second", "--flags", "Professional", "--boot"}, "2", "Second", "", "Professional", "", "2"},
		{"flags before the file", []string{"--name", "Renamed", "1", "--description", ""}, "1", "Renamed", "", "", "", "0"},
		{"image property", []string{"First", "--image-property", "WINDOWS/EDITIONID=Professional", "--image-property", "flags=Pro"}, "1", "First", "first image", "Pro", "Professional", "0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			multi, _, _ := wimFixtures(t)
			code, out, errOut := wimCLI(t, append([]string{"info", multi}, tt.args...)...)
			if code != ExitOK {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			if !strings.Contains(out, "image "+tt.index+" changed") {
				t.Errorf("stdout %q", out)
			}
			oracle.Run(t, "verify", multi)
			for _, f := range []struct{ field, want string }{{"Name", tt.wantName}, {"Description", tt.wantDesc}, {"Flags", tt.wantFlags}, {"Edition ID", tt.wantEd}} {
				if got := wimlibField(t, multi, tt.index, f.field); got != f.want {
					t.Errorf("wimlib %s %q, want %q", f.field, got, f.want)
				}
			}
			if got := wimlibBoot(t, multi); got != tt.wantBoot {
				t.Errorf("wimlib boot index %s, want %s", got, tt.wantBoot)
			}
			// Our info of the one image matches wimlib's.
			_, ours, _ := wimCLI(t, "info", multi, tt.index)
			if want := oracle.Run(t, "info", multi, tt.index); ours != want {
				t.Errorf("info FILE %s differs from wimlib-imagex:\n--- ours\n%s\n--- wimlib\n%s", tt.index, ours, want)
			}
			if _, err := exec.LookPath("7z"); err == nil {
				if out, err := exec.Command("7z", "l", multi).CombinedOutput(); err != nil || !strings.Contains(string(out), "a.txt") {
					t.Errorf("7z l: %v\n%s", err, out)
				}
			}
		})
	}
}

func TestInfoOneImageJSON(t *testing.T) {
	multi, _, _ := wimFixtures(t)
	code, out, errOut := wimCLI(t, "info", multi, "Second", "--json")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var v app.WIMSummary
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Images) != 1 || v.Images[0].Index != 2 || v.Images[0].Name != "Second" || v.ImageCount != 2 {
		t.Fatalf("json %+v", v)
	}
}

// TestInfoSetErrors: bad changes are refused with the file unchanged.
func TestInfoSetErrors(t *testing.T) {
	multi, _, _ := wimFixtures(t)
	dup := dupNamesWIM(t)
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"info", multi, "2", "--name", "First"}, ExitFailure, `image 1 is already named "First"`},
		{[]string{"info", multi, "2", "--name", "42"}, ExitFailure, "is a number"},
		{[]string{"info", multi, "--name", "X"}, ExitUsage, "has 2 images: name the one to change"},
		{[]string{"info", multi, "1", "X", "--name", "Y"}, ExitUsage, "given twice"},
		{[]string{"info", multi, "1", "--image-property", "WINDOWS/ARCH=9"}, ExitUsage, "cannot be set"},
		{[]string{"info", multi, "1", "--image-property", "NAME"}, ExitUsage, "NAME=VALUE"},
		{[]string{"info", multi, "1", "--boot", "--json"}, ExitUsage, "--json"},
		{[]string{"info", multi, "3", "--boot"}, ExitFailure, "no image 3"},
		{[]string{"info", multi, "Third", "--boot"}, ExitFailure, `no image named "Third"`},
		{[]string{"info", dup, "Windows 11 Pro", "--boot"}, ExitFailure, `install.wim has 2 images named "Windows 11 Pro" (1 and 3): give the index`},
		{[]string{"dir", dup, "Windows 11 Pro"}, ExitFailure, `2 images named "Windows 11 Pro" (1 and 3): give the index`},
		{[]string{"export", dup, "Windows 11 Pro", filepath.Join(t.TempDir(), "x.wim")}, ExitFailure, "give the index"},
		{[]string{"delete", dup, "Windows 11 Pro"}, ExitFailure, "give the index"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			before, _ := os.ReadFile(tt.args[1])
			code, out, errOut := wimCLI(t, tt.args...)
			if code != tt.code || !strings.Contains(errOut, tt.want) || out != "" {
				t.Fatalf("exit %d (want %d), stdout %q, stderr %q; want %q", code, tt.code, out, errOut, tt.want)
			}
			if after, _ := os.ReadFile(tt.args[1]); !bytes.Equal(before, after) {
				t.Error("file changed")
			}
		})
	}
	// By index, the duplicates are reachable.
	if code, _, errOut := wimCLI(t, "info", dup, "3", "--name", "Windows 11 Pro N"); code != ExitOK {
		t.Fatalf("rename by index: %s", errOut)
	}
	if code, _, errOut := wimCLI(t, "dir", dup, "Windows 11 Pro"); code != ExitOK {
		t.Fatalf("dir by name after the rename: %s", errOut)
	}
}

// TestInfoJSONHeaderFlags: info --json shows a WDS group's image file as
// metadata-only and its Res.rwm as resource-only.
func TestInfoJSONHeaderFlags(t *testing.T) {
	oracle.Wimlib(t)
	st := filepath.Join(t.TempDir(), "RemoteInstall")
	src := filepath.Join(t.TempDir(), "install.wim")
	oracle.Run(t, "capture", writeTree(t, "flags"), src, "One")
	if code, out, errOut := run(t, "--store", st, "add-image", src, "--group", "G"); code != ExitOK {
		t.Fatalf("add-image: %s%s", out, errOut)
	}
	group := filepath.Join(st, "Images", "G")
	for _, tt := range []struct {
		file, flag string
	}{{"install.wim", "metadata_only"}, {"Res.rwm", "resource_only"}} {
		code, out, errOut := wimCLI(t, "info", filepath.Join(group, tt.file), "--json")
		if code != ExitOK {
			t.Fatalf("%s: %s", tt.file, errOut)
		}
		var v app.WIMSummary
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(v.Flags, tt.flag) {
			t.Errorf("%s: flags %v lack %s", tt.file, v.Flags, tt.flag)
		}
	}
}

// TestAddImageByName: add-image --index and --image-name take names,
// replace-image --source-index too; duplicates and unknown names are
// refused before the store changes.
func TestAddImageByName(t *testing.T) {
	dup := dupNamesWIM(t)
	tests := []struct {
		name  string
		args  []string
		code  int
		added []string // image names in the group afterwards
		want  string
	}{
		{"--index by name", []string{"--index", "Home"}, ExitOK, []string{"Home"}, ""},
		{"--image-name", []string{"--image-name", "Home", "--index", "3"}, ExitOK, []string{"Home", "Windows 11 Pro"}, ""},
		{"--index list", []string{"--index", "1,Home"}, ExitOK, []string{"Windows 11 Pro", "Home"}, ""},
		{"duplicate name", []string{"--image-name", "Windows 11 Pro"}, ExitFailure, nil, "2 images named"},
		{"unknown name", []string{"--index", "Nope"}, ExitFailure, nil, `no image named "Nope"`},
		{"twice", []string{"--index", "2", "--image-name", "Home"}, ExitFailure, nil, "given twice"},
		{"index 0", []string{"--index", "0"}, ExitUsage, nil, "start at 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := filepath.Join(t.TempDir(), "RemoteInstall")
			code, out, errOut := run(t, append([]string{"--store", st, "add-image", dup, "--group", "G"}, tt.args...)...)
			if code != tt.code || !strings.Contains(errOut, tt.want) {
				t.Fatalf("exit %d (want %d): %s%s", code, tt.code, out, errOut)
			}
			_, out, _ = run(t, "--store", st, "get-all-images", "--json")
			var ims []struct {
				Name string `json:"name"`
			}
			json.Unmarshal([]byte(out), &ims)
			var names []string
			for _, im := range ims {
				names = append(names, im.Name)
			}
			slices.Sort(names)
			want := slices.Clone(tt.added)
			slices.Sort(want)
			if !slices.Equal(names, want) {
				t.Errorf("images %q, want %q", names, want)
			}
		})
	}

	// replace-image --source-index NAME.
	st := filepath.Join(t.TempDir(), "RemoteInstall")
	do := func(want int, args ...string) string {
		t.Helper()
		code, out, errOut := run(t, append([]string{"--store", st}, args...)...)
		if code != want {
			t.Fatalf("%v: exit %d, want %d\n%s%s", args, code, want, out, errOut)
		}
		return out + errOut
	}
	do(ExitOK, "add-image", dup, "--group", "G", "--index", "Home", "--filename", "img")
	do(ExitOK, "set-image", "G/img", "--enabled", "no")
	if out := do(ExitFailure, "replace-image", "G/img", dup, "--source-index", "Windows 11 Pro", "--force"); !strings.Contains(out, "give the index") {
		t.Errorf("replace by a duplicate name: %s", out)
	}
	other := filepath.Join(t.TempDir(), "other.wim")
	oracle.Run(t, "capture", writeTree(t, "other"), other, "First")
	oracle.Run(t, "append", writeTree(t, "other2"), other, "Second")
	do(ExitOK, "replace-image", "G/img", other, "--source-index", "Second", "--force")
	img := filepath.Join(st, "Images", "G", "img.wim")
	res := filepath.Join(st, "Images", "G", "Res.rwm")
	oracle.Run(t, "verify", img, "--ref", res)
	if got, want := wimlibField(t, img, "1", "Total Bytes"), wimlibField(t, other, "2", "Total Bytes"); got != want {
		t.Errorf("replaced image has %s bytes; image Second of the source has %s", got, want)
	}
}

// TestVerifyStoreNote: a group whose Res.rwm lacks the resource-only flag
// (made by another tool) passes verify-store, with a note.
func TestVerifyStoreNote(t *testing.T) {
	oracle.Wimlib(t)
	st := filepath.Join(t.TempDir(), "RemoteInstall")
	src := filepath.Join(t.TempDir(), "install.wim")
	oracle.Run(t, "capture", writeTree(t, "note"), src, "One")
	if code, out, errOut := run(t, "--store", st, "add-image", src, "--group", "G"); code != ExitOK {
		t.Fatalf("add-image: %s%s", out, errOut)
	}
	res := filepath.Join(st, "Images", "G", "Res.rwm")
	data, err := os.ReadFile(res)
	if err != nil {
		t.Fatal(err)
	}
	data[0x10] &^= 0x10 // the resource-only header flag
	if err := os.WriteFile(res, data, 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := run(t, "--store", st, "verify-store")
	if code != ExitOK || !strings.Contains(out, "Res.rwm: note: not marked resource-only") || !strings.Contains(out, "OK") {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	_, out, _ = wimCLI(t, "info", res, "--json")
	if strings.Contains(out, "resource_only") {
		t.Errorf("info --json still shows resource_only:\n%s", out)
	}
}

// TestUnknownXMLThroughCommands: XML elements wimlib-imagex records and
// this program has no field for survive info's rewrite, export, capture
// --append, add-image into a store and set-image there.
func TestUnknownXMLThroughCommands(t *testing.T) {
	oracle.Wimlib(t)
	tree := writeTree(t, "unknown")
	src := filepath.Join(t.TempDir(), "install.wim")
	oracle.Run(t, "capture", tree, src, "One")
	oracle.Run(t, "info", src, "1", "--image-property", "WINDOWS/SERVICINGDATA/GDRDUREVISION=7", "--image-property", "VENDOR/TAG=golden")
	parts := []string{"<SERVICINGDATA><GDRDUREVISION>7</GDRDUREVISION></SERVICINGDATA>", "<VENDOR><TAG>golden</TAG></VENDOR>"}
	has := func(file, what string) {
		t.Helper()
		raw := oracle.Run(t, "info", "--xml", file)
		var sb strings.Builder
		for i := 0; i+1 < len(raw); i += 2 {
			sb.WriteByte(raw[i]) // the elements checked are ASCII
		}
		for _, p := range parts {
			if !strings.Contains(sb.String(), p) {
				t.Errorf("%s: %s lost:\n%s", what, p, sb.String())
			}
		}
	}
	do := func(args ...string) {
		t.Helper()
		if code, out, errOut := run(t, args...); code != ExitOK {
			t.Fatalf("%q: exit %d\n%s%s", args, code, out, errOut)
		}
	}
	do("info", src, "One", "--name", "Renamed", "--flags", "Professional", "--boot")
	has(src, "info --name")
	dst := filepath.Join(t.TempDir(), "dst.wim")
	do("export", src, "Renamed", dst)
	has(dst, "export")
	do("capture", writeTree(t, "unknown2"), src, "--name", "Two", "--append")
	has(src, "capture --append")
	st := filepath.Join(t.TempDir(), "RemoteInstall")
	do("--store", st, "add-image", src, "--group", "G", "--index", "Renamed", "--filename", "img")
	img := filepath.Join(st, "Images", "G", "img.wim")
	has(img, "add-image")
	do("--store", st, "set-image", "G/img", "--name", "Renamed again", "--description", "d")
	has(img, "set-image")
	oracle.Run(t, "verify", img, "--ref", filepath.Join(st, "Images", "G", "Res.rwm"))
}
