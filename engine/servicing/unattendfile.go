package servicing

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/wimconsole/wimconsole/engine/atomicfile"
	"github.com/wimconsole/wimconsole/engine/store"
	"github.com/wimconsole/wimconsole/engine/unattend"
)

// maxUnattend bounds the answer files read into memory.
const maxUnattend = 16 << 20

// ImageUnattend returns the ImageUnattend.xml associated with image r of
// store s, or nil when it has none.
func ImageUnattend(ctx context.Context, s *store.Store, r store.ImageRef) ([]byte, error) {
	im, err := s.GetImage(ctx, r)
	if err != nil {
		return nil, err
	}
	if im.Unattend == "" {
		return nil, nil
	}
	p := filepath.Join(s.GroupDir(r.Group), filepath.FromSlash(im.Unattend))
	st, err := os.Stat(p)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	if st.Size() > maxUnattend {
		return nil, fmt.Errorf("%s: %d bytes is too large for an answer file", p, st.Size())
	}
	return os.ReadFile(p)
}

// UnattendData returns the image's answer file as the session will commit
// it: the one staged in the session, else the image's own (nil for none).
func (ss *Session) UnattendData(ctx context.Context) ([]byte, error) {
	if ss.Unattend {
		return os.ReadFile(filepath.Join(ss.dir, unattendTmp))
	}
	if ss.ref.Boot {
		return nil, nil
	}
	return ImageUnattend(ctx, ss.s, ss.ref)
}

// SetUnattend stages doc as the image's ImageUnattend.xml, after checking
// it with unattend.Validate.
func (ss *Session) SetUnattend(doc []byte) error {
	if ss.ref.Boot {
		return errors.New("boot images have no ImageUnattend.xml")
	}
	if err := unattend.Validate("ImageUnattend.xml", doc); err != nil {
		return err
	}
	unlock, err := ss.lock()
	if err != nil {
		return err
	}
	defer unlock()
	if ss.State != StateOpen {
		return fmt.Errorf("servicing session %s is %s", ss.ID, ss.State)
	}
	if err := atomicfile.WriteFile(filepath.Join(ss.dir, unattendTmp), doc, 0o644); err != nil {
		return err
	}
	ss.Unattend = true
	return ss.save()
}
