package db

import (
	"bytes"
	"strings"

	bolt "go.etcd.io/bbolt"
)

// EventPasswordChanged is recorded when a user's password is replaced. Its
// data holds the user's email and how many sessions the change ended, never
// the password or its hash.
const EventPasswordChanged = "password-changed"

// ChangePassword replaces a user's password hash, ends every session of
// the user (whoever knew the old password is logged out everywhere) and
// records a password-changed event, in one transaction: the write step of
// Accounts.ChangePassword, which checks the current password first, for
// tools that set a password without it. newHash must be an argon2id hash
// made by Hasher.Hash. It returns ENOTFOUND for an unknown user and
// EINVALID for something that is not an argon2id hash.
func (s *Store) ChangePassword(actor Actor, userID uint64, newHash string) error {
	return s.changePassword(actor, userID, newHash, "", "")
}

// changePassword is ChangePassword keeping the session whose token hash is
// keepHash ("" keeps none). A non-empty oldHash is the hash the current
// password was checked against: when the stored one differs, another
// change came first, and this one is refused rather than undoing it with
// a password that is no longer the current one.
func (s *Store) changePassword(actor Actor, userID uint64, newHash, keepHash, oldHash string) error {
	// A stray plain-text password must never be stored as the hash.
	if !strings.HasPrefix(newHash, "$argon2id$") {
		return Errorf(EINVALID, "The new password hash is not an argon2id hash; hash the password before storing it.")
	}
	return s.update(func(tx *bolt.Tx) error {
		rec, err := getUserTx(tx, userID)
		if err != nil {
			return err
		}
		if oldHash != "" && rec.PasswordHash != oldHash {
			return FieldErrorf("currentPassword", "was changed meanwhile, from another session; type the password you log in with now")
		}
		rec.PasswordHash = newHash
		if err := putJSON(tx.Bucket(bucketUsers), itob(rec.ID), rec); err != nil {
			return err
		}
		ended, err := deleteSessionsExceptTx(tx, rec.ID, keepHash)
		if err != nil {
			return err
		}
		return s.addEventTx(tx, actor, EventPasswordChanged, "user", rec.ID, map[string]any{
			"email": rec.Email, "sessionsEnded": ended,
		})
	})
}

// deleteSessionsExceptTx ends every session of a user but the one whose
// token hash is keepHash ("" keeps none), and returns how many it ended.
func deleteSessionsExceptTx(tx *bolt.Tx, userID uint64, keepHash string) (int, error) {
	prefix := itob(userID)
	byUser := tx.Bucket(bucketSessionsByUser)
	var keys [][]byte
	c := byUser.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		if keepHash != "" && string(k[len(prefix):]) == keepHash {
			continue
		}
		keys = append(keys, append([]byte(nil), k...))
	}
	for _, k := range keys {
		if err := tx.Bucket(bucketSessions).Delete(k[len(prefix):]); err != nil {
			return 0, err
		}
		if err := byUser.Delete(k); err != nil {
			return 0, err
		}
	}
	return len(keys), nil
}

// SendsWelcomeEmails reports whether a new user gets a welcome email, so
// that a signup page can say so.
func (s *Store) SendsWelcomeEmails() bool { return s.welcomeEnabled }
