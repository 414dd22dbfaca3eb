package wim

import (
	"bytes"
	"context"
	"crypto/sha1"
	"path/filepath"
	"slices"
	"testing"
	"unicode/utf8"
)

// fuzzTree builds an image and its file contents from fuzz input: a
// sequence of records {kind, name length, name, size, fill} making folders
// and files (with repetitive or varied content, named streams, hard links)
// under the current folder. Names that an image cannot hold are skipped.
func fuzzTree(data []byte) (*Image, map[Hash][]byte) {
	root := &File{Attributes: AttrDirectory, SecurityID: -1, Created: wtTime(1), Modified: wtTime(2), Accessed: wtTime(3)}
	blobs := map[Hash][]byte{}
	dirs := []*File{root}
	var files []*File
	next := func() byte {
		if len(data) == 0 {
			return 0
		}
		b := data[0]
		data = data[1:]
		return b
	}
	content := func(size int, fill byte) []byte {
		b := make([]byte, size)
		for i := range b {
			if fill&1 == 0 {
				b[i] = fill + byte(i/7)
			} else {
				b[i] = byte(uint32(i)*2654435761>>13) ^ fill
			}
		}
		return b
	}
	for n := 0; len(data) > 0 && n < 64; n++ {
		kind := next()
		nameLen := int(next() % 24)
		name := string(data[:min(nameLen, len(data))])
		data = data[min(nameLen, len(data)):]
		parent := dirs[int(kind>>3)%len(dirs)]
		if !utf8.ValidString(name) || CheckName(name) != nil ||
			slices.ContainsFunc(parent.Children, func(c *File) bool { return c.Name == name }) {
			continue
		}
		f := &File{Name: name, SecurityID: -1, Parent: parent, Created: wtTime(n), Modified: wtTime(n + 1), Accessed: wtTime(n + 2)}
		switch kind & 7 {
		case 0, 1:
			f.Attributes = AttrDirectory
			dirs = append(dirs, f)
		case 7:
			// A hard link to an earlier file.
			if len(files) == 0 {
				continue
			}
			o := files[int(next())%len(files)]
			if o.LinkGroup == 0 {
				o.LinkGroup = uint64(len(files) + 1)
			}
			f.Attributes, f.Hash, f.Size, f.LinkGroup = o.Attributes, o.Hash, o.Size, o.LinkGroup
		default:
			size := int(next())<<int(next()%10) | int(next())
			fill := next()
			d := content(size, fill)
			f.Attributes = AttrNormal
			if size > 0 {
				f.Hash = Hash(sha1.Sum(d))
				blobs[f.Hash] = d
			}
			f.Size = int64(size)
			if kind&0x80 != 0 {
				s := content(int(fill), ^fill)
				st := Stream{Name: "ads" + name, Size: int64(len(s))}
				if len(s) > 0 {
					st.Hash = Hash(sha1.Sum(s))
					blobs[st.Hash] = s
				}
				f.Streams = append(f.Streams, st)
			}
			files = append(files, f)
		}
		parent.Children = append(parent.Children, f)
	}
	return &Image{Root: root}, blobs
}

// FuzzWriteRoundTrip writes a random small tree (names, sizes, contents)
// with each codec and reads it back with our reader: the tree and every
// blob must be identical.
func FuzzWriteRoundTrip(f *testing.F) {
	f.Add([]byte("\x02\x03abc\x10\x01\x07"))
	f.Add([]byte("\x00\x03dir\x0a\x05file1\xff\x09\x02\x8a\x05file2\x20\x03\x05\x07\x04link\x00"))
	f.Add([]byte("\x02\x02\xc3\xa9\x00\x00\x00\x00\x02\x05A:b/c\x01\x01\x01\x00\x02\x01\x00\x03\x04\x05\x06"))
	f.Add(bytes.Repeat([]byte("\x03\x04name\xff\x07\x80\x42"), 10))
	f.Fuzz(func(t *testing.T, data []byte) {
		img, blobs := fuzzTree(data)
		want := wtComparable(t, wtSorted(img))
		c := []Compression{None, XPRESS, LZX}[len(data)%3]
		ctx := context.Background()
		file := filepath.Join(t.TempDir(), "f.wim")
		w, err := Create(file, WriteOptions{Compression: c, Threads: 2})
		if err != nil {
			t.Fatal(err)
		}
		// Every blob twice: the second is not stored again.
		for range 2 {
			for h, d := range blobs {
				got, err := w.WriteBlob(ctx, bytes.NewReader(d), int64(len(d)))
				if err != nil || got != h {
					t.Fatalf("WriteBlob: %v, %s", err, got)
				}
			}
		}
		if _, err := w.AddImage(ctx, img, ImageInfo{Name: "fuzz"}); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		r, err := Open(file, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		back, err := r.Image(1)
		if err != nil {
			t.Fatal(err)
		}
		if got := wtComparable(t, back); !slices.Equal(got, want) {
			t.Fatalf("tree differs:\n%s", wtLineDiff(want, got))
		}
		st, info := back.treeStats(), r.XML().Image(1)
		if st.DirCount != info.DirCount || st.FileCount != info.FileCount || st.TotalBytes != info.TotalBytes || st.HardLinkBytes != info.HardLinkBytes {
			t.Fatalf("XML stats %+v, tree %+v", info, st)
		}
		if n := len(r.Blobs()) - 1; n != len(blobs) {
			t.Fatalf("%d blobs stored, want %d", n, len(blobs))
		}
		for h, d := range blobs {
			got, err := r.ReadBlob(h, 1<<24)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, d) {
				t.Fatalf("blob %s differs", h)
			}
		}
	})
}
