// Package filetree copies a file or a folder tree on disk, keeping what
// capture would see of it: names of one file (hard links) stay names of
// one file, symbolic links stay links, times are kept, and every file is
// synced. engine/store copies an image's external data with it, and
// engine/servicing the files an administrator adds to an image.
package filetree

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/wimconsole/wimconsole/engine/wim"
)

// Options configure Copy.
type Options struct {
	// FileMode is the permission bits of the copied files (before the
	// umask); 0 keeps each source file's.
	FileMode fs.FileMode
	// SkipSpecial skips files that are neither regular files, folders nor
	// symbolic links (devices, pipes, sockets); otherwise Copy refuses them.
	SkipSpecial bool
	// Link, when set, is called for each symbolic link after it is copied,
	// with its path in the source, its path relative to src and its
	// information; an error it returns ends the copy.
	Link func(path, rel string, fi fs.FileInfo) error
}

// Copy copies the file or folder src to dst, which must not exist (its
// parent folders are made). Folders are made 0755; regular files are
// copied with their modification times and synced, and a file with several
// names inside src gets the same names, as hard links, in the copy;
// symbolic links are copied as links with the same target. On failure
// what was copied is left for the caller to remove.
func Copy(src, dst string, o Options) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	first := map[wim.FileID]string{} // a file with several names: its first copy
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		out := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.Mkdir(out, 0o755)
		case d.Type().IsRegular():
			fi, err := d.Info()
			if err != nil {
				return err
			}
			id, nlink, ok := wim.StatFileID(p, fi)
			if ok && nlink > 1 {
				if prev, seen := first[id]; seen {
					return os.Link(prev, out)
				}
				first[id] = out
			}
			return copyFile(p, out, o.FileMode)
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			if err := os.Symlink(target, out); err != nil {
				return err
			}
			if o.Link == nil {
				return nil
			}
			fi, err := d.Info()
			if err != nil {
				return err
			}
			return o.Link(p, rel, fi)
		case o.SkipSpecial:
			return nil
		}
		return fmt.Errorf("%s is not a file, folder or symbolic link: it cannot be copied", p)
	})
}

// copyFile copies the regular file src to the new file dst, with mode
// perm (0: src's), src's modification time, synced.
func copyFile(src, dst string, perm fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return err
	}
	if perm == 0 {
		perm = st.Mode().Perm()
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chtimes(dst, st.ModTime(), st.ModTime())
	}
	return err
}
