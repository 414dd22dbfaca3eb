package main

import (
	"errors"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/wimconsole/wimconsole/app"
)

// TestNativeDialogsRunOnOneThread: dialogs asked for from many goroutines
// at once all run on the same OS thread, one at a time.
func TestNativeDialogsRunOnOneThread(t *testing.T) {
	d := &nativeDialogs{}
	var (
		mu      sync.Mutex
		threads = map[int]bool{}
		open    atomic.Int32
		wg      sync.WaitGroup
	)
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := d.run(func() error {
				if open.Add(1) != 1 {
					t.Error("two dialogs open at once")
				}
				defer open.Add(-1)
				mu.Lock()
				threads[syscall.Gettid()] = true
				mu.Unlock()
				return nil
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if len(threads) != 1 {
		t.Errorf("dialogs ran on %d threads, want 1", len(threads))
	}
}

// TestNativeDialogsRememberToolkitFailure: sqweek/dialog's panic when GTK
// cannot start becomes app.ErrNoNativeDialogs, and GTK is not tried again.
func TestNativeDialogsRememberToolkitFailure(t *testing.T) {
	d := &nativeDialogs{}
	tries := 0
	show := func() error {
		tries++
		panic("gtk initialisation failed; presumably no X server is available")
	}
	for i := range 3 {
		err := d.run(show)
		if !errors.Is(err, app.ErrNoNativeDialogs) {
			t.Fatalf("call %d: error %v, want app.ErrNoNativeDialogs", i, err)
		}
	}
	if tries != 1 {
		t.Errorf("GTK tried %d times, want once", tries)
	}
	if _, err := d.PickFolder("x"); !errors.Is(err, app.ErrNoNativeDialogs) {
		t.Errorf("PickFolder after the failure: %v", err)
	}
}
