package app

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/wimconsole/wimconsole/engine/progress"
	"github.com/wimconsole/wimconsole/engine/servicing"
	"github.com/wimconsole/wimconsole/engine/store"
)

// storeOf returns local server s's store.
func storeOf(s *Server) *store.Store {
	st, _ := s.local()
	return st
}

// fakeService is a Service held in memory: only the Service interface, none
// of the optional ones (LocalStore, RemoteEndpoint), as any other store
// behind the seam would be.
type fakeService struct {
	mu     sync.Mutex
	groups map[string]int64 // group name: Res.rwm size
	images []store.Image
	calls  []string
}

func newFakeService() *fakeService {
	f := &fakeService{groups: map[string]int64{"Lab": 3 << 20}}
	for _, file := range []string{"install", "install-copy"} {
		f.images = append(f.images, store.Image{Ref: "Lab/" + file, Type: store.TypeInstall, Group: "Lab",
			File: file + ".wim", Name: "Windows " + file, Arch: "x64", Enabled: true, LangPacks: []string{"de-de.cab"}})
	}
	f.images = append(f.images, store.Image{Ref: "boot/x64/boot", Type: store.TypeBoot, BootArch: "x64",
		File: "boot.wim", Name: "Setup", Arch: "x64", Enabled: true})
	return f
}

func (f *fakeService) called(what string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, what)
}

func (f *fakeService) find(r store.ImageRef) (int, error) {
	for i, im := range f.images {
		if im.Ref == r.String() {
			return i, nil
		}
	}
	return -1, fmt.Errorf("no image %s", r)
}

func (f *fakeService) Name() string      { return "fake" }
func (f *fakeService) Remote() bool      { return false }
func (f *fakeService) State() ConnStatus { return ConnStatus{State: Online} }

func (f *fakeService) GroupInfos(ctx context.Context) ([]store.GroupInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []store.GroupInfo
	for g, res := range f.groups {
		gi := store.GroupInfo{Name: g, ResBytes: res}
		for _, im := range f.images {
			if im.Group == g {
				gi.Images++
			}
		}
		out = append(out, gi)
	}
	slices.SortFunc(out, func(a, b store.GroupInfo) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

func (f *fakeService) AddGroup(ctx context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.groups[name] = 0
	return nil
}

func (f *fakeService) RenameGroup(ctx context.Context, from, to string) error {
	return errors.New("not in the fake")
}

func (f *fakeService) RemoveGroup(ctx context.Context, name string, force bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.groups, name)
	f.images = slices.DeleteFunc(f.images, func(im store.Image) bool { return im.Group == name })
	return nil
}

func (f *fakeService) ListImages(ctx context.Context, o store.ListOptions) ([]store.Image, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []store.Image
	for _, im := range f.images {
		if (o.Group == "" || im.Group == o.Group) && (o.Type == "" || im.Type == o.Type) {
			out = append(out, im)
		}
	}
	return out, nil
}

func (f *fakeService) GetImage(ctx context.Context, r store.ImageRef) (store.Image, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	i, err := f.find(r)
	if err != nil {
		return store.Image{}, err
	}
	return f.images[i], nil
}

func (f *fakeService) SetImage(ctx context.Context, r store.ImageRef, o store.SetOptions) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	i, err := f.find(r)
	if err != nil {
		return err
	}
	if o.Enabled != nil {
		f.images[i].Enabled = *o.Enabled
	}
	if o.Name != nil {
		f.images[i].Name = *o.Name
	}
	return nil
}

func (f *fakeService) AddImage(ctx context.Context, src string, o store.AddOptions) ([]store.ImageRef, error) {
	return nil, errors.New("not in the fake")
}

func (f *fakeService) ReplaceImage(ctx context.Context, r store.ImageRef, src string, o store.ReplaceOptions) error {
	f.called("replace " + r.String())
	return nil
}

func (f *fakeService) ExportImage(ctx context.Context, r store.ImageRef, dest string, o store.ExportOptions) error {
	f.called("export " + r.String() + " " + dest)
	return nil
}

func (f *fakeService) CopyImage(ctx context.Context, r store.ImageRef, o store.CopyOptions) (store.ImageRef, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	i, err := f.find(r)
	if err != nil {
		return store.ImageRef{}, err
	}
	im := f.images[i]
	c := r
	c.File = o.FileName
	im.Ref, im.File, im.Name = c.String(), o.FileName+".wim", o.Name
	f.images = append(f.images, im)
	return c, nil
}

