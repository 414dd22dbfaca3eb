package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/wimconsole/wimconsole/engine/wim"
)

// serviceCommands are the commands that work on a server too (--server).
var serviceCommands = map[string]bool{
	"add-image-group": true, "remove-image-group": true, "set-image-group": true,
	"get-all-image-groups": true, "add-image": true, "get-all-images": true,
	"get-image": true, "set-image": true, "export-image": true,
	"replace-image": true, "copy-image": true, "remove-image": true,
	"regroup": true, "space": true, "verify-store": true, "install-image": true,
	"copy-image-group": true,
}

// TestStoreCommandsLocalAndRemote plays the same script of store commands
// on a local store and, through --server, on a server whose store is at
// the same path, and checks that each step prints the same (but for the
// store's root and a group's folder, which a server does not show) and exits with the same
// code: the commands are written once over app.Service. install-image says, through
// a server, which server it installed from; the hint for a disabled image
// names the image either way.
func TestStoreCommandsLocalAndRemote(t *testing.T) {
	base := t.TempDir()
	st := filepath.Join(base, "RemoteInstall")
	outDir := filepath.Join(base, "out")
	tree := writeTree(t, "seam")
	src := filepath.Join(t.TempDir(), "install.wim")
	if _, err := wim.Capture(context.Background(), tree, src, wim.CaptureOptions{Compression: wim.XPRESS}); err != nil {
		t.Fatal(err)
	}
	out := func(name string) string { return filepath.Join(outDir, name) }
	steps := []struct {
		code   int
		stderr string // what stderr must hold, both ways
		args   []string
	}{
		{0, "", []string{"add-image-group", "Win"}},
		{1, "", []string{"add-image-group", "Win"}},
		{0, "", []string{"add-image", src, "--group", "Win"}},
		{0, "", []string{"add-image", src, "--group", "Win", "--index", "1", "--filename", "two", "--name", "Two", "--description", "second"}},
		{0, "", []string{"get-all-image-groups"}},
		{0, "", []string{"get-all-image-groups", "--json"}},
		{0, "", []string{"get-all-images"}},
		{0, "", []string{"get-all-images", "--group", "Win", "--type", "install", "--json"}},
		{2, "", []string{"get-all-images", "--type", "neither"}},
		{0, "", []string{"get-image", "Win/two"}},
		{0, "", []string{"get-image", "Win/install", "--json"}},
		{1, "", []string{"get-image", "Win/none"}},
		{2, "", []string{"set-image", "Win/install"}},
		{0, "", []string{"set-image", "Win/install", "--enabled", "no", "--display-order", "3"}},
		{1, "(", []string{"install-image", "Win/install", out("disabled")}},
		{0, "", []string{"set-image", "Win/install", "--enabled", "yes", "--name", "Renamed"}},
		{0, "", []string{"get-image", "Win/install"}},
		{0, "", []string{"install-image", "Win/install", out("inst")}},
		{0, "", []string{"export-image", "Win/install", out("e.wim")}},
		{0, "", []string{"export-image", "Win/two", out("e.wim"), "--overwrite", "append", "--name", "Appended"}},
		{0, "", []string{"copy-image", "Win/install", "--filename", "copy"}},
		{0, "", []string{"set-image", "Win/copy", "--enabled", "no"}},
		{0, "", []string{"replace-image", "Win/copy", src, "--force", "--name", "Replaced"}},
		{0, "", []string{"get-image", "Win/copy", "--json"}},
		{0, "", []string{"remove-image", "Win/copy"}},
		{0, "", []string{"space"}},
		{0, "", []string{"space", "Win", "--json"}},
		{0, "", []string{"regroup", "Win"}},
		{0, "", []string{"verify-store"}},
		{0, "", []string{"verify-store", "Win"}},
		{0, "", []string{"set-image-group", "Win", "--name", "Win2"}},
		{1, "", []string{"remove-image-group", "Win2"}},
		{0, "", []string{"remove-image-group", "Win2", "--force"}},
		{0, "", []string{"get-all-image-groups", "--json"}},
	}
	// The disabled image's hint.
	steps[14].stderr = "set-image Win/install --enabled yes)"
	type result struct {
		code        int
		out, errOut string
	}
	play := func(how string, global ...string) []result {
		if err := os.RemoveAll(outDir); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(outDir, 0o755); err != nil {
			t.Fatal(err)
		}
		var rs []result
		for _, s := range steps {
			code, o, e := run(t, append(append([]string{}, global...), s.args...)...)
			if code != s.code || !strings.Contains(e, s.stderr) {
				t.Errorf("%s %q: exit %d, stderr %q; want exit %d, stderr with %q", how, s.args, code, e, s.code, s.stderr)
			}
			rs = append(rs, result{code, o, e})
		}
		return rs
	}
	local := play("local", "--store", st)
	if err := os.Rename(st, filepath.Join(base, "played-locally")); err != nil {
		t.Fatal(err)
	}
	url, fp, token := startRemote(t, st)
	groupPath := regexp.MustCompile(`"path": "` + regexp.QuoteMeta(filepath.Join(st, "Images")) + `/[^/"]*"`)
	remote := play("remote", "--server", url, "--token", token, "--fingerprint", fp)
	for i, s := range steps {
		want := groupPath.ReplaceAllString(local[i].out, `"path": ""`)
		want = strings.ReplaceAll(want, st+string(filepath.Separator), "")
		if s.args[0] == "install-image" && s.code == 0 {
			want = strings.TrimSuffix(want, "\n") + " from " + url + "\n"
		}
		if remote[i].out != want {
			t.Errorf("%q prints through the server:\n%s\nand locally:\n%s", s.args, remote[i].out, want)
		}
	}
	if t.Failed() {
		return
	}
	if !strings.Contains(local[14].errOut, "(enable it with: set-image") ||
		!strings.Contains(remote[14].errOut, "(an administrator can enable it with: set-image") {
		t.Errorf("disabled image hint: local %q, remote %q", local[14].errOut, remote[14].errOut)
	}
	sameFiles(t, tree, out("inst"))
}

