package cli

import (
	"bufio"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/wimconsole/wimconsole/app"
)

func init() {
	register(newInfoCmd)
	register(newDirCmd)
	register(newApplyCmd)
	register(newVerifyCmd)
}

const refHelp = "another WIM to take file data from: a split part, or a WDS group's Res.rwm (repeatable; globs allowed)"

// signalContext is the command's context, cancelled by an interrupt.
func signalContext(cmd *cobra.Command) (context.Context, context.CancelFunc) {
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	return signal.NotifyContext(ctx, os.Interrupt)
}

// ---- info ----

func newInfoCmd(env *Env) *cobra.Command {
	var (
		refs   []string
		asJSON bool
		boot   bool
		props  []string
		edit   infoEdit
	)
	cmd := &cobra.Command{
		Use:   "info FILE [IMAGE] [NEW_NAME] [NEW_DESC]",
		Short: "Show what a WIM file holds, or change an image's name, description and flags",
		Long: `Show a WIM file's header facts (GUID, version, compression, chunk size, part
number, flags, boot index, image count, total bytes) and, for each image, what
its XML data says: index, name, description, folder and file counts, total
bytes, creation and modification times and, for Windows images, architecture,
product name, edition, installation type, languages and version. The text
layout is that of 'wimlib-imagex info'. With IMAGE (an index or a name) only
that image is shown.

With --json, one JSON object is printed instead, with lower_snake_case keys:
path, guid (hex), version, compression, chunk_size, part_number, total_parts,
header_flags (number) and flags (names: compression, readonly, spanned,
resource_only, metadata_only, write_in_progress, rp_fix), boot_index,
image_count, total_bytes and images, an array of objects with index, name,
description, display_name, display_description, flags, dir_count, file_count,
total_bytes, hard_link_bytes, created, modified (RFC 3339, UTC), wimboot and
windows {arch, arch_name, product_name, edition_id, installation_type, hal,
product_type, product_suite, languages, default_language, system_root,
version {major, minor, build, sp_build, sp_level}}.

Changing an image, as 'wimlib-imagex info' does: NEW_NAME and NEW_DESC (or
--name and --description), --flags (the edition flag, e.g. Professional),
--display-name, --display-description, --image-property NAME=VALUE (NAME is
one of ` + strings.Join(app.SettableWIMProperties(), ", ") + `; an
empty VALUE removes the element) and --boot (make IMAGE the bootable image).
Only the XML data and the header are rewritten, in place and crash-safe: an
interruption leaves the file with the old properties or the new ones. XML
elements this program does not know are kept. A name must not be another
image's, nor a number.`,
		Args: rangeArgs(1, 4, "a WIM file, and optionally an image, a new name and a new description"),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := edit.build(cmd, args, props, boot)
			if err != nil {
				return err
			}
			if e != nil && asJSON {
				return usageErrorf("--json shows a file; it does not go with changes")
			}
			w, err := app.OpenWIM(args[0], refs)
			if err != nil {
				return err
			}
			defer w.Close()
			index := 0
			switch {
			case len(args) > 1:
				if index, err = app.ImageIndex(w, args[1]); err != nil {
					return err
				}
			case e != nil && w.ImageCount() == 1:
				index = 1
			case e != nil:
				return usageErrorf("%s has %d images: name the one to change (an index or a name) after the file", args[0], w.ImageCount())
			}
			if e != nil {
				w.Close()
				if err := app.SetWIMImageInfo(args[0], index, *e); err != nil {
					return err
				}
				fmt.Fprintf(env.Stdout, "%s: image %d changed: %s\n", args[0], index, edit.summary(e))
				return nil
			}
			if asJSON {
				return printJSON(env, app.DescribeWIM(w, args[0], index))
			}
			if index > 0 {
				printImageInfo(env.Stdout, w, index)
				return nil
			}
			printInfo(env.Stdout, w, args[0])
			return nil
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&refs, "ref", nil, refHelp)
	f.BoolVar(&asJSON, "json", false, "print one JSON object")
	f.StringVar(&edit.name, "name", "", "new name of IMAGE")
	f.StringVar(&edit.desc, "description", "", "new description of IMAGE")
	f.StringVar(&edit.flags, "flags", "", "new edition flag of IMAGE (<FLAGS>, e.g. Professional)")
	f.StringVar(&edit.displayName, "display-name", "", "new display name of IMAGE")
	f.StringVar(&edit.displayDesc, "display-description", "", "new display description of IMAGE")
	f.StringArrayVar(&props, "image-property", nil, "set an XML element of IMAGE: NAME=VALUE, e.g. WINDOWS/EDITIONID=Professional (repeatable)")
	f.BoolVar(&boot, "boot", false, "make IMAGE the bootable image")
	return cmd
}

