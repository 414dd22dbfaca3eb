package views

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wimconsole/wimconsole/app"
	"github.com/wimconsole/wimconsole/engine/servicing"
	"github.com/wimconsole/wimconsole/engine/servicing/inf/inftest"
	"github.com/wimconsole/wimconsole/engine/store"
	"github.com/wimconsole/wimconsole/engine/store/storetest"
	"github.com/wimconsole/wimconsole/engine/unattend"
	"github.com/wimconsole/wimconsole/internal/oracle"
)

// addDriver runs Add Driver Package… on node id with the package folder
// pkg: the form is shown with the folder's name, set is called on it,
// then Add is tapped and the job waited for.
func (f *fixture) addDriver(t *testing.T, id, pkg string, set func(*driverForm)) {
	t.Helper()
	f.c.dialogs = &folderDialogs{fakeDialogs: f.dlg, folder: pkg}
	f.do(t, id, "Add Driver Package…")
	form, ok := f.c.current.(*driverForm)
	if !ok {
		t.Fatalf("Add Driver Package… opened %T: %q", f.c.current, overlayText(f.c))
	}
	if form.name.Text != filepath.Base(pkg) {
		t.Errorf("package name %q, want the folder's name %q", form.name.Text, filepath.Base(pkg))
	}
	if set != nil {
		set(form)
	}
	tapButton(t, f.c, "Add")
	f.c.jobs.Wait()
	f.c.settle()
}

// amd64 picks the amd64 architecture (the test images do not record one).
func amd64(form *driverForm) { form.arch.SetSelected("amd64") }

// driverResultText returns the text of the result dialog.
func (f *fixture) driverResultText(t *testing.T) string {
	t.Helper()
	res, ok := f.c.current.(*driverResult)
	if !ok {
		t.Fatalf("no driver result shown: %T %q", f.c.current, overlayText(f.c))
	}
	txt := overlayText(f.c)
	if !strings.Contains(txt, "staged for") || strings.Contains(strings.ToLower(txt), "inject") {
		t.Errorf("the result must say staged, never injected: %q", txt)
	}
	if !strings.Contains(txt, res.text) {
		t.Errorf("the dialog does not show the result text %q: %q", res.text, txt)
	}
	return txt
}

// noSession fails when image r has a servicing session.
func (f *fixture) noSession(t *testing.T, r store.ImageRef) {
	t.Helper()
	if _, err := servicing.ForImage(storeOf(f.srv), r); !errors.Is(err, servicing.ErrNoSession) {
		t.Fatalf("image %s has a servicing session: %v", r, err)
	}
}

// hasDrivers reports whether image r has a \Drivers folder.
func (f *fixture) hasDrivers(t *testing.T, r store.ImageRef) bool {
	t.Helper()
	es, err := f.srv.ListFiles(context.Background(), r, "/")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		if e.Path == "/Drivers" {
			return true
		}
	}
	return false
}

