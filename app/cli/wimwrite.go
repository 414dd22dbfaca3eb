package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/wimconsole/wimconsole/app"
)

func init() {
	register(newCaptureCmd)
	register(newExportCmd)
	register(newOptimizeCmd)
	register(newDeleteCmd)
}

const compressHelp = "compression: none, xpress, lzx or lzms; lzx:fast, lzx:slow or wimlib's lzx:N (1-34 fast, 35-69 default, 70-100 slow) pick the LZX level"

// solidHelp ends the help of the commands that write solid resources.
const solidHelp = `

With --solid the file data is packed into solid resources, many files
compressed together: an ESD file, much smaller and slower to read, as DISM's
/Compress:recovery makes. Their codec is LZMS unless --solid-compress says
lzx or xpress (--solid-compress implies --solid); their chunks are 64M for
LZMS and 32K otherwise unless --solid-chunk-size says. Without --compress,
image metadata uses the same codec. An existing file that has solid
resources gets new ones with the codec and chunk size of its last one,
whatever is asked; --solid makes an existing file without any start having
them.`

// solidFlags are the flags of solid writing.
type solidFlags struct {
	solid           bool
	compress, chunk string
}

func (s *solidFlags) add(cmd *cobra.Command) {
	f := cmd.Flags()
	f.BoolVar(&s.solid, "solid", false, "pack file data into solid resources (an ESD file; LZMS by default)")
	f.StringVar(&s.compress, "solid-compress", "lzms", "codec of solid resources: lzms, lzx or xpress (implies --solid)")
	f.StringVar(&s.chunk, "solid-chunk-size", "", "chunk size of solid resources (default 64M for LZMS, 32K for lzx and xpress)")
}

// parse returns whether solid resources are asked for, their codec and
// chunk size (0: the default); wrong values are usage errors.
func (s *solidFlags) parse(cmd *cobra.Command) (bool, app.Compression, int, error) {
	f := cmd.Flags()
	on := s.solid || f.Changed("solid-compress") || f.Changed("solid-chunk-size")
	if !on {
		return false, 0, 0, nil
	}
	c, err := app.ParseSolidCompression(s.compress)
	if err != nil {
		return false, 0, 0, &UsageError{err}
	}
	chunk := 0
	if f.Changed("solid-chunk-size") {
		if chunk, err = app.ParseChunkSize(s.chunk, c); err != nil {
			return false, 0, 0, usageErrorf("--solid-chunk-size: %v", err)
		}
	}
	return true, c, chunk, nil
}

const pipableHelp = "write a pipable WIM (wimlib's format for apply - from a pipe; Microsoft's tools cannot read it)"

// tempHelp ends the help of the commands that write a new WIM file under a
// temporary name (see wim.Create).
const tempHelp = `

A new file is written as .FILE` + app.TempInfix + `XXXXXXXXXXXX in FILE's folder, then
renamed to FILE. A run that is killed leaves that hidden file behind; the
next command that writes a WIM file into the same folder removes it (a file
that a running command is still writing is locked, and left alone).`

// parseCompression reads a --compress value and its LZX level (see
// app.ParseCompressionLevel); a wrong one is a usage error.
func parseCompression(s string) (app.Compression, int, error) {
	c, level, err := app.ParseCompressionLevel(s)
	if err != nil {
		return 0, 0, &UsageError{err}
	}
	return c, level, nil
}

// sameCompression checks that the existing WIM file name uses compression
// c, which an append keeps: a --compress that differs is a usage error
// naming the file's.
func sameCompression(name string, c app.Compression) error {
	w, err := app.OpenWIM(name, nil)
	if err != nil {
		return err
	}
	defer w.Close()
	if have := w.Header().Compression(); have != c {
		return usageErrorf("--compress %v: %s uses %v, which --append keeps (leave --compress out, or give %v)",
			strings.ToLower(c.String()), name, have, strings.ToLower(have.String()))
	}
	return nil
}

// ---- capture ----

