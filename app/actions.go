package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/wimconsole/wimconsole/engine/progress"
	"github.com/wimconsole/wimconsole/engine/store"
	"github.com/wimconsole/wimconsole/engine/wim"
)

// WIMFilters are the file dialog filters for WIM files.
var WIMFilters = []FileFilter{{Description: "Windows image files (*.wim, *.esd, *.swm)", Extensions: []string{"wim", "esd", "swm"}}}

// IsWIMFile reports whether name has the extension of a WIM file (.wim,
// .esd or .swm, in any case).
func IsWIMFile(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".wim", ".esd", ".swm":
		return true
	}
	return false
}

// SourceImage is one image of a WIM file offered by the Add Image wizard.
type SourceImage struct {
	File        string
	Index       int // 1-based
	Name        string
	Description string
	Edition     string
	Arch        string
	Bytes       int64 // expanded size
}

// InspectSources lists the images of the WIM files names.
func InspectSources(names []string) ([]SourceImage, error) {
	var out []SourceImage
	for _, name := range names {
		w, err := wim.Open(name, nil)
		if err != nil {
			return nil, err
		}
		for _, ii := range w.XML().Images {
			si := SourceImage{File: name, Index: ii.Index, Name: ii.Name, Description: ii.Description, Bytes: ii.TotalBytes}
			if wi := ii.Windows; wi != nil {
				si.Edition, si.Arch = wi.EditionID, wi.ArchName()
			}
			if si.Name == "" {
				si.Name = fmt.Sprintf("%s [%d]", filepath.Base(name), ii.Index)
			}
			out = append(out, si)
		}
		w.Close()
	}
	return out, nil
}

// Gain is what adding images brings to a group: NewBytes of file data the
// group lacks and SharedBytes it holds already (uncompressed sizes).
type Gain struct {
	NewBytes, SharedBytes int64
}

// String says it as the Add Image wizard does.
func (g Gain) String() string {
	return fmt.Sprintf("adds %s new, %s already in the group", FormatBytes(g.NewBytes), FormatBytes(g.SharedBytes))
}

// GroupGain works out what adding picks to image group group of s would
// store anew and what the group holds already. A group that does not exist
// yet holds nothing.
func (s *Server) GroupGain(ctx context.Context, group string, picks []SourceImage) (Gain, error) {
	st, ok := s.local()
	if !ok {
		return Gain{}, errors.New("the group's data is on the server")
	}
	var res *wim.WIM
	if group != "" {
		if _, err := os.Stat(st.ResPath(group)); err == nil {
			r, err := wim.Open(st.ResPath(group), &wim.OpenOptions{NoSplitSearch: true})
			if err != nil {
				return Gain{}, err
			}
			defer r.Close()
			res = r
		}
	}
	seen := map[wim.Hash]bool{}
	var g Gain
	count := func(h wim.Hash, size int64) {
		if h == (wim.Hash{}) || seen[h] {
			return
		}
		seen[h] = true
		if res != nil {
			if _, ok := res.Blob(h); ok {
				g.SharedBytes += size
				return
			}
		}
		g.NewBytes += size
	}
	byFile := map[string][]int{}
	var order []string
	for _, p := range picks {
		if _, ok := byFile[p.File]; !ok {
			order = append(order, p.File)
		}
		byFile[p.File] = append(byFile[p.File], p.Index)
	}
	for _, name := range order {
		w, err := wim.Open(name, nil)
		if err != nil {
			return Gain{}, err
		}
		for _, idx := range byFile[name] {
			if err := ctx.Err(); err != nil {
				w.Close()
				return Gain{}, err
			}
			img, err := w.Image(idx)
			if err != nil {
				w.Close()
				return Gain{}, err
			}
			for h, size := range img.BlobRefs() {
				count(h, size)
			}
		}
		w.Close()
	}
	return g, nil
}

// AddRequest is what the Add Image wizard asks for.
type AddRequest struct {
	Picks       []SourceImage // the images to add
	Group       string        // install images: the group (created when missing)
	Boot        bool          // add boot images instead
	Arch        string        // boot images: architecture ("" from the image)
	Name        string        // one image only: its name ("" keeps the source's)
	Description string        // one image only
	FileName    string        // one image only: its file name ("" chosen as WDS does)
}

// AddImages adds the images of req, file by file, and returns what was added.
func (s *Server) AddImages(ctx context.Context, req AddRequest, report progress.Func) ([]store.ImageRef, error) {
	if len(req.Picks) == 0 {
		return nil, errors.New("add image: no image chosen")
	}
	byFile := map[string][]int{}
	var order []string
	for _, p := range req.Picks {
		if _, ok := byFile[p.File]; !ok {
			order = append(order, p.File)
		}
		byFile[p.File] = append(byFile[p.File], p.Index)
	}
	var added []store.ImageRef
	for _, name := range order {
		o := store.AddOptions{Group: req.Group, Boot: req.Boot, Arch: req.Arch, Indexes: byFile[name], Progress: report}
		if len(req.Picks) == 1 {
			o.Name, o.Description, o.FileName = req.Name, req.Description, req.FileName
		}
		refs, err := s.Service().AddImage(ctx, name, o)
		added = append(added, refs...)
		if err != nil {
			return added, err
		}
	}
	return added, nil
}

