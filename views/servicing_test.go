package views

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/storage"

	"github.com/wimconsole/wimconsole/app"
	"github.com/wimconsole/wimconsole/engine/servicing"
	"github.com/wimconsole/wimconsole/internal/oracle"
	"github.com/wimconsole/wimconsole/internal/testtree"
	// The tests run under LANG=C in CI; keep Fyne from logging a locale error.
	_ "github.com/wimconsole/wimconsole/internal/posixlocale"
)

// folderDialogs answers PickFolder with folder.
type folderDialogs struct {
	*fakeDialogs
	folder string
}

func (d *folderDialogs) PickFolder(string) (string, error) { return d.folder, nil }

func entryPaths(es []servicing.Entry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Path)
	}
	return out
}

func (f *fixture) browser(t *testing.T) *fileBrowser {
	t.Helper()
	b, ok := f.c.current.(*fileBrowser)
	if !ok {
		t.Fatalf("no file browser open: %T %q", f.c.current, overlayText(f.c))
	}
	return b
}

func TestBrowseSearchExtract(t *testing.T) {
	f := newFixture(t)
	r := f.refs[0]
	f.do(t, app.ImageID(f.srv, r), "Browse Files…")
	b := f.browser(t)
	if b.ss != nil {
		t.Fatal("browsing began a servicing session")
	}
	if got := strings.Join(entryPaths(b.entries), ","); got != "/Windows" {
		t.Fatalf("root lists %s, want /Windows", got)
	}
	b.selectPath("/Windows")
	tapButton(t, f.c, "Open")
	if got := strings.Join(entryPaths(b.entries), ","); got != "/Windows/own.txt,/Windows/system32" {
		t.Fatalf("\\Windows lists %s", got)
	}
	if txt := overlayText(f.c); !strings.Contains(txt, "own.txt") || !strings.Contains(txt, "system32/") || !strings.Contains(txt, `\Windows`) {
		t.Fatalf("browser shows %q", txt)
	}
	tapButton(t, f.c, "Up")
	if b.dir != "/" || len(b.entries) != 1 {
		t.Fatalf("Up shows %s: %v", b.dir, entryPaths(b.entries))
	}

	b.search.SetText("*.DLL")
	tapButton(t, f.c, "Search")
	if got := strings.Join(entryPaths(b.entries), ","); got != "/Windows/system32/kernel.dll" {
		t.Fatalf("search *.DLL found %s", got)
	}
	if !strings.Contains(overlayText(f.c), "1 found") {
		t.Errorf("search result count not shown: %q", overlayText(f.c))
	}

	// Extract… with nothing selected says so; with the file selected it
	// writes it to the folder picked.
	dest := t.TempDir()
	f.c.dialogs = &folderDialogs{fakeDialogs: f.dlg, folder: dest}
	b.selectPath("/Windows/system32/kernel.dll")
	tapButton(t, f.c, "Extract…")
	f.c.jobs.Wait()
	f.c.settle()
	got, err := os.ReadFile(filepath.Join(dest, "kernel.dll"))
	if err != nil {
		t.Fatalf("extract: %v (%q)", err, overlayText(f.c))
	}
	if want := strings.Repeat("kernel code shared by all\n", 2000); string(got) != want {
		t.Fatalf("extracted kernel.dll has %d bytes, want %d", len(got), len(want))
	}
}

// disable disables image r and refreshes the console.
func (f *fixture) disable(t *testing.T, i int) string {
	t.Helper()
	if err := f.srv.SetEnabled(context.Background(), f.refs[i], false); err != nil {
		t.Fatal(err)
	}
	f.c.Refresh()
	f.c.settle()
	return app.ImageID(f.srv, f.refs[i])
}

func TestServiceEnabledImageRefused(t *testing.T) {
	f := newFixture(t)
	f.do(t, app.ImageID(f.srv, f.refs[0]), "Service Image…")
	if _, ok := f.c.current.(*fileBrowser); ok {
		t.Fatal("Service Image… opened on an enabled image")
	}
	if txt := overlayText(f.c); !strings.Contains(txt, "WDS requires") {
		t.Fatalf("no message for an enabled image: %q", txt)
	}
	if _, err := servicing.ForImage(storeOf(f.srv), f.refs[0]); !errors.Is(err, servicing.ErrNoSession) {
		t.Fatalf("a session was begun: %v", err)
	}
}

