package views

import (
	"github.com/wimconsole/wimconsole/app"
	"github.com/wimconsole/wimconsole/engine/store"
)

// storeOf returns local server s's store, which the tests set up and check
// directly.
func storeOf(s *app.Server) *store.Store {
	return s.Service().(app.LocalStore).Store()
}
