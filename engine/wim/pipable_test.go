package wim

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wimconsole/wimconsole/internal/oracle"
)

// TestPipableRead reads pipable WIMs made by wimlib: open, verify (with
// the integrity table), apply, as for any WIM.
func TestPipableRead(t *testing.T) {
	oracle.Wimlib(t)
	src := wtSampleTree(t, 7)
	for _, c := range []string{"none", "XPRESS", "LZX"} {
		t.Run(c, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "p.wim")
			oracle.Run(t, "capture", src, file, "Pipe", "--pipable", "--check", "--compress="+c)
			w := imgOpenW(t, file)
			if !w.Pipable() {
				t.Error("Pipable() = false for a pipable WIM")
			}
			if err := w.CheckIntegrity(context.Background()); err != nil {
				t.Error(err)
			}
			wtCheckOurs(t, file, nil, src)
		})
	}
}

// TestPipableWrite writes pipable WIMs (Capture with Pipable) and has
// wimlib read them from the file and from a pipe; our reader reads them
// too.
func TestPipableWrite(t *testing.T) {
	oracle.Wimlib(t)
	src := wtSampleTree(t, 3)
	for _, c := range []Compression{None, XPRESS, LZX} {
		for _, integ := range []bool{false, true} {
			t.Run(fmt.Sprintf("%v-integrity=%v", c, integ), func(t *testing.T) {
				file := filepath.Join(t.TempDir(), "ours.wim")
				if _, err := Capture(context.Background(), src, file, CaptureOptions{
					Name: "Pipe", Compression: c, Integrity: integ, Boot: true, Pipable: true}); err != nil {
					t.Fatal(err)
				}
				b, err := os.ReadFile(file)
				if err != nil {
					t.Fatal(err)
				}
				if !IsPipableMagic(b) || !IsPipableMagic(b[len(b)-HeaderSize:]) {
					t.Fatalf("%s does not start and end with the pipable magic", file)
				}
				// The XML copy after the first header has no TOTALBYTES (the
				// file's size is not known yet), as wimlib writes it; the
				// XML data at the end has it.
				early := decodeUTF16(b[HeaderSize+pwmBlobHeaderSize : HeaderSize+pwmBlobHeaderSize+int(binary.LittleEndian.Uint64(b[HeaderSize+8:]))])
				outside := early[:strings.Index(early, "<IMAGE")] + early[strings.LastIndex(early, "</IMAGE>"):]
				if strings.Contains(outside, "TOTALBYTES") {
					t.Errorf("XML copy at the start has the file's TOTALBYTES: %s", outside)
				}
				if w := imgOpenW(t, file); w.XML().TotalBytes <= 0 || w.XML().TotalBytes >= int64(len(b)) {
					t.Errorf("TOTALBYTES %d at the end, file of %d bytes", w.XML().TotalBytes, len(b))
				}
				info := oracle.Run(t, "info", file)
				if !strings.Contains(info, "Pipable") {
					t.Errorf("wimlib does not see a pipable WIM:\n%s", info)
				}
				if integ && !strings.Contains(info, "Integrity info") {
					t.Errorf("wimlib sees no integrity table:\n%s", info)
				}
				wtCheckWimlib(t, file, nil, src)
				out := filepath.Join(t.TempDir(), "from-pipe")
				cmd := exec.Command(oracle.Wimlib(t), "apply", "-", "1", out)
				cmd.Stdin = bytes.NewReader(b)
				if msg, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("wimlib-imagex apply - 1: %v\n%s", err, msg)
				}
				wtSameTree(t, src, out)
				wtCheckOurs(t, file, nil, src)
			})
		}
	}
}

// pipeApply applies image index of the pipable WIM data b as read from a
// pipe (a plain reader: no seeking, no ReadAt).
func pipeApply(t *testing.T, b []byte, index int, out string) (*ApplyStats, error) {
	t.Helper()
	w, err := OpenPipe(struct{ io.Reader }{bytes.NewReader(b)}, "standard input")
	if err != nil {
		return nil, err
	}
	return w.ApplyPipe(context.Background(), index, out, nil)
}

