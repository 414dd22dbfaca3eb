package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wimconsole/wimconsole/engine/servicing/hive/hivetest"
	"github.com/wimconsole/wimconsole/internal/oracle"
)

// regStore returns a store with a disabled image G/install whose SOFTWARE
// hive is a minimal hive, and a function running a command on it.
func regStore(t *testing.T) (string, func(want int, args ...string) (string, string)) {
	t.Helper()
	oracle.Wimlib(t)
	st := filepath.Join(t.TempDir(), "RemoteInstall")
	tree := t.TempDir()
	cfg := filepath.Join(tree, "Windows", "System32", "config")
	os.MkdirAll(cfg, 0o755)
	os.WriteFile(filepath.Join(cfg, "SOFTWARE"), hivetest.Minimal("ROOT"), 0o644)
	src := filepath.Join(t.TempDir(), "install.wim")
	oracle.Run(t, "capture", tree, src, "One")
	do := func(want int, args ...string) (string, string) {
		t.Helper()
		code, out, errOut := run(t, append([]string{"--store", st}, args...)...)
		if code != want {
			t.Fatalf("%v: exit %d, want %d\n%s%s", args, code, want, out, errOut)
		}
		return out, errOut
	}
	do(0, "add-image", src, "--group", "G")
	do(0, "set-image", "G/install", "--enabled", "no")
	return st, do
}

// TestRegSubcommands drives reg with the verb first, as service takes it,
// and checks that the older order still works with a note on stderr.
func TestRegSubcommands(t *testing.T) {
	_, do := regStore(t)
	do(0, "reg", "set", "G/install", "SOFTWARE", `Contoso\Settings`, "Level", "REG_DWORD", "7")
	do(0, "reg", "add-key", "G/install", "SOFTWARE", `Contoso\Empty`)
	out, errOut := do(0, "reg", "get", "G/install", "SOFTWARE", `Contoso\Settings`, "Level")
	if strings.TrimSpace(out) != "0x7 (7)" || errOut != "" {
		t.Fatalf("reg get value: stdout %q, stderr %q", out, errOut)
	}
	out, _ = do(0, "reg", "get", "G/install", "SOFTWARE", "Contoso")
	if !strings.Contains(out, "[Empty]") || !strings.Contains(out, "[Settings]") {
		t.Fatalf("reg get key:\n%s", out)
	}
	// The older order: same result, and a note naming the new one.
	out, errOut = do(0, "reg", "G/install", "SOFTWARE", "get", `Contoso\Settings`, "Level")
	if strings.TrimSpace(out) != "0x7 (7)" || !strings.Contains(errOut, "deprecated") || !strings.Contains(errOut, "reg get IMAGE HIVE") {
		t.Fatalf("old-order reg get: stdout %q, stderr %q", out, errOut)
	}
	do(0, "reg", "G/install", "SOFTWARE", "delete", `Contoso\Settings`, "Level")
	do(1, "reg", "get", "G/install", "SOFTWARE", `Contoso\Settings`, "Level")
	do(0, "reg", "delete", "G/install", "SOFTWARE", `Contoso\Empty`)
	do(1, "reg", "get", "G/install", "SOFTWARE", `Contoso\Empty`)
	regFile := filepath.Join(t.TempDir(), "x.reg")
	os.WriteFile(regFile, []byte("Windows Registry Editor Version 5.00\r\n\r\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\Fabrikam]\r\n\"Name\"=\"x\"\r\n"), 0o644)
	if out, _ = do(0, "reg", "import", "G/install", "SOFTWARE", regFile); !strings.Contains(out, "imported 2 operations") {
		t.Fatalf("reg import: %q", out)
	}
	if out, _ = do(0, "reg", "get", "G/install", "SOFTWARE", "Fabrikam", "Name"); strings.TrimSpace(out) != "x" {
		t.Fatalf("reg get after import: %q", out)
	}
}

// TestSubcommandUsageErrors: wrong argument counts and unknown verbs of
// reg and unattend, in either order, are usage errors (exit 2 and a hint)
// that change nothing.
func TestSubcommandUsageErrors(t *testing.T) {
	st := filepath.Join(t.TempDir(), "RemoteInstall")
	for _, args := range [][]string{
		{"reg"},
		{"reg", "get", "G/install", "SOFTWARE"},
		{"reg", "set", "G/install", "SOFTWARE", "K", "V", "REG_SZ"},
		{"reg", "add-key", "G/install", "SOFTWARE", "K", "extra"},
		{"reg", "import", "G/install", "SOFTWARE"},
		{"reg", "G/install", "SOFTWARE", "frob", "K"},
		{"reg", "G/install", "SOFTWARE", "get"},
		{"reg", "frob"},
		{"unattend"},
		{"unattend", "show"},
		{"unattend", "show", "G/install", "extra"},
		{"unattend", "set", "G/install"},
		{"unattend", "G/install", "frob"},
		{"unattend", "G/install", "set"},
		{"langpack", "list"},
		{"langpack", "add", "G/install"},
	} {
		code, out, errOut := run(t, append([]string{"--store", st}, args...)...)
		lines := strings.Split(strings.TrimSpace(errOut), "\n")
		if code != ExitUsage || out != "" || !strings.Contains(lines[len(lines)-1], "--help") {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit 2 and a hint", args, code, out, errOut)
		}
	}
	if _, err := os.Stat(st); !os.IsNotExist(err) {
		t.Errorf("a usage error created the store: %v", err)
	}
}

// TestUnattendOldOrder: unattend IMAGE VERB still works, with a note.
func TestUnattendOldOrder(t *testing.T) {
	_, do := regStore(t)
	good := filepath.Join(t.TempDir(), "good.xml")
	os.WriteFile(good, []byte(`<unattend xmlns="urn:schemas-microsoft-com:unattend"><settings pass="oobeSystem"/></unattend>`), 0o644)
	if _, errOut := do(0, "unattend", "G/install", "set", good); !strings.Contains(errOut, "deprecated") || !strings.Contains(errOut, "unattend set IMAGE") {
		t.Fatalf("old-order unattend set: stderr %q", errOut)
	}
	if out, _ := do(0, "unattend", "show", "G/install"); !strings.Contains(out, "oobeSystem") {
		t.Fatalf("unattend show:\n%s", out)
	}
	if out, errOut := do(0, "unattend", "G/install", "validate"); strings.TrimSpace(out) != "valid" || !strings.Contains(errOut, "deprecated") {
		t.Fatalf("old-order unattend validate: %q %q", out, errOut)
	}
	do(0, "unattend", "remove", "G/install")
	do(1, "unattend", "G/install", "show")
}

// TestSubcommandsRefuseServer: the subcommands that work on local files
// (reg, unattend, service, langpack) refuse --server as their commands
// did, rather than acting on the local store.
func TestSubcommandsRefuseServer(t *testing.T) {
	st := filepath.Join(t.TempDir(), "RemoteInstall")
	for _, args := range [][]string{
		{"reg", "get", "G/install", "SOFTWARE", "K"},
		{"unattend", "show", "G/install"},
		{"service", "begin", "G/install"},
		{"langpack", "list", "G/install"},
	} {
		code, _, errOut := run(t, append([]string{"--store", st, "--server", "https://127.0.0.1:1", "--token", "x"}, args...)...)
		if code != ExitUsage || !strings.Contains(errOut, "local files only") {
			t.Errorf("%q with --server: exit %d, stderr %q; want exit 2, local files only", args, code, errOut)
		}
	}
	if _, err := os.Stat(st); !os.IsNotExist(err) {
		t.Errorf("a refused command created the store: %v", err)
	}
}
