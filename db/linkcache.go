package db

import (
	"sync"
	"sync/atomic"

	bolt "go.etcd.io/bbolt"
)

// linkCache keeps decoded link records for CheckSignupToken, the read
// behind every GET /invite/:token/validate, so that it costs neither a
// transaction nor a JSON decode. It is exact: every write of a link record
// goes through putLinkTx or deleteLinkTx, which bump the store's link
// generation once the transaction has committed (before the write method
// returns), and an entry is used only while the generation it was read at
// is still current. So the first check that starts after a change has
// returned sees the change. Time rules (expiry) are evaluated on every
// check against the store's clock, never cached.
//
// Only links that exist are cached, so the table is bounded by the number
// of links in the file; unknown secrets always take the read.
type linkCache struct {
	// gen counts committed writes to link records.
	gen atomic.Uint64

	mu      sync.RWMutex
	readGen uint64                 // the generation recs were read at
	recs    map[string]*linkRecord // secret → record, never modified once stored
}

// get returns the cached record for secret, if it is still current.
func (c *linkCache) get(secret string) (*linkRecord, bool) {
	gen := c.gen.Load()
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.readGen != gen {
		return nil, false
	}
	rec, ok := c.recs[secret]
	return rec, ok
}

// put stores rec, read in a transaction that began at generation gen. A
// record read before a later write is dropped rather than stored.
func (c *linkCache) put(gen uint64, secret string, rec *linkRecord) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case gen < c.readGen || gen != c.gen.Load():
		return
	case gen > c.readGen || c.recs == nil:
		c.recs = map[string]*linkRecord{}
		c.readGen = gen
	}
	c.recs[secret] = rec
}

// changedTx marks the cache stale once tx commits. bbolt runs commit
// handlers after the data is on disk and before Update returns.
func (c *linkCache) changedTx(tx *bolt.Tx) {
	tx.OnCommit(func() { c.gen.Add(1) })
}

// putLinkTx writes a link record. Every write of bucketLinks goes through
// here or deleteLinkTx (TestLinkWritesGoThroughTheCache checks), so that
// the link cache stays exact.
func (s *Store) putLinkTx(tx *bolt.Tx, rec linkRecord) error {
	s.links.changedTx(tx)
	return putJSON(tx.Bucket(bucketLinks), itob(rec.ID), rec)
}

// deleteLinkTx deletes a link record; see putLinkTx.
func (s *Store) deleteLinkTx(tx *bolt.Tx, id uint64) error {
	s.links.changedTx(tx)
	return tx.Bucket(bucketLinks).Delete(itob(id))
}

// usableLink reads the link with that secret for a check, from the cache
// when it is current, else in a read transaction (and caches it).
func (s *Store) usableLink(secret string) (*linkRecord, error) {
	if rec, ok := s.links.get(secret); ok {
		return rec, nil
	}
	// The generation is read before the transaction begins: if a write
	// commits in between, the record is stored under the older generation
	// and is never used.
	gen := s.links.gen.Load()
	var rec linkRecord
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		rec, err = getLinkTx(tx, secret)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.links.put(gen, secret, &rec)
	return &rec, nil
}
