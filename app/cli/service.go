package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/wimconsole/wimconsole/app"
)

func init() {
	register(newServiceCmd)
	register(newMountCmd)
	register(newUnmountCmd)
	register(newAddDriverCmd)
	register(newRegCmd)
	register(newFindCmd)
	register(newUnattendCmd)
}

// onLocalImage runs fn on image arg of the local server (see onImage).
func onLocalImage(env *Env, cmd *cobra.Command, arg string, fn func(ctx context.Context, srv *app.Server, r app.ImageRef) error) error {
	return onImage(env, cmd, arg, fn)
}

// sessionOf opens the store and the servicing session of image arg.
func sessionOf(env *Env, arg string) (*app.Session, error) {
	r, err := imageRef(arg)
	if err != nil {
		return nil, err
	}
	srv, err := localServer(env)
	if err != nil {
		return nil, err
	}
	ss, err := srv.Session(r)
	if errors.Is(err, app.ErrNoSession) {
		err = fmt.Errorf("%w (start one with: wimconsole service begin %s)", err, r)
	}
	return ss, err
}

func newServiceCmd(env *Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "service begin|status|add|replace|delete|rename|commit|discard ...",
		Short: "Stage changes to an image's files in a servicing session, then commit them",
		Long: `Offline servicing of an image of the store, without Windows. Begin a
session on a disabled image, stage changes (add files or folders, delete,
rename, replace a file), look at the change list, then commit — new metadata
plus only the new data appended to the group's Res.rwm, crash-safe — as an
update of the image or, with --new-image, as a new image of the group; or
discard. Sessions are kept in the store and survive restarts.`,
	}
	one := func(use, short string, n int, what string, fn func(ctx context.Context, ss *app.Session, args []string) error) *cobra.Command {
		return &cobra.Command{
			Use: use, Short: short, Args: exactArgs(n, what),
			RunE: func(cmd *cobra.Command, args []string) error {
				ss, err := sessionOf(env, args[0])
				if err != nil {
					return err
				}
				ctx, stop := signalContext(cmd)
				defer stop()
				return fn(ctx, ss, args)
			},
		}
	}
	begin := &cobra.Command{
		Use: "begin IMAGE", Short: "Begin a servicing session on a disabled image",
		Args: exactArgs(1, "an image (GROUP/FILE or boot/ARCH/FILE)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return onLocalImage(env, cmd, args[0], func(ctx context.Context, srv *app.Server, r app.ImageRef) error {
				ss, err := srv.BeginSession(ctx, r)
				if err != nil {
					return err
				}
				fmt.Fprintf(env.Stdout, "servicing session %s on %s\n", ss.ID, r)
				return nil
			})
		},
	}
	var asJSON bool
	status := &cobra.Command{
		Use: "status [IMAGE]", Short: "List servicing sessions, or the changes staged for IMAGE",
		Args: rangeArgs(0, 1, "at most an image"),
		RunE: func(cmd *cobra.Command, args []string) error {
			srv, err := localServer(env)
			if err != nil {
				return err
			}
			if len(args) == 1 {
				ss, err := sessionOf(env, args[0])
				if err != nil {
					return err
				}
				if asJSON {
					return printJSON(env, ss)
				}
				fmt.Fprintf(env.Stdout, "session %s on %s, %s, started %s\n", ss.ID, ss.Image, ss.State, ss.Started.Format("2006-01-02 15:04:05"))
				if ss.Mount != "" {
					fmt.Fprintf(env.Stdout, "mounted at %s\n", ss.Mount)
				}
				for _, c := range ss.Changes {
					fmt.Fprintln(env.Stdout, " ", c)
				}
				if ss.Unattend {
					fmt.Fprintln(env.Stdout, "  set ImageUnattend.xml")
				}
				return nil
			}
			all, err := srv.PendingSessions()
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(env, all)
			}
			for _, p := range all {
				state := "resumable"
				if p.Stale != "" {
					state = "stale: " + p.Stale
				}
				fmt.Fprintf(env.Stdout, "%s  %s  %d change%s  %s\n", p.ID, p.Image, len(p.Changes), plural(len(p.Changes)), state)
			}
			return nil
		},
	}
	status.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	add := one("add IMAGE SOURCE IMAGE-PATH", "Stage adding a file or folder at a path of the image", 3, "an image, a source file or folder and an image path",
		func(_ context.Context, ss *app.Session, a []string) error { return ss.Add(a[1], a[2]) })
	replace := one("replace IMAGE IMAGE-PATH SOURCE", "Stage replacing a file of the image", 3, "an image, an image path and a source file",
		func(_ context.Context, ss *app.Session, a []string) error { return ss.Replace(a[1], a[2]) })
	del := one("delete IMAGE IMAGE-PATH", "Stage deleting a file or folder of the image", 2, "an image and an image path",
		func(_ context.Context, ss *app.Session, a []string) error { return ss.Delete(a[1]) })
	mkdir := one("mkdir IMAGE IMAGE-PATH", "Stage a new empty folder", 2, "an image and an image path",
		func(_ context.Context, ss *app.Session, a []string) error { return ss.Mkdir(a[1]) })
	rename := one("rename IMAGE IMAGE-PATH NEW-NAME-OR-PATH", "Stage renaming or moving a file or folder of the image", 3, "an image, an image path and a new name or path",
		func(_ context.Context, ss *app.Session, a []string) error { return ss.Rename(a[1], a[2]) })
	discard := one("discard IMAGE", "End the session without changing the image", 1, "an image",
		func(_ context.Context, ss *app.Session, a []string) error { return ss.Discard() })
	var co app.CommitOptions
	commit := one("commit IMAGE [--new-image FILE] [--name N] [--description D]", "Commit the staged changes", 1, "an image",
		func(ctx context.Context, ss *app.Session, a []string) error {
			report, done := progressLine(env)
			co.Progress = report
			res, err := ss.Commit(ctx, co)
			done()
			if err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "committed %d change%s to %s (%d new blob%s, %d bytes)\n", res.Changes, plural(res.Changes), res.Image, res.NewBlobs, plural(res.NewBlobs), res.NewBytes)
			return nil
		})
	commitFlags(commit, &co)
	cmd.AddCommand(begin, status, add, replace, del, mkdir, rename, commit, discard)
	return cmd
}

