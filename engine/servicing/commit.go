package servicing

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/wimconsole/wimconsole/engine/progress"
	"github.com/wimconsole/wimconsole/engine/store"
	"github.com/wimconsole/wimconsole/engine/wim"
)

// CommitOptions configure Commit.
type CommitOptions struct {
	// NewImage, when set, commits the changes as a new image of the group
	// with this file name (without .wim) instead of updating the image.
	NewImage string
	// Name and Description of the committed image (default: the image's;
	// a new image gets the image's name with " (serviced)").
	Name, Description string
	Progress          progress.Func
}

// CommitResult says what a commit did.
type CommitResult struct {
	Image    store.ImageRef `json:"image"`
	Changes  int            `json:"changes"`
	NewBlobs int            `json:"new_blobs"` // blobs written to the group's data
	NewBytes int64          `json:"new_bytes"` // their uncompressed size
}

// testHook, when set by tests, is called at named steps of a commit so that
// a test can kill the process there.
var testHook func(step string)

func step(name string) {
	if testHook != nil {
		testHook(name)
	}
}

// Commit writes the session's changes into the store: new metadata, and
// only the data the image did not have appended to the group's Res.rwm,
// crash-safe and journaled by the store (see store.CommitImage). The image
// is updated in place, or with o.NewImage a new image of the group is made.
// The session ends when the commit succeeds. A mounted session is refused:
// its changes are in its folder, which Unmount (or CommitMount) commits.
// When the image changed since the session began, the commit is refused
// (an error wrapping store.ErrStale) and the session keeps its changes.
func (ss *Session) Commit(ctx context.Context, o CommitOptions) (*CommitResult, error) {
	unlock, err := ss.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	if ss.Mount != "" {
		return nil, fmt.Errorf("image %s is mounted at %s (servicing session %s): its changes are in that folder; commit them with unmount %s --commit, or discard them with --discard", ss.Image, ss.Mount, ss.ID, ss.Mount)
	}
	if err := ss.checkCommit(); err != nil {
		return nil, err
	}
	t, err := ss.buildTree(true)
	if err != nil {
		return nil, err
	}
	var unattend []byte
	if ss.Unattend {
		if unattend, err = os.ReadFile(filepath.Join(ss.dir, unattendTmp)); err != nil {
			return nil, err
		}
	}
	return ss.commitTree(ctx, t, unattend, o)
}

// commitTree commits t, the session's tree, through store.CommitImage on
// the session's base version. The caller holds the image's servicing lock.
func (ss *Session) commitTree(ctx context.Context, t *tree, unattend []byte, o CommitOptions) (*CommitResult, error) {
	ss.State = StateCommitting
	ss.Target = o.NewImage
	if err := ss.save(); err != nil {
		return nil, err
	}
	step("commit-begin")
	res := &CommitResult{Changes: len(ss.Changes)}
	hashes := make([]wim.Hash, 0, len(t.blobs))
	for h := range t.blobs {
		hashes = append(hashes, h)
	}
	sort.Slice(hashes, func(i, j int) bool { return bytes.Compare(hashes[i][:], hashes[j][:]) < 0 })
	write := func(ctx context.Context, w *wim.Writer) error {
		if err := t.fillSizes(w, ss.ref.String(), ss.s.ResPath(ss.ref.Group)); err != nil {
			return err
		}
		var total int64
		for _, h := range hashes {
			if !w.HasBlob(h) {
				total += t.blobs[h].size
			}
		}
		w.SetTotal(total)
		for _, h := range hashes {
			if w.HasBlob(h) {
				continue
			}
			src := t.blobs[h]
			err := w.WriteBlobHash(ctx, h, src.size, src.open)
			if err != nil {
				return fmt.Errorf("writing %s: %w", src.path, err)
			}
			res.NewBlobs++
			res.NewBytes += src.size
		}
		if err := w.Flush(true); err != nil {
			return err
		}
		step("commit-blobs-written")
		return nil
	}
	by := "servicing session " + ss.ID
	if ss.Mount != "" {
		by += " (unmount of " + ss.Mount + ")"
	}
	ref, err := ss.s.CommitImage(ctx, ss.ref, ss.base(), t.img, write, store.CommitOptions{
		NewFile: o.NewImage, Name: o.Name, Description: o.Description, Unattend: unattend, By: by, Progress: o.Progress})
	if err != nil {
		// Nothing took effect: the session stays open, with its changes
		// (after a stale refusal, for its owner to discard).
		if errors.Is(err, store.ErrStale) {
			err = fmt.Errorf("servicing session %s: %w", ss.ID, err)
		}
		ss.State, ss.Target = StateOpen, ""
		if serr := ss.save(); serr != nil {
			return nil, fmt.Errorf("%w (and saving the session: %v)", err, serr)
		}
		return nil, err
	}
	step("commit-done")
	res.Image = ref
	if err := ss.discard(); err != nil {
		return res, err
	}
	return res, nil
}

// checkCommit refuses to commit a stale session, or one whose earlier,
// interrupted commit took effect.
func (ss *Session) checkCommit() error {
	if ss.State == StateOpen {
		return ss.checkBase()
	}
	if why := ss.staleReason(); strings.HasPrefix(why, "committed") {
		return fmt.Errorf("servicing session %s: %s", ss.ID, why)
	}
	return nil
}
