package lzms

import (
	"bytes"
	"fmt"
	"runtime"
	"testing"
)

// inPlaceBuf returns a copy of data in a buffer with InPlacePad bytes of
// room past it, filled with garbage (CompressInPlace must zero what it
// reads there).
func inPlaceBuf(data []byte) []byte {
	b := make([]byte, len(data), len(data)+InPlacePad)
	copy(b, data)
	pad := b[len(data) : len(data)+InPlacePad]
	for i := range pad {
		pad[i] = 0xA5
	}
	return b
}

// TestCompressInPlace: CompressInPlace writes what Compress writes, byte
// for byte, chunk after chunk with one compressor (small chunks and, from
// lcpitMinChunk bytes, interval-tree ones), including when the output does
// not fit; it filters src itself, not a copy; and src is as given when it
// returns.
func TestCompressInPlace(t *testing.T) {
	const big = lcpitMinChunk + 256<<10
	bigChunk := append(realCode(big/2, "/usr/bin/bash"), realText(big/2)...)
	var inputs []ctInput
	for _, in := range ctInputs(t, 128<<10) {
		inputs = append(inputs, ctInput{in.name, in.data[:min(len(in.data), 128<<10)]})
	}
	inputs = append(inputs, ctInput{"code+text-" + fmt.Sprint(big), bigChunk},
		ctInput{"synthx86-" + fmt.Sprint(big), synthX86(big, 12)})
	plain := mustCompressor(t, big)
	inPlace := mustCompressor(t, big)
	d := mustDecompressor(t, big)
	defer func() { compressHook = nil }()
	for _, in := range inputs {
		for _, tc := range []struct {
			name   string
			dstLen func(n int) int
		}{
			{"len-1", func(n int) int { return n - 1 }},
			{"too small", func(n int) int { return n / 64 }},
		} {
			t.Run(in.name+"/"+tc.name, func(t *testing.T) {
				dl := tc.dstLen(len(in.data))
				want := make([]byte, dl)
				wn := plain.Compress(want, in.data)
				src := inPlaceBuf(in.data)
				filtered := false
				compressHook = func(int) {
					filtered = filtered || !bytes.Equal(src, in.data)
				}
				got := make([]byte, dl)
				gn := inPlace.CompressInPlace(got, src)
				compressHook = nil
				if i := firstDiff(src, in.data); i >= 0 {
					t.Fatalf("src differs from the data given at byte %d after CompressInPlace", i)
				}
				if gn != wn || !bytes.Equal(got[:gn], want[:wn]) {
					t.Fatalf("CompressInPlace wrote %d bytes, Compress %d (same bytes: %v)", gn, wn, bytes.Equal(got[:gn], want[:wn]))
				}
				if changes := !bytes.Equal(in.data, applied(in.data)); filtered != changes {
					t.Errorf("src was filtered in place: %v, want %v (the filter changes this data: %v)", filtered, changes, changes)
				}
				if gn > 0 {
					out := make([]byte, len(in.data))
					if err := d.Decompress(out, got[:gn]); err != nil || !bytes.Equal(out, in.data) {
						t.Fatalf("decompressed output differs from the data (%v)", err)
					}
				}
			})
		}
	}
}

// applied returns data through the x86 filter.
func applied(data []byte) []byte {
	var x x86State
	x.init()
	b := bytes.Clone(data)
	x.apply(b)
	return b
}

