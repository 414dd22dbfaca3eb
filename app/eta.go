package app

import (
	"fmt"
	"time"
)

// Estimator gives the time left of a job from its measured rate: the bytes
// done over a sliding window of the last reports, after a warm-up. It says
// nothing rather than something wrong: no estimate during the first
// etaWarmup of work or before etaMinFraction of it is done, nor while no
// progress is being made. Estimates are smoothed so that the figure shown
// does not jump with every report. Not safe for concurrent use.
type Estimator struct {
	start   time.Time
	started bool
	samples []etaSample // within etaWindow of the newest, oldest first
	eta     time.Duration
	etaAt   time.Time
	have    bool
}

type etaSample struct {
	t    time.Time
	done int64
}

const (
	etaWarmup      = 3 * time.Second
	etaMinFraction = 0.02
	etaWindow      = 10 * time.Second
	etaSmoothing   = 0.3 // weight of a new estimate against the previous one
)

// Observe records that done bytes of total were done at now.
func (e *Estimator) Observe(now time.Time, done, total int64) {
	if !e.started {
		e.start, e.started = now, true
	}
	e.samples = append(e.samples, etaSample{now, done})
	// Keep one sample at or beyond the window's start, so the rate spans
	// the whole window.
	k := 0
	for k+1 < len(e.samples) && now.Sub(e.samples[k+1].t) >= etaWindow {
		k++
	}
	e.samples = e.samples[k:]
	eta, ok := e.measure(now, done, total)
	if !ok {
		e.have = false
		return
	}
	if e.have {
		prev := e.eta - now.Sub(e.etaAt)
		eta = time.Duration(etaSmoothing*float64(eta) + (1-etaSmoothing)*float64(max(prev, 0)))
	}
	e.eta, e.etaAt, e.have = eta, now, true
}

// measure is the unsmoothed estimate at now, when one can be given.
func (e *Estimator) measure(now time.Time, done, total int64) (time.Duration, bool) {
	if total <= 0 || done >= total || now.Sub(e.start) < etaWarmup || float64(done) < etaMinFraction*float64(total) {
		return 0, false
	}
	first := e.samples[0]
	span := now.Sub(first.t)
	if span < time.Second || done <= first.done {
		return 0, false // too short a window, or stalled
	}
	rate := float64(done-first.done) / span.Seconds()
	return time.Duration(float64(total-done) / rate * float64(time.Second)), true
}

// ETA returns the time left at now, and false when there is no estimate.
func (e *Estimator) ETA(now time.Time) (time.Duration, bool) {
	if !e.have {
		return 0, false
	}
	return max(e.eta-now.Sub(e.etaAt), 0), true
}

// FormatETA says a time left in words ("12 s", "3 min 5 s", "1 h 4 min").
func FormatETA(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%d s", int(d.Seconds()+0.5))
	case d < time.Hour:
		return fmt.Sprintf("%d min %d s", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%d h %d min", int(d.Hours()), int(d.Minutes())%60)
}
