package wim

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// ---- hostile whole files, for memory tests and /usr/bin/time ----
//
// To make them for measuring by hand:
//
//	WIMCONSOLE_HOSTILE_DIR=/tmp/hostile go test -tags libwim -count=1 -run TestWriteHostileFiles ./engine/wim/
//
// then, for example, /usr/bin/time -v wimconsole-cli dir /tmp/hostile/meta-1g.wim 1
// against /usr/bin/time -v wimlib-imagex dir /tmp/hostile/meta-1g.wim 1
// (scripts/hostile-memory.sh does both for every file).

// hostileChunk is the chunk size of the hostile files' LZX resources.
const hostileChunk = 32 << 10

// hostileSpec describes a hostile WIM: one image whose metadata resource
// (LZX, metaSize bytes) holds a one-file tree followed by fill bytes, and
// XML data xml (UTF-16LE) stored raw after the blob table.
type hostileSpec struct {
	metaSize int64
	fill     byte
	xml      []byte
}

// writeHostileWIM writes spec as the WIM file name. The metadata
// resource's digest is right, so a reader can refuse it only for its size.
// Chunks repeat, so each distinct one is compressed once and the whole
// takes little memory to write.
func writeHostileWIM(name string, spec hostileSpec) error {
	tree, _ := encodeMeta(nil, mDir("", mFile("a.txt", Hash{})))
	if spec.metaSize < int64(len(tree)) {
		return fmt.Errorf("metadata of %d bytes cannot hold the %d-byte tree", spec.metaSize, len(tree))
	}
	comp, err := newCompressor(LZX, hostileChunk, 0)
	if err != nil {
		return err
	}
	compress := func(src []byte) []byte {
		dst := make([]byte, len(src))
		n := compressChunk(comp, dst, src)
		if n == 0 || n >= len(src) {
			return src // stored raw
		}
		return dst[:n]
	}
	// The metadata's chunks: the first holds the tree, the rest fill;
	// the last may be short.
	nchunks := (spec.metaSize + hostileChunk - 1) / hostileChunk
	chunkLen := func(i int64) int64 { return min(hostileChunk, spec.metaSize-i*hostileChunk) }
	plain := func(i int64) []byte {
		b := bytes.Repeat([]byte{spec.fill}, int(chunkLen(i)))
		if i == 0 {
			copy(b, tree)
		}
		return b
	}
	type stored struct{ plain, packed []byte }
	cache := map[int64]stored{}
	chunk := func(i int64) stored {
		key := chunkLen(i)
		if i == 0 {
			key = -1
		}
		if s, ok := cache[key]; ok {
			return s
		}
		p := plain(i)
		s := stored{p, compress(p)}
		cache[key] = s
		return s
	}
	sha := sha1.New()
	var table []byte
	var dataLen int64
	for i := range nchunks {
		c := chunk(i)
		sha.Write(c.plain)
		dataLen += int64(len(c.packed))
		if i < nchunks-1 {
			table = binary.LittleEndian.AppendUint32(table, uint32(dataLen))
		}
	}
	var metaHash Hash
	sha.Sum(metaHash[:0])

	f, err := os.Create(name)
	if err != nil {
		return err
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 1<<20)
	bw.Write(make([]byte, HeaderSize))
	off := int64(HeaderSize)
	bw.Write(table)
	for i := range nchunks {
		bw.Write(chunk(i).packed)
	}
	meta := ResourceHeader{Offset: off, StoredSize: int64(len(table)) + dataLen, Size: spec.metaSize, Flags: ResMetadata | ResCompressed}
	off += meta.StoredSize
	bt := BlobEntry{Res: meta, Part: 1, RefCount: 1, Hash: metaHash}.appendEncode(nil)
	bw.Write(bt)
	blobTable := ResourceHeader{Offset: off, StoredSize: int64(len(bt)), Size: int64(len(bt)), Flags: ResMetadata}
	off += blobTable.StoredSize
	bw.Write(spec.xml)
	xmlRes := ResourceHeader{Offset: off, StoredSize: int64(len(spec.xml)), Size: int64(len(spec.xml)), Flags: ResMetadata}
	if err := bw.Flush(); err != nil {
		return err
	}
	h := Header{Version: VersionDefault, Part: 1, TotalParts: 1, ImageCount: 1, BlobTable: blobTable, XML: xmlRes}
	h.SetCompression(LZX, hostileChunk)
	copy(h.GUID[:], "hostile-memory!!")
	hb, _ := h.MarshalBinary()
	if _, err := f.WriteAt(hb, 0); err != nil {
		return err
	}
	return f.Close()
}

