package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// leaves returns every command of the tree below root that has no
// subcommands.
func leaves(root *cobra.Command) []*cobra.Command {
	var out []*cobra.Command
	for _, c := range root.Commands() {
		if c.HasSubCommands() {
			out = append(out, leaves(c)...)
		} else {
			out = append(out, c)
		}
	}
	return out
}

// TestUseMatchesArgs walks the whole command tree and checks that each
// leaf's Use line names its positional arguments as its Args validator
// accepts them: as many required words as the fewest arguments accepted,
// required plus [optional] words as the most, NAME... when there is no
// most; and that every leaf has a Short help line.
func TestUseMatchesArgs(t *testing.T) {
	const unbounded = 16
	root := NewRoot(&Env{Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}})
	for _, c := range leaves(root) {
		path := c.CommandPath()
		if c.Short == "" {
			t.Errorf("%s: no Short help", path)
		}
		if c.Args == nil {
			t.Errorf("%s: no Args validator (it takes any arguments)", path)
			continue
		}
		min, max := 0, 0
		variadic := false
		for _, a := range useArgs(c) {
			if !a.Optional {
				min++
			}
			max++
			variadic = variadic || a.Variadic
		}
		accepts := func(n int) bool { return c.Args(c, slices.Repeat([]string{"x"}, n)) == nil }
		var got []int
		for n := 0; n <= unbounded; n++ {
			if accepts(n) {
				got = append(got, n)
			}
		}
		if len(got) == 0 {
			t.Errorf("%s: accepts no argument count", path)
			continue
		}
		lo, hi := got[0], got[len(got)-1]
		if lo != min {
			t.Errorf("%s: Use %q names %d required argument%s, Args accepts %d at least", path, c.Use, min, plural(min), lo)
		}
		switch {
		case variadic && hi != unbounded:
			t.Errorf("%s: Use %q says any number (...), Args accepts %d at most", path, c.Use, hi)
		case !variadic && hi != max:
			t.Errorf("%s: Use %q names %d argument%s at most, Args accepts %d", path, c.Use, max, plural(max), hi)
		case len(got) != hi-lo+1:
			t.Errorf("%s: Args accepts the counts %v, not a range", path, got)
		}
	}
}

// TestUseArgsParser pins the reading of Use lines that TestUseMatchesArgs
// and completion rely on.
func TestUseArgsParser(t *testing.T) {
	tests := []struct {
		use   string
		flags func(c *cobra.Command)
		want  string
	}{
		{"get IMAGE HIVE KEY [VALUE]", nil, "IMAGE HIVE KEY [VALUE]"},
		{"set IMAGE HIVE KEY VALUE TYPE DATA...", nil, "IMAGE HIVE KEY VALUE TYPE DATA..."},
		{"capture DIR FILE --name NAME", func(c *cobra.Command) { c.Flags().String("name", "", "") }, "DIR FILE"},
		{"unmount DIR --commit|--discard [--new-image FILE]", func(c *cobra.Command) { c.Flags().Bool("commit", false, "") }, "DIR"},
		{"add-image FILE [--group G] [--index N]... [--type install|boot]", nil, "FILE"},
		{"status [IMAGE]", nil, "[IMAGE]"},
		{"replace-image IMAGE SOURCE [--wait DURATION | --force]", nil, "IMAGE SOURCE"},
		{"export SRC IMAGE|all DEST", nil, "SRC IMAGE|all DEST"},
		{"old IMAGE HIVE verb ...", nil, "IMAGE HIVE verb..."},
	}
	for _, tt := range tests {
		c := &cobra.Command{Use: tt.use}
		if tt.flags != nil {
			tt.flags(c)
		}
		var words []string
		for _, a := range useArgs(c) {
			w := a.Name
			if a.Variadic {
				w += "..."
			}
			if a.Optional {
				w = "[" + w + "]"
			}
			words = append(words, w)
		}
		if got := strings.Join(words, " "); got != tt.want {
			t.Errorf("useArgs(%q) = %q, want %q", tt.use, got, tt.want)
		}
	}
}

// TestSubcommandHelp: the subcommands of reg, unattend and langpack each
// have Short, Long and Example help.
func TestSubcommandHelp(t *testing.T) {
	root := NewRoot(&Env{Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}})
	for _, name := range []string{"reg", "unattend", "langpack"} {
		cmd, _, err := root.Find([]string{name})
		if err != nil || cmd.Name() != name {
			t.Fatalf("%s: %v", name, err)
		}
		if !cmd.HasSubCommands() {
			t.Errorf("%s has no subcommands", name)
		}
		for _, sub := range cmd.Commands() {
			if sub.Short == "" || sub.Long == "" || sub.Example == "" {
				t.Errorf("%s: Short %q, Long %q, Example %q", sub.CommandPath(), sub.Short, sub.Long, sub.Example)
			}
		}
	}
}

// TestCompletion completes image and group names from the store through
// cobra's hidden __complete command, as a shell does.
func TestCompletion(t *testing.T) {
	st, _ := regStore(t)
	complete := func(args ...string) []string {
		t.Helper()
		code, out, errOut := run(t, append([]string{"--store", st, "__complete"}, args...)...)
		if code != ExitOK {
			t.Fatalf("__complete %q: exit %d: %s", args, code, errOut)
		}
		var words []string
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			if !strings.HasPrefix(l, ":") {
				words = append(words, l)
			}
		}
		return words
	}
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"get-image", ""}, []string{"G/install"}},
		{[]string{"reg", "get", ""}, []string{"G/install"}},
		{[]string{"unattend", "set", ""}, []string{"G/install"}},
		{[]string{"langpack", "list", ""}, []string{"G/install"}},
		{[]string{"service", "begin", ""}, []string{"G/install"}},
		{[]string{"service", "status", ""}, []string{"G/install"}},
		{[]string{"space", ""}, []string{"G"}},
		{[]string{"remove-image-group", ""}, []string{"G"}},
		{[]string{"find", ""}, []string{"G"}},
		{[]string{"get-all-images", "--group", ""}, []string{"G"}},
		// Past the IMAGE: nothing from the store.
		{[]string{"get-image", "G/install", ""}, nil},
		{[]string{"reg", "get", "G/install", ""}, nil},
		// IMAGE of a WIM file is an index or a name in it, not the store's.
		{[]string{"dir", "x.wim", ""}, nil},
	}
	for _, tt := range tests {
		if got := complete(tt.args...); !slices.Equal(got, tt.want) {
			t.Errorf("__complete %q = %q, want %q", tt.args, got, tt.want)
		}
	}
	// A missing store offers nothing and is not created.
	missing := filepath.Join(t.TempDir(), "none")
	code, out, _ := run(t, "--store", missing, "__complete", "get-image", "")
	if code != ExitOK || strings.Contains(out, "G/install") {
		t.Fatalf("missing store: exit %d, %q", code, out)
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Fatalf("completion created the store: %v", err)
	}
}
