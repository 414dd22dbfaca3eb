package cli

import (
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/wimconsole/wimconsole/app"
	"github.com/wimconsole/wimconsole/engine/progress"
)

// progressLine returns a progress.Func that draws a progress line on the
// terminal (stderr), and a function to finish it. The time left is the
// console's estimate (app.Estimator), not the bar's own. When stderr is not a
// terminal it reports nothing, so scripts and logs stay clean.
func progressLine(env *Env) (progress.Func, func()) {
	f, ok := env.Stderr.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil, func() {}
	}
	var (
		mu    sync.Mutex
		bar   *progressbar.ProgressBar
		phase string
		est   app.Estimator
		shown string
	)
	report := func(r progress.Report) {
		mu.Lock()
		defer mu.Unlock()
		if bar == nil || r.Phase != phase {
			if bar != nil {
				_ = bar.Finish()
			}
			phase = r.Phase
			est, shown = app.Estimator{}, r.Phase
			total := r.Total
			if total <= 0 {
				total = -1
			}
			bar = progressbar.NewOptions64(total,
				progressbar.OptionSetWriter(f),
				progressbar.OptionSetDescription(r.Phase),
				progressbar.OptionShowBytes(true),
				progressbar.OptionSetWidth(30),
				progressbar.OptionThrottle(100e6),
				progressbar.OptionClearOnFinish(),
				progressbar.OptionSetPredictTime(false),
			)
		}
		now := time.Now()
		est.Observe(now, r.Done, r.Total)
		desc := r.Phase
		if eta, ok := est.ETA(now); ok {
			desc += " (about " + app.FormatETA(eta) + " left)"
		}
		if desc != shown {
			shown = desc
			bar.Describe(desc)
		}
		_ = bar.Set64(r.Done)
	}
	done := func() {
		mu.Lock()
		defer mu.Unlock()
		if bar != nil {
			_ = bar.Finish()
		}
	}
	return report, done
}
