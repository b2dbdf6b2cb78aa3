package db

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"time"

	bolt "go.etcd.io/bbolt"
)

// A session is what a login cookie stands for. Only a hash of its token is
// stored, so a copy of the database lets nobody in.
type sessionRecord struct {
	V         int       `json:"v"`
	UserID    uint64    `json:"user_id"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

func hashToken(raw string) string {
	sum := sha256.Sum256([]byte(raw))
	return hex.EncodeToString(sum[:])
}

func sessionUserKey(userID uint64, hash string) []byte {
	return append(itob(userID), hash...)
}

// LoginResult is the outcome of RecordLogin.
type LoginResult struct {
	User User
	// Token is the new session's token when the login succeeded.
	Token     string
	ExpiresAt time.Time
}

// ErrBadLogin is the one answer to an unknown login or a wrong password,
// so the answer never tells whether an account exists.
var ErrBadLogin = Errorf(EUNAUTHORIZED, "Wrong username or password.")

// ErrLocked answers a correct password on a locked account.
func errAccountLocked(max int) error {
	return Errorf(EUNAUTHORIZED, "This account is locked after %d failed logins in a row; an admin must unlock it (in `invited admin`, or POST /api/admin/user-admin/:id/unlock).", max)
}

// RecordLogin applies the result of a password check to the user in one
// transaction. A wrong password counts a failed attempt (and locks the
// account when the count reaches maxAttempts) and returns ErrBadLogin. A
// right password on a locked account returns an error that says it is
// locked. A right password otherwise resets the count, sets seenAt and
// opens a session lasting ttl.
func (s *Store) RecordLogin(userID uint64, passwordOK bool, maxAttempts int, ttl time.Duration) (LoginResult, error) {
	var res LoginResult
	var token string
	if passwordOK {
		var err error
		if token, err = s.newSecret(32); err != nil {
			return res, err
		}
	}
	var outcome error
	err := s.db.Update(func(tx *bolt.Tx) error {
		rec, err := getUserTx(tx, userID)
		if ErrorCode(err) == ENOTFOUND {
			outcome = ErrBadLogin // deleted while the password was checked
			return nil
		} else if err != nil {
			return err
		}
		now := s.clock()
		switch {
		case !passwordOK:
			rec.LoginAttempts++
			outcome = ErrBadLogin
			if rec.LoginAttempts == maxAttempts {
				if err := s.addEventTx(tx, SystemActor, EventUserLocked, "user", rec.ID, map[string]any{"email": rec.Email, "loginAttempts": rec.LoginAttempts}); err != nil {
					return err
				}
			}
		case rec.LoginAttempts >= maxAttempts:
			outcome = errAccountLocked(maxAttempts)
			return nil
		default:
			rec.LoginAttempts = 0
			rec.SeenAt = &now
			hash := hashToken(token)
			sess := sessionRecord{V: 1, UserID: rec.ID, CreatedAt: now, ExpiresAt: now.Add(ttl)}
			if err := putJSON(tx.Bucket(bucketSessions), []byte(hash), sess); err != nil {
				return err
			}
			if err := tx.Bucket(bucketSessionsByUser).Put(sessionUserKey(rec.ID, hash), nil); err != nil {
				return err
			}
			res.Token, res.ExpiresAt = token, sess.ExpiresAt
		}
		res.User = rec.user()
		return putJSON(tx.Bucket(bucketUsers), itob(rec.ID), rec)
	})
	if err != nil {
		return LoginResult{}, err
	}
	return res, outcome
}

var errBadSession = Errorf(EUNAUTHORIZED, "Your session has ended or is not valid; log in again at /auth/simple/login.")

// AuthenticateSession returns the user of a live session, or EUNAUTHORIZED.
func (s *Store) AuthenticateSession(token string) (User, error) {
	hash := hashToken(token)
	var u User
	err := s.db.View(func(tx *bolt.Tx) error {
		var sess sessionRecord
		ok, err := getJSON(tx.Bucket(bucketSessions), []byte(hash), &sess)
		if err != nil {
			return err
		}
		if !ok || !s.now().Before(sess.ExpiresAt) {
			return errBadSession
		}
		rec, err := getUserTx(tx, sess.UserID)
		if ErrorCode(err) == ENOTFOUND {
			return errBadSession
		}
		u = rec.user()
		return err
	})
	return u, err
}

// DeleteSession ends a session; ending an unknown one is not an error.
func (s *Store) DeleteSession(token string) error {
	hash := hashToken(token)
	return s.db.Update(func(tx *bolt.Tx) error {
		var sess sessionRecord
		ok, err := getJSON(tx.Bucket(bucketSessions), []byte(hash), &sess)
		if err != nil || !ok {
			return err
		}
		if err := tx.Bucket(bucketSessions).Delete([]byte(hash)); err != nil {
			return err
		}
		return tx.Bucket(bucketSessionsByUser).Delete(sessionUserKey(sess.UserID, hash))
	})
}

// deleteUserSessionsTx ends every session of a user.
func deleteUserSessionsTx(tx *bolt.Tx, userID uint64) error {
	prefix := itob(userID)
	byUser := tx.Bucket(bucketSessionsByUser)
	var keys [][]byte
	c := byUser.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		keys = append(keys, append([]byte(nil), k...))
	}
	for _, k := range keys {
		if err := tx.Bucket(bucketSessions).Delete(k[8:]); err != nil {
			return err
		}
		if err := byUser.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// PruneSessions deletes expired sessions and returns how many.
func (s *Store) PruneSessions() (int, error) {
	n := 0
	err := s.db.Update(func(tx *bolt.Tx) error {
		var dead [][]byte
		var owners []uint64
		err := tx.Bucket(bucketSessions).ForEach(func(k, v []byte) error {
			var sess sessionRecord
			if ok, err := getJSON(tx.Bucket(bucketSessions), k, &sess); err != nil || !ok {
				return err
			}
			if !s.now().Before(sess.ExpiresAt) {
				dead = append(dead, append([]byte(nil), k...))
				owners = append(owners, sess.UserID)
			}
			return nil
		})
		if err != nil {
			return err
		}
		for i, k := range dead {
			if err := tx.Bucket(bucketSessions).Delete(k); err != nil {
				return err
			}
			if err := tx.Bucket(bucketSessionsByUser).Delete(sessionUserKey(owners[i], string(k))); err != nil {
				return err
			}
		}
		n = len(dead)
		return nil
	})
	return n, err
}
