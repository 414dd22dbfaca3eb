package cli

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/wimconsole/wimconsole/app"
)

func init() {
	register(newInitializeServerCmd)
	register(newVersionCmd)
}

// localServer resolves --store (or the default) and opens the store as the
// local server the use cases of app run on, creating its layout when
// missing.
func localServer(env *Env) (*app.Server, error) {
	root, err := app.ResolveRoot(env.Store)
	if err != nil {
		return nil, err
	}
	return app.LocalServer(root)
}

func newInitializeServerCmd(env *Env) *cobra.Command {
	return &cobra.Command{
		Use:   "initialize-server",
		Short: "Create the image store (WDS RemoteInstall layout) if it does not exist",
		Long: `Create the image store at --store (or $WIMCONSOLE_STORE, or the per-user
default) with the folders Windows Deployment Services uses — Images for image
groups, Boot/<arch>/Images for boot images — and an empty catalog in
WdsConsole/catalog.db. An existing store is left as it is. Prints the store's
path.`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := localServer(env)
			if err != nil {
				return err
			}
			fmt.Fprintln(env.Stdout, s.Root())
			return nil
		},
	}
}

func newVersionCmd(env *Env) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of WIM Console",
		Long: `Print the program's name and version, the commit it was built from
(", modified" when built from a work tree with uncommitted changes) and the
commit's date, as the Go toolchain stamped them into the binary; then the
platform and the Go release it was built with.`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			fmt.Fprintf(env.Stdout, "%s %s\n%s/%s, %s\n", env.name(), app.Version(), runtime.GOOS, runtime.GOARCH, runtime.Version())
			return nil
		},
	}
}