// stageAddDelete opens Service Image… on image 0 (disabled), adds new.txt to
// \Windows and deletes \Windows\own.txt.
func stageAddDelete(t *testing.T, f *fixture) *fileBrowser {
	t.Helper()
	f.do(t, f.disable(t, 0), "Service Image…")
	b := f.browser(t)
	if b.ss == nil {
		t.Fatal("no servicing session")
	}
	b.open("/Windows")
	f.c.settle()
	add := filepath.Join(t.TempDir(), "new.txt")
	if err := os.WriteFile(add, []byte("added by servicing\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f.dlg.files = []string{add}
	tapButton(t, f.c, "Add Files…")
	if !b.selectPath("/Windows/own.txt") {
		t.Fatalf("own.txt not listed: %v", entryPaths(b.entries))
	}
	tapButton(t, f.c, "Delete")
	if got := strings.Join(entryPaths(b.entries), ","); got != "/Windows/new.txt,/Windows/system32" {
		t.Fatalf("staged tree lists %s", got)
	}
	if len(b.changes) != 2 {
		t.Fatalf("change list %v, want an add and a delete", b.changes)
	}
	txt := overlayText(f.c)
	for _, c := range b.changes {
		if !strings.Contains(txt, c.String()) {
			t.Errorf("change list does not show %q: %q", c.String(), txt)
		}
	}
	return b
}

// files returns the files (not folders) below dir, slash-separated.
func files(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

func TestServiceImageCommit(t *testing.T) {
	oracle.Wimlib(t)
	f := newFixture(t)
	b := stageAddDelete(t, f)
	tapButtonNoWait(t, f.c, "Commit…")
	tapButton(t, f.c, "Commit")
	f.c.jobs.Wait()
	f.c.settle()
	if _, err := servicing.ForImage(storeOf(f.srv), f.refs[0]); !errors.Is(err, servicing.ErrNoSession) {
		t.Fatalf("session still open after commit: %v (%q)", err, overlayText(f.c))
	}
	if txt := overlayText(f.c); strings.Contains(txt, "Staged changes") {
		t.Fatalf("the session's browser is still open after commit: %q", txt)
	}
	if es, _ := f.srv.ListFiles(context.Background(), b.ref, "/Windows"); strings.Join(entryPaths(es), ",") != "/Windows/new.txt,/Windows/system32" {
		t.Fatalf("the image lists %v after commit", entryPaths(es))
	}
	dir := filepath.Join(t.TempDir(), "applied")
	oracle.Run(t, "apply", storeOf(f.srv).ImagePath(f.refs[0]), "1", dir, "--ref="+storeOf(f.srv).ResPath("Lab"))
	if got := strings.Join(files(t, dir), ","); got != "Windows/new.txt,Windows/system32/kernel.dll" {
		t.Fatalf("committed image holds %s", got)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "Windows", "new.txt")); string(got) != "added by servicing\n" {
		t.Fatalf("new.txt holds %q", got)
	}
	// The other image of the group is untouched.
	dir2 := filepath.Join(t.TempDir(), "other")
	oracle.Run(t, "apply", storeOf(f.srv).ImagePath(f.refs[1]), "1", dir2, "--ref="+storeOf(f.srv).ResPath("Lab"))
	if got := strings.Join(files(t, dir2), ","); got != "Windows/own.txt,Windows/system32/kernel.dll" {
		t.Fatalf("the other image holds %s", got)
	}
}

func TestServiceImageDiscard(t *testing.T) {
	f := newFixture(t)
	stageAddDelete(t, f)
	tapButtonNoWait(t, f.c, "Discard")
	tapButton(t, f.c, "Discard")
	if _, err := servicing.ForImage(storeOf(f.srv), f.refs[0]); !errors.Is(err, servicing.ErrNoSession) {
		t.Fatalf("session still open after discard: %v", err)
	}
	es, err := f.srv.ListFiles(context.Background(), f.refs[0], `\Windows`)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(entryPaths(es), ","); got != "/Windows/own.txt,/Windows/system32" {
		t.Fatalf("image after discard lists %s", got)
	}
}

func TestServiceAddFolderReplaceDrop(t *testing.T) {
	oracle.Wimlib(t)
	f := newFixture(t)
	f.do(t, f.disable(t, 0), "Service Image…")
	b := f.browser(t)
	local := t.TempDir()
	write := func(rel, data string) string {
		testtree.Write(t, local, map[string]string{rel: data})
		return filepath.Join(local, filepath.FromSlash(rel))
	}
	write("Tools/bin/tool.exe", "a tool\n")
	write("Tools/readme.txt", "read me\n")
	newKernel := write("kernel.dll", "a patched kernel\n")
	dropped := write("dropped.ini", "[dropped]\n")

	// Add Folder… adds the folder with everything in it to the folder shown.
	f.c.dialogs = &folderDialogs{fakeDialogs: f.dlg, folder: filepath.Join(local, "Tools")}
	tapButton(t, f.c, "Add Folder…")
	if got := strings.Join(entryPaths(b.entries), ","); got != "/Tools,/Windows" {
		t.Fatalf("root after Add Folder lists %s", got)
	}
	// New Folder… stages an empty folder; a name with a separator is refused.
	tapButtonNoWait(t, f.c, "New Folder…")
	nd := f.c.current.(*nameDialog)
	nd.entry.SetText(`a\b`)
	nd.submit()
	f.c.settle()
	if len(b.changes) != 1 {
		t.Fatalf("a bad folder name was staged: %v", b.changes)
	}
	nd.entry.SetText("Logs")
	nd.submit()
	f.c.settle()
	if got := strings.Join(entryPaths(b.entries), ","); got != "/Logs,/Tools,/Windows" {
		t.Fatalf("root after New Folder lists %s (%q)", got, overlayText(f.c))
	}

	// Replace… swaps the selected file's data; with nothing selected it says so.
	b.open("/Windows/system32")
	f.c.settle()
	tapButton(t, f.c, "Replace…")
	if txt := overlayText(f.c); !strings.Contains(txt, "Select the file to replace") {
		t.Fatalf("Replace with nothing selected: %q", txt)
	}
	tapButton(t, f.c, "OK")
	f.dlg.files = []string{newKernel}
	b.selectPath("/Windows/system32/kernel.dll")
	tapButton(t, f.c, "Replace…")

	// A file dropped on the window goes into the folder shown.
	f.c.dropped(fyne.NewPos(10, 10), []fyne.URI{storage.NewFileURI(dropped)})
	f.c.settle()
	if got := strings.Join(entryPaths(b.entries), ","); got != "/Windows/system32/dropped.ini,/Windows/system32/kernel.dll" {
		t.Fatalf("system32 after the drop lists %s", got)
	}
	if len(b.changes) != 4 {
		t.Fatalf("change list %v, want add folder, new folder, replace and add", b.changes)
	}

	tapButtonNoWait(t, f.c, "Commit…")
	tapButton(t, f.c, "Commit")
	f.c.jobs.Wait()
	f.c.settle()
	if f.c.browser != nil {
		t.Fatal("the console still routes drops to the closed browser")
	}
	dir := filepath.Join(t.TempDir(), "applied")
	oracle.Run(t, "apply", storeOf(f.srv).ImagePath(f.refs[0]), "1", dir, "--ref="+storeOf(f.srv).ResPath("Lab"))
	want := "Tools/bin/tool.exe,Tools/readme.txt,Windows/own.txt,Windows/system32/dropped.ini,Windows/system32/kernel.dll"
	if got := strings.Join(files(t, dir), ","); got != want {
		t.Fatalf("committed image holds %s, want %s", got, want)
	}
	if fi, err := os.Stat(filepath.Join(dir, "Logs")); err != nil || !fi.IsDir() {
		t.Fatalf("the new folder is not in the committed image: %v", err)
	}
	for rel, data := range map[string]string{
		"Tools/bin/tool.exe":           "a tool\n",
		"Windows/system32/kernel.dll":  "a patched kernel\n",
		"Windows/system32/dropped.ini": "[dropped]\n",
	} {
		if got, _ := os.ReadFile(filepath.Join(dir, filepath.FromSlash(rel))); string(got) != data {
			t.Errorf("%s holds %q, want %q", rel, got, data)
		}
	}
	// After the browser closed, drops are the console's again.
	f.c.dropped(fyne.NewPos(0, 0), []fyne.URI{storage.NewFileURI(dropped)})
	if txt := overlayText(f.c); !strings.Contains(txt, "Not a Windows Image") {
		t.Fatalf("a drop after the browser closed: %q", txt)
	}
}

func TestEntryColumns(t *testing.T) {
	mod := time.Date(2026, 1, 2, 3, 4, 0, 0, time.Local)
	for _, tc := range []struct {
		e     servicing.Entry
		whole bool
		want  string
	}{
		{servicing.Entry{Path: "/Windows/notepad.exe", Size: 2048, Attributes: 0x21, Modified: mod, Streams: []string{"Zone.Identifier", "sig"}}, false,
			"notepad.exe|2.0 KB|RA||2026-01-02 03:04|Zone.Identifier, sig"},
		{servicing.Entry{Path: "/Windows/System32", Dir: true, Attributes: 0x10, Created: mod}, true,
			`System32/|C:\Windows\System32||D||`},
		{servicing.Entry{Path: "/Windows/System32/drivers/x.sys", Size: 10, Modified: mod}, true,
			`x.sys|C:\Windows\System32\drivers\x.sys|10 bytes||2026-01-02 03:04|`},
	} {
		if got := strings.Join(entryColumns(tc.e, tc.whole), "|"); got != tc.want {
			t.Errorf("entryColumns(%s) = %q, want %q", tc.e.Path, got, tc.want)
		}
	}
}
