package remote

import (
	"context"
	"crypto/tls"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wimconsole/wimconsole/engine/progress"
	"github.com/wimconsole/wimconsole/engine/store"
	"github.com/wimconsole/wimconsole/engine/store/storetest"
	"github.com/wimconsole/wimconsole/engine/wim"
)

// The tree helpers shared with the store's tests.
var (
	writeTree = storetest.WriteTree
	baseTree  = storetest.BaseTree
	sameTree  = storetest.SameTree
)

// testServer is a server of a new store on 127.0.0.1, over TLS.
type testServer struct {
	srv    *Server
	st     *store.Store
	url    string
	fp     string
	tokens map[string]string // "admin", "operator", "reader" -> token
}

func startServer(t testing.TB, o Options) *testServer {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "RemoteInstall"))
	if err != nil {
		t.Fatal(err)
	}
	return serveStore(t, st, o, true)
}

func serveStore(t testing.TB, st *store.Store, o Options, useTLS bool) *testServer {
	t.Helper()
	srv, err := NewServer(st, o)
	if err != nil {
		t.Fatal(err)
	}
	var cert *tls.Certificate
	ts := &testServer{srv: srv, st: st, tokens: map[string]string{}}
	if useTLS {
		c, err := LoadOrCreateCert(st.Root())
		if err != nil {
			t.Fatal(err)
		}
		cert = &c
		ts.fp = CertFingerprint(c)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, srv, l, cert) }()
	t.Cleanup(func() {
		cancel()
		<-done
		srv.Close()
	})
	scheme := "http"
	if useTLS {
		scheme = "https"
	}
	ts.url = scheme + "://" + l.Addr().String()
	for _, r := range []Role{RoleAdmin, RoleOperator, RoleReader} {
		secret, _, err := srv.Tokens().Create(r, nil, "test "+string(r))
		if err != nil {
			t.Fatal(err)
		}
		ts.tokens[string(r)] = secret
	}
	return ts
}

func (ts *testServer) client(t testing.TB, role string) *Client {
	t.Helper()
	tok := ts.tokens[role]
	if tok == "" {
		tok = role // a raw token
	}
	c, err := NewClient(ts.url, ClientOptions{Token: tok, Fingerprint: ts.fp, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// makeWIM captures a tree as a new WIM file named name.wim.
func makeWIM(t testing.TB, files map[string]string, name string) string {
	t.Helper()
	dir := writeTree(t, files)
	out := filepath.Join(t.TempDir(), name+".wim")
	if _, err := wim.Capture(context.Background(), dir, out, wim.CaptureOptions{Name: name, Compression: wim.XPRESS}); err != nil {
		t.Fatal(err)
	}
	return out
}

// storeFiles lists the files of the store (without the server's work
// folders and lock files), with sizes, to see that nothing changed.
func storeFiles(t testing.TB, root string) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if strings.HasPrefix(rel, "WdsConsole/") || rel == "WdsConsole" {
			return nil
		}
		if fi.Mode().IsRegular() {
			out[rel] = fi.Size()
		} else {
			out[rel+"/"] = 0
		}
		return nil
	})
	return out
}

// workFilesLeft lists what is left in the server's upload folder.
func workFilesLeft(t testing.TB, root string) []string {
	t.Helper()
	ents, _ := os.ReadDir(filepath.Join(root, store.ConsoleDir, uploadsDir))
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

type progressReport = progress.Report
