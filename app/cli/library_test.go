package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wimconsole/wimconsole/internal/oracle"
	"github.com/wimconsole/wimconsole/internal/seaweedtest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	seaweedtest.Stop()
	os.Exit(code)
}

// TestLibraryAdd: library add checks the address and the credentials file
// and never takes credentials on the command line; the list shows no
// secret.
func TestLibraryAdd(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("HOME", t.TempDir())
	dir := t.TempDir()
	open := filepath.Join(dir, "open.cred")
	os.WriteFile(open, []byte("AWS_ACCESS_KEY_ID=k\nAWS_SECRET_ACCESS_KEY=s3cr3t\n"), 0o644)
	os.Chmod(open, 0o644)
	good := filepath.Join(dir, "good.cred")
	os.WriteFile(good, []byte("AWS_ACCESS_KEY_ID=k\nAWS_SECRET_ACCESS_KEY=s3cr3t\n"), 0o600)
	empty := filepath.Join(dir, "empty.cred")
	os.WriteFile(empty, []byte("# nothing\n"), 0o600)
	for _, tt := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"secret in the address", []string{"library", "add", "a", "https://k:s3cr3t@host:9000/bucket"}, 1, "never in the address"},
		{"no bucket", []string{"library", "add", "a", "https://host:9000/"}, 1, "names no bucket"},
		{"ftp", []string{"library", "add", "a", "ftp://host/bucket"}, 1, "s3://HOST:PORT/BUCKET/PREFIX"},
		{"readable credentials", []string{"library", "add", "a", "https://host/bucket", "--credentials", open}, 1, "chmod 600"},
		{"empty credentials", []string{"library", "add", "a", "https://host/bucket", "--credentials", empty}, 1, "AWS_SECRET_ACCESS_KEY="},
		{"bad name", []string{"library", "add", "a/b", "https://host/bucket"}, 1, "without /"},
		{"missing URL", []string{"library", "add", "a"}, 2, "a name and a URL"},
		{"good", []string{"library", "add", "Lab", "s3://host:9000/bucket/sites/", "--credentials", good}, 0, "added library Lab"},
		{"twice", []string{"library", "add", "lab", "https://other/bucket"}, 1, "already"},
		{"env", []string{"library", "add", "env", "http://127.0.0.1:1/b"}, 0, "added"},
		{"pull without group", []string{"pull", "Lab"}, 2, "LIBRARY/GROUP"},
		{"unknown library", []string{"pull", "nope/G"}, 1, "no library named nope"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := run(t, tt.args...)
			if code != tt.code || !strings.Contains(out+errOut, tt.want) {
				t.Fatalf("exit %d, want %d and %q:\n%s%s", code, tt.code, tt.want, out, errOut)
			}
			if strings.Contains(out+errOut, "s3cr3t") {
				t.Fatalf("the secret shows:\n%s%s", out, errOut)
			}
		})
	}
	code, out, errOut := run(t, "library", "list")
	if code != 0 || !strings.Contains(out, "Lab") || !strings.Contains(out, "https://host:9000/bucket/sites") || !strings.Contains(out, "environment") || strings.Contains(out, "s3cr3t") {
		t.Fatalf("library list: %d\n%s%s", code, out, errOut)
	}
	cfg, _ := os.UserConfigDir()
	fi, err := os.Stat(filepath.Join(cfg, "wimconsole", "libraries.json"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("libraries.json: %v %v", fi, err)
	}
	data, _ := os.ReadFile(filepath.Join(cfg, "wimconsole", "libraries.json"))
	if strings.Contains(string(data), "s3cr3t") {
		t.Fatalf("libraries.json holds the secret:\n%s", data)
	}
	// Credentials from the environment: none set.
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	if code, out, errOut := run(t, "library", "list", "env"); code != 1 || !strings.Contains(errOut, "AWS_ACCESS_KEY_ID") {
		t.Fatalf("library list env without credentials: %d\n%s%s", code, out, errOut)
	}
}

