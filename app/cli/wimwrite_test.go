package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wimconsole/wimconsole/engine/wim"
	"github.com/wimconsole/wimconsole/internal/oracle"
	"github.com/wimconsole/wimconsole/internal/testtree"
)

// writeTree makes a small folder tree and returns its path.
func writeTree(t *testing.T, seed string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "tree-"+seed)
	files := map[string]string{
		"a.txt":           "alpha " + seed + "\n",
		"sub/b.txt":       strings.Repeat("bravo "+seed+"\n", 5000),
		"sub/deep/c.bin":  strings.Repeat("\x00\x01\x02"+seed, 20000),
		"same-as-a.txt":   "alpha " + seed + "\n",
		"empty":           "",
		"unicode/é☃.txt":  "unicode\n",
		"sub/deep/d.txt":  "delta\n",
		"sub/other/e.txt": seed,
	}
	testtree.Write(t, dir, files)
	if err := os.Symlink("a.txt", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(filepath.Join(dir, "a.txt"), filepath.Join(dir, "sub", "hard")); err != nil {
		t.Fatal(err)
	}
	return dir
}

// sameFiles compares the regular files and links of two trees.
func sameFiles(t *testing.T, want, got string) {
	t.Helper()
	err := filepath.Walk(want, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(want, p)
		q := filepath.Join(got, rel)
		gi, err := os.Lstat(q)
		if err != nil {
			t.Errorf("%s: %v", rel, err)
			return nil
		}
		switch {
		case fi.Mode()&os.ModeSymlink != 0:
			a, _ := os.Readlink(p)
			b, _ := os.Readlink(q)
			if a != b {
				t.Errorf("%s: link to %q, want %q", rel, b, a)
			}
		case fi.Mode().IsRegular():
			a, _ := os.ReadFile(p)
			b, _ := os.ReadFile(q)
			if string(a) != string(b) || !gi.Mode().IsRegular() {
				t.Errorf("%s differs", rel)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// checkWIM verifies file with wimlib and compares its images with trees.
func checkWIM(t *testing.T, file string, trees ...string) {
	t.Helper()
	oracle.Run(t, "verify", file)
	for i, tree := range trees {
		out := filepath.Join(t.TempDir(), "out")
		oracle.Run(t, "apply", file, string(rune('1'+i)), out)
		sameFiles(t, tree, out)
	}
	w, err := wim.Open(file, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if w.ImageCount() != len(trees) {
		t.Errorf("%s: %d images, want %d", file, w.ImageCount(), len(trees))
	}
}

func TestCaptureCommand(t *testing.T) {
	oracle.Wimlib(t)
	a, b := writeTree(t, "a"), writeTree(t, "b")
	file := filepath.Join(t.TempDir(), "c.wim")
	code, out, errs := wimCLI(t, "capture", a, file, "--name", "First", "--description", "the first",
		"--compress", "xpress", "--check", "--boot")
	if code != 0 {
		t.Fatalf("capture: exit %d: %s", code, errs)
	}
	if !strings.Contains(out, "image 1") {
		t.Errorf("output %q", out)
	}
	code, _, errs = wimCLI(t, "capture", b, file, "--append", "--name", "Second")
	if code != 0 {
		t.Fatalf("capture --append: exit %d: %s", code, errs)
	}
	checkWIM(t, file, a, b)
	info := oracle.Run(t, "info", file)
	for _, s := range []string{"Compression:    XPRESS", "Boot Index:     1", "Name:                   First",
		"Description:            the first", "Name:                   Second"} {
		if !strings.Contains(info, s) {
			t.Errorf("wimlib info lacks %q:\n%s", s, info)
		}
	}
	if hdr := oracle.Run(t, "info", "--header", file); !strings.Contains(hdr, "Integrity Size") || strings.Contains(hdr, "Integrity Size              = 0\n") {
		t.Errorf("no integrity table:\n%s", hdr)
	}

	for _, args := range [][]string{
		{"capture", a, file}, // no --name
		{"capture", a, file, "--name", "x", "--compress", "zip"},
		{"capture", a, file, "--name", "x", "--append", "--compress", "lzx"},
		{"capture", a, "--name", "x"},
	} {
		if code, _, _ := wimCLI(t, args...); code != ExitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, ExitUsage)
		}
	}
	if code, _, _ := wimCLI(t, "capture", filepath.Join(a, "missing"), filepath.Join(t.TempDir(), "x.wim"), "--name", "x"); code != ExitFailure {
		t.Errorf("missing folder: exit %d", code)
	}
}

func TestExportCommand(t *testing.T) {
	oracle.Wimlib(t)
	a, b := writeTree(t, "a"), writeTree(t, "b")
	src := filepath.Join(t.TempDir(), "src.wim")
	oracle.Run(t, "capture", a, src, "A")
	oracle.Run(t, "append", b, src, "B")
	dir := t.TempDir()

	all := filepath.Join(dir, "all.wim")
	if code, _, errs := wimCLI(t, "export", src, "all", all, "--compress", "none"); code != 0 {
		t.Fatalf("export all: %s", errs)
	}
	checkWIM(t, all, a, b)
	if !strings.Contains(oracle.Run(t, "info", all), "Compression:    None") {
		t.Error("--compress none not applied")
	}

	one := filepath.Join(dir, "one.wim")
	if code, _, errs := wimCLI(t, "export", src, "B", one, "--name", "Bee", "--boot"); code != 0 {
		t.Fatalf("export B: %s", errs)
	}
	// Into the existing file.
	if code, _, errs := wimCLI(t, "export", src, "1", one); code != 0 {
		t.Fatalf("export 1 into an existing file: %s", errs)
	}
	checkWIM(t, one, b, a)
	info := oracle.Run(t, "info", one)
	if !strings.Contains(info, "Name:                   Bee") || !strings.Contains(info, "Compression:    LZX") {
		t.Errorf("wimlib info:\n%s", info)
	}

	for _, args := range [][]string{
		{"export", src, "all", filepath.Join(dir, "x.wim"), "--name", "x"},
		{"export", src, "1"},
		{"export", src, "1", filepath.Join(dir, "x.wim"), "--compress", "bogus"},
	} {
		if code, _, _ := wimCLI(t, args...); code != ExitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, ExitUsage)
		}
	}
	if code, _, _ := wimCLI(t, "export", src, "C", filepath.Join(dir, "x.wim")); code != ExitFailure {
		t.Errorf("unknown image name: exit %d", code)
	}
	if code, _, _ := wimCLI(t, "export", one, "1", one); code != ExitFailure {
		t.Errorf("export into the source: exit %d", code)
	}
}

func TestOptimizeAndDeleteCommands(t *testing.T) {
	oracle.Wimlib(t)
	a, b, c := writeTree(t, "a"), writeTree(t, "b"), writeTree(t, "c")
	file := filepath.Join(t.TempDir(), "o.wim")
	for i, tree := range []string{a, b, c} {
		args := []string{"capture", tree, file, "--name", string(rune('A' + i))}
		if i > 0 {
			args = append(args, "--append")
		}
		if code, _, errs := wimCLI(t, args...); code != 0 {
			t.Fatalf("%v: %s", args, errs)
		}
	}
	if code, _, errs := wimCLI(t, "delete", file, "B", "--soft"); code != 0 {
		t.Fatalf("delete --soft: %s", errs)
	}
	checkWIM(t, file, a, c)
	size := func() int64 {
		st, err := os.Stat(file)
		if err != nil {
			t.Fatal(err)
		}
		return st.Size()
	}
	before := size()
	if code, _, errs := wimCLI(t, "optimize", file, "--compress", "xpress"); code != 0 {
		t.Fatalf("optimize: %s", errs)
	}
	if size() >= before {
		t.Errorf("optimize: %d bytes, was %d", size(), before)
	}
	checkWIM(t, file, a, c)
	if !strings.Contains(oracle.Run(t, "info", file), "Compression:    XPRESS") {
		t.Error("optimize --compress xpress not applied")
	}
	if code, _, errs := wimCLI(t, "optimize", file, "--recompress", "--check"); code != 0 {
		t.Fatalf("optimize --recompress: %s", errs)
	}
	checkWIM(t, file, a, c)
	if code, _, errs := wimCLI(t, "delete", file, "1"); code != 0 {
		t.Fatalf("delete: %s", errs)
	}
	checkWIM(t, file, c)
	if code, _, _ := wimCLI(t, "delete", file, "7"); code != ExitFailure {
		t.Errorf("delete of a missing image: exit %d", code)
	}
	if code, _, _ := wimCLI(t, "delete", file); code != ExitUsage {
		t.Errorf("delete without an image: exit %d", code)
	}
	if code, _, _ := wimCLI(t, "optimize", file, "--compress", "zip"); code != ExitUsage {
		t.Errorf("optimize --compress zip: exit %d", code)
	}
}

// TestWriteCommandsCleanKilledTemps: the help of the commands that write a
// new WIM file says what a killed run leaves and who removes it, and an
// export removes such a leftover beside its target.
func TestWriteCommandsCleanKilledTemps(t *testing.T) {
	for _, c := range []string{"capture", "export", "optimize", "delete"} {
		_, out, _ := run(t, c, "--help")
		if !strings.Contains(out, ".FILE"+wim.TempInfix) || !strings.Contains(out, "next command that writes a WIM file into the same folder removes it") {
			t.Errorf("%s --help does not say how killed runs' temporary files go:\n%s", c, out)
		}
	}
	dir := t.TempDir()
	src := filepath.Join(t.TempDir(), "src.wim")
	if code, _, errOut := run(t, "capture", writeTree(t, "k"), src, "--name", "k"); code != 0 {
		t.Fatalf("capture: %s", errOut)
	}
	left := filepath.Join(dir, ".dest.wim"+wim.TempInfix+"00aa11bb22cc")
	if err := os.WriteFile(left, make([]byte, 1<<16), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := run(t, "export", src, "1", filepath.Join(dir, "dest.wim")); code != 0 {
		t.Fatalf("export: %s", errOut)
	}
	if _, err := os.Stat(left); err == nil {
		t.Fatalf("%s: a killed export's temporary file was left", left)
	}
}

// TestCaptureAppendCompress: scripts written for wimlib-imagex pass the
// file's own --compress with --append; that is accepted, another codec is
// refused naming the file's.
func TestCaptureAppendCompress(t *testing.T) {
	oracle.Wimlib(t)
	a, b := writeTree(t, "a"), writeTree(t, "b")
	file := filepath.Join(t.TempDir(), "c.wim")
	if code, _, errs := wimCLI(t, "capture", a, file, "--name", "One", "--compress", "lzx"); code != 0 {
		t.Fatalf("capture: exit %d: %s", code, errs)
	}
	before, _ := os.ReadFile(file)
	code, _, errs := wimCLI(t, "capture", b, file, "--append", "--name", "Two", "--compress", "xpress")
	if code != 2 || !strings.Contains(errs, "uses LZX") {
		t.Errorf("--append --compress xpress into an LZX file: exit %d: %s", code, errs)
	}
	if after, _ := os.ReadFile(file); string(after) != string(before) {
		t.Error("the refused append changed the file")
	}
	if code, _, errs := wimCLI(t, "capture", b, file, "--append", "--name", "Two", "--compress", "maximum"); code != 0 {
		t.Fatalf("--append --compress maximum (LZX) into an LZX file: exit %d: %s", code, errs)
	}
	checkWIM(t, file, a, b)
}

// wimVersion returns the version in file's header.
func wimVersion(t *testing.T, file string) uint32 {
	t.Helper()
	w, err := wim.Open(file, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	return w.Header().Version
}

// TestSolidCommands: capture and export write solid files (ESD) with
// --solid, append keeps them solid, export converts ESD to WIM and back;
// wimlib verifies and applies each result.
func TestSolidCommands(t *testing.T) {
	oracle.Wimlib(t)
	a, b := writeTree(t, "a"), writeTree(t, "b")
	dir := t.TempDir()
	esd := filepath.Join(dir, "x.esd")
	if code, _, errs := wimCLI(t, "capture", a, esd, "--name", "A", "--solid", "--solid-compress", "lzx"); code != 0 {
		t.Fatalf("capture --solid: exit %d: %s", code, errs)
	}
	if code, _, errs := wimCLI(t, "capture", b, esd, "--name", "B", "--append"); code != 0 {
		t.Fatalf("capture --append into a solid file: exit %d: %s", code, errs)
	}
	checkWIM(t, esd, a, b)
	if v := wimVersion(t, esd); v != wim.VersionSolid {
		t.Errorf("capture --solid wrote version 0x%x", v)
	}
	if info := oracle.Run(t, "info", esd); !strings.Contains(info, "Compression:    LZX") {
		t.Errorf("metadata codec is not the solid one:\n%s", info)
	}

	back := filepath.Join(dir, "back.wim")
	if code, _, errs := wimCLI(t, "export", esd, "all", back, "--compress", "lzx"); code != 0 {
		t.Fatalf("export ESD to WIM: exit %d: %s", code, errs)
	}
	checkWIM(t, back, a, b)
	if v := wimVersion(t, back); v != wim.VersionDefault {
		t.Errorf("ESD to WIM wrote version 0x%x", v)
	}

	again := filepath.Join(dir, "again.esd")
	if code, _, errs := wimCLI(t, "export", back, "all", again, "--solid-compress", "xpress", "--solid-chunk-size", "16K"); code != 0 {
		t.Fatalf("export WIM to ESD: exit %d: %s", code, errs)
	}
	checkWIM(t, again, a, b)
	if v := wimVersion(t, again); v != wim.VersionSolid {
		t.Errorf("export --solid-compress wrote version 0x%x", v)
	}

	// A wimlib ESD (solid LZMS) to an LZX WIM.
	wesd := filepath.Join(dir, "wimlib.esd")
	oracle.Run(t, "capture", a, wesd, "A", "--solid")
	fromWimlib := filepath.Join(dir, "from-wimlib.wim")
	if code, _, errs := wimCLI(t, "export", wesd, "1", fromWimlib, "--compress", "lzx"); code != 0 {
		t.Fatalf("export of a wimlib ESD: exit %d: %s", code, errs)
	}
	checkWIM(t, fromWimlib, a)

	// LZMS: the default of --solid, and --compress lzms.
	lz := filepath.Join(dir, "lzms.esd")
	if code, _, errs := wimCLI(t, "export", back, "all", lz, "--solid"); code != 0 {
		t.Fatalf("export --solid: exit %d: %s", code, errs)
	}
	checkWIM(t, lz, a, b)
	if out, err := exec.Command(oracle.Need(t, "7z"), "t", lz).CombinedOutput(); err != nil || !strings.Contains(string(out), "Everything is Ok") {
		t.Errorf("7z t %s: %v\n%s", lz, err, out)
	}
	lz2 := filepath.Join(dir, "lzms.wim")
	if code, _, errs := wimCLI(t, "capture", a, lz2, "--name", "A", "--compress", "lzms"); code != 0 {
		t.Fatalf("capture --compress lzms: exit %d: %s", code, errs)
	}
	checkWIM(t, lz2, a)
	if info := oracle.Run(t, "info", lz2); !strings.Contains(info, "Compression:    LZMS") {
		t.Errorf("wimlib info of %s:\n%s", lz2, info)
	}

	for _, args := range [][]string{
		{"capture", a, filepath.Join(dir, "u.esd"), "--name", "x", "--solid-compress", "none"},
		{"capture", a, filepath.Join(dir, "u.esd"), "--name", "x", "--solid-compress", "zip"},
		{"capture", a, filepath.Join(dir, "u.esd"), "--name", "x", "--solid", "--solid-chunk-size", "3000"},
		{"capture", a, filepath.Join(dir, "u.esd"), "--name", "x", "--solid-compress", "lzx", "--solid-chunk-size", "4M"},
		{"export", back, "all", filepath.Join(dir, "u.esd"), "--solid", "--split", "1M"},
	} {
		if code, _, errs := wimCLI(t, args...); code != ExitUsage {
			t.Errorf("%v: exit %d, want %d: %s", args, code, ExitUsage, errs)
		}
	}
}
