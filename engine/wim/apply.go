package wim

import (
	"cmp"
	"context"
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/wimconsole/wimconsole/engine/progress"
	"golang.org/x/sync/errgroup"
)

// PhaseApplyData is the progress phase of Apply: bytes of file data
// written out of the total.
const PhaseApplyData = "Extracting file data"

// maxReparseData is the largest reparse data (without its 8-byte header)
// Windows allows, and so the largest a link's data may be.
const maxReparseData = 16384 - 8

// maxTargetsAtOnce bounds the files one blob is written to at a time (a
// blob shared by more files is read again for the next batch).
const maxTargetsAtOnce = 16

// ApplyStats summarises an extraction: what was created and what the
// target system could not hold.
type ApplyStats struct {
	Dirs      int   // folders created, the target folder included
	Files     int   // regular files created (one per set of hard links)
	HardLinks int   // extra names of files, created as hard links
	Symlinks  int   // symbolic links (from symlink and junction reparse points)
	Bytes     int64 // file data written

	// Not extracted, as wimlib does not on POSIX systems.
	NamedStreams int // files whose named data streams were skipped
	OtherReparse int // reparse points other than links, extracted without their reparse data
	Encrypted    int // EFS-encrypted files, extracted empty
}

// Apply extracts image index (1-based) into dir, which must be empty or
// not exist yet; it is created if needed. See ApplyImage.
func (w *WIM) Apply(ctx context.Context, index int, dir string, report progress.Func) error {
	img, err := w.Image(index)
	if err != nil {
		return err
	}
	_, err = w.ApplyImage(ctx, img, dir, report)
	return err
}

// ApplyImage extracts img, an image of w, into dir, as `wimlib-imagex
// apply` does on a POSIX system: folders, files with their data, empty
// files, hard links (entries sharing a link group), symbolic links made
// from symlink and junction reparse points, and the access and
// modification times of everything. A file with the sparse attribute is
// written with holes where its data has 4 KiB blocks of zeros, as wimlib
// writes it; other files are written whole. Named data streams, security
// descriptors, other attributes, short names and the data of other reparse
// points are not extracted (ApplyStats counts what was skipped).
//
// The target of an absolute link that was "fixed" at capture time (the
// header has FlagRPFix and the entry lacks ReparseNotFixed) is rebased
// onto the real path of dir, as wimlib does.
//
// Nothing is ever written outside dir: every name is checked with
// CheckLocalName, files are created exclusively (never through an existing
// link), and symbolic links are created only after every file and folder,
// so no later step can pass through one. File data is streamed from the
// WIM (each blob's SHA-1 is checked) by a few parallel workers. On error
// or cancellation, what was extracted so far stays in dir.
func (w *WIM) ApplyImage(ctx context.Context, img *Image, dir string, report progress.Func) (*ApplyStats, error) {
	if img == nil || img.Root == nil {
		return nil, errors.New("wim: apply: no image")
	}
	if err := prepareTarget(dir); err != nil {
		return nil, err
	}
	pl, err := planApply(img, dir)
	if err != nil {
		return nil, err
	}
	st := &ApplyStats{}
	st.NamedStreams, st.OtherReparse, st.Encrypted = pl.namedStreams, pl.otherReparse, pl.encrypted

	// Folders, parents first.
	for _, d := range pl.dirs[1:] {
		if err := os.Mkdir(d.path, 0o755); err != nil {
			return st, fmt.Errorf("wim: apply: %w", err)
		}
	}
	st.Dirs = len(pl.dirs)
	if err := ctx.Err(); err != nil {
		return st, err
	}

	// Files with their data.
	writeFiles := w.writeFiles
	if w.pipe != nil {
		writeFiles = w.pipe.writeFiles // in the order the pipe brings the data
	}
	if err := writeFiles(ctx, pl, st, report); err != nil {
		return st, err
	}

	// Further names of hard-linked files.
	for _, ino := range pl.inodes {
		for k := 1; k < len(ino.files); k++ {
			if err := os.Link(ino.path(0), ino.path(k)); err != nil {
				return st, fmt.Errorf("wim: apply: hard link %s: %w", ino.files[0].Path(), err)
			}
			st.HardLinks++
		}
	}

	// Symbolic links, after everything else.
	if len(pl.links) > 0 {
		altroot := ""
		if w.Header().Flags&FlagRPFix != 0 {
			if altroot, err = realPath(dir); err != nil {
				return st, fmt.Errorf("wim: apply: %w", err)
			}
		}
		for _, l := range pl.links {
			if err := ctx.Err(); err != nil {
				return st, err
			}
			if err := w.makeLink(l, altroot, pl.linkData); err != nil {
				return st, err
			}
			st.Symlinks++
		}
	}

	// Folder times last, children before parents, since creating entries
	// changes a folder's times.
	for i := len(pl.dirs) - 1; i >= 0; i-- {
		d := pl.dirs[i]
		if err := setFileTimes(d.path, d.f.Accessed, d.f.Modified); err != nil {
			return st, fmt.Errorf("wim: apply: %w", err)
		}
	}
	return st, nil
}

