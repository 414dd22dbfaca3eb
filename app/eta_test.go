package app

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/wimconsole/wimconsole/engine/progress"
)

// TestEstimator drives the estimator with a synthetic clock: no estimate
// during the warm-up, below 2% of the work, or while stalled; after that,
// the time left at the rate of the last seconds, not the average since the
// start (a fast first burst must not promise an early end).
func TestEstimator(t *testing.T) {
	const MB = 1 << 20
	type obs struct {
		at   float64 // seconds
		done int64   // MB
	}
	// steady returns reports every half second at rate MB/s from 0 to end.
	steady := func(from, to float64, startDone, rate float64) []obs {
		var o []obs
		for s := from; s <= to+1e-9; s += 0.5 {
			o = append(o, obs{s, int64(startDone + (s-from)*rate)})
		}
		return o
	}
	for _, tc := range []struct {
		name  string
		total int64 // MB
		obs   []obs
		want  float64 // seconds left; <0: no estimate
	}{
		{"warm-up", 240, steady(0, 2.5, 0, 10), -1},
		{"below 2 percent", 1000, steady(0, 15, 0, 1), -1},
		{"steady", 240, steady(0, 60, 0, 1), 180},
		// 100 MB in the first 2 s (data read from cache), then 0.5 MB/s
		// of compression: the old average said about 30 s.
		{"burst then slow", 220, append(steady(0, 2, 0, 50), steady(2.5, 30, 100, 0.5)...), 212},
		{"stalled", 240, append(steady(0, 20, 0, 2), steady(20.5, 35, 40, 0)...), -1},
		{"finished", 240, []obs{{0, 0}, {5, 240}}, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var e Estimator
			t0 := time.Unix(1000, 0)
			var now time.Time
			for _, o := range tc.obs {
				now = t0.Add(time.Duration(o.at * float64(time.Second)))
				e.Observe(now, o.done*MB, tc.total*MB)
			}
			got, ok := e.ETA(now)
			if tc.want < 0 {
				if ok {
					t.Fatalf("estimate %v, want none", got)
				}
				return
			}
			if !ok {
				t.Fatal("no estimate")
			}
			if d := got.Seconds() - tc.want; d < -0.15*tc.want || d > 0.15*tc.want {
				t.Fatalf("%v left, want about %.0f s", got, tc.want)
			}
		})
	}
}

// TestJobStatusNoEarlyETA: a job's status gives no time left right after
// it starts, however far its first report says it is.
func TestJobStatusNoEarlyETA(t *testing.T) {
	js := NewJobs()
	reported := make(chan struct{})
	release := make(chan struct{})
	j := js.Start("Export x", func(_ context.Context, report progress.Func) error {
		report(progress.Report{Phase: "writing", Done: 25, Total: 100})
		close(reported)
		<-release
		return nil
	})
	<-reported
	st := j.Status()
	close(release)
	<-j.Done()
	if st.ETA >= 0 || strings.Contains(st.String(), "left") {
		t.Fatalf("status %q (ETA %v) right after the start", st, st.ETA)
	}
}
