package libwim

import (
	"testing"

	"github.com/wimconsole/wimconsole/internal/oracle"
)

// Need skips the test when libwim is not linked in and oracle tests are not
// required; when they are (WIMCONSOLE_ORACLE set), it fails instead.
func Need(t testing.TB) {
	t.Helper()
	if Available {
		return
	}
	if oracle.Required() {
		t.Fatalf("libwim differential tests are required (%s is set): build with -tags libwim and install libwim-dev", oracle.EnvRequired)
	}
	t.Skip("built without -tags libwim; libwim differential tests skipped")
}
