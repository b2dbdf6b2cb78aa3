package db

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"slices"
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
	// AMR says how the user proved who they are when the session was
	// opened, as OpenID Connect's amr claim (RFC 8176) names it. Sessions
	// stored before it existed have none and count as a password.
	AMR []string `json:"amr,omitempty"`
}

// The authentication methods a session records (RFC 8176 values).
var (
	// amrPassword: a password alone.
	amrPassword = []string{"pwd"}
	// amrPasswordOTP: a password and a one-time code (the authenticator
	// app's, or a recovery code).
	amrPasswordOTP = []string{"pwd", "otp", "mfa"}
	// amrPasswordPasskey: a password and a passkey as the second factor.
	amrPasswordPasskey = []string{"pwd", "pop", "mfa"}
)

// passkeyAMR is what a login with a passkey alone proves: possession of
// the key, and with user verification (the authenticator's PIN or
// biometric) a second factor too.
func passkeyAMR(userVerified bool) []string {
	if userVerified {
		return []string{"pop", "mfa"}
	}
	return []string{"pop"}
}

// amr is the session's methods: a password for a session older than them.
func (rec sessionRecord) amr() []string {
	if len(rec.AMR) == 0 {
		return slices.Clone(amrPassword)
	}
	return slices.Clone(rec.AMR)
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
	// SecondFactor is set, with no Token, when the password was right but
	// the login waits for a second factor (ErrSecondFactorRequired).
	SecondFactor *SecondFactorPending
	// RecoveryCodes are the new recovery codes of a login that set up an
	// authenticator app (MethodTOTPSetup), shown once.
	RecoveryCodes []string
}

// ErrBadLogin is the one answer to an unknown login, a wrong password and
// any password while the account is throttled, so the answer never tells
// whether an account exists nor whether it is being slowed down.
var ErrBadLogin = Errorf(EUNAUTHORIZED, "Wrong username or password.")

// ErrAccountDisabled answers a right password for a disabled account. Only
// someone who knows the password ever sees it: a wrong password for a
// disabled account, or any password while it is throttled, is ErrBadLogin
// like any other, so the answer tells nothing to someone guessing.
var ErrAccountDisabled = Errorf(EFORBIDDEN, "This account is disabled, so it cannot log in; ask an admin to enable it.")

// RecordLogin applies the result of a password check to the user in one
// transaction (the write step of Accounts.Login), following th (see Throttle). A right password outside a
// wait resets the count and the wait, sets seenAt and opens a session
// lasting ttl. Anything else returns ErrBadLogin and counts a failed login
// in loginAttempts: a wrong password outside a wait starts the wait that
// th gives for the new count; a login during a wait (the password was
// unchecked, or it was checked just before another failure started the
// wait) leaves the wait as it is, so hammering an account never makes its
// owner wait longer than th.Max. A right password outside a wait for a
// disabled user returns ErrAccountDisabled, and for a user whose address
// is not verified yet ErrEmailUnverified with the user in the result,
// and for a user waiting for an Admin's approval (verified, or needing
// no verification) ErrPendingApproval with the user; none changes
// anything.
func (s *Store) RecordLogin(userID uint64, check PasswordCheck, th Throttle, ttl time.Duration) (LoginResult, error) {
	return s.recordLogin(userID, check, "", th, ttl, nil)
}

// recordLogin is RecordLogin, the write step of Accounts.Login, where
// checkedHash ("" for none) is the stored hash the password was checked
// against: a password right for a hash that was replaced meanwhile is no
// longer right, so it opens no session after the change ended them all.
//
// A right password of a user who has a second factor, or whose role is in
// require and has none, opens no session: it returns
// ErrSecondFactorRequired (or ErrSecondFactorSetupRequired) with
// res.SecondFactor, and leaves the failed-login count as it is.
func (s *Store) recordLogin(userID uint64, check PasswordCheck, checkedHash string, th Throttle, ttl time.Duration, require []Role) (LoginResult, error) {
	var res LoginResult
	var token string
	if check == PasswordRight {
		var err error
		if token, err = s.newSecret(32); err != nil {
			return res, err
		}
	}
	var outcome error
	err := s.update(func(tx *bolt.Tx) error {
		rec, err := getUserTx(tx, userID)
		if ErrorCode(err) == ENOTFOUND {
			outcome = ErrBadLogin // deleted while the password was checked
			return nil
		} else if err != nil {
			return err
		}
		if check == PasswordRight && checkedHash != "" && rec.PasswordHash != checkedHash {
			check = PasswordWrong
		}
		now := s.clock()
		// The wait is judged again here, in the write transaction: a
		// right password checked while a concurrent guess started a wait
		// is refused too, so parallel guesses learn nothing either.
		waiting := rec.throttled(now)
		if check == PasswordRight && !waiting && !rec.user().Active() {
			// Neither a success (no session, seenAt unchanged) nor a
			// failure to count: the password was right, so the answer
			// may say why (and name the user, for a page that offers to
			// send the verification email again).
			// An address to verify comes first: that the user can do
			// now, while the approval is not theirs to hasten.
			outcome = ErrAccountDisabled
			if !rec.Disabled && rec.Unverified {
				outcome = ErrEmailUnverified
				res.User = rec.user()
			} else if !rec.Disabled && rec.Pending {
				outcome = ErrPendingApproval
				res.User = rec.user()
			}
			return nil
		}
		if check == PasswordRight && !waiting {
			// A user with a second factor, or whose role must have one,
			// gets a continuation instead of a session (DESIGN §11).
			if methods := methodsTx(tx, rec, slices.Contains(require, rec.RootRole)); len(methods) > 0 {
				pending, err := s.pendLoginTx(tx, &rec, methods)
				if err != nil {
					return err
				}
				res.SecondFactor, res.User = pending, rec.user()
				outcome = ErrSecondFactorRequired
				if slices.Equal(methods, []string{MethodTOTPSetup}) {
					outcome = ErrSecondFactorSetupRequired
				}
				return putJSON(tx.Bucket(bucketUsers), itob(rec.ID), rec)
			}
			res, err = s.openSessionTx(tx, &rec, token, ttl, amrPassword)
			return err
		}
		outcome = ErrBadLogin
		if err := s.countFailedLoginTx(tx, &rec, th, check == PasswordWrong && !waiting); err != nil {
			return err
		}
		res.User = rec.user()
		return nil
	})
	if err != nil {
		return LoginResult{}, err
	}
	return res, outcome
}

