package cli

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/wimconsole/wimconsole/internal/oracle"
)

// TestSplitCommand splits a two-image file into FAT32-style parts, then
// applies each image from the set with our own apply and wimlib-imagex's
// (--ref with a glob, as administrators type it).
func TestSplitCommand(t *testing.T) {
	oracle.Wimlib(t)
	a, b := writeTree(t, "a"), writeTree(t, "b")
	file := filepath.Join(t.TempDir(), "install.wim")
	for i, tree := range []string{a, b} {
		args := []string{"capture", tree, file, "--name", []string{"Home", "Pro"}[i], "--compress", "xpress"}
		if i > 0 {
			args = append(args, "--append")
		}
		if code, _, errs := wimCLI(t, args...); code != 0 {
			t.Fatalf("capture: exit %d: %s", code, errs)
		}
	}
	dir := t.TempDir()
	dest := filepath.Join(dir, "install.swm")
	code, out, errs := wimCLI(t, "split", file, dest, "--part-size", "2K")
	if code != 0 {
		t.Fatalf("split: exit %d: %s", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) < 2 || !strings.HasPrefix(lines[0], dest+": part 1 of ") || !strings.HasPrefix(lines[1], filepath.Join(dir, "install2.swm")+": part 2 of ") {
		t.Fatalf("split printed:\n%s", out)
	}
	glob := filepath.Join(dir, "install*.swm")
	oracle.Run(t, "verify", dest, "--ref="+glob)
	for i, tree := range []string{a, b} {
		ours := filepath.Join(t.TempDir(), "ours")
		name := []string{"Home", "Pro"}[i]
		if code, _, errs := wimCLI(t, "apply", dest, name, ours, "--ref", glob); code != 0 {
			t.Fatalf("apply %s: exit %d: %s", name, code, errs)
		}
		sameFiles(t, tree, ours)
		theirs := filepath.Join(t.TempDir(), "theirs")
		oracle.Run(t, "apply", dest, string(rune('1'+i)), theirs, "--ref="+glob)
		sameFiles(t, tree, theirs)
	}
	if code, out, errs := wimCLI(t, "verify", dest, "--ref", glob); code != 0 || !strings.Contains(out, "OK") {
		t.Errorf("verify: exit %d: %s%s", code, out, errs)
	}

	// A second split to the same name is refused and changes nothing.
	before, _ := os.ReadDir(dir)
	code, _, errs = wimCLI(t, "split", file, dest, "--part-size", "2K")
	if code != 1 || !strings.Contains(errs, "install.swm already exists") {
		t.Errorf("split over an existing set: exit %d: %s", code, errs)
	}
	if after, _ := os.ReadDir(dir); len(after) != len(before) {
		t.Errorf("%d files in the folder, %d before", len(after), len(before))
	}
	// A wrong size is a usage error.
	if code, _, errs := wimCLI(t, "split", file, filepath.Join(dir, "x.swm"), "--part-size", "big"); code != 2 || !strings.Contains(errs, "--part-size") {
		t.Errorf("--part-size big: exit %d: %s", code, errs)
	}
}

// TestExportSplit: export --split writes a new split set of the chosen
// images and leaves no working file behind.
func TestExportSplit(t *testing.T) {
	oracle.Wimlib(t)
	a, b := writeTree(t, "a"), writeTree(t, "b")
	file := filepath.Join(t.TempDir(), "install.wim")
	for i, tree := range []string{a, b} {
		args := []string{"capture", tree, file, "--name", []string{"Home", "Pro"}[i]}
		if i > 0 {
			args = append(args, "--append")
		}
		if code, _, errs := wimCLI(t, args...); code != 0 {
			t.Fatalf("capture: exit %d: %s", code, errs)
		}
	}
	dir := t.TempDir()
	dest := filepath.Join(dir, "pro.swm")
	code, out, errs := wimCLI(t, "export", file, "Pro", dest, "--split", "2K", "--compress", "xpress")
	if code != 0 {
		t.Fatalf("export --split: exit %d: %s", code, errs)
	}
	if !strings.Contains(out, "image 2 of "+file+" exported as image 1") || !strings.Contains(out, "split into") {
		t.Errorf("export printed:\n%s", out)
	}
	glob := filepath.Join(dir, "pro*.swm")
	parts, _ := filepath.Glob(glob)
	entries, _ := os.ReadDir(dir)
	if len(parts) < 2 || len(entries) != len(parts) {
		t.Fatalf("parts %q; the folder holds %d entries", parts, len(entries))
	}
	theirs := filepath.Join(t.TempDir(), "theirs")
	oracle.Run(t, "apply", dest, "1", theirs, "--ref="+glob)
	sameFiles(t, b, theirs)
	if info := oracle.Run(t, "info", dest); !strings.Contains(info, "Compression:    XPRESS") || !strings.Contains(info, "Image Count:    1") {
		t.Errorf("wimlib info:\n%s", info)
	}
	// Onto an existing set: refused, nothing changes.
	if code, _, errs := wimCLI(t, "export", file, "Home", dest, "--split", "2K"); code != 1 || !strings.Contains(errs, "already exists") {
		t.Errorf("export --split onto an existing set: exit %d: %s", code, errs)
	}
	if after, _ := os.ReadDir(dir); len(after) != len(entries) {
		t.Errorf("%d entries after the refused export, %d before", len(after), len(entries))
	}
}

// TestExportImageSplit: export-image --split writes an image of a store's
// group as a new split set, from a local store and through --server (the
// image downloaded, then split here); wimlib-imagex verifies and applies
// the set, and so does our apply. --split with --overwrite yes or append,
// a bad size and an existing set are refused and change nothing.
func TestExportImageSplit(t *testing.T) {
	oracle.Wimlib(t)
	st := filepath.Join(t.TempDir(), "RemoteInstall")
	tree := writeTree(t, "xs")
	src := filepath.Join(t.TempDir(), "install.wim")
	if code, _, errs := wimCLI(t, "capture", tree, src, "--name", "Pro", "--compress", "xpress"); code != 0 {
		t.Fatalf("capture: exit %d: %s", code, errs)
	}
	for _, args := range [][]string{{"add-image-group", "Win"}, {"add-image", src, "--group", "Win"}} {
		if code, out, errs := run(t, append([]string{"--store", st}, args...)...); code != 0 {
			t.Fatalf("%q: exit %d: %s%s", args, code, out, errs)
		}
	}
	check := func(t *testing.T, global []string) {
		dir := t.TempDir()
		dest := filepath.Join(dir, "install.swm")
		exportImage := func(args ...string) (int, string, string) {
			return run(t, append(append(append([]string{}, global...), "export-image", "Win/install"), args...)...)
		}
		code, out, errs := exportImage(dest, "--split", "2K")
		if code != 0 {
			t.Fatalf("export-image --split: exit %d: %s%s", code, out, errs)
		}
		glob := filepath.Join(dir, "install*.swm")
		parts, _ := filepath.Glob(glob)
		entries, _ := os.ReadDir(dir)
		if len(parts) < 2 || len(entries) != len(parts) {
			t.Fatalf("parts %q; the folder holds %d entries (a working file left behind?)", parts, len(entries))
		}
		if want := "exported Win/install to " + dest + "\n" + dest + ": split into " + strconv.Itoa(len(parts)) + " parts: " + dest + ", " + filepath.Join(dir, "install2.swm"); !strings.HasPrefix(out, want) {
			t.Errorf("export-image printed:\n%s\nwant it to begin with:\n%s", out, want)
		}
		oracle.Run(t, "verify", dest, "--ref="+glob)
		theirs := filepath.Join(t.TempDir(), "theirs")
		oracle.Run(t, "apply", dest, "1", theirs, "--ref="+glob)
		sameFiles(t, tree, theirs)
		ours := filepath.Join(t.TempDir(), "ours")
		if code, _, errs := wimCLI(t, "apply", dest, "1", ours, "--ref", glob); code != 0 {
			t.Fatalf("apply: exit %d: %s", code, errs)
		}
		sameFiles(t, tree, ours)
		if info := oracle.Run(t, "info", dest); !strings.Contains(info, "Part Number:    1/"+strconv.Itoa(len(parts))) || !strings.Contains(info, "Compression:    XPRESS") {
			t.Errorf("wimlib info:\n%s", info)
		}
		// 7-Zip tests the set as it tests wimlib-imagex's split of the
		// same image: both pass, or (7-Zip 16.02 on some sets of parts
		// smaller than their first) both fail alike.
		whole := filepath.Join(t.TempDir(), "whole.wim")
		if code, _, errs := run(t, append(append([]string{}, global...), "export-image", "Win/install", whole)...); code != 0 {
			t.Fatalf("export-image: exit %d: %s", code, errs)
		}
		theirSet := filepath.Join(t.TempDir(), "install.swm")
		oracle.Run(t, "split", whole, theirSet, "0.001953125") // 2 KiB, in MiB
		if ours, theirs := sevenZipTest(t, dest), sevenZipTest(t, theirSet); ours != theirs {
			t.Errorf("7z t: our set: %s; wimlib-imagex's split of the same image: %s", ours, theirs)
		}

		for _, c := range []struct {
			args []string
			code int
			want string
		}{
			{[]string{dest, "--split", "2K"}, 1, "install.swm already exists"},
			{[]string{filepath.Join(dir, "new.swm"), "--split", "2K", "--overwrite", "append"}, 2, "--split and --overwrite append cannot be used together"},
			{[]string{filepath.Join(dir, "new.swm"), "--split", "2K", "--overwrite", "yes"}, 2, "--split and --overwrite yes cannot be used together"},
			{[]string{filepath.Join(dir, "new.swm"), "--split", "big"}, 2, `--split: size "big"`},
		} {
			if code, out, errs := exportImage(c.args...); code != c.code || !strings.Contains(errs, c.want) {
				t.Errorf("export-image %q: exit %d, stderr %q%s; want exit %d, %q", c.args, code, errs, out, c.code, c.want)
			}
		}
		if after, _ := os.ReadDir(dir); len(after) != len(entries) {
			t.Errorf("%d entries after the refused exports, %d before", len(after), len(entries))
		}
	}
	t.Run("local", func(t *testing.T) { check(t, []string{"--store", st}) })
	t.Run("remote", func(t *testing.T) {
		url, fp, token := startRemote(t, st)
		check(t, []string{"--server", url, "--token", token, "--fingerprint", fp})
	})
}

// TestSplitPipableCommand: split of a pipable WIM (wimlib's) writes
// pipable parts, as wimlib-imagex split does, that wimlib and we read with
// --ref and, sent one after the other, from a pipe.
func TestSplitPipableCommand(t *testing.T) {
	oracle.Wimlib(t)
	a, b := writeTree(t, "pa"), writeTree(t, "pb")
	file := filepath.Join(t.TempDir(), "install.wim")
	oracle.Run(t, "capture", a, file, "Home", "--pipable", "--compress=lzx")
	oracle.Run(t, "append", b, file, "Pro")
	dir := t.TempDir()
	dest := filepath.Join(dir, "install.swm")
	if code, _, errs := wimCLI(t, "split", file, dest, "--part-size", "1K"); code != 0 {
		t.Fatalf("split: exit %d: %s", code, errs)
	}
	glob, parts := setParts(t, dest)
	var all []byte
	for _, p := range parts {
		if info := oracle.Run(t, "info", p); !strings.Contains(info, "Pipable") {
			t.Errorf("wimlib does not see %s as pipable:\n%s", p, info)
		}
		all = append(all, mustRead(t, p)...)
	}
	oracle.Run(t, "verify", dest, "--ref="+glob)
	theirs := filepath.Join(t.TempDir(), "theirs")
	oracle.Run(t, "apply", dest, "Pro", theirs, "--ref="+glob)
	sameFiles(t, b, theirs)
	cmd := exec.Command(oracle.Wimlib(t), "apply", "-", "1", filepath.Join(dir, "wimlib-pipe"))
	cmd.Stdin = bytes.NewReader(all)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cat parts | wimlib-imagex apply - 1: %v\n%s", err, out)
	}
	sameFiles(t, a, filepath.Join(dir, "wimlib-pipe"))
	for i, tree := range []string{a, b} {
		ours := filepath.Join(t.TempDir(), "ours")
		if code, _, errs := wimCLI(t, "apply", dest, strconv.Itoa(i+1), ours, "--ref", glob); code != 0 {
			t.Fatalf("apply --ref: exit %d: %s", code, errs)
		}
		sameFiles(t, tree, ours)
		pipe := filepath.Join(t.TempDir(), "pipe")
		if code, _, errs := runStdin(t, bytes.NewReader(all), "apply", "-", strconv.Itoa(i+1), pipe); code != 0 {
			t.Fatalf("cat parts | apply - %d: exit %d: %s", i+1, code, errs)
		}
		sameFiles(t, tree, pipe)
	}
}

