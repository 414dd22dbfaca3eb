package cli

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"github.com/wimconsole/wimconsole/app"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wimconsole/wimconsole/engine/wim"
	"github.com/wimconsole/wimconsole/internal/oracle"
	"github.com/wimconsole/wimconsole/internal/testtree"
)

// wimCLI runs a command line and returns the exit code, stdout and stderr.
func wimCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Execute(args, &Env{Stdout: &out, Stderr: &errb})
	return code, out.String(), errb.String()
}

// wimFixtures builds, with wimlib-imagex, a two-image WIM and a split set
// of a small tree, and returns their paths (the split set's part 1 and a
// glob of all parts).
func wimFixtures(t *testing.T) (multi, split1, splitGlob string) {
	t.Helper()
	oracle.Wimlib(t)
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	testtree.Write(t, src, map[string]string{
		"a.txt": "hello\n", "sub/b.txt": "bee\n", "sub/deeper/c": "sea\n", "É": "e\n",
	})
	if err := os.Symlink("a.txt", filepath.Join(src, "link")); err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	if err := os.WriteFile(filepath.Join(src, "big"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	multi = filepath.Join(dir, "multi.wim")
	oracle.Run(t, "capture", src, multi, "First", "first image", "--compress=lzx")
	oracle.Run(t, "append", filepath.Join(src, "sub"), multi, "Second")
	whole := filepath.Join(dir, "whole.wim")
	oracle.Run(t, "capture", src, whole, "--compress=none")
	split1 = filepath.Join(dir, "part.swm")
	oracle.Run(t, "split", whole, split1, "0.5")
	return multi, split1, filepath.Join(dir, "part*.swm")
}

func TestInfoCommand(t *testing.T) {
	multi, _, _ := wimFixtures(t)
	code, out, errOut := wimCLI(t, "info", multi)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if want := oracle.Run(t, "info", multi); out != want {
		t.Errorf("info differs from wimlib-imagex info:\n--- ours\n%s\n--- wimlib\n%s", out, want)
	}

	// --json, before or after the file.
	for _, args := range [][]string{{"info", "--json", multi}, {"info", multi, "--json"}} {
		code, out, errOut := wimCLI(t, args...)
		if code != ExitOK {
			t.Fatalf("%q: exit %d: %s", args, code, errOut)
		}
		var v app.WIMSummary
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Fatalf("%q: %v\n%s", args, err, out)
		}
		w, err := wim.Open(multi, nil)
		if err != nil {
			t.Fatal(err)
		}
		h := w.Header()
		w.Close()
		if v.GUID != hex.EncodeToString(h.GUID[:]) || v.ImageCount != 2 || len(v.Images) != 2 ||
			v.Compression != "LZX" || v.ChunkSize != 32768 || v.PartNumber != 1 || v.TotalParts != 1 {
			t.Fatalf("json %+v", v)
		}
		if v.Images[0].Name != "First" || v.Images[0].Description != "first image" || v.Images[1].Name != "Second" ||
			v.Images[0].FileCount == 0 || v.Images[0].Created == nil {
			t.Fatalf("json images %+v", v.Images)
		}
	}
}

func TestDirCommand(t *testing.T) {
	multi, split1, splitGlob := wimFixtures(t)
	for _, tc := range []struct {
		args   []string
		wimlib []string
	}{
		{[]string{"dir", multi, "1"}, []string{"dir", multi, "1"}},
		{[]string{"dir", multi, "Second"}, []string{"dir", multi, "2"}},
		{[]string{"dir", split1, "1", "--ref", splitGlob}, []string{"dir", split1, "1", "--ref=" + splitGlob}},
		{[]string{"dir", "--ref", splitGlob, split1, "1"}, []string{"dir", split1, "1", "--ref=" + splitGlob}},
	} {
		code, out, errOut := wimCLI(t, tc.args...)
		if code != ExitOK {
			t.Fatalf("%q: exit %d: %s", tc.args, code, errOut)
		}
		if want := oracle.Run(t, tc.wimlib...); out != want {
			t.Errorf("%q differs from wimlib-imagex:\n--- ours\n%s--- wimlib\n%s", tc.args, out, want)
		}
	}

	code, out, errOut := wimCLI(t, "dir", multi, "1", "--json")
	if code != ExitOK {
		t.Fatalf("dir --json: exit %d: %s", code, errOut)
	}
	var list []app.EntrySummary
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatal(err)
	}
	_, plain, _ := wimCLI(t, "dir", multi, "1")
	if len(list) != strings.Count(plain, "\n") || list[0].Path != "/" {
		t.Fatalf("%d JSON entries for %d paths", len(list), strings.Count(plain, "\n"))
	}
	byPath := map[string]app.EntrySummary{}
	for _, e := range list {
		byPath[e.Path] = e
	}
	if b := byPath["/big"]; b.Size != 1<<20 || len(b.Hash) != 40 || b.Attributes&wim.AttrNormal == 0 || b.Modified.IsZero() {
		t.Errorf("/big: %+v", b)
	}
	if l := byPath["/link"]; l.ReparseTag != wim.ReparseTagSymlink || l.Reparse == nil || l.Reparse.Size == 0 {
		t.Errorf("/link: %+v", l)
	}
	if d := byPath["/sub"]; d.Attributes&wim.AttrDirectory == 0 || d.SecurityID != -1 {
		t.Errorf("/sub: %+v", d)
	}
}