// infoEdit holds info's change flags.
type infoEdit struct {
	name, desc, flags, displayName, displayDesc string
}

// build returns the change the command line asks for, or nil for none.
func (ie *infoEdit) build(cmd *cobra.Command, args, props []string, boot bool) (*app.WIMInfoEdit, error) {
	e := &app.WIMInfoEdit{Boot: boot}
	changed := boot
	set := func(flag string, v string, dst **string) {
		if cmd.Flags().Changed(flag) {
			*dst = &v
			changed = true
		}
	}
	set("name", ie.name, &e.Name)
	set("description", ie.desc, &e.Description)
	set("flags", ie.flags, &e.Flags)
	set("display-name", ie.displayName, &e.DisplayName)
	set("display-description", ie.displayDesc, &e.DisplayDescription)
	for i, flag := range []string{"name", "description"} {
		if len(args) <= 2+i {
			continue
		}
		if cmd.Flags().Changed(flag) {
			return nil, usageErrorf("the new %s is given twice (as an argument and with --%s)", flag, flag)
		}
		v := args[2+i]
		if i == 0 {
			e.Name = &v
		} else {
			e.Description = &v
		}
		changed = true
	}
	for _, p := range props {
		prop, err := app.ParseWIMProperty(p)
		if err != nil {
			return nil, usageErrorf("--image-property: %v", err)
		}
		e.Properties = append(e.Properties, prop)
		changed = true
	}
	if !changed {
		return nil, nil
	}
	return e, nil
}

// summary says what e changed.
func (ie *infoEdit) summary(e *app.WIMInfoEdit) string {
	var parts []string
	for _, f := range []struct {
		what string
		v    *string
	}{{"name", e.Name}, {"description", e.Description}, {"flags", e.Flags}, {"display name", e.DisplayName}, {"display description", e.DisplayDescription}} {
		if f.v != nil {
			parts = append(parts, fmt.Sprintf("%s %q", f.what, *f.v))
		}
	}
	for _, p := range e.Properties {
		parts = append(parts, fmt.Sprintf("%s %q", p.Path, p.Value))
	}
	if e.Boot {
		parts = append(parts, "now the bootable image")
	}
	return strings.Join(parts, ", ")
}

