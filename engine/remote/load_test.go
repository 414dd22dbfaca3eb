package remote

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wimconsole/wimconsole/engine/progress"
	"github.com/wimconsole/wimconsole/engine/store"
)

// TestLoadInstallSessions runs 50 install sessions of one image over TLS,
// with a Disable and a Replace in the middle: every session that started
// completes with the right tree, none starts after the Disable, the Replace
// happens after the last one ends, and nothing is lost. It reports
// throughput and the latency of an API call under the load.
func TestLoadInstallSessions(t *testing.T) {
	if testing.Short() {
		t.Skip("load test")
	}
	const sessions = 50
	// Its clients stand for as many machines: from one address they
	// would pass the bound of connections per address.
	ts := startServer(t, Options{NoWatch: true, MaxConnsPerAddr: 4 * sessions})
	admin := ts.client(t, "admin")
	treeA, treeB := baseTree("a"), baseTree("b")
	// 1 MiB that does not compress, so that the transfer is measurable.
	treeA["Users/Public/random.bin"] = randomString(1 << 20)
	treeB["Users/Public/random.bin"] = randomString(1<<20 + 1)
	srcA, srcB := makeWIM(t, treeA, "install"), makeWIM(t, treeB, "install")
	refs, err := admin.AddImage(bg, srcA, store.AddOptions{Group: "Load"})
	if err != nil {
		t.Fatal(err)
	}
	ref := refs[0]
	ctx, cancel := context.WithTimeout(bg, 60*time.Second)
	defer cancel()

	type result struct {
		asked    time.Time // when the session was asked for
		lastData time.Time // the client's last progress report (before it closes the session)
		bytes    int64
		err      error
		dest     string
	}
	results := make([]result, sessions)
	var wg sync.WaitGroup
	start := time.Now()
	// The disable falls in the middle whatever the machine's load: it
	// comes once a few sessions are downloading, and the second half of
	// the clients ask only after it (a fixed delay left every session on
	// one side of it on a loaded machine).
	const underWay = 5
	var downloading atomic.Int32
	sessionsUnderWay := make(chan struct{})
	disabledCh := make(chan struct{})
	for i := range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i < sessions/2 {
				time.Sleep(time.Duration(i) * 15 * time.Millisecond) // arrivals over 0.375 s
			} else {
				<-disabledCh
			}
			c := ts.client(t, "operator")
			r := &results[i]
			r.dest = filepath.Join(t.TempDir(), "d")
			var once sync.Once
			var mu sync.Mutex
			report := func(p progress.Report) {
				// A slow client: the session lasts a while.
				once.Do(func() {
					if downloading.Add(1) == underWay {
						close(sessionsUnderWay)
					}
					time.Sleep(300 * time.Millisecond)
				})
				mu.Lock()
				r.lastData = time.Now()
				if p.Phase == PhaseDownload {
					r.bytes = p.Done
				}
				mu.Unlock()
			}
			r.asked = time.Now()
			r.err = c.InstallImage(ctx, ref, r.dest, fmt.Sprintf("client-%d", i), report)
		}()
	}

	// API latency under load, bounded in count and time.
	var lat []time.Duration
	latDone := make(chan struct{})
	var stopLat atomic.Bool
	go func() {
		defer close(latDone)
		reader := ts.client(t, "reader")
		for n := 0; n < 2000 && !stopLat.Load() && ctx.Err() == nil; n++ {
			t0 := time.Now()
			if _, err := reader.ListImages(ctx, store.ListOptions{NoSpace: true}); err != nil {
				t.Errorf("list under load: %v", err)
				return
			}
			lat = append(lat, time.Since(t0))
			time.Sleep(5 * time.Millisecond)
		}
	}()

	// Disable in the middle, then Replace (it waits for the sessions).
	select {
	case <-sessionsUnderWay:
	case <-ctx.Done():
		close(disabledCh)
		t.Fatalf("fewer than %d sessions started downloading within the test's time", underWay)
	}
	no := false
	if err := admin.SetImage(ctx, ref, store.SetOptions{Enabled: &no}); err != nil {
		close(disabledCh)
		t.Fatal(err)
	}
	disabled := time.Now()
	close(disabledCh)
	if err := admin.ReplaceImage(ctx, ref, srcB, store.ReplaceOptions{Wait: 50 * time.Second}); err != nil {
		t.Fatal(err)
	}
	replaced := time.Now()
	wg.Wait()
	elapsed := time.Since(start)
	stopLat.Store(true)
	<-latDone

	var ok, refused int
	var bytes int64
	var lastEnd time.Time
	for i, r := range results {
		switch {
		case r.err == nil:
			ok++
			bytes += r.bytes
			if r.lastData.After(lastEnd) {
				lastEnd = r.lastData
			}
			if !r.asked.Before(disabled) {
				t.Errorf("session %d started after the disable", i)
			}
			sameTree(t, treeA, r.dest)
		case errors.Is(r.err, store.ErrImageDisabled):
			refused++
		default:
			t.Errorf("session %d: %v", i, r.err)
		}
		if r.err != nil {
			if ents, _ := os.ReadDir(r.dest); len(ents) > 0 {
				t.Errorf("refused session %d left files", i)
			}
		}
	}
	if ok+refused != sessions {
		t.Errorf("%d completed + %d refused != %d", ok, refused, sessions)
	}
	if ok == 0 || refused == 0 {
		t.Errorf("%d completed, %d refused: the disable did not fall in the middle", ok, refused)
	}
	if !replaced.After(lastEnd) {
		t.Errorf("replace finished at %v, before the last session ended at %v", replaced.Sub(start), lastEnd.Sub(start))
	}
	// Nothing lost: the store verifies, no session is left, and the
	// replaced image installs with the new tree once enabled.
	if ss, err := admin.Sessions(bg, ref); err != nil || len(ss) != 0 {
		t.Errorf("sessions left: %v %v", ss, err)
	}
	yes := true
	if err := admin.SetImage(bg, ref, store.SetOptions{Enabled: &yes}); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "after")
	if err := ts.client(t, "operator").InstallImage(bg, ref, out, "after", nil); err != nil {
		t.Fatal(err)
	}
	sameTree(t, treeB, out)
	if res, err := ts.st.VerifyStore(bg, "", nil); err != nil {
		t.Errorf("verify: %v %+v", err, res)
	}

	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(float64(len(lat))*p))]
	}
	t.Logf("%d sessions completed, %d refused after the disable; replace done %v after the last session's data (%v after start)",
		ok, refused, replaced.Sub(lastEnd).Round(time.Millisecond), replaced.Sub(start).Round(time.Millisecond))
	t.Logf("throughput: %.1f MB downloaded in %v = %.1f MB/s, %.1f sessions/s (each session includes a 300 ms slow-client pause)",
		float64(bytes)/1e6, elapsed.Round(time.Millisecond), float64(bytes)/1e6/elapsed.Seconds(), float64(ok)/elapsed.Seconds())
	t.Logf("GET /api/v1/images under load: %d calls, p50 %v, p99 %v, max %v",
		len(lat), pct(0.50).Round(time.Microsecond), pct(0.99).Round(time.Microsecond), pct(1).Round(time.Microsecond))
}