// prepareTarget creates dir, or checks that it is an empty folder.
func prepareTarget(dir string) error {
	fi, err := os.Stat(dir)
	if errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("wim: apply: %w", err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("wim: apply: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("wim: apply: %s is not a folder", dir)
	}
	f, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("wim: apply: %w", err)
	}
	defer f.Close()
	names, err := f.Readdirnames(1)
	if err != nil && err != io.EOF {
		return fmt.Errorf("wim: apply: %w", err)
	}
	if len(names) > 0 {
		return fmt.Errorf("wim: apply: %s is not empty", dir)
	}
	return nil
}

// realPath returns the absolute path of dir with no symbolic links, as
// wimlib's realpath(3) of the target.
func realPath(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	return filepath.EvalSymlinks(abs)
}

// applyPlan is what ApplyImage creates, computed before touching the disk.
type applyPlan struct {
	dirs   []planEntry // pre-order, the root first
	inodes []*planInode
	links  []planEntry

	// linkData is the reparse data of links read during the data pass
	// (see applyJobs), for makeLink.
	linkData map[Hash][]byte

	namedStreams, otherReparse, encrypted int
}

type planEntry struct {
	path string // on disk
	f    *File
}

// planInode is one regular file to create, with all its names. A name's
// path is kept as its folder's path (shared by the folder's entries) and
// the File's name: a path string per file was a tenth of apply's memory.
type planInode struct {
	files []*File
	dirs  []string // for each name, the path of its folder on disk
	hash  Hash     // zero: created empty
	size  int64
}

// sparse reports whether the file is to be extracted sparse: whether it
// has the sparse attribute, as wimlib tests it.
func (ino *planInode) sparse() bool { return ino.files[0].Attributes&AttrSparseFile != 0 }

// path returns the path on disk of name k of the file.
func (ino *planInode) path(k int) string { return filepath.Join(ino.dirs[k], ino.files[k].Name) }

