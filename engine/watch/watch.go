// Package watch tells when an image store changes on disk: fsnotify over the
// store's folders, debounced into one event per burst of changes, so that a
// console or a server sees what another process (or an administrator with a
// file manager) did within a second.
package watch

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
)

// DefaultDebounce is how long the watcher waits for a burst of changes to
// end before it reports them.
const DefaultDebounce = 150 * time.Millisecond

// maxDepth bounds how deep below the root folders are watched: the store's
// layout is shallow (Boot/<arch>/Images/<file>), and image folders hold
// $OEM$ trees that need not be watched file by file.
const maxDepth = 4

// Event reports that something under the root changed. Paths are relative to
// the root, slash-separated, sorted and without duplicates.
type Event struct {
	Paths []string
}

// Watcher watches a store root.
type Watcher struct {
	root     string
	debounce time.Duration
	fw       *fsnotify.Watcher
	events   chan Event
	errors   chan error
	done     chan struct{}
	wg       sync.WaitGroup
}

// New starts watching root and the folders below it (to a shallow depth).
// debounce 0 means DefaultDebounce.
func New(root string, debounce time.Duration) (*Watcher, error) {
	if debounce <= 0 {
		debounce = DefaultDebounce
	}
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("watch %s: %w", root, err)
	}
	w := &Watcher{
		root: root, debounce: debounce, fw: fw,
		events: make(chan Event, 16), errors: make(chan error, 4), done: make(chan struct{}),
	}
	if err := w.addTree(root); err != nil {
		fw.Close()
		return nil, err
	}
	w.wg.Add(1)
	go w.loop()
	return w, nil
}

// Events delivers debounced change events. It is closed by Close.
func (w *Watcher) Events() <-chan Event { return w.events }

// Errors delivers errors of the underlying watcher (for example, an event
// queue overflow, after which a full reload is the safe answer).
func (w *Watcher) Errors() <-chan error { return w.errors }

// Close stops the watcher.
func (w *Watcher) Close() error {
	select {
	case <-w.done:
		return nil
	default:
	}
	close(w.done)
	err := w.fw.Close()
	w.wg.Wait()
	return err
}

func (w *Watcher) depth(p string) int {
	rel, err := filepath.Rel(w.root, p)
	if err != nil || rel == "." {
		return 0
	}
	return strings.Count(filepath.ToSlash(rel), "/") + 1
}

// addTree watches dir and its subfolders down to maxDepth.
func (w *Watcher) addTree(dir string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == dir {
				return fmt.Errorf("watch %s: %w", p, err)
			}
			return nil // vanished meanwhile
		}
		if !d.IsDir() {
			return nil
		}
		if w.depth(p) > maxDepth {
			return filepath.SkipDir
		}
		if err := w.fw.Add(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("watch %s: %w", p, err)
		}
		return nil
	})
}

func (w *Watcher) loop() {
	defer w.wg.Done()
	defer close(w.events)
	pending := map[string]bool{}
	var timer *time.Timer
	var fire <-chan time.Time
	for {
		select {
		case <-w.done:
			return
		case ev, ok := <-w.fw.Events:
			if !ok {
				return
			}
			if ev.Has(fsnotify.Create) {
				if fi, err := os.Stat(ev.Name); err == nil && fi.IsDir() && w.depth(ev.Name) <= maxDepth {
					_ = w.addTree(ev.Name)
				}
			}
			if rel, err := filepath.Rel(w.root, ev.Name); err == nil {
				pending[filepath.ToSlash(rel)] = true
			}
			if timer == nil {
				timer = time.NewTimer(w.debounce)
			} else {
				timer.Reset(w.debounce)
			}
			fire = timer.C
		case <-fire:
			fire = nil
			paths := make([]string, 0, len(pending))
			for p := range pending {
				paths = append(paths, p)
			}
			sort.Strings(paths)
			pending = map[string]bool{}
			select {
			case w.events <- Event{Paths: paths}:
			case <-w.done:
				return
			}
		case err, ok := <-w.fw.Errors:
			if !ok {
				return
			}
			select {
			case w.errors <- fmt.Errorf("watch %s: %w", w.root, err):
			default:
			}
		}
	}
}
