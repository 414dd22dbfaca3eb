package wim

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/wimconsole/wimconsole/engine/progress"
	"github.com/wimconsole/wimconsole/internal/oracle"
)

func TestSplitPartNames(t *testing.T) {
	tests := []struct {
		dest  string
		parts int
		want  []string
	}{
		{"install.swm", 3, []string{"install.swm", "install2.swm", "install3.swm"}},
		{"/usb/sources/install.swm", 2, []string{"/usb/sources/install.swm", "/usb/sources/install2.swm"}},
		{"set", 2, []string{"set", "set2"}},
		{"a.b/part.swm", 1, []string{"a.b/part.swm"}},
	}
	for _, tt := range tests {
		if got := SplitPartNames(tt.dest, tt.parts); !slices.Equal(got, tt.want) {
			t.Errorf("SplitPartNames(%q, %d) = %q, want %q", tt.dest, tt.parts, got, tt.want)
		}
	}
}

// TestSplit splits two-image files of every codec into parts smaller than
// the data and checks each part's header, then reads the set back with
// wimlib-imagex (verify, apply --ref) and with our reader.
func TestSplit(t *testing.T) {
	oracle.Wimlib(t)
	for _, c := range []Compression{LZX, XPRESS, None} {
		t.Run(c.String(), func(t *testing.T) {
			srcFile, srcs := wtTwoImages(t, c)
			src := imgOpenW(t, srcFile)
			var data int64
			for _, e := range src.Blobs() {
				if !e.IsMetadata() {
					data += e.Res.StoredSize
				}
			}
			partSize := data / 4
			dest := filepath.Join(t.TempDir(), "install.swm")
			var last progress.Report
			names, err := Split(context.Background(), src, dest, SplitOptions{PartSize: partSize, Progress: func(r progress.Report) { last = r }})
			if err != nil {
				t.Fatal(err)
			}
			if len(names) < 3 {
				t.Fatalf("%d parts for %d bytes of data at part size %d", len(names), data, partSize)
			}
			if last.Done != last.Total || last.Total < data {
				t.Errorf("last progress %+v, want done = total >= %d", last, data)
			}
			var guid [16]byte
			for i, n := range names {
				p := imgOpenW(t, n)
				h := p.Header()
				if i == 0 {
					guid = h.GUID
				}
				if h.GUID != guid || int(h.Part) != i+1 || int(h.TotalParts) != len(names) || h.Flags&FlagSpanned == 0 || h.ImageCount != 2 {
					t.Errorf("%s: part %d/%d, flags %#x, images %d, GUID shared %v", n, h.Part, h.TotalParts, h.Flags, h.ImageCount, h.GUID == guid)
				}
				if i > 0 && p.XML().Image(2).Name != "two" {
					t.Errorf("%s: no XML data of the images", n)
				}
				big := false
				for _, e := range p.Blobs() {
					big = big || e.Res.StoredSize >= partSize
				}
				if st, _ := os.Stat(n); i > 0 && !big && st.Size() > partSize+4096 {
					t.Errorf("%s: %d bytes, part size %d", n, st.Size(), partSize)
				}
			}
			wtCheckWimlib(t, names[0], names[1:], srcs...)
			wtCheckOurs(t, names[0], names[1:], srcs...)
			// 7-Zip, the second reader, tests the set from its first part.
			// (It reports "Unexpected end of archive" on uncompressed split
			// sets, wimlib-imagex's own as well: 7-Zip 26.02.)
			if c == None {
				return
			}
			if out, err := exec.Command(oracle.Need(t, "7z"), "t", names[0]).CombinedOutput(); err != nil || !strings.Contains(string(out), "Everything is Ok") {
				t.Errorf("7z t %s: %v\n%s", names[0], err, out)
			}
		})
	}
}

