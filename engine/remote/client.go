package remote

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wimconsole/wimconsole/engine/progress"
	"github.com/wimconsole/wimconsole/engine/store"
	"github.com/wimconsole/wimconsole/engine/wim"
)

// Progress phases of client operations.
const (
	PhaseUpload   = "uploading"
	PhaseDownload = "downloading"
)

// Errors a client returns, matched with errors.Is. An image disabled on the
// server matches store.ErrImageDisabled, and a failed verify
// store.ErrVerify.
var (
	ErrUnauthorized = errors.New("not authorized")
	ErrForbidden    = errors.New("forbidden")
	ErrNotFound     = errors.New("not found")
	ErrFingerprint  = errors.New("server certificate does not match the trusted fingerprint")
)

// Error is an error answered by the server.
type Error struct {
	Status  int    // HTTP status
	Code    string // one of the Code constants
	Message string
}

func (e *Error) Error() string { return e.Message }

// Unwrap lets errors.Is match the sentinel errors of the code.
func (e *Error) Unwrap() error {
	switch e.Code {
	case CodeUnauthorized:
		return ErrUnauthorized
	case CodeForbidden:
		return ErrForbidden
	case CodeNotFound:
		return ErrNotFound
	case CodeDisabled:
		return store.ErrImageDisabled
	case CodeBusy:
		return store.ErrBusy
	}
	return nil
}

// ClientOptions configure a Client.
type ClientOptions struct {
	// Token is sent with every request.
	Token string
	// Fingerprint is the SHA-256 fingerprint of the server's certificate
	// (see Fingerprint) that the client trusts, as the user confirmed it
	// on first use. With none, the certificate must be valid for the
	// system's roots.
	Fingerprint string
	// Timeout bounds short requests (0: one minute). Transfers and long
	// operations are bounded by their context only.
	Timeout time.Duration
	// Retries is how many times a broken download is resumed (0: 5).
	Retries int
}

// Client talks to a WIM Console server. Its methods mirror those of
// store.Store; they are safe for concurrent use.
type Client struct {
	base *url.URL
	o    ClientOptions
	hc   *http.Client
}

// NewClient returns a client of the server at rawURL (https://host:port, or
// http:// for a server on a loopback address).
func NewClient(rawURL string, o ClientOptions) (*Client, error) {
	u, err := parseServerURL(rawURL)
	if err != nil {
		return nil, err
	}
	if o.Timeout <= 0 {
		o.Timeout = time.Minute
	}
	if o.Retries <= 0 {
		o.Retries = 5
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	if u.Scheme == "https" {
		cfg, err := pinnedTLS(o.Fingerprint)
		if err != nil {
			return nil, err
		}
		tr.TLSClientConfig = cfg
	}
	return &Client{base: u, o: o, hc: &http.Client{Transport: tr}}, nil
}

// Close closes the client's idle connections. A client used for one
// command (the command line's --server) closes them when it is done, so a
// script running many commands does not run into the server's bound on
// connections per address (Options.MaxConnsPerAddr) while old ones idle.
// The client can still be used after Close; it dials again.
func (c *Client) Close() error {
	c.hc.CloseIdleConnections()
	return nil
}

func parseServerURL(rawURL string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimRight(rawURL, "/"))
	if err != nil {
		return nil, fmt.Errorf("server address %q: %w", rawURL, err)
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http":
		if !IsLoopback(u.Host) {
			return nil, fmt.Errorf("server address %q: plain http only on a loopback address; use https", rawURL)
		}
	default:
		return nil, fmt.Errorf("server address %q: want https://HOST:PORT", rawURL)
	}
	if u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
		return nil, fmt.Errorf("server address %q: want https://HOST:PORT", rawURL)
	}
	u.Path = ""
	return u, nil
}

func pinnedTLS(fp string) (*tls.Config, error) {
	if fp == "" {
		return &tls.Config{MinVersion: tls.VersionTLS12}, nil
	}
	want, err := normFingerprint(fp)
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		// The chain is not checked against roots: the pinned
		// fingerprint is the trust, checked below.
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return ErrFingerprint
			}
			h := sha256.Sum256(cs.PeerCertificates[0].Raw)
			if hex.EncodeToString(h[:]) != want {
				return fmt.Errorf("%w (it is %s)", ErrFingerprint, Fingerprint(cs.PeerCertificates[0].Raw))
			}
			return nil
		},
	}, nil
}