// hostileXML returns XML data of about size bytes (UTF-16LE) describing
// one image: padded with one long DESCRIPTION when shape is "text", with
// many small unknown elements when it is "elements".
func hostileXML(size int, shape string) []byte {
	var sb strings.Builder
	sb.WriteString(`<WIM><TOTALBYTES>0</TOTALBYTES><IMAGE INDEX="1"><NAME>big</NAME>`)
	n := size/2 - sb.Len() - 64
	switch shape {
	case "text":
		sb.WriteString("<DESCRIPTION>")
		sb.WriteString(strings.Repeat("x", max(n, 0)))
		sb.WriteString("</DESCRIPTION>")
	case "elements":
		const el = "<Q>1</Q>"
		sb.WriteString(strings.Repeat(el, max(n, 0)/len(el)))
	}
	sb.WriteString("</IMAGE></WIM>")
	return encodeUTF16(sb.String())
}

// hostileFiles are the hostile files the memory tests open and
// TestWriteHostileFiles writes: name, spec and, when the file is cut
// short, the size to truncate it to (negative: that many bytes off the
// end).
var hostileFiles = []struct {
	name     string
	spec     func() hostileSpec
	truncate int64
}{
	// 1 GiB of metadata in ~4 MB: zeros after the tree, as the issue's.
	{"meta-1g.wim", func() hostileSpec {
		return hostileSpec{metaSize: 1 << 30, xml: hostileXML(256, "text")}
	}, 0},
	// The same, filled with bytes that are not zero.
	{"meta-1g-fill.wim", func() hostileSpec {
		return hostileSpec{metaSize: 1 << 30, fill: 'A', xml: hostileXML(256, "text")}
	}, 0},
	{"xml-120m-text.wim", func() hostileSpec {
		return hostileSpec{metaSize: 4096, xml: hostileXML(120<<20, "text")}
	}, 0},
	{"xml-120m-elements.wim", func() hostileSpec {
		return hostileSpec{metaSize: 4096, xml: hostileXML(120<<20, "elements")}
	}, 0},
	// 120 MB of XML declared, 60 MB present.
	{"xml-120m-truncated.wim", func() hostileSpec {
		return hostileSpec{metaSize: 4096, xml: hostileXML(120<<20, "text")}
	}, -60 << 20},
}

// makeHostileFile writes hostile file i into dir and returns its path.
func makeHostileFile(tb testing.TB, dir string, i int) string {
	tb.Helper()
	hf := hostileFiles[i]
	name := filepath.Join(dir, hf.name)
	if err := writeHostileWIM(name, hf.spec()); err != nil {
		tb.Fatal(err)
	}
	if hf.truncate != 0 {
		size := hf.truncate
		if size < 0 {
			st, err := os.Stat(name)
			if err != nil {
				tb.Fatal(err)
			}
			size += st.Size()
		}
		if err := os.Truncate(name, size); err != nil {
			tb.Fatal(err)
		}
	}
	return name
}

