package wim

import (
	"encoding/binary"
	"io"
)

// Pipable WIMs are wimlib's streamable variant of the format, made to be
// written to and applied from a pipe in one pass. The facts this package
// relies on, taken from wimlib 1.14 (include/wimlib/header.h PWM_MAGIC,
// include/wimlib/resource.h struct pwm_blob_hdr and struct pwm_chunk_hdr,
// src/write.c write_pipable_wim and write_chunk, src/resource.c
// read_compressed_wim_resource, src/extract.c read_blobs_from_pipe and
// wimlib_extract_image_from_pipe, src/header.c read_wim_header):
//
//   - The file starts with a 208-byte header whose magic is "WLPWM\0\0\0"
//     instead of "MSWIM\0\0\0". This first header has the version, flags,
//     chunk size, GUID, part numbers, image count and boot index, but zero
//     blob table, XML data, boot metadata and integrity entries (they are
//     not known yet when it is written). The complete header, with the same
//     magic, is the last 208 bytes of the file; a reader of a seekable file
//     uses that one.
//   - Layout: header, a copy of the XML data, the metadata resources of the
//     images (image 1 first), the file data, the blob table, the XML data,
//     an optional integrity table, the final header. Nothing lies between
//     these parts.
//   - Every resource but the integrity table (the XML copies and the blob
//     table included) starts with a 40-byte blob header: u64 magic
//     0x2b9b9ba2443db9d8, u64 uncompressed size, the SHA-1 of the
//     uncompressed data (20 bytes), u32 resource flags (metadata 0x2,
//     compressed 0x4). Reshdrs (blob table entries, header entries) point
//     just past this blob header; the stored size does not include it.
//   - A resource without the compressed flag is its data, as in a normal
//     WIM. A compressed one has no chunk table in front: each chunk is a
//     u32 stored size followed by the chunk (stored raw when that size
//     equals the chunk's uncompressed size), and the usual chunk table
//     (chunk count - 1 entries of 4 bytes, 8 when the resource is 4 GiB or
//     more uncompressed, holding chunk offsets that do not count the u32
//     size prefixes) follows the last chunk. A compressed resource may be
//     larger than its data: wimlib never rewrites it uncompressed.
//   - Solid resources are not allowed; every blob is its own resource.
//   - Read from a pipe, a reader takes the first header, reads the XML copy
//     (its flags must have the metadata bit), then one metadata resource per
//     image, then blob after blob by their blob headers, skipping those it
//     does not need (the blob table and the XML data at the end are
//     metadata-flagged blobs like the others) until it has every blob it
//     needs. The header of a further split part ("WLPWM" where a blob
//     header is expected) may appear in between and is skipped.
//   - Split sets (wimlib-imagex split of a pipable WIM, src/split.c and
//     write_wim_part): every part is a pipable file of its own, laid out as
//     above, with the set's GUID, its part number and the part count in
//     both headers and the spanned flag; each part has the XML copy after
//     its first header, part 1 alone the metadata resources, each part its
//     own blobs, blob table and XML data, then the final header. Sent one
//     after the other through a pipe (cat install.swm install2.swm …), the
//     parts read as one pipable WIM. wimlib puts an integrity table in
//     each part when the source had one (or split --check asks), which
//     its own pipe reader then cannot get past; ours skips it (by its
//     shape), and Split writes one in the same cases, where wimlib does.
//   - The integrity table (optional) covers the file from the end of the
//     first header to the end of the blob table, as in a normal WIM.
//
// pipable_test.go checks these against wimlib-imagex 1.14: files it writes
// (capture --pipable, --check, append) read from the file and from a pipe,
// and files written here verified and applied by it, from the file and
// from a pipe. split_test.go (TestSplitPipable) checks pipable split sets
// both ways: wimlib's read here, ours read by wimlib, by --ref and through
// a pipe.
const (
	pwmBlobMagic      = 0x2b9b9ba2443db9d8
	pwmBlobHeaderSize = 40
	pwmChunkHdrSize   = 4
)

// IsPipableMagic reports whether b starts with the magic of a pipable WIM.
func IsPipableMagic(b []byte) bool {
	return len(b) >= 8 && [8]byte(b[:8]) == pipableMagic
}

// Pipable reports whether the file is a pipable WIM (wimlib's streamable
// variant).
func (w *WIM) Pipable() bool { return w.pipable }

// readPipableHeader replaces the first header b of a pipable file by the
// complete header at the end of the file, with the normal WIM magic so that
// ParseHeader checks it; it reports whether the file is pipable.
func (w *WIM) readPipableHeader(b []byte) (bool, error) {
	if !IsPipableMagic(b) {
		return false, nil
	}
	if w.size < 2*HeaderSize {
		return true, errAt(w.name, 0, "pipable WIM of %d bytes is too short to hold its final header (was it being written?)", w.size)
	}
	off := w.size - HeaderSize
	if n, err := w.ra.ReadAt(b[:HeaderSize], off); n < HeaderSize {
		return true, errAt(w.name, off, "reading the final header of a pipable WIM: %v", err)
	}
	if !IsPipableMagic(b) {
		return true, errAt(w.name, off, "pipable WIM does not end with its header (was it cut short or still being written?)")
	}
	copy(b, Magic[:])
	return true, nil
}

// pwmBlobHeader is the header in front of each resource of a pipable WIM.
type pwmBlobHeader struct {
	size  int64
	hash  Hash
	flags uint8
}

func (h pwmBlobHeader) encode(b []byte) {
	le := binary.LittleEndian
	le.PutUint64(b[0:], pwmBlobMagic)
	le.PutUint64(b[8:], uint64(h.size))
	copy(b[16:36], h.hash[:])
	le.PutUint32(b[36:], uint32(h.flags))
}

// chunkTableEntrySize is the size of a non-solid chunk table entry for a
// resource of size bytes.
func chunkTableEntrySize(size int64) int64 {
	if size > 0xFFFFFFFF {
		return 8
	}
	return 4
}

// discard skips n bytes of r.
func discard(r io.Reader, n int64) error {
	m, err := io.CopyN(io.Discard, r, n)
	if m == n {
		return nil
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return err
}
