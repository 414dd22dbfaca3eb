package atomicfile

import "errors"

var errUnsupported = errors.New("cannot sync a folder here")

// syncDir does nothing on Windows: a folder cannot be opened for syncing
// there, and NTFS journals the rename itself.
func syncDir(dir string) error { return nil }