func TestApplyCommand(t *testing.T) {
	multi, split1, splitGlob := wimFixtures(t)
	out := filepath.Join(t.TempDir(), "out")
	code, _, errOut := wimCLI(t, "apply", multi, "1", out)
	if code != ExitOK {
		t.Fatalf("apply: exit %d: %s", code, errOut)
	}
	if data, err := os.ReadFile(filepath.Join(out, "sub/deeper/c")); err != nil || string(data) != "sea\n" {
		t.Fatalf("sub/deeper/c: %q %v", data, err)
	}
	if tgt, err := os.Readlink(filepath.Join(out, "link")); err != nil || tgt != "a.txt" {
		t.Fatalf("link: %q %v", tgt, err)
	}
	// Flags after the positionals, a split set by glob.
	out2 := filepath.Join(t.TempDir(), "out2")
	code, _, errOut = wimCLI(t, "apply", split1, "1", out2, "--ref", splitGlob)
	if code != ExitOK {
		t.Fatalf("apply split: exit %d: %s", code, errOut)
	}
	if fi, err := os.Stat(filepath.Join(out2, "big")); err != nil || fi.Size() != 1<<20 {
		t.Fatalf("big: %v %v", fi, err)
	}
	// A non-empty target is an error, not a usage error.
	code, _, errOut = wimCLI(t, "apply", multi, "2", out)
	if code != ExitFailure || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, "not empty") {
		t.Fatalf("non-empty target: exit %d, %q", code, errOut)
	}
}

func TestVerifyCommand(t *testing.T) {
	multi, split1, splitGlob := wimFixtures(t)
	code, out, errOut := wimCLI(t, "verify", multi)
	if code != ExitOK || out != multi+": OK\n" {
		t.Fatalf("verify: exit %d, %q, %q", code, out, errOut)
	}
	if code, _, errOut := wimCLI(t, "verify", split1, "--ref", splitGlob); code != ExitOK {
		t.Fatalf("verify split: exit %d: %s", code, errOut)
	}

	// Damage the data of the 1 MiB blob of an uncompressed file.
	whole := filepath.Join(filepath.Dir(split1), "whole.wim")
	w, err := wim.Open(whole, nil)
	if err != nil {
		t.Fatal(err)
	}
	var victim wim.BlobEntry
	for _, e := range w.Blobs() {
		if e.Size() == 1<<20 {
			victim = e
		}
	}
	w.Close()
	if victim.Size() == 0 {
		t.Fatal("no 1 MiB blob")
	}
	data, err := os.ReadFile(whole)
	if err != nil {
		t.Fatal(err)
	}
	data[victim.Res.Offset+1000] ^= 0xFF
	bad := filepath.Join(t.TempDir(), "bad.wim")
	if err := os.WriteFile(bad, data, 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = wimCLI(t, "verify", bad)
	if code != ExitFailure || out != "" || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, victim.Hash.String()) {
		t.Fatalf("verify damaged: exit %d, stdout %q, stderr %q; want exit 1 naming blob %s", code, out, errOut, victim.Hash)
	}
}