func commitFlags(cmd *cobra.Command, co *app.CommitOptions) {
	f := cmd.Flags()
	f.StringVar(&co.NewImage, "new-image", "", "commit as a new image of the group with this file name")
	f.StringVar(&co.Name, "name", "", "name of the committed image")
	f.StringVar(&co.Description, "description", "", "description of the committed image")
}

func newMountCmd(env *Env) *cobra.Command {
	return &cobra.Command{
		Use:   "mount IMAGE DIR",
		Short: "Extract a disabled image to a working folder for changes with any tool",
		Long: `Begin a servicing session on IMAGE and extract it to DIR (empty or missing).
Change the files there with any tool, then run unmount DIR --commit (only new
and changed files are read, hashed and compressed) or --discard.`,
		Args: exactArgs(2, "an image and a folder"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return onLocalImage(env, cmd, args[0], func(ctx context.Context, srv *app.Server, r app.ImageRef) error {
				report, done := progressLine(env)
				ss, err := srv.MountImage(ctx, r, args[1], report)
				done()
				if err != nil {
					return err
				}
				fmt.Fprintf(env.Stdout, "mounted %s at %s (session %s)\n", r, ss.Mount, ss.ID)
				return nil
			})
		},
	}
}

func newUnmountCmd(env *Env) *cobra.Command {
	var commit, discard bool
	var co app.CommitOptions
	cmd := &cobra.Command{
		Use:   "unmount DIR --commit|--discard [--new-image FILE]",
		Short: "Commit or discard the changes made in a mounted image folder",
		Args:  exactArgs(1, "a mounted folder"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if commit == discard {
				return usageErrorf("give one of --commit and --discard")
			}
			if discard && co.NewImage != "" {
				return usageErrorf("--new-image goes with --commit")
			}
			srv, err := localServer(env)
			if err != nil {
				return err
			}
			ss, err := srv.MountedSession(args[0])
			if err != nil {
				return err
			}
			ctx, stop := signalContext(cmd)
			defer stop()
			report, done := progressLine(env)
			co.Progress = report
			res, err := ss.Unmount(ctx, commit, co)
			done()
			if err != nil {
				return err
			}
			if res == nil {
				fmt.Fprintf(env.Stdout, "discarded the changes to %s\n", ss.Image)
				return nil
			}
			fmt.Fprintf(env.Stdout, "committed %s: %d file%s read, %d unchanged, %d new blob%s (%d bytes)\n",
				res.Image, res.FilesRead, plural(res.FilesRead), res.Unchanged, res.NewBlobs, plural(res.NewBlobs), res.NewBytes)
			return nil
		},
	}
	cmd.Flags().BoolVar(&commit, "commit", false, "commit the changes")
	cmd.Flags().BoolVar(&discard, "discard", false, "discard the changes")
	commitFlags(cmd, &co)
	return cmd
}

