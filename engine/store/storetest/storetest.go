// Package storetest holds test helpers for the store and its users.
package storetest

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
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
