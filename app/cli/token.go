package cli

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/wimconsole/wimconsole/app"
)

func init() {
	register(newTokenCmd)
}

func newTokenCmd(env *Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token create|list|revoke",
		Short: "Manage the access tokens of the store's server",
		Long: `Manage the tokens that clients of 'wimconsole serve' present. Tokens are kept
hashed (SHA-256) in WdsConsole/tokens.db of the store; a token is shown once,
when it is created.

Roles: reader (list and download), operator (also install sessions, export
and verify), admin (also change the store). --group limits a token to image
groups (repeatable), as WDS's image group security does.`,
		Args: exactArgs(0, "a subcommand: create, list or revoke"),
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	tokens := func() (*app.Tokens, error) {
		root, err := app.ResolveRoot(env.Store)
		if err != nil {
			return nil, err
		}
		return app.OpenTokens(root)
	}
	var role, label string
	var groups []string
	create := &cobra.Command{
		Use:   "create --role admin|operator|reader [--group G]... [--label TEXT]",
		Short: "Create a token and print it (the last word of the output; shown once)",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := app.ParseRole(role)
			if err != nil {
				return &UsageError{err}
			}
			for _, g := range groups {
				if err := app.CheckGroupName(g); err != nil {
					return &UsageError{err}
				}
			}
			ts, err := tokens()
			if err != nil {
				return err
			}
			secret, t, err := ts.Create(r, groups, label)
			if err != nil {
				return err
			}
			scope := "all image groups"
			if len(t.Groups) > 0 {
				scope = "image groups " + strings.Join(t.Groups, ", ")
			}
			fmt.Fprintf(env.Stdout, "created %s token %s for %s; it is shown once, keep it now:\n%s\n", t.Role, t.ID, scope, secret)
			return nil
		},
	}
	create.Flags().StringVar(&role, "role", "", "admin, operator or reader (required)")
	create.Flags().StringSliceVar(&groups, "group", nil, "limit the token to this image group (repeatable)")
	create.Flags().StringVar(&label, "label", "", "a note on who holds the token")
	create.MarkFlagRequired("role")
	var asJSON bool
	list := &cobra.Command{
		Use:   "list [--json]",
		Short: "List the tokens (their ids, roles and groups; never the tokens)",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ts, err := tokens()
			if err != nil {
				return err
			}
			l, err := ts.List()
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(env, l)
			}
			tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tROLE\tGROUPS\tCREATED\tLABEL")
			for _, t := range l {
				g := "(all)"
				if len(t.Groups) > 0 {
					g = strings.Join(t.Groups, ",")
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t.ID, t.Role, g, t.Created.Format(time.RFC3339), t.Label)
			}
			return tw.Flush()
		},
	}
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	revoke := &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke a token (by the id 'token list' shows)",
		Args:  exactArgs(1, "a token id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ts, err := tokens()
			if err != nil {
				return err
			}
			if err := ts.Revoke(args[0]); err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "revoked token %s\n", args[0])
			return nil
		},
	}
	for _, c := range []*cobra.Command{create, list, revoke} {
		c.SilenceUsage, c.SilenceErrors = true, true
		cmd.AddCommand(c)
	}
	return cmd
}
