// Package wake runs the loop of a background worker: one pass at start,
// then a pass whenever the time the last pass asked for has come or the
// worker was poked, until its context ends. The email outbox and the
// webhook worker run on it.
package wake

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"
)

// Loop is a worker's wake-up: Poke from anywhere, Run once.
type Loop struct {
	name    string
	log     *slog.Logger
	poke    chan struct{}
	running atomic.Bool
}

// New makes the loop of the worker name (for its log line).
func New(name string, log *slog.Logger) *Loop {
	return &Loop{name: name, log: log, poke: make(chan struct{}, 1)}
}

// Poke wakes the loop now. It never blocks; pokes while a pass runs fold
// into one more pass.
func (l *Loop) Poke() {
	select {
	case l.poke <- struct{}{}:
	default:
	}
}

// Run calls pass at once, then each time the wait pass returned is over
// or the loop is poked, until ctx ends. Call it once: a second call logs
// an error and returns at once.
func (l *Loop) Run(ctx context.Context, pass func(context.Context) time.Duration) {
	if !l.running.CompareAndSwap(false, true) {
		l.log.Error(l.name + ": Run called twice; the second call does nothing")
		return
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-l.poke:
		case <-timer.C:
		}
		wait := pass(ctx)
		if ctx.Err() != nil {
			return
		}
		timer.Reset(wait)
	}
}
