package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/wimconsole/wimconsole/engine/atomicfile"
	"github.com/wimconsole/wimconsole/engine/progress"
	"github.com/wimconsole/wimconsole/engine/remote"
	"github.com/wimconsole/wimconsole/engine/store"
	"github.com/wimconsole/wimconsole/engine/watch"
)

// Service is what the console does with one server's image store: the same
// operations whether the store is on this machine (LocalService) or served
// over the network (RemoteService).
type Service interface {
	// Name is the server's name in the tree.
	Name() string
	// Remote reports whether the store is reached over the network.
	Remote() bool
	// State is the connection state (always Online for a local store).
	State() ConnStatus

	GroupInfos(ctx context.Context) ([]store.GroupInfo, error)
	AddGroup(ctx context.Context, name string) error
	RenameGroup(ctx context.Context, from, to string) error
	RemoveGroup(ctx context.Context, name string, force bool) error
	ListImages(ctx context.Context, o store.ListOptions) ([]store.Image, error)
	GetImage(ctx context.Context, r store.ImageRef) (store.Image, error)
	SetImage(ctx context.Context, r store.ImageRef, o store.SetOptions) error
	AddImage(ctx context.Context, src string, o store.AddOptions) ([]store.ImageRef, error)
	ReplaceImage(ctx context.Context, r store.ImageRef, src string, o store.ReplaceOptions) error
	ExportImage(ctx context.Context, r store.ImageRef, dest string, o store.ExportOptions) error
	CopyImage(ctx context.Context, r store.ImageRef, o store.CopyOptions) (store.ImageRef, error)
	RemoveImage(ctx context.Context, r store.ImageRef) error
	Regroup(ctx context.Context, g string, o store.RegroupOptions) (*store.RegroupResult, error)
	Space(ctx context.Context, g string) (*store.GroupSpace, error)
	VerifyStore(ctx context.Context, g string, report progress.Func) (*store.VerifyResult, error)
	Sessions(ctx context.Context, r store.ImageRef) ([]store.Session, error)
	InstallImage(ctx context.Context, r store.ImageRef, dest, client string, report progress.Func) error

	// Watch calls changed whenever the store changes, or the connection
	// state does, from its own goroutine (a GUI hands it to its main
	// goroutine), until stop is called.
	Watch(changed func(Change)) (stop func(), err error)
}

// ConnState is the state of the connection to a server.
type ConnState int

// Connection states.
const (
	Connecting ConnState = iota // not yet answered
	Online
	Offline // unreachable; retried in the background
)

func (s ConnState) String() string {
	switch s {
	case Online:
		return "online"
	case Offline:
		return "offline"
	}
	return "connecting"
}

// ConnStatus is a connection state with the error that caused it.
type ConnStatus struct {
	State ConnState
	Err   error     // why the server is offline
	Since time.Time // when the state began
}

// Change reports a change of a server: store paths that changed (relative to
// its root), Reload when everything should be read again (a new connection,
// or lost events), and the connection state at the time.
type Change struct {
	Paths  []string
	Reload bool
	Status ConnStatus
}

// LocalService is a Service over a store on this machine.
type LocalService struct {
	name string
	st   *store.Store
}

// NewLocalService returns the service of st, named name (the host name when
// empty, as the WDS console names the local server).
func NewLocalService(name string, st *store.Store) *LocalService {
	if name == "" {
		name, _ = os.Hostname()
	}
	return &LocalService{name: name, st: st}
}

// Store returns the local store.
func (l *LocalService) Store() *store.Store { return l.st }

