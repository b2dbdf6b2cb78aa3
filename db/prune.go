package db

import (
	"bytes"
	"encoding/json"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Retention says how long the audit log and finished emails are kept.
// What has an expiry of its own (sessions, sign-in requests, codes and
// tokens) is pruned once it has expired, whatever Retention says; users,
// links, invitations, organizations, groups, apps, API keys, passkeys and
// signing keys are never pruned: they are records an admin manages.
type Retention struct {
	// Events is how long an audit event is kept after it happened; 0
	// keeps events for ever.
	Events time.Duration
	// Emails is how long an email that is done with (sent, failed for
	// good or cancelled) is kept after it was queued (or sent, when
	// later); 0 keeps them for ever. Pending emails are never pruned.
	Emails time.Duration
	// Batch bounds how many records one write transaction deletes, so a
	// large backlog never holds the single writer for long; 0 means
	// DefaultPruneBatch.
	Batch int
}

// DefaultPruneBatch is how many records one pruning transaction deletes
// at most when Retention.Batch is 0.
const DefaultPruneBatch = 1000

// PruneCounts says how many records of each kind a Prune deleted.
type PruneCounts struct {
	Sessions          int
	OIDCAuthRequests  int
	OIDCCodes         int
	OIDCRefreshTokens int
	UserTokens        int
	Events            int
	Emails            int
}

// Total is the number of records deleted, of every kind.
func (c PruneCounts) Total() int {
	return c.Sessions + c.OIDCAuthRequests + c.OIDCCodes + c.OIDCRefreshTokens + c.UserTokens + c.Events + c.Emails
}

// Prune deletes, as of the store's clock, every expired session, OpenID
// Connect auth request, code and refresh token and one-time user token
// (reset, verify and second-factor continuations), the audit events older
// than r.Events and the finished emails older than r.Emails. Each kind is
// deleted in write transactions of at most r.Batch records, so requests
// get the writer between them; every index bucket is kept in step in the
// transaction that deletes its record. It returns EINVALID for a negative
// duration or batch; on a store error it returns what it had deleted by
// then with the error, and the next call goes on from there.
func (s *Store) Prune(r Retention) (PruneCounts, error) {
	var c PruneCounts
	if r.Events < 0 || r.Emails < 0 {
		return c, Errorf(EINVALID, "A retention period cannot be negative; use 0 to keep records for ever.")
	}
	if r.Batch < 0 {
		return c, Errorf(EINVALID, "The pruning batch cannot be negative; use 0 for the default (%d).", DefaultPruneBatch)
	}
	if r.Batch == 0 {
		r.Batch = DefaultPruneBatch
	}
	// One instant for the whole pass, so that it ends even on a clock
	// that runs while it works.
	now := s.now()
	steps := []pruneStep{
		{&c.Sessions, pruneSessionsTx},
		{&c.OIDCCodes, pruneOIDCCodesTx},
		{&c.OIDCAuthRequests, pruneOIDCAuthRequestsTx},
		{&c.OIDCRefreshTokens, pruneOIDCRefreshTx},
		{&c.UserTokens, pruneUserTokensTx},
	}
	if r.Events > 0 {
		cutoff := now.Add(-r.Events)
		steps = append(steps, pruneStep{&c.Events, func(tx *bolt.Tx, _ time.Time, max int) (int, error) {
			return pruneEventsTx(tx, cutoff, max)
		}})
	}
	if r.Emails > 0 {
		cutoff := now.Add(-r.Emails)
		steps = append(steps, pruneStep{&c.Emails, func(tx *bolt.Tx, _ time.Time, max int) (int, error) {
			return pruneEmailsTx(tx, cutoff, max)
		}})
		// WEBHOOK DELIVERIES (merge point): the delivery log shares
		// retention.emails. Add a Deliveries count to PruneCounts (and
		// Total) and a step here that calls
		// pruneWebhookDeliveriesTx(tx, cutoff) in its own transaction.
	}
	for _, step := range steps {
		n, err := s.pruneInBatches(now, r.Batch, step.prune)
		*step.count += n
		if err != nil {
			return c, err
		}
	}
	return c, nil
}

// pruneStep is one kind of record of a Prune: where its count goes and
// the function that deletes up to max of them in one transaction.
type pruneStep struct {
	count *int
	prune pruneFunc
}

// pruneFunc deletes up to max records of one kind that are due for
// deletion at now, in tx, and returns how many it deleted.
type pruneFunc func(tx *bolt.Tx, now time.Time, max int) (int, error)

// pruneInBatches runs prune in one write transaction after another, each
// deleting at most max records, until one deletes fewer: then nothing of
// its kind is left to delete. It returns how many were deleted in all.
func (s *Store) pruneInBatches(now time.Time, max int, prune pruneFunc) (int, error) {
	total := 0
	for {
		n := 0
		err := s.update(func(tx *bolt.Tx) error {
			var err error
			n, err = prune(tx, now, max)
			return err
		})
		if err != nil {
			return total, err
		}
		total += n
		if n < max {
			return total, nil
		}
	}
}

// pruneSessionsTx deletes up to max sessions expired at now, with their
// sessions_by_user entries.
func pruneSessionsTx(tx *bolt.Tx, now time.Time, max int) (int, error) {
	b := tx.Bucket(bucketSessions)
	type dead struct {
		key  []byte
		user uint64
	}
	var gone []dead
	c := b.Cursor()
	for k, v := c.First(); k != nil && len(gone) < max; k, v = c.Next() {
		var rec sessionRecord
		if err := json.Unmarshal(v, &rec); err != nil {
			return 0, err
		}
		if !now.Before(rec.ExpiresAt) {
			gone = append(gone, dead{append([]byte(nil), k...), rec.UserID})
		}
	}
	for _, d := range gone {
		if err := b.Delete(d.key); err != nil {
			return 0, err
		}
		if err := tx.Bucket(bucketSessionsByUser).Delete(sessionUserKey(d.user, string(d.key))); err != nil {
			return 0, err
		}
	}
	return len(gone), nil
}

// pruneOIDCCodesTx deletes up to max authorization codes expired at now.
// A code's auth request keeps its hash; deleting a request whose code is
// gone already is no error.
func pruneOIDCCodesTx(tx *bolt.Tx, now time.Time, max int) (int, error) {
	b := tx.Bucket(bucketOIDCCodes)
	var gone [][]byte
	c := b.Cursor()
	for k, v := c.First(); k != nil && len(gone) < max; k, v = c.Next() {
		var rec oidcCodeRecord
		if err := json.Unmarshal(v, &rec); err != nil {
			return 0, err
		}
		if !now.Before(rec.ExpiresAt) {
			gone = append(gone, append([]byte(nil), k...))
		}
	}
	for _, k := range gone {
		if err := b.Delete(k); err != nil {
			return 0, err
		}
	}
	return len(gone), nil
}

// pruneOIDCRefreshTx deletes up to max refresh tokens expired at now, with
// their oidc_refresh_by_user entries.
func pruneOIDCRefreshTx(tx *bolt.Tx, now time.Time, max int) (int, error) {
	type dead struct {
		hash string
		user uint64
	}
	var gone []dead
	c := tx.Bucket(bucketOIDCRefresh).Cursor()
	for k, v := c.First(); k != nil && len(gone) < max; k, v = c.Next() {
		var rec oidcRefreshRecord
		if err := json.Unmarshal(v, &rec); err != nil {
			return 0, err
		}
		if !now.Before(rec.ExpiresAt) {
			gone = append(gone, dead{string(k), rec.UserID})
		}
	}
	for _, d := range gone {
		if err := deleteOIDCRefreshTx(tx, d.hash, d.user); err != nil {
			return 0, err
		}
	}
	return len(gone), nil
}

// pruneUserTokensTx deletes up to max one-time user tokens expired at now.
// Each user_tokens_by_user entry names the user's live token of a
// purpose; it is deleted with the token it names, and only then.
func pruneUserTokensTx(tx *bolt.Tx, now time.Time, max int) (int, error) {
	b := tx.Bucket(bucketUserTokens)
	type dead struct {
		hash []byte
		rec  userTokenRecord
	}
	var gone []dead
	c := b.Cursor()
	for k, v := c.First(); k != nil && len(gone) < max; k, v = c.Next() {
		var rec userTokenRecord
		if err := json.Unmarshal(v, &rec); err != nil {
			return 0, err
		}
		if !now.Before(rec.ExpiresAt) {
			gone = append(gone, dead{append([]byte(nil), k...), rec})
		}
	}
	byUser := tx.Bucket(bucketUserTokensByUser)
	for _, d := range gone {
		if err := b.Delete(d.hash); err != nil {
			return 0, err
		}
		ukey := userTokenUserKey(d.rec.UserID, d.rec.Purpose)
		if bytes.Equal(byUser.Get(ukey), d.hash) {
			if err := byUser.Delete(ukey); err != nil {
				return 0, err
			}
		}
	}
	return len(gone), nil
}

// pruneEventsTx deletes up to max audit events that happened at cutoff or
// before. Events are keyed by a sequence, so they are in the order they
// were written: the scan stops at the first one that is younger.
func pruneEventsTx(tx *bolt.Tx, cutoff time.Time, max int) (int, error) {
	b := tx.Bucket(bucketEvents)
	var gone [][]byte
	c := b.Cursor()
	for k, v := c.First(); k != nil && len(gone) < max; k, v = c.Next() {
		var rec struct {
			CreatedAt time.Time `json:"created_at"`
		}
		if err := json.Unmarshal(v, &rec); err != nil {
			return 0, err
		}
		if rec.CreatedAt.After(cutoff) {
			break
		}
		gone = append(gone, append([]byte(nil), k...))
	}
	for _, k := range gone {
		if err := b.Delete(k); err != nil {
			return 0, err
		}
	}
	return len(gone), nil
}

// pruneEmailsTx deletes up to max emails that are done with (sent, failed
// for good, cancelled) and were queued, and sent if they were, at cutoff
// or before. Pending emails are never deleted. The outbox is keyed by a
// sequence, so the scan stops at the first email queued after cutoff.
func pruneEmailsTx(tx *bolt.Tx, cutoff time.Time, max int) (int, error) {
	b := tx.Bucket(bucketOutbox)
	type dead struct {
		key []byte
		rec emailRecord
	}
	var gone []dead
	c := b.Cursor()
	for k, v := c.First(); k != nil && len(gone) < max; k, v = c.Next() {
		var rec emailRecord
		if err := json.Unmarshal(v, &rec); err != nil {
			return 0, err
		}
		if rec.CreatedAt.After(cutoff) {
			break
		}
		if rec.State == EmailPending || (rec.SentAt != nil && rec.SentAt.After(cutoff)) {
			continue
		}
		gone = append(gone, dead{append([]byte(nil), k...), rec})
	}
	due := tx.Bucket(bucketOutboxDue)
	for _, d := range gone {
		if err := b.Delete(d.key); err != nil {
			return 0, err
		}
		// Only pending emails are in outbox_due; this keeps the index
		// clean should a record ever disagree.
		if err := due.Delete(dueKey(d.rec.NextAttemptAt, btoi(d.key))); err != nil {
			return 0, err
		}
	}
	return len(gone), nil
}
