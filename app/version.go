package app

import (
	"runtime/debug"
	"time"
)

// Version returns the running program's version as the Go toolchain stamped
// it into the binary: the main module's version ("(devel)" for a build from
// a work tree without a version tag), then the commit it was built from, with
// "modified" when the work tree had uncommitted changes, and the commit's
// date:
//
//	v0.0.0-20261206044936-d834b8679b96+dirty (commit d834b8679b96, modified, 2026-12-06)
//
// Both binaries (the version command), the HTTPS server's /api/v1/info and
// the console's About box print it, so a report names the exact build.
// FyneApp.toml's Version is the packaging version (fyne package writes it
// into the installers' metadata); the program does not print it, because
// `go build` does not see it and it does not change when the code does.
// Build info carries the commit only when go build stamps it: in a git
// checkout by default (-buildvcs=auto), not with -buildvcs=false.
func Version() string {
	bi, ok := debug.ReadBuildInfo()
	return versionOf(bi, ok)
}

// versionOf formats the version from build info (ok false: none was
// embedded, as in a binary built without module support).
func versionOf(bi *debug.BuildInfo, ok bool) string {
	if !ok || bi == nil {
		return "(devel)"
	}
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	var rev, when string
	modified := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		case "vcs.time":
			when = s.Value
		}
	}
	if rev == "" {
		return v
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	v += " (commit " + rev
	if modified {
		v += ", modified"
	}
	if t, err := time.Parse(time.RFC3339, when); err == nil {
		v += ", " + t.UTC().Format("2006-01-02")
	}
	return v + ")"
}
