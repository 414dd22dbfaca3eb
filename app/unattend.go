package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/wimconsole/wimconsole/engine/servicing"
	"github.com/wimconsole/wimconsole/engine/store"
	"github.com/wimconsole/wimconsole/engine/unattend"
)

// UnattendValid is what the Unattend tab says of an unattend file that
// passes unattend.Validate.
const UnattendValid = "valid unattend file"

// UnattendStatus validates the unattend file associated with image r and
// says what the Unattend tab of its Properties shows: UnattendValid (ok is
// true), or why it is not valid — the problems found, each at
// file:line:column. It is "" when the image has no unattend file, or when
// the file is on a server on the network (the server validated it when it
// was associated).
func (s *Server) UnattendStatus(ctx context.Context, r store.ImageRef) (status string, ok bool) {
	if _, ok := s.local(); !ok {
		return "", false
	}
	path, err := s.UnattendPath(ctx, r)
	if err != nil {
		return "cannot check the unattend file: " + err.Error(), false
	}
	if path == "" {
		return "", false
	}
	doc, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "the unattend file " + path + " is missing", false
		}
		return "cannot read the unattend file: " + err.Error(), false
	}
	return CheckUnattend(filepath.Base(path), doc)
}

// CheckUnattend validates the unattend document doc, named name in the
// messages (see UnattendStatus).
func CheckUnattend(name string, doc []byte) (status string, ok bool) {
	if err := ValidateUnattend(name, doc); err != nil {
		return fmt.Sprintf("the unattend file does not validate:\n%v", err), false
	}
	return UnattendValid, true
}

// ValidateUnattend checks that doc, named name in the messages, is a valid
// unattend document; the error lists the problems found, each at
// file:line:column.
func ValidateUnattend(name string, doc []byte) error { return unattend.Validate(name, doc) }

// ImageUnattend returns the unattend file of image r as stored (an error
// when the image has none).
func (s *Server) ImageUnattend(ctx context.Context, r store.ImageRef) ([]byte, error) {
	st, err := s.localStore()
	if err != nil {
		return nil, err
	}
	doc, err := servicing.ImageUnattend(ctx, st, r)
	if err != nil {
		return nil, err
	}
	if doc == nil {
		return nil, fmt.Errorf("image %s has no unattend file", r)
	}
	return doc, nil
}

// PnpComponent is the unattend component whose DriverPaths entries Add
// Driver Package writes (offlineServicing pass).
const PnpComponent = unattend.PnpComponent

// DriverArchitectures are the processor architectures an unattend
// DriverPaths entry can name (wow64 is not one).
func DriverArchitectures() []string {
	var out []string
	for _, a := range unattend.Architectures {
		if a != "wow64" {
			out = append(out, a)
		}
	}
	return out
}
