package app

import (
	"github.com/wimconsole/wimconsole/engine/store"
)

// storeOf returns local server s's store.
func storeOf(s *Server) *store.Store {
	st, _ := s.local()
	return st
}