// TestLibraryCommands: site A publishes through the command line, site B
// pulls, wimlib-imagex applies the image; list, verify and prune work;
// the secret never shows.
func TestLibraryCommands(t *testing.T) {
	oracle.Wimlib(t)
	e := seaweedtest.Start(t)
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("HOME", t.TempDir())
	t.Setenv("AWS_ACCESS_KEY_ID", e.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", e.SecretKey)
	a := filepath.Join(t.TempDir(), "A")
	b := filepath.Join(t.TempDir(), "B")
	tree := writeTree(t, "lib")
	src := filepath.Join(t.TempDir(), "install.wim")
	oracle.Run(t, "capture", tree, src, "One")
	do := func(want int, args ...string) string {
		t.Helper()
		code, out, errOut := run(t, args...)
		if code != want {
			t.Fatalf("%v: exit %d, want %d\n%s%s", args, code, want, out, errOut)
		}
		if strings.Contains(out+errOut, e.SecretKey) {
			t.Fatalf("%v: the secret shows:\n%s%s", args, out, errOut)
		}
		return out + errOut
	}
	do(0, "library", "add", "lab", fmt.Sprintf("http://%s/cli%d/sites", e.Addr, time.Now().UnixNano()))
	do(0, "--store", a, "add-image", src, "--group", "Win11")
	if out := do(0, "--store", a, "publish", "Win11", "--to", "lab"); !strings.Contains(out, "published Win11") {
		t.Fatalf("publish:\n%s", out)
	}
	if out := do(0, "--store", a, "publish", "Win11", "--to", "lab"); !strings.Contains(out, "unchanged") {
		t.Fatalf("second publish:\n%s", out)
	}
	if out := do(0, "--store", b, "library", "list", "lab"); !strings.Contains(out, "Win11") {
		t.Fatalf("library list lab:\n%s", out)
	}
	if out := do(0, "--store", b, "pull", "lab/Win11", "--as", "Site"); !strings.Contains(out, "pulled Site/install") {
		t.Fatalf("pull:\n%s", out)
	}
	out := filepath.Join(t.TempDir(), "out")
	oracle.Run(t, "apply", filepath.Join(b, "Images", "Site", "install.wim"), "1", out, "--ref="+filepath.Join(b, "Images", "Site", "Res.rwm"))
	sameFiles(t, tree, out)
	do(0, "library", "verify", "lab")
	do(0, "library", "verify", "lab", "Win11")
	do(1, "library", "verify", "lab", "Nope")
	if out := do(0, "library", "prune", "lab", "--grace", "0s"); !strings.Contains(out, "removed 0 manifests, 0 blobs") {
		t.Fatalf("prune:\n%s", out)
	}
	// The image changes at site A (a new unattend file): the next pull
	// updates it at site B, and one more finds it unchanged.
	u := filepath.Join(t.TempDir(), "u.xml")
	os.WriteFile(u, []byte(`<?xml version="1.0"?><unattend xmlns="urn:schemas-microsoft-com:unattend"><settings pass="windowsPE"/></unattend>`), 0o644)
	do(0, "--store", a, "unattend", "set", "Win11/install", u)
	do(0, "--store", a, "publish", "Win11", "--to", "lab")
	if out := do(0, "--store", b, "pull", "lab/Win11", "--as", "Site"); !strings.Contains(out, "updated Site/install") || !strings.Contains(out, "0 images added, 1 updated, 0 there already") {
		t.Fatalf("pull after the change:\n%s", out)
	}
	if out := do(0, "--store", b, "pull", "lab/Win11", "--as", "Site"); !strings.Contains(out, "0 images added, 0 updated, 1 there already") {
		t.Fatalf("pull of the unchanged group:\n%s", out)
	}
	if out := do(0, "--store", b, "unattend", "show", "Site/install"); !strings.Contains(out, "windowsPE") {
		t.Fatalf("unattend at site B:\n%s", out)
	}
	do(1, "--store", b, "pull", "lab/Nope")
}
