package wim

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/wimconsole/wimconsole/internal/oracle"
)

// benchWIM captures a ~24 MB tree (text-like data that compresses about
// 3:1, some random data, files from 4 KB to 4 MB) into an LZX WIM.
func benchWIM(b *testing.B, args ...string) (name string, total int64) {
	b.Helper()
	oracle.Wimlib(b)
	dir := b.TempDir()
	src := filepath.Join(dir, "src")
	os.MkdirAll(src, 0o755)
	rng := rand.New(rand.NewPCG(42, 42))
	words := []string{"the", "system", "windows", "image", "file", "driver", "registry", "value", "key", "0x", "return", "struct", "int", "for", "if"}
	sizes := []int{4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20, 4 << 20}
	for i := 0; total < 24<<20; i++ {
		n := sizes[i%len(sizes)]
		var buf bytes.Buffer
		if i%7 == 3 {
			r := make([]byte, n)
			for j := range r {
				r[j] = byte(rng.Uint32())
			}
			buf.Write(r)
		} else {
			for buf.Len() < n {
				fmt.Fprintf(&buf, "%s %s %d %s\n", words[rng.IntN(len(words))], words[rng.IntN(len(words))], rng.IntN(100000), words[rng.IntN(len(words))])
			}
			buf.Truncate(n)
		}
		os.WriteFile(filepath.Join(src, fmt.Sprintf("f%03d", i)), buf.Bytes(), 0o644)
		total += int64(n)
	}
	name = filepath.Join(dir, "bench.wim")
	oracle.Run(b, append([]string{"capture", src, name}, args...)...)
	return name, total
}

// BenchmarkOpenRead opens an LZX WIM and reads every blob in storage
// order, digests checked (ReadBlobs; large blobs decompress in parallel).
func BenchmarkOpenRead(b *testing.B) {
	for _, c := range []struct {
		name string
		args []string
	}{
		{"LZX", []string{"--compress=lzx"}},
		{"XPRESS", []string{"--compress=xpress"}},
		{"LZMS-solid", []string{"--solid"}},
	} {
		b.Run(c.name, func(b *testing.B) {
			name, total := benchWIM(b, c.args...)
			b.SetBytes(total)
			b.ResetTimer()
			for range b.N {
				w, err := Open(name, nil)
				if err != nil {
					b.Fatal(err)
				}
				var hashes []Hash
				for _, e := range w.Blobs() {
					if !e.IsMetadata() {
						hashes = append(hashes, e.Hash)
					}
				}
				var n int64
				err = w.ReadBlobs(context.Background(), hashes, func(e BlobEntry, r io.Reader) error {
					m, err := io.Copy(io.Discard, r)
					n += m
					return err
				})
				if err != nil {
					b.Fatal(err)
				}
				if n < total {
					b.Fatalf("read %d of %d bytes", n, total)
				}
				w.Close()
			}
		})
	}
}

// BenchmarkVerify checks every blob of an LZX WIM with Verify (blobs in
// parallel).
func BenchmarkVerify(b *testing.B) {
	name, total := benchWIM(b, "--compress=lzx")
	w, err := Open(name, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	b.SetBytes(total)
	b.ResetTimer()
	for range b.N {
		if err := w.Verify(context.Background(), nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWimlibVerify is the reference: `wimlib-imagex verify` of the
// same file (process start and metadata checks included).
func BenchmarkWimlibVerify(b *testing.B) {
	name, total := benchWIM(b, "--compress=lzx")
	b.SetBytes(total)
	b.ResetTimer()
	for range b.N {
		oracle.Run(b, "verify", name)
	}
}