// SetEnabled enables or disables image r (Disable / Enable of its menu).
func (s *Server) SetEnabled(ctx context.Context, r store.ImageRef, enabled bool) error {
	return s.Service().SetImage(ctx, r, store.SetOptions{Enabled: &enabled})
}

// SetUnattend associates the unattend file path with image r ("" removes
// the association).
func (s *Server) SetUnattend(ctx context.Context, r store.ImageRef, path string) error {
	return s.Service().SetImage(ctx, r, store.SetOptions{Unattend: &path})
}

// SetNameDescription changes image r's name and description.
func (s *Server) SetNameDescription(ctx context.Context, r store.ImageRef, name, description string) error {
	return s.Service().SetImage(ctx, r, store.SetOptions{Name: &name, Description: &description})
}

// ImageSettings are what the General tab of an image's Properties
// changes: its name, description, display order (priority: lower numbers
// are listed first) and status.
type ImageSettings struct {
	Name, Description string
	DisplayOrder      int
	Enabled           bool
}

// SettingsOf returns image im's ImageSettings.
func SettingsOf(im *store.Image) ImageSettings {
	return ImageSettings{Name: im.Name, Description: im.Description, DisplayOrder: im.DisplayOrder, Enabled: im.Enabled}
}

// SetImageSettings changes image r's settings from from to to, in one
// change of the store that carries only the fields that differ: a change
// the store refuses (a name another image of the group has, a read-only
// store, a server that cannot be reached) changes none of them.
func (s *Server) SetImageSettings(ctx context.Context, r store.ImageRef, from, to ImageSettings) error {
	var o store.SetOptions
	if to.Name != from.Name {
		o.Name = &to.Name
	}
	if to.Description != from.Description {
		o.Description = &to.Description
	}
	if to.DisplayOrder != from.DisplayOrder {
		o.DisplayOrder = &to.DisplayOrder
	}
	if to.Enabled != from.Enabled {
		o.Enabled = &to.Enabled
	}
	if o == (store.SetOptions{}) {
		return nil
	}
	return s.Service().SetImage(ctx, r, o)
}

// UnattendPath returns the path of image r's unattend file as stored in the
// group folder ("" when it has none).
func (s *Server) UnattendPath(ctx context.Context, r store.ImageRef) (string, error) {
	st, ok := s.local()
	if !ok {
		return "", errors.New("the unattend file is on the server")
	}
	im, err := st.GetImage(ctx, r)
	if err != nil {
		return "", err
	}
	if im.Unattend == "" {
		return "", nil
	}
	if filepath.IsAbs(im.Unattend) {
		return im.Unattend, nil
	}
	var base string
	if r.Boot {
		base = st.BootImagesDir(r.Arch)
	} else {
		base = st.GroupDir(r.Group)
	}
	return filepath.Join(base, filepath.FromSlash(im.Unattend)), nil
}

// DeleteWarning is the confirmation text of deleting image im: it names
// what is lost.
func DeleteWarning(im *store.Image) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Delete the image %q (%s)?\n\n", im.Name, im.Ref)
	fmt.Fprintf(&b, "Its image file %s goes", im.File)
	if im.Unattend != "" || len(im.LangPacks) > 0 {
		b.WriteString(", with its unattend file, $OEM$ folder and language packs")
	} else {
		b.WriteString(", with its folder of external data ($OEM$, unattend)")
	}
	b.WriteString(".")
	if im.Type == store.TypeInstall {
		fmt.Fprintf(&b, "\nIts data stays in the group's Res.rwm until the group is regrouped (%s exclusive to it).", FormatBytes(im.ExclusiveBytes))
	}
	if im.Sessions > 0 {
		fmt.Fprintf(&b, "\n\n%d install session(s) are using it: the store will refuse until they end.", im.Sessions)
	}
	return b.String()
}

// DeleteGroupWarning is the confirmation text of deleting image group g.
func (s *Server) DeleteGroupWarning(ctx context.Context, g string) string {
	images, _ := s.Service().ListImages(ctx, store.ListOptions{Group: g, Type: store.TypeInstall, NoSpace: true})
	var res int64
	if st, ok := s.local(); ok {
		if fi, err := os.Stat(st.ResPath(g)); err == nil {
			res = fi.Size()
		}
	} else {
		infos, _ := s.Service().GroupInfos(ctx)
		for _, gi := range infos {
			if gi.Name == g {
				res = gi.ResBytes
			}
		}
	}
	if len(images) == 0 {
		return fmt.Sprintf("Delete the empty image group %q?", g)
	}
	names := make([]string, 0, len(images))
	for i, im := range images {
		if i == 10 {
			names = append(names, fmt.Sprintf("… and %d more", len(images)-10))
			break
		}
		names = append(names, "  "+im.Name+" ("+im.File+")")
	}
	return fmt.Sprintf("Delete the image group %q and everything in it?\n\nIts %d image(s) are lost:\n%s\n\nand its Res.rwm (%s) with their unattend files and $OEM$ folders.",
		g, len(images), strings.Join(names, "\n"), FormatBytes(res))
}

