package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/wimconsole/wimconsole/app"
)

func init() {
	registerRemote(newAddImageGroupCmd)
	registerRemote(newRemoveImageGroupCmd)
	registerRemote(newSetImageGroupCmd)
	registerRemote(newGetAllImageGroupsCmd)
	registerRemote(newAddImageCmd)
	registerRemote(newGetAllImagesCmd)
	registerRemote(newGetImageCmd)
	registerRemote(newSetImageCmd)
	registerRemote(newExportImageCmd)
	registerRemote(newReplaceImageCmd)
	registerRemote(newCopyImageCmd)
	registerRemote(newRemoveImageCmd)
	registerRemote(newRegroupCmd)
	registerRemote(newSpaceCmd)
	registerRemote(newVerifyStoreCmd)
	registerRemote(newInstallImageCmd)
}

func printJSON(env *Env, v any) error {
	enc := json.NewEncoder(env.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// printJSONList prints a list as JSON, an empty one as [] (not null), so
// that scripts can always iterate over it.
func printJSONList[T any](env *Env, list []T) error {
	if list == nil {
		list = []T{}
	}
	return printJSON(env, list)
}

// printImage prints an image's properties, as a table or as JSON (get-image,
// locally or through a server).
func printImage(env *Env, im app.Image, asJSON bool) error {
	if asJSON {
		return printJSON(env, im)
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	row := func(k string, v any) { fmt.Fprintf(tw, "%s:\t%v\n", k, v) }
	row("Image", im.Ref)
	row("Name", im.Name)
	row("Description", im.Description)
	row("File", im.Path)
	row("Group", im.Group+im.BootArch)
	row("Architecture", im.Arch)
	row("Status", im.Status)
	row("Display order", im.DisplayOrder)
	row("Expanded bytes", im.ExpandedBytes)
	row("Exclusive bytes", im.ExclusiveBytes)
	row("Shared bytes", im.SharedBytes)
	row("Created", im.Created.Format(time.RFC3339))
	row("OS version", im.OSVersion)
	row("Edition", im.Edition)
	row("Languages", strings.Join(im.Languages, ", "))
	row("Unattend file", im.Unattend)
	row("Install sessions", im.Sessions)
	return tw.Flush()
}

// onImage is the common start of a command that acts on one image: parse
// ref, open the store, and run fn with a context that Ctrl-C cancels.
func onImage(env *Env, cmd *cobra.Command, ref string, fn func(ctx context.Context, srv *app.Server, r app.ImageRef) error) error {
	r, err := imageRef(ref)
	if err != nil {
		return err
	}
	return onStore(env, cmd, func(ctx context.Context, srv *app.Server) error { return fn(ctx, srv, r) })
}

// onStore opens the local store and runs fn with a context that Ctrl-C
// cancels: the start of the commands that work on the store's files
// themselves (servicing, language packs); the store commands that also
// work on a server start with onService.
func onStore(env *Env, cmd *cobra.Command, fn func(ctx context.Context, srv *app.Server) error) error {
	s, err := localServer(env)
	if err != nil {
		return err
	}
	ctx, stop := signalContext(cmd)
	defer stop()
	return fn(ctx, s)
}

func imageRef(s string) (app.ImageRef, error) {
	r, err := app.ParseImageRef(s)
	if err != nil {
		return r, usageErrorf("%v", err)
	}
	return r, nil
}

func newAddImageGroupCmd(env *Env) *cobra.Command {
	return &cobra.Command{
		Use:   "add-image-group NAME",
		Short: "Create an image group",
		Args:  exactArgs(1, "a group name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return onService(env, cmd, func(ctx context.Context, svc app.Service) error {
				if err := svc.AddGroup(ctx, args[0]); err != nil {
					return err
				}
				fmt.Fprintf(env.Stdout, "created image group %s\n", args[0])
				return nil
			})
		},
	}
}

func newRemoveImageGroupCmd(env *Env) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "remove-image-group GROUP [--force]",
		Short: "Remove an image group (with its images only with --force)",
		Args:  exactArgs(1, "a group name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return onService(env, cmd, func(ctx context.Context, svc app.Service) error {
				if err := svc.RemoveGroup(ctx, args[0], force); err != nil {
					return err
				}
				fmt.Fprintf(env.Stdout, "removed image group %s\n", args[0])
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "remove the group's images too")
	return cmd
}

