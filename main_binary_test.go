package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/wimconsole/wimconsole/internal/seaweedtest"
	"github.com/wimconsole/wimconsole/internal/versiontest"
)

// The tests that run the real binary share one build of it: linking the
// console (Fyne, GL, GTK) takes seconds, and four tests need it.
var (
	binOnce sync.Once
	binDir  string
	binPath string
	binErr  error
	binOut  []byte
)

// TestMain removes the shared build, and stops the SeaweedFS of the
// library tests, when the tests are done.
func TestMain(m *testing.M) {
	code := m.Run()
	seaweedtest.Stop()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// wimconsoleBinary returns the path of the wimconsole binary built from
// this package, building it on first use.
func wimconsoleBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		if binDir, binErr = os.MkdirTemp("", "wimconsole-bin"); binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "wimconsole")
		build := append(append([]string{"build"}, versiontest.BuildFlags...), "-o", binPath, ".")
		binOut, binErr = exec.Command("go", build...).CombinedOutput()
	})
	if binErr != nil {
		t.Fatalf("go build: %v\n%s", binErr, binOut)
	}
	return binPath
}
