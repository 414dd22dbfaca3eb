// Package app holds the use cases that the console window and the command
// line share: the list of servers, the tree of what each one holds, the
// details shown for a selection, jobs with progress and cancel, and what each
// action does. It has no Fyne widgets, so it is tested without a display.
package app

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wimconsole/wimconsole/engine/store"
)

// Server is one image store the console manages, through one Service: the
// local server's is a LocalService over the store on this machine, a server
// on the network's a RemoteService (see ConnectServer). What only one kind
// of store has, callers ask its Service for (see LocalStore and
// RemoteEndpoint).
type Server struct {
	Name string
	svc  Service
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
	return &Server{Name: host, svc: NewLocalService(host, s)}, nil
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
	KindImage     // an install image, under its group
	KindBootImage // a boot image, under its architecture
	// KindLibraries is the Libraries node, beside the servers; its
	// children are the image libraries of the user's list.
	KindLibraries
	KindLibrary      // an image library (Name: its name)
	KindLibraryGroup // a group of a library (Name: the group, Library: the library)
)

// Node is one node of the console tree. IDs are stable across refreshes, so
// expansion and selection survive them.
type Node struct {
	ID     string
	Kind   NodeKind
	Label  string
	Server *Server
	Name   string // group or architecture name; for images, that of their parent
	// Library is the library of a KindLibraryGroup node. Library nodes'
	// Server is the local server, the store a pull goes into.
	Library string
	// Image describes the image of a KindImage or KindBootImage node.
	Image *store.Image
}

// Ref returns the store reference of an image node.
func (n Node) Ref() store.ImageRef {
	if n.Image == nil {
		return store.ImageRef{}
	}
	file := strings.TrimSuffix(n.Image.File, ".wim")
	if n.Kind == KindBootImage {
		return store.ImageRef{Boot: true, Arch: n.Name, File: file}
	}
	return store.ImageRef{Group: n.Name, File: file}
}

// Disabled reports whether the node is an image that is disabled.
func (n Node) Disabled() bool { return n.Image != nil && !n.Image.Enabled }

// Table is the details pane's content for a node.
type Table struct {
	Columns []string
	Rows    [][]string
	// Keys, when set, has the shape of Rows and holds the keys Sorted
	// compares (byte counts, say, whose text does not sort).
	Keys [][]string
	// RowIDs, when set, names the tree node each row stands for.
	RowIDs []string
}

// Sorted returns t sorted by column col, ascending or descending. Rows that
// compare equal keep their order.
func (t Table) Sorted(col int, descending bool) Table {
	if col < 0 || col >= len(t.Columns) {
		return t
	}
	idx := make([]int, len(t.Rows))
	for i := range idx {
		idx[i] = i
	}
	key := func(i int) string {
		if t.Keys != nil && i < len(t.Keys) && col < len(t.Keys[i]) {
			return t.Keys[i][col]
		}
		if col < len(t.Rows[i]) {
			return t.Rows[i][col]
		}
		return ""
	}
	sort.SliceStable(idx, func(a, b int) bool {
		ka, kb := key(idx[a]), key(idx[b])
		if descending {
			ka, kb = kb, ka
		}
		return lessNatural(ka, kb)
	})
	out := Table{Columns: t.Columns, Rows: make([][]string, len(idx))}
	if t.Keys != nil {
		out.Keys = make([][]string, len(idx))
	}
	if t.RowIDs != nil {
		out.RowIDs = make([]string, len(idx))
	}
	for i, j := range idx {
		out.Rows[i] = t.Rows[j]
		if t.Keys != nil && j < len(t.Keys) {
			out.Keys[i] = t.Keys[j]
		}
		if t.RowIDs != nil && j < len(t.RowIDs) {
			out.RowIDs[i] = t.RowIDs[j]
		}
	}
	return out
}

// lessNatural compares case-insensitively, and numbers as numbers.
func lessNatural(a, b string) bool {
	na, ea := strconv.ParseFloat(a, 64)
	nb, eb := strconv.ParseFloat(b, 64)
	if ea == nil && eb == nil {
		return na < nb
	}
	la, lb := strings.ToLower(a), strings.ToLower(b)
	if la != lb {
		return la < lb
	}
	return a < b
}

// groupSummary is what the model knows of an image group besides its images.
type groupSummary struct {
	info store.GroupInfo
	dead int64 // reclaimable bytes (-1 unknown)
}