func newSetImageGroupCmd(env *Env) *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use:   "set-image-group GROUP --name NEW",
		Short: "Rename an image group",
		Args:  exactArgs(1, "a group name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return onService(env, cmd, func(ctx context.Context, svc app.Service) error {
				if err := svc.RenameGroup(ctx, args[0], name); err != nil {
					return err
				}
				fmt.Fprintf(env.Stdout, "renamed image group %s to %s\n", args[0], name)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "new name (required)")
	cmd.MarkFlagRequired("name")
	return cmd
}

func newGetAllImageGroupsCmd(env *Env) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "get-all-image-groups [--json]",
		Short: "List the image groups",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return onService(env, cmd, func(ctx context.Context, svc app.Service) error {
				gs, err := svc.GroupInfos(ctx)
				if err != nil {
					return err
				}
				return printGroups(env, gs, asJSON)
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newAddImageCmd(env *Env) *cobra.Command {
	var (
		o       app.AddOptions
		typ     string
		indexes []string // --index: indexes or names
		names   []string // --image-name
	)
	cmd := &cobra.Command{
		Use:   "add-image FILE [--group G] [--index N|NAME]... [--image-name NAME]... [--name N] [--description D] [--filename F] [--unattend XML] [--type install|boot] [--skip-verify]",
		Short: "Add images of a WIM file to the store",
		Long: `Add images of the WIM file FILE (all of them, or those given with --index, by
index or name, or with --image-name, by name) to an image group (created when
missing; "ImageGroup1" when none is named), or with --type boot as boot images
under Boot/<arch>/Images (the architecture from the image, or --group ARCH).
A name two images of FILE share is refused: give the index.

The group's Res.rwm is grown in place, crash-safe; data it holds already is
not stored again, and data compressed with the group's codec is copied as
stored. Each image gets a metadata-only WIM file named after FILE
(install.wim, install-(2).wim, ...) unless --filename says otherwise. The
source's data is checked against its digests first (--skip-verify skips it);
a damaged source changes nothing.`,
		Args: exactArgs(1, "a WIM file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch typ {
			case "install":
			case "boot":
				o.Boot = true
				o.Arch, o.Group = o.Group, ""
			default:
				return usageErrorf("--type %q: want install or boot", typ)
			}
			for _, i := range indexes {
				if n, err := strconv.Atoi(i); err == nil && n < 1 {
					return usageErrorf("--index %d: image indexes start at 1", n)
				}
			}
			if sel := append(slices.Clone(indexes), names...); len(sel) > 0 {
				idx, err := app.ImageIndexes(args[0], sel)
				if err != nil {
					return err
				}
				o.Indexes = idx
			}
			return onService(env, cmd, func(ctx context.Context, svc app.Service) error {
				report, done := progressLine(env)
				o.Progress = report
				refs, err := svc.AddImage(ctx, args[0], o)
				done()
				for _, r := range refs {
					fmt.Fprintf(env.Stdout, "added %s\n", r)
				}
				return err
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Group, "group", "", "image group (boot images: architecture)")
	f.StringSliceVar(&indexes, "index", nil, "image of FILE to add, by index or name (repeatable; default all)")
	f.StringArrayVar(&names, "image-name", nil, "image of FILE to add, by name (repeatable; for names with commas)")
	f.StringVar(&o.Name, "name", "", "image name (one image only)")
	f.StringVar(&o.Description, "description", "", "image description")
	f.StringVar(&o.FileName, "filename", "", "file name in the group (one image only)")
	f.StringVar(&o.Unattend, "unattend", "", "unattend XML file for the image")
	f.StringVar(&typ, "type", "install", "install or boot")
	f.BoolVar(&o.SkipVerify, "skip-verify", false, "do not check the source's data before storing it")
	return cmd
}

func newGetAllImagesCmd(env *Env) *cobra.Command {
	var (
		o      app.ListOptions
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "get-all-images [--group G] [--type install|boot|all] [--json]",
		Short: "List the images of the store",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkImageType(o.Type); err != nil {
				return err
			}
			return onService(env, cmd, func(ctx context.Context, svc app.Service) error {
				ims, err := svc.ListImages(ctx, o)
				if err != nil {
					return err
				}
				return printImages(env, ims, asJSON)
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Group, "group", "", "only this image group")
	f.StringVar(&o.Type, "type", "all", "install, boot or all")
	f.BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newGetImageCmd(env *Env) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "get-image IMAGE [--json]",
		Short: "Show an image's properties (IMAGE is GROUP/FILE or boot/ARCH/FILE)",
		Args:  exactArgs(1, "an image (GROUP/FILE or boot/ARCH/FILE)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return onServiceImage(env, cmd, args[0], func(ctx context.Context, svc app.Service, r app.ImageRef) error {
				im, err := svc.GetImage(ctx, r)
				if err != nil {
					return err
				}
				return printImage(env, im, asJSON)
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func parseYesNo(flag, v string) (bool, error) {
	switch strings.ToLower(v) {
	case "yes", "true", "1", "on":
		return true, nil
	case "no", "false", "0", "off":
		return false, nil
	}
	return false, usageErrorf("--%s %q: want yes or no", flag, v)
}

func newSetImageCmd(env *Env) *cobra.Command {
	var enabled, name, desc, unattend string
	var order int
	cmd := &cobra.Command{
		Use:   "set-image IMAGE [--enabled yes|no] [--name N] [--description D] [--unattend XML] [--display-order N]",
		Short: "Change an image's properties",
		Args:  exactArgs(1, "an image (GROUP/FILE or boot/ARCH/FILE)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := imageRef(args[0])
			if err != nil {
				return err
			}
			var o app.SetOptions
			fl := cmd.Flags()
			if fl.Changed("enabled") {
				b, err := parseYesNo("enabled", enabled)
				if err != nil {
					return err
				}
				o.Enabled = &b
			}
			if fl.Changed("name") {
				o.Name = &name
			}
			if fl.Changed("description") {
				o.Description = &desc
			}
			if fl.Changed("unattend") {
				o.Unattend = &unattend
			}
			if fl.Changed("display-order") {
				o.DisplayOrder = &order
			}
			if o == (app.SetOptions{}) {
				return usageErrorf("set-image: nothing to change")
			}
			return runService(env, cmd, r.String(), func(ctx context.Context, svc app.Service) error {
				return svc.SetImage(ctx, r, o)
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&enabled, "enabled", "", "yes or no")
	f.StringVar(&name, "name", "", "new image name")
	f.StringVar(&desc, "description", "", "new description")
	f.StringVar(&unattend, "unattend", "", `unattend XML file to use ("" removes it)`)
	f.IntVar(&order, "display-order", 0, "position in the boot menu")
	return cmd
}

func newExportImageCmd(env *Env) *cobra.Command {
	var overwrite, name, desc, split string
	cmd := &cobra.Command{
		Use:   "export-image IMAGE DEST [--overwrite no|yes|append] [--name N] [--description D] [--split SIZE]",
		Short: "Write an image as a standalone WIM file",
		Long: `Write IMAGE (GROUP/FILE or boot/ARCH/FILE) as a standalone WIM file DEST:
its metadata and every file it uses from the group's Res.rwm. DEST must be
new unless --overwrite yes (replace it) or append (add the image to it).

With --split SIZE, DEST is a new split set instead (DEST.swm, DEST2.swm …,
each at most SIZE: see split), for a FAT32 USB stick: name it install.swm
for Windows Setup. SIZE is a number of MiB, or a number with a unit: 700M,
3.8G. None of the parts may exist yet, so --overwrite is refused with it.
Read the set with: apply DEST.swm 1 DIR --ref 'DEST*.swm'.

Through --server the image is downloaded, then split on this machine.`,
		Args: exactArgs(2, "an image and a destination WIM file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := imageRef(args[0])
			if err != nil {
				return err
			}
			o := app.ExportOptions{Name: name, Description: desc}
			if o.Overwrite, err = parseOverwrite(overwrite); err != nil {
				return err
			}
			var partSize int64
			if cmd.Flags().Changed("split") {
				if o.Overwrite != app.OverwriteNo {
					return usageErrorf("--split and --overwrite %s cannot be used together: a split set is always new (remove its old parts first, or export to another name)", overwrite)
				}
				if partSize, err = app.ParseSize(split); err != nil {
					return usageErrorf("--split: %v", err)
				}
			}
			return runService(env, cmd, r.String(), func(ctx context.Context, svc app.Service) error {
				report, done := progressLine(env)
				o.Progress = report
				var parts []string
				if partSize > 0 {
					parts, err = app.ExportImageSplit(ctx, svc, r, args[1], partSize, o)
				} else {
					err = svc.ExportImage(ctx, r, args[1], o)
				}
				done()
				if err != nil {
					return err
				}
				fmt.Fprintf(env.Stdout, "exported %s to %s\n", r, args[1])
				if len(parts) > 1 {
					fmt.Fprintf(env.Stdout, "%s: split into %d parts: %s\n", args[1], len(parts), strings.Join(parts, ", "))
				}
				return nil
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&overwrite, "overwrite", "no", "no, yes or append")
	f.StringVar(&name, "name", "", "name of the exported image")
	f.StringVar(&desc, "description", "", "description of the exported image")
	f.StringVar(&split, "split", "", "write a new split set of parts of at most SIZE (700M, 3.8G) for a FAT32 USB stick")
	return cmd
}

func newReplaceImageCmd(env *Env) *cobra.Command {
	var (
		o      app.ReplaceOptions
		source string // --source-index: an index or a name
	)
	cmd := &cobra.Command{
		Use:   "replace-image IMAGE SOURCE [--source-index N|NAME] [--name N] [--description D] [--wait DURATION | --force]",
		Short: "Replace a disabled image by an image of a WIM file",
		Long: `Replace IMAGE, which must be disabled, by image --source-index (an index or
a name) of the WIM file SOURCE. The image keeps its file name, unattend file,
$OEM$ folder, language packs and catalog state (and its name and description
unless given). Its install sessions must end first: replace waits up to --wait
for them, or goes ahead at once with --force.`,
		Args: exactArgs(2, "an image and a source WIM file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.Force && cmd.Flags().Changed("wait") {
				return usageErrorf("--wait and --force exclude each other")
			}
			return onServiceImage(env, cmd, args[0], func(ctx context.Context, svc app.Service, r app.ImageRef) error {
				if source != "" {
					idx, err := app.ImageIndexes(args[1], []string{source})
					if err != nil {
						return err
					}
					o.SourceIndex = idx[0]
				}
				report, done := progressLine(env)
				o.Progress = report
				err := svc.ReplaceImage(ctx, r, args[1], o)
				done()
				if err != nil {
					return err
				}
				fmt.Fprintf(env.Stdout, "replaced %s\n", r)
				return nil
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&source, "source-index", "", "image of SOURCE, by index or name (default: its only image)")
	f.StringVar(&o.Name, "name", "", "new image name")
	f.StringVar(&o.Description, "description", "", "new description")
	f.DurationVar(&o.Wait, "wait", 0, "how long to wait for install sessions to end")
	f.BoolVar(&o.Force, "force", false, "replace without waiting for install sessions")
	return cmd
}

func newCopyImageCmd(env *Env) *cobra.Command {
	var o app.CopyOptions
	cmd := &cobra.Command{
		Use:   "copy-image IMAGE --filename NEW [--name N] [--description D]",
		Short: "Copy an image within its group",
		Args:  exactArgs(1, "an image (GROUP/FILE)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return onServiceImage(env, cmd, args[0], func(ctx context.Context, svc app.Service, r app.ImageRef) error {
				nr, err := svc.CopyImage(ctx, r, o)
				if err != nil {
					return err
				}
				fmt.Fprintf(env.Stdout, "copied %s to %s\n", r, nr)
				return nil
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.FileName, "filename", "", "file name of the copy (required)")
	f.StringVar(&o.Name, "name", "", "name of the copy")
	f.StringVar(&o.Description, "description", "", "description of the copy")
	cmd.MarkFlagRequired("filename")
	return cmd
}

func newRemoveImageCmd(env *Env) *cobra.Command {
	return &cobra.Command{
		Use:   "remove-image IMAGE",
		Short: "Remove an image (its data stays in Res.rwm until regroup)",
		Args:  exactArgs(1, "an image (GROUP/FILE or boot/ARCH/FILE)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return onServiceImage(env, cmd, args[0], func(ctx context.Context, svc app.Service, r app.ImageRef) error {
				if err := svc.RemoveImage(ctx, r); err != nil {
					return err
				}
				fmt.Fprintf(env.Stdout, "removed %s\n", r)
				return nil
			})
		},
	}
}

func newRegroupCmd(env *Env) *cobra.Command {
	var o app.RegroupOptions
	cmd := &cobra.Command{
		Use:   "regroup GROUP [--into NEWNAME] [--verify]",
		Short: "Rebuild an image group from its live images, reclaiming dead data",
		Long: `Rebuild GROUP from its images: a new Res.rwm with only the data they use,
their files, unattend, $OEM$ and language packs and catalog state carried
over, checked, then swapped in atomically (journaled: a crash leaves the old
group or the new one, and the next start finishes the job). Prints the
group's bytes before and after.

The data is copied as it is stored (no recompression). The new group is
checked for structure: Res.rwm opens and every image finds every blob it
needs. --verify also decompresses every blob and checks its SHA-1 before
the swap, which takes about as long as verify-store on the group.`,
		Args: exactArgs(1, "a group name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return onService(env, cmd, func(ctx context.Context, svc app.Service) error {
				report, done := progressLine(env)
				o.Progress = report
				res, err := svc.Regroup(ctx, args[0], o)
				done()
				if err != nil {
					return err
				}
				printRegroup(env, res)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&o.Into, "into", "", "new name of the group")
	cmd.Flags().BoolVar(&o.Verify, "verify", false, "decompress and check every blob of the new group before the swap")
	return cmd
}

func newSpaceCmd(env *Env) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "space [GROUP] [--json]",
		Short: "Show how the space of image groups is used",
		Args:  rangeArgs(0, 1, "at most one group"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return onService(env, cmd, func(ctx context.Context, svc app.Service) error {
				groups := args
				if len(groups) == 0 {
					gs, err := svc.GroupInfos(ctx)
					if err != nil {
						return err
					}
					for _, g := range gs {
						groups = append(groups, g.Name)
					}
				}
				out := []*app.GroupSpace{}
				for _, g := range groups {
					gs, err := svc.Space(ctx, g)
					if err != nil {
						return err
					}
					out = append(out, gs)
				}
				return printSpace(env, out, asJSON)
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newVerifyStoreCmd(env *Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "verify-store [GROUP]",
		Short: "Check every image's data and the catalog against the files",
		Args:  rangeArgs(0, 1, "at most one group"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return onService(env, cmd, func(ctx context.Context, svc app.Service) error {
				g := ""
				if len(args) == 1 {
					g = args[0]
				}
				report, done := progressLine(env)
				res, err := svc.VerifyStore(ctx, g, report)
				done()
				return printVerifyStore(env, res, err)
			})
		},
	}
	return cmd
}

func newInstallImageCmd(env *Env) *cobra.Command {
	var client string
	cmd := &cobra.Command{
		Use:   "install-image IMAGE DEST",
		Short: "Apply an image as a deployment client does (with an install session)",
		Long: `Open an install session on IMAGE (refused when the image is disabled), apply
the image to the folder DEST, and close the session. While it runs, the
session's lease is renewed; the session of a killed client expires.`,
		Args: exactArgs(2, "an image and a destination folder"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if client == "" {
				h, _ := os.Hostname()
				client = h + ":" + strconv.Itoa(os.Getpid())
			}
			return onServiceImage(env, cmd, args[0], func(ctx context.Context, svc app.Service, r app.ImageRef) error {
				report, done := progressLine(env)
				err := svc.InstallImage(ctx, r, args[1], client, report)
				done()
				if err != nil {
					return err
				}
				from := ""
				if svc.Remote() {
					from = " from " + svc.Name()
				}
				fmt.Fprintf(env.Stdout, "installed %s to %s%s\n", r, args[1], from)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&client, "client", "", "client name recorded in the session (default: host:pid)")
	return cmd
}