func TestWimReadErrors(t *testing.T) {
	multi, _, _ := wimFixtures(t)
	notWIM := filepath.Join(t.TempDir(), "junk.wim")
	if err := os.WriteFile(notWIM, bytes.Repeat([]byte("junk"), 100), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"dir", multi}, ExitUsage, "expects"},
		{[]string{"dir"}, ExitUsage, "expects"},
		{[]string{"apply", multi, "1"}, ExitUsage, "expects"},
		{[]string{"info", multi, "1", "name", "description", "extra"}, ExitUsage, "expects"},
		{[]string{"verify"}, ExitUsage, "expects"},
		{[]string{"info", multi, "--frob"}, ExitUsage, "unknown flag"},
		{[]string{"dir", multi, "1", "--ref"}, ExitUsage, "flag needs an argument"},
		{[]string{"info", notWIM}, ExitFailure, "not a WIM"},
		{[]string{"verify", notWIM}, ExitFailure, "not a WIM"},
		{[]string{"dir", notWIM, "1"}, ExitFailure, "not a WIM"},
		{[]string{"info", filepath.Join(t.TempDir(), "missing.wim")}, ExitFailure, "no such file"},
		{[]string{"dir", multi, "3"}, ExitFailure, "no image 3"},
		{[]string{"dir", multi, "Third"}, ExitFailure, `no image named "Third"`},
		{[]string{"dir", multi, "1", "--ref", "/nonexistent/*.swm"}, ExitFailure, "matches no file"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, out, errOut := wimCLI(t, tt.args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d (stderr %q)", code, tt.code, errOut)
			}
			first, _, _ := strings.Cut(errOut, "\n")
			if !strings.HasPrefix(first, "wimconsole: ") || !strings.Contains(first, tt.want) {
				t.Fatalf("stderr %q, want a first line containing %q", errOut, tt.want)
			}
			if tt.code == ExitFailure && strings.Count(errOut, "\n") != 1 {
				t.Fatalf("want exactly one line, got %q", errOut)
			}
			if out != "" {
				t.Fatalf("stdout %q", out)
			}
		})
	}
}

// TestInfoWindowsImage sets the WINDOWS properties of an image with
// wimlib-imagex and compares info (text and JSON) with what wimlib says.
func TestInfoWindowsImage(t *testing.T) {
	multi, _, _ := wimFixtures(t)
	props := map[string]string{
		"WINDOWS/ARCH": "9", "WINDOWS/PRODUCTNAME": "Microsoft® Windows® Operating System",
		"WINDOWS/EDITIONID": "Professional", "WINDOWS/INSTALLATIONTYPE": "Client", "WINDOWS/HAL": "acpiapic",
		"WINDOWS/PRODUCTTYPE": "WinNT", "WINDOWS/PRODUCTSUITE": "Terminal Server",
		"WINDOWS/LANGUAGES/LANGUAGE": "en-US", "WINDOWS/LANGUAGES/DEFAULT": "en-US",
		"WINDOWS/VERSION/MAJOR": "10", "WINDOWS/VERSION/MINOR": "0", "WINDOWS/VERSION/BUILD": "19041",
		"WINDOWS/VERSION/SPBUILD": "1", "WINDOWS/VERSION/SPLEVEL": "0", "WINDOWS/SYSTEMROOT": "WINDOWS",
		"FLAGS": "Professional", "DISPLAYNAME": "Windows 10 Pro", "DISPLAYDESCRIPTION": "Windows 10 Pro, described",
	}
	args := []string{"info", multi, "1"}
	for k, v := range props {
		args = append(args, "--image-property", k+"="+v)
	}
	oracle.Run(t, args...)
	code, out, errOut := wimCLI(t, "info", multi)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	want := oracle.Run(t, "info", multi)
	if out != want {
		t.Errorf("info differs from wimlib-imagex info:\n--- ours\n%s\n--- wimlib\n%s", out, want)
	}
	if !strings.Contains(want, "Product Suite:          Terminal Server") {
		t.Fatalf("wimlib did not record the properties:\n%s", want)
	}
	_, out, _ = wimCLI(t, "info", multi, "--json")
	var v app.WIMSummary
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatal(err)
	}
	w := v.Images[0].Windows
	if w == nil || w.Arch != 9 || w.ArchName != "x86_64" || w.EditionID != "Professional" || w.Version.Build != 19041 ||
		len(w.Languages) != 1 || w.DefaultLanguage != "en-US" || v.Images[0].DisplayName != "Windows 10 Pro" || v.Images[0].Flags != "Professional" {
		t.Fatalf("windows JSON %+v / %+v", w, v.Images[0])
	}
}
