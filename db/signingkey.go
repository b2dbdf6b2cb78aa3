package db

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// SigningKeyBits is the size of every RSA signing key this build makes.
// 2048 bits is what RS256 asks for at least, and keeps signing cheap.
const SigningKeyBits = 2048

// DefaultSigningKeyKeep is how long a retired signing key stays published
// after a rotation. It must be longer than any token signed with a key
// lives: the OpenID Connect provider's ID and access token lifetimes must
// stay below it, or a token signed just before a rotation would stop
// verifying before it expires.
const DefaultSigningKeyKeep = 24 * time.Hour

// SigningKey is an RSA key that signs the OpenID Connect provider's tokens
// (RS256). The newest one is the current key and signs; the ones it
// replaced are retired and only published, so that tokens they signed
// still verify until they expire.
type SigningKey struct {
	// ID is the key id ("kid"): random and URL-safe.
	ID        string
	Key       *rsa.PrivateKey
	CreatedAt time.Time
	// RetiredAt is when a newer key replaced this one; zero while it is
	// the current key.
	RetiredAt time.Time
}

// Current reports whether the key is the one that signs.
func (k SigningKey) Current() bool { return k.RetiredAt.IsZero() }

// signingKeyRecord is a stored signing key; the private key is PKCS#8 DER
// (base64 in the record's JSON).
type signingKeyRecord struct {
	V         int        `json:"v"`
	KID       string     `json:"kid"`
	PKCS8     []byte     `json:"pkcs8"`
	CreatedAt time.Time  `json:"created_at"`
	RetiredAt *time.Time `json:"retired_at,omitempty"`
}

// parsedKeys holds each RSA key already parsed, by its PKCS#8 bytes.
// Parsing one costs far more than the signature or check it is read for
// (the provider reads the keys on every token and userinfo request), and
// a key's bytes never change, so the entry is exact: a new or rotated key
// has other bytes, and a deleted key is no longer read from the file.
var parsedKeys sync.Map // string(PKCS8) → *rsa.PrivateKey

func (r signingKeyRecord) key() (SigningKey, error) {
	priv, ok := parsedKeys.Load(string(r.PKCS8))
	if !ok {
		parsed, err := x509.ParsePKCS8PrivateKey(r.PKCS8)
		if err != nil {
			return SigningKey{}, fmt.Errorf("read signing key %s: %w", r.KID, err)
		}
		rsaKey, isRSA := parsed.(*rsa.PrivateKey)
		if !isRSA {
			return SigningKey{}, fmt.Errorf("read signing key %s: a %T, not an RSA key", r.KID, parsed)
		}
		priv, _ = parsedKeys.LoadOrStore(string(r.PKCS8), rsaKey)
	}
	k := SigningKey{ID: r.KID, Key: priv.(*rsa.PrivateKey), CreatedAt: r.CreatedAt}
	if r.RetiredAt != nil {
		k.RetiredAt = *r.RetiredAt
	}
	return k, nil
}

// ErrNoSigningKey is returned by CurrentSigningKey before the first key.
var ErrNoSigningKey = Errorf(ENOTFOUND, "There is no signing key yet: run `invited rotate-keys` to make one.")

