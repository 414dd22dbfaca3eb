package inftest

import (
	"testing"

	"github.com/wimconsole/wimconsole/engine/servicing/inf"
)

func TestFilesPassTheChecks(t *testing.T) {
	res, err := inf.CheckPackage(Write(t, "contoso", Files("contoso")))
	if err != nil {
		t.Fatal(err)
	}
	if !res.OK() || len(res.Problems) != 0 || len(res.INFs) != 1 || res.INFs[0] != "contoso.inf" {
		t.Fatalf("check: %+v", res)
	}
	res, err = inf.CheckPackage(Write(t, "bad", map[string]string{"bad.inf": Malformed}))
	if err != nil {
		t.Fatal(err)
	}
	if res.OK() {
		t.Fatal("the malformed INF passed the checks")
	}
}
