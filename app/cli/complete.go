package cli

import (
	"context"
	"strings"
	"unicode"

	"github.com/spf13/cobra"

	"github.com/wimconsole/wimconsole/app"
)

// A useArg is one positional argument a command's Use line names.
type useArg struct {
	Name     string // as written: IMAGE, FILE.cab, IMAGE|all
	Optional bool   // written [NAME]
	Variadic bool   // written NAME... (any number from one, or from none when optional)
}

// useArgs returns the positional arguments cmd's Use line names, in order.
// Flags are skipped, with the value word of a flag that takes one
// (--name N); a bracketed group that starts with a flag ([--group G]...) is
// a flag; "..." after a word makes it variadic.
func useArgs(cmd *cobra.Command) []useArg {
	var args []useArg
	toks := useTokens(cmd.Use)
	for i := 1; i < len(toks); i++ {
		t := toks[i]
		switch {
		case t == "..." || t == "|":
			if t == "..." && len(args) > 0 {
				args[len(args)-1].Variadic = true
			}
		case strings.HasPrefix(t, "["):
			inner := strings.TrimSuffix(t, "...")
			inner = strings.TrimSuffix(strings.TrimPrefix(inner, "["), "]")
			if strings.HasPrefix(inner, "-") {
				continue
			}
			a := useArg{Name: inner, Optional: true, Variadic: strings.HasSuffix(t, "...")}
			if strings.HasSuffix(inner, "...") {
				a.Name, a.Variadic = strings.TrimSuffix(inner, "..."), true
			}
			args = append(args, a)
		case strings.HasPrefix(t, "-"):
			name := strings.TrimLeft(strings.SplitN(t, "|", 2)[0], "-")
			if f := cmd.Flags().Lookup(name); f != nil && f.Value.Type() != "bool" {
				i++ // the flag's value
			}
		default:
			args = append(args, useArg{Name: strings.TrimSuffix(t, "..."), Variadic: strings.HasSuffix(t, "...")})
		}
	}
	return args
}

// useTokens splits a Use line into words, a bracketed group being one word.
func useTokens(use string) []string {
	var toks []string
	var cur strings.Builder
	depth := 0
	for _, r := range use {
		switch {
		case r == '[':
			depth++
		case r == ']':
			depth--
		case unicode.IsSpace(r) && depth == 0:
			if cur.Len() > 0 {
				toks = append(toks, cur.String())
				cur.Reset()
			}
			continue
		}
		cur.WriteRune(r)
	}
	if cur.Len() > 0 {
		toks = append(toks, cur.String())
	}
	return toks
}

// wimFileCommands are the commands on WIM files, whose IMAGE is an index or
// a name inside FILE, not an image of the store: their arguments complete
// as file names.
var wimFileCommands = map[string]bool{
	"info": true, "dir": true, "apply": true, "verify": true,
	"capture": true, "export": true, "optimize": true, "delete": true,
}

// wireCompletion gives every store command whose Use line names an IMAGE
// (GROUP/FILE or boot/ARCH/FILE) or a GROUP a completion of those words
// from the store, and --group flags the group names.
func wireCompletion(env *Env, root *cobra.Command) {
	var walk func(cmd *cobra.Command)
	walk = func(cmd *cobra.Command) {
		for _, sub := range cmd.Commands() {
			walk(sub)
		}
		if cmd.Flags().Lookup("group") != nil {
			cmd.RegisterFlagCompletionFunc("group", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
				return completeStore(env, "GROUP")
			})
		}
		if cmd.HasSubCommands() || cmd.ValidArgsFunction != nil || wimFileCommands[cmd.Name()] {
			return
		}
		args := useArgs(cmd)
		wanted := false
		for _, a := range args {
			wanted = wanted || a.Name == "IMAGE" || a.Name == "GROUP"
		}
		if !wanted {
			return
		}
		cmd.ValidArgsFunction = func(_ *cobra.Command, done []string, _ string) ([]string, cobra.ShellCompDirective) {
			n := len(done)
			if n >= len(args) {
				if len(args) == 0 || !args[len(args)-1].Variadic {
					return nil, cobra.ShellCompDirectiveNoFileComp
				}
				n = len(args) - 1
			}
			switch args[n].Name {
			case "IMAGE", "GROUP":
				return completeStore(env, args[n].Name)
			}
			return nil, cobra.ShellCompDirectiveDefault
		}
	}
	walk(root)
}

// completeStore lists the store's images (kind IMAGE) or groups (GROUP)
// for shell completion, through the same service the console uses. The
// store is opened read-only: completing never creates or changes it. A
// store that cannot be read, or --server, offers nothing.
func completeStore(env *Env, kind string) ([]string, cobra.ShellCompDirective) {
	none := cobra.ShellCompDirectiveNoFileComp
	if env.Server != "" {
		return nil, none
	}
	root, err := app.ResolveRoot(env.Store)
	if err != nil {
		return nil, none
	}
	srv, err := app.ReadOnlyLocalServer(root)
	if err != nil {
		return nil, none
	}
	svc := srv.Service()
	ctx := context.Background()
	var out []string
	if kind == "GROUP" {
		groups, err := svc.GroupInfos(ctx)
		if err != nil {
			return nil, none
		}
		for _, g := range groups {
			out = append(out, g.Name)
		}
		return out, none
	}
	imgs, err := svc.ListImages(ctx, app.ListOptions{NoSpace: true})
	if err != nil {
		return nil, none
	}
	for _, im := range imgs {
		out = append(out, im.Ref)
	}
	return out, none
}