// TestPipableApplyFromPipe applies images of pipable WIMs, wimlib's and
// ours, from a pipe in one pass: the second image of two (the first one's
// metadata skipped), a blob shared by more files than are written at once.
func TestPipableApplyFromPipe(t *testing.T) {
	oracle.Wimlib(t)
	src1 := wtSampleTree(t, 11)
	src2 := filepath.Join(t.TempDir(), "many")
	same := bytes.Repeat([]byte("the same data in many files\n"), 5000)
	nodes := []wtNode{{path: "d", kind: 'd'}, {path: "other", kind: 'f', data: []byte("other\n")}, {path: "link", kind: 'l', target: "d/f00"}}
	for i := range 40 {
		nodes = append(nodes, wtNode{path: fmt.Sprintf("d/f%02d", i), kind: 'f', data: same})
	}
	wtBuild(t, src2, nodes)
	for _, c := range []string{"none", "XPRESS", "LZX"} {
		t.Run("wimlib-"+c, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "p.wim")
			oracle.Run(t, "capture", src1, file, "one", "--pipable", "--compress="+c)
			oracle.Run(t, "append", src2, file, "two")
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if !IsPipableMagic(b) {
				t.Fatal("wimlib's append did not keep the file pipable")
			}
			for i, src := range []string{src1, src2} {
				out := filepath.Join(t.TempDir(), "out")
				if _, err := pipeApply(t, b, i+1, out); err != nil {
					t.Fatalf("image %d: %v", i+1, err)
				}
				wtSameTree(t, src, out)
			}
		})
	}
	t.Run("ours", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "ours.wim")
		if _, err := Capture(context.Background(), src2, file, CaptureOptions{Compression: LZX, Pipable: true}); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(t.TempDir(), "out")
		st, err := pipeApply(t, b, 1, out)
		if err != nil {
			t.Fatal(err)
		}
		wtSameTree(t, src2, out)
		if st.Files != 41 || st.Symlinks != 1 {
			t.Errorf("stats %+v", st)
		}
	})
}

