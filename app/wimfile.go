package app

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/wimconsole/wimconsole/engine/progress"
	"github.com/wimconsole/wimconsole/engine/wim"
	"github.com/wimconsole/wimconsole/engine/wim/lzx"
)

// WIM files on their own, outside a store: what the info, dir, apply,
// verify, capture, export, optimize and delete commands do.
//
// The engine's reader types are re-exported on purpose, as archive/zip's
// are used directly by its callers: a WIM, its header, the files of an
// image. app adds what every caller needs around them (--ref globs, images
// named by index or by name, the compression names administrators type).
type (
	// WIM is an open WIM file.
	WIM = wim.WIM
	// WIMHeader is a WIM file's header.
	WIMHeader = wim.Header
	// WIMImageInfo is what a WIM's XML data says of one image.
	WIMImageInfo = wim.ImageInfo
	// WIMWindowsVersion is the Windows version an image's XML data records.
	WIMWindowsVersion = wim.WindowsVersion
	// WIMEntry is a file or folder of an image.
	WIMEntry = wim.File
	// Hash is a SHA-1 digest of file data.
	Hash = wim.Hash
	// Compression is a WIM compression format.
	Compression = wim.Compression
	// CaptureOptions are Capture's options.
	CaptureOptions = wim.CaptureOptions
	// WIMExportOptions are ExportWIM's options.
	WIMExportOptions = wim.ExportOptions
	// OptimizeOptions are OptimizeWIM's options.
	OptimizeOptions = wim.OptimizeOptions
	// BadNameError is a file name an image cannot hold, met by Capture.
	BadNameError = wim.BadNameError
	// ApplyStats sums up what an apply created and skipped.
	ApplyStats = wim.ApplyStats
	// PanicError is a panic turned into an error (a bug, usually on bad
	// input), with its stack.
	PanicError = wim.PanicError
)

// Compression formats, and the header flags info shows.
const (
	NoCompression = wim.None
	XPRESS        = wim.XPRESS
	LZX           = wim.LZX
	LZMS          = wim.LZMS

	FlagCompression     = wim.FlagCompression
	FlagReadOnly        = wim.FlagReadOnly
	FlagSpanned         = wim.FlagSpanned
	FlagResourceOnly    = wim.FlagResourceOnly
	FlagMetadataOnly    = wim.FlagMetadataOnly
	FlagWriteInProgress = wim.FlagWriteInProgress
	FlagRPFix           = wim.FlagRPFix

	// TempInfix is in the name of a WIM file being written, before it is
	// renamed into place.
	TempInfix = wim.TempInfix
)

// OpenWIM opens the WIM file name with the ref files that hold its data
// (split parts, a WDS group's Res.rwm), expanding glob patterns in refs as
// wimlib-imagex does.
func OpenWIM(name string, refs []string) (*WIM, error) {
	var all []string
	for _, r := range refs {
		if !strings.ContainsAny(r, "*?[") {
			all = append(all, r)
			continue
		}
		m, err := filepath.Glob(r)
		if err != nil {
			return nil, fmt.Errorf("--ref %q: %v", r, err)
		}
		if len(m) == 0 {
			return nil, fmt.Errorf("--ref %q matches no file", r)
		}
		all = append(all, m...)
	}
	return wim.Open(name, &wim.OpenOptions{Refs: all})
}

// OpenWIMPipe reads the header and XML data of a pipable WIM from r (a
// pipe, such as standard input: read once, in one pass), named name in
// messages. The WIM tells its images and applies one of them with
// ApplyPipe; nothing else can be read from it.
func OpenWIMPipe(r io.Reader, name string) (*WIM, error) {
	return wim.OpenPipe(r, name)
}

// OpenWIMImage opens the WIM file path with refs and finds its image arg
// (an index or a name); the file is closed when that fails.
func OpenWIMImage(path string, refs []string, arg string) (*WIM, int, error) {
	w, err := OpenWIM(path, refs)
	if err != nil {
		return nil, 0, err
	}
	index, err := ImageIndex(w, arg)
	if err != nil {
		w.Close()
		return nil, 0, err
	}
	return w, index, nil
}

