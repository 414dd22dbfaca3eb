package remote

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/wimconsole/wimconsole/engine/store"
)

// maxExports bounds how many exported WIMs the cache keeps while unused.
const maxExports = 8

// exportCache keeps standalone exports of images, so that the many install
// sessions of one image (and resumed downloads) share one file. An entry is
// keyed by the image's reference, the size and time of its file and of its
// group's Res.rwm, and the name and description asked for: when the image
// changes (replace, set-image) the key changes.
type exportCache struct {
	dir     string
	mu      sync.Mutex
	entries map[string]*exportEntry
}

type exportEntry struct {
	key   string
	ref   string
	path  string
	mtime time.Time
	ready chan struct{}
	err   error
	users int
	last  time.Time
}

func newExportCache(dir string) *exportCache {
	return &exportCache{dir: dir, entries: map[string]*exportEntry{}}
}

func stamp(p string) string {
	fi, err := os.Stat(p)
	if err != nil {
		return "-"
	}
	return fmt.Sprint(fi.Size(), ".", fi.ModTime().UnixNano())
}

// get returns the export of ref, building it when needed; release it after
// use.
func (c *exportCache) get(ctx context.Context, st *store.Store, ref store.ImageRef, name, desc string) (*exportEntry, error) {
	res := "-"
	if !ref.Boot {
		res = stamp(st.ResPath(ref.Group))
	}
	if _, err := os.Stat(st.ImagePath(ref)); err != nil {
		return nil, fmt.Errorf("image %s does not exist", ref)
	}
	h := sha256.Sum256([]byte(ref.String() + "\x00" + stamp(st.ImagePath(ref)) + "\x00" + res + "\x00" + name + "\x00" + desc))
	key := hex.EncodeToString(h[:])
	c.mu.Lock()
	e, ok := c.entries[key]
	if !ok {
		e = &exportEntry{key: key, ref: ref.String(), path: filepath.Join(c.dir, key[:40]+".wim"), ready: make(chan struct{})}
		c.entries[key] = e
		c.evictLocked(e)
	}
	e.users++
	e.last = time.Now()
	c.mu.Unlock()
	if !ok {
		// Built for everyone waiting: not cancelled with the first
		// request.
		e.err = st.ExportImage(ctx, ref, e.path, store.ExportOptions{Name: name, Description: desc})
		if e.err == nil {
			if fi, err := os.Stat(e.path); err != nil {
				e.err = err
			} else {
				e.mtime = fi.ModTime()
			}
		}
		if e.err != nil {
			c.mu.Lock()
			delete(c.entries, key)
			c.mu.Unlock()
			os.Remove(e.path)
		}
		close(e.ready)
	} else {
		<-e.ready
	}
	if e.err != nil {
		c.release(e)
		return nil, e.err
	}
	return e, nil
}

func (c *exportCache) release(e *exportEntry) {
	c.mu.Lock()
	e.users--
	c.mu.Unlock()
}

// evictLocked removes unused entries of the same image (older versions) and
// the oldest unused ones over maxExports.
func (c *exportCache) evictLocked(keep *exportEntry) {
	var unused []*exportEntry
	for k, e := range c.entries {
		if e == keep || e.users > 0 {
			continue
		}
		select {
		case <-e.ready:
		default:
			continue
		}
		if e.ref == keep.ref {
			delete(c.entries, k)
			os.Remove(e.path)
			continue
		}
		unused = append(unused, e)
	}
	for len(c.entries) > maxExports && len(unused) > 0 {
		old := 0
		for i, e := range unused {
			if e.last.Before(unused[old].last) {
				old = i
			}
		}
		delete(c.entries, unused[old].key)
		os.Remove(unused[old].path)
		unused = append(unused[:old], unused[old+1:]...)
	}
}
