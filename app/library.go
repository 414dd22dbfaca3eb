package app

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/wimconsole/wimconsole/engine/library"
	"github.com/wimconsole/wimconsole/engine/progress"
	"github.com/wimconsole/wimconsole/engine/store"
)

// LibraryListFile is the file, in the user's config folder, that lists the
// image libraries (never their credentials).
const LibraryListFile = "libraries.json"

// LibraryConfig is one image library the console knows: a bucket and
// prefix on an S3-compatible endpoint (see docs/library.md).
type LibraryConfig struct {
	Name string `json:"name"`
	URL  string `json:"url"` // https://HOST:PORT/BUCKET/PREFIX (s3:// or http:// too)
	// Credentials is a file (mode 0600) holding AWS_ACCESS_KEY_ID=… and
	// AWS_SECRET_ACCESS_KEY=… lines; "" takes them from the environment.
	Credentials string `json:"credentials,omitempty"`
}

// LibraryListPath returns where the library list is kept:
// <user config dir>/wimconsole/libraries.json.
func LibraryListPath() (string, error) {
	d, err := os.UserConfigDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "wimconsole", LibraryListFile), nil
}

// LoadLibraries reads the library list at path (none when it is missing).
func LoadLibraries(path string) ([]LibraryConfig, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []LibraryConfig
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, fmt.Errorf("library list %s: %w: fix or remove the file", path, err)
	}
	return out, nil
}