// newSigningKey makes a key and its record. It is slow (tens of
// milliseconds), so it runs before any write transaction. The kid comes
// from the store's random source; the key is handed it too, but since Go
// 1.26 rsa.GenerateKey always draws from a secure source (tests that need
// a fixed key use testing/cryptotest.SetGlobalRandom).
func (s *Store) newSigningKey() (signingKeyRecord, error) {
	kid := make([]byte, 12)
	if _, err := io.ReadFull(s.rand, kid); err != nil {
		return signingKeyRecord{}, fmt.Errorf("read random bytes: %w", err)
	}
	priv, err := rsa.GenerateKey(s.rand, SigningKeyBits)
	if err != nil {
		return signingKeyRecord{}, fmt.Errorf("generate the signing key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return signingKeyRecord{}, fmt.Errorf("encode the signing key: %w", err)
	}
	return signingKeyRecord{V: 1, KID: base64.RawURLEncoding.EncodeToString(kid), PKCS8: der}, nil
}

// signingKeyEntry is a record with its bucket key.
type signingKeyEntry struct {
	k   []byte
	rec signingKeyRecord
}

// signingKeysTx reads every stored key, oldest first.
func signingKeysTx(tx *bolt.Tx) ([]signingKeyEntry, error) {
	var out []signingKeyEntry
	err := tx.Bucket(bucketSigningKeys).ForEach(func(k, v []byte) error {
		var rec signingKeyRecord
		if err := json.Unmarshal(v, &rec); err != nil {
			return fmt.Errorf("decode signing key %x: %w", k, err)
		}
		out = append(out, signingKeyEntry{k: append([]byte(nil), k...), rec: rec})
		return nil
	})
	return out, err
}

// currentSigningKeyTx is the current key's record, if there is one: the
// newest key that is not retired.
func currentSigningKeyTx(tx *bolt.Tx) (signingKeyRecord, bool, error) {
	entries, err := signingKeysTx(tx)
	if err != nil {
		return signingKeyRecord{}, false, err
	}
	for i := len(entries) - 1; i >= 0; i-- {
		if entries[i].rec.RetiredAt == nil {
			return entries[i].rec, true, nil
		}
	}
	return signingKeyRecord{}, false, nil
}

// putSigningKeyTx stores rec as the newest key, created now.
func (s *Store) putSigningKeyTx(tx *bolt.Tx, rec *signingKeyRecord) error {
	b := tx.Bucket(bucketSigningKeys)
	id, err := nextID(b)
	if err != nil {
		return err
	}
	rec.CreatedAt = s.clock()
	return putJSON(b, itob(id), rec)
}

// EnsureSigningKey returns the current signing key, making the first one
// when there is none (the provider will call it at start). Its errors are
// internal: the file cannot be read or written.
func (s *Store) EnsureSigningKey() (SigningKey, error) {
	cur, err := s.CurrentSigningKey()
	if ErrorCode(err) != ENOTFOUND {
		return cur, err
	}
	fresh, err := s.newSigningKey()
	if err != nil {
		return SigningKey{}, err
	}
	var rec signingKeyRecord
	err = s.update(func(tx *bolt.Tx) error {
		// Another caller may have made one since the read above.
		existing, ok, err := currentSigningKeyTx(tx)
		if err != nil || ok {
			rec = existing
			return err
		}
		rec = fresh
		if err := s.putSigningKeyTx(tx, &rec); err != nil {
			return err
		}
		return s.addEventTxKey(tx, SystemActor, EventSigningKeyCreated, "signing-key", rec.KID, nil)
	})
	if err != nil {
		return SigningKey{}, err
	}
	return rec.key()
}

// CurrentSigningKey returns the key that signs now, or ErrNoSigningKey
// (ENOTFOUND) when no key was made yet.
func (s *Store) CurrentSigningKey() (SigningKey, error) {
	entries, err := s.signingKeyEntries()
	if err != nil {
		return SigningKey{}, err
	}
	for i := len(entries) - 1; i >= 0; i-- {
		if entries[i].rec.RetiredAt == nil {
			return entries[i].rec.key()
		}
	}
	return SigningKey{}, ErrNoSigningKey
}

// signingKeyEntries reads every stored key, oldest first, through the
// store's generation cache: every token signed and every token verified
// asks for the keys, and they change only on a rotation. The slice is
// shared and must not be changed.
func (s *Store) signingKeyEntries() ([]signingKeyEntry, error) {
	gen := s.gen.Load()
	if entries, ok := s.signingKeys.get(gen, ""); ok {
		return entries, nil
	}
	var entries []signingKeyEntry
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		entries, err = signingKeysTx(tx)
		return err
	})
	if err != nil {
		return nil, err
	}
	if len(entries) > 0 { // only hits are cached
		s.signingKeys.put(gen, s.gen.Load(), "", entries)
	}
	return entries, nil
}

// SigningKeys returns the keys to publish, newest (the current one)
// first: the current key and each retired key whose retirement is less
// than keep ago. keep is the same duration RotateSigningKeys is given.
// The list is empty before the first key.
func (s *Store) SigningKeys(keep time.Duration) ([]SigningKey, error) {
	entries, err := s.signingKeyEntries()
	if err != nil {
		return nil, err
	}
	now := s.clock()
	keys := []SigningKey{}
	for i := len(entries) - 1; i >= 0; i-- {
		rec := entries[i].rec
		if rec.RetiredAt != nil && !now.Before(rec.RetiredAt.Add(keep)) {
			continue
		}
		k, err := rec.key()
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// RotateSigningKeys makes a new current signing key and retires the one
// it replaces, which stays published (SigningKeys) for keep: keep must
// be longer than the longest-lived token a key signs (ID and access
// tokens), so that every token verifies until it expires;
// DefaultSigningKeyKeep is the program's choice. Keys retired keep or
// longer ago are deleted in the same transaction. With no key yet it
// makes the first one. It returns EFORBIDDEN for an actor who is not an
// admin and EINVALID for a keep that is not positive.
func (s *Store) RotateSigningKeys(actor Actor, keep time.Duration) (SigningKey, error) {
	if actor.Role != RoleAdmin {
		return SigningKey{}, Errorf(EFORBIDDEN, "Only an admin may rotate the signing keys.")
	}
	if keep <= 0 {
		return SigningKey{}, Errorf(EINVALID, "The time a retired signing key stays published must be positive, and longer than any token it signed lives; got %s.", keep)
	}
	fresh, err := s.newSigningKey()
	if err != nil {
		return SigningKey{}, err
	}
	err = s.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketSigningKeys)
		entries, err := signingKeysTx(tx)
		if err != nil {
			return err
		}
		now := s.clock()
		retired, deleted := []string{}, []string{}
		for _, e := range entries {
			switch {
			case e.rec.RetiredAt == nil:
				e.rec.RetiredAt = &now
				if err := putJSON(b, e.k, e.rec); err != nil {
					return err
				}
				retired = append(retired, e.rec.KID)
			case !now.Before(e.rec.RetiredAt.Add(keep)):
				if err := b.Delete(e.k); err != nil {
					return err
				}
				deleted = append(deleted, e.rec.KID)
			}
		}
		if err := s.putSigningKeyTx(tx, &fresh); err != nil {
			return err
		}
		return s.addEventTxKey(tx, actor, EventSigningKeysRotated, "signing-key", fresh.KID, map[string]any{
			"retired": retired, "deleted": deleted, "keep": keep.String(),
		})
	})
	if err != nil {
		return SigningKey{}, err
	}
	return fresh.key()
}
