package wim

import "slices"

// solidSortKey places a blob in a solid resource, so that files alike sit
// together and compress better, in the order wimlib gives them (its
// src/solid.c): blobs without a file name first (reparse data, named
// streams, blobs already in solid resources, kept in the order they come);
// then those whose file name has no extension, by name; then the others by
// extension, then name. Names compare upper-cased (the NTFS mapping), as
// wimlib compares them; the order they came in breaks ties, which keeps
// the result the same from run to run.
type solidSortKey struct {
	named  bool
	hasExt bool
	ext    []uint16 // upper-cased, after the last '.'
	name   []uint16 // upper-cased
}

// newSolidSortKey returns the key of a blob that is the data of a file
// named name ("": none).
func newSolidSortKey(name string) solidSortKey {
	if name == "" {
		return solidSortKey{}
	}
	up := upcaseTable()
	u := stringToUnits(name)
	for i, c := range u {
		u[i] = up[c]
	}
	k := solidSortKey{named: true, name: u}
	for i := len(u) - 1; i >= 0; i-- {
		if u[i] == '.' {
			k.hasExt, k.ext = true, u[i+1:]
			break
		}
	}
	return k
}

// compare orders a and b; 0 leaves the order they came in.
func (a solidSortKey) compare(b solidSortKey) int {
	if a.named != b.named {
		if a.named {
			return 1
		}
		return -1
	}
	if a.hasExt != b.hasExt {
		if a.hasExt {
			return 1
		}
		return -1
	}
	if c := slices.Compare(a.ext, b.ext); c != 0 {
		return c
	}
	return slices.Compare(a.name, b.name)
}

// shorterName reports whether file name a is shorter than b in UTF-16
// units, the measure by which the shortest of a hard-linked file's names
// gives its data's place in the solid order (wimlib's rule; the first name
// wins a tie).
func shorterName(a, b string) bool {
	return len(stringToUnits(a)) < len(stringToUnits(b))
}