// FetchFingerprint connects to the server at rawURL and returns the
// fingerprint of its certificate, without trusting it: for the user to
// compare with the one the server printed before trusting it.
func FetchFingerprint(ctx context.Context, rawURL string) (string, error) {
	u, err := parseServerURL(rawURL)
	if err != nil {
		return "", err
	}
	if u.Scheme != "https" {
		return "", fmt.Errorf("server %s does not use TLS", rawURL)
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "443")
	}
	d := tls.Dialer{Config: &tls.Config{InsecureSkipVerify: true}}
	conn, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return "", fmt.Errorf("server %s: %w", rawURL, err)
	}
	defer conn.Close()
	certs := conn.(*tls.Conn).ConnectionState().PeerCertificates
	if len(certs) == 0 {
		return "", fmt.Errorf("server %s sent no certificate", rawURL)
	}
	return Fingerprint(certs[0].Raw), nil
}

// URL returns the server's address.
func (c *Client) URL() string { return c.base.String() }

func (c *Client) url(path string, q url.Values) string {
	u := *c.base
	u.Path = APIPrefix + path
	u.RawQuery = q.Encode()
	return u.String()
}

func (c *Client) newRequest(ctx context.Context, method, path string, q url.Values, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.url(path, q), body)
	if err != nil {
		return nil, err
	}
	if c.o.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.o.Token)
	}
	return req, nil
}

// decodeError turns an error answer into an *Error.
func decodeError(resp *http.Response) error {
	var eb ErrorBody
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if json.Unmarshal(data, &eb) != nil || eb.Error == "" {
		eb.Error = strings.TrimSpace(string(data))
		if eb.Error == "" {
			eb.Error = resp.Status
		}
	}
	if eb.Code == "" {
		eb.Code = codeOf(resp.StatusCode)
	}
	return &Error{Status: resp.StatusCode, Code: eb.Code, Message: eb.Error}
}

func codeOf(status int) string {
	switch status {
	case http.StatusUnauthorized:
		return CodeUnauthorized
	case http.StatusForbidden:
		return CodeForbidden
	case http.StatusNotFound:
		return CodeNotFound
	case http.StatusRequestEntityTooLarge:
		return CodeTooLarge
	case http.StatusServiceUnavailable:
		return CodeBusy
	}
	return CodeInternal
}

// ConnError is a request that got no answer: the server could not be
// reached, or the connection ended before the answer did (an io.EOF when
// the server went away mid-request). Its text is its cause's.
type ConnError struct{ Err error }

func (e *ConnError) Error() string { return e.Err.Error() }
func (e *ConnError) Unwrap() error { return e.Err }

// wrapNet names the server in a failure to get an answer from it, a
// *ConnError.
func (c *Client) wrapNet(err error) error {
	if err == nil {
		return nil
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return fmt.Errorf("server %s: %w", c.base, &ConnError{Err: err})
}

// call makes a short JSON request: in is sent as JSON when not nil, the
// answer decoded into out when not nil.
func (c *Client) call(ctx context.Context, method, path string, q url.Values, in, out any) error {
	ctx, cancel := context.WithTimeout(ctx, c.o.Timeout)
	defer cancel()
	var body io.Reader
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(data)
	}
	req, err := c.newRequest(ctx, method, path, q, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return c.wrapNet(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		return decodeError(resp)
	}
	if out == nil {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		return nil
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 256<<20)).Decode(out); err != nil {
		return fmt.Errorf("server %s: bad answer to %s %s: %w", c.base, method, path, err)
	}
	return nil
}

