package wim

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/wimconsole/wimconsole/internal/oracle"
)

// TestPipableRead reads pipable WIMs made by wimlib: open, verify (with
// the integrity table), apply, as for any WIM.
func TestPipableRead(t *testing.T) {
	oracle.Wimlib(t)
	src := wtSampleTree(t, 7)
	for _, c := range []string{"none", "XPRESS", "LZX"} {
		t.Run(c, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "p.wim")
			oracle.Run(t, "capture", src, file, "Pipe", "--pipable", "--check", "--compress="+c)
			w := imgOpenW(t, file)
			if !w.Pipable() {
				t.Error("Pipable() = false for a pipable WIM")
			}
			if err := w.CheckIntegrity(context.Background()); err != nil {
				t.Error(err)
			}
			wtCheckOurs(t, file, nil, src)
		})
	}
}