// TestCompressInPlacePanic: a panic while compressing (a codec bug: the
// WIM writer then stores the chunk as it is) leaves src as it was given,
// and the compressor works as before afterwards.
func TestCompressInPlacePanic(t *testing.T) {
	data := synthX86(3*encWindow, 21)
	c := mustCompressor(t, len(data))
	want := make([]byte, len(data))
	wn := c.Compress(want, data)
	if wn == 0 {
		t.Fatal("x86-like data did not shrink")
	}
	src := inPlaceBuf(data)
	defer func() { compressHook = nil }()
	for _, at := range []int{0, 1} {
		t.Run(fmt.Sprint("window ", at), func(t *testing.T) {
			windows := 0
			compressHook = func(int) {
				if windows == at {
					panic("test: codec bug")
				}
				windows++
			}
			func() {
				defer func() {
					if recover() == nil {
						t.Fatal("no panic")
					}
				}()
				c.CompressInPlace(make([]byte, len(data)), src)
			}()
			compressHook = nil
			if i := firstDiff(src, data); i >= 0 {
				t.Fatalf("after a panic, src differs from the data given at byte %d", i)
			}
			got := make([]byte, len(data))
			if gn := c.CompressInPlace(got, src); gn != wn || !bytes.Equal(got[:gn], want[:wn]) {
				t.Fatalf("after a panic: %d bytes, before %d (same bytes: %v)", gn, wn, bytes.Equal(got[:gn], want[:wn]))
			}
		})
	}
}

// TestCompressInPlaceShortCap: without InPlacePad bytes of room past src,
// CompressInPlace compresses a copy and never writes into src's backing
// array.
func TestCompressInPlaceShortCap(t *testing.T) {
	data := synthX86(64<<10, 22)
	c := mustCompressor(t, len(data))
	want := make([]byte, len(data))
	wn := c.Compress(want, data)
	for _, room := range []int{0, InPlacePad - 1} {
		back := inPlaceBuf(data)[:len(data)+room]
		orig := bytes.Clone(back)
		src := back[: len(data) : len(data)+room]
		filtered := false
		compressHook = func(int) { filtered = filtered || !bytes.Equal(back, orig) }
		got := make([]byte, len(data))
		gn := c.CompressInPlace(got, src)
		compressHook = nil
		if filtered || !bytes.Equal(back, orig) {
			t.Errorf("room %d: src's backing array was written (while compressing: %v)", room, filtered)
		}
		if gn != wn || !bytes.Equal(got[:gn], want[:wn]) {
			t.Errorf("room %d: %d bytes, Compress %d (same bytes: %v)", room, gn, wn, bytes.Equal(got[:gn], want[:wn]))
		}
	}
}

// TestCompressInPlaceMemory: CompressInPlace makes no copy of the chunk:
// a compressor's first chunk allocates its trees and tables (8 bytes a
// byte of chunk with the interval tree, and up to 6.5 MiB), not the 9
// bytes a byte of Compress; and once it has seen a chunk of the largest
// size, nothing.
func TestCompressInPlaceMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("8 MiB chunk")
	}
	data := append(realText(4<<20), realCode(4<<20, "/usr/bin/*")...)
	src := inPlaceBuf(data)
	c := mustCompressor(t, len(src))
	dst := make([]byte, len(src)-1)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	n := c.CompressInPlace(dst, src)
	runtime.ReadMemStats(&after)
	if n == 0 {
		t.Fatal("8 MiB of text and code did not shrink")
	}
	const tables = 6<<20 + 512<<10
	got, limit := after.TotalAlloc-before.TotalAlloc, uint64(8*len(src)+tables)
	t.Logf("allocated %d bytes for %d -> %d bytes", got, len(src), n)
	if got > limit {
		t.Errorf("compressing %d bytes in place allocated %d bytes, over %d", len(src), got, limit)
	}
	if raceEnabled {
		return
	}
	// AllocsPerRun counts the whole process's allocations: a cleanup
	// the runtime runs meanwhile (an earlier test's unreachable
	// mapping, see mapWords) was once counted as this call's. An
	// allocation of CompressInPlace's own shows twice in a row.
	compress := func() { c.CompressInPlace(dst, src) }
	if allocs := testing.AllocsPerRun(1, compress); allocs != 0 {
		if again := testing.AllocsPerRun(1, compress); again != 0 {
			t.Errorf("%v and %v allocations per CompressInPlace of a chunk of a size seen before", allocs, again)
		} else {
			t.Logf("%v allocations once, none when measured again: not CompressInPlace's", allocs)
		}
	}
}