// wimTime formats a time as wimlib-imagex does.
func wimTime(t time.Time) string {
	if t.IsZero() {
		t = time.Date(1601, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	return t.UTC().Format("Mon Jan 02 15:04:05 2006 UTC")
}

// printInfo prints the layout of `wimlib-imagex info FILE`.
func printInfo(out io.Writer, w *app.WIM, path string) {
	h := w.Header()
	info := w.XML()
	var total int64
	if info != nil {
		total = info.TotalBytes
	}
	fmt.Fprintln(out, "WIM Information:")
	fmt.Fprintln(out, "----------------")
	fmt.Fprintf(out, "Path:           %s\n", path)
	fmt.Fprintf(out, "GUID:           0x%s\n", hex.EncodeToString(h.GUID[:]))
	fmt.Fprintf(out, "Version:        %d\n", h.Version)
	fmt.Fprintf(out, "Image Count:    %d\n", w.ImageCount())
	fmt.Fprintf(out, "Compression:    %s\n", h.Compression())
	fmt.Fprintf(out, "Chunk Size:     %d bytes\n", app.ChunkSizeOf(h))
	fmt.Fprintf(out, "Part Number:    %d/%d\n", h.Part, h.TotalParts)
	fmt.Fprintf(out, "Boot Index:     %d\n", h.BootIndex)
	fmt.Fprintf(out, "Size:           %d bytes\n", total)
	var attrs []string
	if w.Pipable() {
		attrs = append(attrs, "Pipable")
	}
	if !h.Integrity.IsZero() {
		attrs = append(attrs, "Integrity info")
	}
	if h.Flags&app.FlagRPFix != 0 {
		attrs = append(attrs, "Relative path junction")
	}
	if h.Flags&app.FlagResourceOnly != 0 {
		attrs = append(attrs, "Resource only")
	}
	if h.Flags&app.FlagMetadataOnly != 0 {
		attrs = append(attrs, "Metadata only")
	}
	if h.Flags&app.FlagReadOnly != 0 {
		attrs = append(attrs, "Readonly")
	}
	fmt.Fprintf(out, "Attributes:     %s\n\n", strings.Join(attrs, ", "))
	fmt.Fprintln(out, "Available Images:")
	fmt.Fprintln(out, "-----------------")
	if info == nil {
		return
	}
	for _, im := range info.Images {
		printWIMImage(out, im)
	}
}

// printImageInfo prints the layout of `wimlib-imagex info FILE IMAGE`.
func printImageInfo(out io.Writer, w *app.WIM, index int) {
	title := fmt.Sprintf("Information for Image %d", index)
	fmt.Fprintln(out, title)
	fmt.Fprintln(out, strings.Repeat("-", len(title)))
	if info := w.XML(); info != nil && info.Image(index) != nil {
		printWIMImage(out, *info.Image(index))
	}
}

// printWIMImage prints one image as `wimlib-imagex info` does.
func printWIMImage(out io.Writer, im app.WIMImageInfo) {
	fmt.Fprintf(out, "Index:                  %d\n", im.Index)
	fmt.Fprintf(out, "Name:                   %s\n", im.Name)
	fmt.Fprintf(out, "Description:            %s\n", im.Description)
	if im.DisplayName != "" {
		fmt.Fprintf(out, "Display Name:           %s\n", im.DisplayName)
	}
	if im.DisplayDescription != "" {
		fmt.Fprintf(out, "Display Description:    %s\n", im.DisplayDescription)
	}
	fmt.Fprintf(out, "Directory Count:        %d\n", im.DirCount)
	fmt.Fprintf(out, "File Count:             %d\n", im.FileCount)
	fmt.Fprintf(out, "Total Bytes:            %d\n", im.TotalBytes)
	fmt.Fprintf(out, "Hard Link Bytes:        %d\n", im.HardLinkBytes)
	fmt.Fprintf(out, "Creation Time:          %s\n", wimTime(im.Created))
	fmt.Fprintf(out, "Last Modification Time: %s\n", wimTime(im.Modified))
	if win := im.Windows; win != nil {
		fmt.Fprintf(out, "Architecture:           %s\n", win.ArchName())
		for _, f := range []struct{ label, v string }{
			{"Product Name:           ", win.ProductName},
			{"Edition ID:             ", win.EditionID},
			{"Installation Type:      ", win.InstallationType},
			{"HAL:                    ", win.HAL},
			{"Product Type:           ", win.ProductType},
			{"Product Suite:          ", win.ProductSuite},
		} {
			if f.v != "" {
				fmt.Fprintf(out, "%s%s\n", f.label, f.v)
			}
		}
		if len(win.Languages) > 0 || win.DefaultLanguage != "" {
			fmt.Fprint(out, "Languages:              ")
			for _, l := range win.Languages {
				fmt.Fprintf(out, "%s ", l)
			}
			fmt.Fprintln(out)
			if win.DefaultLanguage != "" {
				fmt.Fprintf(out, "Default Language:       %s\n", win.DefaultLanguage)
			}
		}
		if win.SystemRoot != "" {
			fmt.Fprintf(out, "System Root:            %s\n", win.SystemRoot)
		}
		// wimlib prints the version only when there is a <VERSION>,
		// which the XML data holds when it is set.
		if v := win.Version; v != (app.WIMWindowsVersion{}) {
			fmt.Fprintf(out, "Major Version:          %d\n", v.Major)
			fmt.Fprintf(out, "Minor Version:          %d\n", v.Minor)
			fmt.Fprintf(out, "Build:                  %d\n", v.Build)
			fmt.Fprintf(out, "Service Pack Build:     %d\n", v.SPBuild)
			fmt.Fprintf(out, "Service Pack Level:     %d\n", v.SPLevel)
		}
	}
	if im.Flags != "" {
		fmt.Fprintf(out, "Flags:                  %s\n", im.Flags)
	}
	wb := "no"
	if im.WIMBoot {
		wb = "yes"
	}
	fmt.Fprintf(out, "WIMBoot compatible:     %s\n\n", wb)
}

// ---- dir ----

func newDirCmd(env *Env) *cobra.Command {
	var refs []string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "dir FILE IMAGE",
		Short: "List every path of an image",
		Long: `List every path of an image (IMAGE is a 1-based index or an image name), one
a line, exactly as 'wimlib-imagex dir' prints them: "/" for the root, then
each folder before its contents, siblings in NTFS collation order. Listing
paths needs no file data, so a WDS image or split part 1 lists without --ref.

With --json, one JSON array is printed instead, one object per entry in the
same order, with lower_snake_case keys: path, name, short_name, attributes
(Windows FILE_ATTRIBUTE_* bits), size, hash (SHA-1 of the unnamed data
stream, hex), created, accessed, modified (RFC 3339, UTC, 100 ns precision),
security_id (-1 for none), security_descriptor (the self-relative
SECURITY_DESCRIPTOR, hex), link_group (hard link group id), reparse_tag,
reparse {size, hash} (the reparse data of a reparse point) and streams
(named data streams: name, size, hash). Empty values are left out. Sizes come
from the blob tables, so --json needs the --ref files that hold the data.`,
		Args: exactArgs(2, "a WIM file and an image"),
		RunE: func(cmd *cobra.Command, args []string) error {
			w, index, err := app.OpenWIMImage(args[0], refs, args[1])
			if err != nil {
				return err
			}
			defer w.Close()
			if !asJSON {
				// Paths need no blob: list them even when the file
				// data lives in a --ref file that was not given, as
				// wimlib-imagex does.
				bw := bufio.NewWriter(env.Stdout)
				if err := app.ImagePaths(w, index, func(path string) error {
					bw.WriteString(path)
					return bw.WriteByte('\n')
				}); err != nil {
					return err
				}
				return bw.Flush()
			}
			list, err := app.DescribeEntries(w, index)
			if err != nil {
				return err
			}
			return printJSON(env, list)
		},
	}
	cmd.Flags().StringArrayVar(&refs, "ref", nil, refHelp)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON array with every entry's metadata")
	return cmd
}

// ---- apply ----

func newApplyCmd(env *Env) *cobra.Command {
	var refs []string
	cmd := &cobra.Command{
		Use:   "apply FILE IMAGE DIR",
		Short: "Extract an image into a folder",
		Long: `Extract image IMAGE (a 1-based index or an image name) of FILE into DIR, which
must be empty or not exist yet, as 'wimlib-imagex apply' does on this system:
folders, files, hard links, symbolic links (from symlink and junction reparse
points; fixed absolute targets are rebased onto DIR) and file times. Named
data streams, security descriptors, attributes, short names and other reparse
data have no POSIX equivalent and are skipped, with a note on stderr. Names
that could reach outside DIR ('..', '/', '\', ':', NUL) make the whole image
refused. A progress line is shown when stderr is a terminal.

FILE '-' reads a pipable WIM (see capture --pipable) from standard input, in
one pass, as 'wimlib-imagex apply -' does: cat install.wim | apply - 1 DIR,
or the output of curl or ssh.`,
		Args: exactArgs(3, "a WIM file, an image and a target folder"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signalContext(cmd)
			defer stop()
			var st *app.ApplyStats
			var err error
			if args[0] == "-" {
				if len(refs) > 0 {
					return usageErrorf("--ref cannot be used with a WIM read from standard input")
				}
				st, err = applyFromStdin(ctx, env, args[1], args[2])
			} else {
				st, err = applyFile(ctx, env, args[0], refs, args[1], args[2])
			}
			if err != nil {
				return err
			}
			for _, n := range []struct {
				count int
				what  string
			}{
				{st.NamedStreams, "skipped the named data streams of %d file%s"},
				{st.OtherReparse, "extracted %d reparse point%s other than links without their reparse data"},
				{st.Encrypted, "extracted %d encrypted file%s empty"},
			} {
				if n.count > 0 {
					env.notef(n.what, n.count, plural(n.count))
				}
			}
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&refs, "ref", nil, refHelp)
	return cmd
}

// applyFile extracts image arg of the WIM file path into dir.
func applyFile(ctx context.Context, env *Env, path string, refs []string, arg, dir string) (*app.ApplyStats, error) {
	w, index, err := app.OpenWIMImage(path, refs, arg)
	if err != nil {
		return nil, err
	}
	defer w.Close()
	img, err := w.Image(index)
	if err != nil {
		return nil, err
	}
	report, done := progressLine(env)
	defer done()
	return w.ApplyImage(ctx, img, dir, report)
}

// applyFromStdin extracts image arg of the pipable WIM on standard input
// into dir, reading it once.
func applyFromStdin(ctx context.Context, env *Env, arg, dir string) (*app.ApplyStats, error) {
	in := env.Stdin
	if in == nil {
		in = os.Stdin
	}
	w, err := app.OpenWIMPipe(in, "standard input")
	if err != nil {
		return nil, err
	}
	index, err := app.ImageIndex(w, arg)
	if err != nil {
		return nil, err
	}
	report, done := progressLine(env)
	defer done()
	return w.ApplyPipe(ctx, index, dir, report)
}

// ---- verify ----

func newVerifyCmd(env *Env) *cobra.Command {
	var refs []string
	cmd := &cobra.Command{
		Use:   "verify FILE",
		Short: "Check a WIM file's integrity and every blob its images need",
		Long: `Check FILE: its integrity table when it has one, the SHA-1 digest of every
blob it stores, and, for each image, that its metadata is sound and that every
blob it refers to is present in FILE or a --ref file. Prints "FILE: OK" and
exits 0 only when everything is good; otherwise exits 1 naming the first bad
blob, chunk or entry.`,
		Args: exactArgs(1, "a WIM file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			w, err := app.OpenWIM(args[0], refs)
			if err != nil {
				return err
			}
			defer w.Close()
			ctx, stop := signalContext(cmd)
			defer stop()
			report, done := progressLine(env)
			err = w.Verify(ctx, report)
			done()
			if err != nil {
				return err
			}
			for i := 1; i <= w.ImageCount(); i++ {
				if _, err := w.Image(i); err != nil {
					return err
				}
			}
			fmt.Fprintf(env.Stdout, "%s: OK\n", args[0])
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&refs, "ref", nil, refHelp)
	return cmd
}