func TestAddDriverPackageCommitted(t *testing.T) {
	oracle.Wimlib(t)
	ctx := context.Background()
	f := newFixture(t)
	r := f.refs[0]
	pkg := inftest.Write(t, "contoso", inftest.Files("contoso"))

	// An enabled image is refused, as Service Image… refuses it.
	f.c.dialogs = &folderDialogs{fakeDialogs: f.dlg, folder: pkg}
	f.do(t, app.ImageID(f.srv, r), "Add Driver Package…")
	if txt := overlayText(f.c); !strings.Contains(txt, "WDS requires") {
		t.Fatalf("no message for an enabled image: %q", txt)
	}
	f.noSession(t, r)

	// No session: committed at once.
	f.addDriver(t, f.disable(t, 0), pkg, amd64)
	txt := f.driverResultText(t)
	for _, want := range []string{"staged for Windows Setup", "contoso.inf", `\Drivers\contoso`, "Files copied: 3",
		`DriverPaths entry added to ImageUnattend.xml: C:\Drivers\contoso`, "Committed to the image."} {
		if !strings.Contains(txt, want) {
			t.Errorf("result does not say %q: %q", want, txt)
		}
	}
	f.noSession(t, r)
	dir := filepath.Join(t.TempDir(), "applied")
	oracle.Run(t, "apply", storeOf(f.srv).ImagePath(r), "1", dir, "--ref="+storeOf(f.srv).ResPath("Lab"))
	if got := strings.Join(files(t, dir), ","); got != "Drivers/contoso/contoso.cat,Drivers/contoso/contoso.inf,Drivers/contoso/contoso.sys,Windows/own.txt,Windows/system32/kernel.dll" {
		t.Fatalf("committed image holds %s", got)
	}
	for name, data := range inftest.Files("contoso") {
		if got, _ := os.ReadFile(filepath.Join(dir, "Drivers", "contoso", name)); string(got) != data {
			t.Errorf("%s holds %q", name, got)
		}
	}
	doc, err := servicing.ImageUnattend(ctx, storeOf(f.srv), r)
	if err != nil || doc == nil {
		t.Fatalf("unattend after commit: %q %v", doc, err)
	}
	if dp, err := unattend.DriverPaths(doc); err != nil || len(dp) != 1 || dp[0].Path != `C:\Drivers\contoso` || dp[0].Arch != "amd64" {
		t.Fatalf("driver paths %+v %v", dp, err)
	}
	// The image's Properties say the new unattend file is valid.
	f.do(t, app.ImageID(f.srv, r), "Properties")
	p := f.c.current.(*imageProperties)
	if p.validity.Text != app.UnattendValid || p.validity.Hidden {
		t.Fatalf("unattend status %q", p.validity.Text)
	}

	// A boot image loads the package with drvload at start.
	boot := f.refs[2]
	f.addDriver(t, f.disable(t, 2), pkg, func(form *driverForm) {
		if form.arch != nil || form.setupPath != nil {
			t.Error("the boot image form asks for an architecture or a Setup path")
		}
	})
	txt = f.driverResultText(t)
	if !strings.Contains(txt, "staged for WinPE") || !strings.Contains(txt, `drvload X:\Drivers\contoso\contoso.inf`) || !strings.Contains(txt, "Committed") {
		t.Fatalf("boot result %q", txt)
	}
	es, err := f.srv.ListFiles(ctx, boot, "/Drivers/contoso")
	if err != nil || len(es) != 3 {
		t.Fatalf("boot image drivers %v %v", entryPaths(es), err)
	}
}

func TestAddDriverPackageStagedInSession(t *testing.T) {
	f := newFixture(t)
	r := f.refs[0]
	id := f.disable(t, 0)
	f.do(t, id, "Service Image…")
	ss := f.browser(t).ss
	tapButton(t, f.c, "Close") // the session stays open

	pkg := inftest.Write(t, "fabrikam", inftest.Files("fabrikam"))
	f.addDriver(t, id, pkg, amd64)
	txt := f.driverResultText(t)
	if !strings.Contains(txt, "Staged in the image's servicing session "+ss.ID) || !strings.Contains(txt, "Service Image…") || strings.Contains(txt, "Committed") {
		t.Fatalf("result %q", txt)
	}
	if f.hasDrivers(t, r) {
		t.Fatal("the staged package is already in the image")
	}
	// The session's change list shows it.
	tapButton(t, f.c, "Close")
	f.do(t, id, "Service Image…")
	b := f.browser(t)
	if b.ss.ID != ss.ID || !b.ss.Unattend {
		t.Fatalf("session %s (unattend staged %v), want %s", b.ss.ID, b.ss.Unattend, ss.ID)
	}
	var changes []string
	for _, c := range b.changes {
		changes = append(changes, c.String())
	}
	if got := strings.Join(changes, ","); got != "add /Drivers/fabrikam" {
		t.Fatalf("change list %s", got)
	}
	if !strings.Contains(overlayText(f.c), "add /Drivers/fabrikam") {
		t.Fatalf("the browser does not show the change: %q", overlayText(f.c))
	}
	b.open("/Drivers/fabrikam")
	f.c.settle()
	if len(b.entries) != 3 {
		t.Fatalf("the serviced tree lists %v", entryPaths(b.entries))
	}
}

