package views

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/wimconsole/wimconsole/app"
)

// hiveRootID is the tree node of a hive's root key; every other key's node ID
// is `\` followed by its path below the root.
const hiveRootID = `\`

// keyNodeID returns the tree node ID of the key at path.
func keyNodeID(path string) string { return hiveRootID + path }

// nodeKeyPath returns the path below the root of the key of node id.
func nodeKeyPath(id string) string { return strings.TrimPrefix(id, hiveRootID) }

// parentKeyNode returns the node ID of the parent key of node id (the root
// for the root).
func parentKeyNode(id string) string {
	p := nodeKeyPath(id)
	return keyNodeID(p[:max(strings.LastIndexByte(p, '\\'), 0)])
}

// registryEditor is the Registry dialog of a servicing session: a hive
// chooser, the hive's keys as a tree loaded as branches open, the values of
// the selected key, and buttons that stage edits in the session (each edit
// replaces the hive file, which the browser's change list then shows).
//
// Everything that reads the image or the hive runs off the main goroutine;
// the fields below mu are the main goroutine's.
type registryEditor struct {
	c  *Console
	b  *fileBrowser
	ss *app.Session

	// mu serialises the editor's use of the session (opening a hive,
	// staging an edit): a Session is used by one goroutine at a time.
	mu sync.Mutex

	shut   bool                // the dialog was closed
	want   string              // the hive asked for last
	name   string              // the hive shown, as app.LookupHive takes it
	info   app.HiveInfo        // where it is, whether it is read-only
	view   *app.LoadedHive     // the hive shown, open read-only; nil before one opens
	kids   map[string][]string // node ID -> child node IDs, for the keys loaded
	key    string              // the selected node ("" none)
	values []app.HiveValue     // the selected key's values, as shown
	valSel int                 // the selected value's row, -1 for none

	dlg      dialog.Dialog
	hives    *widget.Select
	user     *widget.Entry
	note     *widget.Label
	path     *widget.Label
	tree     *widget.Tree
	table    *widget.Table
	newKey   *widget.Button
	delKey   *widget.Button
	setValue *widget.Button
	delValue *widget.Button
	doImport *widget.Button
}

// openRegistry opens the registry editor on the browser's servicing
// session, showing the SYSTEM hive.
func (b *fileBrowser) openRegistry() {
	if b.ss == nil {
		return
	}
	e := &registryEditor{c: b.c, b: b, ss: b.ss, valSel: -1}
	e.show("Registry – " + b.label)
}

// show builds and shows the dialog.
func (e *registryEditor) show(title string) {
	e.hives = widget.NewSelect(app.RegistryHives, func(s string) {
		if s != "" {
			e.openHive(s)
		}
	})
	e.user = widget.NewEntry()
	e.user.SetPlaceHolder(`User hive: \Users\Name\NTUSER.DAT`)
	e.user.OnSubmitted = func(string) { e.openUserHive() }
	e.note = widget.NewLabel("")
	e.note.Wrapping = fyne.TextWrapWord
	e.path = widget.NewLabel("")
	e.path.Truncation = fyne.TextTruncateEllipsis

	e.tree = widget.NewTree(e.childIDs, e.isBranch,
		func(bool) fyne.CanvasObject { return widget.NewLabel("") },
		func(id widget.TreeNodeID, _ bool, o fyne.CanvasObject) { o.(*widget.Label).SetText(e.nodeLabel(id)) })
	e.tree.OnSelected = e.selectKey
	e.tree.OnBranchOpened = e.branchOpened

	e.table = widget.NewTableWithHeaders(
		func() (int, int) { return len(e.values), 3 },
		func() fyne.CanvasObject {
			l := widget.NewLabel("")
			l.Truncation = fyne.TextTruncateEllipsis
			return l
		},
		func(id widget.TableCellID, o fyne.CanvasObject) {
			text := ""
			if id.Row >= 0 && id.Row < len(e.values) && id.Col >= 0 && id.Col < 3 {
				text = valueColumns(e.values[id.Row])[id.Col]
			}
			o.(*widget.Label).SetText(text)
		})
	e.table.ShowHeaderColumn = false
	e.table.CreateHeader = func() fyne.CanvasObject { return widget.NewLabel("") }
	e.table.UpdateHeader = func(id widget.TableCellID, o fyne.CanvasObject) {
		text := ""
		if id.Row < 0 && id.Col >= 0 && id.Col < 3 {
			text = [3]string{"Name", "Type", "Data"}[id.Col]
		}
		o.(*widget.Label).SetText(text)
	}
	for col, w := range []float32{200, 170, 360} {
		e.table.SetColumnWidth(col, w)
	}
	e.table.OnSelected = func(id widget.TableCellID) {
		e.valSel = id.Row
		e.updateButtons()
	}
	e.table.OnUnselected = func(widget.TableCellID) {
		e.valSel = -1
		e.updateButtons()
	}

	e.newKey = widget.NewButton("New Key…", e.askNewKey)
	e.delKey = widget.NewButton("Delete Key", e.deleteKey)
	e.setValue = widget.NewButton("Set Value…", e.askSetValue)
	e.delValue = widget.NewButton("Delete Value", e.deleteValue)
	e.doImport = widget.NewButton("Import .reg…", e.importReg)
	e.updateButtons()

	chooser := container.NewBorder(nil, nil,
		container.NewHBox(widget.NewLabel("Hive"), e.hives),
		widget.NewButton("Open User Hive", e.openUserHive), e.user)
	top := container.NewVBox(chooser, e.note, e.path)
	buttons := container.NewHBox(e.newKey, e.delKey, e.setValue, e.delValue, e.doImport)
	split := container.NewHSplit(e.tree, e.table)
	split.Offset = 0.35
	content := container.NewBorder(top, buttons, nil, nil, split)

	e.dlg = dialog.NewCustom(title, "Close", content, e.c.Window)
	e.dlg.SetOnClosed(e.closed)
	e.dlg.Resize(fyne.NewSize(980, 620))
	e.dlg.Show()
	e.c.current = e
	e.hives.SetSelected("SYSTEM")
}

// closed releases the hive shown and gives the browser back to tests.
func (e *registryEditor) closed() {
	e.shut = true
	e.closeView(e.view)
	e.view = nil
	e.c.current = e.b
}

// closeView closes v (if not nil) off the main goroutine.
func (e *registryEditor) closeView(v *app.LoadedHive) {
	if v == nil {
		return
	}
	e.c.background(func() func() {
		v.Close()
		return nil
	})
}

// openUserHive opens the NTUSER.DAT named in the user hive entry.
func (e *registryEditor) openUserHive() {
	p := strings.TrimSpace(e.user.Text)
	if p == "" {
		dialog.ShowInformation("Open User Hive", `Enter the image path of a user's NTUSER.DAT, such as \Users\Default\NTUSER.DAT.`, e.c.Window)
		return
	}
	e.hives.ClearSelected()
	e.openHive(p)
}

