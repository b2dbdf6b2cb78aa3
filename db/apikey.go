package db

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// APIKeyPrefix starts every key this program makes, so that a leaked key
// is easy to recognise (and to find with secret scanners).
const APIKeyPrefix = "invited_"

// MinAPIKeyLength is the shortest key accepted from auth.init_admin_api_tokens.
const MinAPIKeyLength = 16

// APIKey is a credential for scripts. The key itself is shown once, when it
// is created; only its SHA-256 hash is stored.
type APIKey struct {
	ID   uint64
	Name string
	Role Role
	// Prefix is the start of the key, to tell keys apart in lists.
	Prefix     string
	CreatedAt  time.Time
	CreatedBy  string
	LastUsedAt *time.Time // nil until the key is first used
}

type apiKeyRecord struct {
	V          int        `json:"v"`
	ID         uint64     `json:"id"`
	Name       string     `json:"name"`
	Role       Role       `json:"role"`
	Hash       string     `json:"hash"`
	Prefix     string     `json:"prefix"`
	CreatedAt  time.Time  `json:"created_at"`
	CreatedBy  string     `json:"created_by"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
}

func (r apiKeyRecord) key() APIKey {
	return APIKey{ID: r.ID, Name: r.Name, Role: r.Role, Prefix: r.Prefix, CreatedAt: r.CreatedAt, CreatedBy: r.CreatedBy, LastUsedAt: r.LastUsedAt}
}

func hashKey(raw string) string {
	sum := sha256.Sum256([]byte(raw))
	return hex.EncodeToString(sum[:])
}

// keyPrefix is the part of a key shown in lists to tell keys apart.
func keyPrefix(raw string) string {
	if strings.HasPrefix(raw, APIKeyPrefix) && len(raw) > len(APIKeyPrefix)+6 {
		return raw[:len(APIKeyPrefix)+6] + "…"
	}
	return raw[:4] + "…"
}

func validateKeyInput(actor Actor, name string, role Role) (string, error) {
	var errs fieldErrors
	name, err := CleanText("name", name, true, MaxNameLength)
	errs.addErr(err)
	switch {
	case role != RoleAdmin && role != RoleEditor:
		errs.add("role", "must be admin or editor")
	case !actor.Role.AtLeast(role):
		errs.add("role", fmt.Sprintf("may not be above your own role (%s)", actor.Role.Name()))
	}
	return name, errs.err()
}

func (s *Store) putKeyTx(tx *bolt.Tx, actor Actor, name string, role Role, raw string) (APIKey, error) {
	b := tx.Bucket(bucketAPIKeys)
	c := b.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		var rec apiKeyRecord
		if err := json.Unmarshal(v, &rec); err != nil {
			return APIKey{}, err
		}
		if strings.EqualFold(rec.Name, name) {
			return APIKey{}, &Error{Code: ECONFLICT, Message: fmt.Sprintf("An API key named %q already exists; choose another name.", name),
				Details: []FieldError{{Path: "name", Message: "is taken"}}}
		}
	}
	id, err := nextID(b)
	if err != nil {
		return APIKey{}, err
	}
	hash := hashKey(raw)
	rec := apiKeyRecord{V: 1, ID: id, Name: name, Role: role, Hash: hash, Prefix: keyPrefix(raw), CreatedAt: s.clock(), CreatedBy: actor.String()}
	if err := putJSON(b, itob(id), rec); err != nil {
		return APIKey{}, err
	}
	if err := tx.Bucket(bucketAPIKeysByHash).Put([]byte(hash), itob(id)); err != nil {
		return APIKey{}, err
	}
	err = s.addEventTx(tx, actor, EventAPIKeyCreated, "api-key", id, map[string]any{"name": name, "role": role})
	return rec.key(), err
}

// CreateAPIKey makes a new key and returns it with the key itself, which is
// not stored and cannot be shown again. It returns EINVALID for a bad name
// or a role other than admin or editor (or above the actor's), and
// ECONFLICT when the name is taken.
func (s *Store) CreateAPIKey(actor Actor, name string, role Role) (APIKey, string, error) {
	name, err := validateKeyInput(actor, name, role)
	if err != nil {
		return APIKey{}, "", err
	}
	random, err := s.newSecret(24)
	if err != nil {
		return APIKey{}, "", err
	}
	raw := APIKeyPrefix + random
	var key APIKey
	err = s.update(func(tx *bolt.Tx) error {
		key, err = s.putKeyTx(tx, actor, name, role, raw)
		return err
	})
	return key, raw, err
}

// EnsureAPIKey stores raw as an admin key named name unless a key with the
// same value exists already; it reports whether it created one. It refuses
// keys shorter than MinAPIKeyLength.
func (s *Store) EnsureAPIKey(name string, raw string) (bool, error) {
	raw = strings.TrimSpace(raw)
	if len(raw) < MinAPIKeyLength || hasControl(raw) || strings.ContainsAny(raw, " ") {
		return false, Errorf(EINVALID, "auth.init_admin_api_tokens: every token must be at least %d characters without spaces; make one with `openssl rand -hex 24`", MinAPIKeyLength)
	}
	created := false
	err := s.update(func(tx *bolt.Tx) error {
		if lookup(tx, bucketAPIKeysByHash, hashKey(raw)) != 0 {
			return nil
		}
		_, err := s.putKeyTx(tx, SystemActor, name, RoleAdmin, raw)
		created = err == nil
		return err
	})
	return created, err
}

// lastUsedEvery limits how often a key's last use is written, so that
// using a key costs no disk write on most requests.
const lastUsedEvery = time.Minute

// AuthenticateAPIKey returns the key whose value is raw, or EUNAUTHORIZED.
func (s *Store) AuthenticateAPIKey(raw string) (APIKey, error) {
	hash := hashKey(strings.TrimSpace(raw))
	var rec apiKeyRecord
	err := s.db.View(func(tx *bolt.Tx) error {
		id := lookup(tx, bucketAPIKeysByHash, hash)
		if id == 0 {
			return errBadKey
		}
		ok, err := getJSON(tx.Bucket(bucketAPIKeys), itob(id), &rec)
		if err != nil {
			return err
		}
		if !ok || subtle.ConstantTimeCompare([]byte(rec.Hash), []byte(hash)) != 1 {
			return errBadKey
		}
		return nil
	})
	if err != nil {
		return APIKey{}, err
	}
	now := s.clock()
	if rec.LastUsedAt == nil || now.Sub(*rec.LastUsedAt) >= lastUsedEvery {
		rec.LastUsedAt = &now
		// Best effort: a failed write of the last-use time must not fail
		// the request that used the key.
		_ = s.update(func(tx *bolt.Tx) error {
			var cur apiKeyRecord
			if ok, err := getJSON(tx.Bucket(bucketAPIKeys), itob(rec.ID), &cur); !ok || err != nil {
				return err
			}
			cur.LastUsedAt = &now
			return putJSON(tx.Bucket(bucketAPIKeys), itob(rec.ID), cur)
		})
	}
	return rec.key(), nil
}

var errBadKey = Errorf(EUNAUTHORIZED, "The API key is not valid: it may have been revoked or mistyped. Create one with `invited apikey create`.")

// ListAPIKeys returns every key, oldest first, without the keys themselves.
func (s *Store) ListAPIKeys() ([]APIKey, error) {
	keys := []APIKey{}
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketAPIKeys).ForEach(func(_, v []byte) error {
			var rec apiKeyRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return err
			}
			keys = append(keys, rec.key())
			return nil
		})
	})
	return keys, err
}
