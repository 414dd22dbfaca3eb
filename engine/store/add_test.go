package store

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/wimconsole/wimconsole/engine/wim"
	"github.com/wimconsole/wimconsole/internal/oracle"
)

// badUTF16WIM captures tree into a new WIM whose XML data names the image
// with an unpaired surrogate (UTF-16 that no XML can hold): the file
// opens, its data and metadata are sound, only its XML text is not.
func badUTF16WIM(t *testing.T, tree map[string]string) string {
	t.Helper()
	src := captureWIM(t, "lzx", writeTree(t, tree))
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	h, err := wim.ParseHeader(data[:wim.HeaderSize])
	if err != nil {
		t.Fatal(err)
	}
	xml := data[h.XML.Offset : h.XML.Offset+h.XML.StoredSize]
	var name []byte
	for _, u := range utf16.Encode([]rune("<NAME>Image 1</NAME>")) {
		name = binary.LittleEndian.AppendUint16(name, u)
	}
	i := bytes.Index(xml, name)
	if i < 0 {
		t.Fatal("the image's name is not in the XML data")
	}
	// "Image" becomes "I\uD800age": a lone high surrogate.
	binary.LittleEndian.PutUint16(xml[i+2*len("<NAME>I"):], 0xD800)
	bad := filepath.Join(t.TempDir(), "bad-utf16.wim")
	if err := os.WriteFile(bad, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return bad
}

// fileSum is a file's size and SHA-1.
func fileSum(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%d bytes, SHA-1 %x", len(data), sha1.Sum(data))
}

// TestAddInvalidXMLChangesNothing: a source whose XML data holds invalid
// UTF-16 is refused before anything is written: Res.rwm keeps its size
// and SHA-1, no file and no group appears.
func TestAddInvalidXMLChangesNothing(t *testing.T) {
	oracle.Wimlib(t)
	ctx := context.Background()
	s := openStore(t)
	if _, err := s.AddImage(ctx, captureWIM(t, "lzx", writeTree(t, baseTree("A"))), AddOptions{Group: "G"}); err != nil {
		t.Fatal(err)
	}
	bad := badUTF16WIM(t, baseTree("B")) // data new to the group
	res := fileSum(t, s.ResPath("G"))
	snap := snapshot(t, s.Root())
	for _, g := range []string{"G", "H"} {
		_, err := s.AddImage(ctx, bad, AddOptions{Group: g})
		if err == nil {
			t.Fatalf("add-image of %s into %s succeeded", bad, g)
		}
		if !strings.Contains(err.Error(), bad) {
			t.Errorf("the error does not name the source: %v", err)
		}
		t.Logf("into %s: %v", g, err)
		if got := fileSum(t, s.ResPath("G")); got != res {
			t.Fatalf("into %s: Res.rwm is now %s, was %s", g, got, res)
		}
		if got := snapshot(t, s.Root()); got != snap {
			t.Fatalf("into %s: store changed:\n%s\nwant\n%s", g, got, snap)
		}
	}
	mustVerify(t, s)
}
