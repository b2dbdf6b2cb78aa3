package wake

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// The loop passes at once, again when poked (never at the hour the pass
// asked for), refuses a second Run, and ends with its context.
func TestLoop(t *testing.T) {
	var logs bytes.Buffer
	var mu sync.Mutex
	l := New("test worker", slog.New(slog.NewTextHandler(&syncWriter{w: &logs, mu: &mu}, nil)))
	passes := make(chan struct{}, 10)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		l.Run(ctx, func(context.Context) time.Duration {
			passes <- struct{}{}
			return time.Hour
		})
	}()
	wait := func(what string) {
		t.Helper()
		select {
		case <-passes:
		case <-time.After(10 * time.Second):
			t.Fatalf("no pass %s", what)
		}
	}
	wait("at start")
	l.Poke()
	wait("after a poke")

	// A second Run returns at once and says so.
	l.Run(ctx, func(context.Context) time.Duration { t.Error("the second Run passed"); return time.Hour })
	mu.Lock()
	said := logs.String()
	mu.Unlock()
	if !strings.Contains(said, "test worker: Run called twice") {
		t.Errorf("log %q", said)
	}

	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not end with its context")
	}
	l.Poke() // never blocks, even with nobody running
	l.Poke()
}

type syncWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
