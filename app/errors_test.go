package app

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"syscall"
	"testing"

	"github.com/wimconsole/wimconsole/engine/store"
	"github.com/wimconsole/wimconsole/engine/wim"
)

func TestExplainError(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		// summary must hold every one of sum and none of notSum; details
		// every one of det ("" details: det empty).
		sum, notSum, det []string
	}{
		{name: "nil"},
		{
			name: "plain message is its own summary, without details",
			err:  errors.New("no image is ticked"),
			sum:  []string{"no image is ticked"},
		},
		{
			name: "a wrapped message that quotes its causes is its own summary, without details",
			err:  fmt.Errorf("bad pattern %q: %w", "[", errors.New("syntax error in pattern")),
			sum:  []string{`bad pattern "[": syntax error in pattern`},
		},
		{
			name: "a cause the message does not quote is in the details",
			err:  &wrapped{msg: "export failed", err: errors.New("the share went away")},
			sum:  []string{"export failed"},
			det:  []string{"Caused by:\n  the share went away"},
		},
		{
			name:   "disk full while writing a WIM names the destination, not its temporary file",
			err:    fmt.Errorf("export: %w", &fs.PathError{Op: "write", Path: "/srv/out/.install.wim.wimconsole-tmp0123456789ab", Err: syscall.ENOSPC}),
			sum:    []string{"The disk that holds /srv/out/install.wim is full", "Free some space"},
			notSum: []string{"wimconsole-tmp", "0x"},
			det:    []string{"export: write /srv/out/install.wim: no space left on device"},
		},
		{
			name:   "permission denied in the store's temporary name",
			err:    fmt.Errorf("copy image: %w", &fs.PathError{Op: "open", Path: "/srv/RemoteInstall/Images/Lab/.wimconsole-0123456789ab-install.wim", Err: syscall.EACCES}),
			sum:    []string{"no permission to read /srv/RemoteInstall/Images/Lab/install.wim", "Ask for the rights"},
			notSum: []string{".wimconsole-"},
			det:    []string{"permission denied"},
		},
		{
			name:   "atomicfile's temporary name",
			err:    fmt.Errorf("writing /srv/x/ImageUnattend.xml: %w", &fs.PathError{Op: "open", Path: "/srv/x/.ImageUnattend.xml.tmp-4242", Err: syscall.EROFS}),
			sum:    []string{"/srv/x/ImageUnattend.xml is on a read-only disk"},
			notSum: []string{".tmp-"},
		},
		{
			name:   "a download's temporary file is left out",
			err:    errors.New("writing /home/a/.wimconsole-download-123.wim: short write"),
			sum:    []string{"writing a temporary file: short write"},
			notSum: []string{"download-123"},
		},
		{
			name:   "format error: file first, offset only in the details",
			err:    fmt.Errorf("add image: %w", &wim.FormatError{File: "/tmp/in.wim", Offset: 0xd0, Msg: "bad blob table entry"}),
			sum:    []string{"/tmp/in.wim is not a valid Windows image file", "bad blob table entry", "copy it again"},
			notSum: []string{"0xd0"},
			det:    []string{"offset 0xd0"},
		},
		{
			name:   "checksum error: the hashes only in the details",
			err:    &wim.ChecksumError{File: "/srv/Images/Lab/Res.rwm", Offset: 0x1000, What: "blob", Want: wim.Hash{1}, Got: wim.Hash{2}},
			sum:    []string{"/srv/Images/Lab/Res.rwm is damaged", "Restore the file from a backup"},
			notSum: []string{"0100000000", "0x1000"},
			det:    []string{"SHA-1 mismatch", "0x1000"},
		},
		{
			name: "missing blob names the missing file",
			err:  &wim.MissingBlobError{File: "/srv/a.wim", Hash: wim.Hash{3}, Hint: "the group's Res.rwm was probably not given"},
			sum:  []string{"/srv/a.wim needs data", "The group's Res.rwm was probably not given."},
			det:  []string{"0300000000"},
		},
		{
			name: "read-only store",
			err:  &store.ReadOnlyError{Root: "/mnt/snap", Reason: "read-only file system", What: "delete an image"},
			sum:  []string{"The store /mnt/snap is read-only (read-only file system), so WIM Console cannot delete an image."},
		},
		{
			name: "damaged catalog",
			err:  errors.New("catalog /srv/RI/WdsConsole/catalog.db: invalid database"),
			sum:  []string{"The store's catalog /srv/RI/WdsConsole/catalog.db is damaged (invalid database)", "choose another store"},
			det:  []string{"catalog /srv/RI/WdsConsole/catalog.db: invalid database"},
		},
		{
			name: "a file given as the store",
			err:  errors.New("store /home/a/notes.txt: not a folder"),
			sum:  []string{"/home/a/notes.txt is a file, not a folder"},
		},
		{
			name: "cancelled",
			err:  fmt.Errorf("export: %w", context.Canceled),
			sum:  []string{"Cancelled"},
		},
		{
			name: "internal error: the stack in the details",
			err:  &wim.PanicError{Value: "index out of range", Stack: []byte("goroutine 7 [running]:\nwim.decode()")},
			sum:  []string{"internal error", "report it"},
			det:  []string{"internal error: index out of range", "goroutine 7"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sum, det := ExplainError(tc.err)
			if tc.err == nil {
				if sum != "" || det != "" {
					t.Fatalf("ExplainError(nil) = %q, %q", sum, det)
				}
				return
			}
			for _, w := range tc.sum {
				if !strings.Contains(sum, w) {
					t.Errorf("summary %q does not hold %q", sum, w)
				}
			}
			for _, w := range tc.notSum {
				if strings.Contains(sum, w) {
					t.Errorf("summary %q holds %q", sum, w)
				}
			}
			if len(tc.det) == 0 && det != "" && tc.err.Error() == sum {
				t.Errorf("details %q for an error that is its own summary", det)
			}
			for _, w := range tc.det {
				if !strings.Contains(det, w) {
					t.Errorf("details %q do not hold %q", det, w)
				}
			}
			for _, s := range []string{sum, det} {
				for _, tmp := range []string{"wimconsole-tmp", ".wimconsole-0123", ".tmp-4242", "download-123"} {
					if strings.Contains(s, tmp) {
						t.Errorf("%q names the temporary file %s", s, tmp)
					}
				}
			}
		})
	}
}

