package lzms

// prefetch3 starts the cache misses of the three words with PREFETCHT0 and
// returns 0. Unlike a load kept in a sum, a prefetch retires at once: the
// interval tree's walk (lcpFinder.advance) asks for words it needs a few
// positions on, and a load that missed there held up the retirement of the
// parse's work behind it.
//
//go:noescape
func prefetch3(a, b, c *uint32) uint32
