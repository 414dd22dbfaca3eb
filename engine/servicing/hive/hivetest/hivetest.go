// Package hivetest builds small registry hive files for tests, so that no
// real Windows hive is ever needed.
package hivetest

import "encoding/binary"

// Minimal builds the smallest valid hive: a base block, one 4 KiB hbin
// holding the root key (an nk cell named name), its security descriptor
// (an sk cell) and one free cell. It follows the regf format as
// documented by the hivex and libregf projects; no Windows hive is used.
func Minimal(name string) []byte {
	const (
		base    = 0x1000
		hbinLen = 0x1000
		nkOff   = 0x20 // offsets below are relative to the first hbin
	)
	b := make([]byte, base+hbinLen)
	le := binary.LittleEndian

	// Base block.
	copy(b, "regf")
	le.PutUint32(b[0x04:], 1)     // primary sequence number
	le.PutUint32(b[0x08:], 1)     // secondary sequence number (equal: clean)
	le.PutUint32(b[0x14:], 1)     // major version
	le.PutUint32(b[0x18:], 3)     // minor version
	le.PutUint32(b[0x1C:], 0)     // file type: primary
	le.PutUint32(b[0x20:], 1)     // file format: direct memory load
	le.PutUint32(b[0x24:], nkOff) // root cell offset
	le.PutUint32(b[0x28:], hbinLen)
	le.PutUint32(b[0x2C:], 1) // clustering factor
	FixChecksum(b)

	// hbin header.
	h := b[base:]
	copy(h, "hbin")
	le.PutUint32(h[4:], 0) // offset of this hbin
	le.PutUint32(h[8:], hbinLen)

	// Root nk cell.
	nkLen := (80 + len(name) + 7) &^ 7
	skOff := nkOff + nkLen
	nk := h[nkOff:]
	le.PutUint32(nk[0:], uint32(-int32(nkLen)))
	copy(nk[4:], "nk")
	le.PutUint16(nk[6:], 0x2C)        // KEY_HIVE_ENTRY | KEY_NO_DELETE | KEY_COMP_NAME
	le.PutUint32(nk[20:], 0)          // parent
	le.PutUint32(nk[32:], 0xFFFFFFFF) // subkey list
	le.PutUint32(nk[36:], 0xFFFFFFFF) // volatile subkey list
	le.PutUint32(nk[44:], 0xFFFFFFFF) // value list
	le.PutUint32(nk[48:], uint32(skOff))
	le.PutUint32(nk[52:], 0xFFFFFFFF) // class name
	le.PutUint16(nk[76:], uint16(len(name)))
	copy(nk[80:], name)

	// sk cell with a self-relative security descriptor that has no
	// owner, group or ACLs.
	skLen := 48
	sk := h[skOff:]
	le.PutUint32(sk[0:], uint32(-int32(skLen))) // negative: allocated
	copy(sk[4:], "sk")
	le.PutUint32(sk[8:], uint32(skOff))  // next sk
	le.PutUint32(sk[12:], uint32(skOff)) // previous sk
	le.PutUint32(sk[16:], 1)             // reference count
	le.PutUint32(sk[20:], 20)            // descriptor size
	sk[24] = 1                           // revision
	le.PutUint16(sk[26:], 0x8000)        // SE_SELF_RELATIVE

	// The rest of the hbin is one free cell.
	free := skOff + skLen
	le.PutUint32(h[free:], uint32(hbinLen-free))
	return b
}

// FixChecksum recomputes the base block checksum of a hive of at least
// 512 bytes (the XOR of its first 127 little-endian 32-bit words).
func FixChecksum(b []byte) {
	if len(b) < 0x200 {
		return
	}
	var sum uint32
	for i := 0; i < 0x1FC; i += 4 {
		sum ^= binary.LittleEndian.Uint32(b[i:])
	}
	binary.LittleEndian.PutUint32(b[0x1FC:], sum)
}
