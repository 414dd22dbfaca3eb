// Package app holds the use cases that the console window and the command
// line share: the list of servers, the tree of what each one holds, the
// details shown for a selection, and what each action does. It has no Fyne
// widgets, so it is tested without a display.
package app

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/wimconsole/wimconsole/engine/store"
)

// Server is one image store the console manages. The local server is the
// store on this machine.
type Server struct {
	Name  string
	Store *store.Store
}

// LocalServer opens (creating if needed) the store at root and names the
// server after this host, as the WDS console does.
func LocalServer(root string) (*Server, error) {
	s, err := store.Open(root)
	if err != nil {
		return nil, err
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	return &Server{Name: host, Store: s}, nil
}

// NodeKind says what a tree node stands for.
type NodeKind int

// The kinds of node in the console tree.
const (
	KindServer NodeKind = iota
	KindInstallImages
	KindBootImages
	KindGroup
	KindBootArch
)

// Node is one node of the console tree. IDs are stable across refreshes, so
// expansion and selection survive them.
type Node struct {
	ID     string
	Kind   NodeKind
	Label  string
	Server *Server
	Name   string // group or architecture name
}

// Table is the details pane's content for a node.
type Table struct {
	Columns []string
	Rows    [][]string
}

// Model is the console's view of its servers: a tree of nodes and the details
// of each. It is safe for concurrent use.
type Model struct {
	mu      sync.RWMutex
	servers []*Server
	nodes   map[string]Node
	kids    map[string][]string
}

// NewModel returns a model over servers, already loaded from disk.
func NewModel(servers ...*Server) *Model {
	m := &Model{servers: servers}
	m.Refresh()
	return m
}

// Servers returns the servers, in tree order.
func (m *Model) Servers() []*Server {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return append([]*Server(nil), m.servers...)
}

// Refresh reloads every server's tree from disk. It returns the first error
// met; the nodes that could be read are kept.
func (m *Model) Refresh() error {
	nodes := map[string]Node{}
	kids := map[string][]string{}
	var firstErr error
	add := func(parent string, n Node) {
		nodes[n.ID] = n
		kids[parent] = append(kids[parent], n.ID)
	}
	for _, s := range m.Servers() {
		sid := "server:" + s.Name
		add("", Node{ID: sid, Kind: KindServer, Label: s.Name, Server: s})
		iid, bid := sid+"/install", sid+"/boot"
		add(sid, Node{ID: iid, Kind: KindInstallImages, Label: "Install Images", Server: s})
		add(sid, Node{ID: bid, Kind: KindBootImages, Label: "Boot Images", Server: s})
		groups, err := s.Store.Groups()
		if err != nil && firstErr == nil {
			firstErr = fmt.Errorf("%s: listing image groups: %w", s.Name, err)
		}
		for _, g := range groups {
			add(iid, Node{ID: iid + "/" + g, Kind: KindGroup, Label: g, Server: s, Name: g})
		}
		archs, err := s.Store.Archs()
		if err != nil && firstErr == nil {
			firstErr = fmt.Errorf("%s: listing boot architectures: %w", s.Name, err)
		}
		for _, a := range archs {
			add(bid, Node{ID: bid + "/" + a, Kind: KindBootArch, Label: a, Server: s, Name: a})
		}
	}
	m.mu.Lock()
	m.nodes, m.kids = nodes, kids
	m.mu.Unlock()
	return firstErr
}

// Children returns the IDs of id's children; "" gives the roots.
func (m *Model) Children(id string) []string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return append([]string(nil), m.kids[id]...)
}

// IsBranch reports whether id can have children.
func (m *Model) IsBranch(id string) bool {
	n, ok := m.Node(id)
	if !ok {
		return id == ""
	}
	switch n.Kind {
	case KindServer, KindInstallImages, KindBootImages, KindGroup, KindBootArch:
		return true
	}
	return false
}

// Node returns the node with the given ID.
func (m *Model) Node(id string) (Node, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	n, ok := m.nodes[id]
	return n, ok
}

// Details returns the details table for the node id.
func (m *Model) Details(id string) Table {
	n, ok := m.Node(id)
	if !ok {
		return Table{Columns: []string{"Name"}}
	}
	switch n.Kind {
	case KindServer:
		groups := len(m.Children(n.ID + "/install"))
		return Table{
			Columns: []string{"Property", "Value"},
			Rows: [][]string{
				{"Server", n.Server.Name},
				{"Store path", n.Server.Store.Root()},
				{"Image groups", fmt.Sprint(groups)},
				{"Catalog", n.Server.Store.CatalogPath()},
			},
		}
	case KindInstallImages:
		t := Table{Columns: []string{"Image Group", "Folder"}}
		for _, c := range m.Children(id) {
			g, _ := m.Node(c)
			t.Rows = append(t.Rows, []string{g.Label, filepath.Join(n.Server.Store.Root(), store.ImagesDir, g.Name)})
		}
		return t
	case KindBootImages:
		t := Table{Columns: []string{"Architecture", "Folder"}}
		for _, c := range m.Children(id) {
			a, _ := m.Node(c)
			t.Rows = append(t.Rows, []string{a.Label, filepath.Join(n.Server.Store.Root(), store.BootDir, a.Name, store.ImagesDir)})
		}
		return t
	default:
		return Table{Columns: []string{"Image Name", "File Name"}}
	}
}

// StatusText is the status bar's text for the server of node id.
func (m *Model) StatusText(id string) string {
	n, ok := m.Node(id)
	if !ok {
		servers := m.Servers()
		if len(servers) == 0 {
			return "No servers"
		}
		names := make([]string, len(servers))
		for i, s := range servers {
			names[i] = s.Name + ": " + s.Store.Root()
		}
		return strings.Join(names, "  ·  ")
	}
	return n.Server.Name + ": " + n.Server.Store.Root()
}
