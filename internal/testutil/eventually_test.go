package testutil

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// recorder is a testing.TB whose Fatalf records the failure and ends its
// goroutine, as the real one does, without failing the test that runs it.
type recorder struct {
	testing.TB
	failed string
}

func (r *recorder) Helper() {}

func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// run calls Eventually on a recorder in a goroutine of its own, so that
// its Fatalf can end that goroutine, and returns the failure, if any.
func run(timeout time.Duration, what string, cond func() error) string {
	r := &recorder{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		Eventually(r, timeout, what, cond)
	}()
	<-done
	return r.failed
}

func TestEventuallyReturnsOnceTheConditionHolds(t *testing.T) {
	var polls atomic.Int64
	failed := run(10*time.Second, "the third poll", func() error {
		if polls.Add(1) < 3 {
			return errors.New("not yet")
		}
		return nil
	})
	if failed != "" || polls.Load() != 3 {
		t.Errorf("failed %q after %d polls; want success on the third", failed, polls.Load())
	}
}

func TestEventuallyFailsWithTheLastReason(t *testing.T) {
	var polls atomic.Int64
	failed := run(20*time.Millisecond, "the impossible", func() error {
		return fmt.Errorf("poll %d says no", polls.Add(1))
	})
	want := fmt.Sprintf("waiting for the impossible: still not so after 20ms: poll %d says no", polls.Load())
	if failed != want || polls.Load() < 2 {
		t.Errorf("failed %q after %d polls; want %q after several", failed, polls.Load(), want)
	}
	if !strings.Contains(failed, "the impossible") {
		t.Errorf("the failure does not say what was awaited: %q", failed)
	}
}
