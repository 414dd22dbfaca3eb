package lzms

import "testing"

// TestMapWords: the interval tree's words of a large chunk come zeroed in
// a mapping of their own, writable, and freed without fault; small ones
// stay on the heap.
func TestMapWords(t *testing.T) {
	if s, m := mapWords(hugePage/4 - 1); s != nil || m != nil {
		t.Fatalf("%d words: got a mapping", hugePage/4-1)
	}
	const n = 1 << 20
	s, m := mapWords(n)
	if m == nil {
		t.Skip("the system refused the mapping")
	}
	if len(s) != n {
		t.Fatalf("got %d words, want %d", len(s), n)
	}
	for i, w := range s {
		if w != 0 {
			t.Fatalf("word %d is %d, want 0", i, w)
		}
	}
	s[0], s[n-1] = 1, 2
	m.free()

	// A finder that grows frees the mapping it replaces.
	var f lcpFinder
	data := realText(4<<20 + encPad)
	f.load(data[:1<<20])
	old := f.ivMap
	f.load(data[:4<<20])
	if f.ivMap == nil || f.ivMap == old {
		t.Fatalf("finder of 4 MiB: mapping %p, was %p", f.ivMap, old)
	}
}