func (f *fakeService) RemoveImage(ctx context.Context, r store.ImageRef) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	i, err := f.find(r)
	if err != nil {
		return err
	}
	f.images = slices.Delete(f.images, i, i+1)
	return nil
}

func (f *fakeService) Regroup(ctx context.Context, g string, o store.RegroupOptions) (*store.RegroupResult, error) {
	return nil, errors.New("not in the fake")
}

func (f *fakeService) Space(ctx context.Context, g string) (*store.GroupSpace, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	sp := &store.GroupSpace{Group: g, ResBytes: f.groups[g], DeadBytes: 1 << 20}
	for _, im := range f.images {
		if im.Group == g {
			sp.Images = append(sp.Images, store.ImageSpace{File: im.File, Name: im.Name, ExclusiveBytes: 1 << 10})
		}
	}
	return sp, nil
}

func (f *fakeService) VerifyStore(ctx context.Context, g string, report progress.Func) (*store.VerifyResult, error) {
	return nil, errors.New("not in the fake")
}

func (f *fakeService) Sessions(ctx context.Context, r store.ImageRef) ([]store.Session, error) {
	return nil, nil
}

func (f *fakeService) InstallImage(ctx context.Context, r store.ImageRef, dest, client string, report progress.Func) error {
	return errors.New("not in the fake")
}

func (f *fakeService) Watch(changed func(Change)) (func(), error) { return func() {}, nil }

var _ Service = (*fakeService)(nil)

// A server keeps the one service it was made with: its actions and its
// watchers go through that one (a local server used to make a new
// LocalService on every call).
func TestServerServiceIsMadeOnce(t *testing.T) {
	local, err := LocalServer(filepath.Join(t.TempDir(), "RemoteInstall"))
	if err != nil {
		t.Fatal(err)
	}
	far, err := NewRemoteServer(RemoteServer{URL: "https://deploy1:8443"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		srv    *Server
		local  bool
		remote bool
	}{
		{"local", local, true, false},
		{"remote", far, false, true},
		{"fake", NewServer(newFakeService()), false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := tc.srv.Service(), tc.srv.Service()
			if a == nil || a != b {
				t.Fatalf("Service() returned %p then %p, want the same service", a, b)
			}
			if _, ok := a.(LocalStore); ok != tc.local {
				t.Errorf("service is a LocalStore: %v, want %v", ok, tc.local)
			}
			if _, ok := a.(RemoteEndpoint); ok != tc.remote {
				t.Errorf("service is a RemoteEndpoint: %v, want %v", ok, tc.remote)
			}
			if tc.srv.IsRemote() != tc.remote {
				t.Errorf("IsRemote() = %v, want %v", tc.srv.IsRemote(), tc.remote)
			}
		})
	}
	if got := far.Location(); got != "https://deploy1:8443" {
		t.Errorf("remote Location() = %q, want its address", got)
	}
	if got := local.Location(); got != storeOf(local).Root() {
		t.Errorf("local Location() = %q, want the store's folder %q", got, storeOf(local).Root())
	}
}