// planApply walks img, checking every name, and lists what to create under
// dir.
func planApply(img *Image, dir string) (*applyPlan, error) {
	pl := &applyPlan{}
	byKey := make(map[HardLinkKey]*planInode)
	seen := make(map[*File]bool)
	type item struct {
		dir string // the parent's path on disk; for the root, dir itself
		f   *File
	}
	stack := []item{{dir, img.Root}}
	for len(stack) > 0 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		f := it.f
		path := func() string {
			if f == img.Root {
				return it.dir
			}
			return filepath.Join(it.dir, f.Name)
		}
		if seen[f] {
			return nil, fmt.Errorf("wim: apply: %s appears twice in the tree", f.Path())
		}
		seen[f] = true
		if len(f.NamedStreams()) > 0 {
			pl.namedStreams++
		}
		isLink := f.IsSymlink()
		if f.Attributes&AttrReparsePoint != 0 && !isLink {
			pl.otherReparse++
		}
		switch {
		case f.Parent == nil || (f.Attributes&AttrDirectory != 0 && !isLink):
			p := path()
			pl.dirs = append(pl.dirs, planEntry{p, f})
			// Push children in reverse so they come out in order.
			for i := len(f.Children) - 1; i >= 0; i-- {
				c := f.Children[i]
				if err := CheckLocalName(c.Name); err != nil {
					return nil, fmt.Errorf("wim: apply: refusing entry in %s: %v", f.Path(), err)
				}
				stack = append(stack, item{p, c})
			}
		case isLink:
			if len(f.Children) > 0 {
				return nil, fmt.Errorf("wim: apply: link %s has children", f.Path())
			}
			pl.links = append(pl.links, planEntry{path(), f})
		default:
			if len(f.Children) > 0 {
				return nil, fmt.Errorf("wim: apply: file %s has children", f.Path())
			}
			hash, size := f.Hash, f.Size
			if f.Attributes&AttrEncrypted != 0 {
				pl.encrypted++
				hash, size = Hash{}, 0
			}
			key := f.HardLinkKey()
			var ino *planInode
			if key != (HardLinkKey{}) {
				ino = byKey[key]
			}
			if ino == nil {
				ino = &planInode{hash: hash, size: size}
				pl.inodes = append(pl.inodes, ino)
				if key != (HardLinkKey{}) {
					byKey[key] = ino
				}
			}
			ino.files = append(ino.files, f)
			ino.dirs = append(ino.dirs, it.dir)
		}
	}
	return pl, nil
}

// blobJob writes one blob to a set of files.
type blobJob struct {
	hash   Hash
	size   int64
	inodes []*planInode
	w      *WIM       // the file holding the blob (nil: none has it)
	e      *BlobEntry // its entry there
	order  [4]int64   // part, file, resource offset, offset in resource: read order
	res    *resource  // its resource, when it is read in a run (makeRuns)

	// link: the blob is the reparse data of links (no inodes), read into
	// held for makeLink.
	link bool
	held []byte

	// pinned: the chunk cache's entry of the chunk where the blob
	// starts, pinned (see pinChunk) until the blob's reader takes the pin
	// over (see WIM.openBlobPinned); nil once it has.
	pinned *cachedChunk
}

// pinChunk pins, if it is cached, the chunk of a solid resource where the
// blob starts, as a worker takes the job: the other worker, going on into
// the next chunk, would otherwise evict it before this worker's reader
// asks for it, and it would be decompressed again.
func (j *blobJob) pinChunk() {
	if j.w == nil || j.e == nil || j.e.Solid == nil || j.e.Solid.ChunkSize == 0 {
		return
	}
	j.pinned = j.w.cache.pin(chunkKey{j.e.Solid.Res.Offset, j.e.SolidOffset / int64(j.e.Solid.ChunkSize)})
}

// unpinChunk gives back pinChunk's pin if the blob's reader has not taken
// it over (it did not get to read the chunk).
func (j *blobJob) unpinChunk() {
	if j.pinned != nil {
		j.w.cache.release(j.pinned)
		j.pinned = nil
	}
}

// Runs: the small blobs stored next to one another in a file are read
// with one pread of their span instead of one each (tree A: 33,000 blobs
// of a few KiB), as wimlib reads the WIM sequentially.
var (
	// applyRunMax is the most bytes of a file one run reads, and so the
	// largest blob (stored or not) read as part of a run; 0 turns runs
	// off (tests).
	applyRunMax int64 = 1 << 20
	// applyRunGap is the largest gap between two resources of a run
	// (read and dropped).
	applyRunGap int64 = 16 << 10
)

