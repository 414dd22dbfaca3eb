//go:build !windows

package wim

// checkLocalName has nothing to add on POSIX systems: only '/' and NUL are
// special in a name there, and CheckName refuses both.
func checkLocalName(name string) error { return nil }
