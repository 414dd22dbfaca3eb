// Package library keeps image groups in an image library: a bucket (and
// prefix) on S3-compatible object storage, laid out content-addressed like
// the groups themselves (see docs/library.md):
//
//	PREFIX/blobs/<sha1>        one file blob: a resource-only WIM holding that
//	                           blob's compressed resource as Res.rwm stores it
//	PREFIX/images/<sha1>.wim   an image's metadata-only WIM, by its file's SHA-1
//	PREFIX/files/<sha1>        a file of an image's external data (unattend,
//	                           $OEM$, language packs), by its SHA-1
//	PREFIX/manifests/<sha1>.json   a group's manifest, immutable, by its SHA-1
//	PREFIX/groups/<group>.json     the pointer to a group's current manifest,
//	                               written last by a publish
//
// Objects are only ever created whole (an S3 PUT is atomic) and, but for
// the group pointers, never rewritten: a reader that follows a pointer sees
// the old group or the new one, never half of one. This package is the only
// one that speaks S3 (through minio-go); it holds the layout and the
// transfers (Publish, Pull, Verify, Prune), not the front ends' use cases.
package library

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/wimconsole/wimconsole/engine/store"
	"github.com/wimconsole/wimconsole/engine/wim"
)

// Config says where a library is and how to sign in to it.
type Config struct {
	// Endpoint is the S3 endpoint, host:port.
	Endpoint string
	// Secure uses HTTPS.
	Secure bool
	// Bucket and Prefix (without a leading or trailing slash; "" for the
	// bucket's root) locate the library.
	Bucket, Prefix string
	// AccessKey and SecretKey sign the requests; Region is "" for the
	// endpoint's default.
	AccessKey, SecretKey, Region string
}

// ParseURL parses a library address: s3://HOST:PORT/BUCKET[/PREFIX] or
// https://… (TLS), http://… (plain, for a loopback or lab endpoint).
func ParseURL(raw string) (Config, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Config{}, fmt.Errorf("library address %q: %w", raw, err)
	}
	var c Config
	switch strings.ToLower(u.Scheme) {
	case "s3", "https":
		c.Secure = true
	case "http":
	default:
		return Config{}, fmt.Errorf("library address %q: give s3://HOST:PORT/BUCKET/PREFIX, https://… or http://…", raw)
	}
	if u.User != nil {
		return Config{}, fmt.Errorf("library address %q holds credentials: give them in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or a credentials file, never in the address", redact(u))
	}
	if u.Host == "" {
		return Config{}, fmt.Errorf("library address %q names no host", raw)
	}
	c.Endpoint = u.Host
	p := strings.Trim(u.Path, "/")
	if p == "" {
		return Config{}, fmt.Errorf("library address %q names no bucket: add /BUCKET after the host", raw)
	}
	c.Bucket, c.Prefix, _ = strings.Cut(p, "/")
	c.Prefix = strings.Trim(c.Prefix, "/")
	if u.RawQuery != "" || u.Fragment != "" {
		return Config{}, fmt.Errorf("library address %q: a query or fragment has no meaning here", raw)
	}
	return c, nil
}

// redact returns u without its password.
func redact(u *url.URL) string {
	v := *u
	v.User = nil
	return v.String()
}

// URL returns the library's address as ParseURL reads it.
func (c Config) URL() string {
	scheme := "http"
	if c.Secure {
		scheme = "https"
	}
	s := scheme + "://" + c.Endpoint + "/" + c.Bucket
	if c.Prefix != "" {
		s += "/" + c.Prefix
	}
	return s
}

// Library is an open image library.
type Library struct {
	cfg Config
	c   *minio.Client
	// Workers is the number of objects moved at once (0: DefaultWorkers).
	Workers int
}

// DefaultWorkers is how many objects Publish, Pull and Verify move at once.
const DefaultWorkers = 8

// Open returns the library of cfg. It sends no request.
func Open(cfg Config) (*Library, error) {
	if cfg.AccessKey == "" || cfg.SecretKey == "" {
		return nil, fmt.Errorf("library %s: no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or give a credentials file", cfg.URL())
	}
	c, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure: cfg.Secure,
		Region: cfg.Region,
	})
	if err != nil {
		return nil, fmt.Errorf("library %s: %w", cfg.URL(), err)
	}
	return &Library{cfg: cfg, c: c}, nil
}

// Config returns the library's configuration.
func (l *Library) Config() Config { return l.cfg }

// feed returns an errgroup task that hands hashes to the workers on work,
// one at a time, until ctx ends (another task failed, or the caller
// cancelled), then closes work.
func feed(ctx context.Context, work chan<- wim.Hash, hashes []wim.Hash) func() error {
	return func() error {
		defer close(work)
		for _, h := range hashes {
			select {
			case work <- h:
			case <-ctx.Done():
				return nil
			}
		}
		return nil
	}
}

