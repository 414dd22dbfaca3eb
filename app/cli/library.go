package cli

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/wimconsole/wimconsole/app"
)

func init() {
	register(newLibraryCmd)
	register(newPublishCmd)
	register(newPullCmd)
}

const libraryCredentialsHelp = `Credentials never go on the command line: they come from AWS_ACCESS_KEY_ID
and AWS_SECRET_ACCESS_KEY (and AWS_REGION), or from the credentials file given
to 'library add --credentials' (mode 0600, AWS_ACCESS_KEY_ID=… and
AWS_SECRET_ACCESS_KEY=… lines). The layout is in docs/library.md.`

func newLibraryCmd(env *Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "library add|list|verify|prune …",
		Short: "Image libraries: image groups on S3-compatible object storage",
		Long: `An image library is a bucket (and prefix) on an S3-compatible endpoint
(SeaweedFS, Ceph RGW, AWS S3, Garage) that many sites publish image groups to
and pull them from; the storage engine replicates it. See also 'publish' and
'pull'.

` + libraryCredentialsHelp,
		Args: exactArgs(0, "a subcommand: add, list, verify or prune"),
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	var cred string
	add := &cobra.Command{
		Use:   "add NAME URL [--credentials FILE]",
		Short: "Record a library: https://HOST:PORT/BUCKET/PREFIX (s3:// or http:// too)",
		Long: `Record the library NAME at URL (https://HOST:PORT/BUCKET[/PREFIX]; s3:// is
the same, http:// for a loopback or lab endpoint) in the library list of your
config folder. The bucket need not exist yet: the first publish creates it.

` + libraryCredentialsHelp,
		Args: exactArgs(2, "a name and a URL"),
		RunE: func(cmd *cobra.Command, args []string) error {
			path, err := app.LibraryListPath()
			if err != nil {
				return err
			}
			if err := app.AddLibrary(path, app.LibraryConfig{Name: args[0], URL: args[1], Credentials: cred}); err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "added library %s\n", args[0])
			return nil
		},
	}
	add.Flags().StringVar(&cred, "credentials", "", "file (mode 0600) with AWS_ACCESS_KEY_ID=… and AWS_SECRET_ACCESS_KEY=… lines (default: the environment)")

	var asJSON bool
	list := &cobra.Command{
		Use:   "list [NAME]",
		Short: "List the libraries, or a library's groups with their size and what this store lacks",
		Args:  rangeArgs(0, 1, "at most a library name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return listLibraries(env, asJSON)
			}
			return withLibrary(env, cmd, args[0], true, func(ctx context.Context, l *app.Library, local *app.LocalService) error {
				gs, err := l.Groups(ctx, local)
				if err != nil {
					return err
				}
				if asJSON {
					return printJSON(env, gs)
				}
				tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "GROUP\tIMAGES\tSIZE\tSTORED\tMISSING HERE\tPUBLISHED")
				for _, g := range gs {
					fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\n", g.Name, g.Images, app.FormatBytes(g.Size), app.FormatBytes(g.Stored), app.FormatBytes(g.MissingBytes), app.FormatDate(g.Published))
				}
				return tw.Flush()
			})
		},
	}
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON")

	verify := &cobra.Command{
		Use:   "verify NAME [GROUP]",
		Short: "Read back every object the library's groups use and check its SHA-1",
		Args:  rangeArgs(1, 2, "a library name and optionally a group"),
		RunE: func(cmd *cobra.Command, args []string) error {
			g := ""
			if len(args) == 2 {
				g = args[1]
			}
			return withLibrary(env, cmd, args[0], false, func(ctx context.Context, l *app.Library, _ *app.LocalService) error {
				report, done := progressLine(env)
				res, err := l.Verify(ctx, g, report)
				done()
				if err != nil {
					return err
				}
				for _, p := range res.Problems {
					fmt.Fprintln(env.Stdout, p)
				}
				fmt.Fprintf(env.Stdout, "%d groups, %d blobs, %d images, %d data files checked (%s read)\n", len(res.Groups), res.Blobs, res.Images, res.Files, app.FormatBytes(res.Bytes))
				if !res.OK() {
					return fmt.Errorf("library %s: %d damaged or missing objects: publish the groups concerned again", args[0], len(res.Problems))
				}
				return nil
			})
		},
	}

	var grace time.Duration
	var dry bool
	prune := &cobra.Command{
		Use:   "prune NAME [--grace 24h] [--dry-run]",
		Short: "Remove what no group of the library uses, once older than the grace period",
		Long: `Remove the manifests no group points to, and the blobs, images and data files
no remaining manifest uses, once they are older than --grace (so that a publish
under way keeps what it has uploaded). --dry-run only counts them.`,
		Args: exactArgs(1, "a library name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if grace < 0 {
				return usageErrorf("--grace must not be negative")
			}
			return withLibrary(env, cmd, args[0], false, func(ctx context.Context, l *app.Library, _ *app.LocalService) error {
				res, err := l.Prune(ctx, grace, dry)
				if err != nil {
					return err
				}
				verb := "removed"
				if dry {
					verb = "would remove"
				}
				fmt.Fprintf(env.Stdout, "%s %d manifests, %d blobs, %d images, %d data files (%s); kept %d younger than %s\n", verb, res.Manifests, res.Blobs, res.Images, res.Files, app.FormatBytes(res.Bytes), res.Kept, grace)
				return nil
			})
		},
	}
	prune.Flags().DurationVar(&grace, "grace", app.DefaultLibraryGrace, "leave unused objects younger than this")
	prune.Flags().BoolVar(&dry, "dry-run", false, "count what would be removed, remove nothing")

	for _, c := range []*cobra.Command{add, list, verify, prune} {
		c.SilenceUsage, c.SilenceErrors = true, true
		cmd.AddCommand(c)
	}
	return cmd
}