// Model is the console's view of its servers: a tree of nodes and the details
// of each. It is safe for concurrent use.
type Model struct {
	// Refreshes are coalesced: refreshMu guards the pass counters below,
	// never a pass itself, so that nothing a pass calls out to (a remote
	// service's state change, a watcher) can block on it.
	refreshMu   sync.Mutex
	refreshDone *sync.Cond // broadcast when a pass ends
	refreshing  bool       // a pass runs now
	passStarted uint64     // passes started so far
	passEnded   uint64     // passes ended so far
	passErr     error      // the error of the pass that ended last
	waiting     int        // Refresh calls waiting for a pass
	passHook    func()     // tests: runs at the start of each pass

	mu      sync.RWMutex
	servers []*Server
	nodes   map[string]Node
	kids    map[string][]string
	groups  map[string]groupSummary // by group node ID

	// libList is the user's library list file ("" shows no Libraries
	// node); libs is what the last listing of each library found, by
	// name (see libraries.go). Both are guarded by mu.
	libList string
	libs    map[string]*libraryState
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

// Server IDs and the IDs of the nodes below them.
func serverID(s *Server) string { return "server:" + s.Name }

// InstallID returns the ID of server s's Install Images node.
func InstallID(s *Server) string { return serverID(s) + "/install" }

// BootID returns the ID of server s's Boot Images node.
func BootID(s *Server) string { return serverID(s) + "/boot" }

// GroupID returns the ID of image group g's node.
func GroupID(s *Server, g string) string { return InstallID(s) + "/" + g }

// ArchID returns the ID of boot architecture a's node.
func ArchID(s *Server, a string) string { return BootID(s) + "/" + a }

// ImageID returns the ID of the node of image r.
func ImageID(s *Server, r store.ImageRef) string {
	if r.Boot {
		return ArchID(s, r.Arch) + "/" + r.File
	}
	return GroupID(s, r.Group) + "/" + r.File
}

// Refresh reloads every server's tree from disk. It returns the first error
// met; the nodes that could be read are kept.
//
// Refreshes do not nest: a Refresh asked while a pass runs waits for the
// one pass that starts after it (every request made during a pass shares
// that pass), so a burst of requests costs at most one pass more. No lock
// is held during a pass.
func (m *Model) Refresh() error {
	m.refreshMu.Lock()
	defer m.refreshMu.Unlock()
	if m.refreshDone == nil {
		m.refreshDone = sync.NewCond(&m.refreshMu)
	}
	want := m.passStarted + 1 // the first pass that starts after this call
	for m.passEnded < want {
		if m.refreshing {
			m.waiting++
			m.refreshDone.Wait()
			m.waiting--
			continue
		}
		m.runPass()
	}
	return m.passErr
}

// runPass runs one refresh pass; it is called with refreshMu held, and
// releases it while the pass runs.
func (m *Model) runPass() {
	m.refreshing = true
	m.passStarted++
	n := m.passStarted
	m.refreshMu.Unlock()
	var err error
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("refreshing the console: %v", p)
		}
		m.refreshMu.Lock()
		m.refreshing = false
		m.passEnded, m.passErr = n, err
		m.refreshDone.Broadcast()
	}()
	if m.passHook != nil {
		m.passHook()
	}
	err = m.load()
}

// load reads every server's tree and replaces the model's with it.
func (m *Model) load() error {
	ctx := context.Background()
	nodes := map[string]Node{}
	kids := map[string][]string{}
	groups := map[string]groupSummary{}
	var firstErr error
	fail := func(err error) {
		if err != nil && firstErr == nil && !offline(err) {
			firstErr = err
		}
	}
	add := func(parent string, n Node) {
		nodes[n.ID] = n
		kids[parent] = append(kids[parent], n.ID)
	}
	for _, s := range m.Servers() {
		m.refreshServer(ctx, s, add, fail, nodes, groups)
	}
	m.refreshLibraries(ctx, add, fail)
	m.mu.Lock()
	m.nodes, m.kids, m.groups = nodes, kids, groups
	m.mu.Unlock()
	return firstErr
}

// remoteListTimeout bounds the reading of one remote server's tree, so that
// a server that does not answer cannot hold up the others for long.
const remoteListTimeout = 20 * time.Second

