//go:build unix

package wim

import (
	"os"
	"reflect"
	"syscall"
	"time"
)

// capFileID identifies a file on the system: device and inode number.
type capFileID struct{ dev, ino uint64 }

// capStatID returns the identity and link count of the file fi describes.
func capStatID(path string, fi os.FileInfo) (capFileID, uint64, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return capFileID{}, 1, false
	}
	return capFileID{uint64(st.Dev), uint64(st.Ino)}, uint64(st.Nlink), true
}

// sparse reports whether the file uses less disk space than its size
// needs, as wimlib's UNIX capture tests it.
func capSparse(fi os.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && int64(st.Blocks) < (fi.Size()+511)/512
}

// capSetTimes sets f's times from fi as wimlib's UNIX capture does: creation
// and last write from the modification time, last access from the access
// time.
func capSetTimes(f *File, fi os.FileInfo) {
	m := fi.ModTime().UTC()
	f.Created, f.Modified, f.Accessed = m, m, m
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		// The field is Atim on some systems and Atimespec on others.
		v := reflect.ValueOf(st).Elem()
		for _, name := range []string{"Atim", "Atimespec"} {
			if fv := v.FieldByName(name); fv.IsValid() {
				if ts, ok := fv.Interface().(syscall.Timespec); ok {
					sec, nsec := ts.Unix()
					f.Accessed = time.Unix(sec, nsec).UTC()
				}
				break
			}
		}
	}
}

// capAttributes returns the attributes of a file: on UNIX, those
// the file type gives (def).
func capAttributes(fi os.FileInfo, def uint32) uint32 { return def }

// capLink captures the symbolic link at path into f.
func capLink(s *capScanner, f *File, path string) error { return s.symlink(f, path) }
