package app

import (
	"runtime/debug"
	"testing"
)

func TestVersionOf(t *testing.T) {
	const rev = "d834b8679b967a8e1f927291117d52f0deae9100"
	stamped := func(version string, settings ...string) *debug.BuildInfo {
		bi := &debug.BuildInfo{Main: debug.Module{Path: "github.com/wimconsole/wimconsole", Version: version}}
		for i := 0; i+1 < len(settings); i += 2 {
			bi.Settings = append(bi.Settings, debug.BuildSetting{Key: settings[i], Value: settings[i+1]})
		}
		return bi
	}
	tests := []struct {
		name string
		bi   *debug.BuildInfo
		ok   bool
		want string
	}{
		{"no build info", nil, false, "(devel)"},
		{"no vcs stamp", stamped("(devel)"), true, "(devel)"},
		{"empty module version", stamped(""), true, "(devel)"},
		{"clean checkout",
			stamped("v0.0.0-20261206044936-d834b8679b96", "vcs", "git", "vcs.revision", rev, "vcs.time", "2026-12-06T04:49:36Z", "vcs.modified", "false"),
			true, "v0.0.0-20261206044936-d834b8679b96 (commit d834b8679b96, 2026-12-06)"},
		{"modified work tree",
			stamped("v0.0.0-20261206044936-d834b8679b96+dirty", "vcs.revision", rev, "vcs.time", "2026-12-06T04:49:36Z", "vcs.modified", "true"),
			true, "v0.0.0-20261206044936-d834b8679b96+dirty (commit d834b8679b96, modified, 2026-12-06)"},
		{"tagged release", stamped("v1.2.0", "vcs.revision", rev, "vcs.time", "2026-12-31T23:30:00-02:00", "vcs.modified", "false"),
			true, "v1.2.0 (commit d834b8679b96, 2027-01-01)"},
		{"no time", stamped("(devel)", "vcs.revision", "abc123"), true, "(devel) (commit abc123)"},
	}
	for _, tt := range tests {
		if got := versionOf(tt.bi, tt.ok); got != tt.want {
			t.Errorf("%s: versionOf = %q, want %q", tt.name, got, tt.want)
		}
	}
}
