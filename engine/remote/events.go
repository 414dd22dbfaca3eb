package remote

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/wimconsole/wimconsole/engine/store"
)

// KeepAlive is how often an idle event stream sends a comment line, so that
// proxies and clients see the connection is alive.
var KeepAlive = 15 * time.Second

// broker fans events out to the event streams.
type broker struct {
	mu     sync.Mutex
	seq    uint64
	subs   map[chan Event]struct{}
	closed bool
}

func newBroker() *broker { return &broker{subs: map[chan Event]struct{}{}} }

func (b *broker) subscribe() chan Event {
	b.mu.Lock()
	defer b.mu.Unlock()
	ch := make(chan Event, 64)
	if b.closed {
		close(ch)
		return ch
	}
	b.subs[ch] = struct{}{}
	return ch
}

func (b *broker) unsubscribe(ch chan Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.subs[ch]; ok {
		delete(b.subs, ch)
		close(ch)
	}
}

// publish sends ev to every stream; a stream too slow to take it gets a
// Reload event instead (it has lost events).
func (b *broker) publish(ev Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.seq++
	ev.Seq = b.seq
	ev.Time = time.Now().UTC()
	for ch := range b.subs {
		select {
		case ch <- ev:
		default:
			// Full: drop the oldest and ask for a reload.
			select {
			case <-ch:
			default:
			}
			select {
			case ch <- Event{Seq: ev.Seq, Time: ev.Time, Reload: true}:
			default:
			}
		}
	}
}

func (b *broker) close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	for ch := range b.subs {
		delete(b.subs, ch)
		close(ch)
	}
}

// visible reports whether a changed path concerns clients: the store's
// content and the catalog, not the server's own work folders.
func visible(p string) bool {
	if p == store.ConsoleDir+"/"+store.CatalogFile {
		return true
	}
	return p != store.ConsoleDir && !strings.HasPrefix(p, store.ConsoleDir+"/")
}

func (srv *Server) forwardEvents() {
	defer srv.wg.Done()
	for {
		select {
		case ev, ok := <-srv.watcher.Events():
			if !ok {
				return
			}
			var paths []string
			for _, p := range ev.Paths {
				if visible(p) {
					paths = append(paths, p)
				}
			}
			if len(paths) > 0 {
				srv.events.publish(Event{Paths: paths})
			}
		case _, ok := <-srv.watcher.Errors():
			if !ok {
				return
			}
			srv.events.publish(Event{Reload: true})
		case <-srv.ctx.Done():
			return
		}
	}
}

// filterEvent keeps the paths a token may see.
func filterEvent(tok Token, ev Event) (Event, bool) {
	if tok.AllGroups() || ev.Reload {
		return ev, true
	}
	var keep []string
	for _, p := range ev.Paths {
		parts := strings.Split(path.Clean(p), "/")
		switch {
		case parts[0] == store.ConsoleDir:
			keep = append(keep, p)
		case parts[0] == store.ImagesDir && len(parts) > 1 && tok.HasGroup(parts[1]):
			keep = append(keep, p)
		}
	}
	ev.Paths = keep
	return ev, len(keep) > 0
}

// serveEvents is the event stream, as server-sent events: an "hello" event
// when the stream starts, then one "change" event (data: an Event in JSON)
// per burst of changes.
func (srv *Server) serveEvents(w http.ResponseWriter, r *http.Request, tok Token) error {
	rc := http.NewResponseController(w)
	ch := srv.events.subscribe()
	defer srv.events.unsubscribe(ch)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	fmt.Fprintf(w, "event: hello\ndata: {}\n\n")
	if err := rc.Flush(); err != nil {
		return nil
	}
	t := time.NewTicker(KeepAlive)
	defer t.Stop()
	for {
		select {
		case <-r.Context().Done():
			return nil
		case <-srv.ctx.Done():
			return nil
		case ev, ok := <-ch:
			if !ok {
				return nil
			}
			ev, ok = filterEvent(tok, ev)
			if !ok {
				continue
			}
			data, _ := json.Marshal(ev)
			fmt.Fprintf(w, "event: change\nid: %d\ndata: %s\n\n", ev.Seq, data)
		case <-t.C:
			fmt.Fprintf(w, ": keep-alive\n\n")
		}
		if err := rc.Flush(); err != nil {
			return nil
		}
	}
}
