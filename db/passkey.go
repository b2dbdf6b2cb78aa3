package db

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"
)

// Passkeys (WebAuthn credentials) are kept in the passkeys bucket under
// the user's 8-byte id followed by the raw credential id, so a user's
// passkeys are one prefix scan and deleting a user deletes them. A
// discoverable login finds the key without an index: the user handle the
// authenticator returns is that same 8-byte id (PasskeyUserHandle).
//
// The ceremony itself (challenges, signatures) is the server's; this file
// keeps what a ceremony produced and records each use.

// MaxPasskeysPerUser bounds how many passkeys one account may hold.
const MaxPasskeysPerUser = 20

// MaxPasskeyNameLength is the longest passkey name, in characters.
const MaxPasskeyNameLength = 64

// maxCredentialIDBytes is WebAuthn's bound on a credential id.
const maxCredentialIDBytes = 1023

// Passkey is one WebAuthn credential of a user: what the server needs to
// check the next assertion, and what the account page shows.
type Passkey struct {
	UserID       uint64
	CredentialID []byte
	// Name is what the user called it ("Laptop", "Phone").
	Name string
	// PublicKey is the COSE-encoded public key.
	PublicKey         []byte
	AttestationType   string
	AttestationFormat string
	Transports        []string
	Attachment        string
	AAGUID            []byte
	SignCount         uint32
	// The authenticator flags last seen.
	UserPresent, UserVerified, BackupEligible, BackupState bool
	CreatedAt                                              time.Time
	// LastUsedAt is the last login with it; nil when never used.
	LastUsedAt *time.Time
}

// PasskeyUse is what a verified assertion says about its credential,
// recorded by PasskeyLogin.
type PasskeyUse struct {
	SignCount                 uint32
	UserVerified, BackupState bool
}

type passkeyRecord struct {
	V                 int        `json:"v"`
	Name              string     `json:"name"`
	PublicKey         []byte     `json:"public_key"`
	AttestationType   string     `json:"attestation_type,omitempty"`
	AttestationFormat string     `json:"attestation_format,omitempty"`
	Transports        []string   `json:"transports,omitempty"`
	Attachment        string     `json:"attachment,omitempty"`
	AAGUID            []byte     `json:"aaguid,omitempty"`
	SignCount         uint32     `json:"sign_count"`
	UserPresent       bool       `json:"user_present"`
	UserVerified      bool       `json:"user_verified"`
	BackupEligible    bool       `json:"backup_eligible"`
	BackupState       bool       `json:"backup_state"`
	CreatedAt         time.Time  `json:"created_at"`
	LastUsedAt        *time.Time `json:"last_used_at,omitempty"`
}

func (r passkeyRecord) passkey(userID uint64, credID []byte) Passkey {
	return Passkey{UserID: userID, CredentialID: append([]byte(nil), credID...), Name: r.Name, PublicKey: r.PublicKey,
		AttestationType: r.AttestationType, AttestationFormat: r.AttestationFormat, Transports: r.Transports,
		Attachment: r.Attachment, AAGUID: r.AAGUID, SignCount: r.SignCount, UserPresent: r.UserPresent,
		UserVerified: r.UserVerified, BackupEligible: r.BackupEligible, BackupState: r.BackupState,
		CreatedAt: r.CreatedAt, LastUsedAt: r.LastUsedAt}
}

func passkeyKey(userID uint64, credID []byte) []byte {
	return append(itob(userID), credID...)
}

// PasskeyUserHandle is the WebAuthn user handle of a user: the 8-byte
// big-endian id. It is never shown to people; authenticators return it in
// a discoverable login, and UserIDFromPasskeyHandle reads it back.
func PasskeyUserHandle(userID uint64) []byte { return itob(userID) }

// UserIDFromPasskeyHandle reads a user handle back into a user id; 0
// when it is not one of ours.
func UserIDFromPasskeyHandle(h []byte) uint64 { return btoi(h) }

// CheckPasskeyName trims a passkey's name and checks it: 1 to
// MaxPasskeyNameLength characters, no control characters. It returns
// EINVALID on "name" otherwise.
func CheckPasskeyName(name string) (string, error) {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return "", FieldErrorf("name", "is required; name the passkey after the device that holds it, such as Laptop")
	case !utf8.ValidString(name) || utf8.RuneCountInString(name) > MaxPasskeyNameLength:
		return "", FieldErrorf("name", "must be at most %d characters", MaxPasskeyNameLength)
	case strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return "", FieldErrorf("name", "must not hold control characters")
	}
	return name, nil
}

