package cli

import (
	"context"
	"net"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wimconsole/wimconsole/engine/remote"
	"github.com/wimconsole/wimconsole/engine/store"
	"github.com/wimconsole/wimconsole/internal/oracle"
)

// startRemote serves the store at root on 127.0.0.1 (TLS, a random port)
// and returns its address, fingerprint and an admin token.
func startRemote(t *testing.T, root string) (url, fp, token string) {
	t.Helper()
	st, err := store.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := remote.NewServer(st, remote.Options{NoWatch: true})
	if err != nil {
		t.Fatal(err)
	}
	cert, err := remote.LoadOrCreateCert(root)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- remote.Serve(ctx, srv, l, &cert) }()
	t.Cleanup(func() {
		cancel()
		<-done
		srv.Close()
	})
	token, _, err = srv.Tokens().Create(remote.RoleAdmin, nil, "test")
	if err != nil {
		t.Fatal(err)
	}
	return "https://" + l.Addr().String(), remote.CertFingerprint(cert), token
}

// TestCopyImageGroup copies a local group to a server, then from that
// server (pushing) to another, and checks the copies with wimlib-imagex.
func TestCopyImageGroup(t *testing.T) {
	oracle.Wimlib(t)
	local := filepath.Join(t.TempDir(), "RemoteInstall")
	tree := writeTree(t, "cg")
	src := filepath.Join(t.TempDir(), "install.wim")
	oracle.Run(t, "capture", tree, src, "One")
	tree2 := writeTree(t, "cg2")
	oracle.Run(t, "append", tree2, src, "Two")
	do := func(want int, args ...string) string {
		t.Helper()
		code, out, errOut := run(t, args...)
		if code != want {
			t.Fatalf("%v: exit %d, want %d\n%s%s", args, code, want, out, errOut)
		}
		return out + errOut
	}
	do(0, "--store", local, "add-image", src, "--group", "Win")

	rootA := filepath.Join(t.TempDir(), "A")
	rootB := filepath.Join(t.TempDir(), "B")
	urlA, fpA, tokA := startRemote(t, rootA)
	urlB, fpB, tokB := startRemote(t, rootB)

	do(2, "--store", local, "copy-image-group", "Win", "--to", urlA)
	do(1, "--store", local, "copy-image-group", "Win", "--to", urlA, "--to-token", "wrong", "--to-fingerprint", fpA)
	out := do(0, "--store", local, "copy-image-group", "Win", "--to", urlA, "--to-token", tokA, "--to-fingerprint", fpA, "--as", "Copied")
	if !strings.Contains(out, "copied Copied/install\n") || !strings.Contains(out, "copied Copied/install-(2)\n") {
		t.Fatalf("copy-image-group:\n%s", out)
	}
	out = do(0, "--store", local, "copy-image-group", "Win", "--to", urlA, "--to-token", tokA, "--to-fingerprint", fpA, "--as", "Copied")
	if !strings.Contains(out, ": 0 of ") || !strings.Contains(out, "skipped") {
		t.Fatalf("second copy-image-group sent data again:\n%s", out)
	}
	// From server A (which pushes) to server B.
	out = do(0, "--server", urlA, "--token", tokA, "--fingerprint", fpA, "copy-image-group", "Copied", "--to", urlB, "--to-token", tokB, "--to-fingerprint", fpB)
	if !strings.Contains(out, "copied Copied/install") {
		t.Fatalf("copy-image-group --server:\n%s", out)
	}
	for i, name := range []string{"install", "install-(2)"} {
		dir := filepath.Join(t.TempDir(), name)
		g := filepath.Join(rootB, store.ImagesDir, "Copied")
		oracle.Run(t, "apply", filepath.Join(g, name+".wim"), "1", dir, "--ref", filepath.Join(g, store.ResFile))
		want := tree
		if i == 1 {
			want = tree2
		}
		sameFiles(t, want, dir)
	}
	do(0, "--store", rootB, "verify-store")
}
