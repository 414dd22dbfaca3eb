package app

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/wimconsole/wimconsole/engine/progress"
)

// Jobs runs long actions in goroutines, each with a context to cancel it and
// progress reports to show. It is safe for concurrent use.
type Jobs struct {
	mu       sync.Mutex
	next     int
	running  map[int]*Job
	onChange func()
	interval time.Duration
}

// NewJobs returns an empty job list.
func NewJobs() *Jobs {
	return &Jobs{running: map[int]*Job{}, interval: 100 * time.Millisecond}
}

// SetOnChange sets the function called when a job starts, reports progress
// (at most ten times a second per job) or ends. It is called from the job's
// goroutine: a GUI hands it to its main goroutine.
func (js *Jobs) SetOnChange(f func()) {
	js.mu.Lock()
	js.onChange = f
	js.mu.Unlock()
}

func (js *Jobs) changed() {
	js.mu.Lock()
	f := js.onChange
	js.mu.Unlock()
	if f != nil {
		f()
	}
}

// Start runs fn in a new goroutine as the job title. fn gets the job's
// context, cancelled by Cancel, and a progress function.
func (js *Jobs) Start(title string, fn func(ctx context.Context, report progress.Func) error) *Job {
	ctx, cancel := context.WithCancel(context.Background())
	now := time.Now()
	j := &Job{title: title, cancel: cancel, done: make(chan struct{}), started: now, phaseStart: now, jobs: js}
	js.mu.Lock()
	js.next++
	j.id = js.next
	js.running[j.id] = j
	js.mu.Unlock()
	js.changed()
	go func() {
		err := runJobFunc(ctx, fn, j.report)
		state := JobDone
		switch {
		case err == nil:
			// Done, even if Cancel came too late to stop it: the work
			// is there.
		case errors.Is(err, context.Canceled):
			state = JobCancelled
			err = &cancelledError{title: title}
		default:
			state = JobFailed
		}
		j.mu.Lock()
		j.err, j.finished, j.state = err, true, state
		j.mu.Unlock()
		js.mu.Lock()
		delete(js.running, j.id)
		js.mu.Unlock()
		cancel()
		js.changed()
		close(j.done)
	}()
	return j
}

// runJobFunc calls fn, turning a panic into an error.
func runJobFunc(ctx context.Context, fn func(ctx context.Context, report progress.Func) error, report progress.Func) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("internal error: %v", r)
		}
	}()
	return fn(ctx, report)
}

// JobState says where a job stands.
type JobState int

// Job states.
const (
	JobRunning   JobState = iota
	JobDone               // ended without an error
	JobFailed             // ended with an error (Err)
	JobCancelled          // stopped by Cancel; Err wraps context.Canceled
)

func (s JobState) String() string {
	switch s {
	case JobRunning:
		return "Running"
	case JobDone:
		return "Done"
	case JobFailed:
		return "Failed"
	case JobCancelled:
		return "Cancelled"
	}
	return fmt.Sprintf("JobState(%d)", int(s))
}

// cancelledError is the error of a job stopped by Cancel.
type cancelledError struct{ title string }

func (e *cancelledError) Error() string { return e.title + ": cancelled" }
func (e *cancelledError) Unwrap() error { return context.Canceled }

// IsCancelled reports whether err is the error of a job (or an operation)
// stopped by Cancel rather than a failure.
func IsCancelled(err error) bool { return errors.Is(err, context.Canceled) }

// Running returns the jobs that have not ended, oldest first.
func (js *Jobs) Running() []*Job {
	js.mu.Lock()
	defer js.mu.Unlock()
	out := make([]*Job, 0, len(js.running))
	for _, j := range js.running {
		out = append(out, j)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].id < out[b].id })
	return out
}

// CancelAll cancels every running job.
func (js *Jobs) CancelAll() {
	for _, j := range js.Running() {
		j.Cancel()
	}
}

