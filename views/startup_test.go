package views

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/wimconsole/wimconsole/engine/store"
)

// findButton returns the button labelled label in o, or nil.
func findButton(o fyne.CanvasObject, label string) *widget.Button {
	if o == nil || !o.Visible() {
		return nil
	}
	switch v := o.(type) {
	case *widget.Button:
		if v.Text == label {
			return v
		}
	case *fyne.Container:
		for _, x := range v.Objects {
			if b := findButton(x, label); b != nil {
				return b
			}
		}
	case fyne.Widget:
		for _, x := range test.WidgetRenderer(v).Objects() {
			if b := findButton(x, label); b != nil {
				return b
			}
		}
	}
	return nil
}

// TestStartupStoreProblem: a store that cannot be opened at start-up shows
// a window saying why in the administrator's words, with Choose Another
// Folder… and Quit; a folder of other files asks before a store is made in
// it; once a folder opens, the console shows it and the window goes.
func TestStartupStoreProblem(t *testing.T) {
	dir := t.TempDir()
	damaged := filepath.Join(dir, "Damaged")
	if err := os.MkdirAll(filepath.Join(damaged, store.ConsoleDir), 0o755); err != nil {
		t.Fatal(err)
	}
	catalog := filepath.Join(damaged, store.ConsoleDir, store.CatalogFile)
	if err := os.WriteFile(catalog, []byte("not a catalog at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	docs := filepath.Join(dir, "Documents")
	if err := os.Mkdir(docs, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(docs, "notes.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "install.wim")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "Good")

	for _, tc := range []struct {
		name, root string
		says       []string
		tap        string // the button that opens a store
		opens      string // the store it opens
	}{
		{"damaged catalog", damaged, []string{"The image store " + damaged + " cannot be opened.",
			"The store's catalog " + catalog + " is damaged (invalid database)", "Details"}, "Choose Another Folder…", good},
		{"a file", file, []string{"The image store " + file + " cannot be opened.", file + " is a file, not a folder"},
			"Choose Another Folder…", good},
		{"folder of other files", docs, []string{docs + " is not an image store and is not empty. Create a store in it?"},
			"Create Store", docs},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := test.NewTempApp(t)
			var started *Console
			s := newStarter(a, &folderDialogs{fakeDialogs: &fakeDialogs{}, folder: good}, func(c *Console) {
				started = c
				c.Window.Show()
			})
			s.tryNow(tc.root, false)
			if started != nil {
				t.Fatalf("the console opened on %s", tc.root)
			}
			if s.win == nil || s.win.Title() != StoreProblemTitle {
				t.Fatalf("no window %q", StoreProblemTitle)
			}
			shown := strings.Join(labels(s.win.Content()), "\n")
			for _, want := range tc.says {
				if !strings.Contains(shown, want) {
					t.Errorf("the window does not say %q: %q", want, shown)
				}
			}
			if findButton(s.win.Content(), "Quit") == nil {
				t.Error("no Quit button")
			}
			b := findButton(s.win.Content(), tc.tap)
			if b == nil {
				t.Fatalf("no %q button: %q", tc.tap, shown)
			}
			test.Tap(b)
			s.busy.Wait()
			if started == nil {
				t.Fatalf("%s did not open a store: %q", tc.tap, strings.Join(labels(s.win.Content()), "\n"))
			}
			if got := started.model.Servers()[0].Location(); got != tc.opens {
				t.Errorf("the console shows %s, want %s", got, tc.opens)
			}
			if s.win != nil {
				t.Error("the problem window stayed")
			}
		})
	}
}
