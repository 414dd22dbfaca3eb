//go:build linux

package wim

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wimconsole/wimconsole/internal/oracle"
)

// ---- the source tree ----

// fixtureTime is a fixed, 100 ns aligned time for imgFixture entries.
var fixtureTime = time.Date(2021, 6, 7, 8, 9, 10, 123456700, time.UTC)

// makeSourceTree creates, under a new temporary folder, a tree with every
// kind of entry the reader must handle, and returns its path: empty files
// and folders, a file over 1 MiB, incompressible data, Unicode names,
// names differing only in case, symbolic links (relative, absolute inside
// and outside the tree, dangling, to a folder), hard links, a blob shared
// by more files than one write batch, and old and precise times.
func makeSourceTree(t testing.TB) string {
	t.Helper()
	src := filepath.Join(t.TempDir(), "src")
	mk := func(rel string) {
		if err := os.MkdirAll(filepath.Join(src, rel), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(rel string, data []byte) {
		if err := os.WriteFile(filepath.Join(src, rel), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	link := func(target, rel string) {
		if err := os.Symlink(target, filepath.Join(src, rel)); err != nil {
			t.Fatal(err)
		}
	}
	hard := func(old, rel string) {
		if err := os.Link(filepath.Join(src, old), filepath.Join(src, rel)); err != nil {
			t.Fatal(err)
		}
	}
	mk("")
	mk("emptydir")
	mk("d1/sub/deeper/deepest")
	mk("dup")
	mk("日本語フォルダ")
	write("a.txt", []byte("hello, world\n"))
	write("empty", nil)
	write("d1/sub/deeper/deepest/leaf.txt", []byte("leaf\n"))
	var big bytes.Buffer
	for i := 0; big.Len() < 1536<<10; i++ {
		fmt.Fprintf(&big, "line %d of a compressible file over one MiB\n", i)
	}
	write("big.txt", big.Bytes())
	rnd := make([]byte, 300<<10)
	r := rand.New(rand.NewChaCha8([32]byte{1, 2, 3}))
	for i := range rnd {
		rnd[i] = byte(r.Uint32())
	}
	write("random.bin", rnd)
	for i := range 20 {
		write(fmt.Sprintf("dup/copy%02d", i), []byte("the same content in twenty files\n"))
	}
	write("é", []byte("e acute\n"))
	write("日本", []byte("nihon\n"))
	write("😀", []byte("emoji\n"))
	write("日本語フォルダ/ファイル.txt", []byte("file in a Japanese folder\n"))
	write("Case", []byte("upper\n"))
	write("case", []byte("lower\n"))
	write("space name", []byte("space\n"))
	write("_under", nil)
	link("a.txt", "rel")
	link(filepath.Join(src, "a.txt"), "abs-in")
	link("/etc/hostname-that-is-outside", "abs-out")
	link("nope/none", "dangling")
	link("d1", "dirlink")
	link(`back\slash`, "weird")
	hard("a.txt", "d1/hard")
	hard("random.bin", "d1/random-link")
	hard("random.bin", "dup/random-link")

	// Times: everything gets fixtureTime, then a few special ones; folders
	// last, deepest first, since creating entries changes them.
	var dirs []string
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			dirs = append(dirs, p)
			return nil
		}
		if d.Type()&fs.ModeSymlink != 0 {
			return setLinkTimes(p, fixtureTime.Add(-time.Hour), fixtureTime)
		}
		return setFileTimes(p, fixtureTime.Add(-time.Hour), fixtureTime)
	})
	if err != nil {
		t.Fatal(err)
	}
	special := map[string]time.Time{
		"empty":    time.Date(1965, 3, 4, 5, 6, 7, 800, time.UTC),
		"a.txt":    time.Date(1999, 12, 31, 23, 59, 59, 999999900, time.UTC),
		"rel":      time.Date(2005, 1, 2, 3, 4, 5, 0, time.UTC),
		"emptydir": time.Date(2010, 10, 10, 10, 10, 10, 100, time.UTC),
	}
	for rel, tm := range special {
		p := filepath.Join(src, rel)
		fi, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			err = setLinkTimes(p, tm, tm)
		} else {
			err = setFileTimes(p, tm, tm)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	slices.Reverse(dirs)
	for _, d := range dirs {
		tm := fixtureTime
		if rel, _ := filepath.Rel(src, d); special[rel] != (time.Time{}) {
			tm = special[rel]
		}
		if err := setFileTimes(d, tm.Add(-2*time.Hour), tm); err != nil {
			t.Fatal(err)
		}
	}
	return src
}

// makeSmallTree creates a second, different tree for multi-image files.
func makeSmallTree(t testing.TB) string {
	t.Helper()
	src := filepath.Join(t.TempDir(), "small")
	if err := os.MkdirAll(filepath.Join(src, "x/y"), 0o755); err != nil {
		t.Fatal(err)
	}
	for rel, data := range map[string]string{"x/y/z.txt": "zed\n", "readme": "second image\n", "a.txt": "hello, world\n"} {
		if err := os.WriteFile(filepath.Join(src, rel), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return src
}

// ---- opening and oracles ----

// imgOpen opens a WIM with references and closes it at the end of the test.
func imgOpen(t testing.TB, path string, refs ...string) *WIM {
	t.Helper()
	w, err := Open(path, &OpenOptions{Refs: refs})
	if err != nil {
		t.Fatalf("Open %s: %v", path, err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

// imgRefArgs turns reference files into wimlib-imagex --ref options.
func imgRefArgs(refs []string) []string {
	var a []string
	for _, r := range refs {
		a = append(a, "--ref="+r)
	}
	return a
}

// wimlibDirLines returns the lines of `wimlib-imagex dir`.
func wimlibDirLines(t testing.TB, path string, index int, refs []string) []string {
	t.Helper()
	out := oracle.Run(t, append([]string{"dir", path, strconv.Itoa(index)}, imgRefArgs(refs)...)...)
	return strings.Split(strings.TrimSuffix(out, "\n"), "\n")
}

// ourDirLines returns the paths Walk visits.
func ourDirLines(t testing.TB, img *Image) []string {
	t.Helper()
	var lines []string
	if err := img.Walk(func(p string, f *File) error {
		lines = append(lines, p)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return lines
}

// imgCheckDir compares Walk with `wimlib-imagex dir`.
func imgCheckDir(t *testing.T, path string, img *Image, refs []string) {
	t.Helper()
	want := wimlibDirLines(t, path, img.Index, refs)
	got := ourDirLines(t, img)
	if !slices.Equal(got, want) {
		t.Errorf("dir of image %d differs from wimlib-imagex dir:\n%s", img.Index, imgLineDiff(want, got))
	}
}

// imgLineDiff shows the first differences of two line lists.
func imgLineDiff(want, got []string) string {
	var b strings.Builder
	n := 0
	for i := 0; i < max(len(want), len(got)) && n < 10; i++ {
		var w, g string
		if i < len(want) {
			w = want[i]
		}
		if i < len(got) {
			g = got[i]
		}
		if w != g {
			fmt.Fprintf(&b, "line %d: want %q, got %q\n", i+1, w, g)
			n++
		}
	}
	fmt.Fprintf(&b, "(%d lines wanted, %d got)", len(want), len(got))
	return b.String()
}

// imgDetailed is what `wimlib-imagex dir --imgDetailed` says about one entry.
type imgDetailed struct {
	shortName  string
	attributes uint32
	sd         string // hex
	created    string
	written    string
	accessed   string
	reparseTag uint32
	linkGroup  uint64
	streams    map[string]imgDetailedStream // "" unnamed data, "<reparse>", or the name
}

type imgDetailedStream struct {
	hash string
	size int64
}

const reparseKey = "<reparse>"

// wimlibDetailed parses `wimlib-imagex dir --imgDetailed`, by path.
func wimlibDetailed(t testing.TB, path string, index int, refs []string) map[string]*imgDetailed {
	t.Helper()
	out := oracle.Run(t, append([]string{"dir", path, strconv.Itoa(index), "--detailed"}, imgRefArgs(refs)...)...)
	m := make(map[string]*imgDetailed)
	var cur *imgDetailed
	var stream string
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	field := func(line, key string) (string, bool) {
		if !strings.HasPrefix(line, key) {
			return "", false
		}
		rest := strings.TrimLeft(line[len(key):], " ")
		if !strings.HasPrefix(rest, "=") {
			return "", false
		}
		return strings.TrimSpace(rest[1:]), true
	}
	for sc.Scan() {
		line := sc.Text()
		if v, ok := field(line, "Full Path"); ok {
			cur = &imgDetailed{streams: map[string]imgDetailedStream{}}
			p, err := strconv.Unquote(v)
			if err != nil {
				p = strings.Trim(v, `"`)
			}
			m[p] = cur
			continue
		}
		if cur == nil {
			continue
		}
		switch {
		case strings.HasPrefix(line, "\tUnnamed data stream:"), strings.HasPrefix(line, "\tRaw encrypted data stream:"):
			stream = ""
		case strings.HasPrefix(line, "\tReparse point stream:"):
			stream = reparseKey
		case strings.HasPrefix(line, "\tNamed data stream "):
			stream = strings.TrimSuffix(strings.TrimPrefix(line, "\tNamed data stream \""), "\":")
		}
		if v, ok := field(line, "Short Name"); ok {
			cur.shortName = strings.Trim(v, `"`)
		} else if v, ok := field(line, "Attributes"); ok {
			n, _ := strconv.ParseUint(strings.TrimPrefix(v, "0x"), 16, 32)
			cur.attributes = uint32(n)
		} else if v, ok := field(line, "Security Descriptor"); ok {
			cur.sd = v
		} else if v, ok := field(line, "Creation Time"); ok {
			cur.created = v
		} else if v, ok := field(line, "Last Write Time"); ok {
			cur.written = v
		} else if v, ok := field(line, "Last Access Time"); ok {
			cur.accessed = v
		} else if v, ok := field(line, "Reparse Tag"); ok {
			n, _ := strconv.ParseUint(strings.TrimPrefix(v, "0x"), 16, 32)
			cur.reparseTag = uint32(n)
		} else if v, ok := field(line, "Link Group ID"); ok {
			cur.linkGroup, _ = strconv.ParseUint(strings.TrimPrefix(v, "0x"), 16, 64)
		} else if v, ok := field(line, "Hash"); ok {
			s := cur.streams[stream]
			s.hash = strings.TrimPrefix(v, "0x")
			cur.streams[stream] = s
		} else if v, ok := field(line, "Uncompressed size"); ok {
			s := cur.streams[stream]
			s.size, _ = strconv.ParseInt(strings.TrimSuffix(v, " bytes"), 10, 64)
			cur.streams[stream] = s
		}
	}
	return m
}

// wimlibTime formats a time as wimlib-imagex prints it.
func wimlibTime(tm time.Time) string { return tm.UTC().Format("Mon Jan 02 15:04:05 2006 UTC") }

// imgCheckDetailed compares every entry's metadata with `wimlib-imagex dir
// --imgDetailed`.
func imgCheckDetailed(t *testing.T, path string, img *Image, refs []string) {
	t.Helper()
	want := wimlibDetailed(t, path, img.Index, refs)
	n := 0
	errorf := func(format string, args ...any) {
		t.Helper()
		if n++; n <= 20 {
			t.Errorf(format, args...)
		}
	}
	err := img.Walk(func(p string, f *File) error {
		d := want[p]
		if d == nil {
			errorf("%s: not listed by wimlib-imagex dir --imgDetailed", p)
			return nil
		}
		if f.ShortName != d.shortName {
			errorf("%s: short name %q, wimlib %q", p, f.ShortName, d.shortName)
		}
		if f.Attributes != d.attributes {
			errorf("%s: attributes 0x%x, wimlib 0x%x", p, f.Attributes, d.attributes)
		}
		sd := ""
		if f.SecurityID >= 0 {
			sd = hex.EncodeToString(img.Security[f.SecurityID])
		}
		if sd != d.sd {
			errorf("%s: security descriptor %q, wimlib %q", p, sd, d.sd)
		}
		if got := wimlibTime(f.Created); got != d.created {
			errorf("%s: created %s, wimlib %s", p, got, d.created)
		}
		if got := wimlibTime(f.Modified); got != d.written {
			errorf("%s: modified %s, wimlib %s", p, got, d.written)
		}
		if got := wimlibTime(f.Accessed); got != d.accessed {
			errorf("%s: accessed %s, wimlib %s", p, got, d.accessed)
		}
		if f.ReparseTag != d.reparseTag {
			errorf("%s: reparse tag 0x%x, wimlib 0x%x", p, f.ReparseTag, d.reparseTag)
		}
		if f.LinkGroup != d.linkGroup {
			errorf("%s: link group 0x%x, wimlib 0x%x", p, f.LinkGroup, d.linkGroup)
		}
		// wimlib lists the reparse data of a reparse point in place of
		// its unnamed data stream, then the named streams.
		got := map[string]imgDetailedStream{}
		if f.Attributes&AttrReparsePoint == 0 {
			got[""] = imgDetailedStream{f.Hash.String(), f.Size}
		}
		for _, s := range f.Streams {
			k := s.Name
			if k == "" {
				k = reparseKey
			}
			got[k] = imgDetailedStream{s.Hash.String(), s.Size}
		}
		if !imgMapsEqual(got, d.streams) {
			errorf("%s: streams %v, wimlib %v", p, got, d.streams)
		}
		delete(want, p)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for p := range want {
		errorf("%s: listed by wimlib but not found", p)
	}
}

func imgMapsEqual[K comparable, V comparable](a, b map[K]V) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// wimlibInfo parses `wimlib-imagex info`: the file section, then one map
// per image.
func wimlibInfo(t testing.TB, path string) (map[string]string, []map[string]string) {
	t.Helper()
	out := oracle.Run(t, "info", path)
	file := map[string]string{}
	var images []map[string]string
	cur := file
	for _, line := range strings.Split(out, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || strings.HasPrefix(line, " ") {
			continue
		}
		v = strings.TrimSpace(v)
		if k == "Index" {
			cur = map[string]string{}
			images = append(images, cur)
		}
		cur[k] = v
	}
	return file, images
}

// imgCheckInfo compares the header and XML facts with `wimlib-imagex info`.
func imgCheckInfo(t *testing.T, path string, w *WIM) {
	t.Helper()
	file, images := wimlibInfo(t, path)
	h := w.Header()
	chunk := h.ChunkSize
	if h.Compression() == None {
		chunk = 0
	}
	info := w.XML()
	want := map[string]string{
		"GUID":        "0x" + hex.EncodeToString(h.GUID[:]),
		"Version":     strconv.Itoa(int(h.Version)),
		"Image Count": strconv.Itoa(w.ImageCount()),
		"Compression": h.Compression().String(),
		"Chunk Size":  fmt.Sprintf("%d bytes", chunk),
		"Part Number": fmt.Sprintf("%d/%d", h.Part, h.TotalParts),
		"Boot Index":  strconv.Itoa(w.BootIndex()),
		"Size":        fmt.Sprintf("%d bytes", info.TotalBytes),
	}
	for k, v := range want {
		if file[k] != v {
			t.Errorf("info %s: ours %q, wimlib %q", k, v, file[k])
		}
	}
	if len(images) != len(info.Images) {
		t.Fatalf("info: %d images, wimlib %d", len(info.Images), len(images))
	}
	for i, im := range info.Images {
		wimb := "no"
		if im.WIMBoot {
			wimb = "yes"
		}
		want := map[string]string{
			"Index":                  strconv.Itoa(im.Index),
			"Name":                   im.Name,
			"Description":            im.Description,
			"Directory Count":        strconv.FormatInt(im.DirCount, 10),
			"File Count":             strconv.FormatInt(im.FileCount, 10),
			"Total Bytes":            strconv.FormatInt(im.TotalBytes, 10),
			"Hard Link Bytes":        strconv.FormatInt(im.HardLinkBytes, 10),
			"Creation Time":          wimlibTime(im.Created),
			"Last Modification Time": wimlibTime(im.Modified),
			"WIMBoot compatible":     wimb,
		}
		for k, v := range want {
			if images[i][k] != v {
				t.Errorf("info image %d %s: ours %q, wimlib %q", i+1, k, v, images[i][k])
			}
		}
	}
}

// ---- comparing extracted trees ----

// imgFSEntry is what is compared of one extracted entry.
type imgFSEntry struct {
	mode   fs.FileMode
	size   int64
	mtime  time.Time
	atime  time.Time
	target string // symbolic links: the target, with the tree's root as $ROOT
	sum    string // regular files: SHA-256 of the content
	inode  [2]uint64
}

// snapshotTree records every entry under root. Each entry is stat'ed before
// its folder is read and contents are read last, so that reading does not
// change the access times being compared.
func snapshotTree(t testing.TB, root string) map[string]*imgFSEntry {
	t.Helper()
	real, err := filepath.EvalSymlinks(root)
	if err != nil {
		t.Fatal(err)
	}
	m := make(map[string]*imgFSEntry)
	var files []string
	var walk func(rel string)
	walk = func(rel string) {
		p := filepath.Join(root, rel)
		fi, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		e := &imgFSEntry{
			mode:  fi.Mode(),
			mtime: time.Unix(st.Mtim.Unix()),
			atime: time.Unix(st.Atim.Unix()),
			inode: [2]uint64{uint64(st.Dev), uint64(st.Ino)},
		}
		m[rel] = e
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			tgt, err := os.Readlink(p)
			if err != nil {
				t.Fatal(err)
			}
			e.target = strings.Replace(tgt, real, "$ROOT", 1)
		case fi.IsDir():
			ents, err := os.ReadDir(p)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range ents {
				walk(filepath.Join(rel, c.Name()))
			}
		default:
			e.size = fi.Size()
			files = append(files, rel)
		}
	}
	walk(".")
	for _, rel := range files {
		data, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil {
			t.Fatal(err)
		}
		s := sha256.Sum256(data)
		m[rel].sum = hex.EncodeToString(s[:])
	}
	return m
}

// compareTrees reports every difference between the trees at want and got:
// names, types, permissions, contents, link targets, times (to the
// nanosecond) and which names are hard links of one another.
func compareTrees(t testing.TB, want, got string) {
	t.Helper()
	a, b := snapshotTree(t, want), snapshotTree(t, got)
	links := func(m map[string]*imgFSEntry) map[string]string {
		groups := map[[2]uint64][]string{}
		for rel, e := range m {
			if e.mode.IsRegular() {
				groups[e.inode] = append(groups[e.inode], rel)
			}
		}
		out := map[string]string{}
		for _, g := range groups {
			slices.Sort(g)
			for _, rel := range g {
				out[rel] = strings.Join(g, "|")
			}
		}
		return out
	}
	la, lb := links(a), links(b)
	n := 0
	errorf := func(format string, args ...any) {
		t.Helper()
		if n++; n <= 25 {
			t.Errorf(format, args...)
		}
	}
	keys := make([]string, 0, len(a))
	for k := range a {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, rel := range keys {
		ea, eb := a[rel], b[rel]
		if eb == nil {
			errorf("%s: missing from our extraction", rel)
			continue
		}
		if ea.mode != eb.mode {
			errorf("%s: mode %v, wimlib %v", rel, eb.mode, ea.mode)
		}
		if ea.size != eb.size || ea.sum != eb.sum {
			errorf("%s: content differs (size %d, wimlib %d)", rel, eb.size, ea.size)
		}
		if ea.target != eb.target {
			errorf("%s: link target %q, wimlib %q", rel, eb.target, ea.target)
		}
		if !ea.mtime.Equal(eb.mtime) {
			errorf("%s: mtime %v, wimlib %v", rel, eb.mtime.UTC(), ea.mtime.UTC())
		}
		if !ea.atime.Equal(eb.atime) {
			errorf("%s: atime %v, wimlib %v", rel, eb.atime.UTC(), ea.atime.UTC())
		}
		if la[rel] != lb[rel] {
			errorf("%s: hard links %q, wimlib %q", rel, lb[rel], la[rel])
		}
	}
	for rel := range b {
		if a[rel] == nil {
			errorf("%s: extracted by us but not by wimlib", rel)
		}
	}
}

// imgCheckApply applies an image with wimlib-imagex and with ApplyImage and
// compares the results.
func imgCheckApply(t *testing.T, path string, w *WIM, img *Image, refs []string) *ApplyStats {
	t.Helper()
	base := t.TempDir()
	wantDir := filepath.Join(base, "wimlib")
	gotDir := filepath.Join(base, "ours")
	oracle.Run(t, append([]string{"apply", path, strconv.Itoa(img.Index), wantDir}, imgRefArgs(refs)...)...)
	st, err := w.ApplyImage(context.Background(), img, gotDir, nil)
	if err != nil {
		t.Fatalf("ApplyImage: %v", err)
	}
	compareTrees(t, wantDir, gotDir)
	return st
}

// ---- building fixtures ----

// imgCapture runs wimlib-imagex imgCapture with extra options.
func imgCapture(t testing.TB, src, dst string, opts ...string) {
	t.Helper()
	oracle.Run(t, append([]string{"capture", src, dst}, opts...)...)
}

// imgSetHeaderFlags ORs flags into a WIM header in place (wimlib does not
// write the resource-only and metadata-only flags of WDS files).
func imgSetHeaderFlags(t testing.TB, path string, flags uint32) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var b [4]byte
	if _, err := f.ReadAt(b[:], 0x10); err != nil {
		t.Fatal(err)
	}
	binary.LittleEndian.PutUint32(b[:], binary.LittleEndian.Uint32(b[:])|flags)
	if _, err := f.WriteAt(b[:], 0x10); err != nil {
		t.Fatal(err)
	}
}

// makeWDSGroup builds a WDS-style image group from src in dir: Res.rwm,
// a resource-only WIM with every file blob and no image, and image.wim, a
// metadata-only WIM whose blobs all live in Res.rwm. It returns their
// paths.
//
// wimlib has no option for either, so: imgCapture the tree, soft-delete the
// image from a copy (the blobs stay, the image goes) to get Res.rwm,
// imgCapture again with --delta-from (only the metadata is written) to get
// image.wim, and set the header flags WDS files carry.
func makeWDSGroup(t testing.TB, src, dir string, opts ...string) (img, res string) {
	t.Helper()
	full := filepath.Join(dir, "full.wim")
	res = filepath.Join(dir, "Res.rwm")
	img = filepath.Join(dir, "image.wim")
	imgCapture(t, src, full, opts...)
	data, err := os.ReadFile(full)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(res, data, 0o644); err != nil {
		t.Fatal(err)
	}
	oracle.Run(t, "delete", res, "1", "--soft")
	imgCapture(t, src, img, append([]string{"--delta-from=" + full}, opts...)...)
	if err := os.Remove(full); err != nil {
		t.Fatal(err)
	}
	imgSetHeaderFlags(t, res, FlagResourceOnly)
	imgSetHeaderFlags(t, img, FlagMetadataOnly)
	return img, res
}

// imgFixture is one WIM file of the matrix, with its references.
type imgFixture struct {
	path string
	refs []string
}

// imgMatrixCases lists the fixtures of TestWimlibMatrix: each builds a WIM
// (or a set) from the source trees in dir.
func imgMatrixCases() []struct {
	name  string
	build func(t *testing.T, src, small, dir string) imgFixture
} {
	simple := func(opts ...string) func(t *testing.T, src, small, dir string) imgFixture {
		return func(t *testing.T, src, small, dir string) imgFixture {
			p := filepath.Join(dir, "x.wim")
			imgCapture(t, src, p, opts...)
			return imgFixture{path: p}
		}
	}
	return []struct {
		name  string
		build func(t *testing.T, src, small, dir string) imgFixture
	}{
		{"none", simple("--compress=none")},
		{"xpress", simple("--compress=xpress")},
		{"lzx", simple("--compress=lzx")},
		{"lzms", simple("--compress=lzms")},
		{"solid", simple("--solid")},
		{"solid-lzx", simple("--solid", "--solid-compress=lzx")},
		{"check", simple("--compress=xpress", "--check")},
		{"boot", simple("--compress=none", "--boot")},
		{"norpfix", simple("--compress=none", "--norpfix")},
		{"multi-image", func(t *testing.T, src, small, dir string) imgFixture {
			p := filepath.Join(dir, "multi.wim")
			imgCapture(t, src, p, "first", "--compress=xpress")
			oracle.Run(t, "append", small, p, "second")
			oracle.Run(t, "append", src, p, "third", "--boot")
			return imgFixture{path: p}
		}},
		{"split", func(t *testing.T, src, small, dir string) imgFixture {
			whole := filepath.Join(dir, "whole.wim")
			imgCapture(t, src, whole, "--compress=none")
			oracle.Run(t, "split", whole, filepath.Join(dir, "part.swm"), "0.75")
			parts, _ := filepath.Glob(filepath.Join(dir, "part*.swm"))
			if len(parts) < 2 {
				t.Fatalf("split made %d parts", len(parts))
			}
			var refs []string
			for _, p := range parts {
				if filepath.Base(p) != "part.swm" {
					refs = append(refs, p)
				}
			}
			return imgFixture{path: filepath.Join(dir, "part.swm"), refs: refs}
		}},
		{"wds-group", func(t *testing.T, src, small, dir string) imgFixture {
			img, res := makeWDSGroup(t, src, dir, "--compress=lzx")
			return imgFixture{path: img, refs: []string{res}}
		}},
	}
}

// TestWimlibMatrix builds WIMs of every kind with wimlib-imagex and checks
// that the image side reads and extracts each exactly as wimlib does: the
// dir listing, every entry's metadata (dir --imgDetailed), the info facts, the
// extracted tree, and Verify.
func TestWimlibMatrix(t *testing.T) {
	oracle.Wimlib(t)
	src := makeSourceTree(t)
	small := makeSmallTree(t)
	for _, tc := range imgMatrixCases() {
		t.Run(tc.name, func(t *testing.T) {
			fx := tc.build(t, src, small, t.TempDir())
			w := imgOpen(t, fx.path, fx.refs...)
			imgCheckInfo(t, fx.path, w)
			if err := w.Verify(context.Background(), nil); err != nil {
				t.Errorf("Verify: %v", err)
			}
			for i := 1; i <= w.ImageCount(); i++ {
				img, err := w.Image(i)
				if err != nil {
					t.Fatalf("Image(%d): %v", i, err)
				}
				imgCheckDir(t, fx.path, img, fx.refs)
				imgCheckDetailed(t, fx.path, img, fx.refs)
				st := imgCheckApply(t, fx.path, w, img, fx.refs)
				if st.Files == 0 || st.Dirs == 0 {
					t.Errorf("image %d: stats %+v", i, *st)
				}
			}
		})
	}
}

// TestWDSGroupShape checks the WDS imgFixture is what the WDS layout means:
// a resource-only Res.rwm without images and a metadata-only image file
// that cannot be read without it.
func TestWDSGroupShape(t *testing.T) {
	oracle.Wimlib(t)
	src := makeSmallTree(t)
	img, res := makeWDSGroup(t, src, t.TempDir())
	r := imgOpen(t, res)
	if r.ImageCount() != 0 || r.Header().Flags&FlagResourceOnly == 0 {
		t.Fatalf("Res.rwm: %d images, flags 0x%x", r.ImageCount(), r.Header().Flags)
	}
	w := imgOpen(t, img)
	if w.Header().Flags&FlagMetadataOnly == 0 {
		t.Fatalf("image.wim flags 0x%x", w.Header().Flags)
	}
	_, err := w.Image(1)
	var mb *MissingBlobError
	if !errors.As(err, &mb) || !strings.Contains(err.Error(), "--ref") || !strings.Contains(err.Error(), "/") {
		t.Fatalf("Image without Res.rwm: %v, want a MissingBlobError naming a path and --ref", err)
	}
	w2 := imgOpen(t, img, res)
	if _, err := w2.Image(1); err != nil {
		t.Fatal(err)
	}
}
