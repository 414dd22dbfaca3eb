package atomicfile

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// inject makes the step named fail for the rest of the test, and records
// every step taken.
func inject(t *testing.T, fail string) *[]string {
	var steps []string
	step = func(name string) error {
		steps = append(steps, name)
		if name == fail {
			return errors.New("injected failure at " + name)
		}
		return nil
	}
	t.Cleanup(func() { step = nil })
	return &steps
}

// entries lists dir's names, to see that no temporary file is left.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func TestWriteFileWholeOrAbsent(t *testing.T) {
	old, new := []byte("the old contents\n"), bytes.Repeat([]byte("new "), 5000)
	writers := map[string]func(name string) error{
		"WriteFile": func(name string) error { return WriteFile(name, new, 0o640) },
		"WriteFileTemp": func(name string) error {
			return WriteFileTemp(name, filepath.Join(filepath.Dir(name), "~op1-f"), new, 0o640)
		},
		"Create": func(name string) error {
			f, err := Create(name, 0o640)
			if err != nil {
				return err
			}
			if err := at("write"); err != nil {
				f.Abort()
				return err
			}
			if _, err := f.ReadFrom(bytes.NewReader(new)); err != nil {
				f.Abort()
				return err
			}
			return f.Commit()
		},
	}
	for wname, write := range writers {
		for _, fail := range []string{"", "create", "write", "sync", "close", "rename", "syncdir"} {
			for _, existed := range []bool{false, true} {
				t.Run(wname+"/"+fail+"/"+map[bool]string{false: "new", true: "replace"}[existed], func(t *testing.T) {
					dir := t.TempDir()
					name := filepath.Join(dir, "f")
					if existed {
						if err := os.WriteFile(name, old, 0o600); err != nil {
							t.Fatal(err)
						}
					}
					steps := inject(t, fail)
					err := write(name)
					if fail == "" && err != nil {
						t.Fatal(err)
					}
					if fail != "" && err == nil {
						t.Fatalf("failure at %s not reported (steps %v)", fail, *steps)
					}
					if err != nil && !strings.Contains(err.Error(), name) && !(wname == "Create" && fail == "write") {
						t.Errorf("error %q does not name %s", err, name)
					}
					got, rerr := os.ReadFile(name)
					switch {
					case fail == "" || fail == "syncdir":
						// After the rename the new file is in place, whole.
						if !bytes.Equal(got, new) {
							t.Errorf("after failure at %q: file holds %d bytes, want the new %d", fail, len(got), len(new))
						}
					case existed:
						if !bytes.Equal(got, old) {
							t.Errorf("after failure at %q: old file changed to %q", fail, got)
						}
					default:
						if !errors.Is(rerr, os.ErrNotExist) {
							t.Errorf("after failure at %q: file exists (%d bytes)", fail, len(got))
						}
					}
					if es := entries(t, dir); len(es) > 1 || (len(es) == 1 && es[0] != "f") {
						t.Errorf("after failure at %q: folder holds %v, want no temporary file", fail, es)
					}
					if fail == "" {
						want := []string{"create", "write", "sync", "close", "rename", "syncdir"}
						if !slices.Equal(*steps, want) {
							t.Errorf("steps %v, want %v", *steps, want)
						}
					}
				})
			}
		}
	}
}

// TestCloseThenRename is the journaled form: the complete temporary file
// stays under its name until Rename.
func TestCloseThenRename(t *testing.T) {
	dir := t.TempDir()
	name, temp := filepath.Join(dir, "f"), filepath.Join(dir, "~op-f")
	f, err := CreateTemp(name, temp, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("data")
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(temp); string(got) != "data" {
		t.Fatalf("temporary file holds %q after Close", got)
	}
	if _, err := os.Stat(name); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("%s exists before Rename", name)
	}
	steps := inject(t, "")
	if err := Rename(temp, name); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(*steps, []string{"rename", "syncdir"}) {
		t.Errorf("Rename took steps %v, want the rename then the folder sync", *steps)
	}
	if got, _ := os.ReadFile(name); string(got) != "data" {
		t.Errorf("file holds %q after Rename", got)
	}
}

func TestCreateTempRefused(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "f")
	if _, err := CreateTemp(name, filepath.Join(dir, "sub", "t"), 0o644); err == nil {
		t.Error("a temporary file in another folder was accepted")
	}
	os.WriteFile(filepath.Join(dir, "t"), []byte("someone's"), 0o644)
	if _, err := CreateTemp(name, filepath.Join(dir, "t"), 0o644); err == nil {
		t.Error("an existing temporary file was overwritten")
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "t")); string(got) != "someone's" {
		t.Errorf("existing file changed to %q", got)
	}
}

func TestAbortAfterCommit(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "f")
	f, err := Create(name, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("kept")
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	f.Abort() // a deferred Abort after Commit changes nothing
	if got, _ := os.ReadFile(name); string(got) != "kept" {
		t.Errorf("file holds %q after Commit and Abort", got)
	}
	if err := f.Commit(); err == nil {
		t.Error("a second Commit succeeded")
	}
}

func TestSyncDirMissingFolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "gone")
	if err := SyncDir(dir); err == nil || !strings.Contains(err.Error(), dir) {
		t.Errorf("SyncDir of a missing folder: %v", err)
	}
}
