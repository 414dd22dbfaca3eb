package servicing

import (
	"context"
	"fmt"
	"os"
	"path"
	"strings"
	"time"

	"github.com/wimconsole/wimconsole/engine/progress"
	"github.com/wimconsole/wimconsole/engine/store"
	"github.com/wimconsole/wimconsole/engine/wim"
)

// Entry describes one file or folder of an image, for browsing.
type Entry struct {
	Path       string    `json:"path"`
	Dir        bool      `json:"dir"`
	Size       int64     `json:"size"`
	Attributes uint32    `json:"attributes"`
	Created    time.Time `json:"created"`
	Modified   time.Time `json:"modified"`
	Streams    []string  `json:"streams,omitempty"` // named data streams
	Link       bool      `json:"link,omitempty"`    // symbolic link or junction
}

func entryOf(p string, f *wim.File) Entry {
	e := Entry{Path: p, Dir: f.IsDir(), Size: f.Size, Attributes: f.Attributes,
		Created: f.Created, Modified: f.Modified, Link: f.IsSymlink()}
	for _, s := range f.NamedStreams() {
		e.Streams = append(e.Streams, s.Name)
	}
	return e
}

// openImage opens image r of s with its group's data.
func openImage(s *store.Store, r store.ImageRef) (*wim.WIM, *wim.Image, error) {
	o := &wim.OpenOptions{NoSplitSearch: true}
	if !r.Boot {
		if _, err := os.Stat(s.ResPath(r.Group)); err == nil {
			o.Refs = []string{s.ResPath(r.Group)}
		}
	}
	w, err := wim.Open(s.ImagePath(r), o)
	if err != nil {
		return nil, nil, err
	}
	img, err := w.Image(1)
	if err != nil {
		w.Close()
		return nil, nil, err
	}
	return w, img, nil
}

// List lists the folder at path p of image r (its children), or describes
// the file at p, without extracting anything.
func List(ctx context.Context, s *store.Store, r store.ImageRef, p string) ([]Entry, error) {
	cp, err := CleanPath(p)
	if err != nil {
		return nil, err
	}
	w, img, err := openImage(s, r)
	if err != nil {
		return nil, err
	}
	defer w.Close()
	out, err := ListTree(img, cp)
	if err != nil {
		return nil, fmt.Errorf("%w in image %s", err, r)
	}
	return out, nil
}

// ListTree lists the folder at path p of the tree img (a session's tree,
// say), or describes the file at p.
func ListTree(img *wim.Image, p string) ([]Entry, error) {
	cp, err := CleanPath(p)
	if err != nil {
		return nil, err
	}
	f := Find(img, cp)
	if f == nil {
		return nil, fmt.Errorf("%s: no such file or folder", cp)
	}
	if !f.IsDir() {
		return []Entry{entryOf(f.Path(), f)}, nil
	}
	out := make([]Entry, 0, len(f.Children))
	for _, c := range f.Children {
		out = append(out, entryOf(c.Path(), c))
	}
	return out, nil
}

// Match is one search result: an entry of an image.
type Match struct {
	Image store.ImageRef `json:"image"`
	Entry
}

// matcher returns a function that matches paths against pattern, without
// case: a pattern with a separator is matched against the whole path
// ("/Windows/*/drivers/*.sys"), one without against the name ("*.inf").
func matcher(pattern string) (func(p string) bool, error) {
	pat := strings.ToLower(strings.ReplaceAll(pattern, `\`, "/"))
	whole := strings.Contains(pat, "/")
	if whole && !strings.HasPrefix(pat, "/") {
		pat = "/" + pat
	}
	if _, err := path.Match(pat, ""); err != nil {
		return nil, fmt.Errorf("bad pattern %q: %w", pattern, err)
	}
	return func(p string) bool {
		s := strings.ToLower(p)
		if !whole {
			s = path.Base(s)
		}
		ok, _ := path.Match(pat, s)
		return ok
	}, nil
}

// Search returns the entries of image r whose paths match pattern (see
// FindInGroup for the pattern's form).
func Search(ctx context.Context, s *store.Store, r store.ImageRef, pattern string) ([]Match, error) {
	match, err := matcher(pattern)
	if err != nil {
		return nil, err
	}
	w, img, err := openImage(s, r)
	if err != nil {
		return nil, err
	}
	defer w.Close()
	entries, err := searchTree(ctx, img, match)
	out := make([]Match, len(entries))
	for i, e := range entries {
		out[i] = Match{Image: r, Entry: e}
	}
	return out, err
}

// SearchTree returns the entries of the tree img (a session's tree, say)
// whose paths match pattern (see FindInGroup for its form).
func SearchTree(ctx context.Context, img *wim.Image, pattern string) ([]Entry, error) {
	match, err := matcher(pattern)
	if err != nil {
		return nil, err
	}
	return searchTree(ctx, img, match)
}

func searchTree(ctx context.Context, img *wim.Image, match func(string) bool) ([]Entry, error) {
	var out []Entry
	err := img.Walk(func(p string, f *wim.File) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if f != img.Root && match(p) {
			out = append(out, entryOf(p, f))
		}
		return nil
	})
	return out, err
}

// FindInGroup searches every image of group g for entries whose path
// matches pattern, compared without case: a pattern with a separator is
// matched against the whole path ("/Windows/System32/drivers/*.sys"), one
// without against the name alone ("*.inf"); the syntax is path.Match's.
func FindInGroup(ctx context.Context, s *store.Store, g, pattern string) ([]Match, error) {
	if _, err := matcher(pattern); err != nil {
		return nil, err
	}
	ims, err := s.ListImages(ctx, store.ListOptions{Group: g, Type: store.TypeInstall, NoSpace: true})
	if err != nil {
		return nil, err
	}
	var out []Match
	for _, im := range ims {
		r, err := store.ParseImageRef(im.Ref)
		if err != nil {
			return nil, err
		}
		m, err := Search(ctx, s, r, pattern)
		if err != nil {
			return nil, fmt.Errorf("image %s: %w", r, err)
		}
		out = append(out, m...)
	}
	return out, nil
}

// cloneTree copies the subtree at f, with parent as its parent.
func cloneTree(f, parent *wim.File) *wim.File {
	c := *f
	c.Parent = parent
	c.Children = make([]*wim.File, len(f.Children))
	for i, k := range f.Children {
		c.Children[i] = cloneTree(k, &c)
	}
	return &c
}

// Extract extracts the chosen files and folders (image paths) of image r
// into the folder dest, each under its own name.
func Extract(ctx context.Context, s *store.Store, r store.ImageRef, paths []string, dest string, report progress.Func) (*wim.ApplyStats, error) {
	w, img, err := openImage(s, r)
	if err != nil {
		return nil, err
	}
	defer w.Close()
	root := &wim.File{Attributes: wim.AttrDirectory, SecurityID: -1}
	for _, p := range paths {
		cp, err := CleanPath(p)
		if err != nil {
			return nil, err
		}
		f := Find(img, cp)
		if f == nil || f == img.Root {
			return nil, fmt.Errorf("%s: no such file or folder in image %s", cp, r)
		}
		if child(root, f.Name) != nil {
			return nil, fmt.Errorf("%s: two chosen entries are named %q", cp, f.Name)
		}
		root.Children = append(root.Children, cloneTree(f, root))
	}
	sortChildren(root)
	sub := &wim.Image{Index: img.Index, Root: root, Security: img.Security}
	return w.ApplyImage(ctx, sub, dest, report)
}