// DeleteImage removes image r.
func (s *Server) DeleteImage(ctx context.Context, r store.ImageRef) error {
	return s.Service().RemoveImage(ctx, r)
}

// DeleteGroup removes image group g with its images.
func (s *Server) DeleteGroup(g string) error {
	return s.Service().RemoveGroup(context.Background(), g, true)
}

// AddGroup creates the empty image group g.
func (s *Server) AddGroup(g string) error { return s.Service().AddGroup(context.Background(), g) }

// RenameGroup renames image group from to to.
func (s *Server) RenameGroup(from, to string) error {
	return s.Service().RenameGroup(context.Background(), from, to)
}

// ExportImage writes image r to the standalone WIM file dest.
func (s *Server) ExportImage(ctx context.Context, r store.ImageRef, dest string, o store.ExportOptions) error {
	return s.Service().ExportImage(ctx, r, dest, o)
}

// CopyImage copies image r within its group as file.
func (s *Server) CopyImage(ctx context.Context, r store.ImageRef, file, name string) (store.ImageRef, error) {
	return s.Service().CopyImage(ctx, r, store.CopyOptions{FileName: file, Name: name})
}

// FreeFileName suggests a file name (without .wim) for a copy of image r
// that no image of its group uses: "install-copy", "install-copy2", ...
func (s *Server) FreeFileName(r store.ImageRef) string {
	var taken map[string]bool
	st, local := s.local()
	if !local {
		taken = map[string]bool{}
		images, _ := s.Service().ListImages(context.Background(), store.ListOptions{Group: r.Group, Type: store.TypeInstall, NoSpace: true})
		for _, im := range images {
			taken[strings.TrimSuffix(im.File, ".wim")] = true
		}
	}
	for i := 1; ; i++ {
		name := r.File + "-copy"
		if i > 1 {
			name += fmt.Sprint(i)
		}
		if taken != nil {
			if !taken[name] {
				return name
			}
			continue
		}
		c := r
		c.File = name
		if _, err := os.Stat(st.ImagePath(c)); os.IsNotExist(err) {
			return name
		}
	}
}

// ReplaceImage replaces image r by image o.SourceIndex of src. The store
// replaces only a disabled image: when r is enabled, it is disabled first
// and enabled again once replaced (or left disabled if replacing fails).
func (s *Server) ReplaceImage(ctx context.Context, r store.ImageRef, src string, o store.ReplaceOptions) error {
	im, err := s.Service().GetImage(ctx, r)
	if err != nil {
		return err
	}
	if im.Enabled {
		if err := s.SetEnabled(ctx, r, false); err != nil {
			return err
		}
	}
	if err := s.Service().ReplaceImage(ctx, r, src, o); err != nil {
		return err
	}
	if im.Enabled {
		return s.SetEnabled(context.WithoutCancel(ctx), r, true)
	}
	return nil
}

// RegroupPreview is what the Regroup wizard shows before it starts.
type RegroupPreview struct {
	Group       string
	Images      int
	ResBytes    int64
	Reclaimable int64
}

// PreviewRegroup describes what regrouping g would reclaim.
func (s *Server) PreviewRegroup(ctx context.Context, g string) (RegroupPreview, error) {
	sp, err := s.Service().Space(ctx, g)
	if err != nil {
		return RegroupPreview{}, err
	}
	return RegroupPreview{Group: g, Images: len(sp.Images), ResBytes: sp.ResBytes, Reclaimable: sp.DeadBytes}, nil
}

// Regroup rebuilds group g, optionally renamed to into; verify checks
// every blob of the new group before the swap (see store.RegroupOptions).
func (s *Server) Regroup(ctx context.Context, g, into string, verify bool, report progress.Func) (*store.RegroupResult, error) {
	return s.Service().Regroup(ctx, g, store.RegroupOptions{Into: into, Verify: verify, Progress: report})
}

// ImageProperties is what the Properties dialog of an image shows.
type ImageProperties struct {
	Image    store.Image
	Space    *store.ImageSpace // nil for boot images
	Sessions []store.Session
	Unattend string // the unattend file's text ("" when none)
}

// Properties gathers image r's properties.
func (s *Server) Properties(ctx context.Context, r store.ImageRef) (*ImageProperties, error) {
	svc := s.Service()
	im, err := svc.GetImage(ctx, r)
	if err != nil {
		return nil, err
	}
	p := &ImageProperties{Image: im}
	if !r.Boot {
		if sp, err := svc.Space(ctx, r.Group); err == nil {
			for i := range sp.Images {
				if sp.Images[i].File == im.File {
					p.Space = &sp.Images[i]
				}
			}
		}
	}
	if p.Sessions, err = svc.Sessions(ctx, r); err != nil {
		return nil, err
	}
	if _, ok := s.local(); !ok {
		return p, nil // the unattend file is on the server
	}
	if path, err := s.UnattendPath(ctx, r); err == nil && path != "" {
		if b, err := os.ReadFile(path); err == nil {
			p.Unattend = string(b)
		}
	}
	return p, nil
}