// openHive shows the hive name (see app.LookupHive), with the session's
// staged changes.
func (e *registryEditor) openHive(name string) {
	hi, err := app.LookupHive(name)
	if err != nil {
		e.c.showError("Open hive "+name, err)
		return
	}
	e.want = name
	e.c.background(func() func() {
		e.mu.Lock()
		s, err := loadHive(e.ss, name, nil, nil, hiveRootID)
		e.mu.Unlock()
		return func() {
			if err != nil && e.want == name {
				e.want = e.name // keep showing the hive shown
				e.hives.Selected = ""
				if slices.Contains(app.RegistryHives, e.name) {
					e.hives.Selected = e.name
				}
				e.hives.Refresh()
			}
			if err != nil {
				e.c.showError("Open hive "+name, err)
				return
			}
			if e.want != name || e.shut {
				e.closeView(s.view) // another hive was asked for, or the dialog closed
				return
			}
			e.name, e.info = name, hi
			e.tree.CloseAllBranches()
			e.display(s)
		}
	})
}

// display shows the snapshot s of the hive e.name: its keys, with the
// branches down to the selected key open, and the selected key's values.
func (e *registryEditor) display(s *hiveSnapshot) {
	if e.view != s.view {
		e.closeView(e.view)
	}
	e.view, e.kids, e.key, e.values, e.valSel = s.view, s.kids, s.sel, s.values, -1
	var up []string // the branches above the selected key, nearest first
	for id := s.sel; id != hiveRootID; {
		id = parentKeyNode(id)
		up = append(up, id)
	}
	e.tree.OpenBranch(hiveRootID)
	for i := len(up) - 1; i >= 0; i-- {
		e.tree.OpenBranch(up[i])
	}
	e.tree.Refresh()
	e.tree.Select(s.sel) // e.key is already s.sel: selectKey loads nothing
	e.table.UnselectAll()
	e.table.Refresh()
	if e.info.ReadOnly {
		e.note.SetText(e.hiveLabel() + " is read-only: SAM and SECURITY cannot be edited here.")
	} else {
		e.note.SetText("Edits are staged in the servicing session; commit them from the browser.")
	}
	e.showPath()
	e.updateButtons()
}