// openSessionTx ends a successful login of rec: the failed-login count
// and wait are reset, seenAt set, and a session lasting ttl opened with
// token, recording the methods amr; rec is stored.
func (s *Store) openSessionTx(tx *bolt.Tx, rec *userRecord, token string, ttl time.Duration, amr []string) (LoginResult, error) {
	now := s.clock()
	rec.LoginAttempts = 0
	rec.ThrottledUntil = nil
	rec.SeenAt = &now
	hash := hashToken(token)
	sess := sessionRecord{V: 1, UserID: rec.ID, CreatedAt: now, ExpiresAt: now.Add(ttl), AMR: amr}
	if err := putJSON(tx.Bucket(bucketSessions), []byte(hash), sess); err != nil {
		return LoginResult{}, err
	}
	if err := tx.Bucket(bucketSessionsByUser).Put(sessionUserKey(rec.ID, hash), nil); err != nil {
		return LoginResult{}, err
	}
	if err := putJSON(tx.Bucket(bucketUsers), itob(rec.ID), rec); err != nil {
		return LoginResult{}, err
	}
	return LoginResult{User: rec.user(), Token: token, ExpiresAt: sess.ExpiresAt}, nil
}

// countFailedLoginTx counts a failed login of rec and stores it; when
// startWait, it also starts the wait th gives for the new count (with one
// user-locked event when the slowing down begins). A failure during a
// wait leaves the wait as it is.
func (s *Store) countFailedLoginTx(tx *bolt.Tx, rec *userRecord, th Throttle, startWait bool) error {
	now := s.clock()
	rec.LoginAttempts++
	if wait := th.Wait(rec.LoginAttempts); startWait && wait > 0 {
		first := rec.ThrottledUntil == nil
		until := now.Add(wait)
		rec.ThrottledUntil = &until
		// One event when the slowing down begins, not one per wait.
		if first {
			data := map[string]any{"email": rec.Email, "loginAttempts": rec.LoginAttempts, "until": FormatTime(until)}
			if err := s.addEventTx(tx, SystemActor, EventUserLocked, "user", rec.ID, data); err != nil {
				return err
			}
		}
	}
	return putJSON(tx.Bucket(bucketUsers), itob(rec.ID), rec)
}

var errBadSession = Errorf(EUNAUTHORIZED, "Your session has ended or is not valid; log in again.")

// AuthenticateSession returns the user of a live session, or EUNAUTHORIZED
// (also when the user is disabled, deleted or not verified: no login
// opens a session for an unverified user, and this check makes sure).
func (s *Store) AuthenticateSession(token string) (User, error) {
	hash := hashToken(token)
	// The generation is read before the transaction begins: if a write
	// commits in between, what is read is stored under the older
	// generation and never used. The expiry is judged on every call.
	gen := s.gen.Load()
	if c, ok := s.sessions.get(gen, hash); ok {
		if !s.now().Before(c.expiresAt) {
			return User{}, errBadSession
		}
		return cloneUser(c.user), nil
	}
	var (
		u       User
		expires time.Time
	)
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
		if err != nil {
			return err
		}
		// Disabling ends the sessions too; checking here as well means a
		// session can never outlive the change, however it was kept.
		if u = rec.user(); !u.Active() {
			u = User{}
			return errBadSession
		}
		expires = sess.ExpiresAt
		return nil
	})
	if err != nil {
		return u, err
	}
	s.sessions.put(gen, s.gen.Load(), hash, cachedSession{user: cloneUser(u), expiresAt: expires})
	return u, nil
}

// SessionAMR returns how the user of a live session proved who they are
// when it was opened (RFC 8176 values, such as pwd, otp, pop and mfa), or
// EUNAUTHORIZED when the session is not live.
func (s *Store) SessionAMR(token string) ([]string, error) {
	var amr []string
	err := s.db.View(func(tx *bolt.Tx) error {
		var sess sessionRecord
		ok, err := getJSON(tx.Bucket(bucketSessions), []byte(hashToken(token)), &sess)
		if err != nil {
			return err
		}
		if !ok || !s.now().Before(sess.ExpiresAt) {
			return errBadSession
		}
		amr = sess.amr()
		return nil
	})
	return amr, err
}

// DeleteSession ends a session; ending an unknown one is not an error.
func (s *Store) DeleteSession(token string) error {
	hash := hashToken(token)
	return s.update(func(tx *bolt.Tx) error {
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

// PruneSessions deletes expired sessions, in transactions of at most
// DefaultPruneBatch, and returns how many.
func (s *Store) PruneSessions() (int, error) {
	return s.pruneInBatches(s.now(), DefaultPruneBatch, pruneSessionsTx)
}