// refreshServer reads server s's tree into nodes (through add) and groups.
func (m *Model) refreshServer(ctx context.Context, s *Server, add func(string, Node), fail func(error),
	nodes map[string]Node, groups map[string]groupSummary) {
	svc := s.Service()
	if svc.Remote() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, remoteListTimeout)
		defer cancel()
	}
	sid := serverID(s)
	add("", Node{ID: sid, Kind: KindServer, Label: s.Name, Server: s})
	iid, bid := InstallID(s), BootID(s)
	add(sid, Node{ID: iid, Kind: KindInstallImages, Label: "Install Images", Server: s})
	add(sid, Node{ID: bid, Kind: KindBootImages, Label: "Boot Images", Server: s})
	infos, err := svc.GroupInfos(ctx)
	if err != nil {
		fail(fmt.Errorf("%s: listing image groups: %w", s.Name, err))
		if svc.Remote() && offline(err) {
			nodes[sid] = Node{ID: sid, Kind: KindServer, Label: s.Name + " (offline)", Server: s}
			return
		}
	}
	for _, gi := range infos {
		gid := GroupID(s, gi.Name)
		add(iid, Node{ID: gid, Kind: KindGroup, Label: gi.Name, Server: s, Name: gi.Name})
		sum := groupSummary{info: gi, dead: -1}
		if gi.Images > 0 {
			if sp, err := svc.Space(ctx, gi.Name); err == nil {
				sum.dead = sp.DeadBytes
			}
		} else {
			sum.dead = 0
		}
		groups[gid] = sum
	}
	images, err := svc.ListImages(ctx, store.ListOptions{})
	if err != nil {
		fail(fmt.Errorf("%s: listing images: %w", s.Name, err))
	}
	archs, err := s.archs(images)
	if err != nil {
		fail(fmt.Errorf("%s: listing boot architectures: %w", s.Name, err))
	}
	for _, a := range archs {
		add(bid, Node{ID: ArchID(s, a), Kind: KindBootArch, Label: a, Server: s, Name: a})
	}
	for i := range images {
		im := &images[i]
		label := im.Name
		if label == "" {
			label = im.File
		}
		if im.Type == store.TypeBoot {
			n := Node{Kind: KindBootImage, Label: label, Server: s, Name: im.BootArch, Image: im}
			n.ID = ImageID(s, n.Ref())
			if _, ok := nodes[ArchID(s, im.BootArch)]; ok {
				add(ArchID(s, im.BootArch), n)
			}
			continue
		}
		n := Node{Kind: KindImage, Label: label, Server: s, Name: im.Group, Image: im}
		n.ID = ImageID(s, n.Ref())
		if _, ok := nodes[GroupID(s, im.Group)]; ok {
			add(GroupID(s, im.Group), n)
		}
	}
	if s.Offline() {
		nodes[sid] = Node{ID: sid, Kind: KindServer, Label: s.Name + " (offline)", Server: s}
	}
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
	case KindServer, KindInstallImages, KindBootImages, KindGroup, KindBootArch, KindLibraries:
		return true
	case KindLibrary:
		return m.libraryOnline(n.Name)
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

// Groups returns the names of server s's image groups.
func (m *Model) Groups(s *Server) []string {
	var out []string
	for _, id := range m.Children(InstallID(s)) {
		if n, ok := m.Node(id); ok {
			out = append(out, n.Name)
		}
	}
	return out
}

