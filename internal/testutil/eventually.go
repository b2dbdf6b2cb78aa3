// Package testutil holds the helpers that tests of every package share.
// It is imported only by tests (and by test servers such as
// server/smtptest); the program never uses it.
package testutil

import (
	"testing"
	"time"
)

// Eventually polls cond until it returns nil, and fails the test with
// what and cond's last error once timeout has passed. It is the one way
// our tests wait for something that happens on another goroutine or in
// another process: a bounded poll of a condition, never a bare sleep.
//
// The polls start 2 ms apart and back off to 50 ms, so a condition that
// holds quickly costs little and a slow one does not spin.
func Eventually(tb testing.TB, timeout time.Duration, what string, cond func() error) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	pause := 2 * time.Millisecond
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("waiting for %s: still not so after %s: %v", what, timeout, err)
		}
		time.Sleep(pause)
		pause = min(2*pause, 50*time.Millisecond)
	}
}
