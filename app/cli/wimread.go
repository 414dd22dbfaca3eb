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

// wimInfoJSON is the object `info --json` prints.
type wimInfoJSON struct {
	Path        string          `json:"path"`
	GUID        string          `json:"guid"`
	Version     uint32          `json:"version"`
	Compression string          `json:"compression"`
	ChunkSize   uint32          `json:"chunk_size"`
	PartNumber  int             `json:"part_number"`
	TotalParts  int             `json:"total_parts"`
	HeaderFlags uint32          `json:"header_flags"`
	Flags       []string        `json:"flags"`
	BootIndex   int             `json:"boot_index"`
	ImageCount  int             `json:"image_count"`
	TotalBytes  int64           `json:"total_bytes"`
	Images      []imageInfoJSON `json:"images"`
}

type imageInfoJSON struct {
	Index              int          `json:"index"`
	Name               string       `json:"name"`
	Description        string       `json:"description"`
	DisplayName        string       `json:"display_name,omitempty"`
	DisplayDescription string       `json:"display_description,omitempty"`
	Flags              string       `json:"flags,omitempty"`
	DirCount           int64        `json:"dir_count"`
	FileCount          int64        `json:"file_count"`
	TotalBytes         int64        `json:"total_bytes"`
	HardLinkBytes      int64        `json:"hard_link_bytes"`
	Created            *time.Time   `json:"created,omitempty"`
	Modified           *time.Time   `json:"modified,omitempty"`
	WIMBoot            bool         `json:"wimboot"`
	Windows            *windowsJSON `json:"windows,omitempty"`
}

type windowsJSON struct {
	Arch             int      `json:"arch"`
	ArchName         string   `json:"arch_name"`
	ProductName      string   `json:"product_name,omitempty"`
	EditionID        string   `json:"edition_id,omitempty"`
	InstallationType string   `json:"installation_type,omitempty"`
	HAL              string   `json:"hal,omitempty"`
	ProductType      string   `json:"product_type,omitempty"`
	ProductSuite     string   `json:"product_suite,omitempty"`
	Languages        []string `json:"languages,omitempty"`
	DefaultLanguage  string   `json:"default_language,omitempty"`
	SystemRoot       string   `json:"system_root,omitempty"`
	Version          struct {
		Major   int `json:"major"`
		Minor   int `json:"minor"`
		Build   int `json:"build"`
		SPBuild int `json:"sp_build"`
		SPLevel int `json:"sp_level"`
	} `json:"version"`
}

// headerFlagNames names the header flags, in the order they are listed.
var headerFlagNames = []struct {
	flag uint32
	name string
}{
	{app.FlagCompression, "compression"},
	{app.FlagReadOnly, "readonly"},
	{app.FlagSpanned, "spanned"},
	{app.FlagResourceOnly, "resource_only"},
	{app.FlagMetadataOnly, "metadata_only"},
	{app.FlagWriteInProgress, "write_in_progress"},
	{app.FlagRPFix, "rp_fix"},
}

func newInfoCmd(env *Env) *cobra.Command {
	var refs []string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "info FILE",
		Short: "Show what a WIM file holds: its header and its images",
		Long: `Show a WIM file's header facts (GUID, version, compression, chunk size, part
number, flags, boot index, image count, total bytes) and, for each image, what
its XML data says: index, name, description, folder and file counts, total
bytes, creation and modification times and, for Windows images, architecture,
product name, edition, installation type, languages and version. The text
layout is that of 'wimlib-imagex info'.

With --json, one JSON object is printed instead, with lower_snake_case keys:
path, guid (hex), version, compression, chunk_size, part_number, total_parts,
header_flags (number) and flags (names: compression, readonly, spanned,
resource_only, metadata_only, write_in_progress, rp_fix), boot_index,
image_count, total_bytes and images, an array of objects with index, name,
description, display_name, display_description, flags, dir_count, file_count,
total_bytes, hard_link_bytes, created, modified (RFC 3339, UTC), wimboot and
windows {arch, arch_name, product_name, edition_id, installation_type, hal,
product_type, product_suite, languages, default_language, system_root,
version {major, minor, build, sp_build, sp_level}}.`,
		Args: exactArgs(1, "a WIM file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			w, err := app.OpenWIM(args[0], refs)
			if err != nil {
				return err
			}
			defer w.Close()
			if asJSON {
				return printJSON(env, infoJSON(w, args[0]))
			}
			printInfo(env.Stdout, w, args[0])
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&refs, "ref", nil, refHelp)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	return cmd
}

