package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// CatalogVersion is the schema version written into a new catalog.
const CatalogVersion = 1

// Bucket names of the catalog.
var (
	bucketMeta = []byte("meta")
	keyVersion = []byte("version")
)

// BusyTimeout is how long an operation waits for another process holding the
// catalog before it fails with ErrBusy.
var BusyTimeout = 5 * time.Second

// ErrBusy is returned when another process holds the catalog for longer than
// BusyTimeout.
var ErrBusy = errors.New("store busy: another WIM Console process is using the catalog; try again")

// withCatalog opens the catalog for the length of fn, so that the GUI and
// the CLI can take turns on one store.
func (s *Store) withCatalog(readOnly bool, fn func(db *bolt.DB) error) error {
	// A read-only store's catalog can only be opened read-only.
	readOnly = readOnly || s.ro != ""
	db, err := bolt.Open(s.CatalogPath(), 0o644, &bolt.Options{Timeout: BusyTimeout, ReadOnly: readOnly})
	if err != nil {
		if errors.Is(err, berrors.ErrTimeout) {
			return fmt.Errorf("%s: %w", s.CatalogPath(), ErrBusy)
		}
		return fmt.Errorf("catalog %s: %w", s.CatalogPath(), err)
	}
	defer db.Close()
	return fn(db)
}

// initCatalog gives a new catalog its schema version. A catalog that has
// one is only read: opening a store (every command does) must not write.
func (s *Store) initCatalog() error {
	var ready bool
	err := s.withCatalog(false, func(db *bolt.DB) error {
		return db.View(func(tx *bolt.Tx) error {
			var err error
			ready, err = s.checkVersion(tx.Bucket(bucketMeta))
			return err
		})
	})
	if err != nil || ready {
		return err
	}
	return s.withCatalog(false, func(db *bolt.DB) error {
		return db.Update(func(tx *bolt.Tx) error {
			b, err := tx.CreateBucketIfNotExists(bucketMeta)
			if err != nil {
				return err
			}
			if ok, err := s.checkVersion(b); err != nil || ok {
				return err
			}
			var v [4]byte
			binary.BigEndian.PutUint32(v[:], CatalogVersion)
			return b.Put(keyVersion, v[:])
		})
	})
}

// checkVersion reports whether meta bucket b holds a schema version this
// program understands (false when there is none yet).
func (s *Store) checkVersion(b *bolt.Bucket) (bool, error) {
	if b == nil {
		return false, nil
	}
	v := b.Get(keyVersion)
	if v == nil {
		return false, nil
	}
	if len(v) != 4 {
		return false, fmt.Errorf("catalog %s: corrupt schema version", s.CatalogPath())
	}
	if got := binary.BigEndian.Uint32(v); got > CatalogVersion {
		return false, fmt.Errorf("catalog %s: schema version %d is newer than this program understands (%d)", s.CatalogPath(), got, CatalogVersion)
	}
	return true, nil
}

// CatalogVersion returns the catalog's schema version.
func (s *Store) CatalogVersion() (int, error) {
	var ver int
	err := s.withCatalog(true, func(db *bolt.DB) error {
		return db.View(func(tx *bolt.Tx) error {
			b := tx.Bucket(bucketMeta)
			if b == nil || len(b.Get(keyVersion)) != 4 {
				return fmt.Errorf("catalog %s: no schema version", s.CatalogPath())
			}
			ver = int(binary.BigEndian.Uint32(b.Get(keyVersion)))
			if ver > CatalogVersion {
				return fmt.Errorf("catalog %s: schema version %d is newer than this program understands (%d)", s.CatalogPath(), ver, CatalogVersion)
			}
			return nil
		})
	})
	return ver, err
}
