package app

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/wimconsole/wimconsole/engine/progress"
)

// TestJobCancelledState: a job stopped by Cancel ends cancelled (its error
// wraps context.Canceled), not failed; a job that fails, or finishes before
// Cancel can stop it, says so.
func TestJobCancelledState(t *testing.T) {
	for _, tc := range []struct {
		name   string
		cancel bool
		fn     func(ctx context.Context) error
		want   JobState
	}{
		{"cancel, ctx error", true, func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }, JobCancelled},
		{"cancel, wrapped", true, func(ctx context.Context) error {
			<-ctx.Done()
			return fmt.Errorf("exporting x.wim: %w", ctx.Err())
		}, JobCancelled},
		{"cancel, done anyway", true, func(ctx context.Context) error { <-ctx.Done(); return nil }, JobDone},
		{"failure", false, func(context.Context) error { return errors.New("disk full") }, JobFailed},
		{"success", false, func(context.Context) error { return nil }, JobDone},
		{"panic", false, func(context.Context) error { panic("boom") }, JobFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			js := NewJobs()
			started := make(chan struct{})
			j := js.Start("Export x", func(ctx context.Context, _ progress.Func) error {
				close(started)
				return tc.fn(ctx)
			})
			<-started
			if tc.cancel {
				j.Cancel()
			}
			<-j.Done()
			if got := j.State(); got != tc.want {
				t.Fatalf("state %v, want %v (err %v)", got, tc.want, j.Err())
			}
			err := j.Err()
			switch tc.want {
			case JobCancelled:
				if !errors.Is(err, context.Canceled) || !IsCancelled(err) {
					t.Errorf("err %v does not say cancelled", err)
				}
			case JobFailed:
				if err == nil || IsCancelled(err) {
					t.Errorf("err %v", err)
				}
			case JobDone:
				if err != nil {
					t.Errorf("err %v", err)
				}
			}
		})
	}
}