// ImageIndex resolves an image argument: a 1-based index, or an image
// name as recorded in the XML data. A name that two images have is
// refused (the index tells them apart).
func ImageIndex(w *WIM, arg string) (int, error) {
	if n, err := strconv.Atoi(arg); err == nil {
		if n < 1 || n > w.ImageCount() {
			return 0, fmt.Errorf("%s has no image %d (it has %d)", w.Name(), n, w.ImageCount())
		}
		return n, nil
	}
	var found []int
	if info := w.XML(); info != nil {
		for _, im := range info.Images {
			if im.Name == arg {
				found = append(found, im.Index)
			}
		}
	}
	switch len(found) {
	case 0:
		return 0, fmt.Errorf("%s has no image named %q ('info %s' lists its images)", w.Name(), arg, w.Name())
	case 1:
		return found[0], nil
	}
	return 0, fmt.Errorf("%s has %d images named %q (%s): give the index", w.Name(), len(found), arg, andList(found))
}

// andList writes 2, 5 and 7.
func andList(n []int) string {
	s := make([]string, len(n))
	for i, v := range n {
		s[i] = strconv.Itoa(v)
	}
	if len(s) < 2 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}

// ImageIndexes opens the WIM file path and resolves each of args (an
// index or a name, see ImageIndex); an image given twice is refused.
func ImageIndexes(path string, args []string) ([]int, error) {
	w, err := wim.Open(path, nil)
	if err != nil {
		return nil, err
	}
	defer w.Close()
	var out []int
	for _, a := range args {
		i, err := ImageIndex(w, a)
		if err != nil {
			return nil, err
		}
		if slices.Contains(out, i) {
			return nil, fmt.Errorf("%s: image %d is given twice (as %q)", path, i, a)
		}
		out = append(out, i)
	}
	return out, nil
}

// WIMInfoEdit is what SetWIMImageInfo changes; WIMProperty is one XML
// element of an image, by its path ("WINDOWS/EDITIONID").
type (
	WIMInfoEdit = wim.InfoEdit
	WIMProperty = wim.Property
)

// SettableWIMProperties are the property paths SetWIMImageInfo can set.
func SettableWIMProperties() []string { return slices.Clone(wim.SettableProperties) }

// ParseWIMProperty reads NAME=VALUE (wimlib-imagex's --image-property).
func ParseWIMProperty(s string) (WIMProperty, error) { return wim.ParseProperty(s) }

// SetWIMImageInfo changes image index of the WIM file name in place: its
// name, description, edition flags and other XML properties, and with
// e.Boot makes it the bootable image. Only the XML data and the header are
// rewritten, crash-safe; elements of the XML data this program does not
// know are kept.
func SetWIMImageInfo(name string, index int, e WIMInfoEdit) error {
	return wim.SetImageInfo(name, index, e)
}

// ParseCompression reads a compression name: none, xpress, lzx or lzms
// (also wimlib-imagex's names fast, maximum and recovery).
func ParseCompression(s string) (Compression, error) {
	switch strings.ToLower(s) {
	case "none":
		return wim.None, nil
	case "xpress", "fast":
		return wim.XPRESS, nil
	case "lzx", "maximum":
		return wim.LZX, nil
	case "lzms", "recovery":
		return wim.LZMS, nil
	}
	return 0, fmt.Errorf("--compress %q: want none, xpress, lzx or lzms", s)
}

// ParseSolidCompression reads the codec of solid resources: lzms, lzx or
// xpress (and the names ParseCompression takes for them).
func ParseSolidCompression(s string) (Compression, error) {
	c, err := ParseCompression(s)
	if err != nil || c == wim.None {
		return 0, fmt.Errorf("--solid-compress %q: want lzms, lzx or xpress", s)
	}
	return c, nil
}

