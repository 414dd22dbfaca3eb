package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLayers keeps the layers of DESIGN.md: the console (views), the
// command line (app/cli) and main reach the engine only through app. app
// re-exports on purpose the engine types they show (store.Image as
// app.Image, wim.WIM as app.WIM, ...); engine/progress, the progress
// callback every layer passes along, is the one engine package they may
// name themselves.
func TestLayers(t *testing.T) {
	const module = "github.com/wimconsole/wimconsole/"
	allowed := map[string]bool{
		module + "engine/progress": true,
	}
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`,
		"./views", "./app/cli", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	checked := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		checked++
		for _, imp := range f[1:] {
			if strings.HasPrefix(imp, module+"engine/") && !allowed[imp] {
				t.Errorf("%s imports %s: go through app (re-export the type there on purpose if a caller needs it)", f[0], imp)
			}
		}
	}
	if checked != 3 {
		t.Fatalf("go list printed %d packages, want 3:\n%s", checked, out)
	}
}
