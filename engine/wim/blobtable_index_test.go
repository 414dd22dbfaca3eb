package wim

import (
	"fmt"
	"testing"
)

// TestBlobIndex: every blob inserted is found at its index, a later entry
// repeating a digest is refused, absent digests are not found, and an
// index made too small (or empty, as a pipe's) grows.
func TestBlobIndex(t *testing.T) {
	for _, tc := range []struct {
		n, room int
	}{{0, 0}, {1, 0}, {7, 7}, {100, 0}, {1000, 1000}, {5000, 10}} {
		t.Run(fmt.Sprintf("%d in %d", tc.n, tc.room), func(t *testing.T) {
			var entries []BlobEntry
			x := newBlobIndex(tc.room)
			if tc.room == 0 {
				x = blobIndex{}
			}
			hashOf := func(i int) Hash {
				var h Hash
				// Digests alike but for one byte, and alike in the
				// first eight bytes: the keyed hash spreads them.
				h[19], h[18], h[0] = byte(i), byte(i>>8), 0xAA
				return h
			}
			for i := range tc.n {
				entries = append(entries, BlobEntry{Hash: hashOf(i)})
				if !x.insert(entries, len(entries)-1) {
					t.Fatalf("entry %d refused", i)
				}
				// The same digest again: refused.
				entries = append(entries, BlobEntry{Hash: hashOf(i)})
				if x.insert(entries, len(entries)-1) {
					t.Fatalf("duplicate of entry %d accepted", i)
				}
				entries = entries[:len(entries)-1]
			}
			for i := range tc.n {
				if j, ok := x.find(entries, hashOf(i)); !ok || j != i {
					t.Fatalf("find(entry %d) = %d, %v", i, j, ok)
				}
			}
			for i := tc.n; i < tc.n+50; i++ {
				if j, ok := x.find(entries, hashOf(i)); ok {
					t.Fatalf("absent digest %d found at %d", i, j)
				}
			}
			if x.n != tc.n || len(x.slots) < tc.n || (tc.n > 0 && x.n*10 > len(x.slots)*7) {
				t.Fatalf("%d used of %d slots for %d entries", x.n, len(x.slots), tc.n)
			}
		})
	}
}