// ParseChunkSize reads a chunk size for codec c, in bytes as
// wimlib-imagex takes it (32768, 32K, 64M): a power of two within the
// codec's range.
func ParseChunkSize(s string, c Compression) (int, error) {
	num, shift := strings.ToUpper(strings.TrimSpace(s)), 0
	for suffix, sh := range map[string]int{"K": 10, "M": 20, "G": 30} {
		if t, ok := strings.CutSuffix(num, suffix); ok {
			num, shift = t, sh
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 || n > 1<<30>>shift {
		return 0, fmt.Errorf("%q is not a chunk size: give bytes as 32768, 32K or 64M", s)
	}
	n <<= shift
	if !c.ValidChunkSize(uint32(n)) {
		return 0, fmt.Errorf("%s is not a chunk size for %v: want a power of two from 32K (4K for XPRESS) up to 2M for LZX, 64K for XPRESS, 1G for LZMS", s, c)
	}
	return int(n), nil
}

// ParseCompressionLevel reads a --compress value: a compression name (see
// ParseCompression), for LZX optionally followed by a level as
// wimlib-imagex writes it: lzx:fast, lzx:default, lzx:slow, or lzx:N with
// wimlib's numbers (1 to 34 run the fast level, 35 to 69 the default, 70
// and up the slow one). It returns the codec and the LZX level (0: the
// default).
func ParseCompressionLevel(s string) (Compression, int, error) {
	name, level, hasLevel := strings.Cut(s, ":")
	c, err := ParseCompression(name)
	if err != nil || !hasLevel {
		return c, 0, err
	}
	if c != wim.LZX {
		return 0, 0, fmt.Errorf("--compress %s: only lzx takes a level (lzx:fast, lzx:slow or lzx:1 to lzx:100)", s)
	}
	switch strings.ToLower(level) {
	case "fast":
		return c, lzx.LevelFast, nil
	case "default":
		return c, lzx.LevelDefault, nil
	case "slow":
		return c, lzx.LevelSlow, nil
	}
	if n, err := strconv.Atoi(level); err == nil && n >= 1 {
		return c, n, nil
	}
	return 0, 0, fmt.Errorf("--compress %s: the level after lzx: must be fast, default, slow or a number from 1 to 100", s)
}

// ImagePaths calls fn with every path of image index of w, "/" first, then
// each folder before its contents. It reads only the image's metadata, so
// an image whose file data lives in a file not opened (a WDS image without
// its Res.rwm, split part 1 alone) lists too.
func ImagePaths(w *WIM, index int, fn func(path string) error) error {
	data, err := w.MetadataResource(index)
	if err != nil {
		return err
	}
	img, err := wim.ParseMetadata(data)
	if err != nil {
		return fmt.Errorf("%s: image %d: %w", w.Name(), index, err)
	}
	return img.Walk(func(path string, _ *wim.File) error { return fn(path) })
}

// Capture captures the folder dir as a new image of the WIM file dest (new,
// or appended in place with o.Append) and returns its index.
func Capture(ctx context.Context, dir, dest string, o CaptureOptions) (int, error) {
	return wim.Capture(ctx, dir, dest, o)
}

// ExportWIM copies images of src into the WIM file dest (new, or grown in
// place) and returns their indexes there.
func ExportWIM(ctx context.Context, src *WIM, images []int, dest string, o WIMExportOptions) ([]int, error) {
	return wim.Export(ctx, src, images, dest, o)
}

// OptimizeWIM rebuilds the WIM file name without holes and unused data.
func OptimizeWIM(ctx context.Context, name string, o OptimizeOptions) error {
	return wim.Optimize(ctx, name, o)
}

// DeleteWIMImage deletes image index of the WIM file name: rebuilding the
// file without it, or with soft only dropping its entry, in place.
func DeleteWIMImage(ctx context.Context, name string, index int, soft bool) error {
	return wim.DeleteImage(ctx, name, index, soft)
}

// SplitOptions are SplitWIM's options.
type SplitOptions = wim.SplitOptions

// DefaultPartSize is the part size of a split set when none is given
// (3.8 GiB: FAT32-safe).
const DefaultPartSize = wim.DefaultPartSize

// SplitWIM writes the images of src as a split set whose first part is
// dest (install.swm, install2.swm, …) and returns the parts' names.
func SplitWIM(ctx context.Context, src *WIM, dest string, o SplitOptions) ([]string, error) {
	return wim.Split(ctx, src, dest, o)
}

// ParseSize reads a size as administrators type it: a number of MiB (as
// DISM's /FileSize and wimlib-imagex split take it), or a number with a
// unit: K, M, G or T, with or without B or iB ("3.8G", "700MB", "4096M").
// Units are binary: DISM's MB is a MiB.
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	num := strings.TrimRightFunc(t, func(r rune) bool { return r >= 'A' && r <= 'z' })
	unit := strings.ToUpper(strings.TrimSpace(t[len(num):]))
	unit = strings.TrimSuffix(strings.TrimSuffix(unit, "B"), "I")
	mult := map[string]float64{"": 1 << 20, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
	m, ok := mult[unit]
	v, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if !ok || err != nil || v <= 0 || v*m > 1<<62 {
		return 0, fmt.Errorf("size %q: want a positive number of MiB, or one with a unit (700M, 3.8G)", s)
	}
	return int64(v * m), nil
}

// ExportWIMSplit exports images of src as a new split set whose first part
// is dest, with parts of at most partSize bytes (see SplitWIM): the images
// are exported into a new WIM file in a hidden folder next to dest, which
// is split and then removed, whether the work succeeds or not. None of the
// parts may exist. It returns the images' indexes and the parts' names.
func ExportWIMSplit(ctx context.Context, src *WIM, images []int, dest string, partSize int64, o WIMExportOptions) ([]int, []string, error) {
	var idx []int
	names, err := exportThenSplit(ctx, dest, partSize, o.Progress, func(whole string, report progress.Func) error {
		o.Progress = report
		var err error
		idx, err = wim.Export(ctx, src, images, whole, o)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	return idx, names, nil
}

// exportThenSplit runs export into a new WIM file in a hidden folder next
// to dest, splits that file into the parts of dest (see SplitWIM) and
// removes the folder, whether the work succeeds or not. report gets the
// export's progress (phase "exporting"), then the split's.
func exportThenSplit(ctx context.Context, dest string, partSize int64, report progress.Func, export func(whole string, report progress.Func) error) ([]string, error) {
	if _, err := os.Lstat(dest); err == nil {
		return nil, fmt.Errorf("%s already exists: a split set is always new; remove it or choose another name", dest)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dest), "."+filepath.Base(dest)+TempInfix+"split-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	whole := filepath.Join(tmp, "export.wim")
	exporting := report
	if report != nil {
		exporting = func(r progress.Report) {
			r.Phase = "exporting"
			report(r)
		}
	}
	if err := export(whole, exporting); err != nil {
		return nil, err
	}
	w, err := wim.Open(whole, nil)
	if err != nil {
		return nil, err
	}
	defer w.Close()
	return wim.Split(ctx, w, dest, wim.SplitOptions{PartSize: partSize, Progress: report})
}

// SplitSetName is the name of the first part of a split set written for
// dest: dest with the extension .swm, as Windows Setup looks for
// sources\install.swm.
func SplitSetName(dest string) string {
	return strings.TrimSuffix(dest, filepath.Ext(dest)) + ".swm"
}

// ExportImageSplit exports image r of the server as a new split set whose
// first part is dest (install.swm, install2.swm, …), parts of at most
// partSize bytes, for a FAT32 USB stick: the console's Export wizard
// offers it. It returns the parts' names.
func (s *Server) ExportImageSplit(ctx context.Context, r ImageRef, dest string, partSize int64, o ExportOptions) ([]string, error) {
	return ExportImageSplit(ctx, s.Service(), r, dest, partSize, o)
}

// ExportImageSplit exports image r of the store svc serves, local or
// remote, as a new split set whose first part is dest (see
// Server.ExportImageSplit): the image is exported into a working folder
// next to dest (downloaded, from a remote store), split there into the
// parts, and the folder removed. A split set is always new:
// o.Overwrite is ignored, and an existing dest or part is refused.
func ExportImageSplit(ctx context.Context, svc Service, r ImageRef, dest string, partSize int64, o ExportOptions) ([]string, error) {
	return exportThenSplit(ctx, dest, partSize, o.Progress, func(whole string, report progress.Func) error {
		o.Progress = report
		o.Overwrite = OverwriteNo
		return svc.ExportImage(ctx, r, whole, o)
	})
}