// withSession runs fn in the image's open session or, when it has none, in
// a new session committed at once (discarded when fn fails): see
// app.Server.InSession.
func withSession(ctx context.Context, env *Env, arg string, fn func(ss *app.Session) error) error {
	r, err := imageRef(arg)
	if err != nil {
		return err
	}
	srv, err := localServer(env)
	if err != nil {
		return err
	}
	staged, id, err := srv.InSession(ctx, r, fn)
	if err != nil {
		return err
	}
	printWhere(env, r, staged, id)
	return nil
}

// printWhere says where a change to image r went: staged in its open
// session id, or committed at once.
func printWhere(env *Env, r app.ImageRef, staged bool, id string) {
	if staged {
		fmt.Fprintf(env.Stdout, "staged in session %s (commit with: wimconsole service commit %s)\n", id, r)
	} else {
		fmt.Fprintf(env.Stdout, "committed to %s\n", r)
	}
}

func newAddDriverCmd(env *Env) *cobra.Command {
	var o app.DriverOptions
	cmd := &cobra.Command{
		Use:   "add-driver IMAGE FOLDER [--name N] [--arch A] [--setup-path P]",
		Short: "Stage a driver package for Windows Setup (or WinPE) in an image",
		Long: `Check every INF file of the driver package FOLDER ([Version] section, Class,
Provider, DriverVer, CatalogFile, the files it names), copy the package into
the image at \Drivers\<name>, and add the folder to the image's
ImageUnattend.xml (Microsoft-Windows-PnpCustomizationsNonWinPE, offlineServicing
pass): the driver is staged for Windows Setup, not injected. For a boot image,
the package is loaded at start by drvload lines in startnet.cmd. Within an open
servicing session the change is staged; otherwise it is committed at once.`,
		Args: exactArgs(2, "an image and a driver package folder"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return onLocalImage(env, cmd, args[0], func(ctx context.Context, srv *app.Server, r app.ImageRef) error {
				res, err := srv.AddDriver(ctx, r, args[1], o)
				if err != nil {
					return err
				}
				for _, w := range res.Warnings {
					fmt.Fprintln(env.Stderr, "warning:", w)
				}
				fmt.Fprintf(env.Stdout, "driver package %s (%s) staged for Windows Setup at %s\n", args[1], strings.Join(res.INFs, ", "), res.ImagePath)
				printWhere(env, r, res.Staged, res.SessionID)
				return nil
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Name, "name", "", "folder name in the image (default: the package folder's name)")
	f.StringVar(&o.Arch, "arch", "", "processorArchitecture for the unattend entry (default: the image's)")
	f.StringVar(&o.SetupPath, "setup-path", "", `path Windows Setup searches (default C:\Drivers\<name>)`)
	return cmd
}

// regVerbs are reg's subcommands, in the order help lists them.
var regVerbs = []string{"get", "set", "add-key", "delete", "import"}

func newRegCmd(env *Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "reg get|set|add-key|delete|import IMAGE HIVE ...",
		Short: "Read and edit a registry hive inside an image",
		Long: `HIVE is SYSTEM, SOFTWARE, DEFAULT, SAM, SECURITY (Windows\System32\config)
or the image path of a user's NTUSER.DAT; SAM and SECURITY are read-only.
Keys are paths below the hive's root (Microsoft\Windows). Edits go into the
image's servicing session, or are committed at once when it has none.

The older order, reg IMAGE HIVE VERB ..., still works and prints a note.`,
		Example: `  wimconsole reg get Lab/install SOFTWARE 'Microsoft\Windows NT\CurrentVersion' ProductName
  wimconsole reg set Lab/install SYSTEM 'ControlSet001\Services\Foo' Start REG_DWORD 4`,
		// reg IMAGE HIVE VERB ... (the order before the subcommands) is
		// rewritten below; anything else is a usage error.
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageErrorf("reg expects a subcommand: %s", strings.Join(regVerbs, ", "))
			}
			if len(args) < 3 {
				return usageErrorf("unknown reg subcommand %q (%s)", args[0], strings.Join(regVerbs, ", "))
			}
			for _, sub := range cmd.Commands() {
				if sub.Name() == args[2] {
					env.notef("'reg IMAGE HIVE %s' is deprecated; use 'reg %s IMAGE HIVE ...'", args[2], args[2])
					rest := append([]string{args[0], args[1]}, args[3:]...)
					if err := sub.ValidateArgs(rest); err != nil {
						return err
					}
					return sub.RunE(sub, rest)
				}
			}
			return usageErrorf("unknown reg action %q (%s)", args[2], strings.Join(regVerbs, ", "))
		},
	}
	get := &cobra.Command{
		Use:   "get IMAGE HIVE KEY [VALUE]",
		Short: "Print a key's subkeys and values, or one value",
		Long: `Print the subkeys ([name]) and values (name, type, data) of KEY, or the data
of the value VALUE of KEY. A staged edit of the image's servicing session shows.`,
		Example: `  wimconsole reg get Lab/install SOFTWARE 'Microsoft\Windows NT\CurrentVersion'
  wimconsole reg get Lab/install SOFTWARE 'Microsoft\Windows NT\CurrentVersion' ProductName`,
		Args: rangeArgs(3, 4, "an image, a hive, a key and optionally a value name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			img, hv, rest := args[0], args[1], args[2:]
			ctx, stop := signalContext(cmd)
			defer stop()
			return readHive(ctx, env, img, hv, func(h *app.LoadedHive) error {
				if len(rest) == 2 {
					v, err := h.Value(rest[0], rest[1])
					if err != nil {
						return err
					}
					fmt.Fprintln(env.Stdout, app.FormatHiveValue(v))
					return nil
				}
				kids, err := h.Subkeys(rest[0])
				if err != nil {
					return err
				}
				for _, c := range kids {
					fmt.Fprintf(env.Stdout, "[%s]\n", c[strings.LastIndexByte(c, '\\')+1:])
				}
				vals, err := h.Values(rest[0])
				if err != nil {
					return err
				}
				for _, v := range vals {
					fmt.Fprintf(env.Stdout, "%s\t%s\t%s\n", app.HiveValueName(v.Name), v.Type, app.FormatHiveValue(v))
				}
				return nil
			})
		},
	}
	set := &cobra.Command{
		Use:   "set IMAGE HIVE KEY VALUE TYPE DATA...",
		Short: "Set a value (creating missing keys)",
		Long: `Set the value VALUE of KEY, creating KEY and its parents when missing. TYPE is
REG_SZ, REG_EXPAND_SZ, REG_DWORD, REG_QWORD, REG_MULTI_SZ (one DATA word per
string) or REG_BINARY (hex bytes). An empty VALUE ("") is the key's default value.`,
		Example: `  wimconsole reg set Lab/install SYSTEM 'ControlSet001\Services\Foo' Start REG_DWORD 4
  wimconsole reg set Lab/install SOFTWARE Contoso Paths REG_MULTI_SZ 'C:\A' 'C:\B'`,
		Args: minimumArgs(6, "an image, a hive, a key, a value name, a type and data"),
		RunE: func(cmd *cobra.Command, args []string) error {
			img, hv, rest := args[0], args[1], args[2:]
			v, err := app.ParseHiveValue(rest[1], rest[2], rest[3:])
			if err != nil {
				return &UsageError{err}
			}
			ctx, stop := signalContext(cmd)
			defer stop()
			return withSession(ctx, env, img, func(ss *app.Session) error {
				return app.SetRegistryValue(ctx, ss, hv, rest[0], v)
			})
		},
	}
	addKey := &cobra.Command{
		Use:     "add-key IMAGE HIVE KEY",
		Short:   "Create a key and its missing parents",
		Long:    `Create KEY, and every missing key above it. An existing key is left as it is.`,
		Example: `  wimconsole reg add-key Lab/install SOFTWARE 'Contoso\Settings'`,
		Args:    exactArgs(3, "an image, a hive and a key"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signalContext(cmd)
			defer stop()
			return withSession(ctx, env, args[0], func(ss *app.Session) error {
				return app.AddRegistryKey(ctx, ss, args[1], args[2])
			})
		},
	}
	del := &cobra.Command{
		Use:   "delete IMAGE HIVE KEY [VALUE]",
		Short: "Delete a key (with everything below it) or one value",
		Long:  `Delete KEY with its subkeys and values or, with VALUE, only that value of KEY.`,
		Example: `  wimconsole reg delete Lab/install SOFTWARE Contoso
  wimconsole reg delete Lab/install SOFTWARE Contoso Paths`,
		Args: rangeArgs(3, 4, "an image, a hive, a key and optionally a value name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			rest := args[2:]
			ctx, stop := signalContext(cmd)
			defer stop()
			return withSession(ctx, env, args[0], func(ss *app.Session) error {
				if len(rest) == 2 {
					return app.DeleteRegistryValue(ctx, ss, args[1], rest[0], rest[1])
				}
				return app.DeleteRegistryKey(ctx, ss, args[1], rest[0])
			})
		},
	}
	imp := &cobra.Command{
		Use:   "import IMAGE HIVE FILE.reg",
		Short: "Apply a .reg file (regedit's export format) to a hive",
		Long: `Apply the keys and values of a .reg file (REGEDIT4 or Windows Registry Editor
Version 5.00) to HIVE. Keys of other hives are skipped and counted.`,
		Example: `  wimconsole reg import Lab/install SOFTWARE contoso.reg`,
		Args:    exactArgs(3, "an image, a hive and a .reg file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			img, hv, file := args[0], args[1], args[2]
			// A file that cannot be read is refused before any session
			// begins.
			f, err := os.Open(file)
			if err != nil {
				return err
			}
			f.Close()
			ctx, stop := signalContext(cmd)
			defer stop()
			return withSession(ctx, env, img, func(ss *app.Session) error {
				res, err := app.ImportRegFile(ctx, ss, hv, file)
				if err != nil {
					return err
				}
				fmt.Fprintf(env.Stdout, "imported %d operation%s", res.Applied, plural(res.Applied))
				if res.Skipped > 0 {
					fmt.Fprintf(env.Stdout, "; skipped %d for keys of other hives", res.Skipped)
				}
				fmt.Fprintln(env.Stdout)
				return nil
			})
		},
	}
	cmd.AddCommand(get, set, addKey, del, imp)
	return cmd
}

