package remote

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/wimconsole/wimconsole/engine/store"
)

// Role is what a token may do.
type Role string

// Roles, from least to most powerful: readers list images and download them;
// operators also run install sessions, export and verify; admins change the
// store.
const (
	RoleReader   Role = "reader"
	RoleOperator Role = "operator"
	RoleAdmin    Role = "admin"
)

func (r Role) rank() int {
	switch r {
	case RoleReader:
		return 1
	case RoleOperator:
		return 2
	case RoleAdmin:
		return 3
	}
	return 0
}

// ParseRole parses "admin", "operator" or "reader".
func ParseRole(s string) (Role, error) {
	r := Role(strings.ToLower(s))
	if r.rank() == 0 {
		return "", fmt.Errorf("role %q: want admin, operator or reader", s)
	}
	return r, nil
}

// TokensFile is the bbolt file, under the store's WdsConsole folder, that
// holds the server's access tokens.
const TokensFile = "tokens.db"

// tokenPrefix starts every token, so that a token pasted in the wrong place
// is recognisable.
const tokenPrefix = "wct_"

var bucketTokens = []byte("tokens") // hex SHA-256 of the token -> Token

// Token describes an access token. The token itself is never stored: only
// the SHA-256 digest of it.
type Token struct {
	ID      string    `json:"id"` // first 12 hex digits of the digest
	Role    Role      `json:"role"`
	Groups  []string  `json:"groups,omitempty"` // image groups it is limited to (none: all)
	Label   string    `json:"label,omitempty"`
	Created time.Time `json:"created"`
}

// AllGroups reports whether the token is not limited to some groups.
func (t Token) AllGroups() bool { return len(t.Groups) == 0 }

// HasGroup reports whether the token may act on image group g.
func (t Token) HasGroup(g string) bool {
	if t.AllGroups() {
		return true
	}
	for _, x := range t.Groups {
		if strings.EqualFold(x, g) {
			return true
		}
	}
	return false
}

// Can reports whether the token's role is at least r.
func (t Token) Can(r Role) bool { return t.Role.rank() >= r.rank() }

// Tokens is the token file of a store. It is opened for each change, so that
// `token create` works while a server runs; lookups are served from memory
// and reloaded when the file changes.
type Tokens struct {
	path string

	mu     sync.Mutex
	stamp  string    // size and modification time of the file when loaded
	loaded time.Time // when it was loaded
	byHash map[string]Token
}

// OpenTokens returns the token file of the store at root (created on the
// first token).
func OpenTokens(root string) *Tokens {
	return &Tokens{path: filepath.Join(root, store.ConsoleDir, TokensFile)}
}

// Path returns the token file's path.
func (ts *Tokens) Path() string { return ts.path }

func (ts *Tokens) with(readOnly bool, fn func(db *bolt.DB) error) error {
	if readOnly {
		if _, err := os.Stat(ts.path); errors.Is(err, os.ErrNotExist) {
			return nil
		}
	} else if err := os.MkdirAll(filepath.Dir(ts.path), 0o755); err != nil {
		return err
	}
	db, err := bolt.Open(ts.path, 0o600, &bolt.Options{Timeout: store.BusyTimeout})
	if err != nil {
		if errors.Is(err, berrors.ErrTimeout) {
			return fmt.Errorf("%s: %w", ts.path, store.ErrBusy)
		}
		return fmt.Errorf("token file %s: %w", ts.path, err)
	}
	defer db.Close()
	return fn(db)
}

func digest(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// Create makes a new token with role r, limited to groups when some are
// given, and returns the token (to be shown once) and its description.
func (ts *Tokens) Create(r Role, groups []string, label string) (string, Token, error) {
	if r.rank() == 0 {
		return "", Token{}, fmt.Errorf("role %q: want admin, operator or reader", r)
	}
	for _, g := range groups {
		if err := store.CheckGroupName(g); err != nil {
			return "", Token{}, err
		}
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", Token{}, err
	}
	secret := tokenPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	h := digest(secret)
	t := Token{ID: h[:12], Role: r, Groups: slices.Clone(groups), Label: label, Created: time.Now().UTC().Truncate(time.Second)}
	data, err := json.Marshal(t)
	if err != nil {
		return "", Token{}, err
	}
	err = ts.with(false, func(db *bolt.DB) error {
		return db.Update(func(tx *bolt.Tx) error {
			bk, err := tx.CreateBucketIfNotExists(bucketTokens)
			if err != nil {
				return err
			}
			return bk.Put([]byte(h), data)
		})
	})
	if err != nil {
		return "", Token{}, err
	}
	ts.forget()
	return secret, t, nil
}

func (ts *Tokens) all() (map[string]Token, error) {
	out := map[string]Token{}
	err := ts.with(true, func(db *bolt.DB) error {
		return db.View(func(tx *bolt.Tx) error {
			bk := tx.Bucket(bucketTokens)
			if bk == nil {
				return nil
			}
			return bk.ForEach(func(k, v []byte) error {
				var t Token
				if json.Unmarshal(v, &t) != nil {
					return nil // a corrupt record grants nothing
				}
				out[string(k)] = t
				return nil
			})
		})
	})
	return out, err
}

// List returns every token's description, oldest first.
func (ts *Tokens) List() ([]Token, error) {
	m, err := ts.all()
	if err != nil {
		return nil, err
	}
	out := make([]Token, 0, len(m))
	for _, t := range m {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Created.Equal(out[j].Created) {
			return out[i].Created.Before(out[j].Created)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

func (ts *Tokens) forget() {
	ts.mu.Lock()
	ts.byHash = nil
	ts.mu.Unlock()
}

// Revoke deletes the token whose ID is id (or starts with id, when only one
// does).
func (ts *Tokens) Revoke(id string) error {
	defer ts.forget()
	id = strings.ToLower(strings.TrimSpace(id))
	if len(id) < 4 {
		return fmt.Errorf("token id %q: give at least 4 hex digits", id)
	}
	return ts.with(false, func(db *bolt.DB) error {
		return db.Update(func(tx *bolt.Tx) error {
			bk := tx.Bucket(bucketTokens)
			var hits [][]byte
			if bk != nil {
				bk.ForEach(func(k, v []byte) error {
					if strings.HasPrefix(string(k), id) {
						hits = append(hits, append([]byte(nil), k...))
					}
					return nil
				})
			}
			switch len(hits) {
			case 0:
				return fmt.Errorf("no token has id %s", id)
			case 1:
				return bk.Delete(hits[0])
			}
			return fmt.Errorf("token id %s is ambiguous (%d tokens); give more digits", id, len(hits))
		})
	})
}

// Lookup returns the token whose secret is given, if it exists.
func (ts *Tokens) Lookup(secret string) (Token, bool, error) {
	if !strings.HasPrefix(secret, tokenPrefix) || len(secret) > 128 {
		return Token{}, false, nil
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	stamp := ""
	if fi, err := os.Stat(ts.path); err == nil {
		stamp = fmt.Sprint(fi.Size(), fi.ModTime().UnixNano())
	}
	// A file system's coarse clock may hide a change from the stamp: the
	// cache also lives at most a second.
	if ts.byHash == nil || stamp != ts.stamp || time.Since(ts.loaded) > time.Second {
		m, err := ts.all()
		if err != nil {
			return Token{}, false, err
		}
		ts.byHash, ts.stamp, ts.loaded = m, stamp, time.Now()
	}
	t, ok := ts.byHash[digest(secret)]
	return t, ok, nil
}