// applyRun is what an apply worker takes at a time: blobs whose resources
// lie close together in one file, read with one pread (off < end), or a
// single blob read through its own reader (off == end).
type applyRun struct {
	jobs     []*blobJob
	off, end int64 // the span of the file read at once
}

// runResource returns the resource of j if j can be part of a run (a blob
// of at most applyRunMax bytes, stored or not, in a non-solid resource
// that checks out), else nil.
func (j *blobJob) runResource() *resource {
	e := j.e
	if e == nil || e.Solid != nil || e.Size() <= 0 || e.Size() > applyRunMax || e.Res.StoredSize > applyRunMax {
		return nil
	}
	r, err := j.w.resourceFor(e.Res, "blob "+j.hash.String())
	if err != nil {
		return nil
	}
	return r
}

// makeRuns cuts jobs, in read order, into runs; the jobs of a run keep
// their resource (res).
func makeRuns(jobs []*blobJob) []applyRun {
	var runs []applyRun
	for _, j := range jobs {
		if j.res = j.runResource(); j.res == nil {
			runs = append(runs, applyRun{jobs: []*blobJob{j}})
			continue
		}
		off, end := j.e.Res.Offset, j.e.Res.Offset+j.e.Res.StoredSize
		if n := len(runs); n > 0 {
			r := &runs[n-1]
			if r.end > r.off && r.jobs[0].w == j.w && off >= r.off && off <= r.end+applyRunGap && max(r.end, end)-r.off <= applyRunMax {
				r.jobs = append(r.jobs, j)
				r.end = max(r.end, end)
				continue
			}
		}
		runs = append(runs, applyRun{jobs: []*blobJob{j}, off: off, end: end})
	}
	return runs
}

// applyJobs lists the blobs of pl's files, each with its files, in the
// order they are stored, and returns the bytes of data of the files.
func (w *WIM) applyJobs(pl *applyPlan) (jobs []*blobJob, total int64) {
	byHash := make(map[Hash]*blobJob)
	fileIndex := map[*WIM]int64{w: 0}
	for i, r := range w.refs {
		fileIndex[r] = int64(i + 1)
	}
	for _, ino := range pl.inodes {
		total += ino.size
		if ino.hash.IsZero() {
			continue
		}
		j := byHash[ino.hash]
		if j == nil {
			j = &blobJob{hash: ino.hash, size: ino.size}
			if o, e := w.find(ino.hash); o != nil {
				j.w, j.e = o, e
				if e.Solid != nil {
					j.order = [4]int64{int64(e.Part), fileIndex[o], e.Solid.Res.Offset, e.SolidOffset}
				} else {
					j.order = [4]int64{int64(e.Part), fileIndex[o], e.Res.Offset, 0}
				}
			}
			byHash[ino.hash] = j
			jobs = append(jobs, j)
		}
		j.inodes = append(j.inodes, ino)
	}
	// The reparse data of links in solid resources is read in the pass
	// too, in its place: read when the links are made, after the data,
	// it had the chunk cache decompress a chunk again (64 MiB, the first
	// of an ESD of tree A, for a few hundred bytes). Other blobs are
	// read on their own either way and stay with makeLink.
	for _, l := range pl.links {
		rp, _ := l.f.Reparse()
		if rp.Hash.IsZero() || byHash[rp.Hash] != nil {
			continue
		}
		if o, e := w.find(rp.Hash); o != nil && e.Solid != nil {
			j := &blobJob{hash: rp.Hash, size: e.Size(), w: o, e: e, link: true,
				order: [4]int64{int64(e.Part), fileIndex[o], e.Solid.Res.Offset, e.SolidOffset}}
			byHash[rp.Hash] = j
			jobs = append(jobs, j)
		}
	}
	slices.SortStableFunc(jobs, func(a, b *blobJob) int {
		for i := range a.order {
			if c := cmp.Compare(a.order[i], b.order[i]); c != 0 {
				return c
			}
		}
		return 0
	})
	return jobs, total
}