func TestAddDriverPackageRefused(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	r := f.refs[0]
	id := f.disable(t, 0)
	unchanged := func(what string) {
		t.Helper()
		f.noSession(t, r)
		if f.hasDrivers(t, r) {
			t.Fatalf("%s: the image has a \\Drivers folder", what)
		}
		if doc, err := servicing.ImageUnattend(ctx, storeOf(f.srv), r); doc != nil || err != nil {
			t.Fatalf("%s: the image has an unattend file: %q %v", what, doc, err)
		}
	}

	bad := inftest.Write(t, "broken", map[string]string{"broken.inf": inftest.Malformed, "broken.sys": "x"})
	f.addDriver(t, id, bad, amd64)
	if txt := overlayText(f.c); !strings.Contains(txt, "failed") || !strings.Contains(txt, "broken.inf") {
		t.Fatalf("no error for a malformed INF: %q", txt)
	}
	if _, ok := f.c.current.(*driverResult); ok {
		t.Fatal("a result was shown for a refused package")
	}
	unchanged("malformed INF")

	good := inftest.Write(t, "contoso", inftest.Files("contoso"))
	f.addDriver(t, id, good, func(form *driverForm) {
		amd64(form)
		form.name.SetText("..")
	})
	if txt := overlayText(f.c); !strings.Contains(txt, "failed") || !strings.Contains(txt, "..") {
		t.Fatalf("no error for the name ..: %q", txt)
	}
	unchanged("name ..")

	// Within a session, a refused package stages nothing.
	f.do(t, id, "Service Image…")
	ss := f.browser(t).ss
	tapButton(t, f.c, "Close")
	f.addDriver(t, id, bad, amd64)
	if txt := overlayText(f.c); !strings.Contains(txt, "failed") {
		t.Fatalf("no error for a malformed INF in a session: %q", txt)
	}
	again, err := servicing.ForImage(storeOf(f.srv), r)
	if err != nil || again.ID != ss.ID || len(again.Changes) != 0 || again.Unattend {
		t.Fatalf("session after a refused package: %+v %v", again, err)
	}
}

// selectTab shows the tab named name of the Properties.
func (p *imageProperties) selectTab(t *testing.T, name string) {
	t.Helper()
	for _, it := range p.tabs.Items {
		if it.Text == name {
			p.tabs.Select(it)
			return
		}
	}
	t.Fatalf("no tab %q", name)
}

