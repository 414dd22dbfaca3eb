package lzms

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"unsafe"
)

// BenchmarkDecompressFiles decompresses the LZMS chunks stored as files
// NAME-USIZE.lzms (the compressed bytes; USIZE the uncompressed size) in
// $WIMBENCH_LZMS_DIR, one sub-benchmark per file, and logs the SHA-256 of
// each output so that two builds can be checked to decode alike. The
// chunks of a real ESD (64 MiB each) show what the small chunks of
// BenchmarkDecompress cannot: matches reaching tens of MiB back miss every
// cache. The output is in huge pages where the system gives them, as the
// WIM reader's is. Skipped when the variable is not set. An ESD's chunks:
// WIMBENCH_SOLID_FILE=x.esd WIMBENCH_LZMS_DIR=DIR go test -run
// TestWriteSolidChunkFiles ./engine/wim. Tree A's ESD (wimlib-imagex
// capture --solid), CPU medians of 5-11 interleaved runs at load 14, base and the
// batched, prefetched match copies with opcodeScan, cpu-MB/s: chunk 0
// 143.8 and 149.8, 2 92.0 and 105.6, 3 157.9 and 197.1, 4 177.5 and
// 201.3, 5 171.6 and 194.9.
func BenchmarkDecompressFiles(b *testing.B) {
	dir := os.Getenv("WIMBENCH_LZMS_DIR")
	if dir == "" {
		b.Skip("WIMBENCH_LZMS_DIR not set")
	}
	names, err := filepath.Glob(filepath.Join(dir, "*.lzms"))
	if err != nil || len(names) == 0 {
		b.Fatalf("no *.lzms files in %s: %v", dir, err)
	}
	sort.Strings(names)
	for _, name := range names {
		base := strings.TrimSuffix(filepath.Base(name), ".lzms")
		size, err := strconv.Atoi(base[strings.LastIndexByte(base, '-')+1:])
		if err != nil {
			b.Fatalf("%s: no uncompressed size in the name", name)
		}
		b.Run(base, func(b *testing.B) {
			src, err := os.ReadFile(name)
			if err != nil {
				b.Fatal(err)
			}
			d := mustDecompressor(b, size)
			// The output in huge pages, as the WIM reader's chunk
			// cache has it: in 4 KiB pages, far sources also miss
			// the TLB.
			out := make([]byte, size)
			if w, m := mapWords((size + 3) / 4); m != nil {
				defer m.free()
				out = unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(w))), size)
			}
			benchLoop(b, size, func() {
				if err := d.Decompress(out, src); err != nil {
					b.Fatal(err)
				}
			})
			sum := sha256.Sum256(out)
			b.Logf("sha256 %s", hex.EncodeToString(sum[:8]))
		})
	}
}