func newCaptureCmd(env *Env) *cobra.Command {
	var (
		name, desc, compress string
		check, boot, appendF bool
		skipBad, pipable     bool
		solid                solidFlags
	)
	cmd := &cobra.Command{
		Use:   "capture DIR FILE --name NAME",
		Short: "Capture a folder as a new image of a WIM file",
		Long: `Capture the folder DIR as a new image named NAME: into a new WIM file FILE
(replacing any file of that name), or with --append into the existing FILE,
grown in place (crash-safe: the old images stay readable whatever happens).
With --pipable, FILE is a pipable WIM (wimlib's format, which apply - reads
from a pipe in one pass); a pipable FILE given to --append is written again
whole and stays pipable.

Folders, files, symbolic links (stored as symlink reparse points, absolute
targets inside DIR made relative to the image root, as wimlib does), hard
links and file times are captured; identical contents are stored once.
Compression runs on all processors. A progress line is shown when stderr is a
terminal.` + solidHelp + tempHelp,
		Args: exactArgs(2, "a folder and a WIM file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, level, err := parseCompression(compress)
			if err != nil {
				return err
			}
			isSolid, sc, schunk, err := solid.parse(cmd)
			if err != nil {
				return err
			}
			if isSolid && !cmd.Flags().Changed("compress") {
				c = sc
			}
			if appendF && pipable {
				return usageErrorf("--pipable writes a new file; it cannot be used with --append (a pipable FILE stays pipable)")
			}
			if appendF && cmd.Flags().Changed("compress") {
				// Scripts written for wimlib-imagex name the file's own
				// compression: accept that, refuse another.
				if err := sameCompression(args[1], c); err != nil {
					return err
				}
			}
			ctx, stop := signalContext(cmd)
			defer stop()
			report, done := progressLine(env)
			var skipped []string
			idx, err := app.Capture(ctx, args[0], args[1], app.CaptureOptions{
				Name: name, Description: desc, Compression: c, LZXLevel: level,
				Solid: isSolid, SolidCompression: sc, SolidChunkSize: schunk,
				Integrity: check, Boot: boot, Append: appendF, Progress: report,
				SkipBadNames: skipBad, Pipable: pipable,
				Skipped: func(path string, _ error) { skipped = append(skipped, path) },
			})
			done()
			var bad *app.BadNameError
			if errors.As(err, &bad) {
				return fmt.Errorf("%v (leave such files out with --skip-bad-names)", err)
			}
			if err != nil {
				return err
			}
			if len(skipped) > 0 {
				env.notef("left out %d file%s whose names an image cannot hold, such as %q",
					len(skipped), plural(len(skipped)), skipped[0])
			}
			fmt.Fprintf(env.Stdout, "%s: captured %s as image %d (%q)\n", args[1], args[0], idx, name)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&name, "name", "", "name of the new image (required)")
	f.StringVar(&desc, "description", "", "description of the new image")
	f.StringVar(&compress, "compress", "lzx", compressHelp+" (with --append: the file's own, or left out)")
	f.BoolVar(&check, "check", false, "write an integrity table")
	f.BoolVar(&boot, "boot", false, "mark the new image bootable")
	f.BoolVar(&appendF, "append", false, "add the image to the existing FILE in place")
	f.BoolVar(&skipBad, "skip-bad-names", false, "leave out files whose names an image cannot hold (':', '\\', ...) instead of failing")
	solid.add(cmd)
	f.BoolVar(&pipable, "pipable", false, pipableHelp)
	cmd.MarkFlagRequired("name")
	return cmd
}

// ---- export ----

func newExportCmd(env *Env) *cobra.Command {
	var (
		refs                  []string
		name, desc, compress  string
		recompress, check, bt bool
		pipable               bool
		split                 string
		solid                 solidFlags
	)
	cmd := &cobra.Command{
		Use:   "export SRC IMAGE|all DEST [--split SIZE]",
		Short: "Copy images of a WIM file into another (new or existing) WIM file",
		Long: `Copy image IMAGE (a 1-based index or an image name), or all images, of SRC
into DEST with the file data they use (from SRC or a --ref file). A new DEST
is created with SRC's compression unless --compress says otherwise; an
existing DEST is grown in place, keeping its compression, and data it already
holds is not written again. Data stored with the destination's compression is
copied as it is, without decompressing it, unless --recompress is given.

With --split SIZE, DEST is a new split set instead (DEST.swm, DEST2.swm …,
each at most SIZE: see split), for a FAT32 USB stick; with --pipable too, a
set of pipable parts (cat DEST.swm DEST2.swm … | apply - 1 DIR); with
--check, an integrity table in every part.

WIM to ESD: export SRC all DEST.esd --solid. ESD to WIM: export SRC.esd all
DEST.wim --compress lzx.` + solidHelp + tempHelp,
		Args: exactArgs(3, "a source WIM, an image (or all) and a destination WIM"),
		RunE: func(cmd *cobra.Command, args []string) error {
			o := app.WIMExportOptions{Name: name, Description: desc, Recompress: recompress, Integrity: check, Boot: bt, Pipable: pipable}
			var partSize int64
			if cmd.Flags().Changed("split") {
				n, err := app.ParseSize(split)
				if err != nil {
					return usageErrorf("--split: %v", err)
				}
				partSize = n
			}
			if cmd.Flags().Changed("compress") {
				c, level, err := parseCompression(compress)
				if err != nil {
					return err
				}
				o.Compression, o.LZXLevel = &c, level
			}
			isSolid, sc, schunk, err := solid.parse(cmd)
			if err != nil {
				return err
			}
			if isSolid && partSize > 0 {
				return usageErrorf("--solid and --split: a split set is not written with solid resources; export to an ESD, or split without --solid")
			}
			o.Solid, o.SolidCompression, o.SolidChunkSize = isSolid, sc, schunk
			src, err := app.OpenWIM(args[0], refs)
			if err != nil {
				return err
			}
			defer src.Close()
			var images []int
			if strings.EqualFold(args[1], "all") {
				for i := 1; i <= src.ImageCount(); i++ {
					images = append(images, i)
				}
				if len(images) == 0 {
					return fmt.Errorf("%s has no images", args[0])
				}
				if len(images) > 1 && (name != "" || desc != "") {
					return usageErrorf("--name and --description apply to one image, not all %d", len(images))
				}
			} else {
				i, err := app.ImageIndex(src, args[1])
				if err != nil {
					return err
				}
				images = []int{i}
			}
			ctx, stop := signalContext(cmd)
			defer stop()
			report, done := progressLine(env)
			o.Progress = report
			var idx []int
			var parts []string
			if partSize > 0 {
				idx, parts, err = app.ExportWIMSplit(ctx, src, images, args[2], partSize, o)
			} else {
				idx, err = app.ExportWIM(ctx, src, images, args[2], o)
			}
			done()
			if err != nil {
				return err
			}
			for k, i := range idx {
				fmt.Fprintf(env.Stdout, "%s: image %d of %s exported as image %d\n", args[2], images[k], args[0], i)
			}
			if len(parts) > 1 {
				fmt.Fprintf(env.Stdout, "%s: split into %d parts: %s\n", args[2], len(parts), strings.Join(parts, ", "))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&refs, "ref", nil, refHelp)
	f.StringVar(&name, "name", "", "new name of the exported image")
	f.StringVar(&desc, "description", "", "new description of the exported image")
	f.StringVar(&compress, "compress", "", compressHelp+" (a new DEST only; default: SRC's)")
	f.BoolVar(&recompress, "recompress", false, "compress all data again instead of copying it as stored")
	f.BoolVar(&check, "check", false, "write an integrity table")
	f.BoolVar(&bt, "boot", false, "mark the exported image bootable")
	f.StringVar(&split, "split", "", "write a new split set of parts of at most SIZE (700M, 3.8G) for a FAT32 USB stick")
	solid.add(cmd)
	f.BoolVar(&pipable, "pipable", false, pipableHelp+"; DEST must be new")
	return cmd
}

// ---- optimize ----

func newOptimizeCmd(env *Env) *cobra.Command {
	var (
		refs              []string
		compress          string
		recompress, check bool
	)
	cmd := &cobra.Command{
		Use:   "optimize FILE",
		Short: "Rebuild a WIM file without holes and unused data",
		Long: `Rebuild FILE without the holes that in-place appends and soft deletes leave
and without data no image uses, optionally with another compression
(--compress) or compressing everything again (--recompress). The new file is
written next to FILE, synced, then renamed over it: an interruption leaves
FILE as it was. A resource-only file (a WDS Res.rwm) keeps all its data.` + tempHelp,
		Args: exactArgs(1, "a WIM file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			o := app.OptimizeOptions{Recompress: recompress, Integrity: check, Refs: refs}
			if cmd.Flags().Changed("compress") {
				c, level, err := parseCompression(compress)
				if err != nil {
					return err
				}
				o.Compression, o.LZXLevel = &c, level
			}
			ctx, stop := signalContext(cmd)
			defer stop()
			report, done := progressLine(env)
			o.Progress = report
			err := app.OptimizeWIM(ctx, args[0], o)
			done()
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&compress, "compress", "", compressHelp+" (default: the file's own)")
	f.BoolVar(&recompress, "recompress", false, "compress all data again")
	f.BoolVar(&check, "check", false, "write an integrity table")
	f.StringArrayVar(&refs, "ref", nil, "for a metadata-only file: its group's Res.rwm, for image sizes (repeatable)")
	return cmd
}

// ---- delete ----

func newDeleteCmd(env *Env) *cobra.Command {
	var soft bool
	cmd := &cobra.Command{
		Use:   "delete FILE IMAGE",
		Short: "Delete an image from a WIM file",
		Long: `Delete image IMAGE (a 1-based index or an image name) from FILE. By default
the file is rebuilt without the image and the data only it used (as optimize
does). With --soft only the image's entry goes: quick and crash-safe, in
place, but no space is freed until the file is optimized.` + tempHelp,
		Args: exactArgs(2, "a WIM file and an image"),
		RunE: func(cmd *cobra.Command, args []string) error {
			w, index, err := app.OpenWIMImage(args[0], nil, args[1])
			if err != nil {
				return err
			}
			w.Close()
			ctx, stop := signalContext(cmd)
			defer stop()
			return app.DeleteWIMImage(ctx, args[0], index, soft)
		},
	}
	cmd.Flags().BoolVar(&soft, "soft", false, "only remove the image's entry; free no space")
	return cmd
}
