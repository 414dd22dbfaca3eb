package library

import (
	"fmt"
	"math/rand"
	"os"
	"testing"
	"time"

	"github.com/wimconsole/wimconsole/internal/seaweedtest"
)

// testLibrary returns a library in a bucket of its own on the test
// binary's SeaweedFS.
func testLibrary(t testing.TB) *Library {
	t.Helper()
	e := seaweedtest.Start(t)
	l, err := Open(Config{
		Endpoint:  e.Addr,
		AccessKey: e.AccessKey,
		SecretKey: e.SecretKey,
		Bucket:    fmt.Sprintf("t%d-%d", time.Now().UnixNano()%1e9, rand.Intn(1e6)),
		Prefix:    "lib",
	})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestMain(m *testing.M) {
	if op := os.Getenv(envKillOp); op != "" {
		os.Exit(killChild(op))
	}
	code := m.Run()
	seaweedtest.Stop()
	os.Exit(code)
}