func TestCleanTempNames(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"/srv/out/.install.wim.wimconsole-tmp0123456789ab: no space", "/srv/out/install.wim: no space"},
		{"/srv/out/.install.wim.tmp0123456789ab: no space", "/srv/out/install.wim: no space"},
		{"writing /a/b/.catalog.db.tmp-99: EIO", "writing /a/b/catalog.db: EIO"},
		{"/srv/RI/Images/.wimconsole-0123456789ab-new-Lab/Res.rwm: EIO", "/srv/RI/Images/Lab/Res.rwm: EIO"},
		{"/srv/RI/Images/.wimconsole-0123456789ab-build/Res.rwm: EIO", "/srv/RI/Images: EIO"},
		{`C:\RI\Images\Lab\.wimconsole-0123456789ab-install.wim: EIO`, `C:\RI\Images\Lab\install.wim: EIO`},
		{"/tmp/export.wim.tmp: EIO", "/tmp/export.wim: EIO"},
		{"/srv/RI/Images/Lab/install.wim: offset 0x10: bad", "/srv/RI/Images/Lab/install.wim: offset 0x10: bad"},
		{"/srv/sess/work/.hive-commit-123: EIO", "a temporary file: EIO"},
	} {
		if got := CleanTempNames(tc.in); got != tc.want {
			t.Errorf("CleanTempNames(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// wrapped is an error whose message does not quote the error it wraps.
type wrapped struct {
	msg string
	err error
}

func (w *wrapped) Error() string { return w.msg }
func (w *wrapped) Unwrap() error { return w.err }

// TestWithAdvice: advice is said after the summary of the error it wraps,
// which is still recognised (a read-only store keeps its explanation).
func TestWithAdvice(t *testing.T) {
	ro := &store.ReadOnlyError{Root: "/srv/ri", Reason: "read-only file system", What: "rename an image"}
	sum, _ := ExplainError(WithAdvice(fmt.Errorf("renaming: %w", ro), "Nothing was changed."))
	if !strings.Contains(sum, "is read-only") || !strings.HasSuffix(sum, "\n\nNothing was changed.") {
		t.Errorf("summary %q", sum)
	}
	if !errors.Is(WithAdvice(ro, "x"), ro) {
		t.Error("WithAdvice hides the error it wraps")
	}
	if WithAdvice(nil, "x") != nil {
		t.Error("WithAdvice(nil) is not nil")
	}
}