func (l *Library) workers() int {
	if l.Workers > 0 {
		return l.Workers
	}
	return DefaultWorkers
}

// Object key prefixes of the layout.
const (
	blobsDir     = "blobs/"
	imagesDir    = "images/"
	filesDir     = "files/"
	manifestsDir = "manifests/"
	groupsDir    = "groups/"
	locksDir     = "locks/"
)

func (l *Library) key(k string) string {
	if l.cfg.Prefix == "" {
		return k
	}
	return l.cfg.Prefix + "/" + k
}

func blobKey(h wim.Hash) string          { return blobsDir + h.String() }
func imageKey(h wim.Hash) string         { return imagesDir + h.String() + ".wim" }
func fileKey(h wim.Hash) string          { return filesDir + h.String() }
func manifestKey(h wim.Hash) string      { return manifestsDir + h.String() + ".json" }
func groupKey(g string) string           { return groupsDir + g + ".json" }
func (l *Library) where(k string) string { return l.cfg.URL() + "/" + k }

// CreateBucket creates the library's bucket when it does not exist.
func (l *Library) CreateBucket(ctx context.Context) error {
	ok, err := l.c.BucketExists(ctx, l.cfg.Bucket)
	if err != nil {
		return l.wrap("checking bucket "+l.cfg.Bucket, err)
	}
	if ok {
		return nil
	}
	if err := l.c.MakeBucket(ctx, l.cfg.Bucket, minio.MakeBucketOptions{Region: l.cfg.Region}); err != nil {
		if c := minio.ToErrorResponse(err).Code; c == "BucketAlreadyOwnedByYou" || c == "BucketAlreadyExists" {
			return nil // created meanwhile, by another publish
		}
		return l.wrap("creating bucket "+l.cfg.Bucket, err)
	}
	return nil
}

// Check sends one request to see that the library's bucket answers to
// these credentials.
func (l *Library) Check(ctx context.Context) error {
	ok, err := l.c.BucketExists(ctx, l.cfg.Bucket)
	if err != nil {
		return l.wrap("reaching bucket "+l.cfg.Bucket, err)
	}
	if !ok {
		return fmt.Errorf("library %s: bucket %s does not exist: create it on the storage (or let the first publish create it)", l.cfg.URL(), l.cfg.Bucket)
	}
	return nil
}

// wrap words an S3 error for an administrator.
func (l *Library) wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	r := minio.ToErrorResponse(err)
	switch {
	case r.StatusCode == http.StatusForbidden || r.Code == "AccessDenied" || r.Code == "InvalidAccessKeyId" || r.Code == "SignatureDoesNotMatch":
		return fmt.Errorf("library %s: %s: access denied (%s): check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or the credentials file", l.cfg.URL(), what, r.Code)
	case r.Code != "":
		return fmt.Errorf("library %s: %s: %s (%s)", l.cfg.URL(), what, r.Message, r.Code)
	}
	return fmt.Errorf("library %s: %s: %w", l.cfg.URL(), what, err)
}

// object is one listed object.
type object struct {
	Key      string // without the library's prefix
	Size     int64
	Modified time.Time
}

// list lists the objects under dir (one of the layout's prefixes), 1,000
// to a request.
func (l *Library) list(ctx context.Context, dir string) ([]object, error) {
	var out []object
	base := l.key("")
	for o := range l.c.ListObjects(ctx, l.cfg.Bucket, minio.ListObjectsOptions{Prefix: l.key(dir), Recursive: true}) {
		if o.Err != nil {
			return nil, l.wrap("listing "+dir, o.Err)
		}
		out = append(out, object{Key: strings.TrimPrefix(o.Key, base), Size: o.Size, Modified: o.LastModified})
	}
	return out, nil
}

// hashes lists the objects under dir named by a SHA-1 digest (with an
// optional extension ext), by digest.
func (l *Library) hashes(ctx context.Context, dir, ext string) (map[wim.Hash]object, error) {
	objs, err := l.list(ctx, dir)
	if err != nil {
		return nil, err
	}
	out := make(map[wim.Hash]object, len(objs))
	for _, o := range objs {
		name := strings.TrimSuffix(strings.TrimPrefix(o.Key, dir), ext)
		if h, err := wim.ParseHash(name); err == nil && len(name) == 40 {
			out[h] = o
		}
	}
	return out, nil
}

// putBytes stores data under key k.
func (l *Library) putBytes(ctx context.Context, k string, data []byte, ctype string) error {
	_, err := l.c.PutObject(ctx, l.cfg.Bucket, l.key(k), bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{ContentType: ctype})
	return l.wrap("writing "+k, err)
}

