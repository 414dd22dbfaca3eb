package cli

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wimconsole/wimconsole/engine/remote"
	"github.com/wimconsole/wimconsole/engine/wim"
)

// TestServeAndRemoteCommands runs `serve` on 127.0.0.1 (TLS, a random port)
// and drives the store commands against it with --server, --token and
// --fingerprint.
func TestServeAndRemoteCommands(t *testing.T) {
	st := filepath.Join(t.TempDir(), "RemoteInstall")
	lastWord := func(s string) string {
		f := strings.Fields(s)
		return f[len(f)-1]
	}
	code, out, errOut := run(t, "--store", st, "token", "create", "--role", "admin", "--label", "test")
	if code != 0 {
		t.Fatalf("token create: %d %s%s", code, out, errOut)
	}
	admin := lastWord(out)
	_, out, _ = run(t, "--store", st, "token", "create", "--role", "operator", "--group", "Win")
	operator := lastWord(out)
	_, out, _ = run(t, "--store", st, "token", "list")
	if strings.Contains(out, admin) || !strings.Contains(out, "operator") || !strings.Contains(out, "Win") {
		t.Errorf("token list:\n%s", out)
	}
	if code, _, _ := run(t, "--store", st, "token", "create", "--role", "root"); code != ExitUsage {
		t.Errorf("token create --role root: exit %d", code)
	}

	urls := make(chan string, 1)
	stop := make(chan struct{})
	serveListening = func(u string) { urls <- u }
	serveStop = stop
	defer func() { serveListening, serveStop = nil, nil }()
	var sout, serr strings.Builder
	done := make(chan int, 1)
	go func() {
		done <- Execute([]string{"--store", st, "serve", "--listen", "127.0.0.1:0", "--quiet"}, &Env{Stdout: &sout, Stderr: &serr})
	}()
	var url string
	select {
	case url = <-urls:
	case code := <-done:
		t.Fatalf("serve ended: %d %s", code, serr.String())
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not start")
	}
	defer func() {
		close(stop)
		if code := <-done; code != 0 {
			t.Errorf("serve exit %d: %s", code, serr.String())
		}
	}()
	fp := ""
	for _, line := range strings.Split(sout.String(), "\n") {
		if strings.HasPrefix(line, "certificate fingerprint") {
			fp = lastWord(line)
		}
	}
	if fp == "" {
		t.Fatalf("serve printed no fingerprint:\n%s", sout.String())
	}
	remote := func(want int, token string, args ...string) string {
		t.Helper()
		code, out, errOut := run(t, append([]string{"--server", url, "--token", token, "--fingerprint", fp}, args...)...)
		if code != want {
			t.Fatalf("%v: exit %d, want %d\n%s%s", args, code, want, out, errOut)
		}
		return out + errOut
	}
	tree := writeTree(t, "r1")
	src := filepath.Join(t.TempDir(), "install.wim")
	if _, err := wim.Capture(context.Background(), tree, src, wim.CaptureOptions{Compression: wim.XPRESS}); err != nil {
		t.Fatal(err)
	}
	remote(0, admin, "add-image-group", "Win")
	remote(0, admin, "add-image", src, "--group", "Win")
	out = remote(0, operator, "get-all-images", "--json")
	var ims []map[string]any
	if err := json.Unmarshal([]byte(out), &ims); err != nil || len(ims) != 1 || ims[0]["image"] != "Win/install" {
		t.Fatalf("get-all-images --json: %v\n%s", err, out)
	}
	out = remote(1, operator, "set-image", "Win/install", "--enabled", "no")
	if !strings.Contains(out, "needs admin") {
		t.Errorf("operator set-image: %s", out)
	}
	remote(0, admin, "set-image", "Win/install", "--enabled", "no")
	out = remote(1, operator, "install-image", "Win/install", filepath.Join(t.TempDir(), "x"))
	if !strings.Contains(out, "disabled") {
		t.Errorf("install of a disabled image: %s", out)
	}
	remote(0, admin, "set-image", "Win/install", "--enabled", "yes")
	dest := filepath.Join(t.TempDir(), "inst")
	remote(0, operator, "install-image", "Win/install", dest)
	sameFiles(t, tree, dest)
	exp := filepath.Join(t.TempDir(), "e.wim")
	remote(0, operator, "export-image", "Win/install", exp)
	remote(0, admin, "copy-image", "Win/install", "--filename", "copy")
	out = remote(0, admin, "get-image", "Win/copy")
	if !strings.Contains(out, "enabled") {
		t.Errorf("get-image:\n%s", out)
	}
	remote(0, operator, "verify-store", "Win")
	remote(0, admin, "space", "--json")
	remote(0, admin, "remove-image", "Win/copy")
	remote(0, admin, "regroup", "Win")
	remote(0, admin, "get-all-image-groups")
	// Wrong token, no token, wrong fingerprint, and a local-only command.
	out = remote(1, "wct_nope", "get-all-images")
	if !strings.Contains(out, "not known") {
		t.Errorf("wrong token: %s", out)
	}
	t.Setenv("WIMCONSOLE_TOKEN", "")
	if code, _, errOut := run(t, "--server", url, "get-all-images"); code != ExitUsage || !strings.Contains(errOut, "token") {
		t.Errorf("no token: %d %s", code, errOut)
	}
	code, _, errOut = run(t, "--server", url, "--token", admin, "get-all-images")
	if code != 1 || !strings.Contains(errOut, fp) {
		t.Errorf("untrusted certificate: %d %s (want the fingerprint in the message)", code, errOut)
	}
	if code, _, _ := run(t, "--server", url, "--token", admin, "--fingerprint", fp, "info", src); code != ExitUsage {
		t.Errorf("info --server: exit %d", code)
	}
	t.Setenv("WIMCONSOLE_TOKEN", admin)
	run(t, "--server", url, "--fingerprint", fp, "set-image-group", "Win", "--name", "Win2")
	remote(0, admin, "remove-image-group", "Win2", "--force")
}

// TestRemoteCommandsCloseTheirConnections runs more --server commands, one
// after another, than the server lets one address hold connections
// (remote.DefaultMaxConnsPerAddr): each command must leave none open
// behind it, or a script that runs many commands is refused part way.
func TestRemoteCommandsCloseTheirConnections(t *testing.T) {
	root := filepath.Join(t.TempDir(), "RemoteInstall")
	url, fp, token := startRemote(t, root)
	for i := range remote.DefaultMaxConnsPerAddr + 8 {
		code, _, errOut := run(t, "--server", url, "--token", token, "--fingerprint", fp, "get-all-images")
		if code != 0 {
			t.Fatalf("command %d: exit %d: %s", i+1, code, errOut)
		}
	}
}
