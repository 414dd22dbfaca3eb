package app

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wimconsole/wimconsole/engine/progress"
)

// The console's Libraries node: the image libraries of the user's list
// (the one `library add` writes), each with its groups and what the local
// store lacks of them.

// LibrariesID is the ID of the Libraries node.
const LibrariesID = "libraries"

// LibraryID returns the ID of library lib's node.
func LibraryID(lib string) string { return LibrariesID + "/" + lib }

// LibraryGroupID returns the ID of the node of group g of library lib.
func LibraryGroupID(lib, g string) string { return LibraryID(lib) + "/" + g }

// libraryListTimeout bounds the listing of one library, so that a library
// that does not answer holds up a refresh for that long at most (a
// variable for tests).
var libraryListTimeout = 10 * time.Second

// libraryListAge is how long a listing is shown before a refresh lists the
// library again (RefreshLibraries, the console's Refresh, lists them at
// once); libraryOfflineAge is that of a library found offline, longer, so
// that the refreshes that follow changes of the store do not wait for it
// again and again (variables for tests).
var (
	libraryListAge    = 30 * time.Second
	libraryOfflineAge = 2 * time.Minute
)

// libraryState is what the last listing of a library found.
type libraryState struct {
	cfg    LibraryConfig
	groups []LibraryGroup
	err    error // the listing failed: the library shows as offline
	// empty says why a library that answered has no group yet (its
	// bucket does not exist until the first publish creates it).
	empty  string
	listed time.Time
}

// maxAge is how long the listing st is shown.
func (st *libraryState) maxAge() time.Duration {
	if st.err != nil {
		return libraryOfflineAge
	}
	return libraryListAge
}

// SetLibraryList shows the libraries of the list at path under a
// Libraries node (listed at the next Refresh); "" shows none.
func (m *Model) SetLibraryList(path string) {
	m.mu.Lock()
	m.libList = path
	m.libs = nil
	m.mu.Unlock()
}

// LibraryList returns the library list file ("" when the console shows
// no libraries).
func (m *Model) LibraryList() string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.libList
}

// RefreshLibraries forgets the libraries' listings, so that the next
// refresh lists them again.
func (m *Model) RefreshLibraries() {
	m.mu.Lock()
	for _, st := range m.libs {
		st.listed = time.Time{}
	}
	m.mu.Unlock()
}

// Libraries returns the libraries of the list, as the last refresh read
// it.
func (m *Model) Libraries() []LibraryConfig {
	var out []LibraryConfig
	for _, id := range m.Children(LibrariesID) {
		if n, ok := m.Node(id); ok {
			m.mu.RLock()
			if st := m.libs[n.Name]; st != nil {
				out = append(out, st.cfg)
			}
			m.mu.RUnlock()
		}
	}
	return out
}

// LocalServer returns the server over the store on this machine (nil when
// there is none).
func (m *Model) LocalServer() *Server {
	for _, s := range m.Servers() {
		if _, ok := s.local(); ok {
			return s
		}
	}
	return nil
}

// refreshLibraries adds the Libraries node and the libraries' nodes,
// listing (at once, each within libraryListTimeout) those whose listing is
// older than libraryListAge. A library that cannot be listed shows as
// offline; it is no error of the refresh.
func (m *Model) refreshLibraries(ctx context.Context, add func(string, Node), fail func(error)) {
	m.mu.RLock()
	path := m.libList
	m.mu.RUnlock()
	if path == "" {
		return
	}
	local := m.LocalServer()
	add("", Node{ID: LibrariesID, Kind: KindLibraries, Label: "Libraries", Server: local})
	list, err := LoadLibraries(path)
	if err != nil {
		fail(err)
		return
	}
	m.mu.RLock()
	old := m.libs
	m.mu.RUnlock()
	states := make([]*libraryState, len(list))
	var wg sync.WaitGroup
	for i, cfg := range list {
		if st := old[cfg.Name]; st != nil && st.cfg == cfg && time.Since(st.listed) < st.maxAge() {
			states[i] = st
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			states[i] = listLibrary(ctx, cfg, local)
		}()
	}
	wg.Wait()
	libs := map[string]*libraryState{}
	for i, cfg := range list {
		st := states[i]
		libs[cfg.Name] = st
		lid := LibraryID(cfg.Name)
		label := cfg.Name
		if st.err != nil {
			label += " (offline)"
		}
		add(LibrariesID, Node{ID: lid, Kind: KindLibrary, Label: label, Server: local, Name: cfg.Name})
		for _, g := range st.groups {
			add(lid, Node{ID: LibraryGroupID(cfg.Name, g.Name), Kind: KindLibraryGroup, Label: g.Name,
				Server: local, Name: g.Name, Library: cfg.Name})
		}
	}
	m.mu.Lock()
	m.libs = libs
	m.mu.Unlock()
}