// getBytes reads object k whole, refusing one over limit bytes.
func (l *Library) getBytes(ctx context.Context, k string, limit int64) ([]byte, error) {
	o, err := l.c.GetObject(ctx, l.cfg.Bucket, l.key(k), minio.GetObjectOptions{})
	if err != nil {
		return nil, l.wrapMissing("reading "+k, err)
	}
	defer o.Close()
	data, err := io.ReadAll(io.LimitReader(o, limit+1))
	if err != nil {
		return nil, l.wrapMissing("reading "+k, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("library %s: %s is larger than %d bytes: it is not an object this library writes", l.cfg.URL(), k, limit)
	}
	return data, nil
}

// errMissing marks an object that does not exist.
var errMissing = errors.New("no such object")

// wrapMissing is wrap, keeping errMissing for an object that does not
// exist.
func (l *Library) wrapMissing(what string, err error) error {
	if isNotFound(err) {
		return fmt.Errorf("library %s: %s: %w", l.cfg.URL(), what, errMissing)
	}
	return l.wrap(what, err)
}

// isNotFound reports whether err says an object does not exist.
func isNotFound(err error) bool {
	if errors.Is(err, errMissing) {
		return true
	}
	r := minio.ToErrorResponse(err)
	return r.Code == "NoSuchKey" || r.StatusCode == http.StatusNotFound
}

// sha1Of returns the SHA-1 digest of data.
func sha1Of(data []byte) wim.Hash { return wim.Hash(sha1.Sum(data)) }

// Manifest is a group as published: written once under its SHA-1 and
// never changed.
type Manifest struct {
	Format    int       `json:"format"`
	Group     string    `json:"group"`
	Published time.Time `json:"published"`
	By        string    `json:"by,omitempty"`
	// Images in display order.
	Images []ManifestImage `json:"images"`
	// Blobs are every file blob the images use, once.
	Blobs []ManifestBlob `json:"blobs"`
}

// ManifestImage is one image of a published group.
type ManifestImage struct {
	File     string `json:"file"` // file name without .wim
	Name     string `json:"name"`
	Disabled bool   `json:"disabled,omitempty"`
	// Metadata is the SHA-1 of the image's metadata-only WIM file
	// (object images/<sha1>.wim), MetadataSize its size.
	Metadata     string `json:"metadata"`
	MetadataSize int64  `json:"metadata_size"`
	// Blobs are the image's file blobs (SHA-1 digests).
	Blobs []string `json:"blobs"`
	// Data are the files of its external data folder (Unattend, $OEM$,
	// LangPacks), by path relative to that folder.
	Data []ManifestFile `json:"data,omitempty"`
}

// ManifestBlob is one file blob: its SHA-1, its uncompressed size and the
// size of its object.
type ManifestBlob struct {
	SHA1   string `json:"sha1"`
	Size   int64  `json:"size"`
	Stored int64  `json:"stored"`
}

// ManifestFile is one file of an image's external data.
type ManifestFile struct {
	Path string `json:"path"` // slash-separated, relative
	SHA1 string `json:"sha1"`
	Size int64  `json:"size"`
}

// manifestFormat is the Format this package writes and reads.
const manifestFormat = 1

// maxManifest bounds a manifest object (100,000 blobs take about 10 MB).
const maxManifest = 256 << 20

// pointer is the content of groups/<group>.json.
type pointer struct {
	Manifest  string    `json:"manifest"`
	Published time.Time `json:"published"`
}

// Size returns the uncompressed bytes of the group's file data.
func (m *Manifest) Size() int64 {
	var n int64
	for _, b := range m.Blobs {
		n += b.Size
	}
	return n
}

// StoredSize returns the bytes of the group's blob objects.
func (m *Manifest) StoredSize() int64 {
	var n int64
	for _, b := range m.Blobs {
		n += b.Stored
	}
	return n
}

// check checks what a reader relies on in a manifest read from key k.
func (m *Manifest) check(k string) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("manifest %s: %s", k, fmt.Sprintf(format, args...))
	}
	if m.Format != manifestFormat {
		return bad("format %d, this program reads format %d: update WIM Console", m.Format, manifestFormat)
	}
	if err := store.CheckGroupName(m.Group); err != nil {
		return bad("%v", err)
	}
	known := map[string]bool{}
	for _, b := range m.Blobs {
		if _, err := wim.ParseHash(b.SHA1); err != nil {
			return bad("blob %q: %v", b.SHA1, err)
		}
		if b.Size < 0 || b.Stored < 0 {
			return bad("blob %s has a negative size", b.SHA1)
		}
		known[strings.ToLower(b.SHA1)] = true
	}
	files := map[string]bool{}
	for _, im := range m.Images {
		if err := store.CheckFileName(im.File); err != nil {
			return bad("%v", err)
		}
		if files[strings.ToLower(im.File)] {
			return bad("image file %s is listed twice", im.File)
		}
		files[strings.ToLower(im.File)] = true
		if _, err := wim.ParseHash(im.Metadata); err != nil {
			return bad("image %s: metadata %q: %v", im.File, im.Metadata, err)
		}
		for _, b := range im.Blobs {
			if !known[strings.ToLower(b)] {
				return bad("image %s uses blob %s, which the manifest does not list", im.File, b)
			}
		}
		for _, f := range im.Data {
			if err := checkDataPath(f.Path); err != nil {
				return bad("image %s: %v", im.File, err)
			}
			if _, err := wim.ParseHash(f.SHA1); err != nil {
				return bad("image %s: file %s: %v", im.File, f.Path, err)
			}
		}
	}
	return nil
}