// TestSplitBigBlob: a blob larger than the part size goes whole into a
// part of its own, as DISM and wimlib do.
func TestSplitBigBlob(t *testing.T) {
	oracle.Wimlib(t)
	srcFile, srcs := wtTwoImages(t, XPRESS)
	src := imgOpenW(t, srcFile)
	dest := filepath.Join(t.TempDir(), "p.swm")
	names, err := Split(context.Background(), src, dest, SplitOptions{PartSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	blobs := 0
	for _, e := range src.Blobs() {
		if !e.IsMetadata() {
			blobs++
		}
	}
	// Part 1 holds only the metadata; then one part per blob.
	if len(names) != blobs+1 {
		t.Errorf("%d parts for %d blobs", len(names), blobs)
	}
	wtCheckWimlib(t, names[0], names[1:], srcs...)
}

// TestSplitRefusesAndLeavesNothing: an existing part, a solid source and
// a cancel leave the folder as it was.
func TestSplitRefusesAndLeavesNothing(t *testing.T) {
	oracle.Wimlib(t)
	srcFile, _ := wtTwoImages(t, LZX)
	src := imgOpenW(t, srcFile)
	listDir := func(dir string) []string {
		es, _ := os.ReadDir(dir)
		var out []string
		for _, e := range es {
			out = append(out, e.Name())
		}
		return out
	}

	t.Run("existing part", func(t *testing.T) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "p2.swm"), []byte("old"), 0o644)
		_, err := Split(context.Background(), src, filepath.Join(dir, "p.swm"), SplitOptions{PartSize: 1})
		if err == nil || !strings.Contains(err.Error(), "p2.swm already exists") {
			t.Fatalf("err = %v", err)
		}
		if got := listDir(dir); !slices.Equal(got, []string{"p2.swm"}) {
			t.Errorf("folder holds %q", got)
		}
	})

	t.Run("solid", func(t *testing.T) {
		dir := t.TempDir()
		solid := filepath.Join(dir, "solid.esd")
		oracle.Run(t, "capture", wtSampleTree(t, 5), solid, "s", "--solid")
		w := imgOpenW(t, solid)
		_, err := Split(context.Background(), w, filepath.Join(dir, "p.swm"), SplitOptions{})
		if err == nil || !strings.Contains(err.Error(), "solid") {
			t.Fatalf("err = %v", err)
		}
		if got := listDir(dir); !slices.Equal(got, []string{"solid.esd"}) {
			t.Errorf("folder holds %q", got)
		}
	})

	t.Run("cancelled", func(t *testing.T) {
		dir := t.TempDir()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var data int64
		for _, e := range src.Blobs() {
			data += e.Res.StoredSize
		}
		_, err := Split(ctx, src, filepath.Join(dir, "p.swm"), SplitOptions{PartSize: data / 4, Progress: func(r progress.Report) {
			if r.Done > r.Total/2 {
				cancel()
			}
		}})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want cancelled", err)
		}
		if got := listDir(dir); len(got) != 0 {
			t.Errorf("folder holds %q after a cancel", got)
		}
	})

	t.Run("pipable and normal", func(t *testing.T) {
		// Their compressed resources are laid out differently: one split
		// set cannot hold both as stored.
		dir := t.TempDir()
		pipable := filepath.Join(dir, "pipable.wim")
		oracle.Run(t, "capture", wtSampleTree(t, 6), pipable, "p", "--pipable", "--compress=LZX")
		w := imgOpenW(t, pipable, srcFile)
		_, err := Split(context.Background(), w, filepath.Join(dir, "p.swm"), SplitOptions{})
		if err == nil || !strings.Contains(err.Error(), "pipable.wim is a pipable WIM and "+srcFile+" is not") {
			t.Fatalf("err = %v", err)
		}
		if got := listDir(dir); !slices.Equal(got, []string{"pipable.wim"}) {
			t.Errorf("folder holds %q", got)
		}
	})
}

// pipableSetBlobs returns, for each part of a split set, the hashes of the
// resources its blob table lists (metadata and file data), in table order.
func pipableSetBlobs(t *testing.T, names []string) [][]Hash {
	t.Helper()
	var out [][]Hash
	for _, n := range names {
		w, err := Open(n, &OpenOptions{NoSplitSearch: true})
		if err != nil {
			t.Fatalf("Open %s: %v", n, err)
		}
		var hs []Hash
		for _, e := range w.Blobs() {
			hs = append(hs, e.Hash)
		}
		w.Close()
		out = append(out, hs)
	}
	return out
}