// writeFiles creates every regular file with its data, using a few
// workers, in the order the blobs are stored.
func (w *WIM) writeFiles(ctx context.Context, pl *applyPlan, st *ApplyStats, report progress.Func) error {
	jobs, total := w.applyJobs(pl)
	runs := makeRuns(jobs)
	report.Send(progress.Report{Phase: PhaseApplyData, Total: total})

	// Empty files first: no data to read.
	for _, ino := range pl.inodes {
		if !ino.hash.IsZero() {
			continue
		}
		if err := writeData(ino, nil); err != nil {
			return err
		}
		st.Files++
	}

	var done, files, next, lastRep atomic.Int64
	progressed := func(n int64) {
		d := done.Add(n)
		// One report per MiB: the worker that moves lastRep past the
		// step reports, without a lock around the call.
		if last := lastRep.Load(); (d-last >= 1<<20 || d == total) && lastRep.CompareAndSwap(last, d) {
			report.Send(progress.Report{Phase: PhaseApplyData, Done: d, Total: total})
		}
	}
	// Workers take the runs by an atomic counter, in stored order; the
	// first error cancels the others (errgroup).
	g, gctx := errgroup.WithContext(ctx)
	for range min(max(runtime.GOMAXPROCS(0), 2), 4, max(len(runs), 1)) {
		g.Go(func() error {
			wk := &applyWorker{w: w, ctx: gctx, buf: make([]byte, 256<<10), progressed: progressed}
			defer wk.release()
			for {
				i := next.Add(1) - 1
				if i >= int64(len(runs)) || gctx.Err() != nil {
					return nil
				}
				j := runs[i].jobs[0]
				if runs[i].end == runs[i].off {
					j.pinChunk()
				}
				var n int
				err := Guard(func() (err error) {
					n, err = wk.run(&runs[i])
					return err
				})
				j.unpinChunk()
				files.Add(int64(n))
				if err != nil {
					return err
				}
			}
		})
	}
	err := g.Wait()
	for _, j := range jobs {
		if j.held != nil {
			if pl.linkData == nil {
				pl.linkData = make(map[Hash][]byte)
			}
			pl.linkData[j.hash] = j.held
		}
	}
	st.Files += int(files.Load())
	st.Bytes = done.Load()
	if err == nil {
		err = ctx.Err() // cancelled from outside between two runs
	}
	return err
}

// applyWorker is the state of one apply worker, kept from run to run.
type applyWorker struct {
	w          *WIM
	ctx        context.Context
	buf        []byte // copy buffer of blobs read on their own
	span       []byte // the stored bytes of a run
	out        []byte // a decompressed blob of a run
	dec        decompressor
	decKey     codecKey // what dec decompresses
	progressed func(int64)
}

// release returns the worker's decompressor to the pool.
func (wk *applyWorker) release() {
	if wk.dec != nil {
		putDecompressor(wk.decKey.c, wk.decKey.chunk, wk.dec)
		wk.dec = nil
	}
}

// run writes the blobs of run r to their files and returns how many files
// it completed.
func (wk *applyWorker) run(r *applyRun) (int, error) {
	if r.end == r.off {
		return wk.w.writeBlob(wk.ctx, r.jobs[0], wk.buf, wk.progressed)
	}
	o := r.jobs[0].w
	n := int(r.end - r.off)
	if cap(wk.span) < n {
		wk.span = make([]byte, n)
	}
	span := wk.span[:n]
	if _, err := o.ra.ReadAt(span, r.off); err != nil {
		return 0, errAt(o.name, r.off, "reading the data of %d blobs (%d bytes): %v", len(r.jobs), n, err)
	}
	completed := 0
	for _, j := range r.jobs {
		if err := wk.ctx.Err(); err != nil {
			return completed, err
		}
		data, err := wk.blobData(j, span, r.off)
		if err != nil {
			return completed, fmt.Errorf("wim: apply: %s: %w", j.inodes[0].files[0].Path(), err)
		}
		for _, ino := range j.inodes {
			if err := writeData(ino, data); err != nil {
				return completed, err
			}
			completed++
			wk.progressed(int64(len(data)))
		}
	}
	return completed, nil
}