// AddLibrary checks c (its name, its address, its credentials file) and adds
// it to the list at path. The address must not hold credentials.
func AddLibrary(path string, c LibraryConfig) error {
	if c.Name == "" || strings.ContainsAny(c.Name, "/\\:\x00") || strings.TrimSpace(c.Name) != c.Name {
		return fmt.Errorf("library name %q: give a name without /, \\, : or surrounding spaces", c.Name)
	}
	lc, err := library.ParseURL(c.URL)
	if err != nil {
		return err
	}
	c.URL = lc.URL()
	if c.Credentials != "" {
		if c.Credentials, err = filepath.Abs(c.Credentials); err != nil {
			return err
		}
		if _, _, err := readCredentials(c.Credentials); err != nil {
			return err
		}
	}
	list, err := LoadLibraries(path)
	if err != nil {
		return err
	}
	for _, o := range list {
		if strings.EqualFold(o.Name, c.Name) {
			return fmt.Errorf("a library named %s is already in %s (%s)", o.Name, path, o.URL)
		}
	}
	list = append(list, c)
	sort.Slice(list, func(i, j int) bool { return strings.ToLower(list[i].Name) < strings.ToLower(list[j].Name) })
	data, err := json.MarshalIndent(list, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	if err := saveFile(path, append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("saving the library list %s: %w", path, err)
	}
	return nil
}

// FindLibrary returns the library named name of the list at path.
func FindLibrary(path, name string) (LibraryConfig, error) {
	list, err := LoadLibraries(path)
	if err != nil {
		return LibraryConfig{}, err
	}
	for _, c := range list {
		if strings.EqualFold(c.Name, name) {
			return c, nil
		}
	}
	return LibraryConfig{}, fmt.Errorf("no library named %s: add it with 'library add %s URL'", name, name)
}

// readCredentials reads a credentials file: it must be readable by its
// owner only.
func readCredentials(p string) (key, secret string, err error) {
	f, err := os.Open(p)
	if err != nil {
		return "", "", fmt.Errorf("credentials file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", "", err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return "", "", fmt.Errorf("credentials file %s can be read by others (mode %04o): run chmod 600 %s", p, fi.Mode().Perm(), p)
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		k, v, ok := strings.Cut(line, "=")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		k, v = strings.TrimSpace(strings.TrimPrefix(k, "export ")), strings.Trim(strings.TrimSpace(v), `"'`)
		switch strings.ToLower(k) {
		case "aws_access_key_id":
			key = v
		case "aws_secret_access_key":
			secret = v
		}
	}
	if err := sc.Err(); err != nil {
		return "", "", fmt.Errorf("credentials file %s: %w", p, err)
	}
	if key == "" || secret == "" {
		return "", "", fmt.Errorf("credentials file %s: needs AWS_ACCESS_KEY_ID=… and AWS_SECRET_ACCESS_KEY=… lines", p)
	}
	return key, secret, nil
}

// The library's results, as the front ends show them.
type (
	// LibraryPublishResult says what a publish did.
	LibraryPublishResult = library.PublishResult
	// LibraryPullResult says what a pull did.
	LibraryPullResult = library.PullResult
	// LibraryVerifyResult says what a library verify checked and found.
	LibraryVerifyResult = library.VerifyResult
	// LibraryPruneResult says what a prune removed.
	LibraryPruneResult = library.PruneResult
)

// DefaultLibraryGrace is how old an unused object must be before prune
// removes it.
const DefaultLibraryGrace = library.DefaultGrace

// Library is an open image library, for the console and the command line.
type Library struct {
	cfg LibraryConfig
	lib *library.Library
}

// OpenLibrary opens library c, its credentials taken from its credentials
// file or else from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and
// AWS_REGION). It sends no request.
func OpenLibrary(c LibraryConfig) (*Library, error) {
	lc, err := library.ParseURL(c.URL)
	if err != nil {
		return nil, err
	}
	if c.Credentials != "" {
		if lc.AccessKey, lc.SecretKey, err = readCredentials(c.Credentials); err != nil {
			return nil, fmt.Errorf("library %s: %w", c.Name, err)
		}
	} else {
		lc.AccessKey, lc.SecretKey = os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
	}
	lc.Region = os.Getenv("AWS_REGION")
	l, err := library.Open(lc)
	if err != nil {
		return nil, err
	}
	return &Library{cfg: c, lib: l}, nil
}

// Config returns the library's entry of the list.
func (l *Library) Config() LibraryConfig { return l.cfg }

// LibraryGroup is a group of a library as a console lists it.
type LibraryGroup struct {
	library.Group
	// MissingBlobs and MissingBytes are what the local store's group of
	// the same name lacks (everything when it has no such group).
	MissingBlobs int   `json:"missing_blobs"`
	MissingBytes int64 `json:"missing_bytes"`
}

// Groups lists the library's groups with their size and, when local is not
// nil, what its store lacks of each.
func (l *Library) Groups(ctx context.Context, local *LocalService) ([]LibraryGroup, error) {
	var st *store.Store
	if local != nil {
		st = local.Store()
	}
	gs, err := l.lib.Groups(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]LibraryGroup, 0, len(gs))
	for _, g := range gs {
		lg := LibraryGroup{Group: g}
		if st != nil {
			m, _, err := l.lib.Manifest(ctx, g.Name)
			if err != nil {
				return nil, err
			}
			if lg.MissingBlobs, lg.MissingBytes, err = library.Missing(st, g.Name, m); err != nil {
				return nil, err
			}
		}
		out = append(out, lg)
	}
	return out, nil
}

// Publish publishes group g of local's store to the library as as ("": the
// same name), uploading only the blobs the library lacks; report gets
// progress and ctx cancels.
func (l *Library) Publish(ctx context.Context, local *LocalService, g, as string, report progress.Func) (*LibraryPublishResult, error) {
	host, _ := os.Hostname()
	return l.lib.Publish(ctx, local.Store(), g, library.PublishOptions{As: as, By: host, Progress: report})
}

// Pull brings group g of the library into local's store as as ("": the
// same name), downloading only the blobs that store's group lacks.
func (l *Library) Pull(ctx context.Context, local *LocalService, g, as string, report progress.Func) (*LibraryPullResult, error) {
	return l.lib.Pull(ctx, local.Store(), g, library.PullOptions{As: as, Progress: report})
}

// Verify reads back and checks every object group g ("": every group)
// uses.
func (l *Library) Verify(ctx context.Context, g string, report progress.Func) (*LibraryVerifyResult, error) {
	return l.lib.Verify(ctx, g, report)
}

// Prune removes the objects no group uses that are older than grace; dry
// only counts them.
func (l *Library) Prune(ctx context.Context, grace time.Duration, dry bool) (*LibraryPruneResult, error) {
	return l.lib.Prune(ctx, grace, dry)
}
