//go:build cgo && (linux || darwin || freebsd)

package regfile

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wimconsole/wimconsole/engine/servicing/hive"
	"github.com/wimconsole/wimconsole/engine/servicing/hive/hivetest"
	"github.com/wimconsole/wimconsole/internal/oracle"
)

// TestApplyToHivex imports the sample (as UTF-16) into a generated hive
// through libhivex, commits it, and reads it back with hivexget.
func TestApplyToHivex(t *testing.T) {
	bin := oracle.Need(t, "hivexget")
	f, err := Parse("s.reg", utf16le(strings.ReplaceAll(sample, "\n", "\r\n")))
	if err != nil {
		t.Fatal(err)
	}
	h, err := hive.OpenBytes("SOFTWARE", hivetest.Minimal("ROOT"), hive.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if _, err := f.Apply(h, `HKEY_LOCAL_MACHINE\SOFTWARE`); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "SOFTWARE")
	if err := h.Commit(out); err != nil {
		t.Fatal(err)
	}
	got, err := exec.Command(bin, out, `\Contoso\App`).CombinedOutput()
	if err != nil {
		t.Fatalf("hivexget: %v\n%s", err, got)
	}
	want := `"@"="default \"value\""
"Quoted \"name\""="C:\\Program Files\\Contoso"
"Count"=dword:0000002a
"Path"=str(2):"%SystemRoot%"
"List"=hex(7):61,00,00,00,62,00,00,00,00,00
"Big"=hex(11):ef,cd,ab,89,67,45,23,01
"Blob"=hex(3):de,ad,be,ef
"None"=hex(0):
`
	if string(got) != want {
		t.Errorf("hivexget:\n%s\nwant:\n%s", got, want)
	}
}