func (l *LocalService) Name() string { return l.name }
func (l *LocalService) Remote() bool { return false }
func (l *LocalService) State() ConnStatus {
	return ConnStatus{State: Online}
}
func (l *LocalService) GroupInfos(ctx context.Context) ([]store.GroupInfo, error) {
	return l.st.GroupInfos()
}
func (l *LocalService) AddGroup(ctx context.Context, name string) error { return l.st.AddGroup(name) }
func (l *LocalService) RenameGroup(ctx context.Context, from, to string) error {
	return l.st.RenameGroup(from, to)
}
func (l *LocalService) RemoveGroup(ctx context.Context, name string, force bool) error {
	return l.st.RemoveGroup(name, force)
}
func (l *LocalService) ListImages(ctx context.Context, o store.ListOptions) ([]store.Image, error) {
	return l.st.ListImages(ctx, o)
}
func (l *LocalService) GetImage(ctx context.Context, r store.ImageRef) (store.Image, error) {
	return l.st.GetImage(ctx, r)
}
func (l *LocalService) SetImage(ctx context.Context, r store.ImageRef, o store.SetOptions) error {
	return l.st.SetImage(ctx, r, o)
}
func (l *LocalService) AddImage(ctx context.Context, src string, o store.AddOptions) ([]store.ImageRef, error) {
	return l.st.AddImage(ctx, src, o)
}
func (l *LocalService) ReplaceImage(ctx context.Context, r store.ImageRef, src string, o store.ReplaceOptions) error {
	return l.st.ReplaceImage(ctx, r, src, o)
}
func (l *LocalService) ExportImage(ctx context.Context, r store.ImageRef, dest string, o store.ExportOptions) error {
	return l.st.ExportImage(ctx, r, dest, o)
}
func (l *LocalService) CopyImage(ctx context.Context, r store.ImageRef, o store.CopyOptions) (store.ImageRef, error) {
	return l.st.CopyImage(ctx, r, o)
}
func (l *LocalService) RemoveImage(ctx context.Context, r store.ImageRef) error {
	return l.st.RemoveImage(ctx, r)
}
func (l *LocalService) Regroup(ctx context.Context, g string, o store.RegroupOptions) (*store.RegroupResult, error) {
	return l.st.Regroup(ctx, g, o)
}
func (l *LocalService) Space(ctx context.Context, g string) (*store.GroupSpace, error) {
	return l.st.Space(ctx, g)
}
func (l *LocalService) VerifyStore(ctx context.Context, g string, report progress.Func) (*store.VerifyResult, error) {
	return l.st.VerifyStore(ctx, g, report)
}
func (l *LocalService) Sessions(ctx context.Context, r store.ImageRef) ([]store.Session, error) {
	return l.st.Sessions(r)
}
func (l *LocalService) InstallImage(ctx context.Context, r store.ImageRef, dest, client string, report progress.Func) error {
	return l.st.InstallImage(ctx, r, dest, client, report)
}

// Watch follows the store's folder with engine/watch.
func (l *LocalService) Watch(changed func(Change)) (func(), error) {
	w, err := watch.New(l.st.Root(), 0)
	if err != nil {
		return nil, err
	}
	go func() {
		for {
			select {
			case ev, ok := <-w.Events():
				if !ok {
					return
				}
				changed(Change{Paths: ev.Paths, Status: l.State()})
			case _, ok := <-w.Errors():
				if !ok {
					return
				}
				changed(Change{Reload: true, Status: l.State()})
			}
		}
	}()
	return func() { w.Close() }, nil
}

// RemoteServer is how the console reaches a server: what "Add Server…" asks
// and the user's configuration keeps.
type RemoteServer struct {
	Name        string `json:"name"`
	URL         string `json:"url"`         // https://HOST:PORT
	Fingerprint string `json:"fingerprint"` // the certificate the user trusted
	Token       string `json:"token"`
}

// ProbeServer returns the fingerprint of the certificate of the server at
// url, for the user to compare with the one the server printed before
// trusting it (trust on first use).
func ProbeServer(ctx context.Context, url string) (string, error) {
	return remote.FetchFingerprint(ctx, url)
}

// RemoteService is a Service over a server reached with engine/remote. A
// network failure makes it Offline; the event stream's reconnection (while
// watched) or the next successful call makes it Online again.
type RemoteService struct {
	cfg RemoteServer
	c   *remote.Client

	mu     sync.Mutex
	status ConnStatus
	notify func(Change)
	// queue holds the changes not yet handed to notify; delivering says
	// a goroutine hands them over, in order. Calls out to notify never
	// happen on the goroutine of a service call (which may be a model's
	// refresh) nor under mu.
	queue      []Change
	delivering bool
	// delivered is closed when the goroutine handing changes over
	// returns, so that Watch's stop can wait for its last call to notify.
	delivered chan struct{}
}

// NewRemoteService returns the service of the server cfg describes. It does
// not connect: Connect checks the address, the certificate and the token.
func NewRemoteService(cfg RemoteServer) (*RemoteService, error) {
	c, err := remote.NewClient(cfg.URL, remote.ClientOptions{Token: cfg.Token, Fingerprint: cfg.Fingerprint})
	if err != nil {
		return nil, err
	}
	if cfg.Name == "" {
		cfg.Name = c.URL()
	}
	return &RemoteService{cfg: cfg, c: c, status: ConnStatus{State: Connecting, Since: time.Now()}}, nil
}

// Connect asks the server who the token is; it is what "Add Server…" does
// before keeping the server.
func (r *RemoteService) Connect(ctx context.Context) (remote.Info, error) {
	in, err := r.c.Info(ctx)
	r.observe(err)
	return in, err
}

// Close closes the service's idle connections to the server (see
// remote.Client.Close); a later call dials again.
func (r *RemoteService) Close() error { return r.c.Close() }

// Client returns the underlying API client.
func (r *RemoteService) Client() *remote.Client { return r.c }

// Config returns what the service was made from.
func (r *RemoteService) Config() RemoteServer { return r.cfg }

