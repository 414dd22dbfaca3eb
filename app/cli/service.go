package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/wimconsole/wimconsole/app"
	"github.com/wimconsole/wimconsole/engine/servicing"
	"github.com/wimconsole/wimconsole/engine/servicing/hive"
	"github.com/wimconsole/wimconsole/engine/store"
	"github.com/wimconsole/wimconsole/engine/unattend"
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

// sessionOf opens the store and the servicing session of image arg.
func sessionOf(env *Env, arg string) (*store.Store, *servicing.Session, error) {
	r, err := imageRef(arg)
	if err != nil {
		return nil, nil, err
	}
	s, err := openStore(env)
	if err != nil {
		return nil, nil, err
	}
	ss, err := servicing.ForImage(s, r)
	if errors.Is(err, servicing.ErrNoSession) {
		err = fmt.Errorf("%w (start one with: wimconsole service begin %s)", err, r)
	}
	return s, ss, err
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
	one := func(use, short string, n int, what string, fn func(ctx context.Context, ss *servicing.Session, args []string) error) *cobra.Command {
		return &cobra.Command{
			Use: use, Short: short, Args: exactArgs(n, what),
			RunE: func(cmd *cobra.Command, args []string) error {
				_, ss, err := sessionOf(env, args[0])
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
			return onImage(env, cmd, args[0], func(ctx context.Context, s *store.Store, r store.ImageRef) error {
				ss, err := servicing.Begin(ctx, s, r)
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
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := openStore(env)
			if err != nil {
				return err
			}
			if len(args) == 1 {
				_, ss, err := sessionOf(env, args[0])
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
			all, err := servicing.Stale(s)
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
		func(_ context.Context, ss *servicing.Session, a []string) error { return ss.Add(a[1], a[2]) })
	replace := one("replace IMAGE IMAGE-PATH SOURCE", "Stage replacing a file of the image", 3, "an image, an image path and a source file",
		func(_ context.Context, ss *servicing.Session, a []string) error { return ss.Replace(a[1], a[2]) })
	del := one("delete IMAGE IMAGE-PATH", "Stage deleting a file or folder of the image", 2, "an image and an image path",
		func(_ context.Context, ss *servicing.Session, a []string) error { return ss.Delete(a[1]) })
	mkdir := one("mkdir IMAGE IMAGE-PATH", "Stage a new empty folder", 2, "an image and an image path",
		func(_ context.Context, ss *servicing.Session, a []string) error { return ss.Mkdir(a[1]) })
	rename := one("rename IMAGE IMAGE-PATH NEW-NAME-OR-PATH", "Stage renaming or moving a file or folder of the image", 3, "an image, an image path and a new name or path",
		func(_ context.Context, ss *servicing.Session, a []string) error { return ss.Rename(a[1], a[2]) })
	discard := one("discard IMAGE", "End the session without changing the image", 1, "an image",
		func(_ context.Context, ss *servicing.Session, a []string) error { return ss.Discard() })
	var co servicing.CommitOptions
	commit := one("commit IMAGE [--new-image FILE] [--name N] [--description D]", "Commit the staged changes", 1, "an image",
		func(ctx context.Context, ss *servicing.Session, a []string) error {
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

func commitFlags(cmd *cobra.Command, co *servicing.CommitOptions) {
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
			return onImage(env, cmd, args[0], func(ctx context.Context, s *store.Store, r store.ImageRef) error {
				report, done := progressLine(env)
				ss, err := servicing.Mount(ctx, s, r, args[1], report)
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
	var co servicing.CommitOptions
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
			s, err := openStore(env)
			if err != nil {
				return err
			}
			ss, err := servicing.Mounted(s, args[0])
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
func withSession(ctx context.Context, env *Env, arg string, fn func(ss *servicing.Session) error) error {
	r, err := imageRef(arg)
	if err != nil {
		return err
	}
	s, err := openStore(env)
	if err != nil {
		return err
	}
	staged, id, err := (&app.Server{Store: s}).InSession(ctx, r, fn)
	if err != nil {
		return err
	}
	if staged {
		fmt.Fprintf(env.Stdout, "staged in session %s (commit with: wimconsole service commit %s)\n", id, r)
	} else {
		fmt.Fprintf(env.Stdout, "committed to %s\n", r)
	}
	return nil
}

func newAddDriverCmd(env *Env) *cobra.Command {
	var o servicing.DriverOptions
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
			ctx, stop := signalContext(cmd)
			defer stop()
			return withSession(ctx, env, args[0], func(ss *servicing.Session) error {
				res, err := ss.AddDriver(ctx, args[1], o)
				if err != nil {
					return err
				}
				for _, w := range res.Warnings {
					fmt.Fprintln(env.Stderr, "warning:", w)
				}
				fmt.Fprintf(env.Stdout, "driver package %s (%s) staged for Windows Setup at %s\n", args[1], strings.Join(res.INFs, ", "), res.ImagePath)
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

func newRegCmd(env *Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "reg IMAGE HIVE get|set|delete|import ...",
		Short: "Read and edit a registry hive inside an image",
		Long: `HIVE is SYSTEM, SOFTWARE, DEFAULT, SAM, SECURITY (Windows\System32\config)
or the image path of a user's NTUSER.DAT; SAM and SECURITY are read-only.
Keys are paths below the hive's root (Microsoft\Windows). Edits go into the
image's servicing session, or are committed at once when it has none.

  reg IMAGE HIVE get KEY [VALUE]
  reg IMAGE HIVE set KEY VALUE TYPE DATA...     (REG_SZ, REG_EXPAND_SZ, REG_DWORD,
                                                 REG_QWORD, REG_MULTI_SZ, REG_BINARY)
  reg IMAGE HIVE add-key KEY
  reg IMAGE HIVE delete KEY [VALUE]
  reg IMAGE HIVE import FILE.reg`,
		Args: cobra.MinimumNArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			img, hv, verb, rest := args[0], args[1], args[2], args[3:]
			ctx, stop := signalContext(cmd)
			defer stop()
			switch verb {
			case "get":
				if len(rest) < 1 || len(rest) > 2 {
					return usageErrorf("get takes a key and optionally a value name")
				}
				return readHive(ctx, env, img, hv, func(h hive.Hive) error {
					k, err := h.Lookup(rest[0])
					if err != nil {
						return err
					}
					if len(rest) == 2 {
						v, err := h.Value(k, rest[1])
						if err != nil {
							return err
						}
						fmt.Fprintln(env.Stdout, hive.FormatValue(v))
						return nil
					}
					kids, err := h.Children(k)
					if err != nil {
						return err
					}
					for _, c := range kids {
						fmt.Fprintf(env.Stdout, "[%s]\n", c.Name())
					}
					vals, err := h.Values(k)
					if err != nil {
						return err
					}
					for _, v := range vals {
						n := v.Name
						if n == "" {
							n = "(Default)"
						}
						fmt.Fprintf(env.Stdout, "%s\t%s\t%s\n", n, v.Type, hive.FormatValue(v))
					}
					return nil
				})
			case "set":
				if len(rest) < 4 {
					return usageErrorf("set takes a key, a value name, a type and data")
				}
				v, err := hive.ParseValue(rest[1], rest[2], rest[3:])
				if err != nil {
					return &UsageError{err}
				}
				return editHive(ctx, env, img, hv, func(h hive.Hive) error {
					k, err := hive.AddKeys(h, rest[0])
					if err != nil {
						return err
					}
					return h.SetValue(k, v)
				})
			case "add-key":
				if len(rest) != 1 {
					return usageErrorf("add-key takes a key")
				}
				return editHive(ctx, env, img, hv, func(h hive.Hive) error {
					_, err := hive.AddKeys(h, rest[0])
					return err
				})
			case "delete":
				if len(rest) < 1 || len(rest) > 2 {
					return usageErrorf("delete takes a key and optionally a value name")
				}
				return editHive(ctx, env, img, hv, func(h hive.Hive) error {
					k, err := h.Lookup(rest[0])
					if err != nil {
						return err
					}
					if len(rest) == 2 {
						return h.DeleteValue(k, rest[1])
					}
					return h.DeleteKey(k)
				})
			case "import":
				if len(rest) != 1 {
					return usageErrorf("import takes a .reg file")
				}
				data, err := os.ReadFile(rest[0])
				if err != nil {
					return err
				}
				return withSession(ctx, env, img, func(ss *servicing.Session) error {
					res, err := ss.ImportReg(ctx, hv, rest[0], data)
					if err != nil {
						return err
					}
					fmt.Fprintf(env.Stdout, "imported %d operation%s", res.Applied, plural(res.Applied))
					if len(res.Skipped) > 0 {
						fmt.Fprintf(env.Stdout, "; skipped %d for keys of other hives", len(res.Skipped))
					}
					fmt.Fprintln(env.Stdout)
					return nil
				})
			}
			return usageErrorf("unknown reg action %q (get, set, add-key, delete, import)", verb)
		},
	}
	return cmd
}

func editHive(ctx context.Context, env *Env, img, hv string, fn func(h hive.Hive) error) error {
	return withSession(ctx, env, img, func(ss *servicing.Session) error { return ss.EditHive(ctx, hv, fn) })
}

// readHive reads the hive of the image's session when it has one (so
// staged edits show), else of the image.
func readHive(ctx context.Context, env *Env, img, hv string, fn func(h hive.Hive) error) error {
	r, err := imageRef(img)
	if err != nil {
		return err
	}
	s, err := openStore(env)
	if err != nil {
		return err
	}
	ss, err := servicing.ForImage(s, r)
	if errors.Is(err, servicing.ErrNoSession) {
		return servicing.ReadImageHive(ctx, s, r, hv, fn)
	}
	if err != nil {
		return err
	}
	return ss.ReadHive(ctx, hv, fn)
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
			s, err := openStore(env)
			if err != nil {
				return err
			}
			ctx, stop := signalContext(cmd)
			defer stop()
			m, err := servicing.FindInGroup(ctx, s, args[0], args[1])
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
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newUnattendCmd(env *Env) *cobra.Command {
	return &cobra.Command{
		Use:   "unattend IMAGE show|validate|set FILE|remove",
		Short: "Show, validate, set or remove an image's ImageUnattend.xml",
		Args:  cobra.RangeArgs(2, 3),
		RunE: func(cmd *cobra.Command, args []string) error {
			return onImage(env, cmd, args[0], func(ctx context.Context, s *store.Store, r store.ImageRef) error {
				return unattendVerb(env, ctx, s, r, args)
			})
		},
	}
}

// unattendVerb runs the verb of `unattend IMAGE VERB [FILE]` (args as
// given) on image r.
func unattendVerb(env *Env, ctx context.Context, s *store.Store, r store.ImageRef, args []string) error {
	switch verb := args[1]; {
	case (verb == "show" || verb == "validate") && len(args) == 2:
		doc, err := servicing.ImageUnattend(ctx, s, r)
		if err != nil {
			return err
		}
		if doc == nil {
			return fmt.Errorf("image %s has no unattend file", r)
		}
		if verb == "show" {
			env.Stdout.Write(doc)
			return nil
		}
		if err := unattend.Validate("ImageUnattend.xml", doc); err != nil {
			return err
		}
		fmt.Fprintln(env.Stdout, "valid")
		return nil
	case verb == "set" && len(args) == 3:
		// The store reads the file once, validates it and installs it.
		return s.SetImage(ctx, r, store.SetOptions{Unattend: &args[2]})
	case verb == "remove" && len(args) == 2:
		none := ""
		return s.SetImage(ctx, r, store.SetOptions{Unattend: &none})
	}
	return usageErrorf("unattend IMAGE show|validate|set FILE|remove")
}
