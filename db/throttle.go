package db

import (
	"time"

	bolt "go.etcd.io/bbolt"
)

// ThrottleBase is the first wait an account is given once failed logins
// start slowing it down; each further failed login doubles it.
const ThrottleBase = time.Minute

// DefaultLockoutMax is the longest wait when Throttle.Max is not set
// (auth.lockout_max).
const DefaultLockoutMax = 15 * time.Minute

// Throttle is how failed logins slow an account down (DESIGN §11). The
// MaxAttempts-th failed login in a row makes the account wait ThrottleBase,
// and every later one twice as long as the one before it (1m, 2m, 4m, 8m,
// …), never longer than Max: so a guesser gets a few tries an hour, and
// the owner is never locked out for longer than Max.
type Throttle struct {
	// MaxAttempts is how many failed logins in a row are allowed before
	// the first wait; below 1 counts as 1.
	MaxAttempts int
	// Max caps every wait; 0 or less means DefaultLockoutMax.
	Max time.Duration
}

// Wait returns how long an account must wait after its n-th failed login
// in a row: 0 below MaxAttempts, then ThrottleBase·2^(n−MaxAttempts),
// capped at Max.
func (t Throttle) Wait(n int) time.Duration {
	free := max(t.MaxAttempts, 1)
	limit := t.Max
	if limit <= 0 {
		limit = DefaultLockoutMax
	}
	if n < free {
		return 0
	}
	wait := ThrottleBase
	for k := n - free; k > 0 && wait < limit; k-- {
		wait *= 2
	}
	return min(wait, limit)
}

// PasswordCheck is what a login attempt found out about the password, for
// RecordLogin.
type PasswordCheck int

// The outcomes of a password check.
const (
	// PasswordWrong: the password was checked and does not match.
	PasswordWrong PasswordCheck = iota
	// PasswordRight: the password was checked and matches.
	PasswordRight
	// PasswordUnchecked: the account was waiting (LoginThrottled), so the
	// password was not looked at.
	PasswordUnchecked
)

// LoginThrottled reports whether failed logins make the user wait now, in
// which case a login must not check the password at all (so guesses in the
// wait teach nothing) and RecordLogin refuses it. An unknown user is not
// throttled; RecordLogin answers for it.
func (s *Store) LoginThrottled(userID uint64) (bool, error) {
	var waiting bool
	err := s.db.View(func(tx *bolt.Tx) error {
		rec, err := getUserTx(tx, userID)
		if ErrorCode(err) == ENOTFOUND {
			return nil
		} else if err != nil {
			return err
		}
		waiting = rec.throttled(s.clock())
		return nil
	})
	return waiting, err
}

// throttled reports whether the user is in a wait at now.
func (r userRecord) throttled(now time.Time) bool {
	return r.ThrottledUntil != nil && now.Before(*r.ThrottledUntil)
}
