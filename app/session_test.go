package app

import (
	"context"
	"errors"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/wimconsole/wimconsole/engine/remote"
	"github.com/wimconsole/wimconsole/engine/remote/remotetest"
	"github.com/wimconsole/wimconsole/engine/servicing"
	"github.com/wimconsole/wimconsole/engine/servicing/inf/inftest"
	"github.com/wimconsole/wimconsole/engine/store"
	"github.com/wimconsole/wimconsole/engine/store/storetest"
	"github.com/wimconsole/wimconsole/engine/unattend"
	"github.com/wimconsole/wimconsole/internal/fixtures"
)

// disabledImage returns a server with group Lab holding one disabled image.
func disabledImage(t *testing.T) (*Server, store.ImageRef) {
	t.Helper()
	ctx := context.Background()
	srv := newServer(t)
	refs, err := storeOf(srv).AddImage(ctx, makeWIM(t, "A"), store.AddOptions{Group: "Lab"})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.SetEnabled(ctx, refs[0], false); err != nil {
		t.Fatal(err)
	}
	return srv, refs[0]
}

// paths returns the sorted paths of es, comma-separated.
func paths(es []servicing.Entry) string {
	var out []string
	for _, e := range es {
		out = append(out, e.Path)
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

func TestInSession(t *testing.T) {
	ctx := context.Background()
	srv, r := disabledImage(t)
	add := func(name string) func(ss *servicing.Session) error {
		return func(ss *servicing.Session) error { return ss.AddData("/"+name, []byte(name)) }
	}

	// No session: begun, committed at once, gone.
	staged, id, err := srv.InSession(ctx, r, add("one.txt"))
	if err != nil || staged || id == "" {
		t.Fatalf("InSession without a session: staged %v, id %q, %v", staged, id, err)
	}
	if _, err := servicing.ForImage(storeOf(srv), r); !errors.Is(err, servicing.ErrNoSession) {
		t.Fatalf("the session was left open: %v", err)
	}
	if es, _ := srv.ListFiles(ctx, r, "/"); paths(es) != "/Windows,/one.txt" {
		t.Fatalf("committed image lists %s", paths(es))
	}

	// A failing change: the new session is discarded, the image unchanged.
	boom := errors.New("boom")
	if _, _, err := srv.InSession(ctx, r, func(ss *servicing.Session) error {
		add("two.txt")(ss)
		return boom
	}); !errors.Is(err, boom) {
		t.Fatalf("InSession returned %v, want fn's error", err)
	}
	if _, err := servicing.ForImage(storeOf(srv), r); !errors.Is(err, servicing.ErrNoSession) {
		t.Fatalf("the failed session was left open: %v", err)
	}
	if es, _ := srv.ListFiles(ctx, r, "/"); paths(es) != "/Windows,/one.txt" {
		t.Fatalf("image lists %s after a failed change", paths(es))
	}

	// An open session: the change is staged there, the image unchanged.
	ss, err := srv.ServiceImage(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	staged, id, err = srv.InSession(ctx, r, add("three.txt"))
	if err != nil || !staged || id != ss.ID {
		t.Fatalf("InSession with session %s: staged %v, id %q, %v", ss.ID, staged, id, err)
	}
	again, err := servicing.ForImage(storeOf(srv), r)
	if err != nil || len(again.Changes) != 1 || again.Changes[0].Path != "/three.txt" {
		t.Fatalf("session after InSession: %+v %v", again, err)
	}
	if es, _ := srv.ListFiles(ctx, r, "/"); paths(es) != "/Windows,/one.txt" {
		t.Fatalf("image lists %s while the change is staged", paths(es))
	}
	again.Discard()

	// Enabled images and remote servers are refused.
	if err := srv.SetEnabled(ctx, r, true); err != nil {
		t.Fatal(err)
	}
	if _, _, err := srv.InSession(ctx, r, add("four.txt")); err == nil || !strings.Contains(err.Error(), "enabled") {
		t.Fatalf("InSession on an enabled image: %v", err)
	}
	remoteSrv := &Server{Name: "far", svc: &RemoteService{}}
	if _, _, err := remoteSrv.InSession(ctx, r, add("x")); !errors.Is(err, ErrRemoteServicing) {
		t.Fatalf("InSession on a remote server: %v", err)
	}
	if _, err := remoteSrv.AddDriver(ctx, r, t.TempDir(), servicing.DriverOptions{}); !errors.Is(err, ErrRemoteServicing) {
		t.Fatalf("AddDriver on a remote server: %v", err)
	}
}

func TestAddDriverUseCase(t *testing.T) {
	ctx := context.Background()
	srv, r := disabledImage(t)
	pkg := inftest.Write(t, "contoso", inftest.Files("contoso"))
	out, err := srv.AddDriver(ctx, r, pkg, servicing.DriverOptions{Arch: "amd64"})
	if err != nil {
		t.Fatal(err)
	}
	if out.Staged || out.ImagePath != "/Drivers/contoso" || out.SetupPath != `C:\Drivers\contoso` || strings.Join(out.INFs, ",") != "contoso.inf" {
		t.Fatalf("outcome %+v %+v", out, out.DriverResult)
	}
	if es, _ := srv.ListFiles(ctx, r, "/Drivers/contoso"); paths(es) != "/Drivers/contoso/contoso.cat,/Drivers/contoso/contoso.inf,/Drivers/contoso/contoso.sys" {
		t.Fatalf("committed package: %s", paths(es))
	}
	doc, err := servicing.ImageUnattend(ctx, storeOf(srv), r)
	if err != nil {
		t.Fatal(err)
	}
	dp, err := unattend.DriverPaths(doc)
	if err != nil || len(dp) != 1 || dp[0].Path != `C:\Drivers\contoso` || dp[0].Arch != "amd64" {
		t.Fatalf("driver paths %+v %v", dp, err)
	}
	if st, ok := srv.UnattendStatus(ctx, r); !ok || st != UnattendValid {
		t.Fatalf("unattend status %q", st)
	}

	// A malformed INF changes nothing.
	bad := inftest.Write(t, "bad", map[string]string{"bad.inf": inftest.Malformed})
	var de *servicing.DriverError
	if _, err := srv.AddDriver(ctx, r, bad, servicing.DriverOptions{Arch: "amd64"}); !errors.As(err, &de) {
		t.Fatalf("malformed INF: %v", err)
	}
	if es, _ := srv.ListFiles(ctx, r, "/Drivers"); paths(es) != "/Drivers/contoso" {
		t.Fatalf("after a refused package: %s", paths(es))
	}
	if _, err := servicing.ForImage(storeOf(srv), r); !errors.Is(err, servicing.ErrNoSession) {
		t.Fatalf("a refused package left a session: %v", err)
	}
}

func TestUnattendStatus(t *testing.T) {
	ctx := context.Background()
	srv, r := disabledImage(t)
	if st, _ := srv.UnattendStatus(ctx, r); st != "" {
		t.Fatalf("status without an unattend file: %q", st)
	}
	good := fixtures.Path(t, "ImageUnattend.xml")
	if err := srv.SetUnattend(ctx, r, good); err != nil {
		t.Fatal(err)
	}
	if st, ok := srv.UnattendStatus(ctx, r); !ok || st != UnattendValid {
		t.Fatalf("valid file: %q %v", st, ok)
	}
	// Spoilt by hand in the image's folder.
	p, err := srv.UnattendPath(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(p, []byte("<?xml version=\"1.0\"?>\n<unattend xmlns=\"urn:schemas-microsoft-com:unattend\">\n  <settings pass=\"bogus\"/>\n</unattend>\n"), 0o644)
	if st, ok := srv.UnattendStatus(ctx, r); ok || !strings.Contains(st, "ImageUnattend.xml:3:3") || !strings.Contains(st, "bogus") {
		t.Fatalf("invalid file: %q %v", st, ok)
	}
	os.Remove(p)
	if st, ok := srv.UnattendStatus(ctx, r); ok || !strings.Contains(st, "missing") {
		t.Fatalf("missing file: %q %v", st, ok)
	}
}

func TestLanguagePackUseCases(t *testing.T) {
	ctx := context.Background()
	srv, r := disabledImage(t)
	if err := srv.AddLanguagePack(ctx, r, storetest.Cab(t, t.TempDir(), "fr-fr.cab", 100)); err != nil {
		t.Fatal(err)
	}
	if err := srv.AddLanguagePack(ctx, r, storetest.Cab(t, t.TempDir(), "de-de.cab", 300)); err != nil {
		t.Fatal(err)
	}
	packs, err := srv.LanguagePacks(ctx, r)
	if err != nil || len(packs) != 2 || packs[0] != (LangPack{"de-de.cab", 300}) || packs[1] != (LangPack{"fr-fr.cab", 100}) {
		t.Fatalf("packs %+v %v", packs, err)
	}
	if err := srv.RemoveLanguagePack(ctx, r, "fr-fr.cab"); err != nil {
		t.Fatal(err)
	}
	if packs, _ := srv.LanguagePacks(ctx, r); len(packs) != 1 || packs[0].Name != "de-de.cab" {
		t.Fatalf("after remove: %+v", packs)
	}

	// A server on the network lists them from the image's record only.
	token, _, err := remote.OpenTokens(storeOf(srv).Root()).Create(remote.RoleAdmin, nil, "console")
	if err != nil {
		t.Fatal(err)
	}
	addr, _ := remotetest.Serve(t, storeOf(srv), "127.0.0.1:0")
	cert, _ := remote.LoadOrCreateCert(storeOf(srv).Root())
	far, err := ConnectServer(ctx, RemoteServer{URL: "https://" + addr, Fingerprint: remote.CertFingerprint(cert), Token: token})
	if err != nil {
		t.Fatal(err)
	}
	if far.CanChangeLanguagePacks() {
		t.Error("a remote server says it can change language packs")
	}
	if packs, err := far.LanguagePacks(ctx, r); err != nil || len(packs) != 1 || packs[0] != (LangPack{"de-de.cab", -1}) {
		t.Fatalf("remote packs %+v %v", packs, err)
	}
	if err := far.AddLanguagePack(ctx, r, storetest.Cab(t, t.TempDir(), "it-it.cab", 50)); !errors.Is(err, ErrRemoteLangPacks) {
		t.Fatalf("remote add: %v", err)
	}
	if err := far.RemoveLanguagePack(ctx, r, "de-de.cab"); !errors.Is(err, ErrRemoteLangPacks) {
		t.Fatalf("remote remove: %v", err)
	}
	if st, _ := far.UnattendStatus(ctx, r); st != "" {
		t.Fatalf("remote unattend status %q", st)
	}
}