// TestLocalOnlyCommandsRefuseServer runs every command and subcommand but
// the store commands with --server and checks that each refuses it with
// exit 2, naming itself, before anything else (its required flags, its
// store); the store commands, cobra's help and completion do not.
func TestLocalOnlyCommandsRefuseServer(t *testing.T) {
	root := NewRoot(&Env{Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}})
	var cmds []*cobra.Command
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			if sub.Runnable() {
				cmds = append(cmds, sub)
			}
			walk(sub)
		}
	}
	walk(root)
	if len(cmds) < 30 {
		t.Fatalf("only %d commands in the tree", len(cmds))
	}
	seen := map[string]bool{}
	st := filepath.Join(t.TempDir(), "RemoteInstall")
	for _, c := range cmds {
		path := strings.Fields(c.CommandPath())[1:]
		args := append([]string{"--store", st, "--server", "https://127.0.0.1:1", "--token", "x"}, path...)
		for _, a := range useArgs(c) {
			if !a.Optional && !c.HasSubCommands() {
				args = append(args, "x")
			}
		}
		code, _, errOut := run(t, args...)
		name := strings.Join(path, " ")
		refused := strings.Contains(errOut, name+" works on local files only (not with --server)")
		if serviceCommands[name] {
			seen[name] = true
			if refused {
				t.Errorf("%s refuses --server: %s", name, errOut)
			}
			continue
		}
		if code != ExitUsage || !refused {
			t.Errorf("%q: exit %d, stderr %q; want exit 2, %s works on local files only", args[6:], code, errOut, name)
		}
	}
	for name := range serviceCommands {
		if !seen[name] {
			t.Errorf("no command %s", name)
		}
	}
	if _, err := os.Stat(st); !os.IsNotExist(err) {
		t.Errorf("a refused command created the store: %v", err)
	}
	for _, args := range [][]string{{"help", "info"}, {"completion", "bash"}, {"__complete", "get-image", ""}} {
		if code, _, errOut := run(t, append([]string{"--server", "https://127.0.0.1:1"}, args...)...); code != ExitOK {
			t.Errorf("%q with --server: exit %d, stderr %q", args, code, errOut)
		}
	}
}