// concatFiles returns the files' bytes one after the other, as `cat`
// sends the parts of a set through a pipe.
func concatFiles(t *testing.T, names []string) []byte {
	t.Helper()
	var b []byte
	for _, n := range names {
		d, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		b = append(b, d...)
	}
	return b
}

// TestSplitPipable splits pipable WIMs made by wimlib-imagex, of every
// codec, as wimlib-imagex split does: into pipable parts (the pipable
// magic first and last, a shared GUID), the same resources in each part as
// wimlib's own split puts there; wimlib verifies and applies our set with
// --ref and from a pipe (the parts one after the other), and our reader
// does the same with wimlib's set and ours, with --ref, by finding the
// parts next to part 1, and from a pipe. 7-Zip opens no pipable WIM
// (wimlib's neither): it must treat our parts as it treats wimlib's.
func TestSplitPipable(t *testing.T) {
	oracle.Wimlib(t)
	srcs := []string{wtSampleTree(t, 31), wtSampleTree(t, 32)}
	for _, c := range []string{"none", "XPRESS", "LZX"} {
		t.Run(c, func(t *testing.T) {
			dir := t.TempDir()
			srcFile := filepath.Join(dir, "src.wim")
			oracle.Run(t, "capture", srcs[0], srcFile, "one", "--pipable", "--compress="+c)
			oracle.Run(t, "append", srcs[1], srcFile, "two")
			src := imgOpenW(t, srcFile)
			if !src.Pipable() {
				t.Fatal("wimlib's append did not keep the file pipable")
			}
			var data int64
			for _, e := range src.Blobs() {
				if !e.IsMetadata() {
					data += e.Res.StoredSize
				}
			}
			partSize := data / 4
			theirsDir, oursDir := filepath.Join(dir, "theirs"), filepath.Join(dir, "ours")
			os.Mkdir(theirsDir, 0o755)
			os.Mkdir(oursDir, 0o755)
			oracle.Run(t, "split", srcFile, filepath.Join(theirsDir, "install.swm"), strconv.FormatFloat(float64(partSize)/(1<<20), 'f', -1, 64))
			theirs, _ := filepath.Glob(filepath.Join(theirsDir, "install*.swm"))
			slices.SortFunc(theirs, func(a, b string) int { return len(a) - len(b) }) // install.swm, install2.swm … install10.swm
			ours, err := Split(context.Background(), src, filepath.Join(oursDir, "install.swm"), SplitOptions{PartSize: partSize})
			if err != nil {
				t.Fatal(err)
			}
			if len(ours) < 3 || len(ours) != len(theirs) {
				t.Fatalf("%d parts, wimlib's split makes %d", len(ours), len(theirs))
			}
			var guid [16]byte
			for i, n := range ours {
				b, err := os.ReadFile(n)
				if err != nil {
					t.Fatal(err)
				}
				if !IsPipableMagic(b) || !IsPipableMagic(b[len(b)-HeaderSize:]) {
					t.Fatalf("%s does not start and end with the pipable magic", n)
				}
				p := imgOpenW(t, n)
				h := p.Header()
				if i == 0 {
					guid = h.GUID
				}
				if !p.Pipable() || h.GUID != guid || int(h.Part) != i+1 || int(h.TotalParts) != len(ours) || h.Flags&FlagSpanned == 0 || h.ImageCount != 2 {
					t.Errorf("%s: pipable %v, part %d/%d, flags %#x, images %d, GUID shared %v", n, p.Pipable(), h.Part, h.TotalParts, h.Flags, h.ImageCount, h.GUID == guid)
				}
				if info := oracle.Run(t, "info", n); !strings.Contains(info, "Pipable") {
					t.Errorf("wimlib does not see %s as pipable:\n%s", n, info)
				}
			}
			if got, want := pipableSetBlobs(t, ours), pipableSetBlobs(t, theirs); !slices.EqualFunc(got, want, slices.Equal) {
				t.Errorf("the parts hold other resources than wimlib's split puts in them:\nours   %v\nwimlib %v", got, want)
			}
			samePipableParts(t, ours, theirs)

			// Ours, read by wimlib: --ref, then the parts through a pipe.
			wtCheckWimlib(t, ours[0], ours[1:], srcs...)
			cmd := exec.Command(oracle.Wimlib(t), "apply", "-", "2", filepath.Join(dir, "wimlib-pipe"))
			cmd.Stdin = bytes.NewReader(concatFiles(t, ours))
			if msg, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("cat our parts | wimlib-imagex apply - 2: %v\n%s", err, msg)
			}
			wtSameTree(t, srcs[1], filepath.Join(dir, "wimlib-pipe"))

			// Both sets, read by us.
			for _, set := range [][]string{ours, theirs} {
				wtCheckOurs(t, set[0], set[1:], srcs...)
				wtCheckOurs(t, set[0], nil, srcs...) // the parts found next to part 1
				for i, want := range srcs {
					out := filepath.Join(t.TempDir(), "our-pipe")
					if _, err := pipeApply(t, concatFiles(t, set), i+1, out); err != nil {
						t.Fatalf("%s… through a pipe, image %d: %v", set[0], i+1, err)
					}
					wtSameTree(t, want, out)
				}
				// Part 1 alone: the message says the other parts are missing.
				_, err := pipeApply(t, concatFiles(t, set[:1]), 2, filepath.Join(t.TempDir(), "part1-only"))
				if want := fmt.Sprintf("only 1 of the %d parts of the split set came through it", len(set)); err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("%s alone through a pipe: err = %v, want %q", set[0], err, want)
				}
			}

			sevenZip := func(file string) (bool, string) {
				out, err := exec.Command(oracle.Need(t, "7z"), "t", file).CombinedOutput()
				return err == nil, string(out)
			}
			if ok, out := sevenZip(ours[0]); ok {
				t.Errorf("7z t opened our pipable part, which it cannot read:\n%s", out)
			} else if ok2, out2 := sevenZip(theirs[0]); ok2 || strings.Contains(out, "Cannot open") != strings.Contains(out2, "Cannot open") {
				t.Errorf("7z t treats our part and wimlib's differently:\nours:\n%s\nwimlib's:\n%s", out, out2)
			}
		})
	}
}