// Any Service plugged into a server makes the tree, the details and the
// actions work; what only a store on this machine can do says so.
func TestServerOverAnyService(t *testing.T) {
	ctx := context.Background()
	fake := newFakeService()
	srv := NewServer(fake)
	if srv.Name != "fake" {
		t.Fatalf("server name %q, want the service's", srv.Name)
	}
	m := NewModel(srv)
	if err := m.Refresh(); err != nil {
		t.Fatal(err)
	}
	inst := store.ImageRef{Group: "Lab", File: "install"}
	boot := store.ImageRef{Boot: true, Arch: "x64", File: "boot"}
	for _, id := range []string{GroupID(srv, "Lab"), ImageID(srv, inst), ArchID(srv, "x64"), ImageID(srv, boot)} {
		if _, ok := m.Node(id); !ok {
			t.Errorf("no node %s in the tree", id)
		}
	}

	details := func(id string) map[string]string {
		out := map[string]string{}
		for _, r := range m.Details(id).Rows {
			out[r[0]] = strings.Join(r[1:], "|")
		}
		return out
	}
	sd := details(serverID(srv))
	if sd["Install images"] != "2" || sd["Boot images"] != "1" || sd["Store path"] != "" || sd["Catalog"] != "" {
		t.Errorf("server details %v", sd)
	}
	if gd := details(InstallID(srv)); gd["Lab"] != "2|3.0 MB|1.0 MB|" {
		t.Errorf("install images details %v", gd)
	}
	if gd := details(GroupID(srv, "Lab")); !strings.HasPrefix(gd["Windows install"], "x64|Online|") {
		t.Errorf("group details %v", gd)
	}

	if err := srv.SetEnabled(ctx, inst, false); err != nil {
		t.Fatal(err)
	}
	if im, _ := fake.GetImage(ctx, inst); im.Enabled {
		t.Error("SetEnabled(false) left the image enabled")
	}
	if got := srv.FreeFileName(inst); got != "install-copy2" {
		t.Errorf("FreeFileName = %q, want install-copy2 (install-copy is taken)", got)
	}
	if _, err := srv.CopyImage(ctx, inst, "install-copy2", "Copy"); err != nil {
		t.Fatal(err)
	}
	if got := srv.FreeFileName(inst); got != "install-copy3" {
		t.Errorf("FreeFileName after a copy = %q, want install-copy3", got)
	}
	if w := srv.DeleteGroupWarning(ctx, "Lab"); !strings.Contains(w, "3 image(s)") || !strings.Contains(w, "Res.rwm (3.0 MB)") {
		t.Errorf("DeleteGroupWarning = %q", w)
	}
	p, err := srv.Properties(ctx, inst)
	if err != nil || p.Space == nil || p.Unattend != "" {
		t.Errorf("Properties = %+v, %v", p, err)
	}
	if lp, err := srv.LanguagePacks(ctx, inst); err != nil || len(lp) != 1 || lp[0] != (LangPack{Name: "de-de.cab", Bytes: -1}) {
		t.Errorf("LanguagePacks = %v, %v", lp, err)
	}
	if err := srv.ReplaceImage(ctx, inst, "new.wim", store.ReplaceOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := srv.DeleteImage(ctx, inst); err != nil {
		t.Fatal(err)
	}
	if err := m.Refresh(); err != nil {
		t.Fatal(err)
	}
	if _, ok := m.Node(ImageID(srv, inst)); ok {
		t.Error("the deleted image is still in the tree")
	}

	// What only a local store has.
	if ro, why := srv.ReadOnly(); ro || why != "" {
		t.Errorf("ReadOnly() = %v, %q", ro, why)
	}
	if srv.GroupDir("Lab") != "" || srv.BootDir("x64") != "" || srv.CatalogPath() != "" || srv.Location() != "" {
		t.Error("a service without a local store has folders")
	}
	if srv.CanChangeLanguagePacks() {
		t.Error("CanChangeLanguagePacks() on a service without a local store")
	}
	if st, ok := srv.UnattendStatus(ctx, inst); st != "" || ok {
		t.Errorf("UnattendStatus = %q, %v", st, ok)
	}
	if ps, err := srv.PendingSessions(); ps != nil || err != nil {
		t.Errorf("PendingSessions = %v, %v", ps, err)
	}
	if got := m.RemoteServers(); len(got) != 0 {
		t.Errorf("RemoteServers() = %v", got)
	}
	other := store.ImageRef{Group: "Lab", File: "install-copy"}
	for _, tc := range []struct {
		name string
		err  error
		want error
	}{
		{"ListFiles", func() error { _, err := srv.ListFiles(ctx, other, `\`); return err }(), ErrRemoteServicing},
		{"Session", func() error { _, err := srv.Session(other); return err }(), ErrRemoteServicing},
		{"MountImage", func() error { _, err := srv.MountImage(ctx, other, t.TempDir(), nil); return err }(), ErrRemoteServicing},
		{"InSession", func() error {
			_, _, err := srv.InSession(ctx, other, func(*servicing.Session) error { return nil })
			return err
		}(), ErrRemoteServicing},
		{"AddLanguagePack", srv.AddLanguagePack(ctx, other, "fr-fr.cab"), ErrRemoteLangPacks},
		{"RemoveLanguagePack", srv.RemoveLanguagePack(ctx, other, "de-de.cab"), ErrRemoteLangPacks},
	} {
		if !errors.Is(tc.err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, tc.err, tc.want)
		}
	}
	for _, tc := range []struct {
		name, want string
		err        error
	}{
		{"GroupGain", "the group's data is on the server", func() error { _, err := srv.GroupGain(ctx, "Lab", nil); return err }()},
		{"UnattendPath", "the unattend file is on the server", func() error { _, err := srv.UnattendPath(ctx, other); return err }()},
		{"WatchServer", "server fake is not a remote server", func() error { _, err := m.WatchServer(srv, func(error) {}); return err }()},
	} {
		if tc.err == nil || tc.err.Error() != tc.want {
			t.Errorf("%s: %v, want %q", tc.name, tc.err, tc.want)
		}
	}
}