func TestLanguagePacksInProperties(t *testing.T) {
	f := newFixture(t)
	r := f.refs[0]
	id := app.ImageID(f.srv, r)
	f.do(t, id, "Properties")
	p := f.c.current.(*imageProperties)
	p.selectTab(t, "Language Packs")
	if txt := overlayText(f.c); !strings.Contains(txt, "No language pack") {
		t.Fatalf("language packs tab %q", txt)
	}

	// Add… two packs.
	f.dlg.files = []string{storetest.Cab(t, t.TempDir(), "fr-fr.cab", 2048), storetest.Cab(t, t.TempDir(), "de-de.cab", 100)}
	tapButton(t, f.c, "Add…")
	f.c.jobs.Wait()
	f.c.settle()
	if names, err := storeOf(f.srv).LanguagePacks(r); err != nil || strings.Join(names, ",") != "de-de.cab,fr-fr.cab" {
		t.Fatalf("store packs %v %v (%q)", names, err, overlayText(f.c))
	}
	if len(p.packs) != 2 || p.packs[0] != (app.LangPack{Name: "de-de.cab", Bytes: 100}) || p.packs[1].Name != "fr-fr.cab" {
		t.Fatalf("listed packs %+v", p.packs)
	}
	txt := overlayText(f.c)
	for _, want := range []string{"2 language pack(s)", "de-de.cab", "fr-fr.cab", app.FormatBytes(2048)} {
		if !strings.Contains(txt, want) {
			t.Errorf("the tab does not show %q: %q", want, txt)
		}
	}

	// Not a cabinet: an error, nothing added.
	notCab := filepath.Join(t.TempDir(), "it-it.cab")
	os.WriteFile(notCab, []byte("not a cabinet"), 0o644)
	f.dlg.files = []string{notCab}
	tapButton(t, f.c, "Add…")
	f.c.jobs.Wait()
	f.c.settle()
	if txt := overlayText(f.c); !strings.Contains(txt, "failed") || !strings.Contains(txt, "MSCF") {
		t.Fatalf("no error for a file that is not a cabinet: %q", txt)
	}
	if names, _ := storeOf(f.srv).LanguagePacks(r); len(names) != 2 {
		t.Fatalf("store packs after a refused file: %v", names)
	}

	// Remove asks first; Cancel keeps the pack.
	f.c.current = p
	p.packList.Select(1)
	p.removeLangPack()
	if txt := overlayText(f.c); !strings.Contains(txt, "fr-fr.cab") {
		t.Fatalf("confirmation %q", txt)
	}
	tapButton(t, f.c, "Cancel")
	if names, _ := storeOf(f.srv).LanguagePacks(r); len(names) != 2 {
		t.Fatal("a cancelled remove removed the pack")
	}
	p.packList.Select(1)
	p.removeLangPack()
	tapButton(t, f.c, "Remove")
	f.c.jobs.Wait()
	f.c.settle()
	if names, _ := storeOf(f.srv).LanguagePacks(r); strings.Join(names, ",") != "de-de.cab" {
		t.Fatalf("store packs after remove: %v", names)
	}
	if len(p.packs) != 1 || p.packs[0].Name != "de-de.cab" {
		t.Fatalf("listed packs after remove %+v", p.packs)
	}

	// Boot images have no language packs.
	f.do(t, app.ImageID(f.srv, f.refs[2]), "Properties")
	for _, it := range f.c.current.(*imageProperties).tabs.Items {
		if it.Text == "Language Packs" {
			t.Fatal("a boot image has a Language Packs tab")
		}
	}
}

func TestUnattendValidationInProperties(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	r := f.refs[0]
	id := app.ImageID(f.srv, r)
	good := filepath.Join(t.TempDir(), "unattend.xml")
	os.WriteFile(good, []byte(`<?xml version="1.0"?><unattend xmlns="urn:schemas-microsoft-com:unattend"/>`), 0o644)
	if err := f.srv.SetUnattend(ctx, r, good); err != nil {
		t.Fatal(err)
	}
	f.do(t, id, "Properties")
	p := f.c.current.(*imageProperties)
	p.selectTab(t, "Unattend")
	if txt := overlayText(f.c); !strings.Contains(txt, app.UnattendValid) {
		t.Fatalf("unattend tab of a valid file: %q", txt)
	}

	// An invalid file put in the image's folder by hand.
	path, err := f.srv.UnattendPath(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	bad := "<?xml version=\"1.0\"?>\n<unattend xmlns=\"urn:schemas-microsoft-com:unattend\">\n  <settings pass=\"bogus\"/>\n</unattend>\n"
	if err := os.WriteFile(path, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	f.do(t, id, "Properties")
	p = f.c.current.(*imageProperties)
	p.selectTab(t, "Unattend")
	txt := overlayText(f.c)
	if strings.Contains(txt, app.UnattendValid) || !strings.Contains(txt, "ImageUnattend.xml:3:3") || !strings.Contains(txt, `unknown pass "bogus"`) {
		t.Fatalf("unattend tab of an invalid file: %q", txt)
	}

	// No unattend file: no status.
	f.do(t, app.ImageID(f.srv, f.refs[1]), "Properties")
	if p := f.c.current.(*imageProperties); !p.validity.Hidden {
		t.Fatalf("status shown without an unattend file: %q", p.validity.Text)
	}
}
