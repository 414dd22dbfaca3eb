package app

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"strings"

	"github.com/wimconsole/wimconsole/engine/remote"
	"github.com/wimconsole/wimconsole/engine/store"
)

// LocalStore is what a Service over a store on this machine adds: the
// store itself, for what only a local store has (its folders and files,
// servicing, language packs, the read-only check). Callers ask for it with
// a type assertion on Server.Service(); LocalService has it.
type LocalStore interface {
	Store() *store.Store
}

// RemoteEndpoint is what a Service reached over the network adds: the
// configuration the user's server list keeps, and the check "Add Server…"
// makes. RemoteService has it.
type RemoteEndpoint interface {
	Config() RemoteServer
	Connect(ctx context.Context) (remote.Info, error)
}

// NewServer returns the server whose actions go through svc, named as svc
// names itself.
func NewServer(svc Service) *Server {
	return &Server{Name: svc.Name(), svc: svc}
}

// NewRemoteServer returns the server cfg describes, reached over the
// network. It does not connect: a server that cannot be reached shows as
// offline until it answers. Its name defaults to the address's host:port.
func NewRemoteServer(cfg RemoteServer) (*Server, error) {
	s, _, err := newRemoteServer(cfg)
	return s, err
}

func newRemoteServer(cfg RemoteServer) (*Server, *RemoteService, error) {
	if cfg.Name == "" {
		u, err := url.Parse(cfg.URL)
		if err != nil || u.Host == "" {
			return nil, nil, fmt.Errorf("server address %q: want https://HOST:PORT", cfg.URL)
		}
		cfg.Name = u.Host
	}
	if strings.Contains(cfg.Name, "/") {
		return nil, nil, fmt.Errorf("server name %q: a name cannot hold '/'", cfg.Name)
	}
	r, err := NewRemoteService(cfg)
	if err != nil {
		return nil, nil, err
	}
	return &Server{Name: cfg.Name, svc: r}, r, nil
}

// ConnectServer is what "Add Server…" does once the fingerprint is
// trusted: it makes the server and checks that it answers and accepts the
// token.
func ConnectServer(ctx context.Context, cfg RemoteServer) (*Server, error) {
	s, r, err := newRemoteServer(cfg)
	if err != nil {
		return nil, err
	}
	if _, err := r.Connect(ctx); err != nil {
		return nil, fmt.Errorf("connecting to %s: %w", cfg.URL, err)
	}
	return s, nil
}

// Service returns the service the server's actions go through: always the
// same one, made with the server.
func (s *Server) Service() Service { return s.svc }

// local returns the server's store when its service is over a store on this
// machine (see LocalStore).
func (s *Server) local() (*store.Store, bool) {
	l, ok := s.svc.(LocalStore)
	if !ok {
		return nil, false
	}
	st := l.Store()
	return st, st != nil
}

// IsRemote reports whether the server is reached over the network.
func (s *Server) IsRemote() bool { return s.svc.Remote() }

// Offline reports whether the server is a remote one that cannot be reached
// now.
func (s *Server) Offline() bool {
	return s.svc.State().State == Offline
}

// Location is where the server's store is: its folder, or its address.
func (s *Server) Location() string {
	if st, ok := s.local(); ok {
		return st.Root()
	}
	if e, ok := s.svc.(RemoteEndpoint); ok {
		return e.Config().URL
	}
	return ""
}

// GroupDir returns image group g's folder ("" on a remote server).
func (s *Server) GroupDir(g string) string {
	if st, ok := s.local(); ok {
		return st.GroupDir(g)
	}
	return ""
}

// BootDir returns the folder of the boot images of architecture a ("" on a
// remote server).
func (s *Server) BootDir(a string) string {
	if st, ok := s.local(); ok {
		return filepath.Join(st.Root(), store.BootDir, a, store.ImagesDir)
	}
	return ""
}

// CatalogPath returns the catalog's file ("" on a remote server).
func (s *Server) CatalogPath() string {
	if st, ok := s.local(); ok {
		return st.CatalogPath()
	}
	return ""
}

// archs returns the server's boot architectures; a remote server's are
// those of its boot images.
func (s *Server) archs(images []store.Image) ([]string, error) {
	if st, ok := s.local(); ok {
		return st.Archs()
	}
	var out []string
	for _, im := range images {
		if im.Type == store.TypeBoot && !slices.Contains(out, im.BootArch) {
			out = append(out, im.BootArch)
		}
	}
	slices.Sort(out)
	return out, nil
}

// offline reports whether err means a server could not be reached: the tree
// shows such a server as offline rather than failing the refresh.
func offline(err error) bool { return isNetError(err) }

// AddServer adds s to the model and loads its tree (a server that cannot be
// read shows as offline, or reports at the next Refresh). A server of the
// same name is refused.
func (m *Model) AddServer(s *Server) error {
	m.mu.Lock()
	for _, o := range m.servers {
		if o.Name == s.Name {
			m.mu.Unlock()
			return fmt.Errorf("a server named %q is already in the console", s.Name)
		}
	}
	m.servers = append(m.servers, s)
	m.mu.Unlock()
	m.Refresh()
	return nil
}

// RemoveServer takes s out of the model.
func (m *Model) RemoveServer(s *Server) {
	m.mu.Lock()
	m.servers = slices.DeleteFunc(m.servers, func(o *Server) bool { return o == s })
	m.mu.Unlock()
	m.Refresh()
}

// RemoteServers returns the configuration of the model's remote servers,
// as the user's server list keeps it.
func (m *Model) RemoteServers() []RemoteServer {
	var out []RemoteServer
	for _, s := range m.Servers() {
		if e, ok := s.svc.(RemoteEndpoint); ok {
			cfg := e.Config()
			cfg.Name = s.Name
			out = append(out, cfg)
		}
	}
	return out
}

// WatchServer follows remote server s's event stream: on every change of
// its store or of its connection, the model reloads and changed is called,
// from the stream's goroutine. Stop with the returned function.
func (m *Model) WatchServer(s *Server, changed func(err error)) (stop func(), err error) {
	if !s.svc.Remote() {
		return nil, fmt.Errorf("server %s is not a remote server", s.Name)
	}
	return s.svc.Watch(func(Change) { changed(m.Refresh()) })
}

// ReadOnly reports whether the server's store cannot be changed, and why
// (see store.Store.ReadOnly): a local store on a read-only mount or a share
// without write rights. The console then offers only the actions that
// read. A remote server reports its refusals as errors.
func (s *Server) ReadOnly() (bool, string) {
	if st, ok := s.local(); ok {
		return st.ReadOnly()
	}
	return false, ""
}