// TestWriteHostileFiles writes the hostile files into
// $WIMCONSOLE_HOSTILE_DIR, for measuring by hand; without it, it skips.
func TestWriteHostileFiles(t *testing.T) {
	dir := os.Getenv("WIMCONSOLE_HOSTILE_DIR")
	if dir == "" {
		t.Skip("set WIMCONSOLE_HOSTILE_DIR to write the hostile files there")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i := range hostileFiles {
		t.Log(makeHostileFile(t, dir, i))
	}
}

// hostileMemCases are smaller hostile files for the memory tests, with the
// most their Open and Image may allocate (TotalAlloc, garbage included) and
// a piece of the error they must give ("" for none).
func hostileMemCases() []struct {
	name     string
	spec     hostileSpec
	truncate int64 // bytes cut off the end
	maxAlloc int64
	err      string
} {
	return []struct {
		name     string
		spec     hostileSpec
		truncate int64
		maxAlloc int64
		err      string
	}{
		// The declared size is allocated once, and nothing near it again.
		{"meta-256m", hostileSpec{metaSize: 256 << 20, xml: hostileXML(256, "text")}, 0, 256<<20 + 8<<20, ""},
		{"meta-64m-fill", hostileSpec{metaSize: 64 << 20, fill: 'A', xml: hostileXML(256, "text")}, 0, 64<<20 + 4<<20, ""},
		// 16 MB of UTF-16 hold 8 MB of text: the text once, in the
		// decoder's buffer and in the tree.
		{"xml-16m-text", hostileSpec{metaSize: 4096, xml: hostileXML(16<<20, "text")}, 0, 40 << 20, ""},
		{"xml-16m-elements", hostileSpec{metaSize: 4096, xml: hostileXML(16<<20, "elements")}, 0, 450 << 20, ""},
		{"xml-16m-truncated", hostileSpec{metaSize: 4096, xml: hostileXML(16<<20, "text")}, 1 << 20, 1 << 20, "XML data"},
	}
}

// writeHostileMemCase writes case c into dir.
func writeHostileMemCase(tb testing.TB, dir, name string, spec hostileSpec, truncate int64) string {
	tb.Helper()
	file := filepath.Join(dir, name+".wim")
	if err := writeHostileWIM(file, spec); err != nil {
		tb.Fatal(err)
	}
	if truncate > 0 {
		st, err := os.Stat(file)
		if err != nil {
			tb.Fatal(err)
		}
		if err := os.Truncate(file, st.Size()-truncate); err != nil {
			tb.Fatal(err)
		}
	}
	return file
}

// openAndList opens file and reads image 1's tree, as dir does.
func openAndList(file string) error {
	w, err := Open(file, nil)
	if err != nil {
		return err
	}
	defer w.Close()
	img, err := w.Image(1)
	if err != nil {
		return err
	}
	if n := len(img.Root.Children); n != 1 || img.Root.Children[0].Name != "a.txt" {
		return fmt.Errorf("%s: root has %d children, want a.txt", file, n)
	}
	return nil
}

// TestHostileFilesAllocation opens files whose metadata resource or XML
// data is huge for their size and checks that reading them allocates
// about what their data needs, once: not the several copies (growing
// buffers, UTF-16 in three forms) it used to, and not the declared size of
// data that is not there.
func TestHostileFilesAllocation(t *testing.T) {
	dir := t.TempDir()
	for _, c := range hostileMemCases() {
		t.Run(c.name, func(t *testing.T) {
			file := writeHostileMemCase(t, dir, c.name, c.spec, c.truncate)
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			err := openAndList(file)
			runtime.ReadMemStats(&after)
			alloc := int64(after.TotalAlloc - before.TotalAlloc)
			t.Logf("allocated %d MiB (limit %d MiB)", alloc>>20, c.maxAlloc>>20)
			if alloc > c.maxAlloc {
				t.Errorf("reading allocated %d bytes, more than %d", alloc, c.maxAlloc)
			}
			switch {
			case c.err == "" && err != nil:
				t.Fatal(err)
			case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err) || !strings.Contains(err.Error(), file)):
				t.Fatalf("error %v, want one naming %s and saying %q", err, file, c.err)
			}
			os.Remove(file)
		})
	}
}