// hiveLabel names the hive shown.
func (e *registryEditor) hiveLabel() string {
	if e.info.Root == `HKEY_CURRENT_USER` {
		return strings.ReplaceAll(e.info.Path, "/", `\`) // a user's NTUSER.DAT
	}
	return strings.ToUpper(e.name)
}

// showPath shows the selected key's full path, as regedit's address bar.
func (e *registryEditor) showPath() {
	if e.key == "" {
		e.path.SetText("")
		return
	}
	e.path.SetText(e.fullPath(e.key))
}

// fullPath returns the key of node id as a running system names it
// (HKEY_LOCAL_MACHINE\SYSTEM\...).
func (e *registryEditor) fullPath(id string) string {
	return app.JoinKeyPath(e.info.Root, nodeKeyPath(id))
}

// updateButtons enables the edit buttons that apply: none on a read-only
// hive.
func (e *registryEditor) updateButtons() {
	editable := e.view != nil && !e.info.ReadOnly
	for b, on := range map[*widget.Button]bool{
		e.newKey:   editable && e.key != "",
		e.delKey:   editable && e.key != "" && e.key != hiveRootID,
		e.setValue: editable && e.key != "",
		e.delValue: editable && e.selectedValue() != nil,
		e.doImport: editable,
	} {
		if on {
			b.Enable()
		} else {
			b.Disable()
		}
	}
}

// childIDs returns the children of tree node id, as loaded so far.
func (e *registryEditor) childIDs(id widget.TreeNodeID) []widget.TreeNodeID {
	if id == "" {
		if e.view == nil {
			return nil
		}
		return []string{hiveRootID}
	}
	return e.kids[id]
}

// isBranch reports whether node id may have children: keys not loaded yet
// may.
func (e *registryEditor) isBranch(id widget.TreeNodeID) bool {
	kids, ok := e.kids[id]
	return id == "" || !ok || len(kids) > 0
}

// nodeLabel is the text of tree node id: the hive's name for the root.
func (e *registryEditor) nodeLabel(id widget.TreeNodeID) string {
	if id == hiveRootID {
		return e.hiveLabel()
	}
	p := nodeKeyPath(id)
	return p[strings.LastIndexByte(p, '\\')+1:]
}

// branchOpened loads the children of the keys that just came into view,
// so that the tree knows which of them are branches.
func (e *registryEditor) branchOpened(id widget.TreeNodeID) {
	var need []string
	for _, c := range append([]string{id}, e.kids[id]...) {
		if _, ok := e.kids[c]; !ok && c != "" {
			need = append(need, c)
		}
	}
	v := e.view
	if len(need) == 0 || v == nil {
		return
	}
	e.c.background(func() func() {
		kids, err := keyKids(v, need, false)
		return func() {
			if v != e.view {
				return
			}
			if err != nil {
				e.c.showError("Read "+e.fullPath(id), err)
				return
			}
			for k, ids := range kids {
				e.kids[k] = ids
			}
			e.tree.Refresh()
		}
	})
}

// selectKey shows the values of the key of node id.
func (e *registryEditor) selectKey(id widget.TreeNodeID) {
	if id == e.key {
		return
	}
	e.key, e.values, e.valSel = id, nil, -1
	e.table.UnselectAll()
	e.table.Refresh()
	e.showPath()
	e.updateButtons()
	v := e.view
	if v == nil {
		return
	}
	e.c.background(func() func() {
		vals, err := keyValues(v, id)
		return func() {
			if v != e.view || id != e.key {
				return
			}
			if err != nil {
				e.c.showError("Read "+e.fullPath(id), err)
				return
			}
			e.values = vals
			e.table.Refresh()
			e.updateButtons()
		}
	})
}

// selectedValue returns the selected value, or nil.
func (e *registryEditor) selectedValue() *app.HiveValue {
	if e.valSel < 0 || e.valSel >= len(e.values) {
		return nil
	}
	return &e.values[e.valSel]
}

// stage runs change (which stages edits in the session) off the main
// goroutine. When it staged something, the hive is shown again, with the
// node sel selected (its nearest existing parent if it is gone), the
// browser's change list is refreshed, and done (if any) runs. An error is
// shown as a dialog saying what failed.
func (e *registryEditor) stage(what, sel string, change func(ss *app.Session) error, done func()) {
	name := e.name
	var known, open []string
	for id := range e.kids {
		known = append(known, id)
		if e.tree.IsBranchOpen(id) {
			open = append(open, id)
		}
	}
	e.c.background(func() func() {
		e.mu.Lock()
		defer e.mu.Unlock()
		// A change that fails stages nothing (the session's methods
		// promise it), so there is nothing to show again.
		if err := change(e.ss); err != nil {
			return func() { e.c.showError(what, err) }
		}
		s, lerr := loadHive(e.ss, name, known, open, sel)
		return func() {
			e.b.open(e.b.dir)
			if lerr != nil {
				e.c.showError("Open hive "+name, lerr)
				return
			}
			if e.name != name || e.want != name || e.shut {
				e.closeView(s.view) // another hive is shown, or the dialog closed
				return
			}
			e.display(s)
			if done != nil {
				done()
			}
		}
	})
}

// editHive stages edit's change to the hive shown, which it is given the
// name of (see stage).
func (e *registryEditor) editHive(what, sel string, edit func(ctx context.Context, ss *app.Session, name string) error) {
	name := e.name
	e.stage(what, sel, func(ss *app.Session) error {
		return edit(context.Background(), ss, name)
	}, nil)
}

// askNewKey asks for a name and stages a new subkey of the selected key
// (a name with `\` makes the keys between too).
func (e *registryEditor) askNewKey() {
	parent := e.key
	if parent == "" {
		return
	}
	check := func(s string) error {
		if strings.Trim(strings.TrimSpace(s), `\`) == "" {
			return errors.New("enter a key name")
		}
		return nil
	}
	e.c.askName("New Key", "Name", "", check, func(name string) {
		e.c.current = e
		p := app.JoinKeyPath(nodeKeyPath(parent), strings.Trim(name, `\`))
		e.editHive("New Key "+name, keyNodeID(p), func(ctx context.Context, ss *app.Session, hv string) error {
			return app.AddRegistryKey(ctx, ss, hv, p)
		})
	})
}

// deleteKey asks, then stages deleting the selected key with everything
// below it.
func (e *registryEditor) deleteKey() {
	id := e.key
	if id == "" || id == hiveRootID {
		return
	}
	full := e.fullPath(id)
	e.c.confirm("Delete Key", "Delete the key "+full+" with all its subkeys and values?", "Delete", func() {
		e.c.current = e
		e.editHive("Delete "+full, parentKeyNode(id), func(ctx context.Context, ss *app.Session, hv string) error {
			return app.DeleteRegistryKey(ctx, ss, hv, nodeKeyPath(id))
		})
	})
}

// deleteValue asks, then stages deleting the selected value.
func (e *registryEditor) deleteValue() {
	v, id := e.selectedValue(), e.key
	if v == nil || id == "" {
		return
	}
	name := v.Name
	e.c.confirm("Delete Value", fmt.Sprintf("Delete the value %s of %s?", app.HiveValueName(name), e.fullPath(id)), "Delete", func() {
		e.c.current = e
		e.editHive("Delete value "+app.HiveValueName(name), id, func(ctx context.Context, ss *app.Session, hv string) error {
			return app.DeleteRegistryValue(ctx, ss, hv, nodeKeyPath(id), name)
		})
	})
}

// setValueForm is the Set Value… form (tests fill it in and submit it).
type setValueForm struct {
	name   *widget.Entry
	typ    *widget.Select
	data   *widget.Entry
	submit func()
}

// askSetValue asks for a value (prefilled from the selected one) and stages
// setting it in the selected key. Data that does not parse as its type is
// refused with a dialog, and nothing is staged.
func (e *registryEditor) askSetValue() {
	id := e.key
	if id == "" {
		return
	}
	f := &setValueForm{name: widget.NewEntry(), typ: widget.NewSelect(app.HiveValueTypes(), nil), data: widget.NewMultiLineEntry()}
	f.typ.SetSelected(app.HiveTypeSZ)
	f.data.SetPlaceHolder("REG_MULTI_SZ: one string a line; numbers: 42 or 0x2a; REG_BINARY: hex bytes")
	f.data.SetMinRowsVisible(3)
	if v := e.selectedValue(); v != nil {
		f.name.SetText(v.Name)
		if text, ok := app.HiveValueText(*v); ok {
			f.typ.SetSelected(v.Type.String())
			f.data.SetText(text)
		}
	}
	f.submit = func() {
		e.c.current = e
		v, err := app.ParseHiveValueText(f.name.Text, f.typ.Selected, f.data.Text)
		if err != nil {
			e.c.showError("Set Value", err)
			return
		}
		e.editHive("Set value "+app.HiveValueName(v.Name), id, func(ctx context.Context, ss *app.Session, hv string) error {
			return app.SetRegistryValue(ctx, ss, hv, nodeKeyPath(id), v)
		})
	}
	items := []*widget.FormItem{
		widget.NewFormItem("Key", widget.NewLabel(e.fullPath(id))),
		{Text: "Name", Widget: f.name, HintText: "empty for the key's default value"},
		widget.NewFormItem("Type", f.typ),
		widget.NewFormItem("Data", f.data),
	}
	d := dialog.NewForm("Set Value", "Set", "Cancel", items, func(ok bool) {
		if ok {
			f.submit()
		} else {
			e.c.current = e
		}
	}, e.c.Window)
	d.Resize(fyne.NewSize(560, 0))
	d.Show()
	e.c.current = f
}

// importReg asks for .reg files and stages applying them to the hive
// shown; operations on keys of other hives are skipped and counted.
func (e *registryEditor) importReg() {
	name, label := e.name, e.hiveLabel()
	if e.view == nil || e.info.ReadOnly {
		return
	}
	e.c.openFiles("Import .reg into "+label, []app.FileFilter{{Description: "Registration entries", Extensions: []string{"reg"}}}, func(files []string) {
		applied, skipped := 0, 0
		e.stage("Import .reg", e.key, func(ss *app.Session) error {
			for _, file := range files {
				res, err := app.ImportRegFile(context.Background(), ss, name, file)
				if err != nil {
					return err
				}
				applied += res.Applied
				skipped += res.Skipped
			}
			return nil
		}, func() {
			msg := fmt.Sprintf("imported %d operations; skipped %d", applied, skipped)
			if skipped > 0 {
				msg += " (for keys of other hives)"
			}
			dialog.ShowInformation("Import .reg", msg, e.c.Window)
		})
	})
}

// valueColumns returns the Name, Type and Data columns of v.
func valueColumns(v app.HiveValue) [3]string {
	return [3]string{app.HiveValueName(v.Name), v.Type.String(), app.FormatHiveValue(v)}
}

// hiveSnapshot is what the editor shows of a hive: the hive, open, the
// children of the keys loaded, the selected node and its values.
type hiveSnapshot struct {
	view   *app.LoadedHive
	kids   map[string][]string
	sel    string
	values []app.HiveValue
}

// loadHive opens the hive name of ss and reads the children of the nodes
// known, of the nodes open and the root and of their children (so that the
// tree knows which are branches), and the values of the key of node sel,
// or of its nearest parent that exists. It runs off the main goroutine.
func loadHive(ss *app.Session, name string, known, open []string, sel string) (*hiveSnapshot, error) {
	v, err := app.OpenSessionHive(ss, name)
	if err != nil {
		return nil, err
	}
	s, err := snapshot(v, known, open, sel)
	if err != nil {
		v.Close()
		return nil, err
	}
	return s, nil
}

// snapshot reads the hive v for loadHive.
func snapshot(v *app.LoadedHive, known, open []string, sel string) (*hiveSnapshot, error) {
	kids, err := keyKids(v, known, false)
	if err != nil {
		return nil, err
	}
	deep, err := keyKids(v, append(open, hiveRootID), true)
	if err != nil {
		return nil, err
	}
	maps.Copy(kids, deep)
	s := &hiveSnapshot{view: v, kids: kids}
	for p := nodeKeyPath(sel); ; p = nodeKeyPath(parentKeyNode(keyNodeID(p))) {
		k, err := v.Lookup(p)
		if errors.Is(err, app.ErrKeyNotFound) && p != "" {
			continue
		}
		if err != nil {
			return nil, err
		}
		s.sel = keyNodeID(k)
		s.values, err = keyValues(v, s.sel)
		return s, err
	}
}

// keyKids lists the child node IDs of the keys of the nodes ids, sorted
// as regedit sorts them, and when deep of their children too. Keys that
// no longer exist are left out.
func keyKids(v *app.LoadedHive, ids []string, deep bool) (map[string][]string, error) {
	out := map[string][]string{}
	var list func(p string, deep bool) error
	list = func(p string, deep bool) error {
		id := keyNodeID(p)
		if _, ok := out[id]; ok && !deep {
			return nil
		}
		cs, err := v.Subkeys(p)
		if err != nil {
			return err
		}
		app.SortKeyPaths(cs)
		kids := make([]string, len(cs))
		for i, c := range cs {
			kids[i] = keyNodeID(c)
		}
		out[id] = kids
		if deep {
			for _, c := range cs {
				if err := list(c, false); err != nil {
					return err
				}
			}
		}
		return nil
	}
	for _, id := range ids {
		p, err := v.Lookup(nodeKeyPath(id))
		if errors.Is(err, app.ErrKeyNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if err := list(p, deep); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// keyValues returns the values of the key of node id, the default value
// first, then by name without case.
func keyValues(v *app.LoadedHive, id string) ([]app.HiveValue, error) {
	vs, err := v.Values(nodeKeyPath(id))
	if err != nil {
		return nil, err
	}
	app.SortHiveValues(vs)
	return vs, nil
}