// Wait waits for every running job to end.
func (js *Jobs) Wait() {
	for {
		r := js.Running()
		if len(r) == 0 {
			return
		}
		for _, j := range r {
			<-j.Done()
		}
	}
}

// Summary is a one-line description of the running jobs for a status bar
// ("" when none runs).
func (js *Jobs) Summary() string {
	r := js.Running()
	switch len(r) {
	case 0:
		return ""
	case 1:
		return "1 job running: " + r[0].Title()
	}
	return fmt.Sprintf("%d jobs running", len(r))
}

// Job is one long action.
type Job struct {
	id     int
	title  string
	cancel context.CancelFunc
	done   chan struct{}
	jobs   *Jobs

	mu          sync.Mutex
	started     time.Time
	phase       string
	phaseStart  time.Time
	doneBytes   int64
	totalBytes  int64
	eta         Estimator // of the current phase
	lastNotify  time.Time
	err         error
	finished    bool
	state       JobState
	cancelAsked bool
}

// State returns where the job stands: running, done, failed or cancelled.
func (j *Job) State() JobState {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.state
}

// Title returns what the job does.
func (j *Job) Title() string { return j.title }

// Cancel asks the job to stop.
func (j *Job) Cancel() {
	j.mu.Lock()
	j.cancelAsked = true
	j.mu.Unlock()
	j.cancel()
}

// Done is closed when the job has ended.
func (j *Job) Done() <-chan struct{} { return j.done }

// Err returns the job's error once it has ended (nil on success; one that
// IsCancelled when the job was cancelled).
func (j *Job) Err() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.err
}

func (j *Job) report(r progress.Report) {
	now := time.Now()
	j.mu.Lock()
	if r.Phase != j.phase {
		j.phase, j.phaseStart = r.Phase, now
		j.eta = Estimator{}
	}
	j.eta.Observe(now, r.Done, r.Total)
	j.doneBytes, j.totalBytes = r.Done, r.Total
	notify := now.Sub(j.lastNotify) >= j.jobs.interval || (r.Total > 0 && r.Done >= r.Total)
	if notify {
		j.lastNotify = now
	}
	j.mu.Unlock()
	if notify {
		j.jobs.changed()
	}
}

// JobStatus is a snapshot of a job's progress.
type JobStatus struct {
	Title     string
	Phase     string
	Done      int64
	Total     int64 // 0 when unknown
	Fraction  float64
	Elapsed   time.Duration
	ETA       time.Duration // -1 when unknown
	Finished  bool
	Cancelled bool // Cancel was called
	Err       error
}

// Status returns the job's progress now.
func (j *Job) Status() JobStatus {
	j.mu.Lock()
	defer j.mu.Unlock()
	now := time.Now()
	st := JobStatus{Title: j.title, Phase: j.phase, Done: j.doneBytes, Total: j.totalBytes,
		Elapsed: now.Sub(j.started), ETA: -1, Finished: j.finished, Cancelled: j.cancelAsked, Err: j.err}
	if j.totalBytes > 0 {
		st.Fraction = min(1, float64(j.doneBytes)/float64(j.totalBytes))
		if eta, ok := j.eta.ETA(now); ok {
			st.ETA = eta
		}
	}
	return st
}

// String describes the status on one line: phase, percent, bytes and time
// left ("adding file data: 42% · 120 MB of 300 MB · about 12 s left").
func (st JobStatus) String() string {
	phase := st.Phase
	if phase == "" {
		phase = "starting"
	}
	if st.Total <= 0 {
		if st.Done > 0 {
			return fmt.Sprintf("%s: %s", phase, FormatBytes(st.Done))
		}
		return phase
	}
	s := fmt.Sprintf("%s: %d%% · %s of %s", phase, int(st.Fraction*100), FormatBytes(st.Done), FormatBytes(st.Total))
	if st.ETA >= 0 && st.Done < st.Total {
		s += " · about " + FormatETA(st.ETA) + " left"
	}
	return s
}
