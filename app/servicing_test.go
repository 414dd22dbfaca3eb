package app

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/wimconsole/wimconsole/engine/store"
)

func TestFormatAttributes(t *testing.T) {
	for _, tc := range []struct {
		a    uint32
		want string
	}{
		{0, ""},
		{0x20, "A"},
		{0x10, "D"},
		{0x1 | 0x2 | 0x4 | 0x20, "RHSA"},
		{0x400 | 0x10, "DL"},
		{0x800, "C"},
	} {
		if got := FormatAttributes(tc.a); got != tc.want {
			t.Errorf("FormatAttributes(%#x) = %q, want %q", tc.a, got, tc.want)
		}
	}
}

func TestServiceImageUseCases(t *testing.T) {
	ctx := context.Background()
	srv := newServer(t)
	refs, err := storeOf(srv).AddImage(ctx, makeWIM(t, "A"), store.AddOptions{Group: "Lab"})
	if err != nil {
		t.Fatal(err)
	}
	r := refs[0]
	es, err := srv.ListFiles(ctx, r, `\Windows`)
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 2 || es[0].Path != "/Windows/own.txt" || !es[1].Dir {
		t.Fatalf("ListFiles: %+v", es)
	}
	ms, err := srv.SearchFiles(ctx, r, "*.dll")
	if err != nil || len(ms) != 1 || ms[0].Path != "/Windows/system32/kernel.dll" {
		t.Fatalf("SearchFiles: %+v %v", ms, err)
	}
	if _, err := srv.SearchFiles(ctx, r, "[bad"); err == nil {
		t.Error("SearchFiles accepted a bad pattern")
	}

	// An enabled image is refused; a disabled one gets a session, resumed
	// on the second call.
	if _, err := srv.ServiceImage(ctx, r); !errors.Is(err, ErrImageEnabled) {
		t.Fatalf("ServiceImage on an enabled image: %v", err)
	}
	if err := srv.SetEnabled(ctx, r, false); err != nil {
		t.Fatal(err)
	}
	ss, err := srv.ServiceImage(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	if err := ss.AddData("/Windows/added.txt", []byte("hello")); err != nil {
		t.Fatal(err)
	}
	again, err := srv.ServiceImage(ctx, r)
	if err != nil || again.ID != ss.ID || len(again.Changes) != 1 {
		t.Fatalf("ServiceImage did not resume the session: %+v %v", again, err)
	}
	es, err = SessionEntries(again, "/Windows")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Path)
	}
	if got := strings.Join(names, ","); got != "/Windows/added.txt,/Windows/own.txt,/Windows/system32" {
		t.Fatalf("SessionEntries: %s", got)
	}
	if _, err := SessionEntries(again, "/Nowhere"); err == nil {
		t.Error("SessionEntries listed a missing folder")
	}
	if err := again.Discard(); err != nil {
		t.Fatal(err)
	}

	// A server on the network is refused.
	remote := &Server{Name: "far", svc: &RemoteService{}}
	if _, err := remote.ListFiles(ctx, r, "/"); !errors.Is(err, ErrRemoteServicing) {
		t.Errorf("ListFiles on a remote server: %v", err)
	}
	if _, err := remote.ServiceImage(ctx, r); !errors.Is(err, ErrRemoteServicing) {
		t.Errorf("ServiceImage on a remote server: %v", err)
	}
}
