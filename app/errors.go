package app

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"strings"
	"syscall"

	"github.com/wimconsole/wimconsole/engine/store"
	"github.com/wimconsole/wimconsole/engine/wim"
)

// ExplainError splits err into what an administrator reads first and the
// engine's detail. summary says, in the administrator's words, which file
// and what is wrong with it, and what to do when there is something to do;
// details is the whole message and its chain of causes (offsets, hashes,
// the system's error), for a bug report or a closer look. An error this
// function does not recognise is its own summary, and details is then its
// chain of causes ("" when it has none beyond the message).
//
// Neither names the temporary files the engine writes before renaming them
// into place (".NAME.wimconsole-tmp…", ".NAME.tmp-…", ".wimconsole-ID-NAME"):
// they are named after the file they become, or left out.
func ExplainError(err error) (summary, details string) {
	if err == nil {
		return "", ""
	}
	var adv *adviceError
	if errors.As(err, &adv) {
		summary, details = ExplainError(adv.err)
		return summary + "\n\n" + adv.advice, details
	}
	full := CleanTempNames(err.Error())
	summary = explain(err)
	if summary == "" {
		summary = full
	}
	summary = CleanTempNames(summary)
	causes := hiddenCauses(err, full)
	var pe *wim.PanicError
	switch {
	case errors.As(err, &pe):
		details = full + "\n\n" + strings.TrimSpace(string(pe.Stack))
	case summary == full && len(causes) == 0:
		details = "" // the message says it all
	case len(causes) == 0:
		details = full
	default:
		details = full + "\n\nCaused by:\n  " + strings.Join(causes, "\n  ")
	}
	return summary, details
}

// adviceError is an error with what the administrator should do about it
// (see WithAdvice).
type adviceError struct {
	err    error
	advice string
}

func (e *adviceError) Error() string { return e.err.Error() + "\n\n" + e.advice }
func (e *adviceError) Unwrap() error { return e.err }

// WithAdvice returns err with advice, what the administrator should do
// about it ("Nothing was changed: …"), which ExplainError says after its
// summary of err.
func WithAdvice(err error, advice string) error {
	if err == nil {
		return nil
	}
	return &adviceError{err, advice}
}

// hiddenCauses returns the messages of the errors err wraps (the
// outermost first, temporary names cleaned) that full, err's message,
// does not already hold: a cause that fmt.Errorf's %w quoted is left out.
func hiddenCauses(err error, full string) []string {
	var out []string
	for e := errors.Unwrap(err); e != nil; e = errors.Unwrap(e) {
		if msg := CleanTempNames(e.Error()); !strings.Contains(full, msg) {
			out = append(out, msg)
		}
	}
	return out
}

// explain returns the administrator's summary of err, or "" when err is
// none of the errors it knows.
func explain(err error) string {
	var (
		ro      *store.ReadOnlyError
		sum     *wim.ChecksumError
		format  *wim.FormatError
		missing *wim.MissingBlobError
		panicE  *wim.PanicError
		pathErr *fs.PathError
	)
	switch {
	case errors.Is(err, context.Canceled):
		return "Cancelled. What was done so far was rolled back."
	case errors.As(err, &ro):
		return fmt.Sprintf("The store %s is read-only (%s), so WIM Console cannot %s. Open the store where it can be written, or export the image to a writable store first.",
			ro.Root, ro.Reason, ro.What)
	case errors.As(err, &sum):
		return fmt.Sprintf("%s is damaged: the %s does not match the checksum recorded for it. Restore the file from a backup, or replace the image from its source.",
			orData(sum.File), sum.What)
	case errors.As(err, &format):
		if format.File == "" {
			return fmt.Sprintf("The image data is damaged or not WIM data (%s).", format.Msg)
		}
		return fmt.Sprintf("%s is not a valid Windows image file, or it is damaged (%s). Check that it is a .wim, .esd or .swm file and copy it again.",
			format.File, format.Msg)
	case errors.As(err, &missing):
		s := fmt.Sprintf("%s needs data that is in none of the files it was opened with.", missing.File)
		if missing.Hint != "" {
			s += " " + capitalise(missing.Hint) + "."
		}
		return s + " Give the missing file (a split part, or the group's Res.rwm) as well."
	case errors.As(err, &panicE):
		return "WIM Console met an internal error and stopped this action. Please report it with the details below."
	}
	if s := explainCatalog(err); s != "" {
		return s
	}
	if s := explainNotFolder(err); s != "" {
		return s
	}
	if errors.As(err, &pathErr) {
		return explainPath(pathErr)
	}
	return ""
}