func newPublishCmd(env *Env) *cobra.Command {
	var to, as string
	cmd := &cobra.Command{
		Use:   "publish GROUP --to LIBRARY [--as NAME]",
		Short: "Publish an image group to an image library, uploading only what it lacks",
		Long: `Publish GROUP of the local store to LIBRARY (see 'library add') as --as NAME
(default: the same name): the blobs the library lacks are uploaded in parallel,
each as its compressed resource (never compressed again), then the images'
metadata and external data, then the group's manifest, and last the pointer
that makes the new group visible. An interrupted publish leaves the library's
group as it was; running the command again resumes it.

` + libraryCredentialsHelp,
		Args: exactArgs(1, "a group name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withLibrary(env, cmd, to, true, func(ctx context.Context, l *app.Library, local *app.LocalService) error {
				report, done := progressLine(env)
				res, err := l.Publish(ctx, local, args[0], as, report)
				done()
				if res != nil && err != nil && res.BlobsSent > 0 {
					fmt.Fprintf(env.Stderr, "%d blobs (%s) were uploaded before the failure; run the command again to resume\n", res.BlobsSent, app.FormatBytes(res.BytesSent))
				}
				if err != nil {
					return err
				}
				if res.Unchanged {
					fmt.Fprintf(env.Stdout, "%s is unchanged in library %s (manifest %s)\n", res.Group, l.Config().Name, res.Manifest)
					return nil
				}
				fmt.Fprintf(env.Stdout, "published %s to library %s: %d images, %d of %d blobs uploaded (%s), manifest %s\n", res.Group, l.Config().Name, res.Images, res.BlobsSent, res.Blobs, app.FormatBytes(res.BytesSent), res.Manifest)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&to, "to", "", "the library (a name from 'library add') (required)")
	cmd.Flags().StringVar(&as, "as", "", "the group's name in the library (default: the same)")
	cmd.MarkFlagRequired("to")
	return cmd
}

func newPullCmd(env *Env) *cobra.Command {
	var as string
	cmd := &cobra.Command{
		Use:   "pull LIBRARY/GROUP [--as NAME]",
		Short: "Bring an image group from an image library, downloading only what this store lacks",
		Long: `Bring GROUP of LIBRARY into the local store as --as NAME (default: the same
name): only the blobs the store's group lacks are downloaded, each checked (its
SHA-1) before anything is committed; they are appended to Res.rwm as every
append is (crash-safe), then the images the group lacks are added with their
unattend, $OEM$, language packs and state. A damaged blob in the library stops
the pull, naming it, before the store changes. An interrupted pull resumes when
run again.

` + libraryCredentialsHelp,
		Args: exactArgs(1, "LIBRARY/GROUP"),
		RunE: func(cmd *cobra.Command, args []string) error {
			name, g, ok := strings.Cut(args[0], "/")
			if !ok || name == "" || g == "" {
				return usageErrorf("pull expects LIBRARY/GROUP, not %q", args[0])
			}
			return withLibrary(env, cmd, name, true, func(ctx context.Context, l *app.Library, local *app.LocalService) error {
				report, done := progressLine(env)
				res, err := l.Pull(ctx, local, g, as, report)
				done()
				if res != nil && err != nil && res.BlobsReceived > 0 {
					fmt.Fprintf(env.Stderr, "%d blobs were added to Res.rwm before the failure; run the command again to resume\n", res.BlobsReceived)
				}
				if err != nil {
					return err
				}
				for _, r := range res.Images {
					fmt.Fprintf(env.Stdout, "pulled %s\n", r)
				}
				for _, r := range res.Updated {
					fmt.Fprintf(env.Stdout, "updated %s (changed in the library)\n", r)
				}
				fmt.Fprintf(env.Stdout, "group %s: %d images added, %d updated, %d there already; %d of %d blobs downloaded (%s)\n", res.Group, len(res.Images), len(res.Updated), len(res.Skipped), res.BlobsReceived, res.Blobs, app.FormatBytes(res.BytesReceived))
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&as, "as", "", "the group's name in this store (default: the same)")
	return cmd
}

// withLibrary opens library name and, when needStore, the local store (else
// fn gets nil), and runs fn with a context that Ctrl-C cancels.
func withLibrary(env *Env, cmd *cobra.Command, name string, needStore bool, fn func(ctx context.Context, l *app.Library, local *app.LocalService) error) error {
	path, err := app.LibraryListPath()
	if err != nil {
		return err
	}
	c, err := app.FindLibrary(path, name)
	if err != nil {
		return err
	}
	l, err := app.OpenLibrary(c)
	if err != nil {
		return err
	}
	var local *app.LocalService
	if needStore {
		s, err := localServer(env)
		if err != nil {
			return err
		}
		var ok bool
		if local, ok = s.Service().(*app.LocalService); !ok {
			return fmt.Errorf("%s works on a local store only", cmd.CommandPath())
		}
	}
	ctx, stop := signalContext(cmd)
	defer stop()
	return fn(ctx, l, local)
}

func listLibraries(env *Env, asJSON bool) error {
	path, err := app.LibraryListPath()
	if err != nil {
		return err
	}
	list, err := app.LoadLibraries(path)
	if err != nil {
		return err
	}
	if asJSON {
		if list == nil {
			list = []app.LibraryConfig{}
		}
		return printJSON(env, list)
	}
	if len(list) == 0 {
		fmt.Fprintln(env.Stdout, "no libraries: add one with 'library add NAME URL'")
		return nil
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tURL\tCREDENTIALS")
	for _, c := range list {
		cred := "environment"
		if c.Credentials != "" {
			cred = c.Credentials
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", c.Name, c.URL, cred)
	}
	return tw.Flush()
}
