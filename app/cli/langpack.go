package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/wimconsole/wimconsole/app"
)

func init() { register(newLangPackCmd) }

func newLangPackCmd(env *Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "langpack list|add|remove IMAGE ...",
		Short: "Associate language packs (.cab) with an install image",
		Long: `Language packs are cabinet files kept with an image's external data, in
Images/<Group>/<file>/LangPacks/. They travel with the image through
replace-image, copy-image and regroup, as WDS keeps them.`,
		Args: exactArgs(0, "a subcommand: add, list or remove"),
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	var asJSON bool
	list := &cobra.Command{
		Use:   "list IMAGE [--json]",
		Short: "List an image's language packs",
		Long:  `Print the file names of the language packs kept with IMAGE, one a line.`,
		Example: `  wimconsole langpack list Lab/install
  wimconsole langpack list Lab/install --json`,
		Args: exactArgs(1, "an image (GROUP/FILE)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return onLocalImage(env, cmd, args[0], func(ctx context.Context, srv *app.Server, r app.ImageRef) error {
				packs, err := srv.LanguagePacks(ctx, r)
				if err != nil {
					return err
				}
				names := make([]string, len(packs))
				for i, p := range packs {
					names[i] = p.Name
				}
				if asJSON {
					return printJSONList(env, names)
				}
				for _, n := range names {
					fmt.Fprintln(env.Stdout, n)
				}
				return nil
			})
		},
	}
	list.Flags().BoolVar(&asJSON, "json", false, "print a JSON array of file names")
	add := &cobra.Command{
		Use:   "add IMAGE FILE.cab",
		Short: "Associate a language pack with an image (replaces one of the same name)",
		Long: `Copy the cabinet file FILE.cab into IMAGE's LangPacks folder, replacing a
language pack of the same name. A file that is not a cabinet changes nothing.`,
		Example: `  wimconsole langpack add Lab/install fr-fr.cab`,
		Args:    exactArgs(2, "an image (GROUP/FILE) and a .cab file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return onLocalImage(env, cmd, args[0], func(ctx context.Context, srv *app.Server, r app.ImageRef) error {
				if err := srv.AddLanguagePack(ctx, r, args[1]); err != nil {
					return err
				}
				fmt.Fprintf(env.Stdout, "added %s to %s\n", args[1], r)
				return nil
			})
		},
	}
	remove := &cobra.Command{
		Use:     "remove IMAGE NAME.cab",
		Short:   "Remove a language pack from an image",
		Long:    `Remove the language pack NAME.cab (as langpack list prints it) from IMAGE.`,
		Example: `  wimconsole langpack remove Lab/install fr-fr.cab`,
		Args:    exactArgs(2, "an image (GROUP/FILE) and a language pack's file name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return onLocalImage(env, cmd, args[0], func(ctx context.Context, srv *app.Server, r app.ImageRef) error {
				if err := srv.RemoveLanguagePack(ctx, r, args[1]); err != nil {
					return err
				}
				fmt.Fprintf(env.Stdout, "removed %s from %s\n", args[1], r)
				return nil
			})
		},
	}
	cmd.AddCommand(list, add, remove)
	return cmd
}
