package wim

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/wimconsole/wimconsole/engine/wim/lzx"
	"github.com/wimconsole/wimconsole/internal/oracle"
)

// metadataLevelTree writes a tree whose metadata resource spans several
// chunks: folders of files with distinct small contents.
func metadataLevelTree(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "tree")
	for i := range 2400 {
		sub := filepath.Join(dir, "Windows", fmt.Sprintf("Component%02d", i%48))
		if err := os.MkdirAll(sub, 0o755); err != nil {
			t.Fatal(err)
		}
		name := filepath.Join(sub, fmt.Sprintf("module_%05d.dll", i))
		if err := os.WriteFile(name, []byte(fmt.Sprintf("contents of module %d\n", i)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// lzxChunkedSize returns the size of data stored as an LZX resource
// compressed at level in chunks of chunk bytes: each chunk compressed, or
// raw when that does not shrink it, after a table of 4-byte chunk offsets.
func lzxChunkedSize(t *testing.T, data []byte, chunk, level int) int64 {
	t.Helper()
	c, err := lzx.NewCompressorLevel(chunk, level)
	if err != nil {
		t.Fatal(err)
	}
	dst := make([]byte, chunk)
	var n int64
	nchunks := 0
	for off := 0; off < len(data); off += chunk {
		src := data[off:min(len(data), off+chunk)]
		k := 0
		if len(src) > 1 {
			k = c.Compress(dst[:len(src)-1], src)
		}
		if k <= 0 || k >= len(src) {
			k = len(src)
		}
		n += int64(k)
		nchunks++
	}
	return n + 4*int64(nchunks-1)
}

// TestMetadataFastLZX (issue 20): an image's metadata resource is
// compressed with LZX at the fast level (hash chains, lazy parse) when the
// data is at the default level: as small, and several times faster, which
// is most of a servicing commit of a small change. A slow or faster data
// level applies to the metadata too. The files pass wimlib-imagex verify
// and apply and 7z t.
func TestMetadataFastLZX(t *testing.T) {
	tree := metadataLevelTree(t)
	for _, tc := range []struct {
		name       string
		level      int // WriteOptions.LZXLevel
		metaLevel  int // the level the metadata must be compressed at
		notDefault bool
	}{
		{"default", 0, lzx.LevelFast, true},
		{"lzx:10", 10, 10, true},
		{"slow", lzx.LevelSlow, lzx.LevelSlow, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "cap.wim")
			if _, err := Capture(context.Background(), tree, file, CaptureOptions{Name: "M", Compression: LZX, LZXLevel: tc.level}); err != nil {
				t.Fatal(err)
			}
			w, err := Open(file, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			e, err := w.MetadataEntry(1)
			if err != nil {
				t.Fatal(err)
			}
			meta, err := w.MetadataResource(1)
			if err != nil {
				t.Fatal(err)
			}
			chunk := int(w.Header().ChunkSize)
			if len(meta) < 4*chunk {
				t.Fatalf("metadata of %d bytes: too small to tell levels apart", len(meta))
			}
			want := lzxChunkedSize(t, meta, chunk, tc.metaLevel)
			if tc.notDefault {
				if def := lzxChunkedSize(t, meta, chunk, lzx.LevelDefault); def == want {
					t.Fatalf("this metadata compresses to %d bytes at both levels: the test cannot tell them apart", def)
				}
			}
			if e.Res.StoredSize != want {
				t.Errorf("metadata resource stored in %d bytes; compressed at level %d it takes %d", e.Res.StoredSize, tc.metaLevel, want)
			}
			if err := w.Verify(context.Background(), nil); err != nil {
				t.Fatal(err)
			}
			oracle.Run(t, "verify", file)
			oracle.Run(t, "apply", file, "1", filepath.Join(t.TempDir(), "out"))
			out, err := exec.Command(oracle.Need(t, "7z"), "t", file).CombinedOutput()
			if err != nil {
				t.Errorf("7z t %s: %v\n%s", file, err, out)
			}
		})
	}
}