// listLibrary lists library cfg's groups and what local's store lacks of
// each.
func listLibrary(ctx context.Context, cfg LibraryConfig, local *Server) (st *libraryState) {
	st = &libraryState{cfg: cfg, listed: time.Now()}
	defer func() {
		if p := recover(); p != nil {
			st.groups, st.err = nil, fmt.Errorf("listing the library: %v", p)
		}
	}()
	ctx, cancel := context.WithTimeout(ctx, libraryListTimeout)
	defer cancel()
	l, err := OpenLibrary(cfg)
	if err != nil {
		st.err = err
		return st
	}
	var ls *LocalService
	if local != nil {
		ls, _ = local.Service().(*LocalService)
	}
	st.groups, st.err = l.Groups(ctx, ls)
	// The engine words S3 errors with their code in brackets: a bucket
	// that does not exist is a library nobody has published to yet.
	if st.err != nil && strings.Contains(st.err.Error(), "(NoSuchBucket)") {
		st.groups, st.err = nil, nil
		st.empty = "nothing published yet: the first publish creates the bucket"
	}
	if errors.Is(st.err, context.DeadlineExceeded) {
		st.err = fmt.Errorf("library %s (%s) did not answer within %s: check that the endpoint is up and reachable from here",
			cfg.Name, cfg.URL, libraryListTimeout)
	}
	return st
}

// libraryOnline reports whether the last listing of library name
// answered: an offline library has no groups to show, so its node is a
// leaf until a refresh finds it online again.
func (m *Model) libraryOnline(name string) bool {
	m.mu.RLock()
	defer m.mu.RUnlock()
	st := m.libs[name]
	return st != nil && st.err == nil
}

// libraryDetails is the details table of a Libraries, library or library
// group node.
func (m *Model) libraryDetails(n Node) Table {
	m.mu.RLock()
	defer m.mu.RUnlock()
	switch n.Kind {
	case KindLibraries:
		t := Table{Columns: []string{"Library", "Address", "Groups", "Status"}}
		for _, c := range m.kids[n.ID] {
			l := m.nodes[c]
			st := m.libs[l.Name]
			if st == nil {
				continue
			}
			groups, status := strconv.Itoa(len(st.groups)), "Online"
			if st.err != nil {
				groups, status = "", "Offline: "+st.err.Error()
			}
			t.Rows = append(t.Rows, []string{l.Name, st.cfg.URL, groups, status})
			t.RowIDs = append(t.RowIDs, c)
		}
		return t
	case KindLibrary:
		st := m.libs[n.Name]
		if st == nil {
			return Table{Columns: []string{"Name"}}
		}
		if st.err != nil {
			return Table{Columns: []string{"Property", "Value"}, Rows: [][]string{
				{"Library", st.cfg.Name},
				{"Address", st.cfg.URL},
				{"Credentials", credentialsText(st.cfg)},
				{"Status", "Offline"},
				{"Reason", st.err.Error()},
			}}
		}
		t := Table{Columns: []string{"Name", "Images", "Size", "Missing here"}}
		for _, g := range st.groups {
			t.Rows = append(t.Rows, []string{g.Name, strconv.Itoa(g.Images), FormatBytes(g.Size), FormatBytes(g.MissingBytes)})
			t.Keys = append(t.Keys, []string{g.Name, strconv.Itoa(g.Images), sizeKey(g.Size), sizeKey(g.MissingBytes)})
			t.RowIDs = append(t.RowIDs, LibraryGroupID(n.Name, g.Name))
		}
		return t
	case KindLibraryGroup:
		st := m.libs[n.Library]
		if st == nil {
			return Table{Columns: []string{"Name"}}
		}
		for _, g := range st.groups {
			if g.Name != n.Name {
				continue
			}
			return Table{Columns: []string{"Property", "Value"}, Rows: [][]string{
				{"Group", g.Name},
				{"Library", st.cfg.Name + " (" + st.cfg.URL + ")"},
				{"Images", strconv.Itoa(g.Images)},
				{"Size", FormatBytes(g.Size)},
				{"Stored", FormatBytes(g.Stored)},
				{"Missing here", fmt.Sprintf("%s (%d of %d blobs)", FormatBytes(g.MissingBytes), g.MissingBlobs, g.Blobs)},
				{"Published", FormatDate(g.Published)},
				{"Manifest", g.Manifest},
			}}
		}
	}
	return Table{Columns: []string{"Name"}}
}