func orData(file string) string {
	if file == "" {
		return "The image data"
	}
	return file
}

func capitalise(s string) string {
	s = strings.TrimSuffix(strings.TrimSpace(s), ".")
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// catalogDamage matches the store's error for a catalog file that is not
// a catalog database (bbolt's "invalid database", "version mismatch",
// "checksum error").
var catalogDamage = regexp.MustCompile(`catalog (.+?): (invalid database|version mismatch|checksum error)`)

func explainCatalog(err error) string {
	m := catalogDamage.FindStringSubmatch(err.Error())
	if m == nil {
		return ""
	}
	return fmt.Sprintf("The store's catalog %s is damaged (%s), so the store cannot be opened. Restore the file from a backup, or choose another store.", m[1], m[2])
}

// notFolder matches the store's error for a store path that is a file.
var notFolder = regexp.MustCompile(`^store (.+): not a folder$`)

func explainNotFolder(err error) string {
	m := notFolder.FindStringSubmatch(err.Error())
	if m == nil {
		return ""
	}
	return fmt.Sprintf("%s is a file, not a folder. Choose the folder that holds the image store (RemoteInstall), or an empty folder for a new one.", m[1])
}

// explainPath says what a failed file operation means to an administrator.
func explainPath(pe *fs.PathError) string {
	p := pe.Path
	switch {
	case errors.Is(pe.Err, syscall.ENOSPC):
		return fmt.Sprintf("The disk that holds %s is full. Free some space on it, then try again.", p)
	case errors.Is(pe.Err, syscall.EROFS):
		return fmt.Sprintf("%s is on a read-only disk or mount, so it cannot be changed. Remount it for writing, or choose another folder.", p)
	case errors.Is(pe.Err, fs.ErrPermission):
		return fmt.Sprintf("You have no permission to %s %s. Ask for the rights to the folder, or run WIM Console as a user who has them.", opWords(pe.Op), p)
	case errors.Is(pe.Err, fs.ErrNotExist):
		return fmt.Sprintf("%s does not exist (any more). Check the path, or refresh the console if another program removed it.", p)
	}
	return ""
}

// opWords turns an fs.PathError's Op into words.
func opWords(op string) string {
	switch op {
	case "open", "openat", "stat", "lstat", "read":
		return "read"
	case "mkdir", "mkdirat":
		return "create a folder at"
	case "remove", "unlinkat":
		return "remove"
	case "rename":
		return "rename"
	}
	return "write"
}

// The engine's temporary names, which CleanTempNames maps to the file they
// become (or leaves out). seg is one path segment.
const seg = `[^\s/\\:"'()]`

var tempNames = []struct {
	re   *regexp.Regexp
	repl string
}{
	// A regroup's build and old folders: the Images folder stands for them.
	{regexp.MustCompile(`[/\\]\.wimconsole-[0-9a-f]{12}-(?:build|old)(?:[/\\]` + seg + `+)*`), ""},
	// Downloads, installs and hives being written: no file of the
	// administrator's.
	{regexp.MustCompile(`(?:[A-Za-z]:)?(?:[/\\]?` + seg + `+)*[/\\]\.?(?:wimconsole-(?:download|install|hive)|hive-commit)-` + seg + `*`), "a temporary file"},
	// wim.Create's .NAME.wimconsole-tmp<12 hex> and an earlier version's .NAME.tmp<12 hex>.
	{regexp.MustCompile(`\.(` + seg + `+?)\.wimconsole-tmp[0-9a-f]{12}`), "$1"},
	{regexp.MustCompile(`\.(` + seg + `+?)\.tmp[0-9a-f]{12}\b`), "$1"},
	// atomicfile's .NAME.tmp-<number>.
	{regexp.MustCompile(`\.(` + seg + `+?)\.tmp-[0-9]+`), "$1"},
	// The store's .wimconsole-<op id>-[new-|removed-]NAME.
	{regexp.MustCompile(`\.wimconsole-[0-9a-f]{12}-(?:new-|removed-)?(` + seg + `+)`), "$1"},
	// NAME.tmp: NAME.
	{regexp.MustCompile(`\.?(` + seg + `+\.` + seg + `+)\.tmp\b`), "$1"},
}

// CleanTempNames rewrites the engine's temporary file names in msg as the
// files they become, and drops those that become no file of the
// administrator's.
func CleanTempNames(msg string) string {
	for _, t := range tempNames {
		msg = t.re.ReplaceAllString(msg, t.repl)
	}
	return msg
}