// TestSplitPipableIntegrityFromPipe: wimlib-imagex split keeps the source's
// integrity table in every part of a pipable set, between one part's XML
// data and its final header; our pipe reader passes over it (wimlib-imagex
// 1.13's own stops there: "The pipable WIM is invalid").
func TestSplitPipableIntegrityFromPipe(t *testing.T) {
	oracle.Wimlib(t)
	srcs := []string{wtSampleTree(t, 41), wtSampleTree(t, 42)}
	dir := t.TempDir()
	srcFile := filepath.Join(dir, "src.wim")
	oracle.Run(t, "capture", srcs[0], srcFile, "one", "--pipable", "--check", "--compress=XPRESS")
	oracle.Run(t, "append", srcs[1], srcFile, "two", "--check")
	var data int64
	for _, e := range imgOpenW(t, srcFile).Blobs() {
		data += e.Res.StoredSize
	}
	oracle.Run(t, "split", srcFile, filepath.Join(dir, "install.swm"), strconv.FormatFloat(float64(data/3)/(1<<20), 'f', -1, 64), "--check")
	parts, _ := filepath.Glob(filepath.Join(dir, "install*.swm"))
	slices.SortFunc(parts, func(a, b string) int { return len(a) - len(b) })
	if len(parts) < 2 {
		t.Fatalf("parts %q", parts)
	}
	if info := oracle.Run(t, "info", parts[0]); !strings.Contains(info, "Integrity info") {
		t.Fatalf("wimlib's part has no integrity table:\n%s", info)
	}
	for i, want := range srcs {
		out := filepath.Join(t.TempDir(), "our-pipe")
		if _, err := pipeApply(t, concatFiles(t, parts), i+1, out); err != nil {
			t.Fatalf("image %d through a pipe: %v", i+1, err)
		}
		wtSameTree(t, want, out)
	}
}

