package app

import (
	"github.com/wimconsole/wimconsole/engine/watch"
)

// Watch keeps the model in step with its stores on disk: whenever a store
// changes (through this process, another one, or by hand), the model reloads
// and changed is called — from the watcher's goroutine, so a GUI must hand
// it to its main goroutine. Stop with the returned function.
func (m *Model) Watch(changed func(err error)) (stop func(), err error) {
	var watchers []*watch.Watcher
	stopAll := func() {
		for _, w := range watchers {
			w.Close()
		}
	}
	for _, s := range m.Servers() {
		st, ok := s.local()
		if !ok {
			continue // a remote server: see WatchServer
		}
		w, err := watch.New(st.Root(), 0)
		if err != nil {
			stopAll()
			return nil, err
		}
		watchers = append(watchers, w)
		go func() {
			for {
				select {
				case _, ok := <-w.Events():
					if !ok {
						return
					}
					changed(m.Refresh())
				case err, ok := <-w.Errors():
					if !ok {
						return
					}
					// An overflow loses events: reload everything.
					if rerr := m.Refresh(); rerr != nil {
						err = rerr
					}
					changed(err)
				}
			}
		}()
	}
	return stopAll, nil
}