// blobData returns the data of blob j (one of a run, its res set) from
// span, the stored bytes of its file from offset base, decompressed and
// checked against its digest as OpenBlob's reader checks it. The data is
// valid until the next call.
func (wk *applyWorker) blobData(j *blobJob, span []byte, base int64) ([]byte, error) {
	r := j.res
	var data []byte
	if !r.chunked {
		data = span[r.off-base : r.off-base+r.size]
	} else {
		if key := (codecKey{r.codec, int(r.chunk)}); wk.dec != nil && wk.decKey != key {
			wk.release()
		}
		if cap(wk.out) < int(r.size) {
			wk.out = make([]byte, r.size)
		}
		data = wk.out[:r.size]
		// The chunk table is in span too: the iterator reads it there.
		it := r.iter()
		it.buf = span[r.tableOff-base : r.tableOff-base+r.nentries*r.entSize]
		it.first, it.count = 0, r.nentries
		for i := range r.nchunks {
			c, err := it.nextChunk()
			if err != nil {
				return nil, err
			}
			src := span[c.fileOff-base : c.fileOff-base+int64(c.csize)]
			dst := data[i*r.chunk : i*r.chunk+int64(c.usize)]
			if c.csize == c.usize {
				copy(dst, src)
				continue
			}
			err = r.decompress(c, dst, src, &wk.dec, nil)
			if wk.dec != nil {
				wk.decKey = codecKey{r.codec, int(r.chunk)}
			}
			if err != nil {
				return nil, err
			}
		}
	}
	if got := Hash(sha1.Sum(data)); got != j.e.Hash {
		return nil, &ChecksumError{File: j.w.name, Offset: r.off, What: "blob", Want: j.e.Hash, Got: got}
	}
	if int64(len(data)) != j.size {
		return nil, fmt.Errorf("blob %s gave %d bytes, want %d", j.hash, len(data), j.size)
	}
	return data, nil
}

// writeData creates the file ino with data and sets its times.
func writeData(ino *planInode, data []byte) error {
	f, err := createOut(ino.path(0))
	if err != nil {
		return fmt.Errorf("wim: apply: %w", err)
	}
	defer f.Close()
	if len(data) > 0 {
		if ino.sparse() {
			err = writeSparse(f, data, 0)
			if err == nil {
				err = f.Truncate(int64(len(data)))
			}
		} else {
			_, err = f.Write(data)
		}
		if err != nil {
			return fmt.Errorf("wim: apply: %w", err)
		}
	}
	return finishFile(f, ino)
}

// finishFile sets the times of file ino, open as f, and closes it.
func finishFile(f *outFile, ino *planInode) error {
	if err := f.finish(ino.files[0].Accessed, ino.files[0].Modified); err != nil {
		return fmt.Errorf("wim: apply: %w", err)
	}
	return nil
}

// writeBlob writes the blob of job j to each of its files, at most
// maxTargetsAtOnce at a time, and sets their times. It returns how many
// files it completed.
func (w *WIM) writeBlob(ctx context.Context, j *blobJob, buf []byte, progressed func(int64)) (int, error) {
	if j.link {
		// An error is left for makeLink to report, as it would have
		// without this read.
		j.held, _ = w.readLinkData(j)
		return 0, nil
	}
	completed := 0
	for start := 0; start < len(j.inodes); start += maxTargetsAtOnce {
		batch := j.inodes[start:min(start+maxTargetsAtOnce, len(j.inodes))]
		if err := w.writeBatch(ctx, j, batch, buf, progressed); err != nil {
			return completed, err
		}
		completed += len(batch)
	}
	return completed, nil
}