// Details returns the details table for the node id.
func (m *Model) Details(id string) Table {
	n, ok := m.Node(id)
	if !ok {
		return Table{Columns: []string{"Name"}}
	}
	switch n.Kind {
	case KindServer:
		return m.serverDetails(n)
	case KindInstallImages:
		t := Table{Columns: []string{"Image Group", "Images", "Res.rwm Size", "Reclaimable", "Folder"}}
		m.mu.RLock()
		defer m.mu.RUnlock()
		for _, c := range m.kids[id] {
			g := m.nodes[c]
			sum := m.groups[c]
			dead, deadKey := "unknown", sizeKey(-1)
			if sum.dead >= 0 {
				dead, deadKey = FormatBytes(sum.dead), sizeKey(sum.dead)
			}
			t.Rows = append(t.Rows, []string{g.Label, strconv.Itoa(sum.info.Images),
				FormatBytes(sum.info.ResBytes), dead, n.Server.GroupDir(g.Name)})
			t.Keys = append(t.Keys, []string{g.Label, strconv.Itoa(sum.info.Images),
				sizeKey(sum.info.ResBytes), deadKey, n.Server.GroupDir(g.Name)})
			t.RowIDs = append(t.RowIDs, c)
		}
		return t
	case KindBootImages:
		t := Table{Columns: []string{"Architecture", "Images", "Folder"}}
		for _, c := range m.Children(id) {
			a, _ := m.Node(c)
			t.Rows = append(t.Rows, []string{a.Label, strconv.Itoa(len(m.Children(c))),
				n.Server.BootDir(a.Name)})
			t.RowIDs = append(t.RowIDs, c)
		}
		return t
	case KindGroup:
		t := Table{Columns: []string{"Image Name", "Architecture", "Status", "Priority", "Description",
			"Expanded Size", "Exclusive Size", "Date", "OS Version", "Languages", "File Name"}}
		for _, c := range m.Children(id) {
			im, _ := m.Node(c)
			x := im.Image
			t.Rows = append(t.Rows, []string{im.Label, x.Arch, statusText(x), strconv.Itoa(x.DisplayOrder),
				x.Description, FormatBytes(x.ExpandedBytes), FormatBytes(x.ExclusiveBytes), FormatDate(x.Created),
				x.OSVersion, strings.Join(x.Languages, ", "), x.File})
			t.Keys = append(t.Keys, []string{im.Label, x.Arch, statusText(x), strconv.Itoa(x.DisplayOrder),
				x.Description, sizeKey(x.ExpandedBytes), sizeKey(x.ExclusiveBytes),
				x.Created.UTC().Format("20060102150405"), x.OSVersion, strings.Join(x.Languages, ", "), x.File})
			t.RowIDs = append(t.RowIDs, c)
		}
		return t
	case KindBootArch:
		t := Table{Columns: []string{"Image Name", "Architecture", "Status", "Priority", "Description",
			"Expanded Size", "Date", "OS Version", "File Name"}}
		for _, c := range m.Children(id) {
			im, _ := m.Node(c)
			x := im.Image
			t.Rows = append(t.Rows, []string{im.Label, x.Arch, statusText(x), strconv.Itoa(x.DisplayOrder),
				x.Description, FormatBytes(x.ExpandedBytes), FormatDate(x.Created), x.OSVersion, x.File})
			t.Keys = append(t.Keys, []string{im.Label, x.Arch, statusText(x), strconv.Itoa(x.DisplayOrder),
				x.Description, sizeKey(x.ExpandedBytes), x.Created.UTC().Format("20060102150405"), x.OSVersion, x.File})
			t.RowIDs = append(t.RowIDs, c)
		}
		return t
	case KindImage, KindBootImage:
		t := Table{Columns: []string{"Property", "Value"}}
		for _, p := range GeneralProperties(n.Image) {
			t.Rows = append(t.Rows, []string{p[0], p[1]})
		}
		return t
	case KindLibraries, KindLibrary, KindLibraryGroup:
		return m.libraryDetails(n)
	}
	return Table{Columns: []string{"Name"}}
}

func (m *Model) serverDetails(n Node) Table {
	m.mu.RLock()
	var groups, images, boot int
	var res, dead int64
	deadKnown := true
	for _, g := range m.kids[InstallID(n.Server)] {
		groups++
		sum := m.groups[g]
		images += sum.info.Images
		res += sum.info.ResBytes
		if sum.dead < 0 {
			deadKnown = false
		} else {
			dead += sum.dead
		}
	}
	for _, a := range m.kids[BootID(n.Server)] {
		boot += len(m.kids[a])
	}
	m.mu.RUnlock()
	reclaim := FormatBytes(dead)
	if !deadKnown {
		reclaim += " (some groups unknown)"
	}
	return Table{
		Columns: []string{"Property", "Value"},
		Rows: [][]string{
			{"Server", n.Server.Name},
			{"Store path", n.Server.Location()},
			{"Image groups", strconv.Itoa(groups)},
			{"Install images", strconv.Itoa(images)},
			{"Boot images", strconv.Itoa(boot)},
			{"Res.rwm total", FormatBytes(res)},
			{"Reclaimable by regroup", reclaim},
			{"Catalog", n.Server.CatalogPath()},
		},
	}
}

func statusText(im *store.Image) string {
	if im.Enabled {
		return "Online"
	}
	return "Offline"
}

// GeneralProperties lists an image's general properties, in the order the
// Properties dialog shows them.
func GeneralProperties(im *store.Image) [][2]string {
	if im == nil {
		return nil
	}
	where := im.Group
	if im.Type == store.TypeBoot {
		where = "Boot/" + im.BootArch
	}
	langs := strings.Join(im.Languages, ", ")
	return [][2]string{
		{"Name", im.Name},
		{"Description", im.Description},
		{"Architecture", im.Arch},
		{"Languages", langs},
		{"Status", statusText(im)},
		{"Group", where},
		{"File name", im.File},
		{"File path", im.Path},
		{"Expanded size", FormatBytes(im.ExpandedBytes)},
		{"Image file size", FormatBytes(im.FileBytes)},
		{"Date", FormatDate(im.Created)},
		{"OS version", im.OSVersion},
		{"Edition", im.Edition},
		{"Product", im.ProductName},
		{"Unattend file", im.Unattend},
		{"Active sessions", strconv.Itoa(im.Sessions)},
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
			names[i] = s.Name + ": " + s.Location()
		}
		return strings.Join(names, "  ·  ")
	}
	if n.Server == nil {
		return n.Label
	}
	return n.Server.Name + ": " + n.Server.Location()
}
