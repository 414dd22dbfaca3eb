package unattend

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzAddDriverPath checks that no input makes Validate, DriverPaths or
// AddDriverPath panic, that a successful addition yields a well-formed
// document listing the path, that nothing of the input is lost and that
// adding the same path again changes nothing.
func FuzzAddDriverPath(f *testing.F) {
	names, _ := filepath.Glob(filepath.Join("testdata", "unattend", "*.xml"))
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err == nil {
			f.Add(b, `C:\Drivers\x`)
		}
	}
	f.Add([]byte(`<unattend xmlns="urn:schemas-microsoft-com:unattend"><settings pass="oobeSystem"/></unattend>`), `D:\`)
	f.Add([]byte(`<unattend xmlns="urn:schemas-microsoft-com:unattend"/>`), `x`)
	f.Fuzz(func(t *testing.T, doc []byte, path string) {
		_ = Validate("fuzz.xml", doc)
		before, err := DriverPaths(doc)
		if err != nil {
			return
		}
		out, added, err := AddDriverPath(doc, "amd64", path, nil)
		if err != nil {
			return
		}
		if !added {
			if !bytes.Equal(out, doc) {
				t.Fatal("unchanged result differs from input")
			}
			return
		}
		after, err := DriverPaths(out)
		if err != nil {
			t.Fatalf("result does not parse: %v\n%s", err, out)
		}
		if len(after) != len(before)+1 {
			t.Fatalf("%d driver paths before, %d after\n%s", len(before), len(after), out)
		}
		if !isInsertion(doc, out) && !bytes.Contains(doc, []byte("/>")) {
			t.Fatalf("input changed, not just inserted into:\n%s", out)
		}
		again, added, err := AddDriverPath(out, "amd64", path, nil)
		if err != nil || added || !bytes.Equal(again, out) {
			t.Fatalf("second add: added=%v err=%v", added, err)
		}
	})
}
