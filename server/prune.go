package server

import (
	"context"
	"log/slog"
	"time"

	"invited/db"
)

// DefaultPruneInterval is how often RunPruner prunes when its options do
// not say.
const DefaultPruneInterval = time.Hour

// PrunerOptions tune RunPruner.
type PrunerOptions struct {
	// Retention is retention.events and retention.emails (and the batch
	// size, 0 for db.DefaultPruneBatch).
	Retention db.Retention
	// Interval is the time between passes; 0 means DefaultPruneInterval.
	Interval time.Duration
	// Logger gets a line per pass that pruned something, and errors;
	// nil means slog.Default().
	Logger *slog.Logger
	// OnPass, when set, is called after each pass with what it pruned
	// (tests wait on it).
	OnPass func(db.PruneCounts, error)
}

// RunPruner deletes what has expired or outlived its retention
// (db.Store.Prune): a first pass at once, then one every Interval, until
// ctx ends. A pass that pruned something logs the count of each kind at
// info level; one that pruned nothing stays quiet; a failed one logs the
// error, and the next pass goes on from where it stopped. Cancelling ctx
// during a pass lets that pass finish (each of its transactions deletes
// at most a batch) before RunPruner returns.
func RunPruner(ctx context.Context, store *db.Store, opts PrunerOptions) {
	if opts.Interval <= 0 {
		opts.Interval = DefaultPruneInterval
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		c, err := store.Prune(opts.Retention)
		if err != nil {
			log.Error("pruning expired and old records failed; the next pass tries again",
				"error", err, "next_pass_in", opts.Interval.String())
		}
		if c.Total() > 0 {
			log.Info("pruned expired and old records",
				"sessions", c.Sessions, "oidc_auth_requests", c.OIDCAuthRequests, "oidc_codes", c.OIDCCodes,
				"oidc_refresh_tokens", c.OIDCRefreshTokens, "user_tokens", c.UserTokens,
				"events", c.Events, "emails", c.Emails)
		}
		if opts.OnPass != nil {
			opts.OnPass(c, err)
		}
		timer.Reset(opts.Interval)
	}
}