// credentialsText says where a library's credentials come from.
func credentialsText(c LibraryConfig) string {
	if c.Credentials != "" {
		return c.Credentials
	}
	return "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY of the environment"
}

// libraryStatus is the status bar's text for a library node.
func (m *Model) libraryStatus(n Node) string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	switch n.Kind {
	case KindLibraries:
		libs := fmt.Sprintf("%d libraries", len(m.kids[n.ID]))
		if len(m.kids[n.ID]) == 1 {
			libs = "1 library"
		}
		return fmt.Sprintf("Libraries: %s (%s)", libs, m.libList)
	case KindLibrary:
		st := m.libs[n.Name]
		if st == nil {
			return n.Label
		}
		if st.err != nil {
			return fmt.Sprintf("%s (offline): %v", n.Name, st.err)
		}
		if st.empty != "" {
			return n.Name + ": " + st.empty
		}
		var size, missing int64
		for _, g := range st.groups {
			size += g.Size
			missing += g.MissingBytes
		}
		return fmt.Sprintf("%s: %s, %s, %s missing here", n.Name, count(len(st.groups), "group"), FormatBytes(size), FormatBytes(missing))
	}
	if st := m.libs[n.Library]; st != nil {
		for _, g := range st.groups {
			if g.Name == n.Name {
				return fmt.Sprintf("%s/%s: %s, %s, %s missing here", n.Library, n.Name, count(g.Images, "image"),
					FormatBytes(g.Size), FormatBytes(g.MissingBytes))
			}
		}
	}
	return n.Library + "/" + n.Name
}

// openLibrary opens the library named name of the list.
func (m *Model) openLibrary(name string) (*Library, error) {
	path := m.LibraryList()
	if path == "" {
		return nil, errors.New("the console has no library list")
	}
	cfg, err := FindLibrary(path, name)
	if err != nil {
		return nil, err
	}
	return OpenLibrary(cfg)
}

// localService returns s's service when s is the store on this machine.
func localService(s *Server, verb string) (*LocalService, error) {
	if s == nil {
		return nil, fmt.Errorf("%s: the console has no store on this machine", verb)
	}
	ls, ok := s.Service().(*LocalService)
	if !ok || ls.Store() == nil {
		return nil, fmt.Errorf("%s works with the store on this machine; %s is a server on the network: run `wimconsole` there", verb, s.Name)
	}
	return ls, nil
}

// AddLibrary checks c and adds it to the library list (as `library add`
// does); the next refresh lists it.
func (m *Model) AddLibrary(c LibraryConfig) error {
	path := m.LibraryList()
	if path == "" {
		return errors.New("the console has no library list")
	}
	c.Name, c.URL, c.Credentials = strings.TrimSpace(c.Name), strings.TrimSpace(c.URL), strings.TrimSpace(c.Credentials)
	return AddLibrary(path, c)
}

// PublishToLibrary publishes image group g of server s (the store on this
// machine) to library lib as as ("": the same name).
func (m *Model) PublishToLibrary(ctx context.Context, s *Server, g, lib, as string, report progress.Func) (*LibraryPublishResult, error) {
	ls, err := localService(s, "Publishing")
	if err != nil {
		return nil, err
	}
	l, err := m.openLibrary(lib)
	if err != nil {
		return nil, err
	}
	defer m.RefreshLibraries()
	r, err := l.Publish(ctx, ls, g, strings.TrimSpace(as), report)
	if err != nil {
		return nil, fmt.Errorf("publishing %s to library %s: %w", g, lib, err)
	}
	return r, nil
}

// PullFromLibrary brings group g of library lib into server s's store (the
// store on this machine) as as ("": the same name).
func (m *Model) PullFromLibrary(ctx context.Context, lib, g string, s *Server, as string, report progress.Func) (*LibraryPullResult, error) {
	ls, err := localService(s, "Pulling")
	if err != nil {
		return nil, err
	}
	l, err := m.openLibrary(lib)
	if err != nil {
		return nil, err
	}
	defer m.RefreshLibraries()
	r, err := l.Pull(ctx, ls, g, strings.TrimSpace(as), report)
	if err != nil {
		return nil, fmt.Errorf("pulling %s from library %s: %w", g, lib, err)
	}
	return r, nil
}
