package store

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/wimconsole/wimconsole/internal/oracle"
)

// TestKillAddOne kills an add-image of one image into an existing group,
// which the rename of its file commits (commitRename), at each step and
// at random instants: after recovery the image is there, whole, with its
// record (enabled, after the group's images), or it is not and Res.rwm is
// as it was to the byte; no temporary file and no journal entry is left,
// and verify-store finds nothing wrong.
func TestKillAddOne(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("kill tests use POSIX process semantics")
	}
	oracle.Wimlib(t)
	a, b := randomTree(1, 1<<20), randomTree(2, 1<<20)
	c, d := randomTree(3, 1<<20), randomTree(4, 1<<20)
	first := captureWIM(t, "lzx", writeTree(t, a), writeTree(t, b))
	second := captureWIM(t, "lzx", writeTree(t, c), writeTree(t, d))
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	for _, at := range []string{"add-res-written", "add-image-written", "add-committing", "add-image-renamed", "random", "random", "random"} {
		t.Run(at, func(t *testing.T) {
			root, s := killStore(t, first, AddOptions{Group: "G"})
			resBefore := fileSum(t, s.ResPath("G"))
			cmd, out := killCmd("add", root, second, strings.TrimSuffix(at, "random"), 0)
			var delay time.Duration // 0: it dies at its kill point
			if at == "random" {
				delay = time.Duration(10+rng.Intn(150)) * time.Millisecond
			}
			err := runKilled(t, cmd, out, delay)
			if at != "random" && err == nil {
				t.Fatalf("the child was not killed at %s", at)
			}
			if s, err = Open(root); err != nil {
				t.Fatal(err)
			}
			added := ImageRef{Group: "G", File: "new"}
			_, statErr := os.Stat(s.ImagePath(added))
			if at == "add-image-renamed" && statErr != nil {
				t.Fatalf("killed after the rename, the image is gone: %v", statErr)
			}
			if at != "random" && at != "add-image-renamed" && statErr == nil {
				t.Fatalf("killed at %s, before the commit, the image is there", at)
			}
			if statErr == nil {
				// The record, as the add writes it, before any listing
				// could make one.
				var rec imageRecord
				if err := s.view(func(tx *bolt.Tx) error {
					b := tx.Bucket(bucketImages)
					if b == nil || b.Get(added.key()) == nil {
						return fmt.Errorf("no record")
					}
					return json.Unmarshal(b.Get(added.key()), &rec)
				}); err != nil {
					t.Fatalf("record of the added image: %v", err)
				}
				if !rec.Enabled || rec.DisplayOrder != 3 {
					t.Errorf("record of the added image: %+v, want enabled, display order 3", rec)
				}
				oracleApply(t, s, added, d)
				t.Log("the image is there")
			} else if got := fileSum(t, s.ResPath("G")); got != resBefore {
				t.Errorf("Res.rwm is %s after the rollback, was %s", got, resBefore)
			}
			ents, _ := os.ReadDir(s.GroupDir("G"))
			for _, e := range ents {
				if strings.HasPrefix(e.Name(), ".") {
					t.Errorf("recovery left %s", filepath.Join(s.GroupDir("G"), e.Name()))
				}
			}
			if err := s.view(func(tx *bolt.Tx) error {
				if j, _ := journalEntries(tx); len(j) != 0 {
					t.Errorf("journal after recovery: %+v", j)
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			mustVerify(t, s)
			oracleApply(t, s, ImageRef{Group: "G", File: "install"}, a)
		})
	}
}
