package db

import (
	"slices"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// update runs fn in a write transaction. Every write of the store goes
// through here (TestWritesGoThroughUpdate checks), so that the store's
// write generation counts every write: the generation caches below use an
// entry only while the generation it was read at is still current, which
// makes them exact.
//
// The generation is odd while a write is in flight: from before fn runs
// until after the commit (or rollback) is over. bbolt shows a commit to
// new readers a moment before Update returns, so a generation bumped only
// on commit would let a reader that already saw the new data elsewhere
// still be served the old entry in that moment. With an odd generation
// the caches are neither read nor filled (genCache.get and put), so every
// read in that window goes to the file.
func (s *Store) update(fn func(tx *bolt.Tx) error) error {
	began := false
	err := s.db.Update(func(tx *bolt.Tx) error {
		began = true
		s.gen.Add(1) // odd: a write is in flight
		return fn(tx)
	})
	if began {
		// Even again, a new generation: the commit is visible (or the
		// transaction rolled back), and older entries are stale.
		s.gen.Add(1)
	}
	return err
}

// Writes reports how many write transactions the store has run since it
// was opened (committed or rolled back).
func (s *Store) Writes() uint64 { return s.gen.Load() / 2 }

// maxGenCacheEntries bounds each generation cache; a full one is dropped
// wholesale. Only records that exist are cached, never misses, so
// unknown tokens cannot grow it anyway.
const maxGenCacheEntries = 10_000

// genCache holds values read at one store write generation. It is exact
// as long as every write bumps the generation (Store.update), since an
// entry is used only while the generation is the one it was read at.
type genCache[V any] struct {
	mu      sync.RWMutex
	readGen uint64       // the generation vals were read at
	vals    map[string]V // never modified once stored
}

// get returns the value for key, if it was read at generation gen. While
// a write is in flight (gen odd) nothing is served.
func (c *genCache[V]) get(gen uint64, key string) (V, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if gen%2 == 1 || c.readGen != gen || c.vals == nil {
		var zero V
		return zero, false
	}
	v, ok := c.vals[key]
	return v, ok
}

// put stores v, read in a transaction that began at generation gen while
// the generation is now cur. A value read while a write was in flight, or
// before a later write, is dropped rather than stored.
func (c *genCache[V]) put(gen, cur uint64, key string, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case gen%2 == 1 || gen < c.readGen || gen != cur:
		return
	case gen > c.readGen || c.vals == nil || len(c.vals) >= maxGenCacheEntries:
		c.vals = map[string]V{}
		c.readGen = gen
	}
	c.vals[key] = v
}

// cachedSession is what AuthenticateSession learnt of a live session.
type cachedSession struct {
	user      User
	expiresAt time.Time
}

// cloneUser copies u so that a caller changing the copy's slices cannot
// change the cached one.
func cloneUser(u User) User {
	u.Groups = slices.Clone(u.Groups)
	u.SeenAt = cloneTime(u.SeenAt)
	u.ThrottledUntil = cloneTime(u.ThrottledUntil)
	return u
}

func cloneTime(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	c := *t
	return &c
}

// cloneApp copies a so that a caller changing the copy's slices cannot
// change the cached one.
func cloneApp(a App) App {
	a.Groups = slices.Clone(a.Groups)
	a.Domains = slices.Clone(a.Domains)
	if a.OIDC != nil {
		o := *a.OIDC
		a.OIDC = &o
	}
	return a
}
