package store

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/wimconsole/wimconsole/engine/wim"
)

// GroupSpace is the space accounting of an image group.
type GroupSpace struct {
	Group string `json:"group"`
	// ResBytes is the size of Res.rwm; LiveBytes the stored size of the
	// data some image uses; DeadBytes what regroup would reclaim (data no
	// image uses, and the tables old appends left behind); OverheadBytes
	// the header, blob table and XML data.
	ResBytes      int64 `json:"res_bytes"`
	LiveBytes     int64 `json:"live_bytes"`
	DeadBytes     int64 `json:"dead_bytes"`
	OverheadBytes int64 `json:"overhead_bytes"`
	// ImageFileBytes is the size of the images' metadata-only files.
	ImageFileBytes int64        `json:"image_file_bytes"`
	Images         []ImageSpace `json:"images"`
}

// ImageSpace is one image's share of its group's Res.rwm: ExclusiveBytes
// is the stored size of the data only it uses (freed if it alone were
// removed and the group regrouped), SharedBytes that of the data it shares
// with other images. MissingBlobs counts data it uses that Res.rwm lacks.
type ImageSpace struct {
	File           string `json:"file"`
	Name           string `json:"name"`
	ExclusiveBytes int64  `json:"exclusive_bytes"`
	SharedBytes    int64  `json:"shared_bytes"`
	MissingBlobs   int    `json:"missing_blobs,omitempty"`
}

// Space returns the space accounting of group g (computed from the blob
// table of Res.rwm and each image's metadata; cached in the catalog while
// the files are unchanged).
func (s *Store) Space(ctx context.Context, g string) (*GroupSpace, error) {
	if err := s.needGroup(g); err != nil {
		return nil, err
	}
	return s.groupSpace(ctx, g)
}

// spaceCache is a group's GroupSpace with the fingerprint of the files it
// was computed from.
type spaceCache struct {
	Print string      `json:"print"`
	Space *GroupSpace `json:"space"`
}

// fingerprint identifies the state of group g's files: names, sizes and
// modification times of Res.rwm and the image files.
func (s *Store) fingerprint(g string) (string, []string, error) {
	files, err := s.groupFiles(g)
	if err != nil {
		return "", nil, err
	}
	var b strings.Builder
	for _, f := range append([]string{"\x00res"}, files...) {
		p := s.ResPath(g)
		if f != "\x00res" {
			p = s.ImagePath(ImageRef{Group: g, File: f})
		}
		if st, err := os.Stat(p); err == nil {
			fmt.Fprintf(&b, "%s:%d:%d;", f, st.Size(), st.ModTime().UnixNano())
		} else {
			fmt.Fprintf(&b, "%s:-;", f)
		}
	}
	return b.String(), files, nil
}

func (s *Store) groupSpace(ctx context.Context, g string) (*GroupSpace, error) {
	print, files, err := s.fingerprint(g)
	if err != nil {
		return nil, err
	}
	var cached spaceCache
	s.view(func(tx *bolt.Tx) error {
		_, err := getJSON(tx.Bucket(bucketSpace), []byte(g), &cached)
		return err
	})
	if cached.Print == print && cached.Space != nil {
		return cached.Space, nil
	}
	gs, err := computeSpace(ctx, s, g, files)
	if err != nil {
		return nil, err
	}
	s.update(func(tx *bolt.Tx) error {
		return putJSON(tx, bucketSpace, []byte(g), spaceCache{Print: print, Space: gs})
	})
	return gs, nil
}

// imageHashes returns the set of blobs image 1 of file name uses, read from
// its metadata alone (no reference file needed).
func imageHashes(name string) (map[wim.Hash]bool, string, error) {
	w, err := wim.Open(name, &wim.OpenOptions{NoSplitSearch: true})
	if err != nil {
		return nil, "", err
	}
	defer w.Close()
	if w.ImageCount() < 1 {
		return nil, "", fmt.Errorf("%s: holds no image", name)
	}
	data, err := w.MetadataResource(1)
	if err != nil {
		return nil, "", err
	}
	img, err := wim.ParseMetadata(data)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", name, err)
	}
	set := map[wim.Hash]bool{}
	for h := range img.BlobRefs() {
		set[h] = true
	}
	return set, w.XML().Image(1).Name, nil
}

func computeSpace(ctx context.Context, s *Store, g string, files []string) (*GroupSpace, error) {
	gs := &GroupSpace{Group: g}
	stored := map[wim.Hash]int64{}
	if rw, err := wim.Open(s.ResPath(g), &wim.OpenOptions{NoSplitSearch: true}); err == nil {
		gs.ResBytes = rw.Size()
		h := rw.Header()
		gs.OverheadBytes = wim.HeaderSize + h.BlobTable.StoredSize + h.XML.StoredSize + h.Integrity.StoredSize
		for _, e := range rw.Blobs() {
			if !e.IsMetadata() {
				stored[e.Hash] = e.Res.StoredSize
			}
		}
		rw.Close()
	} else if !os.IsNotExist(err) {
		return nil, err
	}
	users := map[wim.Hash]int{}
	sets := make([]map[wim.Hash]bool, len(files))
	for i, f := range files {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		p := s.ImagePath(ImageRef{Group: g, File: f})
		if st, err := os.Stat(p); err == nil {
			gs.ImageFileBytes += st.Size()
		}
		set, name, err := imageHashes(p)
		is := ImageSpace{File: f + ".wim", Name: name}
		if err == nil {
			sets[i] = set
			for h := range set {
				users[h]++
			}
		}
		gs.Images = append(gs.Images, is)
	}
	for h, n := range users {
		if n > 0 {
			gs.LiveBytes += stored[h]
		}
	}
	for i, set := range sets {
		for h := range set {
			sz, ok := stored[h]
			switch {
			case !ok:
				gs.Images[i].MissingBlobs++
			case users[h] == 1:
				gs.Images[i].ExclusiveBytes += sz
			default:
				gs.Images[i].SharedBytes += sz
			}
		}
	}
	gs.DeadBytes = max(0, gs.ResBytes-gs.LiveBytes-gs.OverheadBytes)
	return gs, nil
}

// spaceJSON is used by tests to compare figures.
func (gs *GroupSpace) String() string {
	b, _ := json.Marshal(gs)
	return string(b)
}