func infoJSON(w *app.WIM, path string) *wimInfoJSON {
	h := w.Header()
	out := &wimInfoJSON{
		Path:        path,
		GUID:        hex.EncodeToString(h.GUID[:]),
		Version:     h.Version,
		Compression: h.Compression().String(),
		ChunkSize:   chunkSize(h),
		PartNumber:  int(h.Part),
		TotalParts:  int(h.TotalParts),
		HeaderFlags: h.Flags,
		Flags:       []string{},
		BootIndex:   int(h.BootIndex),
		ImageCount:  w.ImageCount(),
		Images:      []imageInfoJSON{},
	}
	for _, f := range headerFlagNames {
		if h.Flags&f.flag != 0 {
			out.Flags = append(out.Flags, f.name)
		}
	}
	info := w.XML()
	if info == nil {
		return out
	}
	out.TotalBytes = info.TotalBytes
	for _, im := range info.Images {
		j := imageInfoJSON{
			Index: im.Index, Name: im.Name, Description: im.Description,
			DisplayName: im.DisplayName, DisplayDescription: im.DisplayDescription,
			Flags: im.Flags, DirCount: im.DirCount, FileCount: im.FileCount,
			TotalBytes: im.TotalBytes, HardLinkBytes: im.HardLinkBytes, WIMBoot: im.WIMBoot,
		}
		if !im.Created.IsZero() {
			t := im.Created
			j.Created = &t
		}
		if !im.Modified.IsZero() {
			t := im.Modified
			j.Modified = &t
		}
		if win := im.Windows; win != nil {
			wj := &windowsJSON{
				Arch: win.Arch, ArchName: win.ArchName(), ProductName: win.ProductName,
				EditionID: win.EditionID, InstallationType: win.InstallationType, HAL: win.HAL,
				ProductType: win.ProductType, ProductSuite: win.ProductSuite,
				Languages: win.Languages, DefaultLanguage: win.DefaultLanguage, SystemRoot: win.SystemRoot,
			}
			wj.Version.Major, wj.Version.Minor, wj.Version.Build = win.Version.Major, win.Version.Minor, win.Version.Build
			wj.Version.SPBuild, wj.Version.SPLevel = win.Version.SPBuild, win.Version.SPLevel
			j.Windows = wj
		}
		out.Images = append(out.Images, j)
	}
	return out
}

// chunkSize is the chunk size as wimlib reports it: 0 for an uncompressed
// file.
func chunkSize(h app.WIMHeader) uint32 {
	if h.Compression() == app.NoCompression {
		return 0
	}
	return h.ChunkSize
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
	fmt.Fprintf(out, "Chunk Size:     %d bytes\n", chunkSize(h))
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
			v := win.Version
			fmt.Fprintf(out, "Major Version:          %d\n", v.Major)
			fmt.Fprintf(out, "Minor Version:          %d\n", v.Minor)
			fmt.Fprintf(out, "Build:                  %d\n", v.Build)
			fmt.Fprintf(out, "Service Pack Build:     %d\n", v.SPBuild)
			fmt.Fprintf(out, "Service Pack Level:     %d\n", v.SPLevel)
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
}

// ---- dir ----

// dirEntryJSON is one entry of `dir --json`.
type dirEntryJSON struct {
	Path               string       `json:"path"`
	Name               string       `json:"name"`
	ShortName          string       `json:"short_name,omitempty"`
	Attributes         uint32       `json:"attributes"`
	Size               int64        `json:"size"`
	Hash               string       `json:"hash,omitempty"`
	Created            time.Time    `json:"created"`
	Accessed           time.Time    `json:"accessed"`
	Modified           time.Time    `json:"modified"`
	SecurityID         int32        `json:"security_id"`
	SecurityDescriptor string       `json:"security_descriptor,omitempty"`
	LinkGroup          uint64       `json:"link_group"`
	ReparseTag         uint32       `json:"reparse_tag,omitempty"`
	Reparse            *streamJSON  `json:"reparse,omitempty"`
	Streams            []streamJSON `json:"streams,omitempty"`
}

type streamJSON struct {
	Name string `json:"name,omitempty"`
	Size int64  `json:"size"`
	Hash string `json:"hash,omitempty"`
}

func hashString(h app.Hash) string {
	if h.IsZero() {
		return ""
	}
	return h.String()
}

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
			img, err := w.Image(index)
			if err != nil {
				return err
			}
			list := []dirEntryJSON{}
			img.Walk(func(path string, f *app.WIMEntry) error {
				e := dirEntryJSON{
					Path: path, Name: f.Name, ShortName: f.ShortName, Attributes: f.Attributes,
					Size: f.Size, Hash: hashString(f.Hash),
					Created: f.Created, Accessed: f.Accessed, Modified: f.Modified,
					SecurityID: f.SecurityID, LinkGroup: f.LinkGroup, ReparseTag: f.ReparseTag,
				}
				if f.SecurityID >= 0 && int(f.SecurityID) < len(img.Security) {
					e.SecurityDescriptor = hex.EncodeToString(img.Security[f.SecurityID])
				}
				for _, s := range f.Streams {
					sj := streamJSON{Name: s.Name, Size: s.Size, Hash: hashString(s.Hash)}
					if s.Name == "" {
						e.Reparse = &sj
					} else {
						e.Streams = append(e.Streams, sj)
					}
				}
				list = append(list, e)
				return nil
			})
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
