package app

import (
	"encoding/hex"
	"time"
)

// What a WIM file and its images hold, as the info and dir commands show it
// (text in wimlib-imagex's layout, or JSON).

// WIMSummary is what a WIM file holds, as `info --json` prints it: its
// header facts and its images' properties (lower_snake_case keys).
type WIMSummary struct {
	Path        string         `json:"path"`
	GUID        string         `json:"guid"`
	Version     uint32         `json:"version"`
	Compression string         `json:"compression"`
	ChunkSize   uint32         `json:"chunk_size"`
	PartNumber  int            `json:"part_number"`
	TotalParts  int            `json:"total_parts"`
	HeaderFlags uint32         `json:"header_flags"`
	Flags       []string       `json:"flags"`
	BootIndex   int            `json:"boot_index"`
	ImageCount  int            `json:"image_count"`
	TotalBytes  int64          `json:"total_bytes"`
	Images      []ImageSummary `json:"images"`
}

// ImageSummary is one image of a WIMSummary.
type ImageSummary struct {
	Index              int             `json:"index"`
	Name               string          `json:"name"`
	Description        string          `json:"description"`
	DisplayName        string          `json:"display_name,omitempty"`
	DisplayDescription string          `json:"display_description,omitempty"`
	Flags              string          `json:"flags,omitempty"`
	DirCount           int64           `json:"dir_count"`
	FileCount          int64           `json:"file_count"`
	TotalBytes         int64           `json:"total_bytes"`
	HardLinkBytes      int64           `json:"hard_link_bytes"`
	Created            *time.Time      `json:"created,omitempty"`
	Modified           *time.Time      `json:"modified,omitempty"`
	WIMBoot            bool            `json:"wimboot"`
	Windows            *WindowsSummary `json:"windows,omitempty"`
}

// WindowsSummary is what a Windows image's XML data says of it.
type WindowsSummary struct {
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
	{FlagCompression, "compression"},
	{FlagReadOnly, "readonly"},
	{FlagSpanned, "spanned"},
	{FlagResourceOnly, "resource_only"},
	{FlagMetadataOnly, "metadata_only"},
	{FlagWriteInProgress, "write_in_progress"},
	{FlagRPFix, "rp_fix"},
}

// DescribeWIM returns what w (opened from path) holds; with index > 0,
// only that image.
func DescribeWIM(w *WIM, path string, index int) *WIMSummary {
	h := w.Header()
	out := &WIMSummary{
		Path:        path,
		GUID:        hex.EncodeToString(h.GUID[:]),
		Version:     h.Version,
		Compression: h.Compression().String(),
		ChunkSize:   ChunkSizeOf(h),
		PartNumber:  int(h.Part),
		TotalParts:  int(h.TotalParts),
		HeaderFlags: h.Flags,
		Flags:       []string{},
		BootIndex:   int(h.BootIndex),
		ImageCount:  w.ImageCount(),
		Images:      []ImageSummary{},
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
		if index > 0 && im.Index != index {
			continue
		}
		j := ImageSummary{
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
			wj := &WindowsSummary{
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

// ChunkSizeOf is a file's chunk size as wimlib reports it: 0 for an
// uncompressed file.
func ChunkSizeOf(h WIMHeader) uint32 {
	if h.Compression() == NoCompression {
		return 0
	}
	return h.ChunkSize
}

// EntrySummary is one file or folder of an image with its metadata, as
// `dir --json` prints it.
type EntrySummary struct {
	Path               string          `json:"path"`
	Name               string          `json:"name"`
	ShortName          string          `json:"short_name,omitempty"`
	Attributes         uint32          `json:"attributes"`
	Size               int64           `json:"size"`
	Hash               string          `json:"hash,omitempty"`
	Created            time.Time       `json:"created"`
	Accessed           time.Time       `json:"accessed"`
	Modified           time.Time       `json:"modified"`
	SecurityID         int32           `json:"security_id"`
	SecurityDescriptor string          `json:"security_descriptor,omitempty"`
	LinkGroup          uint64          `json:"link_group"`
	ReparseTag         uint32          `json:"reparse_tag,omitempty"`
	Reparse            *StreamSummary  `json:"reparse,omitempty"`
	Streams            []StreamSummary `json:"streams,omitempty"`
}

// StreamSummary is a data stream of an EntrySummary.
type StreamSummary struct {
	Name string `json:"name,omitempty"`
	Size int64  `json:"size"`
	Hash string `json:"hash,omitempty"`
}

// hashString is h in hex, or "" for no data.
func hashString(h Hash) string {
	if h.IsZero() {
		return ""
	}
	return h.String()
}

// DescribeEntries returns every entry of image index of w, in the order
// dir lists them (each folder before its contents), with its metadata.
// Sizes come from the blob tables, so w needs the ref files that hold the
// data.
func DescribeEntries(w *WIM, index int) ([]EntrySummary, error) {
	img, err := w.Image(index)
	if err != nil {
		return nil, err
	}
	list := []EntrySummary{}
	img.Walk(func(path string, f *WIMEntry) error {
		e := EntrySummary{
			Path: path, Name: f.Name, ShortName: f.ShortName, Attributes: f.Attributes,
			Size: f.Size, Hash: hashString(f.Hash),
			Created: f.Created, Accessed: f.Accessed, Modified: f.Modified,
			SecurityID: f.SecurityID, LinkGroup: f.LinkGroup, ReparseTag: f.ReparseTag,
		}
		if f.SecurityID >= 0 && int(f.SecurityID) < len(img.Security) {
			e.SecurityDescriptor = hex.EncodeToString(img.Security[f.SecurityID])
		}
		for _, s := range f.Streams {
			sj := StreamSummary{Name: s.Name, Size: s.Size, Hash: hashString(s.Hash)}
			if s.Name == "" {
				e.Reparse = &sj
			} else {
				e.Streams = append(e.Streams, sj)
			}
		}
		list = append(list, e)
		return nil
	})
	return list, nil
}