func (r *RemoteService) Name() string { return r.cfg.Name }
func (r *RemoteService) Remote() bool { return true }

// State returns the connection state.
func (r *RemoteService) State() ConnStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.status
}

// isNetError reports whether err means the server could not be reached (as
// opposed to an answer refusing the request).
func isNetError(err error) bool {
	if err == nil {
		return false
	}
	var ae *remote.Error
	if errors.As(err, &ae) {
		return false
	}
	var ne net.Error
	var ce *remote.ConnError // no answer, an io.EOF included
	return errors.As(err, &ne) || errors.As(err, &ce) || errors.Is(err, remote.ErrFingerprint) || errors.Is(err, os.ErrDeadlineExceeded) ||
		errors.Is(err, net.ErrClosed) || errors.Is(err, context.DeadlineExceeded) || isConnError(err)
}

func isConnError(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe)
}

// observe updates the state after a call, and tells the watcher.
func (r *RemoteService) observe(err error) {
	var st ConnStatus
	switch {
	case err == nil:
		st = ConnStatus{State: Online}
	case isNetError(err):
		st = ConnStatus{State: Offline, Err: err}
	default:
		var ae *remote.Error
		if errors.As(err, &ae) {
			st = ConnStatus{State: Online} // it answered
		} else {
			return
		}
	}
	r.setState(st)
}

func (r *RemoteService) setState(st ConnStatus) {
	r.mu.Lock()
	changed := st.State != r.status.State
	if changed {
		st.Since = time.Now()
		r.status = st
	} else if st.Err != nil {
		r.status.Err = st.Err
	}
	cur := r.status
	r.mu.Unlock()
	if changed {
		r.post(Change{Reload: st.State == Online, Status: cur})
	}
}

// post queues ch for the watcher (if any) and returns at once: the change
// is handed over from another goroutine, after those posted before it.
func (r *RemoteService) post(ch Change) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.notify == nil {
		return
	}
	r.queue = append(r.queue, ch)
	if !r.delivering {
		r.delivering = true
		r.delivered = make(chan struct{})
		go r.deliver(r.delivered)
	}
}

// deliver hands the queued changes to the watcher, one at a time, without
// holding mu.
func (r *RemoteService) deliver(done chan struct{}) {
	defer close(done)
	for {
		r.mu.Lock()
		if len(r.queue) == 0 || r.notify == nil {
			r.queue, r.delivering = nil, false
			r.mu.Unlock()
			return
		}
		ch, notify := r.queue[0], r.notify
		r.queue = r.queue[1:]
		r.mu.Unlock()
		notify(ch)
	}
}

func (r *RemoteService) GroupInfos(ctx context.Context) ([]store.GroupInfo, error) {
	gs, err := r.c.GroupInfos(ctx)
	r.observe(err)
	return gs, err
}
func (r *RemoteService) AddGroup(ctx context.Context, name string) error {
	err := r.c.AddGroup(ctx, name)
	r.observe(err)
	return err
}
func (r *RemoteService) RenameGroup(ctx context.Context, from, to string) error {
	err := r.c.RenameGroup(ctx, from, to)
	r.observe(err)
	return err
}
func (r *RemoteService) RemoveGroup(ctx context.Context, name string, force bool) error {
	err := r.c.RemoveGroup(ctx, name, force)
	r.observe(err)
	return err
}
func (r *RemoteService) ListImages(ctx context.Context, o store.ListOptions) ([]store.Image, error) {
	ims, err := r.c.ListImages(ctx, o)
	r.observe(err)
	return ims, err
}
func (r *RemoteService) GetImage(ctx context.Context, ref store.ImageRef) (store.Image, error) {
	im, err := r.c.GetImage(ctx, ref)
	r.observe(err)
	return im, err
}
func (r *RemoteService) SetImage(ctx context.Context, ref store.ImageRef, o store.SetOptions) error {
	err := r.c.SetImage(ctx, ref, o)
	r.observe(err)
	return err
}
func (r *RemoteService) AddImage(ctx context.Context, src string, o store.AddOptions) ([]store.ImageRef, error) {
	refs, err := r.c.AddImage(ctx, src, o)
	r.observe(err)
	return refs, err
}
func (r *RemoteService) ReplaceImage(ctx context.Context, ref store.ImageRef, src string, o store.ReplaceOptions) error {
	err := r.c.ReplaceImage(ctx, ref, src, o)
	r.observe(err)
	return err
}
func (r *RemoteService) ExportImage(ctx context.Context, ref store.ImageRef, dest string, o store.ExportOptions) error {
	err := r.c.ExportImage(ctx, ref, dest, o)
	r.observe(err)
	return err
}
func (r *RemoteService) CopyImage(ctx context.Context, ref store.ImageRef, o store.CopyOptions) (store.ImageRef, error) {
	nr, err := r.c.CopyImage(ctx, ref, o)
	r.observe(err)
	return nr, err
}
func (r *RemoteService) RemoveImage(ctx context.Context, ref store.ImageRef) error {
	err := r.c.RemoveImage(ctx, ref)
	r.observe(err)
	return err
}
func (r *RemoteService) Regroup(ctx context.Context, g string, o store.RegroupOptions) (*store.RegroupResult, error) {
	res, err := r.c.Regroup(ctx, g, o)
	r.observe(err)
	return res, err
}
func (r *RemoteService) Space(ctx context.Context, g string) (*store.GroupSpace, error) {
	gs, err := r.c.Space(ctx, g)
	r.observe(err)
	return gs, err
}
func (r *RemoteService) VerifyStore(ctx context.Context, g string, report progress.Func) (*store.VerifyResult, error) {
	res, err := r.c.VerifyStore(ctx, g, report)
	r.observe(err)
	return res, err
}
func (r *RemoteService) Sessions(ctx context.Context, ref store.ImageRef) ([]store.Session, error) {
	ss, err := r.c.Sessions(ctx, ref)
	r.observe(err)
	return ss, err
}
func (r *RemoteService) InstallImage(ctx context.Context, ref store.ImageRef, dest, client string, report progress.Func) error {
	err := r.c.InstallImage(ctx, ref, dest, client, report)
	r.observe(err)
	return err
}