// writeBatch writes the blob of job j to the files of batch, sets their
// times and closes them.
func (w *WIM) writeBatch(ctx context.Context, j *blobJob, batch []*planInode, buf []byte, progressed func(int64)) (err error) {
	dst := &batchWriter{ctx: ctx, progressed: progressed}
	defer func() {
		for _, f := range dst.files {
			if cerr := f.Close(); cerr != nil && err == nil {
				err = fmt.Errorf("wim: apply: %w", cerr)
			}
		}
	}()
	// The reader takes over the job's pin of the blob's first chunk (see
	// pinChunk) as its hold on that chunk when it reads it.
	r, err := w.openBlobPinned(j.hash, &j.pinned)
	if err != nil {
		return fmt.Errorf("wim: apply: %s: %w", batch[0].files[0].Path(), err)
	}
	defer r.Close()
	// The first block is read before the files are created: a blob of a
	// solid chunk not cached when the worker took the job (so not pinned)
	// then holds its chunk from about then. Creating its files first
	// (many, for a blob many files share) left time for the other worker
	// to go on into the next chunk and evict this one, decompressed again
	// here: an ESD of tree A had its 7 chunks of 64 MiB decompressed 9 to
	// 12 times.
	first, err := io.ReadFull(r, buf)
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		err = nil
	}
	if err != nil {
		return fmt.Errorf("wim: apply: %s: %w", batch[0].files[0].Path(), err)
	}
	for _, ino := range batch {
		f, err := createOut(ino.path(0))
		if err != nil {
			return fmt.Errorf("wim: apply: %w", err)
		}
		dst.add(f, ino.sparse())
	}
	n, err := int64(0), error(nil)
	if first > 0 {
		_, err = dst.Write(buf[:first])
	}
	if err == nil {
		n, err = io.CopyBuffer(dst, r, buf)
		n += int64(first)
	}
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("wim: apply: %s: %w", batch[0].files[0].Path(), err)
	}
	if n != j.size {
		return fmt.Errorf("wim: apply: %s: blob %s gave %d bytes, want %d", batch[0].files[0].Path(), j.hash, n, j.size)
	}
	// Sparse files end in a hole when their last blocks are zero: give
	// them their size.
	for i, f := range dst.files {
		if dst.sparse[i] {
			if err := f.Truncate(j.size); err != nil {
				return fmt.Errorf("wim: apply: setting the size of %s: %w", batch[i].files[0].Path(), err)
			}
		}
	}
	for i, f := range dst.files {
		if err := finishFile(f, batch[i]); err != nil {
			return err
		}
	}
	return nil
}

// readLinkData reads the blob of link job j, as ReadBlob does, its reader
// taking over j's pin as writeBatch's does.
func (w *WIM) readLinkData(j *blobJob) ([]byte, error) {
	if j.size > maxReparseData {
		return nil, fmt.Errorf("reparse data of %d bytes", j.size)
	}
	r, err := w.openBlobPinned(j.hash, &j.pinned)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	// The digest is checked as the last byte is read (hashingReader).
	return readAllSizedIn(r, j.size, nil)
}

// createFile creates a new regular file; O_EXCL makes it fail, rather than
// follow, if anything (a link included) already has the name.
func createFile(path string) (*os.File, error) {
	f, err := createExcl(path)
	if err != nil {
		return nil, fmt.Errorf("wim: apply: %w", err)
	}
	return f, nil
}

// setTimes sets the access and modification times of a created file.
func setTimes(ino *planInode) error {
	f := ino.files[0]
	if err := setFileTimes(ino.path(0), f.Accessed, f.Modified); err != nil {
		return fmt.Errorf("wim: apply: %w", err)
	}
	return nil
}

