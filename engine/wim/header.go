package wim

import (
	"encoding/binary"
	"fmt"
	"math/bits"
)

// HeaderSize is the size of the WIM header at the start of every WIM file.
const HeaderSize = 208

// Magic is the magic number a WIM file starts with.
var Magic = [8]byte{'M', 'S', 'W', 'I', 'M', 0, 0, 0}

// pipableMagic starts wimlib's "pipable" WIM variant, which this package
// does not read.
var pipableMagic = [8]byte{'W', 'L', 'P', 'W', 'M', 0, 0, 0}

// WIM versions (Header.Version).
const (
	VersionDefault = 0x10D00 // resources compressed one blob at a time
	VersionSolid   = 0xE00   // solid resources and LZMS may be present
)

// Header flags (Header.Flags).
const (
	FlagReserved        = 0x00000001
	FlagCompression     = 0x00000002 // resources may be compressed; one codec flag is set
	FlagReadOnly        = 0x00000004
	FlagSpanned         = 0x00000008 // part of a split set
	FlagResourceOnly    = 0x00000010 // no images, only file data (WDS Res.rwm)
	FlagMetadataOnly    = 0x00000020 // only metadata; file data lives elsewhere
	FlagWriteInProgress = 0x00000040
	FlagRPFix           = 0x00000080 // reparse point fix-up
	FlagCompressXPRESS  = 0x00020000
	FlagCompressLZX     = 0x00040000
	FlagCompressLZMS    = 0x00080000
	FlagCompressXPRESS2 = 0x00200000 // XPRESS written by some Microsoft tools
)

// maxImages is the largest image count this package accepts, as in wimlib.
const maxImages = 65535

// Compression identifies a codec. The values are those of the solid
// resource header (0 none, 1 XPRESS, 2 LZX, 3 LZMS).
type Compression int

// Codecs.
const (
	None Compression = iota
	XPRESS
	LZX
	LZMS
)

// String returns the codec's name as wimlib-imagex prints it.
func (c Compression) String() string {
	switch c {
	case None:
		return "None"
	case XPRESS:
		return "XPRESS"
	case LZX:
		return "LZX"
	case LZMS:
		return "LZMS"
	}
	return fmt.Sprintf("Compression(%d)", int(c))
}

// headerFlag returns the header flag selecting c (0 for None).
func (c Compression) headerFlag() uint32 {
	switch c {
	case XPRESS:
		return FlagCompressXPRESS
	case LZX:
		return FlagCompressLZX
	case LZMS:
		return FlagCompressLZMS
	}
	return 0
}

// chunkSizeRange returns the chunk sizes c accepts (wimlib's limits).
func (c Compression) chunkSizeRange() (lo, hi uint32) {
	switch c {
	case XPRESS:
		return 1 << 12, 1 << 16
	case LZX:
		return 1 << 15, 1 << 21
	case LZMS:
		return 1 << 15, 1 << 30
	}
	return 0, 0
}

// ValidChunkSize reports whether size is a chunk size c can use: a power of
// two within the codec's limits (XPRESS 4 KiB–64 KiB, LZX 32 KiB–2 MiB,
// LZMS 32 KiB–1 GiB).
func (c Compression) ValidChunkSize(size uint32) bool {
	lo, hi := c.chunkSizeRange()
	return c != None && bits.OnesCount32(size) == 1 && size >= lo && size <= hi
}

// Header is the 208-byte header at the start of a WIM file.
type Header struct {
	Magic        [8]byte
	Version      uint32
	Flags        uint32
	ChunkSize    uint32 // uncompressed chunk size of non-solid compressed resources
	GUID         [16]byte
	Part         uint16 // 1-based part number in a split set (1 when not split)
	TotalParts   uint16
	ImageCount   uint32
	BlobTable    ResourceHeader
	XML          ResourceHeader
	BootMetadata ResourceHeader // copy of the boot image's metadata reshdr, or zero
	BootIndex    uint32         // 1-based index of the bootable image, 0 for none
	Integrity    ResourceHeader
}

// Compression returns the codec of the file's non-solid compressed
// resources, from the header flags. An unknown combination reports None;
// ParseHeader rejects those.
func (h Header) Compression() Compression {
	if h.Flags&FlagCompression == 0 {
		return None
	}
	switch {
	case h.Flags&FlagCompressLZX != 0:
		return LZX
	case h.Flags&(FlagCompressXPRESS|FlagCompressXPRESS2) != 0:
		return XPRESS
	case h.Flags&FlagCompressLZMS != 0:
		return LZMS
	}
	return None
}

// SetCompression sets the compression flags and chunk size for c: chunk 0
// for None, otherwise chunkSize (which must suit c).
func (h *Header) SetCompression(c Compression, chunkSize uint32) {
	h.Flags &^= FlagCompression | FlagCompressXPRESS | FlagCompressXPRESS2 | FlagCompressLZX | FlagCompressLZMS
	if c == None {
		h.ChunkSize = 0
		return
	}
	h.Flags |= FlagCompression | c.headerFlag()
	h.ChunkSize = chunkSize
}