// Reconnect delays of the event stream: from the first to the longest.
var (
	ReconnectMin = 250 * time.Millisecond
	ReconnectMax = 10 * time.Second
)

// Watch follows the server's event stream, reconnecting with growing
// delays while the server is away: the state goes Offline when the stream
// breaks and Online (with a Reload change) when it is back.
func (r *RemoteService) Watch(changed func(Change)) (func(), error) {
	ctx, cancel := context.WithCancel(context.Background())
	r.mu.Lock()
	if r.notify != nil {
		r.mu.Unlock()
		cancel()
		return nil, fmt.Errorf("server %s is already watched", r.cfg.Name)
	}
	r.notify = changed
	r.mu.Unlock()
	done := make(chan struct{})
	go func() {
		defer close(done)
		delay := ReconnectMin
		for ctx.Err() == nil {
			err := r.c.Watch(ctx, func(ev remote.Event) {
				delay = ReconnectMin
				if ev.Reload {
					// The stream is (re)open: the server is reachable.
					r.mu.Lock()
					wasOnline := r.status.State == Online
					r.mu.Unlock()
					if !wasOnline {
						r.setState(ConnStatus{State: Online})
						return
					}
				}
				r.post(Change{Paths: ev.Paths, Reload: ev.Reload, Status: r.State()})
			})
			if ctx.Err() != nil {
				return
			}
			var ae *remote.Error
			if errors.As(err, &ae) {
				// Refused (a revoked token): online, but no events.
				r.setState(ConnStatus{State: Online})
			} else {
				r.setState(ConnStatus{State: Offline, Err: err})
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(delay):
			}
			delay = min(delay*2, ReconnectMax)
		}
	}()
	// stop returns once no call to changed is running or will be made:
	// a change handed over just before (deliver had taken notify) used
	// to reach the watcher after it stopped watching (a console's redraw
	// running after the console was done with the server). Not to be
	// called from changed itself.
	return func() {
		cancel()
		<-done
		r.mu.Lock()
		r.notify = nil
		delivered := r.delivered
		r.mu.Unlock()
		if delivered != nil {
			<-delivered
		}
	}, nil
}

// ServerListFile is the file, in the user's configuration folder, that keeps
// the servers the console administers.
const ServerListFile = "servers.json"

// ServerListPath returns where the server list is kept:
// <user config dir>/wimconsole/servers.json.
func ServerListPath() (string, error) {
	d, err := os.UserConfigDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "wimconsole", ServerListFile), nil
}

// LoadServerList reads the server list at path (none when it is missing).
func LoadServerList(path string) ([]RemoteServer, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []RemoteServer
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, fmt.Errorf("server list %s: %w", path, err)
	}
	return out, nil
}

// SaveServerList writes the server list to path, readable by the user only
// (it holds tokens), through a synced temporary file renamed into place:
// a failure at any step leaves the old list whole.
func SaveServerList(path string, servers []RemoteServer) error {
	data, err := json.MarshalIndent(servers, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	if err := saveFile(path, append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("saving the server list %s: %w", path, err)
	}
	return nil
}

// saveFile writes the server list whole or not at all (tests make it fail).
var saveFile = atomicfile.WriteFile

var (
	_ Service = (*LocalService)(nil)
	_ Service = (*RemoteService)(nil)
)
