package views

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"fyne.io/fyne/v2/widget"

	"github.com/wimconsole/wimconsole/app"
	"github.com/wimconsole/wimconsole/engine/servicing/hive"
	"github.com/wimconsole/wimconsole/engine/servicing/hive/hivetest"
	"github.com/wimconsole/wimconsole/engine/store"
	"github.com/wimconsole/wimconsole/engine/wim"
	"github.com/wimconsole/wimconsole/internal/oracle"
	"github.com/wimconsole/wimconsole/internal/testtree"
)

// hiveImageFiles is the content of the image with registry hives.
var hiveImageFiles = map[string]string{
	"Windows/System32/config/SYSTEM": string(hivetest.Minimal("SYSTEM")),
	"Windows/System32/config/SAM":    string(hivetest.Minimal("SAM")),
	"Windows/System32/kernel.dll":    strings.Repeat("kernel code\n", 1000),
	"Users/Bob/NTUSER.DAT":           string(hivetest.Minimal("USER")),
}

// serviceHiveImage adds group Reg with one disabled image holding
// hiveImageFiles to the fixture's store, opens Service Image… on it, then
// Registry…, and returns the editor (showing SYSTEM) and the image. It
// skips when this build cannot edit hives (no cgo or libhivex).
func (f *fixture) serviceHiveImage(t *testing.T) (*registryEditor, store.ImageRef) {
	t.Helper()
	if _, err := hive.OpenBytes("probe", hivetest.Minimal("probe"), hive.Options{}); errors.Is(err, hive.ErrUnsupported) {
		t.Skip(err)
	}
	dir := testtree.Write(t, t.TempDir(), hiveImageFiles)
	src := filepath.Join(t.TempDir(), "hives.wim")
	ctx := context.Background()
	if _, err := wim.Capture(ctx, dir, src, wim.CaptureOptions{Name: "Hive Image"}); err != nil {
		t.Fatal(err)
	}
	refs, err := storeOf(f.srv).AddImage(ctx, src, store.AddOptions{Group: "Reg"})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.srv.SetEnabled(ctx, refs[0], false); err != nil {
		t.Fatal(err)
	}
	f.c.Refresh()
	f.c.settle()
	f.do(t, app.ImageID(f.srv, refs[0]), "Service Image…")
	f.browser(t)
	tapButton(t, f.c, "Registry…")
	e := f.registry(t)
	if e.name != "SYSTEM" || e.view == nil {
		t.Fatalf("the editor shows %q (%q)", e.name, overlayText(f.c))
	}
	if txt := overlayText(f.c); !strings.Contains(txt, "Registry – Hive Image") || !strings.Contains(txt, "SYSTEM") {
		t.Fatalf("the editor shows %q", txt)
	}
	return e, refs[0]
}

// registry returns the open registry editor.
func (f *fixture) registry(t *testing.T) *registryEditor {
	t.Helper()
	e, ok := f.c.current.(*registryEditor)
	if !ok {
		t.Fatalf("no registry editor is current: %T %q", f.c.current, overlayText(f.c))
	}
	return e
}

// setValue fills in and submits the Set Value… form of the editor.
func (f *fixture) setValue(t *testing.T, name, typ, data string) {
	t.Helper()
	tapButton(t, f.c, "Set Value…")
	form, ok := f.c.current.(*setValueForm)
	if !ok {
		t.Fatalf("Set Value… opened %T (%q)", f.c.current, overlayText(f.c))
	}
	form.name.SetText(name)
	form.typ.SetSelected(typ)
	form.data.SetText(data)
	tapButton(t, f.c, "Set")
}

// shownValue returns the Data column of the value named name of the key
// shown, failing when it is not shown.
func shownValue(t *testing.T, e *registryEditor, name string) string {
	t.Helper()
	for _, v := range e.values {
		if strings.EqualFold(v.Name, name) {
			return valueColumns(v)[2]
		}
	}
	t.Fatalf("value %s not shown in %s: %v", name, e.key, e.values)
	return ""
}