// AddPasskey stores a new passkey of user pk.UserID, made by actor, with
// a passkey-added event. It returns ENOTFOUND for an unknown user,
// EINVALID for a bad name or an empty credential, ECONFLICT when the user
// already has this credential, and EINVALID when the user already holds
// MaxPasskeysPerUser.
func (s *Store) AddPasskey(actor Actor, pk Passkey) (Passkey, error) {
	name, err := CheckPasskeyName(pk.Name)
	if err != nil {
		return Passkey{}, err
	}
	if n := len(pk.CredentialID); n == 0 || n > maxCredentialIDBytes || len(pk.PublicKey) == 0 {
		return Passkey{}, Errorf(EINVALID, "The passkey has no credential id or public key; create it again.")
	}
	rec := passkeyRecord{V: 1, Name: name, PublicKey: pk.PublicKey, AttestationType: pk.AttestationType,
		AttestationFormat: pk.AttestationFormat, Transports: pk.Transports, Attachment: pk.Attachment,
		AAGUID: pk.AAGUID, SignCount: pk.SignCount, UserPresent: pk.UserPresent, UserVerified: pk.UserVerified,
		BackupEligible: pk.BackupEligible, BackupState: pk.BackupState}
	err = s.update(func(tx *bolt.Tx) error {
		u, err := getUserTx(tx, pk.UserID)
		if err != nil {
			return err
		}
		b := tx.Bucket(bucketPasskeys)
		key := passkeyKey(pk.UserID, pk.CredentialID)
		if b.Get(key) != nil {
			return Errorf(ECONFLICT, "This passkey is already registered to your account.")
		}
		if n := countPrefix(b, itob(pk.UserID)); n >= MaxPasskeysPerUser {
			return Errorf(EINVALID, "You already have %d passkeys, the most an account may hold; remove one you no longer use first.", n)
		}
		rec.CreatedAt = s.clock()
		if err := putJSON(b, key, rec); err != nil {
			return err
		}
		return s.addEventTx(tx, actor, EventPasskeyAdded, "user", pk.UserID, map[string]any{"email": u.Email, "name": name})
	})
	if err != nil {
		return Passkey{}, err
	}
	return rec.passkey(pk.UserID, pk.CredentialID), nil
}

func countPrefix(b *bolt.Bucket, prefix []byte) int {
	n := 0
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		n++
	}
	return n
}

// Passkeys lists a user's passkeys, oldest first (an unknown user has
// none).
func (s *Store) Passkeys(userID uint64) ([]Passkey, error) {
	var out []Passkey
	err := s.db.View(func(tx *bolt.Tx) error {
		prefix := itob(userID)
		c := tx.Bucket(bucketPasskeys).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			var rec passkeyRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return fmt.Errorf("decode record %x: %w", k, err)
			}
			out = append(out, rec.passkey(userID, k[8:]))
		}
		return nil
	})
	// The key order is the credential id's; people read them by age.
	slices.SortStableFunc(out, func(a, b Passkey) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out, err
}

// FindPasskey returns the passkey credID of user userID, or ENOTFOUND.
func (s *Store) FindPasskey(userID uint64, credID []byte) (Passkey, error) {
	var pk Passkey
	err := s.db.View(func(tx *bolt.Tx) error {
		rec, err := getPasskeyTx(tx, userID, credID)
		pk = rec.passkey(userID, credID)
		return err
	})
	return pk, err
}

var errNoPasskey = Errorf(ENOTFOUND, "There is no such passkey on this account; it may have been removed already.")

func getPasskeyTx(tx *bolt.Tx, userID uint64, credID []byte) (passkeyRecord, error) {
	var rec passkeyRecord
	if userID == 0 || len(credID) == 0 || len(credID) > maxCredentialIDBytes {
		return rec, errNoPasskey
	}
	ok, err := getJSON(tx.Bucket(bucketPasskeys), passkeyKey(userID, credID), &rec)
	if err != nil {
		return rec, err
	}
	if !ok {
		return rec, errNoPasskey
	}
	return rec, nil
}

