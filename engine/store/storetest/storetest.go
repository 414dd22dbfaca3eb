// Package storetest holds test helpers for the store and its users.
package storetest

import (
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wimconsole/wimconsole/engine/wim"
	"github.com/wimconsole/wimconsole/internal/testtree"
)

// Cab writes, at dir/name, a file shaped like a Microsoft cabinet (a
// language pack, as the store checks it): the "MSCF" header with the
// cabinet's size, then size-36 bytes of body. It returns the file's path.
func Cab(t testing.TB, dir, name string, size int) string {
	t.Helper()
	data := make([]byte, max(size, 36))
	copy(data, "MSCF")
	for i := 36; i < len(data); i++ {
		data[i] = byte(i)
	}
	binary.LittleEndian.PutUint32(data[8:], uint32(len(data)))
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// WriteTree writes files (slash path -> content) under a new folder and
// returns it.
func WriteTree(t testing.TB, files map[string]string) string {
	t.Helper()
	return testtree.Write(t, t.TempDir(), files)
}

// BaseTree is a small image tree; variant changes some of its files, so
// that two variants share some data and not the rest.
func BaseTree(variant string) map[string]string {
	return map[string]string{
		"Windows/system32/kernel.dll":  strings.Repeat("kernel code shared by all\n", 4000),
		"Windows/system32/drivers.sys": strings.Repeat("driver "+variant+"\n", 3000),
		"Program Files/app/readme.txt": "readme " + variant + "\n",
		"Users/Public/big.bin":         strings.Repeat("\x01\x02\x03"+variant, 30000),
		"empty.txt":                    "",
	}
}

// SameTree checks that the folder got holds the regular files of want,
// with their content, and no other.
func SameTree(t testing.TB, want map[string]string, got string) {
	t.Helper()
	n := 0
	filepath.Walk(got, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			n++
		}
		return nil
	})
	if n != len(want) {
		t.Errorf("%s: %d files, want %d", got, n, len(want))
	}
	for name, data := range want {
		b, err := os.ReadFile(filepath.Join(got, filepath.FromSlash(name)))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if string(b) != data {
			t.Errorf("%s: content differs", name)
		}
	}
}

// VariantsWIM captures one image per variant ("Image <variant>") into a
// new WIM file with engine/wim and returns its path; the variants share a
// large file and differ in a small one (Windows/own.txt).
func VariantsWIM(t testing.TB, variants ...string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "install.wim")
	for i, v := range variants {
		dir := WriteTree(t, map[string]string{
			"Windows/system32/kernel.dll": strings.Repeat("kernel code shared by all\n", 2000),
			"Windows/own.txt":             strings.Repeat("variant "+v+"\n", 500),
		})
		if _, err := wim.Capture(context.Background(), dir, out, wim.CaptureOptions{Name: "Image " + v, Append: i > 0}); err != nil {
			t.Fatal(err)
		}
	}
	return out
}
