//go:build cgo && (linux || darwin || freebsd)

package hive

import (
	"errors"
	"testing"
)

func TestAddKeys(t *testing.T) {
	h := newHive(t, Options{})
	for _, tc := range []struct{ path, want string }{
		{"", ""},
		{`\`, ""},
		{`Software`, "Software"},
		{`Software\Contoso\App`, `Software\Contoso\App`},
		{`\software\\CONTOSO\New\`, `Software\Contoso\New`},
	} {
		k, err := AddKeys(h, tc.path)
		if err != nil || k.Path != tc.want {
			t.Errorf("AddKeys(%q) = %q, %v; want %q", tc.path, k.Path, err, tc.want)
			continue
		}
		if got, err := h.Lookup(tc.path); err != nil || got.ID != k.ID {
			t.Errorf("Lookup(%q) after AddKeys = %+v, %v; want %+v", tc.path, got, err, k)
		}
	}
	kids, err := h.Children(h.Root())
	if err != nil || len(kids) != 1 {
		t.Errorf("root has %+v, %v; want only Software", kids, err)
	}

	ro := newHive(t, Options{ReadOnly: true})
	if _, err := AddKeys(ro, `A\B`); !errors.Is(err, ErrReadOnly) {
		t.Errorf("AddKeys on a read-only hive: %v", err)
	}
	if k, err := AddKeys(ro, ""); err != nil || k != ro.Root() {
		t.Errorf("AddKeys(\"\") on a read-only hive = %+v, %v; want the root", k, err)
	}
}