// sevenZipTest runs 7z t on the first part of a split set and returns its
// verdict: "ok", or the errors 7-Zip reports (without the file's name and
// sizes, so that two sets can be compared).
func sevenZipTest(t *testing.T, first string) string {
	t.Helper()
	out, err := exec.Command(oracle.Need(t, "7z"), "t", first).CombinedOutput()
	if err == nil && strings.Contains(string(out), "Everything is Ok") {
		return "ok"
	}
	var errs []string
	for _, l := range strings.Split(string(out), "\n") {
		if l = strings.TrimSpace(l); strings.Contains(l, "rror") || strings.HasPrefix(l, "Unexpected") || strings.HasPrefix(l, "Volumes") {
			errs = append(errs, l)
		}
	}
	return fmt.Sprintf("failed (%v): %s", err, strings.Join(errs, "; "))
}

// TestExportPipableSplitCheck: export --pipable --split writes a set of
// pipable parts (it used to be refused), --check an integrity table in
// each; split --check does the same for a whole file. wimlib verifies and
// applies each set with --ref; sent one after the other, the parts apply
// from a pipe with ours (wimlib-imagex 1.13's pipe reader stops at the
// first part's integrity table, on its own sets too).
func TestExportPipableSplitCheck(t *testing.T) {
	oracle.Wimlib(t)
	a, b := writeTree(t, "qa"), writeTree(t, "qb")
	file := filepath.Join(t.TempDir(), "install.wim")
	oracle.Run(t, "capture", a, file, "Home", "--compress=lzx")
	oracle.Run(t, "append", b, file, "Pro")
	for _, tc := range []struct {
		name    string
		args    func(dest string) []string
		pipable bool
	}{
		{"export", func(dest string) []string {
			return []string{"export", file, "all", dest, "--pipable", "--split", "1K", "--check"}
		}, true},
		{"split", func(dest string) []string { return []string{"split", file, dest, "--part-size", "1K", "--check"} }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			dest := filepath.Join(dir, "install.swm")
			if code, _, errs := wimCLI(t, tc.args(dest)...); code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			glob, parts := setParts(t, dest)
			var all []byte
			for _, p := range parts {
				info := oracle.Run(t, "info", p, "--check")
				_, attrs, _ := strings.Cut(info, "Attributes:")
				attrs, _, _ = strings.Cut(attrs, "\n")
				if strings.Contains(attrs, "Pipable") != tc.pipable || !strings.Contains(attrs, "Integrity info") {
					t.Errorf("%s: want pipable %v, with an integrity table:\n%s", p, tc.pipable, info)
				}
				all = append(all, mustRead(t, p)...)
			}
			oracle.Run(t, "verify", dest, "--ref="+glob)
			theirs := filepath.Join(t.TempDir(), "theirs")
			oracle.Run(t, "apply", dest, "Pro", theirs, "--ref="+glob)
			sameFiles(t, b, theirs)
			if !tc.pipable {
				return
			}
			for i, tree := range []string{a, b} {
				pipe := filepath.Join(t.TempDir(), "pipe")
				if code, _, errs := runStdin(t, bytes.NewReader(all), "apply", "-", strconv.Itoa(i+1), pipe); code != 0 {
					t.Fatalf("cat parts | apply - %d: exit %d: %s", i+1, code, errs)
				}
				sameFiles(t, tree, pipe)
			}
		})
	}
}

// setParts returns the glob that finds the parts of the split set whose
// first part is dest (install.swm: install*.swm) and the parts, dest
// first; it fails unless there are at least two.
func setParts(t *testing.T, dest string) (string, []string) {
	t.Helper()
	glob := strings.TrimSuffix(dest, filepath.Ext(dest)) + "*" + filepath.Ext(dest)
	parts, _ := filepath.Glob(glob)
	if len(parts) < 2 {
		t.Fatalf("parts %q", parts)
	}
	return glob, append([]string{dest}, slices.DeleteFunc(parts, func(p string) bool { return p == dest })...)
}
