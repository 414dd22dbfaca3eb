package views

import (
	"context"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/wimconsole/wimconsole/app"
	"github.com/wimconsole/wimconsole/engine/progress"
)

// jobRow shows one running job: its title, a bar, phase, percent, bytes and
// time left, and a Cancel button.
type jobRow struct {
	job    *app.Job
	bar    *widget.ProgressBar
	detail *widget.Label
	cancel *widget.Button
	box    fyne.CanvasObject
}

func newJobRow(j *app.Job) *jobRow {
	r := &jobRow{job: j, bar: widget.NewProgressBar(), detail: widget.NewLabel("")}
	r.cancel = widget.NewButtonWithIcon("Cancel", theme.CancelIcon(), func() {
		j.Cancel()
		r.cancel.Disable()
		r.cancel.SetText("Cancelling…")
		r.detail.SetText("Cancelling…")
	})
	title := widget.NewLabel(j.Title())
	title.TextStyle.Bold = true
	r.box = container.NewBorder(nil, nil, title, r.cancel, container.NewVBox(r.bar, r.detail))
	return r
}

func (r *jobRow) update() {
	st := r.job.Status()
	r.bar.SetValue(st.Fraction)
	if st.Cancelled {
		r.detail.SetText("Cancelling…")
		return
	}
	r.detail.SetText(st.String())
}

// showJobs brings the job panel and the status bar up to date.
func (c *Console) showJobs() {
	running := c.jobs.Running()
	live := map[*app.Job]bool{}
	changed := false
	for _, j := range running {
		live[j] = true
		r, ok := c.jobRows[j]
		if !ok {
			r = newJobRow(j)
			c.jobRows[j] = r
			c.jobBox.Add(r.box)
			changed = true
		}
		r.update()
	}
	for j, r := range c.jobRows {
		if !live[j] {
			c.jobBox.Remove(r.box)
			delete(c.jobRows, j)
			changed = true
		}
	}
	if changed {
		c.jobBox.Refresh()
	}
	c.jobStatus.SetText(c.jobSummary())
}

// jobSummary is the job status line: the running jobs, or else how the last
// job ended when it was cancelled.
func (c *Console) jobSummary() string {
	if s := c.jobs.Summary(); s != "" {
		return s
	}
	return c.jobNote
}

// runJob runs fn as a job titled title. When it ends, the model is reloaded
// (in the job's goroutine) and then, on the main goroutine, the window is
// redrawn, an error shown as a dialog (a cancelled job only says
// "Cancelled" in the job status line), and done called (when not nil) with
// the job's error.
func (c *Console) runJob(title string, fn func(ctx context.Context, report progress.Func) error, done func(err error)) *app.Job {
	j := c.jobs.Start(title, fn)
	c.background(func() func() {
		<-j.Done()
		c.model.Refresh()
		return func() {
			err := j.Err()
			c.jobNote = ""
			if j.State() == app.JobCancelled {
				c.jobNote = title + ": Cancelled"
			}
			c.showJobs()
			c.redraw()
			if err != nil && j.State() != app.JobCancelled {
				c.showError(title, err)
			}
			if done != nil {
				done(err)
			}
		}
	})
	return j
}