// TestSplitIntegrity: a source with an integrity table gives every part
// one, and SplitOptions.Integrity asks for one, as wimlib-imagex split
// keeps and --check writes them. Each part's table checks, with our reader
// and with wimlib's (info --check); a pipable set is byte for byte
// wimlib's (but for its GUID), integrity tables included; wimlib verifies
// the set and applies it with --ref.
func TestSplitIntegrity(t *testing.T) {
	oracle.Wimlib(t)
	srcs := []string{wtSampleTree(t, 51), wtSampleTree(t, 52)}
	for _, tc := range []struct {
		name    string
		capture []string // wimlib-imagex capture flags of the source
		ask     bool     // SplitOptions.Integrity
	}{
		{"kept", []string{"--check"}, false},
		{"asked", nil, true},
		{"pipable-kept", []string{"--check", "--pipable"}, false},
		{"pipable-asked", []string{"--pipable"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			srcFile := filepath.Join(dir, "src.wim")
			oracle.Run(t, append([]string{"capture", srcs[0], srcFile, "one", "--compress=XPRESS"}, tc.capture...)...)
			oracle.Run(t, "append", srcs[1], srcFile, "two")
			src := imgOpenW(t, srcFile)
			var data int64
			for _, e := range src.Blobs() {
				data += e.Res.StoredSize
			}
			partSize := data / 3
			os.Mkdir(filepath.Join(dir, "ours"), 0o755)
			ours, err := Split(context.Background(), src, filepath.Join(dir, "ours", "install.swm"), SplitOptions{PartSize: partSize, Integrity: tc.ask})
			if err != nil {
				t.Fatal(err)
			}
			if len(ours) < 2 {
				t.Fatalf("%d parts", len(ours))
			}
			for _, p := range ours {
				w := imgOpenW(t, p)
				if w.Header().Integrity.IsZero() {
					t.Fatalf("%s has no integrity table", p)
				}
				if err := w.CheckIntegrity(context.Background()); err != nil {
					t.Errorf("%s: %v", p, err)
				}
				if info := oracle.Run(t, "info", p, "--check"); !strings.Contains(info, "Integrity") {
					t.Errorf("wimlib info --check %s:\n%s", p, info)
				}
			}
			wtCheckWimlib(t, ours[0], ours[1:], srcs...)
			if !src.Pipable() {
				return
			}
			args := []string{"split", srcFile, filepath.Join(dir, "theirs", "install.swm"), strconv.FormatFloat(float64(partSize)/(1<<20), 'f', -1, 64)}
			if tc.ask {
				args = append(args, "--check")
			}
			os.Mkdir(filepath.Join(dir, "theirs"), 0o755)
			oracle.Run(t, args...)
			theirs, _ := filepath.Glob(filepath.Join(dir, "theirs", "install*.swm"))
			slices.SortFunc(theirs, func(a, b string) int { return len(a) - len(b) })
			if len(theirs) != len(ours) {
				t.Fatalf("%d parts, wimlib's split makes %d", len(ours), len(theirs))
			}
			samePipableParts(t, ours, theirs)
		})
	}
}

// samePipableParts fails unless each of our pipable parts is byte for byte
// wimlib's, but for the set's GUID (in the first and the last header).
func samePipableParts(t *testing.T, ours, theirs []string) {
	t.Helper()
	for i := range ours {
		a, b := concatFiles(t, ours[i:i+1]), concatFiles(t, theirs[i:i+1])
		for _, d := range [][]byte{a, b} {
			if len(d) >= 2*HeaderSize {
				clear(d[0x18:0x28])
				clear(d[len(d)-HeaderSize+0x18 : len(d)-HeaderSize+0x28])
			}
		}
		if !bytes.Equal(a, b) {
			at := 0
			for at < min(len(a), len(b)) && a[at] == b[at] {
				at++
			}
			t.Errorf("%s (%d bytes) differs from wimlib's part (%d bytes) at offset %#x", ours[i], len(a), len(b), at)
		}
	}
}
