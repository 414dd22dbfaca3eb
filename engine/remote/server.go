package remote

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wimconsole/wimconsole/engine/progress"
	"github.com/wimconsole/wimconsole/engine/store"
	"github.com/wimconsole/wimconsole/engine/watch"
)

// Limits of request bodies.
const (
	// DefaultMaxUpload bounds an uploaded WIM file.
	DefaultMaxUpload = 64 << 30
	// MaxJSONBody bounds a JSON request body.
	MaxJSONBody = 1 << 20
	// MaxUnattend bounds an uploaded unattend file.
	MaxUnattend = 4 << 20
)

// Defaults of the connection timeouts and limits (see Options).
const (
	DefaultHeaderTimeout    = 10 * time.Second
	DefaultBodyIdleTimeout  = time.Minute
	DefaultWriteIdleTimeout = 2 * time.Minute
	DefaultIdleTimeout      = 2 * time.Minute
	DefaultMaxHeaderBytes   = 64 << 10
	DefaultMaxConnsPerAddr  = 32
	DefaultMaxConns         = 1024
)

// Work folders under the store's WdsConsole folder. Both are emptied when a
// server starts.
const (
	uploadsDir = "uploads"
	exportsDir = "exports"
)

// Options configure a Server.
type Options struct {
	// MaxUpload bounds uploaded WIM files (0: DefaultMaxUpload).
	MaxUpload int64
	// Version is reported by /api/v1/info.
	Version string
	// NoWatch turns off the store watcher: the event stream then stays
	// silent (for tests that do not need it).
	NoWatch bool
	// Logf, when set, receives one line per failed request.
	Logf func(format string, args ...any)

	// HeaderTimeout bounds the TLS handshake and the reading of a
	// request's headers (0: DefaultHeaderTimeout).
	HeaderTimeout time.Duration
	// BodyIdleTimeout bounds how long a request body may stall: each read
	// of it must bring data within this time, so that an upload of any
	// size goes on while its data flows (0: DefaultBodyIdleTimeout).
	BodyIdleTimeout time.Duration
	// WriteIdleTimeout bounds how long a write of an answer may stall on a
	// client that does not read; downloads and event streams of any length
	// go on while the client reads (0: DefaultWriteIdleTimeout).
	WriteIdleTimeout time.Duration
	// IdleTimeout bounds how long a kept-alive connection waits for its
	// next request (0: DefaultIdleTimeout).
	IdleTimeout time.Duration
	// MaxHeaderBytes bounds a request's headers (0: DefaultMaxHeaderBytes).
	MaxHeaderBytes int
	// MaxConnsPerAddr bounds the connections one remote address may hold
	// at once; more are closed as soon as they are accepted (0:
	// DefaultMaxConnsPerAddr; negative: no bound).
	MaxConnsPerAddr int
	// MaxConns bounds the connections of all clients together, in the
	// same way (0: DefaultMaxConns; negative: no bound).
	MaxConns int
}