// checkDataPath refuses a path of external data that could leave its
// folder or that Windows could not hold.
func checkDataPath(p string) error {
	if p == "" || strings.HasPrefix(p, "/") || strings.Contains(p, "\\") {
		return fmt.Errorf("external data path %q is not a relative slash-separated path", p)
	}
	for _, c := range strings.Split(p, "/") {
		if c == "" || c == "." || c == ".." || strings.ContainsAny(c, ":\x00") {
			return fmt.Errorf("external data path %q has a forbidden component %q", p, c)
		}
	}
	return nil
}

// Group is a published group as the library's listing shows it.
type Group struct {
	Name      string    `json:"group"`
	Manifest  string    `json:"manifest"`
	Published time.Time `json:"published"`
	Images    int       `json:"images"`
	Blobs     int       `json:"blobs"`
	Size      int64     `json:"size"`   // uncompressed bytes of file data
	Stored    int64     `json:"stored"` // bytes of its blob objects
}

// Groups lists the library's groups, each read through its current
// manifest, by name.
func (l *Library) Groups(ctx context.Context) ([]Group, error) {
	objs, err := l.list(ctx, groupsDir)
	if err != nil {
		return nil, err
	}
	out := []Group{}
	for _, o := range objs {
		name, ok := strings.CutSuffix(strings.TrimPrefix(o.Key, groupsDir), ".json")
		if !ok || store.CheckGroupName(name) != nil {
			continue
		}
		m, mh, err := l.Manifest(ctx, name)
		if err != nil {
			return nil, err
		}
		out = append(out, Group{Name: name, Manifest: mh.String(), Published: m.Published, Images: len(m.Images), Blobs: len(m.Blobs), Size: m.Size(), Stored: m.StoredSize()})
	}
	return out, nil
}

// ErrNoGroup says the library has no group of that name.
var ErrNoGroup = errors.New("no such group in the library")

// Manifest reads group g's current manifest and its SHA-1, checking that
// the object's bytes have that digest.
func (l *Library) Manifest(ctx context.Context, g string) (*Manifest, wim.Hash, error) {
	if err := store.CheckGroupName(g); err != nil {
		return nil, wim.Hash{}, err
	}
	data, err := l.getBytes(ctx, groupKey(g), 1<<16)
	if isNotFound(err) {
		return nil, wim.Hash{}, fmt.Errorf("library %s has no group %s: %w", l.cfg.URL(), g, ErrNoGroup)
	}
	if err != nil {
		return nil, wim.Hash{}, err
	}
	var p pointer
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, wim.Hash{}, fmt.Errorf("library %s: %s is not a group pointer: %v", l.cfg.URL(), groupKey(g), err)
	}
	mh, err := wim.ParseHash(p.Manifest)
	if err != nil {
		return nil, wim.Hash{}, fmt.Errorf("library %s: %s names no manifest: %v", l.cfg.URL(), groupKey(g), err)
	}
	m, err := l.readManifest(ctx, mh)
	return m, mh, err
}

// readManifest reads and checks manifest mh.
func (l *Library) readManifest(ctx context.Context, mh wim.Hash) (*Manifest, error) {
	k := manifestKey(mh)
	data, err := l.getBytes(ctx, k, maxManifest)
	if err != nil {
		return nil, err
	}
	if got := sha1Of(data); got != mh {
		return nil, fmt.Errorf("library %s: manifest %s is damaged: its SHA-1 is %s; publish the group again", l.cfg.URL(), k, got)
	}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("library %s: manifest %s: %v", l.cfg.URL(), k, err)
	}
	if err := m.check(l.where(k)); err != nil {
		return nil, err
	}
	return &m, nil
}

// testHook, when set (by tests), is called at the named steps of publish
// and pull so that a test can kill the process there.
var testHook func(step string)

func step(name string) {
	if testHook != nil {
		testHook(name)
	}
}
