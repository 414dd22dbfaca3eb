package store

import (
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Catalog buckets besides "meta".
var (
	bucketImages   = []byte("images")   // ImageRef.String() -> imageRecord
	bucketSessions = []byte("sessions") // session id -> Session
	bucketJournal  = []byte("journal")  // operation id -> journalEntry
	bucketSpace    = []byte("space")    // group -> spaceCache
)

// imageRecord is what the catalog keeps about one image: what the WIM file
// cannot hold, and figures cached from it.
type imageRecord struct {
	Enabled      bool     `json:"enabled"`
	DisplayOrder int      `json:"order"`
	Unattend     string   `json:"unattend,omitempty"` // relative to the group folder, slash-separated
	LangPacks    []string `json:"langpacks,omitempty"`
	Added        time.Time

	// Cached properties of the WIM file, valid while its size and
	// modification time are these.
	CacheSize  int64     `json:"csize,omitempty"`
	CacheMtime int64     `json:"cmtime,omitempty"`
	Cache      *wimFacts `json:"cache,omitempty"`

	// Changed says who made the image file's current version, when a
	// commit did (see CommitOptions.By).
	Changed *changeMark `json:"changed,omitempty"`
}

// changeMark names the commit that made version Version of an image.
type changeMark struct {
	By      string       `json:"by"`
	At      time.Time    `json:"at"`
	Version ImageVersion `json:"version"`
}

// wimFacts are an image's properties read from its WIM file's XML data.
type wimFacts struct {
	Name, Description string
	Arch              string
	Version           string
	Edition           string
	ProductName       string
	Languages         []string
	DefaultLanguage   string
	ExpandedBytes     int64
	Created           time.Time
	Files, Dirs       int64
}

func getJSON(b *bolt.Bucket, key []byte, v any) (bool, error) {
	if b == nil {
		return false, nil
	}
	data := b.Get(key)
	if data == nil {
		return false, nil
	}
	if err := json.Unmarshal(data, v); err != nil {
		return false, fmt.Errorf("catalog record %q is corrupt: %w", key, err)
	}
	return true, nil
}

func putJSON(tx *bolt.Tx, bucket, key []byte, v any) error {
	b, err := tx.CreateBucketIfNotExists(bucket)
	if err != nil {
		return err
	}
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(key, data)
}

func deleteKey(tx *bolt.Tx, bucket, key []byte) error {
	b := tx.Bucket(bucket)
	if b == nil {
		return nil
	}
	return b.Delete(key)
}

// update runs fn in one read-write catalog transaction.
func (s *Store) update(fn func(tx *bolt.Tx) error) error {
	if err := s.writable("change the catalog"); err != nil {
		return err
	}
	return s.withCatalog(false, func(db *bolt.DB) error { return db.Update(fn) })
}

// view runs fn in one read-only catalog transaction. The catalog is opened
// read-write (as a lock) but the transaction only reads: bbolt's read-only
// mode would need the file to exist with every bucket.
func (s *Store) view(fn func(tx *bolt.Tx) error) error {
	return s.withCatalog(false, func(db *bolt.DB) error { return db.View(fn) })
}

// imageRecords returns every image record, by key.
func imageRecords(tx *bolt.Tx) (map[string]imageRecord, error) {
	out := map[string]imageRecord{}
	b := tx.Bucket(bucketImages)
	if b == nil {
		return out, nil
	}
	err := b.ForEach(func(k, v []byte) error {
		var r imageRecord
		if err := json.Unmarshal(v, &r); err != nil {
			// A corrupt record is dropped from the view; reconcile
			// rewrites it from the file.
			return nil
		}
		out[string(k)] = r
		return nil
	})
	return out, err
}