// TestPipableBadPipe: a normal WIM, a cut or damaged pipable WIM on a
// pipe are refused with messages that say what is wrong.
func TestPipableBadPipe(t *testing.T) {
	oracle.Wimlib(t)
	src := wtSampleTree(t, 5)
	dir := t.TempDir()
	normal, pipable := filepath.Join(dir, "n.wim"), filepath.Join(dir, "p.wim")
	oracle.Run(t, "capture", src, normal, "n")
	oracle.Run(t, "capture", src, pipable, "p", "--pipable", "--compress=none")
	nb, _ := os.ReadFile(normal)
	pb, err := os.ReadFile(pipable)
	if err != nil {
		t.Fatal(err)
	}
	// Damage the data of a text file, stored raw: its digest no longer matches.
	i := bytes.Index(pb, []byte("fairly repetitive"))
	if i < 0 {
		t.Fatal("no text file data found in the file")
	}
	bad := bytes.Clone(pb)
	bad[i] ^= 0xFF
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"normal", nb, "normal WIM, which cannot be read from a pipe"},
		{"cut", pb[:len(pb)/2], "pipe ended"},
		{"damaged", bad, "SHA-1 mismatch"},
		{"empty", nil, "pipe ended in the header"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := pipeApply(t, tc.data, 1, filepath.Join(t.TempDir(), "out"))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestPipableToNormal: images of a pipable WIM exported, optimized,
// deleted: the compressed chunks of a pipable file are never copied as
// stored into a normal one (their layout differs), and a pipable file
// rebuilt stays pipable, as wimlib keeps it.
func TestPipableToNormal(t *testing.T) {
	oracle.Wimlib(t)
	src1, src2 := wtSampleTree(t, 21), wtSampleTree(t, 22)
	dir := t.TempDir()
	p := filepath.Join(dir, "p.wim")
	oracle.Run(t, "capture", src1, p, "one", "--pipable", "--compress=LZX")
	oracle.Run(t, "append", src2, p, "two")
	w := imgOpenW(t, p)

	normal := filepath.Join(dir, "normal.wim")
	lzx := LZX
	if _, err := Export(context.Background(), w, []int{1, 2}, normal, ExportOptions{Compression: &lzx}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(normal); IsPipableMagic(b) {
		t.Error("export made a pipable file without being asked")
	}
	wtCheckWimlib(t, normal, nil, src1, src2)
	wtCheckOurs(t, normal, nil, src1, src2)
	// Same codec: chunks copied as stored, only their size prefixes gone.
	n := imgOpenW(t, normal)
	copied := 0
	for _, e := range n.Blobs() {
		se, ok := w.Blob(e.Hash)
		if e.IsMetadata() || !ok || !se.Res.Compressed() {
			continue
		}
		chunks := (se.Size() + 32767) / 32768
		if e.Res.StoredSize != se.Res.StoredSize-chunks*pwmChunkHdrSize {
			t.Errorf("blob %s: stored in %d bytes, from %d in %d chunks in the pipable file: not copied as stored", e.Hash, e.Res.StoredSize, se.Res.StoredSize, chunks)
		}
		copied++
	}
	if copied == 0 {
		t.Error("no compressed blob to check")
	}

	pipedAgain := filepath.Join(dir, "again.wim")
	if _, err := Export(context.Background(), w, []int{2}, pipedAgain, ExportOptions{Pipable: true}); err != nil {
		t.Fatal(err)
	}
	wtCheckWimlib(t, pipedAgain, nil, src2)

	if err := Optimize(context.Background(), p, OptimizeOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := DeleteImage(context.Background(), p, 1, false); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); !IsPipableMagic(b) {
		t.Error("optimize or delete made a pipable file normal")
	}
	wtCheckWimlib(t, p, nil, src2)
	wtCheckOurs(t, p, nil, src2)
}

// TestPipableAppend: a pipable WIM grown (capture --append, export into
// it) or an image soft-deleted is written again whole and stays pipable,
// as wimlib does; its data is copied as stored.
func TestPipableAppend(t *testing.T) {
	oracle.Wimlib(t)
	src1, src2, src3 := wtSampleTree(t, 31), wtSampleTree(t, 32), wtSampleTree(t, 33)
	p := filepath.Join(t.TempDir(), "p.wim")
	oracle.Run(t, "capture", src1, p, "one", "--pipable", "--compress=XPRESS", "--check")
	if _, err := Capture(context.Background(), src2, p, CaptureOptions{Name: "two", Append: true}); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(t.TempDir(), "other.wim")
	oracle.Run(t, "capture", src3, other, "three")
	o := imgOpenW(t, other)
	for i, pipable := range []bool{false, true} {
		if _, err := Export(context.Background(), o, []int{1}, p, ExportOptions{Pipable: pipable, Name: fmt.Sprint("three-", i)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := DeleteImage(context.Background(), p, 4, true); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !IsPipableMagic(b) {
		t.Fatal("the file is no longer pipable")
	}
	info := oracle.Run(t, "info", p)
	if !strings.Contains(info, "Pipable, Integrity info") || !strings.Contains(info, "Image Count:    3") {
		t.Errorf("wimlib info:\n%s", info)
	}
	wtCheckWimlib(t, p, nil, src1, src2, src3)
	wtCheckOurs(t, p, nil, src1, src2, src3)
	out := filepath.Join(t.TempDir(), "pipe")
	if _, err := pipeApply(t, b, 2, out); err != nil {
		t.Fatal(err)
	}
	wtSameTree(t, src2, out)
	if dir, _ := os.ReadDir(filepath.Dir(p)); len(dir) != 1 {
		t.Errorf("files left next to the WIM: %v", dir)
	}
}