// DeletePasskey removes the passkey credID of user userID, made by actor,
// with a passkey-removed event; ENOTFOUND when there is none.
func (s *Store) DeletePasskey(actor Actor, userID uint64, credID []byte) error {
	return s.update(func(tx *bolt.Tx) error {
		rec, err := getPasskeyTx(tx, userID, credID)
		if err != nil {
			return err
		}
		u, err := getUserTx(tx, userID)
		if err != nil {
			return err
		}
		if err := tx.Bucket(bucketPasskeys).Delete(passkeyKey(userID, credID)); err != nil {
			return err
		}
		return s.addEventTx(tx, actor, EventPasskeyRemoved, "user", userID, map[string]any{"email": u.Email, "name": rec.Name})
	})
}

// deleteUserPasskeysTx deletes every passkey of a user.
func deleteUserPasskeysTx(tx *bolt.Tx, userID uint64) error {
	prefix := itob(userID)
	b := tx.Bucket(bucketPasskeys)
	var keys [][]byte
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		keys = append(keys, append([]byte(nil), k...))
	}
	for _, k := range keys {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// ErrPasskeyLogin is the one answer to a passkey that cannot log in: an
// unknown or removed credential, a deleted user, or a signature counter
// that went backwards (a cloned authenticator).
var ErrPasskeyLogin = Errorf(EUNAUTHORIZED, "This passkey is not registered here, or no longer is; log in with your password, or use another passkey.")

// usePasskeyTx records a verified assertion of passkey credID of user
// userID and returns the user: ErrPasskeyLogin when the passkey or the
// user is gone or the counter did not move forward, ErrAccountDisabled
// for a disabled user. A counter that stays 0 is an authenticator that
// keeps none, and is accepted.
func (s *Store) usePasskeyTx(tx *bolt.Tx, userID uint64, credID []byte, use PasskeyUse) (userRecord, error) {
	rec, err := getPasskeyTx(tx, userID, credID)
	if ErrorCode(err) == ENOTFOUND {
		return userRecord{}, ErrPasskeyLogin
	} else if err != nil {
		return userRecord{}, err
	}
	u, err := getUserTx(tx, userID)
	if ErrorCode(err) == ENOTFOUND {
		return userRecord{}, ErrPasskeyLogin
	} else if err != nil {
		return userRecord{}, err
	}
	if !u.user().Active() {
		return userRecord{}, ErrAccountDisabled
	}
	if (rec.SignCount != 0 || use.SignCount != 0) && use.SignCount <= rec.SignCount {
		return userRecord{}, ErrPasskeyLogin
	}
	now := s.clock()
	rec.SignCount, rec.LastUsedAt, rec.BackupState = use.SignCount, &now, use.BackupState
	rec.UserVerified = rec.UserVerified || use.UserVerified
	if err := putJSON(tx.Bucket(bucketPasskeys), passkeyKey(userID, credID), rec); err != nil {
		return userRecord{}, err
	}
	return u, nil
}

// PasskeyLogin records a verified assertion of passkey credID of user
// userID (see usePasskeyTx for its refusals) and opens a session lasting
// ttl, in one transaction. A passkey is both factors of a login. The
// failed-login count of the password is left as it is: an assertion is
// not a password guess, and a passkey login does not excuse guesses.
func (s *Store) PasskeyLogin(userID uint64, credID []byte, use PasskeyUse, ttl time.Duration) (LoginResult, error) {
	token, err := s.newSecret(32)
	if err != nil {
		return LoginResult{}, err
	}
	var res LoginResult
	err = s.update(func(tx *bolt.Tx) error {
		u, err := s.usePasskeyTx(tx, userID, credID, use)
		if err != nil {
			return err
		}
		now := s.clock()
		u.SeenAt = &now
		hash := hashToken(token)
		sess := sessionRecord{V: 1, UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(ttl), AMR: passkeyAMR(use.UserVerified)}
		if err := putJSON(tx.Bucket(bucketSessions), []byte(hash), sess); err != nil {
			return err
		}
		if err := tx.Bucket(bucketSessionsByUser).Put(sessionUserKey(u.ID, hash), nil); err != nil {
			return err
		}
		res = LoginResult{User: u.user(), Token: token, ExpiresAt: sess.ExpiresAt}
		return putJSON(tx.Bucket(bucketUsers), itob(u.ID), u)
	})
	if err != nil {
		return LoginResult{}, err
	}
	return res, nil
}
