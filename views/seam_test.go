package views

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestServicingThroughApp: the console reaches registry hives, servicing
// sessions and unattend files through app's use cases only (issue 15, one
// seam); app re-exports the types it needs.
func TestServicingThroughApp(t *testing.T) {
	forbidden := []string{
		"github.com/wimconsole/wimconsole/engine/servicing",
		"github.com/wimconsole/wimconsole/engine/servicing/hive",
		"github.com/wimconsole/wimconsole/engine/unattend",
	}
	checkImports(t, ".", forbidden)
}

// checkImports fails for each non-test Go file of dir that imports one of
// the packages forbidden.
func checkImports(t *testing.T, dir string, forbidden []string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no Go files in %s: %v", dir, err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		af, err := parser.ParseFile(token.NewFileSet(), f, src, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range af.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			for _, bad := range forbidden {
				if p == bad {
					t.Errorf("%s imports %s: go through app's use cases and type aliases", f, p)
				}
			}
		}
	}
}
