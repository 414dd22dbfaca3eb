//go:build !unix && !windows

package wim

import "os"

// capFileID identifies a file; this system offers no identity, so hard links
// are captured as separate files.
type capFileID struct{}

func capStatID(path string, fi os.FileInfo) (capFileID, uint64, bool) { return capFileID{}, 1, false }

func capSparse(fi os.FileInfo) bool { return false }

func capSetTimes(f *File, fi os.FileInfo) {
	m := fi.ModTime().UTC()
	f.Created, f.Modified, f.Accessed = m, m, m
}

func capAttributes(fi os.FileInfo, def uint32) uint32 { return def }

func capLink(s *capScanner, f *File, path string) error { return s.symlink(f, path) }