// makeLink creates the symbolic link of entry l, with its reparse data
// from held when the data pass read it.
func (w *WIM) makeLink(l planEntry, altroot string, held map[Hash][]byte) error {
	f := l.f
	rp, _ := f.Reparse()
	data, ok := held[rp.Hash]
	if !ok && !rp.Hash.IsZero() {
		var err error
		data, err = w.ReadBlob(rp.Hash, maxReparseData)
		if err != nil {
			return fmt.Errorf("wim: apply: reparse data of %s: %w", f.Path(), err)
		}
	}
	target, err := linkTarget(f.ReparseTag, f.ReparseFlags, data, altroot)
	if err != nil {
		return fmt.Errorf("wim: apply: %s: %v", f.Path(), err)
	}
	if err := os.Symlink(target, l.path); err != nil {
		return fmt.Errorf("wim: apply: %w", err)
	}
	if err := setLinkTimes(l.path, f.Accessed, f.Modified); err != nil {
		return fmt.Errorf("wim: apply: %s: %w", l.path, err)
	}
	return nil
}

// ntRootPrefixes are the NT namespace prefixes of absolute link targets
// ("\??\C:\dir"), stripped with the device name that follows them.
var ntRootPrefixes = []string{`\??\`, `\DosDevices\`, `\Device\`}

// linkTarget decodes the reparse data of a symlink or junction (without the
// 8-byte reparse header) into a POSIX link target, as wimlib does: the
// substitute name, with an NT prefix and device name stripped from absolute
// targets, '\' and '/' swapped, and a fixed absolute target rebased onto
// altroot when altroot is not empty.
func linkTarget(tag uint32, rpFlags uint16, data []byte, altroot string) (string, error) {
	if tag != ReparseTagSymlink && tag != ReparseTagMountPoint {
		return "", fmt.Errorf("reparse tag 0x%08x is not a link", tag)
	}
	if len(data) > maxReparseData {
		return "", fmt.Errorf("reparse data of %d bytes exceeds %d", len(data), maxReparseData)
	}
	if len(data) < 8 {
		return "", fmt.Errorf("reparse data of %d bytes is too short for a link", len(data))
	}
	le := binary.LittleEndian
	subOff, subLen := int(le.Uint16(data[0:])), int(le.Uint16(data[2:]))
	prOff, prLen := int(le.Uint16(data[4:])), int(le.Uint16(data[6:]))
	if (subOff|subLen|prOff|prLen)&1 != 0 {
		return "", errors.New("link reparse data has misaligned names")
	}
	names := data[8:]
	relative := false
	if tag == ReparseTagSymlink {
		if len(data) < 12 {
			return "", fmt.Errorf("reparse data of %d bytes is too short for a symbolic link", len(data))
		}
		relative = le.Uint32(data[8:])&1 != 0 // SYMLINK_FLAG_RELATIVE
		names = data[12:]
	}
	if subOff+subLen > len(names) || prOff+prLen > len(names) {
		return "", errors.New("link reparse data names run past its end")
	}
	units := decodeUnits(names[subOff : subOff+subLen])
	if i := slices.Index(units, 0); i >= 0 {
		units = units[:i] // the link target ends at a NUL, as a C string
	}
	target := unitsToString(units)
	rebase := false
	if !relative {
		for _, p := range ntRootPrefixes {
			if strings.HasPrefix(target, p) {
				rest := strings.TrimLeft(target[len(p):], `\`)
				if i := strings.IndexByte(rest, '\\'); i >= 0 {
					target = rest[i:]
				} else {
					target = ""
				}
				break
			}
		}
		rebase = rpFlags&ReparseNotFixed == 0
	}
	// Swap the separators byte by byte (a rune mapping would mangle the
	// WTF-8 of unpaired surrogates).
	b := []byte(target)
	for i, c := range b {
		switch c {
		case '\\':
			b[i] = '/'
		case '/':
			b[i] = '\\'
		}
	}
	target = string(b)
	if rebase && altroot != "" {
		return altroot + target, nil
	}
	if target == "" {
		return "/", nil
	}
	return target, nil
}