func TestRegistryEditorEditCommit(t *testing.T) {
	hivexget := oracle.Need(t, "hivexget")
	oracle.Wimlib(t)
	f := newFixture(t)
	e, ref := f.serviceHiveImage(t)
	b := e.b
	ss := b.ss

	// New Key… under the root.
	if e.key != hiveRootID {
		t.Fatalf("the root is not selected: %q", e.key)
	}
	tapButton(t, f.c, "New Key…")
	nd := f.c.current.(*nameDialog)
	nd.entry.SetText("Contoso")
	nd.submit()
	f.c.settle()
	if e.key != `\Contoso` || strings.Join(e.kids[hiveRootID], ",") != `\Contoso` {
		t.Fatalf("after New Key… the editor selects %q, root has %v (%q)", e.key, e.kids[hiveRootID], overlayText(f.c))
	}
	if f.registry(t) != e {
		t.Fatal("the editor is not current after New Key…")
	}

	// Set Value… of a REG_DWORD and a REG_SZ.
	f.setValue(t, "Level", "REG_DWORD", "0x10")
	f.setValue(t, "Name", "REG_SZ", "WIM Console")
	if got := shownValue(t, e, "Level"); got != "0x10 (16)" {
		t.Errorf("Level shows %q", got)
	}
	if got := shownValue(t, e, "Name"); got != "WIM Console" {
		t.Errorf("Name shows %q", got)
	}
	if txt := overlayText(f.c); !strings.Contains(txt, "0x10 (16)") || !strings.Contains(txt, "REG_DWORD") || !strings.Contains(txt, `HKEY_LOCAL_MACHINE\SYSTEM\Contoso`) {
		t.Errorf("the values table shows %q", txt)
	}
	// Selecting a value prefills the form; changing it replaces it.
	for i, v := range e.values {
		if v.Name == "Level" {
			e.table.Select(widget.TableCellID{Row: i})
		}
	}
	tapButton(t, f.c, "Set Value…")
	form := f.c.current.(*setValueForm)
	if form.name.Text != "Level" || form.typ.Selected != "REG_DWORD" || form.data.Text != "16" {
		t.Errorf("the form for Level holds %q %q %q", form.name.Text, form.typ.Selected, form.data.Text)
	}
	form.data.SetText("7")
	tapButton(t, f.c, "Set")
	if got := shownValue(t, e, "Level"); got != "0x7 (7)" {
		t.Errorf("Level shows %q after the change", got)
	}

	// A REG_MULTI_SZ (one string a line), then Delete Value after a
	// confirmation naming it.
	f.setValue(t, "Gone", "REG_MULTI_SZ", "a\nb")
	if got := shownValue(t, e, "Gone"); got != `a\0b` {
		t.Errorf("Gone shows %q", got)
	}
	for i, v := range e.values {
		if v.Name == "Gone" {
			e.table.Select(widget.TableCellID{Row: i})
		}
	}
	tapButtonNoWait(t, f.c, "Delete Value")
	if txt := overlayText(f.c); !strings.Contains(txt, `Gone of HKEY_LOCAL_MACHINE\SYSTEM\Contoso`) {
		t.Fatalf("the confirmation does not name the value: %q", txt)
	}
	tapButton(t, f.c, "Delete")
	for _, v := range e.values {
		if v.Name == "Gone" {
			t.Fatal("Gone still shown after Delete Value")
		}
	}

	// A key added, then deleted after a confirmation naming it.
	tapButton(t, f.c, "New Key…")
	nd = f.c.current.(*nameDialog)
	nd.entry.SetText(`Temp\Sub`)
	nd.submit()
	f.c.settle()
	if e.key != `\Contoso\Temp\Sub` {
		t.Fatalf("after New Key… Temp\\Sub the editor selects %q", e.key)
	}
	e.tree.Select(`\Contoso\Temp`)
	f.c.settle()
	tapButtonNoWait(t, f.c, "Delete Key")
	if txt := overlayText(f.c); !strings.Contains(txt, `HKEY_LOCAL_MACHINE\SYSTEM\Contoso\Temp`) {
		t.Fatalf("the confirmation does not name the key: %q", txt)
	}
	tapButton(t, f.c, "Delete")
	if e.key != `\Contoso` || strings.Join(e.kids[`\Contoso`], ",") != "" {
		t.Fatalf("after Delete Key the editor selects %q, Contoso has %v", e.key, e.kids[`\Contoso`])
	}

	// Import .reg…: the SOFTWARE key is skipped.
	reg := filepath.Join(t.TempDir(), "x.reg")
	os.WriteFile(reg, []byte("Windows Registry Editor Version 5.00\r\n\r\n"+
		"[HKEY_LOCAL_MACHINE\\SYSTEM\\Contoso]\r\n\"Imported\"=\"yes\"\r\n\r\n"+
		"[HKEY_LOCAL_MACHINE\\SOFTWARE\\Other]\r\n\"x\"=dword:00000001\r\n"), 0o644)
	f.dlg.files = []string{reg}
	tapButton(t, f.c, "Import .reg…")
	if txt := overlayText(f.c); !strings.Contains(txt, "imported 2 operations; skipped 2") {
		t.Fatalf("import says %q", txt)
	}
	tapButton(t, f.c, "OK")
	if got := shownValue(t, e, "Imported"); got != "yes" {
		t.Errorf("Imported shows %q", got)
	}

	// Each edit replaced the hive; the browser's change list shows it.
	tapButton(t, f.c, "Close")
	if f.browser(t) != b {
		t.Fatal("the browser is not current after the editor closed")
	}
	if len(b.changes) == 0 || len(b.changes) != len(ss.Changes) {
		t.Fatalf("change list %v, session %v", b.changes, ss.Changes)
	}
	for _, c := range b.changes {
		if c.String() != "replace /Windows/System32/config/SYSTEM" {
			t.Errorf("unexpected change %s", c)
		}
	}
	if txt := overlayText(f.c); !strings.Contains(txt, "replace /Windows/System32/config/SYSTEM") {
		t.Errorf("the change list shows %q", txt)
	}

	tapButtonNoWait(t, f.c, "Commit…")
	tapButton(t, f.c, "Commit")
	f.c.jobs.Wait()
	f.c.settle()
	dir := filepath.Join(t.TempDir(), "applied")
	oracle.Run(t, "apply", storeOf(f.srv).ImagePath(ref), "1", dir, "--ref="+storeOf(f.srv).ResPath("Reg"))
	hv := filepath.Join(dir, "Windows", "System32", "config", "SYSTEM")
	get := func(args ...string) string {
		out, err := exec.Command(hivexget, append([]string{hv}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("hivexget %q: %v\n%s", args, err, out)
		}
		return strings.TrimRight(string(out), "\n")
	}
	for _, c := range []struct{ key, val, want string }{
		{`\Contoso`, "Level", "7"},
		{`\Contoso`, "Name", "WIM Console"},
		{`\Contoso`, "Imported", "yes"},
	} {
		if got := get(c.key, c.val); got != c.want {
			t.Errorf("hivexget %s %s = %q, want %q", c.key, c.val, got, c.want)
		}
	}
	if got := get(`\Contoso`); strings.Contains(got, "Temp") || strings.Contains(got, "Gone") {
		t.Errorf("committed Contoso holds %q", got)
	}
	if got := get(`\`); strings.Contains(got, "Other") {
		t.Errorf("the SOFTWARE key of the .reg went into SYSTEM: %q", got)
	}
	if sam, _ := os.ReadFile(filepath.Join(dir, "Windows", "System32", "config", "SAM")); string(sam) != hiveImageFiles["Windows/System32/config/SAM"] {
		t.Error("SAM changed")
	}
}

func TestRegistryEditorRefusals(t *testing.T) {
	f := newFixture(t)
	e, _ := f.serviceHiveImage(t)
	ss := e.ss

	// Data that is not a REG_DWORD: an error dialog, nothing staged.
	f.setValue(t, "Bad", "REG_DWORD", "lots")
	if txt := overlayText(f.c); !strings.Contains(txt, "Set Value failed") || !strings.Contains(txt, `REG_DWORD "lots"`) {
		t.Fatalf("bad REG_DWORD gave %q", txt)
	}
	tapButton(t, f.c, "OK")
	if len(ss.Changes) != 0 || len(e.b.changes) != 0 {
		t.Fatalf("bad REG_DWORD staged %v", ss.Changes)
	}
	if len(e.values) != 0 {
		t.Fatalf("bad REG_DWORD shows values %v", e.values)
	}

	// SAM opens read-only: its values can be read, nothing edited.
	e.hives.SetSelected("SAM")
	f.c.settle()
	if e.name != "SAM" || e.key != hiveRootID || !e.info.ReadOnly {
		t.Fatalf("after choosing SAM the editor shows %q %q", e.name, e.key)
	}
	for _, b := range []struct {
		label string
		on    bool
	}{{"New Key…", e.newKey.Disabled()}, {"Delete Key", e.delKey.Disabled()}, {"Set Value…", e.setValue.Disabled()},
		{"Delete Value", e.delValue.Disabled()}, {"Import .reg…", e.doImport.Disabled()}} {
		if !b.on {
			t.Errorf("%s is enabled on SAM", b.label)
		}
	}
	if txt := overlayText(f.c); !strings.Contains(txt, "SAM is read-only") {
		t.Errorf("the editor does not say SAM is read-only: %q", txt)
	}
	// SYSTEM again: editable.
	e.hives.SetSelected("SYSTEM")
	f.c.settle()
	if e.name != "SYSTEM" || e.newKey.Disabled() || e.doImport.Disabled() || !e.delKey.Disabled() {
		t.Errorf("SYSTEM buttons: new key %v, import %v, delete root %v", !e.newKey.Disabled(), !e.doImport.Disabled(), !e.delKey.Disabled())
	}

	// A user's hive, by its image path: editable.
	e.user.SetText(`\Users\Bob\NTUSER.DAT`)
	tapButton(t, f.c, "Open User Hive")
	if e.name != `\Users\Bob\NTUSER.DAT` || e.info.Root != "HKEY_CURRENT_USER" || e.newKey.Disabled() || e.hives.Selected != "" {
		t.Fatalf("NTUSER.DAT: editor shows %q (%q)", e.name, overlayText(f.c))
	}
	if got := e.nodeLabel(hiveRootID); got != `\Users\Bob\NTUSER.DAT` {
		t.Errorf("the tree names the user hive %q", got)
	}

	// A user hive that is not in the image: an error, nothing staged.
	e.user.SetText(`\Users\Nobody\NTUSER.DAT`)
	tapButton(t, f.c, "Open User Hive")
	if txt := overlayText(f.c); !strings.Contains(txt, "no such file") {
		t.Fatalf("missing NTUSER.DAT gave %q", txt)
	}
	tapButton(t, f.c, "OK")
	if e.name != `\Users\Bob\NTUSER.DAT` || e.want != e.name {
		t.Fatalf("after the missing hive the editor shows %q, wants %q", e.name, e.want)
	}
	if len(ss.Changes) != 0 {
		t.Fatalf("refusals staged %v", ss.Changes)
	}
	// Edits still show after a hive failed to open.
	f.setValue(t, "After", "REG_SZ", "x")
	if got := shownValue(t, e, "After"); got != "x" || len(ss.Changes) != 1 {
		t.Fatalf("After shows %q; session %v", got, ss.Changes)
	}
}
