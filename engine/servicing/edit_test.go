package servicing

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wimconsole/wimconsole/engine/servicing/hive"
	"github.com/wimconsole/wimconsole/engine/store"
	"github.com/wimconsole/wimconsole/engine/unattend"
	"github.com/wimconsole/wimconsole/internal/oracle"
)

// unchanged checks that image r still holds exactly baseFiles and that the
// store verifies.
func unchanged(t *testing.T, s *store.Store, r store.ImageRef) {
	t.Helper()
	sameTree(t, applied(t, s, r), baseFiles())
	mustVerify(t, s)
}

func TestRegistryEditCommit(t *testing.T) {
	bin := oracle.Need(t, "hivexget")
	ctx := context.Background()
	s, r := newStore(t, baseFiles())
	ss, err := Begin(ctx, s, r)
	if err != nil {
		t.Fatal(err)
	}
	err = ss.EditHive(ctx, "software", func(h hive.Hive) error {
		k, err := h.AddKey(h.Root(), "Contoso")
		if err != nil {
			return err
		}
		if err := h.SetValue(k, hive.String("Name", "WIM Console")); err != nil {
			return err
		}
		return h.SetValue(k, hive.Dword("Level", 7))
	})
	if err != nil {
		t.Fatal(err)
	}
	reg := "Windows Registry Editor Version 5.00\r\n\r\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\Contoso\\Sub]\r\n\"Path\"=\"C:\\\\x\"\r\n"
	if _, err := ss.ImportReg(ctx, "SOFTWARE", "t.reg", []byte(reg)); err != nil {
		t.Fatal(err)
	}
	// Two edits of one hive stage one replace, holding one copy of it.
	n := len(ss.Changes)
	if n != 1 || ss.Changes[0].Op != OpReplace {
		t.Fatalf("two edits of SOFTWARE staged %v, want one replace", ss.Changes)
	}
	if ents, err := os.ReadDir(filepath.Join(ss.Dir(), dataDir)); err != nil || len(ents) != 1 {
		t.Fatalf("the session keeps %d copies of the hive (%v), want 1", len(ents), err)
	}
	// Hostile inputs stage nothing.
	if _, err := ss.ImportReg(ctx, "SOFTWARE", "bad.reg", []byte("Windows Registry Editor Version 5.00\r\n[HKLM\\SOFTWARE\\x]\r\n\"v\"=bogus:1\r\n")); err == nil {
		t.Error("bad .reg syntax accepted")
	}
	if err := ss.EditHive(ctx, "SAM", func(hive.Hive) error { return nil }); !errors.Is(err, hive.ErrReadOnly) {
		t.Errorf("SAM edit: %v", err)
	}
	if len(ss.Changes) != n {
		t.Fatalf("refused edits staged changes: %v", ss.Changes)
	}
	res, err := ss.Commit(ctx, CommitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_ = res
	out := applied(t, s, r)
	hv := filepath.Join(out, "Windows/System32/config/SOFTWARE")
	for _, c := range []struct{ key, val, want string }{
		{`\Contoso`, "Name", "WIM Console"},
		{`\Contoso`, "Level", "7"},
		{`\Contoso\Sub`, "Path", `C:\x`},
	} {
		got, err := exec.Command(bin, hv, c.key, c.val).CombinedOutput()
		if err != nil {
			t.Fatalf("hivexget %s %s: %v\n%s", c.key, c.val, err, got)
		}
		if strings.TrimSpace(string(got)) != c.want {
			t.Errorf("hivexget %s %s = %q, want %q", c.key, c.val, got, c.want)
		}
	}
	mustVerify(t, s)
}

func TestCorruptHiveChangesNothing(t *testing.T) {
	files := baseFiles()
	files["Windows/System32/config/SOFTWARE"] = "regf" + strings.Repeat("\xff", 5000)
	ctx := context.Background()
	s, r := newStore(t, files)
	ss, err := Begin(ctx, s, r)
	if err != nil {
		t.Fatal(err)
	}
	err = ss.EditHive(ctx, "SOFTWARE", func(h hive.Hive) error { return nil })
	if err == nil {
		t.Fatal("corrupt hive opened")
	}
	if len(ss.Changes) != 0 {
		t.Fatalf("changes staged: %v", ss.Changes)
	}
	ss.Discard()
	sameTree(t, applied(t, s, r), files)
	mustVerify(t, s)
}

func TestAddDriver(t *testing.T) {
	ctx := context.Background()
	s, r := newStore(t, baseFiles())
	ss, err := Begin(ctx, s, r)
	if err != nil {
		t.Fatal(err)
	}
	pkg := filepath.Join("inf", "testdata", "inf", "good")
	res, err := ss.AddDriver(ctx, pkg, DriverOptions{Name: "contoso", Arch: "amd64"})
	if err != nil {
		t.Fatal(err)
	}
	if res.SetupPath != `C:\Drivers\contoso` {
		t.Errorf("setup path %q", res.SetupPath)
	}
	// Hostile and malformed packages change nothing.
	bad := t.TempDir()
	os.WriteFile(filepath.Join(bad, "x.inf"), []byte("[Version]\r\nSignature=\"$Windows NT$\"\r\n[Strings\r\n"), 0o644)
	for _, dir := range []string{filepath.Join("inf", "testdata", "inf", "bad"), bad, t.TempDir()} {
		if _, err := ss.AddDriver(ctx, dir, DriverOptions{Arch: "amd64"}); err == nil {
			t.Errorf("driver package %s accepted", dir)
		}
	}
	if len(ss.Changes) != 1 {
		t.Fatalf("changes: %v", ss.Changes)
	}
	if _, err := ss.Commit(ctx, CommitOptions{}); err != nil {
		t.Fatal(err)
	}
	out := applied(t, s, r)
	want := clone(baseFiles())
	filepath.Walk(pkg, func(p string, fi os.FileInfo, err error) error {
		if fi.Mode().IsRegular() {
			rel, _ := filepath.Rel(pkg, p)
			b, _ := os.ReadFile(p)
			want["Drivers/contoso/"+filepath.ToSlash(rel)] = string(b)
		}
		return nil
	})
	sameTree(t, out, want)
	doc, err := ImageUnattend(ctx, s, r)
	if err != nil || doc == nil {
		t.Fatalf("unattend: %q, %v", doc, err)
	}
	paths, err := unattend.DriverPaths(doc)
	if err != nil || len(paths) != 1 || paths[0].Path != `C:\Drivers\contoso` || paths[0].Arch != "amd64" {
		t.Errorf("driver paths %+v, %v", paths, err)
	}
	mustVerify(t, s)
}

func TestHostileDriverFolder(t *testing.T) {
	ctx := context.Background()
	s, r := newStore(t, baseFiles())
	ss, err := Begin(ctx, s, r)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.inf"), []byte("[Version]\r\n"), 0o644)
	os.Symlink("..", filepath.Join(dir, "up"))
	os.WriteFile(filepath.Join(dir, "..\\evil.sys"), []byte("x"), 0o644)
	if _, err := ss.AddDriver(ctx, dir, DriverOptions{Arch: "amd64"}); err == nil {
		t.Fatal("hostile driver folder accepted")
	}
	if _, err := ss.AddDriver(ctx, filepath.Join("inf", "testdata", "inf", "good"), DriverOptions{Name: "..", Arch: "amd64"}); err == nil {
		t.Fatal("driver name .. accepted")
	}
	if len(ss.Changes) != 0 || ss.Unattend {
		t.Fatalf("staged: %v", ss.Changes)
	}
	ss.Discard()
	unchanged(t, s, r)
}

func TestBrowseFindExtract(t *testing.T) {
	ctx := context.Background()
	s, r := newStore(t, baseFiles())
	ents, err := List(ctx, s, r, `\Program Files\app`)
	if err != nil || len(ents) != 2 || ents[0].Path != "/Program Files/app/app.exe" || ents[0].Size != 15000 {
		t.Fatalf("List: %+v, %v", ents, err)
	}
	m, err := FindInGroup(ctx, s, "G", "*.TXT")
	if err != nil || len(m) != 2 {
		t.Fatalf("FindInGroup *.TXT: %+v, %v", m, err)
	}
	m, err = FindInGroup(ctx, s, "G", `\windows\*\config\*`)
	if err != nil || len(m) != 2 {
		t.Fatalf("FindInGroup path: %+v, %v", m, err)
	}
	dest := t.TempDir()
	if _, err := Extract(ctx, s, r, []string{"/Program Files/app", `\Users\Public\notes.txt`}, dest, nil); err != nil {
		t.Fatal(err)
	}
	sameTree(t, dest, map[string]string{"app/app.exe": baseFiles()["Program Files/app/app.exe"],
		"app/readme.txt": "readme\n", "notes.txt": "notes\n"})
	if _, err := Extract(ctx, s, r, []string{"/../etc"}, t.TempDir(), nil); err == nil {
		t.Error("extracting .. accepted")
	}
}
