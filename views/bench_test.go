package views

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/wimconsole/wimconsole/app"
	"github.com/wimconsole/wimconsole/engine/store"
)

// BenchmarkOpen1000 measures opening the console on a store with 1,000
// images: loading the model, building the window, selecting the group (its
// 1,000-row details table) with its branch open, and rendering a frame.
// The images are copies of one metadata-only image file, which the store
// reconciles as images copied in by hand.
func BenchmarkOpen1000(b *testing.B) {
	srv, err := app.LocalServer(filepath.Join(b.TempDir(), "RemoteInstall"))
	if err != nil {
		b.Fatal(err)
	}
	refs, err := storeOf(srv).AddImage(context.Background(), makeWIM(b, "A"), store.AddOptions{Group: "Big"})
	if err != nil {
		b.Fatal(err)
	}
	data, err := os.ReadFile(storeOf(srv).ImagePath(refs[0]))
	if err != nil {
		b.Fatal(err)
	}
	for i := 1; i < 1000; i++ {
		if err := os.WriteFile(filepath.Join(storeOf(srv).GroupDir("Big"), fmt.Sprintf("img%04d.wim", i)), data, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := storeOf(srv).ListImages(context.Background(), store.ListOptions{}); err != nil {
		b.Fatal(err)
	}
	a := test.NewTempApp(b)
	gid := app.GroupID(srv, "Big")
	b.ResetTimer()
	for b.Loop() {
		c := NewConsole(a, app.NewModel(srv), &fakeDialogs{})
		c.Window.Resize(fyne.NewSize(1100, 700))
		c.Select(gid)
		c.Window.Canvas().Capture()
		if n := len(c.Details().Rows); n != 1000 {
			b.Fatalf("%d rows", n)
		}
		// Scroll the details table to the end and render again.
		c.details.table.ScrollToBottom()
		c.Window.Canvas().Capture()
		c.Window.Close()
	}
}