// withDefaults fills in the zero fields of o.
func (o Options) withDefaults() Options {
	if o.MaxUpload <= 0 {
		o.MaxUpload = DefaultMaxUpload
	}
	if o.Version == "" {
		o.Version = "dev"
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.HeaderTimeout, DefaultHeaderTimeout)
	def(&o.BodyIdleTimeout, DefaultBodyIdleTimeout)
	def(&o.WriteIdleTimeout, DefaultWriteIdleTimeout)
	def(&o.IdleTimeout, DefaultIdleTimeout)
	if o.MaxHeaderBytes <= 0 {
		o.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if o.MaxConnsPerAddr == 0 {
		o.MaxConnsPerAddr = DefaultMaxConnsPerAddr
	}
	if o.MaxConns == 0 {
		o.MaxConns = DefaultMaxConns
	}
	return o
}

// Server serves one store over HTTP. It is an http.Handler; wrap it in an
// http.Server with TLS (see LoadOrCreateCert).
type Server struct {
	st     *store.Store
	tokens *Tokens
	o      Options
	mux    *http.ServeMux
	host   string
	// handler is serve under recoverPanics, built once in NewServer.
	handler http.Handler

	// catMu serialises the short catalog transactions this process makes
	// (the catalog is locked with a file lock that is polled, which would
	// make concurrent requests wait in steps of 50 ms).
	catMu sync.Mutex

	sessMu   sync.Mutex
	sessions map[string]sessionOwner

	exports *exportCache
	events  *broker
	watcher *watch.Watcher
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

type sessionOwner struct {
	token string // token ID
	ref   store.ImageRef
}

// NewServer returns a server of st; the tokens are those of st's
// WdsConsole/tokens.db. Close it to stop its watcher and event streams.
func NewServer(st *store.Store, o Options) (*Server, error) {
	o = o.withDefaults()
	srv := &Server{st: st, tokens: OpenTokens(st.Root()), o: o, sessions: map[string]sessionOwner{}, events: newBroker()}
	srv.host, _ = os.Hostname()
	srv.handler = recoverPanics(http.HandlerFunc(srv.serve), srv.o.Logf)
	srv.ctx, srv.cancel = context.WithCancel(context.Background())
	for _, d := range []string{uploadsDir, exportsDir} {
		p := filepath.Join(st.Root(), store.ConsoleDir, d)
		if err := os.RemoveAll(p); err != nil {
			return nil, fmt.Errorf("clearing %s: %w", p, err)
		}
		if err := os.MkdirAll(p, 0o755); err != nil {
			return nil, err
		}
	}
	srv.exports = newExportCache(filepath.Join(st.Root(), store.ConsoleDir, exportsDir))
	if !o.NoWatch {
		w, err := watch.New(st.Root(), 0)
		if err != nil {
			return nil, err
		}
		srv.watcher = w
		srv.wg.Add(1)
		go srv.forwardEvents()
	}
	srv.routes()
	return srv, nil
}

// Store returns the served store.
func (srv *Server) Store() *store.Store { return srv.st }

// Tokens returns the server's token file.
func (srv *Server) Tokens() *Tokens { return srv.tokens }

// Close stops the watcher and ends the event streams. It does not wait for
// other requests: shut the http.Server down first.
func (srv *Server) Close() error {
	srv.cancel()
	var err error
	if srv.watcher != nil {
		err = srv.watcher.Close()
	}
	srv.wg.Wait()
	srv.events.close()
	return err
}

// ServeHTTP implements http.Handler. Every request is authenticated from
// its headers before any route and before any of its body is read; the
// body and the answer then go through deadlines that move as data flows
// (see timeouts.go). A panic in any of it is an error answer (see
// recoverPanics).
func (srv *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	srv.handler.ServeHTTP(w, r)
}

func (srv *Server) serve(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	tw := &timedWriter{ResponseWriter: w, rc: rc, timeout: srv.o.WriteIdleTimeout}
	tw.extend()
	// The answer's last bytes are written after the handler returns.
	defer tw.extend()
	tok, err := srv.authenticate(r)
	if err != nil {
		srv.fail(tw, r, err)
		return
	}
	r = r.WithContext(context.WithValue(r.Context(), tokenKey{}, tok))
	if r.ContentLength != 0 {
		// Also bounds the reading of what is left of the body after a
		// handler that did not read it all.
		rc.SetReadDeadline(time.Now().Add(srv.o.BodyIdleTimeout))
		r.Body = &timedBody{ReadCloser: r.Body, rc: rc, timeout: srv.o.BodyIdleTimeout}
	}
	srv.mux.ServeHTTP(tw, r)
}

// apiError is an error with an HTTP status.
type apiError struct {
	status int
	code   string
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func errf(status int, code, format string, args ...any) error {
	return &apiError{status, code, fmt.Sprintf(format, args...)}
}

func badRequest(err error) error {
	return &apiError{http.StatusBadRequest, CodeBadRequest, err.Error()}
}

// classify maps an error of the store to an API error.
func classify(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	var mbe *http.MaxBytesError
	msg := err.Error()
	switch {
	case errors.As(err, &mbe):
		return &apiError{http.StatusRequestEntityTooLarge, CodeTooLarge, fmt.Sprintf("request body is larger than %d bytes", mbe.Limit)}
	case errors.Is(err, store.ErrImageDisabled):
		return &apiError{http.StatusConflict, CodeDisabled, msg}
	case errors.Is(err, store.ErrBusy), errors.Is(err, store.ErrGroupBusy):
		return &apiError{http.StatusServiceUnavailable, CodeBusy, msg}
	case errors.Is(err, context.Canceled):
		return &apiError{http.StatusServiceUnavailable, CodeBusy, "request cancelled"}
	case errors.Is(err, fs.ErrNotExist), strings.Contains(msg, "does not exist"), strings.Contains(msg, "no such"):
		return &apiError{http.StatusNotFound, CodeNotFound, msg}
	}
	return &apiError{http.StatusConflict, CodeConflict, msg}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (srv *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	ae := classify(err)
	if srv.o.Logf != nil {
		srv.o.Logf("%s %s: %d %s", r.Method, r.URL.Path, ae.status, ae.msg)
	}
	if ae.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="wimconsole"`)
	}
	// A refused request, or one whose body is left unread, closes its
	// connection after the answer: else the server would wait for the
	// rest of the body first, which a client may never send. It still
	// takes what of the body comes within refusalGrace (up to 256 KiB),
	// so that a client still sending it reads the answer rather than a
	// broken connection.
	unread := r.ContentLength != 0 && !bodyRead(r)
	if ae.status == http.StatusUnauthorized || ae.status == http.StatusForbidden || unread {
		w.Header().Set("Connection", "close")
	}
	if unread {
		http.NewResponseController(w).SetReadDeadline(time.Now().Add(min(refusalGrace, srv.o.BodyIdleTimeout)))
	}
	if ae.status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, ae.status, ErrorBody{Error: ae.msg, Code: ae.code})
}

// refusalGrace bounds the wait for the body of a request answered without
// reading it.
const refusalGrace = time.Second

type handler func(w http.ResponseWriter, r *http.Request, tok Token) error

// handle routes pattern to h for tokens of role at least role.
func (srv *Server) handle(pattern string, role Role, h handler) {
	srv.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		tok, err := requestToken(r)
		if err == nil && !tok.Can(role) {
			err = errf(http.StatusForbidden, CodeForbidden, "token %s has role %s; this needs %s", tok.ID, tok.Role, role)
		}
		if err == nil {
			err = h(w, r, tok)
		}
		if err != nil {
			srv.fail(w, r, err)
		}
	})
}

// tokenKey keys the token ServeHTTP found in a request's context.
type tokenKey struct{}

// requestToken returns the token ServeHTTP authenticated r with.
func requestToken(r *http.Request) (Token, error) {
	tok, ok := r.Context().Value(tokenKey{}).(Token)
	if !ok {
		return Token{}, errf(http.StatusUnauthorized, CodeUnauthorized, "no token: send Authorization: Bearer TOKEN")
	}
	return tok, nil
}

// authenticate finds the token of r from its Authorization header.
func (srv *Server) authenticate(r *http.Request) (Token, error) {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return Token{}, errf(http.StatusUnauthorized, CodeUnauthorized, "no token: send Authorization: Bearer TOKEN")
	}
	secret, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok {
		return Token{}, errf(http.StatusUnauthorized, CodeUnauthorized, "Authorization header: want Bearer TOKEN")
	}
	tok, ok, err := srv.tokens.Lookup(strings.TrimSpace(secret))
	if err != nil {
		return Token{}, err
	}
	if !ok {
		return Token{}, errf(http.StatusUnauthorized, CodeUnauthorized, "token not known to this server (wrong or revoked)")
	}
	return tok, nil
}

// needGroup refuses a token limited to other groups.
func needGroup(tok Token, g string) error {
	if !tok.HasGroup(g) {
		return errf(http.StatusForbidden, CodeForbidden, "token %s is limited to image groups %s: %s is out of its reach", tok.ID, strings.Join(tok.Groups, ", "), g)
	}
	return nil
}

// needAll refuses a token limited to groups, for store-wide actions.
func needAll(tok Token, what string) error {
	if !tok.AllGroups() {
		return errf(http.StatusForbidden, CodeForbidden, "token %s is limited to image groups %s: %s needs an unlimited token", tok.ID, strings.Join(tok.Groups, ", "), what)
	}
	return nil
}

func needImage(tok Token, ref store.ImageRef) error {
	if ref.Boot {
		return needAll(tok, "boot image "+ref.String())
	}
	return needGroup(tok, ref.Group)
}

func groupParam(r *http.Request) (string, error) {
	g := r.PathValue("group")
	if err := store.CheckGroupName(g); err != nil {
		return "", badRequest(err)
	}
	return g, nil
}

func refParam(r *http.Request) (store.ImageRef, error) {
	s := r.URL.Query().Get("ref")
	if s == "" {
		return store.ImageRef{}, errf(http.StatusBadRequest, CodeBadRequest, "missing ref (GROUP/FILE or boot/ARCH/FILE)")
	}
	ref, err := store.ParseImageRef(s)
	if err != nil {
		return ref, badRequest(err)
	}
	return ref, nil
}

func readJSON(r *http.Request, w http.ResponseWriter, v any) error {
	body := http.MaxBytesReader(w, r.Body, MaxJSONBody)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		// Read to the end (a newline may follow), so that the body's
		// read deadline ends now and not during the work that follows.
		_, err = io.Copy(io.Discard, body)
	}
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return errf(http.StatusBadRequest, CodeBadRequest, "request body: %v", err)
	}
	return nil
}

func boolParam(r *http.Request, name string) (bool, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, errf(http.StatusBadRequest, CodeBadRequest, "%s=%q: want true or false", name, v)
	}
	return b, nil
}

// short runs fn under catMu.
func (srv *Server) short(fn func() error) error {
	srv.catMu.Lock()
	defer srv.catMu.Unlock()
	return fn()
}

// long runs a long operation. When the client asks for JSON lines, the
// answer streams progress reports then the result (or the error); else it
// is the result alone.
func (srv *Server) long(w http.ResponseWriter, r *http.Request, status int, fn func(report progress.Func) (any, error)) error {
	if !strings.Contains(r.Header.Get("Accept"), ndjson) {
		v, err := fn(nil)
		if err != nil {
			return err
		}
		writeJSON(w, status, v)
		return nil
	}
	w.Header().Set("Content-Type", ndjson)
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	rc.Flush()
	var mu sync.Mutex
	enc := json.NewEncoder(w)
	last := time.Time{}
	report := func(p progress.Report) {
		mu.Lock()
		defer mu.Unlock()
		if now := time.Now(); now.Sub(last) >= 100*time.Millisecond || p.Done == p.Total {
			last = now
			enc.Encode(streamLine{Progress: &p})
			rc.Flush()
		}
	}
	v, err := fn(report)
	mu.Lock()
	defer mu.Unlock()
	if err != nil {
		ae := classify(err)
		if srv.o.Logf != nil {
			srv.o.Logf("%s %s: %d %s", r.Method, r.URL.Path, ae.status, ae.msg)
		}
		enc.Encode(streamLine{Error: &ErrorBody{Error: ae.msg, Code: ae.code}, Status: ae.status})
		return nil
	}
	enc.Encode(streamLine{Result: v, Status: status})
	return nil
}
