package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wimconsole/wimconsole/engine/store/storetest"
	"github.com/wimconsole/wimconsole/internal/oracle"
)

func TestLangPackCommands(t *testing.T) {
	oracle.Wimlib(t)
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	os.MkdirAll(src, 0o755)
	os.WriteFile(filepath.Join(src, "a.txt"), []byte("alpha"), 0o644)
	wimFile := filepath.Join(dir, "install.wim")
	oracle.Run(t, "capture", src, wimFile, "Lab image")
	st := filepath.Join(dir, "store")
	if code, _, errOut := run(t, "--store", st, "add-image", wimFile, "--group", "Lab"); code != ExitOK {
		t.Fatalf("add-image: %s", errOut)
	}
	cabFile := storetest.Cab(t, dir, "fr-fr.cab", 64)

	if code, out, errOut := run(t, "langpack", "add", "Lab/install", cabFile, "--store", st); code != ExitOK || !strings.Contains(out, "added") {
		t.Fatalf("add: %d %q %q", code, out, errOut)
	}
	code, out, _ := run(t, "--store", st, "langpack", "list", "Lab/install", "--json")
	var packs []string
	if code != ExitOK || json.Unmarshal([]byte(out), &packs) != nil || len(packs) != 1 || packs[0] != "fr-fr.cab" {
		t.Fatalf("list: %d %q", code, out)
	}
	if code, _, errOut := run(t, "--store", st, "langpack", "add", "Lab/install", wimFile); code != ExitFailure || !strings.Contains(errOut, ".cab") {
		t.Fatalf("adding a .wim as a language pack: %d %q", code, errOut)
	}
	if code, _, _ := run(t, "--store", st, "langpack", "remove", "Lab/install"); code != ExitUsage {
		t.Fatalf("remove without a name: exit %d", code)
	}
	if code, _, errOut := run(t, "--store", st, "langpack", "remove", "Lab/install", "fr-fr.cab"); code != ExitOK {
		t.Fatalf("remove: %q", errOut)
	}
	if code, out, _ := run(t, "--store", st, "langpack", "list", "Lab/install"); code != ExitOK || out != "" {
		t.Fatalf("list after remove: %d %q", code, out)
	}
}