// readHive runs fn with the hive hv of image img: of the image's session
// when it has one (so that staged edits show), else of the image.
func readHive(ctx context.Context, env *Env, img, hv string, fn func(h *app.LoadedHive) error) error {
	r, err := imageRef(img)
	if err != nil {
		return err
	}
	srv, err := localServer(env)
	if err != nil {
		return err
	}
	h, err := srv.OpenHive(ctx, r, hv)
	if err == nil {
		defer h.Close()
		err = fn(h)
	}
	return err
}

func newFindCmd(env *Env) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "find GROUP PATTERN",
		Short: "Search every image of a group for files by path pattern",
		Long: `Search the images of GROUP for files and folders whose path matches PATTERN,
without case: a pattern with a separator matches the whole path
(\Windows\System32\drivers\*.sys), one without matches the name (*.inf).`,
		Args: exactArgs(2, "a group and a pattern"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return onStore(env, cmd, func(ctx context.Context, srv *app.Server) error {
				m, err := srv.FindInGroup(ctx, args[0], args[1])
				if err != nil {
					return err
				}
				if asJSON {
					return printJSON(env, m)
				}
				for _, x := range m {
					kind := fmt.Sprint(x.Size)
					if x.Dir {
						kind = "<DIR>"
					}
					fmt.Fprintf(env.Stdout, "%s\t%s\t%s\n", x.Image, strings.ReplaceAll(x.Path, "/", `\`), kind)
				}
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// unattendVerbs are unattend's subcommands.
var unattendVerbs = []string{"show", "validate", "set", "remove"}

func newUnattendCmd(env *Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "unattend show|validate|set|remove IMAGE [FILE]",
		Short: "Show, validate, set or remove an image's ImageUnattend.xml",
		Long: `The unattend file Windows Setup uses for an image (WDS's "image unattend
file"), kept in the store with the image.

The older order, unattend IMAGE VERB [FILE], still works and prints a note.`,
		Example: `  wimconsole unattend show Lab/install
  wimconsole unattend set Lab/install unattend.xml`,
		// unattend IMAGE VERB [FILE] (the order before the subcommands) is
		// rewritten below; anything else is a usage error.
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageErrorf("unattend expects a subcommand: %s", strings.Join(unattendVerbs, ", "))
			}
			if len(args) < 2 {
				return usageErrorf("unknown unattend subcommand %q (%s)", args[0], strings.Join(unattendVerbs, ", "))
			}
			for _, sub := range cmd.Commands() {
				if sub.Name() == args[1] {
					env.notef("'unattend IMAGE %s' is deprecated; use 'unattend %s IMAGE'", args[1], args[1])
					rest := append([]string{args[0]}, args[2:]...)
					if err := sub.ValidateArgs(rest); err != nil {
						return err
					}
					return sub.RunE(sub, rest)
				}
			}
			return usageErrorf("unknown unattend action %q (%s)", args[1], strings.Join(unattendVerbs, ", "))
		},
	}
	show := func(verb, short, long string) *cobra.Command {
		return &cobra.Command{
			Use:     verb + " IMAGE",
			Short:   short,
			Long:    long,
			Example: "  wimconsole unattend " + verb + " Lab/install",
			Args:    exactArgs(1, "an image (GROUP/FILE or boot/ARCH/FILE)"),
			RunE: func(cmd *cobra.Command, args []string) error {
				return onLocalImage(env, cmd, args[0], func(ctx context.Context, srv *app.Server, r app.ImageRef) error {
					doc, err := srv.ImageUnattend(ctx, r)
					if err != nil {
						return err
					}
					if verb == "show" {
						env.Stdout.Write(doc)
						return nil
					}
					if err := app.ValidateUnattend("ImageUnattend.xml", doc); err != nil {
						return err
					}
					fmt.Fprintln(env.Stdout, "valid")
					return nil
				})
			},
		}
	}
	set := &cobra.Command{
		Use:   "set IMAGE FILE",
		Short: "Validate an unattend file and make it the image's ImageUnattend.xml",
		Long: `Read FILE once, check that it is an unattend document, and install it as the
image's unattend file (replacing any). A file that is not valid changes nothing.`,
		Example: "  wimconsole unattend set Lab/install unattend.xml",
		Args:    exactArgs(2, "an image and an unattend XML file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return onLocalImage(env, cmd, args[0], func(ctx context.Context, srv *app.Server, r app.ImageRef) error {
				// The store reads the file once, validates it and installs it.
				return srv.SetUnattend(ctx, r, args[1])
			})
		},
	}
	remove := &cobra.Command{
		Use:     "remove IMAGE",
		Short:   "Remove the image's ImageUnattend.xml",
		Long:    `Remove the image's unattend file; Windows Setup then asks what it would have read there.`,
		Example: "  wimconsole unattend remove Lab/install",
		Args:    exactArgs(1, "an image (GROUP/FILE or boot/ARCH/FILE)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return onLocalImage(env, cmd, args[0], func(ctx context.Context, srv *app.Server, r app.ImageRef) error {
				return srv.SetUnattend(ctx, r, "")
			})
		},
	}
	cmd.AddCommand(
		show("show", "Print the image's ImageUnattend.xml", `Print the image's unattend file as stored.`),
		show("validate", "Check the image's ImageUnattend.xml", `Check that the image's unattend file is a valid unattend document; print "valid".`),
		set, remove)
	return cmd
}
