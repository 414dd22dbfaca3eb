package app

import (
	"context"
	"errors"
	"os"
	"path/filepath"

	"github.com/wimconsole/wimconsole/engine/store"
)

// ErrRemoteLangPacks is returned when language packs are to be changed on a
// server on the network: its API carries no language packs, so the console
// lists them (from the image's record) but changes them on local servers
// only.
var ErrRemoteLangPacks = errors.New("language packs are changed on the server itself: its network API does not carry them")

// LangPack is one language pack of an image, as its Properties list it.
type LangPack struct {
	Name  string // file name, e.g. fr-fr.cab
	Bytes int64  // size; -1 when unknown (a server on the network)
}

// CanChangeLanguagePacks reports whether language packs can be added to and
// removed from the server's images (local servers only; see
// ErrRemoteLangPacks).
func (s *Server) CanChangeLanguagePacks() bool {
	_, ok := s.local()
	return ok
}

// LanguagePacks lists the language packs of install image r, sorted by
// name. On a server on the network the names come from the image's record
// and the sizes are unknown.
func (s *Server) LanguagePacks(ctx context.Context, r store.ImageRef) ([]LangPack, error) {
	st, ok := s.local()
	if !ok {
		im, err := s.Service().GetImage(ctx, r)
		if err != nil {
			return nil, err
		}
		out := make([]LangPack, len(im.LangPacks))
		for i, n := range im.LangPacks {
			out[i] = LangPack{Name: n, Bytes: -1}
		}
		return out, nil
	}
	names, err := st.LanguagePacks(r)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(filepath.Dir(st.ImagePath(r)), r.File, store.LangPacksDir)
	out := make([]LangPack, len(names))
	for i, n := range names {
		out[i] = LangPack{Name: n, Bytes: -1}
		if st, err := os.Stat(filepath.Join(dir, n)); err == nil {
			out[i].Bytes = st.Size()
		}
	}
	return out, nil
}

// AddLanguagePack associates the cabinet file src with install image r (a
// pack of the same name is replaced; see store.Store.AddLanguagePack).
func (s *Server) AddLanguagePack(ctx context.Context, r store.ImageRef, src string) error {
	st, ok := s.local()
	if !ok {
		return ErrRemoteLangPacks
	}
	return st.AddLanguagePack(ctx, r, src)
}

// RemoveLanguagePack removes the language pack named name from image r.
func (s *Server) RemoveLanguagePack(ctx context.Context, r store.ImageRef, name string) error {
	st, ok := s.local()
	if !ok {
		return ErrRemoteLangPacks
	}
	return st.RemoveLanguagePack(ctx, r, name)
}
