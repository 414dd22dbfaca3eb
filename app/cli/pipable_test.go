package cli

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wimconsole/wimconsole/internal/oracle"
)

// runStdin runs a command line with stdin as its standard input.
func runStdin(t *testing.T, stdin io.Reader, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Execute(args, &Env{Stdout: &out, Stderr: &errb, Stdin: stdin})
	return code, out.String(), errb.String()
}

// wimlibApplyPipe runs `wimlib-imagex apply - index dir` with the file on
// its standard input.
func wimlibApplyPipe(t *testing.T, file, index, dir string) {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command(oracle.Wimlib(t), "apply", "-", index, dir)
	cmd.Stdin = struct{ io.Reader }{f} // a pipe, not the file
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cat %s | wimlib-imagex apply - %s: %v\n%s", file, index, err, out)
	}
}

// TestPipableCommands: info, dir, verify, apply (from the file and from
// standard input) and store add-image read wimlib's pipable WIMs; capture
// --pipable and export --pipable write pipable WIMs wimlib reads, from the
// file and from a pipe; capture --append keeps a pipable file pipable.
func TestPipableCommands(t *testing.T) {
	oracle.Wimlib(t)
	tree := writeTree(t, "p1")
	tree2 := writeTree(t, "p2")
	dir := t.TempDir()
	theirs := filepath.Join(dir, "theirs.wim")
	oracle.Run(t, "capture", tree, theirs, "One", "--pipable", "--compress=lzx")
	oracle.Run(t, "append", tree2, theirs, "Two")
	do := func(want int, args ...string) string {
		t.Helper()
		code, out, errOut := run(t, args...)
		if code != want {
			t.Fatalf("%q: exit %d, want %d\n%s%s", args, code, want, out, errOut)
		}
		return out
	}

	// Reading wimlib's.
	if got, want := do(ExitOK, "info", theirs), oracle.Run(t, "info", theirs); got != want {
		t.Errorf("info differs from wimlib-imagex info:\n--- ours\n%s\n--- wimlib\n%s", got, want)
	}
	if got, want := do(ExitOK, "dir", theirs, "2"), oracle.Run(t, "dir", theirs, "2"); got != want {
		t.Errorf("dir differs from wimlib-imagex dir:\n--- ours\n%s--- wimlib\n%s", got, want)
	}
	do(ExitOK, "verify", theirs)
	out := filepath.Join(t.TempDir(), "file")
	do(ExitOK, "apply", theirs, "Two", out)
	sameFiles(t, tree2, out)
	b, err := os.ReadFile(theirs)
	if err != nil {
		t.Fatal(err)
	}
	for _, image := range []string{"1", "Two"} {
		out := filepath.Join(t.TempDir(), "pipe")
		if code, _, errOut := runStdin(t, bytes.NewReader(b), "apply", "-", image, out); code != ExitOK {
			t.Fatalf("apply - %s: exit %d: %s", image, code, errOut)
		}
		if image == "1" {
			sameFiles(t, tree, out)
		} else {
			sameFiles(t, tree2, out)
		}
	}
	st := filepath.Join(t.TempDir(), "RemoteInstall")
	do(ExitOK, "--store", st, "add-image-group", "G")
	do(ExitOK, "--store", st, "add-image", theirs, "--group", "G")
	inst := filepath.Join(t.TempDir(), "inst")
	do(ExitOK, "--store", st, "install-image", "G/theirs-(2)", inst)
	sameFiles(t, tree2, inst)

	// Writing ours.
	ours := filepath.Join(dir, "ours.wim")
	do(ExitOK, "capture", tree, ours, "--name", "Mine", "--pipable", "--check")
	if info := oracle.Run(t, "info", ours); !strings.Contains(info, "Pipable, Integrity info") {
		t.Errorf("wimlib does not see a pipable WIM with an integrity table:\n%s", info)
	}
	oracle.Run(t, "verify", ours)
	out = filepath.Join(t.TempDir(), "wimlib-file")
	oracle.Run(t, "apply", ours, "1", out)
	sameFiles(t, tree, out)
	out = filepath.Join(t.TempDir(), "wimlib-pipe")
	wimlibApplyPipe(t, ours, "1", out)
	sameFiles(t, tree, out)

	exported := filepath.Join(dir, "exported.wim")
	do(ExitOK, "export", theirs, "all", exported, "--pipable", "--compress", "xpress")
	oracle.Run(t, "verify", exported)
	out = filepath.Join(t.TempDir(), "wimlib-pipe2")
	wimlibApplyPipe(t, exported, "2", out)
	sameFiles(t, tree2, out)
	// From a normal WIM too.
	normal := filepath.Join(dir, "normal.wim")
	oracle.Run(t, "capture", tree2, normal, "N")
	exported2 := filepath.Join(dir, "exported2.wim")
	do(ExitOK, "export", normal, "1", exported2, "--pipable")
	out = filepath.Join(t.TempDir(), "wimlib-pipe3")
	wimlibApplyPipe(t, exported2, "1", out)
	sameFiles(t, tree2, out)

	// A pipable file grows by being written again, still pipable.
	do(ExitOK, "capture", tree2, ours, "--name", "Added", "--append")
	if info := oracle.Run(t, "info", ours); !strings.Contains(info, "Pipable, Integrity info") || !strings.Contains(info, "Image Count:    2") {
		t.Errorf("after capture --append:\n%s", info)
	}
	out = filepath.Join(t.TempDir(), "wimlib-pipe4")
	wimlibApplyPipe(t, ours, "2", out)
	sameFiles(t, tree2, out)

	// What cannot be done, said so.
	for _, tc := range []struct {
		code  int
		stdin []byte
		args  []string
		want  string
	}{
		{ExitUsage, nil, []string{"capture", tree, ours, "--name", "x", "--pipable", "--append"}, "cannot be used with --append"},
		{ExitFailure, nil, []string{"export", theirs, "1", normal, "--pipable"}, "cannot become pipable in place"},
		{ExitUsage, b, []string{"apply", "-", "1", filepath.Join(dir, "o1"), "--ref", theirs}, "--ref cannot be used"},
		{ExitFailure, mustRead(t, normal), []string{"apply", "-", "1", filepath.Join(dir, "o2")}, "cannot be read from a pipe"},
		{ExitFailure, b, []string{"apply", "-", "Three", filepath.Join(dir, "o3")}, `no image named "Three"`},
		{ExitFailure, b[:len(b)/3], []string{"apply", "-", "2", filepath.Join(dir, "o4")}, "pipe ended"},
	} {
		code, _, errOut := runStdin(t, bytes.NewReader(tc.stdin), tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.want) {
			t.Errorf("%q: exit %d, %q; want exit %d and %q", tc.args, code, errOut, tc.code, tc.want)
		}
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
