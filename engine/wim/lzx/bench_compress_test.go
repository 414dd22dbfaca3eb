package lzx

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/wimconsole/wimconsole/internal/oracle/libwim"
)

// ctBenchInput is the benchmark buffer: 512 KiB of each corpus kind.
func ctBenchInput(b *testing.B) []byte {
	b.Helper()
	var parts [][]byte
	for _, k := range ctCorpus(512 << 10) {
		parts = append(parts, k.data)
	}
	data := slices.Concat(parts...)
	if len(data) == 0 {
		b.Skip("no corpus files on this machine")
	}
	return data
}

// ctReportCPU reports the speed by the process's CPU time since cpu0, as
// "cpu-MB/s", for the b.N passes over n bytes.
func ctReportCPU(b *testing.B, cpu0 time.Duration, n int) {
	if cpu := ctCPUTime() - cpu0; cpu0 != 0 && cpu > 0 {
		b.ReportMetric(float64(n)*float64(b.N)/1e6/cpu.Seconds(), "cpu-MB/s")
	}
}

// ctBenchLevels are the levels the benchmarks run: ours by name, and the
// wimlib level each stands against.
var ctBenchLevels = []struct {
	name  string
	level int
}{
	{"fast", LevelFast},
	{"default", LevelDefault},
	{"slow", LevelSlow},
}

// BenchmarkCompress compresses the benchmark buffer in 32 KiB chunks, as
// the WIM writer does (dst one byte shorter than the chunk), at each level.
func BenchmarkCompress(b *testing.B) {
	const chunk = 32768
	data := ctBenchInput(b)
	for _, lv := range ctBenchLevels {
		b.Run(lv.name, func(b *testing.B) {
			c, err := NewCompressorLevel(chunk, lv.level)
			if err != nil {
				b.Fatal(err)
			}
			dst := make([]byte, chunk)
			var out int
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			cpu0 := ctCPUTime()
			for b.Loop() {
				out = 0
				for off := 0; off < len(data); off += chunk {
					src := data[off:min(off+chunk, len(data))]
					n := c.Compress(dst[:len(src)-1], src)
					if n == 0 {
						n = len(src)
					}
					out += n
				}
			}
			ctReportCPU(b, cpu0, len(data))
			b.ReportMetric(float64(out)/float64(len(data)), "ratio")
		})
	}
}

// BenchmarkCompressLibwim compresses the same buffer with libwim at wimlib
// levels 20, 50 (its default) and 100 (built with -tags libwim). The
// oracle wrapper creates a compressor and copies the chunk through C
// memory on every call, which this figure includes.
func BenchmarkCompressLibwim(b *testing.B) {
	libwim.Need(b)
	const chunk = 32768
	data := ctBenchInput(b)
	for _, lv := range ctBenchLevels {
		b.Run(fmt.Sprint(lv.level), func(b *testing.B) {
			var out int
			b.SetBytes(int64(len(data)))
			cpu0 := ctCPUTime()
			for b.Loop() {
				out = 0
				for off := 0; off < len(data); off += chunk {
					src := data[off:min(off+chunk, len(data))]
					c, err := libwim.Compress(libwim.LZX, chunk, lv.level, src)
					if err != nil {
						b.Fatal(err)
					}
					n := len(c)
					if c == nil {
						n = len(src)
					}
					out += n
				}
			}
			ctReportCPU(b, cpu0, len(data))
			b.ReportMetric(float64(out)/float64(len(data)), "ratio")
		})
	}
}
