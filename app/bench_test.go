package app

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/wimconsole/wimconsole/engine/store"
)

// StoreWithImages makes a store whose group "Big" holds n images: one added
// through the store, the rest copies of its metadata-only file, which the
// store reconciles as images copied in by hand.
func storeWithImages(b testing.TB, n int) *Server {
	srv := newServer(b)
	refs, err := storeOf(srv).AddImage(context.Background(), makeWIM(b, "A"), store.AddOptions{Group: "Big"})
	if err != nil {
		b.Fatal(err)
	}
	data, err := os.ReadFile(storeOf(srv).ImagePath(refs[0]))
	if err != nil {
		b.Fatal(err)
	}
	for i := 1; i < n; i++ {
		name := filepath.Join(storeOf(srv).GroupDir("Big"), fmt.Sprintf("img%04d.wim", i))
		if err := os.WriteFile(name, data, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := storeOf(srv).ListImages(context.Background(), store.ListOptions{}); err != nil {
		b.Fatal(err)
	}
	return srv
}

// BenchmarkModel1000 measures loading the console model of a store with
// 1,000 images (warm catalog cache) and building the group's details table.
func BenchmarkModel1000(b *testing.B) {
	srv := storeWithImages(b, 1000)
	b.ResetTimer()
	for b.Loop() {
		m := NewModel(srv)
		if n := len(m.Details(GroupID(srv, "Big")).Rows); n != 1000 {
			b.Fatalf("%d rows", n)
		}
	}
}
