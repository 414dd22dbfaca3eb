package app

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"

	"github.com/wimconsole/wimconsole/engine/progress"
	"github.com/wimconsole/wimconsole/engine/remote"
	"github.com/wimconsole/wimconsole/engine/store"
)

// Serving a store over the network, its access tokens, and copying image
// groups between servers: what the serve, token and copy-image-group
// commands do.

// Token types, re-exported on purpose: the token commands list and print
// them as they are.
type (
	// Tokens is a store's access tokens.
	Tokens = remote.Tokens
	// Token is one access token, without its secret.
	Token = remote.Token
	// Role is what a token may do: reader, operator or admin.
	Role = remote.Role
	// CopyResult is what CopyGroup did.
	CopyResult = remote.CopyResult
)

// Default bounds of a server's connections.
const (
	DefaultMaxConnsPerAddr = remote.DefaultMaxConnsPerAddr
	DefaultMaxConns        = remote.DefaultMaxConns
)

// ParseRole reads a role name: admin, operator or reader.
func ParseRole(s string) (Role, error) { return remote.ParseRole(s) }

// IsLoopback reports whether the listen address addr is on a loopback
// interface (127.0.0.1, ::1), the only place plain HTTP is served.
func IsLoopback(addr string) bool { return remote.IsLoopback(addr) }

// OpenTokens returns the tokens of the store at root, which must be a
// store (it is opened, and so created, first).
func OpenTokens(root string) (*Tokens, error) {
	if _, err := store.Open(root); err != nil {
		return nil, err
	}
	return remote.OpenTokens(root), nil
}

// ServeOptions say how a store is served.
type ServeOptions struct {
	// CertFile and KeyFile are a PEM certificate and key; without them a
	// self-signed certificate is made once and kept in the store.
	CertFile, KeyFile string
	// Insecure serves plain HTTP (the caller keeps it on loopback).
	Insecure bool
	// Logf logs failed requests (nil: silent).
	Logf func(format string, args ...any)
	// MaxConnsPerAddr and MaxConns bound the connections (-1: no bound).
	MaxConnsPerAddr, MaxConns int
}

// StoreServer serves a local store's HTTPS API to remote consoles and
// deployment clients.
type StoreServer struct {
	srv  *remote.Server
	cert *tls.Certificate
	root string
}

// NewStoreServer prepares the server of the local store of srv; Serve
// starts it.
func NewStoreServer(srv *Server, o ServeOptions) (*StoreServer, error) {
	st, ok := srv.local()
	if !ok {
		return nil, fmt.Errorf("server %s: only a store on this machine can be served", srv.Name)
	}
	s := &StoreServer{root: st.Root()}
	if !o.Insecure {
		var c tls.Certificate
		var err error
		if o.CertFile != "" {
			c, err = tls.LoadX509KeyPair(o.CertFile, o.KeyFile)
		} else {
			c, err = remote.LoadOrCreateCert(st.Root())
		}
		if err != nil {
			return nil, err
		}
		s.cert = &c
	}
	rs, err := remote.NewServer(st, remote.Options{Version: Version(), Logf: o.Logf, MaxConnsPerAddr: o.MaxConnsPerAddr, MaxConns: o.MaxConns})
	if err != nil {
		return nil, err
	}
	s.srv = rs
	return s, nil
}

// Root returns the served store's folder.
func (s *StoreServer) Root() string { return s.root }

// Scheme is "https", or "http" when served without TLS.
func (s *StoreServer) Scheme() string {
	if s.cert == nil {
		return "http"
	}
	return "https"
}

// Fingerprint returns the SHA-256 fingerprint of the server's certificate
// ("" without TLS), for clients to trust.
func (s *StoreServer) Fingerprint() string {
	if s.cert == nil {
		return ""
	}
	return remote.CertFingerprint(*s.cert)
}

// HasTokens reports whether any token exists (without one, no client can
// be let in). A token file that cannot be read counts as having some: the
// server reports that on the first request.
func (s *StoreServer) HasTokens() bool {
	l, err := s.srv.Tokens().List()
	return err != nil || len(l) > 0
}

// Serve answers on l until ctx is cancelled.
func (s *StoreServer) Serve(ctx context.Context, l net.Listener) error {
	return remote.Serve(ctx, s.srv, l, s.cert)
}

// Close releases the server's store handles.
func (s *StoreServer) Close() error { return s.srv.Close() }

// GroupCopier is a Service that can copy one of its image groups to
// another server, sending only the data that server lacks. Both the local
// store and a remote server can (a remote one pushes the group itself).
type GroupCopier interface {
	CopyGroupTo(ctx context.Context, group string, dest RemoteServer, as string, report progress.Func) (*CopyResult, error)
}

// destClient connects to the server a group is copied to.
func destClient(dest RemoteServer) (*remote.Client, error) {
	c, err := remote.NewClient(dest.URL, remote.ClientOptions{Token: dest.Token, Fingerprint: dest.Fingerprint})
	if err != nil {
		return nil, fmt.Errorf("--to %s: %w", dest.URL, err)
	}
	return c, nil
}

// CopyGroupTo copies group of the local store to dest, as as ("" keeps the
// name).
func (l *LocalService) CopyGroupTo(ctx context.Context, group string, dest RemoteServer, as string, report progress.Func) (*CopyResult, error) {
	c, err := destClient(dest)
	if err != nil {
		return nil, err
	}
	return remote.CopyGroup(ctx, l.st, group, c, as, remote.CopyOptions{Progress: report})
}

// CopyGroupTo asks the server to push its group to dest, as as.
func (r *RemoteService) CopyGroupTo(ctx context.Context, group string, dest RemoteServer, as string, report progress.Func) (*CopyResult, error) {
	c, err := destClient(dest)
	if err != nil {
		return nil, err
	}
	res, err := r.c.CopyGroupTo(ctx, group, c, as, remote.CopyOptions{Progress: report})
	r.observe(err)
	return res, err
}

// CheckAddress checks the server's address and credentials as a client
// would use them, without connecting, and returns the address in the form
// the client uses (for messages).
func (cfg RemoteServer) CheckAddress() (string, error) {
	c, err := remote.NewClient(cfg.URL, remote.ClientOptions{Token: cfg.Token, Fingerprint: cfg.Fingerprint})
	if err != nil {
		return "", err
	}
	return c.URL(), nil
}
