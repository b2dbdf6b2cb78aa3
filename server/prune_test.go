package server

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"invited/db"
	"invited/internal/testutil"
)

// TestPrunerRunsOnItsInterval: the pruning loop prunes at once, then again
// on every interval, logs only the passes that pruned something, leaves
// the events list API working, and returns when its context ends.
func TestPrunerRunsOnItsInterval(t *testing.T) {
	clock := &testClock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	ts := mustServerOnClock(t, clock)
	actor := db.Actor{Kind: "apikey", ID: 1, Name: "test", Role: db.RoleAdmin}
	if _, err := ts.store.CreateOrganization(actor, "", "Old desk"); err != nil {
		t.Fatal(err)
	}
	clock.add(10 * 24 * time.Hour)
	if _, err := ts.store.CreateOrganization(actor, "", "New desk"); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	var passes []db.PruneCounts
	passCount := func() int { mu.Lock(); defer mu.Unlock(); return len(passes) }
	logs := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		RunPruner(ctx, ts.store, PrunerOptions{
			Retention: db.Retention{Events: 5 * 24 * time.Hour, Emails: time.Hour},
			Interval:  time.Millisecond,
			Logger:    slog.New(slog.NewTextHandler(logs, nil)),
			OnPass: func(c db.PruneCounts, err error) {
				if err != nil {
					t.Errorf("pass: %v", err)
				}
				mu.Lock()
				passes = append(passes, c)
				mu.Unlock()
			},
		})
	}()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("RunPruner did not return after its context ended")
		}
	}
	defer stop()

	// The first pass takes the events of the old organization and of the
	// test's API key.
	testutil.Eventually(t, 5*time.Second, "the first pass", func() error {
		if n := passCount(); n == 0 {
			return fmt.Errorf("no pass yet")
		}
		return nil
	})
	mu.Lock()
	first := passes[0]
	mu.Unlock()
	if first.Events != 2 { // the test key's and the old organization's
		t.Fatalf("first pass: %+v; want the two old events", first)
	}
	resp, body := ts.call(t, "GET", "/api/admin/events", testKey, "")
	if resp.StatusCode != 200 || body["total"] != float64(1) {
		t.Fatalf("events after the first pass: %d %v", resp.StatusCode, body)
	}
	resp, body = ts.call(t, "GET", "/api/admin/events?type="+db.EventOrgCreated, testKey, "")
	if resp.StatusCode != 200 || body["total"] != float64(1) {
		t.Fatalf("events by type after the first pass: %d %v", resp.StatusCode, body)
	}

	// Later passes come on their own, quiet while there is nothing to do,
	// and take what has aged meanwhile.
	seen := passCount()
	testutil.Eventually(t, 5*time.Second, "more passes", func() error {
		if n := passCount(); n < seen+3 {
			return fmt.Errorf("%d passes", n)
		}
		return nil
	})
	if n := strings.Count(logs.String(), "pruned expired and old records"); n != 1 {
		t.Fatalf("%d log lines about pruning after one pass that pruned; logs:\n%s", n, logs)
	}
	clock.add(5 * 24 * time.Hour)
	testutil.Eventually(t, 5*time.Second, "the new event pruned by a later pass", func() error {
		_, total, err := ts.store.ListEvents("", 0, 1)
		if err != nil || total != 0 {
			return fmt.Errorf("%d events, %v", total, err)
		}
		return nil
	})
	testutil.Eventually(t, 5*time.Second, "the second pruning logged", func() error {
		if n := strings.Count(logs.String(), "pruned expired and old records"); n != 2 {
			return fmt.Errorf("%d lines", n)
		}
		return nil
	})
	if !strings.Contains(logs.String(), "events=2") || !strings.Contains(logs.String(), "level=INFO") {
		t.Errorf("the log line does not give the counts at info level:\n%s", logs)
	}

	// Stopped, it prunes no more.
	stop()
	after := passCount()
	if _, err := ts.store.CreateOrganization(actor, "", "Last desk"); err != nil {
		t.Fatal(err)
	}
	clock.add(6 * 24 * time.Hour)
	if _, total, _ := ts.store.ListEvents("", 0, 1); total != 1 || passCount() != after {
		t.Errorf("after stopping: %d events, %d passes (was %d)", total, passCount(), after)
	}
}

// A pass that fails (a refused retention here) is logged as an error and
// the loop carries on.
func TestPrunerLogsFailures(t *testing.T) {
	clock := &testClock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	ts := mustServerOnClock(t, clock)
	logs := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	failures := 0
	done := make(chan struct{})
	go func() {
		defer close(done)
		RunPruner(ctx, ts.store, PrunerOptions{
			Retention: db.Retention{Events: -time.Hour},
			Interval:  time.Millisecond,
			Logger:    slog.New(slog.NewTextHandler(logs, nil)),
			OnPass: func(_ db.PruneCounts, err error) {
				if err != nil {
					mu.Lock()
					failures++
					mu.Unlock()
				}
			},
		})
	}()
	testutil.Eventually(t, 5*time.Second, "two failed passes", func() error {
		mu.Lock()
		defer mu.Unlock()
		if failures < 2 {
			return fmt.Errorf("%d failures", failures)
		}
		return nil
	})
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("RunPruner did not return after its context ended")
	}
	if !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "cannot be negative") {
		t.Errorf("logs:\n%s", logs)
	}
}
