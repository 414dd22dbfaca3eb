// Package seaweedtest starts a real SeaweedFS (weed mini, through
// scripts/seaweedfs.sh) on free loopback ports for the image library's
// tests: once per test binary, stopped by Stop from TestMain.
//
// Without the weed binary in its cache the tests skip, unless
// WIMCONSOLE_ORACLE is set (make test): then the script builds it, and a
// failure to start fails the tests.
package seaweedtest

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/wimconsole/wimconsole/internal/oracle"
)

// Endpoint is a running SeaweedFS's S3 endpoint and the credentials it was
// started with.
type Endpoint struct {
	Addr                 string // 127.0.0.1:PORT
	AccessKey, SecretKey string
	Dir                  string // its data folder
}

var (
	once sync.Once
	ep   Endpoint
	err0 error
	dir  string
)

// script returns the path of scripts/seaweedfs.sh, found from the current
// folder up to the module's root.
func script() (string, error) {
	d, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return filepath.Join(d, "scripts", "seaweedfs.sh"), nil
		}
		up := filepath.Dir(d)
		if up == d {
			return "", fmt.Errorf("scripts/seaweedfs.sh: no go.mod above the test's folder")
		}
		d = up
	}
}

// cached reports whether the script's cache holds a weed binary.
func cached() bool {
	d := os.Getenv("WIMCONSOLE_SEAWEEDFS_CACHE")
	if d == "" {
		h, _ := os.UserHomeDir()
		d = filepath.Join(h, ".cache", "wimconsole-seaweedfs")
	}
	m, _ := filepath.Glob(filepath.Join(d, "weed-v*"))
	for _, p := range m {
		if !strings.Contains(filepath.Base(p), ".tmp") {
			return true
		}
	}
	return false
}

// freeBase returns a port P such that P..P+4 and P+10000..P+10004 are free
// on 127.0.0.1.
func freeBase() (int, error) {
	for range 50 {
		p := 15000 + rand.Intn(6000)
		ok := true
		var ls []net.Listener
		for _, q := range []int{p, p + 1, p + 2, p + 3, p + 4, p + 10000, p + 10001, p + 10002, p + 10003, p + 10004} {
			l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", q))
			if err != nil {
				ok = false
				break
			}
			ls = append(ls, l)
		}
		for _, l := range ls {
			l.Close()
		}
		if ok {
			return p, nil
		}
	}
	return 0, fmt.Errorf("no free ports for SeaweedFS on 127.0.0.1")
}

// ownedCommand runs seaweedfs.sh with args, telling it to end what it starts
// once this process is gone: a test binary killed before it stops its weed
// (a timeout, a panic) left the weed running, its ports held.
func ownedCommand(sc string, args ...string) *exec.Cmd {
	cmd := exec.Command("bash", append([]string{sc}, args...)...)
	cmd.Env = append(os.Environ(), fmt.Sprintf("WIMCONSOLE_SEAWEEDFS_OWNER=%d", os.Getpid()))
	return cmd
}

// StartIn starts a SeaweedFS with its data in folder d (stop it with
// StopIn) and returns its endpoint.
func StartIn(d string) (Endpoint, error) {
	sc, err := script()
	if err != nil {
		return Endpoint{}, err
	}
	port, err := freeBase()
	if err != nil {
		return Endpoint{}, err
	}
	cmd := ownedCommand(sc, "start", d, fmt.Sprint(port))
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return Endpoint{}, fmt.Errorf("seaweedfs.sh start: %v: %s", err, stderr.String())
	}
	e := Endpoint{Dir: d}
	s := bufio.NewScanner(&out)
	for s.Scan() {
		k, v, _ := strings.Cut(s.Text(), "=")
		switch k {
		case "endpoint":
			e.Addr = strings.TrimPrefix(v, "http://")
		case "AWS_ACCESS_KEY_ID":
			e.AccessKey = v
		case "AWS_SECRET_ACCESS_KEY":
			e.SecretKey = v
		}
	}
	if e.Addr == "" || e.AccessKey == "" {
		return Endpoint{}, fmt.Errorf("seaweedfs.sh start printed no endpoint or credentials: %q", out.String())
	}
	return e, nil
}

// StopIn ends the SeaweedFS started in folder d.
func StopIn(d string) {
	if sc, err := script(); err == nil {
		exec.Command("bash", sc, "stop", d).Run()
	}
}

// Start returns the test binary's SeaweedFS, starting it the first time;
// it skips t when weed is not built and oracles are not required.
func Start(t testing.TB) Endpoint {
	t.Helper()
	if !cached() && !oracle.Required() {
		t.Skip("SeaweedFS (weed) is not built: run scripts/seaweedfs.sh build, or set " + oracle.EnvRequired)
	}
	once.Do(func() {
		dir, err0 = os.MkdirTemp("", "wimconsole-weed-")
		if err0 == nil {
			ep, err0 = StartIn(dir)
		}
	})
	if err0 != nil {
		t.Fatal(err0)
	}
	return ep
}

// Stop ends the SeaweedFS Start started, if any, and removes its data.
func Stop() {
	if dir != "" {
		StopIn(dir)
		os.RemoveAll(dir)
	}
}

// StartSite starts a SeaweedFS of its own for test t (a second site),
// stopped when t ends.
func StartSite(t testing.TB) Endpoint {
	t.Helper()
	Start(t) // skips as Start does
	d := t.TempDir()
	e, err := StartIn(d)
	t.Cleanup(func() { StopIn(d) })
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// Sync replicates site a's buckets to site b with weed filer.sync, until b
// is stopped.
func Sync(t testing.TB, a, b Endpoint) {
	t.Helper()
	sc, err := script()
	if err != nil {
		t.Fatal(err)
	}
	if out, err := ownedCommand(sc, "sync", a.Dir, b.Dir).CombinedOutput(); err != nil {
		t.Fatalf("seaweedfs.sh sync: %v\n%s", err, out)
	}
}
