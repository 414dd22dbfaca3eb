package app

import (
	"slices"

	"github.com/wimconsole/wimconsole/engine/store"
)

// The store's types, re-exported on purpose: the console and the command
// line show and pass them as they are (an image, its reference, the
// options of each action), and reach the store only through app.
type (
	// ImageRef names an image of a store: GROUP/FILE or boot/ARCH/FILE.
	ImageRef = store.ImageRef
	// Image is an image of a store with its catalog state.
	Image = store.Image
	// GroupInfo is an image group with its image count and sizes.
	GroupInfo = store.GroupInfo
	// GroupSpace is how an image group's space is used, image by image.
	GroupSpace = store.GroupSpace
	// ListOptions filter a listing of images.
	ListOptions = store.ListOptions
	// SetOptions are the properties of an image to change.
	SetOptions = store.SetOptions
	// AddOptions say how images of a WIM file are added.
	AddOptions = store.AddOptions
	// ReplaceOptions say how an image is replaced.
	ReplaceOptions = store.ReplaceOptions
	// ExportOptions say how an image is exported.
	ExportOptions = store.ExportOptions
	// CopyOptions say how an image is copied within its group.
	CopyOptions = store.CopyOptions
	// RegroupOptions say how a group is rebuilt.
	RegroupOptions = store.RegroupOptions
	// RegroupResult is what a regroup reclaimed.
	RegroupResult = store.RegroupResult
	// VerifyResult is what a store verification found.
	VerifyResult = store.VerifyResult
	// Overwrite says what an export does with an existing destination.
	Overwrite = store.Overwrite
	// InstallSession is a deployment client's install session on an image.
	InstallSession = store.Session
)

// What an export does with an existing destination file.
const (
	OverwriteNo     = store.OverwriteNo
	OverwriteYes    = store.OverwriteYes
	OverwriteAppend = store.OverwriteAppend
)

// DefaultGroup is the image group images go to when none is named.
const DefaultGroup = store.DefaultGroup

// ErrImageDisabled is returned (wrapped) when an install session is asked
// for on a disabled image.
var ErrImageDisabled = store.ErrImageDisabled

// BootArchs returns the architectures of boot images a store holds.
func BootArchs() []string { return slices.Clone(store.BootArchs) }

// CheckGroupName checks that name can name an image group.
func CheckGroupName(name string) error { return store.CheckGroupName(name) }

// CheckFileName checks that name can name an image's file in a group.
func CheckFileName(name string) error { return store.CheckFileName(name) }

// ParseImageRef reads GROUP/FILE or boot/ARCH/FILE.
func ParseImageRef(s string) (ImageRef, error) { return store.ParseImageRef(s) }

// ResolveRoot returns the store root to use: root, or the per-user default
// when root is "".
func ResolveRoot(root string) (string, error) { return store.ResolveRoot(root) }

// ReadOnlyLocalServer opens the store at root for reading only: it is
// neither created nor changed (shell completion reads it this way).
func ReadOnlyLocalServer(root string) (*Server, error) {
	st, err := store.OpenWith(root, store.OpenOptions{ReadOnly: true})
	if err != nil {
		return nil, err
	}
	return NewServer(NewLocalService("", st)), nil
}

// Root returns the folder of a local server's store ("" for a remote one).
func (s *Server) Root() string {
	if st, ok := s.local(); ok {
		return st.Root()
	}
	return ""
}
