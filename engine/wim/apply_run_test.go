//go:build linux

package wim

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/wimconsole/wimconsole/internal/oracle"
)

// runTree writes a tree for the run tests: 200 small files of 0–6 KiB
// (some compress, some do not), 20 copies of one file (a blob shared by
// more files than maxTargetsAtOnce), two hard links, files of 40 KiB and
// 1.5 MiB (several chunks: read on their own), and a small file with holes.
func runTree(t testing.TB) string {
	t.Helper()
	src := filepath.Join(t.TempDir(), "src")
	r := rand.New(rand.NewPCG(7, 8))
	fill := func(n int, random bool) []byte {
		p := make([]byte, n)
		for i := range p {
			if random || i%3 == 0 {
				p[i] = byte(r.Uint32())
			} else {
				p[i] = 'a' + byte(i%5)
			}
		}
		return p
	}
	write := func(rel string, data []byte) {
		p := filepath.Join(src, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 200 {
		write(fmt.Sprintf("d%d/f%03d", i%7, i), fill(r.IntN(6<<10), i%4 == 0))
	}
	same := fill(3000, false)
	for i := range 20 {
		write(fmt.Sprintf("same/c%02d", i), same)
	}
	write("links/a", fill(5000, false))
	if err := os.Link(filepath.Join(src, "links/a"), filepath.Join(src, "links/b")); err != nil {
		t.Fatal(err)
	}
	write("big/40k", fill(40<<10, false))
	write("big/1m5", fill(3<<19, false))
	write("empty", nil)
	writeSparseFile(t, filepath.Join(src, "holes"), 5*sparseUnit, 0, 3*sparseUnit)
	return src
}

// withRuns sets applyRunMax and applyRunGap for a test.
func withRuns(t *testing.T, maxBytes, gap int64) {
	t.Helper()
	oldMax, oldGap := applyRunMax, applyRunGap
	applyRunMax, applyRunGap = maxBytes, gap
	t.Cleanup(func() { applyRunMax, applyRunGap = oldMax, oldGap })
}

// runStats counts the runs of blobs read together and the blobs in them
// for an image of w, and all its blobs.
func runStats(t *testing.T, w *WIM, img *Image) (runs, inRuns, blobs int) {
	t.Helper()
	pl, err := planApply(img, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	jobs, _ := w.applyJobs(pl)
	blobs = len(jobs)
	for _, r := range makeRuns(jobs) {
		if r.end > r.off {
			runs++
			inRuns += len(r.jobs)
		}
	}
	return runs, inRuns, blobs
}

// TestApplyRuns applies images whose small blobs are read in runs (one read
// for many resources) of several sizes: the files are those of the
// extraction that reads each blob on its own, and of wimlib-imagex apply.
func TestApplyRuns(t *testing.T) {
	oracle.Wimlib(t)
	src := runTree(t)
	ctx := context.Background()
	for _, comp := range []string{"none", "xpress", "lzx", "ours-lzx"} {
		file := filepath.Join(t.TempDir(), comp+".wim")
		if comp == "ours-lzx" {
			if _, err := Capture(ctx, src, file, CaptureOptions{Compression: LZX}); err != nil {
				t.Fatal(err)
			}
		} else {
			imgCapture(t, src, file, "--compress="+comp)
		}
		for _, tc := range []struct {
			name     string
			max, gap int64
			minRuns  int  // at least this many runs
			maxRuns  int  // at most (0: any)
			allBut1  bool // every blob but that of big/1m5 in a run
		}{
			{"off", 0, 0, 0, 0, false},
			{"one blob each", 1, 1 << 20, 0, 0, false},
			{"4 KiB", 4096, 0, 2, 0, false},
			{"12 KiB gap 0", 12 << 10, 0, 2, 0, false},
			{"1 MiB", 1 << 20, 16 << 10, 1, 3, true},
		} {
			t.Run(comp+"/"+tc.name, func(t *testing.T) {
				withRuns(t, tc.max, tc.gap)
				// Applied afresh each time: reading a tree changes
				// its access times.
				wantDir := filepath.Join(t.TempDir(), "wimlib")
				oracle.Run(t, "apply", file, "1", wantDir)
				w := imgOpen(t, file)
				img, err := w.Image(1)
				if err != nil {
					t.Fatal(err)
				}
				runs, inRuns, blobs := runStats(t, w, img)
				if runs < tc.minRuns || tc.maxRuns > 0 && runs > tc.maxRuns || runs > 0 && inRuns <= runs {
					t.Fatalf("%d runs of %d blobs: want %d to %d runs of several blobs", runs, inRuns, tc.minRuns, tc.maxRuns)
				}
				// big/40k (several chunks) is in a run too.
				if tc.allBut1 && inRuns != blobs-1 {
					t.Fatalf("%d of %d blobs in runs, want all but one", inRuns, blobs)
				}
				dir := filepath.Join(t.TempDir(), "out")
				st, err := w.ApplyImage(ctx, img, dir, nil)
				if err != nil {
					t.Fatal(err)
				}
				compareTrees(t, wantDir, dir)
				var total int64
				img.Walk(func(_ string, f *File) error {
					if f.Attributes&AttrDirectory == 0 && !f.IsSymlink() {
						total += f.Size
					}
					return nil
				})
				// Hard links are written once.
				if want := total - 5000; st.Bytes != want || st.Files != 200+20+1+2+1+1 || st.HardLinks != 1 {
					t.Errorf("stats %+v, want %d bytes", *st, want)
				}
				if n := diskBytes(t, filepath.Join(dir, "holes")); n >= 5*sparseUnit {
					t.Errorf("holes takes %d bytes on disk: written without holes", n)
				}
			})
		}
	}
}

// TestApplyRunDamage damages one small blob of a run: the extraction fails
// with the error of the extraction that reads each blob on its own.
func TestApplyRunDamage(t *testing.T) {
	oracle.Wimlib(t)
	src := runTree(t)
	for _, tc := range []struct{ comp, name string }{
		{"none", "/d3/f010"}, {"lzx", "/d3/f010"}, {"lzx", "/big/40k"}, // 40k: two chunks
	} {
		t.Run(tc.comp+tc.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "d.wim")
			imgCapture(t, src, file, "--compress="+tc.comp)
			img := mustImage(t, file)
			f := img.Lookup(tc.name)
			if f == nil {
				t.Fatalf("no %s", tc.name)
			}
			e, ok := imgOpen(t, file).Blob(f.Hash)
			if !ok || e.Res.StoredSize < 100 {
				t.Fatalf("blob of %s: %+v", tc.name, e)
			}
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			data[e.Res.Offset+e.Res.StoredSize/2] ^= 0x55
			if err := os.WriteFile(file, data, 0o644); err != nil {
				t.Fatal(err)
			}
			apply := func(runMax int64) error {
				withRuns(t, runMax, 16<<10)
				w := imgOpen(t, file)
				img, err := w.Image(1)
				if err != nil {
					t.Fatal(err)
				}
				if runMax > 0 {
					if runs, _, _ := runStats(t, w, img); runs == 0 {
						t.Fatal("no runs")
					}
				}
				_, err = w.ApplyImage(context.Background(), img, filepath.Join(t.TempDir(), "out"), nil)
				return err
			}
			want, got := apply(0), apply(1<<20)
			if want == nil || got == nil || got.Error() != want.Error() {
				t.Fatalf("damaged blob in a run: %v\nread on its own: %v", got, want)
			}
			var ce *ChecksumError
			var fe *FormatError
			if !errors.As(got, &ce) && !errors.As(got, &fe) {
				t.Errorf("%v: not a checksum or format error", got)
			}
			t.Log(got)
		})
	}
}

// TestMakeRuns checks where runs are cut: at applyRunMax bytes, at a gap
// over applyRunGap, at a change of file, and around blobs too large for a
// run or damaged, which are read on their own.
func TestMakeRuns(t *testing.T) {
	withRuns(t, 100, 10)
	a := &WIM{name: "a.wim", size: 1000}
	b := &WIM{name: "b.wim", size: 1000}
	job := func(w *WIM, off, size int64) *blobJob {
		return &blobJob{w: w, size: size, e: &BlobEntry{Res: ResourceHeader{Offset: off, StoredSize: size, Size: size}}}
	}
	type span struct {
		off, end int64
		jobs     int
	}
	for _, tc := range []struct {
		name string
		jobs []*blobJob
		want []span
	}{
		{"adjacent and a small gap", []*blobJob{job(a, 0, 10), job(a, 10, 10), job(a, 25, 10)}, []span{{0, 35, 3}}},
		{"gap too large", []*blobJob{job(a, 0, 10), job(a, 30, 10)}, []span{{0, 10, 1}, {30, 40, 1}}},
		{"other file", []*blobJob{job(a, 0, 10), job(b, 10, 10), job(b, 20, 10)}, []span{{0, 10, 1}, {10, 30, 2}}},
		{"full", []*blobJob{job(a, 0, 60), job(a, 60, 40), job(a, 100, 1)}, []span{{0, 100, 2}, {100, 101, 1}}},
		{"too large alone", []*blobJob{job(a, 0, 10), job(a, 10, 101), job(a, 111, 10)}, []span{{0, 10, 1}, {0, 0, 1}, {111, 121, 1}}},
		{"past the end of the file", []*blobJob{job(a, 0, 10), job(a, 995, 10)}, []span{{0, 10, 1}, {0, 0, 1}}},
		{"missing", []*blobJob{job(a, 0, 10), {size: 5}, job(a, 10, 10)}, []span{{0, 10, 1}, {0, 0, 1}, {10, 20, 1}}},
		{"overlapping", []*blobJob{job(a, 0, 10), job(a, 5, 10), job(a, 5, 3)}, []span{{0, 15, 3}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []span
			for _, r := range makeRuns(tc.jobs) {
				got = append(got, span{r.off, r.end, len(r.jobs)})
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("runs %v, want %v", got, tc.want)
			}
		})
	}
}