// MarshalBinary encodes h in its 208-byte on-disk form. The header size
// field is always 208 and the unused tail is zero; a zero Magic is written
// as the WIM magic.
func (h *Header) MarshalBinary() ([]byte, error) {
	b := make([]byte, HeaderSize)
	h.encode(b)
	return b, nil
}

func (h *Header) encode(b []byte) {
	_ = b[HeaderSize-1]
	magic := h.Magic
	if magic == ([8]byte{}) {
		magic = Magic
	}
	copy(b[0:8], magic[:])
	le := binary.LittleEndian
	le.PutUint32(b[0x08:], HeaderSize)
	le.PutUint32(b[0x0C:], h.Version)
	le.PutUint32(b[0x10:], h.Flags)
	le.PutUint32(b[0x14:], h.ChunkSize)
	copy(b[0x18:0x28], h.GUID[:])
	le.PutUint16(b[0x28:], h.Part)
	le.PutUint16(b[0x2A:], h.TotalParts)
	le.PutUint32(b[0x2C:], h.ImageCount)
	h.BlobTable.Encode(b[0x30:])
	h.XML.Encode(b[0x48:])
	h.BootMetadata.Encode(b[0x60:])
	le.PutUint32(b[0x78:], h.BootIndex)
	h.Integrity.Encode(b[0x7C:])
	clear(b[0x94:HeaderSize])
}

// UnmarshalBinary decodes and checks a header; see ParseHeader.
func (h *Header) UnmarshalBinary(b []byte) error {
	v, err := ParseHeader(b)
	if err != nil {
		return err
	}
	*h = v
	return nil
}

// ParseHeader decodes the header at the start of b and checks what can be
// checked without the rest of the file: magic, header size, version, part
// numbers, image count, compression flags and chunk size. Errors are
// *FormatError with File empty.
func ParseHeader(b []byte) (Header, error) {
	var h Header
	if len(b) < HeaderSize {
		return h, &FormatError{Offset: int64(len(b)), Msg: fmt.Sprintf("file too short for a WIM header (%d of %d bytes)", len(b), HeaderSize)}
	}
	copy(h.Magic[:], b[0:8])
	if h.Magic != Magic {
		if h.Magic == pipableMagic {
			return h, &FormatError{Msg: "pipable WIM (wimlib extension) is not supported; convert it with wimlib-imagex export"}
		}
		return h, &FormatError{Msg: "not a WIM file (bad magic)"}
	}
	le := binary.LittleEndian
	if n := le.Uint32(b[0x08:]); n != HeaderSize {
		return h, &FormatError{Offset: 0x08, Msg: fmt.Sprintf("header size is %d, want %d", n, HeaderSize)}
	}
	h.Version = le.Uint32(b[0x0C:])
	h.Flags = le.Uint32(b[0x10:])
	h.ChunkSize = le.Uint32(b[0x14:])
	copy(h.GUID[:], b[0x18:0x28])
	h.Part = le.Uint16(b[0x28:])
	h.TotalParts = le.Uint16(b[0x2A:])
	h.ImageCount = le.Uint32(b[0x2C:])
	h.BlobTable = decodeResourceHeader(b[0x30:])
	h.XML = decodeResourceHeader(b[0x48:])
	h.BootMetadata = decodeResourceHeader(b[0x60:])
	h.BootIndex = le.Uint32(b[0x78:])
	h.Integrity = decodeResourceHeader(b[0x7C:])

	if h.Version != VersionDefault && h.Version != VersionSolid {
		return h, &FormatError{Offset: 0x0C, Msg: fmt.Sprintf("unknown WIM version 0x%x", h.Version)}
	}
	if h.TotalParts == 0 || h.Part == 0 || h.Part > h.TotalParts {
		return h, &FormatError{Offset: 0x28, Msg: fmt.Sprintf("invalid part number %d of %d", h.Part, h.TotalParts)}
	}
	if h.ImageCount > maxImages {
		return h, &FormatError{Offset: 0x2C, Msg: fmt.Sprintf("image count %d exceeds %d", h.ImageCount, maxImages)}
	}
	if h.Flags&FlagCompression != 0 {
		c := h.Compression()
		if c == None {
			return h, &FormatError{Offset: 0x10, Msg: fmt.Sprintf("compression flag set without a known codec (flags 0x%x)", h.Flags)}
		}
		if !c.ValidChunkSize(h.ChunkSize) {
			return h, &FormatError{Offset: 0x14, Msg: fmt.Sprintf("invalid chunk size %d for %v compression", h.ChunkSize, c)}
		}
	}
	return h, nil
}
