package wim

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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

// TestPipableWrite writes pipable WIMs (Capture with Pipable) and has
// wimlib read them from the file and from a pipe; our reader reads them
// too.
func TestPipableWrite(t *testing.T) {
	oracle.Wimlib(t)
	src := wtSampleTree(t, 3)
	for _, c := range []Compression{None, XPRESS, LZX} {
		for _, integ := range []bool{false, true} {
			t.Run(fmt.Sprintf("%v-integrity=%v", c, integ), func(t *testing.T) {
				file := filepath.Join(t.TempDir(), "ours.wim")
				if _, err := Capture(context.Background(), src, file, CaptureOptions{
					Name: "Pipe", Compression: c, Integrity: integ, Boot: true, Pipable: true}); err != nil {
					t.Fatal(err)
				}
				b, err := os.ReadFile(file)
				if err != nil {
					t.Fatal(err)
				}
				if !IsPipableMagic(b) || !IsPipableMagic(b[len(b)-HeaderSize:]) {
					t.Fatalf("%s does not start and end with the pipable magic", file)
				}
				info := oracle.Run(t, "info", file)
				if !strings.Contains(info, "Pipable") {
					t.Errorf("wimlib does not see a pipable WIM:\n%s", info)
				}
				if integ && !strings.Contains(info, "Integrity info") {
					t.Errorf("wimlib sees no integrity table:\n%s", info)
				}
				wtCheckWimlib(t, file, nil, src)
				out := filepath.Join(t.TempDir(), "from-pipe")
				cmd := exec.Command(oracle.Wimlib(t), "apply", "-", "1", out)
				cmd.Stdin = bytes.NewReader(b)
				if msg, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("wimlib-imagex apply - 1: %v\n%s", err, msg)
				}
				wtSameTree(t, src, out)
				wtCheckOurs(t, file, nil, src)
			})
		}
	}
}