// long makes a long request (body may be nil) and reads its streamed
// answer: progress goes to report, the result into out.
func (c *Client) long(ctx context.Context, method, path string, q url.Values, body io.Reader, size int64, contentType string, report progress.Func, out any) error {
	req, err := c.newRequest(ctx, method, path, q, body)
	if err != nil {
		return err
	}
	if body != nil {
		req.ContentLength = size
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", ndjson)
	resp, err := c.hc.Do(req)
	if err != nil {
		return c.wrapNet(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		return decodeError(resp)
	}
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), ndjson) {
		if out == nil {
			return nil
		}
		return json.NewDecoder(io.LimitReader(resp.Body, 256<<20)).Decode(out)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	for sc.Scan() {
		var line struct {
			Progress *progress.Report `json:"progress"`
			Result   json.RawMessage  `json:"result"`
			Error    *ErrorBody       `json:"error"`
			Status   int              `json:"status"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			return fmt.Errorf("server %s: bad answer to %s %s: %w", c.base, method, path, err)
		}
		switch {
		case line.Progress != nil:
			report.Send(*line.Progress)
		case line.Error != nil:
			return &Error{Status: line.Status, Code: line.Error.Code, Message: line.Error.Error}
		default:
			if out != nil && len(line.Result) > 0 {
				return json.Unmarshal(line.Result, out)
			}
			return nil
		}
	}
	if err := sc.Err(); err != nil {
		return c.wrapNet(err)
	}
	return fmt.Errorf("server %s: answer to %s %s ended without a result", c.base, method, path)
}

// Info returns the server's description and the caller's token.
func (c *Client) Info(ctx context.Context) (Info, error) {
	var in Info
	err := c.call(ctx, "GET", "info", nil, nil, &in)
	return in, err
}

// GroupInfos describes the image groups the token may see.
func (c *Client) GroupInfos(ctx context.Context) ([]store.GroupInfo, error) {
	var gs []store.GroupInfo
	err := c.call(ctx, "GET", "groups", nil, nil, &gs)
	return gs, err
}

// AddGroup creates image group name.
func (c *Client) AddGroup(ctx context.Context, name string) error {
	return c.call(ctx, "POST", "groups", nil, NameRequest{Name: name}, nil)
}

// RenameGroup renames image group from to to.
func (c *Client) RenameGroup(ctx context.Context, from, to string) error {
	return c.call(ctx, "PATCH", "groups/"+url.PathEscape(from), nil, NameRequest{Name: to}, nil)
}

// RemoveGroup removes image group name (with its images only with force).
func (c *Client) RemoveGroup(ctx context.Context, name string, force bool) error {
	q := url.Values{}
	if force {
		q.Set("force", "true")
	}
	return c.call(ctx, "DELETE", "groups/"+url.PathEscape(name), q, nil, nil)
}

// Regroup rebuilds group g from its live images.
func (c *Client) Regroup(ctx context.Context, g string, o store.RegroupOptions) (*store.RegroupResult, error) {
	data, _ := json.Marshal(RegroupRequest{Into: o.Into, Verify: o.Verify})
	var res store.RegroupResult
	if err := c.long(ctx, "POST", "groups/"+url.PathEscape(g)+"/regroup", nil, bytes.NewReader(data), int64(len(data)), "application/json", o.Progress, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// Space returns the space accounting of group g.
func (c *Client) Space(ctx context.Context, g string) (*store.GroupSpace, error) {
	var gs store.GroupSpace
	if err := c.call(ctx, "GET", "groups/"+url.PathEscape(g)+"/space", nil, nil, &gs); err != nil {
		return nil, err
	}
	return &gs, nil
}

// VerifyStore verifies the store (or group g); problems are in the result,
// and the error then wraps store.ErrVerify.
func (c *Client) VerifyStore(ctx context.Context, g string, report progress.Func) (*store.VerifyResult, error) {
	data, _ := json.Marshal(VerifyRequest{Group: g})
	var res store.VerifyResult
	if err := c.long(ctx, "POST", "verify", nil, bytes.NewReader(data), int64(len(data)), "application/json", report, &res); err != nil {
		return nil, err
	}
	if len(res.Problems) > 0 {
		return &res, fmt.Errorf("%d problem(s): %w", len(res.Problems), store.ErrVerify)
	}
	return &res, nil
}

// ListImages returns the images the token may see.
func (c *Client) ListImages(ctx context.Context, o store.ListOptions) ([]store.Image, error) {
	q := url.Values{}
	if o.Group != "" {
		q.Set("group", o.Group)
	}
	if o.Type != "" {
		q.Set("type", o.Type)
	}
	if o.NoSpace {
		q.Set("nospace", "true")
	}
	var ims []store.Image
	err := c.call(ctx, "GET", "images", q, nil, &ims)
	return ims, err
}

func refQuery(r store.ImageRef) url.Values { return url.Values{"ref": {r.String()}} }

// GetImage describes image r.
func (c *Client) GetImage(ctx context.Context, r store.ImageRef) (store.Image, error) {
	var im store.Image
	err := c.call(ctx, "GET", "image", refQuery(r), nil, &im)
	return im, err
}

// SetImage changes image r's properties. o.Unattend is the path of a local
// file, which is uploaded ("" removes the image's unattend file).
func (c *Client) SetImage(ctx context.Context, r store.ImageRef, o store.SetOptions) error {
	req := SetImageRequest{Enabled: o.Enabled, Name: o.Name, Description: o.Description, DisplayOrder: o.DisplayOrder}
	if o.Unattend != nil && *o.Unattend == "" {
		req.RemoveUnattend = true
	}
	if req != (SetImageRequest{}) {
		if err := c.call(ctx, "PATCH", "image", refQuery(r), req, nil); err != nil {
			return err
		}
	}
	if o.Unattend != nil && *o.Unattend != "" {
		data, err := os.ReadFile(*o.Unattend)
		if err != nil {
			return err
		}
		if len(data) > MaxUnattend {
			return fmt.Errorf("%s: unattend file of %d bytes is larger than %d", *o.Unattend, len(data), MaxUnattend)
		}
		return c.long(ctx, "PUT", "image/unattend", refQuery(r), bytes.NewReader(data), int64(len(data)), "application/xml", nil, nil)
	}
	return nil
}

// countingReader reports the bytes read through it.
type countingReader struct {
	r      io.Reader
	n      int64
	total  int64
	phase  string
	report progress.Func
}

func (cr *countingReader) Read(p []byte) (int, error) {
	n, err := cr.r.Read(p)
	cr.n += int64(n)
	if n > 0 {
		cr.report.Send(progress.Report{Phase: cr.phase, Done: cr.n, Total: cr.total})
	}
	return n, err
}

// upload sends the file src as the body of a long request.
func (c *Client) upload(ctx context.Context, method, path string, q url.Values, src string, report progress.Func, out any) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", src)
	}
	q.Set("filename", strings.TrimSuffix(filepath.Base(src), filepath.Ext(src)))
	body := &countingReader{r: f, total: fi.Size(), phase: PhaseUpload, report: report}
	return c.long(ctx, method, path, q, body, fi.Size(), "application/octet-stream", report, out)
}

// AddImage uploads the WIM file src and adds its images as o says;
// o.Unattend is a local file, uploaded for each new image.
func (c *Client) AddImage(ctx context.Context, src string, o store.AddOptions) ([]store.ImageRef, error) {
	q := url.Values{}
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	set("group", o.Group)
	set("arch", o.Arch)
	set("name", o.Name)
	set("description", o.Description)
	set("image_filename", o.FileName)
	if o.Boot {
		q.Set("boot", "true")
	}
	if o.SkipVerify {
		q.Set("skip_verify", "true")
	}
	for _, i := range o.Indexes {
		q.Add("index", strconv.Itoa(i))
	}
	var resp RefsResponse
	if err := c.upload(ctx, "POST", "images", q, src, o.Progress, &resp); err != nil {
		return nil, err
	}
	var refs []store.ImageRef
	for _, s := range resp.Images {
		r, err := store.ParseImageRef(s)
		if err != nil {
			return refs, fmt.Errorf("server %s: bad image reference in answer: %w", c.base, err)
		}
		refs = append(refs, r)
	}
	if o.Unattend != "" {
		for _, r := range refs {
			if err := c.SetImage(ctx, r, store.SetOptions{Unattend: &o.Unattend}); err != nil {
				return refs, err
			}
		}
	}
	return refs, nil
}

// ReplaceImage uploads the WIM file src and replaces image r (which must be
// disabled) by its image o.SourceIndex, once r's install sessions have ended.
func (c *Client) ReplaceImage(ctx context.Context, r store.ImageRef, src string, o store.ReplaceOptions) error {
	q := refQuery(r)
	if o.SourceIndex > 0 {
		q.Set("source_index", strconv.Itoa(o.SourceIndex))
	}
	if o.Name != "" {
		q.Set("name", o.Name)
	}
	if o.Description != "" {
		q.Set("description", o.Description)
	}
	if o.Wait > 0 {
		q.Set("wait", o.Wait.String())
	}
	if o.Force {
		q.Set("force", "true")
	}
	return c.upload(ctx, "PUT", "image/content", q, src, o.Progress, nil)
}

// CopyImage copies image r within its group.
func (c *Client) CopyImage(ctx context.Context, r store.ImageRef, o store.CopyOptions) (store.ImageRef, error) {
	var resp RefsResponse
	if err := c.call(ctx, "POST", "image/copy", refQuery(r), CopyRequest{FileName: o.FileName, Name: o.Name, Description: o.Description}, &resp); err != nil {
		return store.ImageRef{}, err
	}
	if len(resp.Images) != 1 {
		return store.ImageRef{}, fmt.Errorf("server %s: bad answer to copy", c.base)
	}
	return store.ParseImageRef(resp.Images[0])
}

// RemoveImage removes image r.
func (c *Client) RemoveImage(ctx context.Context, r store.ImageRef) error {
	return c.call(ctx, "DELETE", "image", refQuery(r), nil, nil)
}

// Sessions returns the live install sessions of image r (all those the
// token may see when r is the zero ImageRef).
func (c *Client) Sessions(ctx context.Context, r store.ImageRef) ([]store.Session, error) {
	var q url.Values
	if r != (store.ImageRef{}) {
		q = refQuery(r)
	}
	var ss []store.Session
	err := c.call(ctx, "GET", "sessions", q, nil, &ss)
	return ss, err
}

// download writes what GET path answers to f, resuming with range requests
// after a broken connection.
func (c *Client) download(ctx context.Context, path string, q url.Values, f *os.File, report progress.Func) error {
	var (
		done  int64
		etag  string
		total int64 = -1
		last  error
	)
	for attempt := 0; attempt <= c.o.Retries; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Duration(attempt) * 200 * time.Millisecond):
			}
		}
		req, err := c.newRequest(ctx, "GET", path, q, nil)
		if err != nil {
			return err
		}
		if done > 0 && etag != "" {
			req.Header.Set("Range", fmt.Sprintf("bytes=%d-", done))
			req.Header.Set("If-Range", etag)
		}
		resp, err := c.hc.Do(req)
		if err != nil {
			last = c.wrapNet(err)
			if ctx.Err() != nil {
				return ctx.Err()
			}
			continue
		}
		switch resp.StatusCode {
		case http.StatusOK:
			// A whole answer: start over (the file changed, or no
			// range was asked).
			done = 0
			if err := f.Truncate(0); err != nil {
				resp.Body.Close()
				return err
			}
			total = resp.ContentLength
			etag = resp.Header.Get("ETag")
		case http.StatusPartialContent:
		default:
			err := decodeError(resp)
			resp.Body.Close()
			return err
		}
		if _, err := f.Seek(done, io.SeekStart); err != nil {
			resp.Body.Close()
			return err
		}
		cr := &countingReader{r: resp.Body, n: done, total: total, phase: PhaseDownload, report: report}
		_, err = io.Copy(f, cr)
		resp.Body.Close()
		done = cr.n
		if err == nil && (total < 0 || done == total) {
			return nil
		}
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		last = c.wrapNet(err)
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return fmt.Errorf("download of %s failed after %d attempts: %w", path, c.o.Retries+1, last)
}

// ExportImage downloads image r as a standalone WIM file dest (o.Overwrite
// as store.ExportImage says; appending exports into dest locally).
func (c *Client) ExportImage(ctx context.Context, r store.ImageRef, dest string, o store.ExportOptions) error {
	if o.Overwrite == store.OverwriteNo {
		if _, err := os.Lstat(dest); err == nil {
			return fmt.Errorf("%s exists (overwrite it, or append to it)", dest)
		}
	}
	q := refQuery(r)
	if o.Name != "" {
		q.Set("name", o.Name)
	}
	if o.Description != "" {
		q.Set("description", o.Description)
	}
	f, err := os.CreateTemp(filepath.Dir(dest), ".wimconsole-download-*.wim")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	err = c.download(ctx, "image/export", q, f, o.Progress)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if o.Overwrite == store.OverwriteAppend {
		if _, err := os.Stat(dest); err == nil {
			src, err := wim.Open(tmp, nil)
			if err != nil {
				return err
			}
			defer src.Close()
			_, err = wim.Export(ctx, src, []int{1}, dest, wim.ExportOptions{Progress: o.Progress})
			return err
		}
	}
	if o.Overwrite == store.OverwriteNo {
		// Never replace a file that appeared meanwhile.
		if err := os.Link(tmp, dest); err != nil {
			return err
		}
		return nil
	}
	return os.Rename(tmp, dest)
}

// InstallSession is an install session opened on a server.
type InstallSession struct {
	c *Client
	store.Session
	TTL time.Duration
}

// OpenSession opens an install session on image r (refused for a disabled
// image: the error matches store.ErrImageDisabled).
func (c *Client) OpenSession(ctx context.Context, r store.ImageRef, client string) (*InstallSession, error) {
	var resp SessionResponse
	if err := c.call(ctx, "POST", "sessions", nil, SessionRequest{Image: r.String(), Client: client}, &resp); err != nil {
		return nil, err
	}
	return &InstallSession{c: c, Session: resp.Session, TTL: resp.TTL}, nil
}

// Heartbeat renews the session's lease.
func (s *InstallSession) Heartbeat(ctx context.Context) error {
	return s.c.call(ctx, "POST", "sessions/"+url.PathEscape(s.ID)+"/heartbeat", nil, nil, nil)
}

// Close ends the session.
func (s *InstallSession) Close(ctx context.Context) error {
	return s.c.call(ctx, "DELETE", "sessions/"+url.PathEscape(s.ID), nil, nil, nil)
}

// Download writes the session's image, as a standalone WIM, to f.
func (s *InstallSession) Download(ctx context.Context, f *os.File, report progress.Func) error {
	return s.c.download(ctx, "sessions/"+url.PathEscape(s.ID)+"/wim", nil, f, report)
}

// keepAlive renews the lease every third of its TTL until stop is closed.
func (s *InstallSession) keepAlive(ctx context.Context) (stop func()) {
	every := s.TTL / 3
	if every < 50*time.Millisecond {
		every = 50 * time.Millisecond
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				s.Heartbeat(ctx) // a failure is retried at the next tick
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// InstallImage does what a deployment client does, over the network: it
// opens an install session on image r (refused for a disabled image), keeps
// it alive with heartbeats while it downloads the image and applies it to
// dest (which must be empty or missing), then closes the session. For an
// install image it fetches the image's metadata file and, with range
// requests on its group's Res.rwm, only the resources the image uses
// (resuming a broken range); otherwise the image as a standalone WIM
// (resuming a broken download).
func (c *Client) InstallImage(ctx context.Context, r store.ImageRef, dest, client string, report progress.Func) error {
	if fi, err := os.Stat(dest); err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("%s exists and is not a folder", dest)
		}
		if ents, err := os.ReadDir(dest); err != nil || len(ents) > 0 {
			return fmt.Errorf("%s is not empty", dest)
		}
	}
	se, err := c.OpenSession(ctx, r, client)
	if err != nil {
		return err
	}
	defer se.Close(context.WithoutCancel(ctx))
	stop := se.keepAlive(ctx)
	defer stop()
	parent := filepath.Dir(filepath.Clean(dest))
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	// An install image: only the data it uses, fetched with range
	// requests (see stream.go); else the image as a standalone WIM.
	if !r.Boot {
		if err := se.streamInstall(ctx, dest, report); !errors.Is(err, errNoRes) {
			return err
		}
	}
	f, err := os.CreateTemp(parent, ".wimconsole-install-*.wim")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	err = se.Download(ctx, f, report)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	w, err := wim.Open(f.Name(), &wim.OpenOptions{NoSplitSearch: true})
	if err != nil {
		return fmt.Errorf("image %s from %s: %w", r, c.base, err)
	}
	defer w.Close()
	return w.Apply(ctx, 1, dest, report)
}

// Watch follows the server's event stream, calling fn for each event (from
// Watch's goroutine), until ctx ends or the connection breaks; it returns
// the reason. The first call of fn, once the stream is open, is a Reload
// event: everything should be read once.
func (c *Client) Watch(ctx context.Context, fn func(Event)) error {
	req, err := c.newRequest(ctx, "GET", "events", nil, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "text/event-stream")
	resp, err := c.hc.Do(req)
	if err != nil {
		return c.wrapNet(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return decodeError(resp)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	var typ, data string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			switch typ {
			case "hello":
				fn(Event{Reload: true, Time: time.Now().UTC()})
			case "change":
				var ev Event
				if json.Unmarshal([]byte(data), &ev) == nil {
					fn(ev)
				}
			}
			typ, data = "", ""
		case strings.HasPrefix(line, "event:"):
			typ = strings.TrimSpace(line[6:])
		case strings.HasPrefix(line, "data:"):
			data += strings.TrimSpace(line[5:])
		}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err := sc.Err(); err != nil {
		return c.wrapNet(err)
	}
	return c.wrapNet(io.ErrUnexpectedEOF)
}
