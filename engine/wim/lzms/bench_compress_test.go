package lzms

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/wimconsole/wimconsole/internal/oracle/libwim"
)

// benchCompressInput is 512 KiB each of text, x86 code, delta-like data,
// zeros and random data.
func benchCompressInput() []byte {
	const k = 512 << 10
	return slices.Concat(realText(k), realCode(3*k, "/usr/bin/bash")[2*k:], synthDelta(k, 1),
		make([]byte, k), randomBytes(k, 1))
}

var benchCompressChunks = []benchCase{{"chunk=32K", 32 << 10}, {"chunk=128K", 128 << 10}, {"chunk=2M", 2 << 20}}

// BenchmarkCompress compresses the benchmark input in chunks, as the WIM
// writer does (dst one byte shorter than the chunk), and reports the output
// size over the input's as "ratio".
func BenchmarkCompress(b *testing.B) {
	data := benchCompressInput()
	for _, bc := range benchCompressChunks {
		b.Run(bc.name, func(b *testing.B) {
			c := mustCompressor(b, bc.chunkSize)
			dst := make([]byte, bc.chunkSize)
			var out int
			b.ReportAllocs()
			benchLoop(b, len(data), func() {
				out = 0
				for off := 0; off < len(data); off += bc.chunkSize {
					src := data[off:min(off+bc.chunkSize, len(data))]
					n := c.Compress(dst[:len(src)-1], src)
					if n == 0 {
						n = len(src)
					}
					out += n
				}
			})
			b.ReportMetric(float64(out)/float64(len(data)), "ratio")
		})
	}
}

// BenchmarkCompressLibwim compresses the same input with libwim's default
// level (built with -tags libwim). The oracle wrapper creates a compressor
// and copies the chunk through C memory on every call, which this figure
// includes.
func BenchmarkCompressLibwim(b *testing.B) {
	libwim.Need(b)
	data := benchCompressInput()
	for _, bc := range benchCompressChunks {
		b.Run(bc.name, func(b *testing.B) {
			var out int
			benchLoop(b, len(data), func() {
				out = 0
				for off := 0; off < len(data); off += bc.chunkSize {
					src := data[off:min(off+bc.chunkSize, len(data))]
					c, err := libwim.Compress(libwim.LZMS, bc.chunkSize, 0, src)
					if err != nil {
						b.Fatal(err)
					}
					n := len(c)
					if c == nil {
						n = len(src)
					}
					out += n
				}
			})
			b.ReportMetric(float64(out)/float64(len(data)), "ratio")
		})
	}
}

// benchKinds are the benchmark input's kinds, 1 MiB each, compressed apart
// in 128 KiB chunks by BenchmarkCompressKinds and BenchmarkCompressKindsLibwim:
// the gap between the two compressors differs much between kinds (random
// data, as in the .gz and .png files of a Windows tree, costs a match
// finder the most for nothing).
func benchKinds() []struct {
	name string
	data []byte
} {
	const k = 1 << 20
	return []struct {
		name string
		data []byte
	}{
		{"text", realText(k)},
		{"code", realCode(k, "/usr/bin/*")},
		{"delta", synthDelta(k, 1)},
		{"random", randomBytes(k, 1)},
	}
}

// BenchmarkCompressKinds compresses each kind of benchmarkKinds in 128 KiB
// chunks.
func BenchmarkCompressKinds(b *testing.B) {
	const cs = 128 << 10
	for _, kd := range benchKinds() {
		b.Run(kd.name, func(b *testing.B) {
			c := mustCompressor(b, cs)
			dst := make([]byte, cs)
			var out int
			benchLoop(b, len(kd.data), func() {
				out = 0
				for off := 0; off < len(kd.data); off += cs {
					src := kd.data[off:min(off+cs, len(kd.data))]
					n := c.Compress(dst[:len(src)-1], src)
					if n == 0 {
						n = len(src)
					}
					out += n
				}
			})
			b.ReportMetric(float64(out)/float64(len(kd.data)), "ratio")
		})
	}
}

// BenchmarkCompressKindsLibwim is BenchmarkCompressKinds with libwim's
// default level.
func BenchmarkCompressKindsLibwim(b *testing.B) {
	libwim.Need(b)
	const cs = 128 << 10
	for _, kd := range benchKinds() {
		b.Run(kd.name, func(b *testing.B) {
			var out int
			benchLoop(b, len(kd.data), func() {
				out = 0
				for off := 0; off < len(kd.data); off += cs {
					src := kd.data[off:min(off+cs, len(kd.data))]
					c, err := libwim.Compress(libwim.LZMS, cs, 0, src)
					if err != nil {
						b.Fatal(err)
					}
					n := len(c)
					if c == nil {
						n = len(src)
					}
					out += n
				}
			})
			b.ReportMetric(float64(out)/float64(len(kd.data)), "ratio")
		})
	}
}

// benchDirChunk is the first size bytes of the regular files under the
// directory named by $WIMBENCH_LZMS_DIR (in walk order), as a solid WIM
// resource holds them; the benchmark skips without it.
func benchDirChunk(b *testing.B, size int) []byte {
	dir := os.Getenv("WIMBENCH_LZMS_DIR")
	if dir == "" {
		b.Skip("WIMBENCH_LZMS_DIR names no directory of files to compress")
	}
	var data []byte
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() || len(data) >= size {
			return err
		}
		f, err := os.ReadFile(path)
		data = append(data, f...)
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	return data[:min(size, len(data))]
}

// BenchmarkCompressSolid compresses one solid-sized chunk (64 MiB, as
// wimlib-imagex --solid makes them) of the files under $WIMBENCH_LZMS_DIR
// with our compressor ("ours") and with libwim's ("libwim", with
// -tags libwim), reporting CPU throughput and the ratio.
func BenchmarkCompressSolid(b *testing.B) {
	const cs = 64 << 20
	data := benchDirChunk(b, cs)
	b.Run("ours", func(b *testing.B) {
		c := mustCompressor(b, len(data))
		dst := make([]byte, len(data))
		var out int
		benchLoop(b, len(data), func() { out = c.Compress(dst[:len(data)-1], data) })
		b.ReportMetric(float64(out)/float64(len(data)), "ratio")
	})
	b.Run("libwim", func(b *testing.B) {
		libwim.Need(b)
		var out int
		benchLoop(b, len(data), func() {
			c, err := libwim.Compress(libwim.LZMS, cs, 0, data)
			if err != nil {
				b.Fatal(err)
			}
			out = len(c)
		})
		b.ReportMetric(float64(out)/float64(len(data)), "ratio")
	})
}
