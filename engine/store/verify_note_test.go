package store

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/wimconsole/wimconsole/engine/wim"
	"github.com/wimconsole/wimconsole/internal/oracle"
)

// TestVerifyStoreForeignRes: a group whose Res.rwm lacks the resource-only
// flag (as wimlib-made groups do) passes verify-store with a note, not a
// problem; damage is still a problem.
func TestVerifyStoreForeignRes(t *testing.T) {
	oracle.Wimlib(t)
	tests := []struct {
		name      string
		clearFlag bool
		damage    bool
		wantNote  bool
		wantErr   bool
	}{
		{"console-made group", false, false, false, false},
		{"Res.rwm without the flag", true, false, true, false},
		{"without the flag and damaged", true, true, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			s := openStore(t)
			src := captureWIM(t, "lzx", writeTree(t, baseTree("note")))
			if _, err := s.AddImage(ctx, src, AddOptions{Group: "G"}); err != nil {
				t.Fatal(err)
			}
			resPath := s.ResPath("G")
			data, err := os.ReadFile(resPath)
			if err != nil {
				t.Fatal(err)
			}
			if tt.clearFlag {
				data[0x10] &^= wim.FlagResourceOnly
			}
			if tt.damage {
				w, err := wim.Open(resPath, nil)
				if err != nil {
					t.Fatal(err)
				}
				var off int64
				for _, e := range w.Blobs() {
					if !e.IsMetadata() && e.Res.StoredSize > 16 {
						off = e.Res.Offset + e.Res.StoredSize/2
						break
					}
				}
				w.Close()
				data[off] ^= 0xFF
			}
			if err := os.WriteFile(resPath, data, 0o644); err != nil {
				t.Fatal(err)
			}
			res, err := s.VerifyStore(ctx, "", nil)
			if (err != nil) != tt.wantErr {
				t.Fatalf("VerifyStore: %v (%+v)", err, res)
			}
			if !tt.wantErr && len(res.Problems) != 0 {
				t.Errorf("problems %v", res.Problems)
			}
			hasNote := len(res.Notes) == 1 && res.Notes[0].Path == resPath && strings.Contains(res.Notes[0].Msg, "resource-only")
			if hasNote != tt.wantNote || len(res.Notes) > 1 {
				t.Errorf("notes %v, want a note: %v", res.Notes, tt.wantNote)
			}
		})
	}
}
