package store

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSetImageUnattend: the answer file is read once, validated as an
// unattend document, and exactly the validated bytes are installed; a bad
// file changes nothing.
func TestSetImageUnattend(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	src := captureWIM(t, "lzx", writeTree(t, map[string]string{"a.txt": "alpha"}))
	refs, err := s.AddImage(ctx, src, AddOptions{Group: "G"})
	if err != nil {
		t.Fatal(err)
	}
	r := refs[0]
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	installed := filepath.Join(s.GroupDir("G"), r.File, "Unattend", "ImageUnattend.xml")

	bad := []struct{ name, body, want string }{
		{"notxml.xml", "this is not xml", "unattend"},
		{"wrongroot.xml", `<answers xmlns="urn:schemas-microsoft-com:unattend"/>`, "unattend"},
		{"wrongns.xml", `<unattend xmlns="urn:example"/>`, "urn:schemas-microsoft-com:unattend"},
		{"badpass.xml", `<unattend xmlns="urn:schemas-microsoft-com:unattend"><settings pass="lunch"/></unattend>`, "lunch"},
	}
	for _, b := range bad {
		p := write(b.name, b.body)
		err := s.SetImage(ctx, r, SetOptions{Unattend: &p})
		if err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%s: err %v, want one mentioning %q", b.name, err, b.want)
		}
		if _, err := os.Stat(installed); err == nil {
			t.Fatalf("%s: an unattend file was installed", b.name)
		}
	}

	good := `<?xml version="1.0" encoding="utf-8"?>
<unattend xmlns="urn:schemas-microsoft-com:unattend"><settings pass="oobeSystem"/></unattend>`
	p := write("good.xml", good)
	if err := s.SetImage(ctx, r, SetOptions{Unattend: &p}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(installed)
	if err != nil || !bytes.Equal(data, []byte(good)) {
		t.Fatalf("installed %q, %v", data, err)
	}
	im, err := s.GetImage(ctx, r)
	if err != nil || im.Unattend == "" {
		t.Fatalf("catalog unattend %q, %v", im.Unattend, err)
	}
	empty := ""
	if err := s.SetImage(ctx, r, SetOptions{Unattend: &empty}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(installed); err == nil {
		t.Fatal("unattend file not removed")
	}
	mustVerify(t, s)
}
