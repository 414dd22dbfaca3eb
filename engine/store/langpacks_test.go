package store

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/wimconsole/wimconsole/engine/store/storetest"
)

func TestLanguagePacks(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	src := captureWIM(t, "lzx", writeTree(t, map[string]string{"a.txt": "alpha"}))
	refs, err := s.AddImage(ctx, src, AddOptions{Group: "G"})
	if err != nil {
		t.Fatal(err)
	}
	r := refs[0]
	dir := t.TempDir()
	packs := func(r ImageRef) []string {
		t.Helper()
		p, err := s.LanguagePacks(r)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}

	// Bad input: refused, nothing stored.
	notCab := filepath.Join(dir, "fr-fr.cab")
	os.WriteFile(notCab, []byte("PK\x03\x04 a zip, not a cabinet"), 0o644)
	good := storetest.Cab(t, dir, "de-de.cab", 10036)
	data, _ := os.ReadFile(good)
	trunc := filepath.Join(dir, "es-es.cab")
	os.WriteFile(trunc, data[:len(data)-10], 0o644)
	wrongExt := storetest.Cab(t, dir, "it-it.zip", 40)
	for _, c := range []struct{ path, want string }{
		{notCab, "MSCF"}, {trunc, "truncated"}, {wrongExt, ".cab"}, {filepath.Join(dir, "missing.cab"), "no such file"},
	} {
		if err := s.AddLanguagePack(ctx, r, c.path); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want one mentioning %q", filepath.Base(c.path), err, c.want)
		}
	}
	if p := packs(r); len(p) != 0 {
		t.Fatalf("packs after refused adds: %v", p)
	}

	if err := s.AddLanguagePack(ctx, r, good); err != nil {
		t.Fatal(err)
	}
	if err := s.AddLanguagePack(ctx, r, storetest.Cab(t, dir, "ja-jp.cab", 40)); err != nil {
		t.Fatal(err)
	}
	if p := packs(r); !slices.Equal(p, []string{"de-de.cab", "ja-jp.cab"}) {
		t.Fatalf("packs %v", p)
	}
	if im, err := s.GetImage(ctx, r); err != nil || len(im.LangPacks) != 2 {
		t.Fatalf("catalog packs %v, %v", im.LangPacks, err)
	}

	// They travel with the image: copy, replace, regroup.
	cp, err := s.CopyImage(ctx, r, CopyOptions{FileName: "copy"})
	if err != nil {
		t.Fatal(err)
	}
	if p := packs(cp); len(p) != 2 {
		t.Fatalf("copy's packs %v", p)
	}
	no := false
	if err := s.SetImage(ctx, r, SetOptions{Enabled: &no}); err != nil {
		t.Fatal(err)
	}
	src2 := captureWIM(t, "lzx", writeTree(t, map[string]string{"b.txt": "beta"}))
	if err := s.ReplaceImage(ctx, r, src2, ReplaceOptions{}); err != nil {
		t.Fatal(err)
	}
	if p := packs(r); len(p) != 2 {
		t.Fatalf("packs after replace %v", p)
	}
	if _, err := s.Regroup(ctx, "G", RegroupOptions{}); err != nil {
		t.Fatal(err)
	}
	if p := packs(r); !slices.Equal(p, []string{"de-de.cab", "ja-jp.cab"}) {
		t.Fatalf("packs after regroup %v", p)
	}
	got, _ := os.ReadFile(filepath.Join(s.GroupDir("G"), r.File, LangPacksDir, "de-de.cab"))
	if string(got) != string(data) {
		t.Fatal("pack content changed on the way")
	}

	if err := s.RemoveLanguagePack(ctx, r, "DE-DE.cab"); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveLanguagePack(ctx, r, "de-de.cab"); err == nil {
		t.Fatal("removing a missing pack succeeded")
	}
	if p := packs(r); !slices.Equal(p, []string{"ja-jp.cab"}) {
		t.Fatalf("packs after remove %v", p)
	}
	mustVerify(t, s)
}
