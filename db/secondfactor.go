package db

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/base32"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	bolt "go.etcd.io/bbolt"
)

// Second factors (DESIGN §11): a TOTP authenticator (RFC 6238: SHA-1, six
// digits, 30-second steps, one step of drift either way) with ten
// single-use recovery codes, and passkeys, whose credentials live in the
// passkeys bucket. After a right password, a user who has one (or whose
// role must have one) gets no session but a continuation (a one-time
// user token of purpose TokenSecondFactor, 5 minutes), which
// finishSecondFactor turns into a session once a factor is shown.

// The methods that can finish a login after the password, as a login
// that needs one lists them (SecondFactorPending.Methods).
const (
	MethodTOTP     = "totp"     // a code from the authenticator app
	MethodRecovery = "recovery" // one of the recovery codes
	MethodPasskey  = "passkey"  // a passkey of the user
	// MethodTOTPSetup: the user's role requires a second factor and the
	// user has none, so the login goes on only once an authenticator is
	// set up with the continuation (BeginTOTPAtLogin, then a code).
	MethodTOTPSetup = "totp-setup"
)

// SecondFactorTTL is how long a continuation stays valid.
const SecondFactorTTL = 5 * time.Minute

// maxContinuationFails is how many wrong codes a continuation takes
// before it is deleted; each of them also counts as a failed login.
const maxContinuationFails = 3

// RecoveryCodeCount is how many recovery codes enabling TOTP gives.
const RecoveryCodeCount = 10

// totpPeriod and totpSkew are the RFC 6238 step and the drift allowed.
const (
	totpPeriod = 30
	totpSkew   = 1
)

// recoveryAlphabet has 32 symbols without i, l, o and u (Crockford's
// base32, lower case), so a code read aloud or typed is hard to get wrong.
const recoveryAlphabet = "0123456789abcdefghjkmnpqrstvwxyz"

// recoveryCodeLen is a recovery code's length without its dash: 50 bits.
const recoveryCodeLen = 10

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// ErrSecondFactorRequired is the error of a login whose password was right
// but which needs a second factor; the LoginResult holds the continuation.
var ErrSecondFactorRequired = Errorf(EUNAUTHORIZED, "The password is right; now give the code from your authenticator app, or one of your recovery codes.")

// ErrSecondFactorSetupRequired is the error of a login whose password was
// right, by a user whose role must have a second factor and who has none:
// it goes on once an authenticator app is set up with the continuation.
var ErrSecondFactorSetupRequired = Errorf(EUNAUTHORIZED, "The password is right, but your role requires a second factor: set up an authenticator app to finish logging in.")

// ErrBadSecondFactor is the one answer to a wrong code, a code used
// already, an unknown or dead continuation, and any code while the
// account is throttled.
var ErrBadSecondFactor = Errorf(EUNAUTHORIZED, "The code is not right, or this login step has expired; log in again with your password if it keeps failing.")

// SecondFactorPending is a login waiting for its second factor.
type SecondFactorPending struct {
	// Continuation is the one-time token that carries the login on.
	Continuation string
	ExpiresAt    time.Time
	// Methods are the Method* names that can finish it.
	Methods []string
}

// SecondFactorState is what a user has set up.
type SecondFactorState struct {
	TOTP          bool
	TOTPEnabledAt *time.Time
	// RecoveryCodesLeft counts the recovery codes not used yet.
	RecoveryCodesLeft int
	// Passkeys counts the user's passkeys.
	Passkeys int
}

// Any says whether the user has a second factor at all.
func (st SecondFactorState) Any() bool { return st.TOTP || st.Passkeys > 0 }

// TOTPSetup is an authenticator secret waiting to be confirmed.
type TOTPSetup struct {
	// Secret is the shared secret in base32, as authenticator apps take it.
	Secret string
	// Account is the user's email, the name the app shows.
	Account string
}

// newTOTPSecret makes a 160-bit secret (RFC 4226's recommended length).
func (s *Store) newTOTPSecret() (string, error) {
	b := make([]byte, 20)
	if _, err := io.ReadFull(s.rand, b); err != nil {
		return "", fmt.Errorf("read random bytes: %w", err)
	}
	return b32.EncodeToString(b), nil
}

// newRecoveryCodes makes RecoveryCodeCount codes ("xxxxx-xxxxx") and their
// hashes.
func (s *Store) newRecoveryCodes() (codes, hashes []string, err error) {
	for range RecoveryCodeCount {
		b := make([]byte, recoveryCodeLen)
		if _, err := io.ReadFull(s.rand, b); err != nil {
			return nil, nil, fmt.Errorf("read random bytes: %w", err)
		}
		for i := range b {
			b[i] = recoveryAlphabet[b[i]&31] // 256 is a multiple of 32: uniform
		}
		codes = append(codes, string(b[:5])+"-"+string(b[5:]))
		hashes = append(hashes, hashToken(string(b)))
	}
	return codes, hashes, nil
}

// normalizeCode reads what a person typed as a code: spaces and dashes
// dropped, lower case, and the letters a recovery code never holds read
// as the digits they look like.
func normalizeCode(code string) string {
	if len(code) > 64 {
		return ""
	}
	r := strings.NewReplacer(" ", "", "-", "", "\t", "", "o", "0", "i", "1", "l", "1")
	return r.Replace(strings.ToLower(strings.TrimSpace(code)))
}

func isDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

// totpStep returns the time step at which code is secret's code, within
// one step of now, or false. Codes are compared in constant time.
func totpStep(secret, code string, now time.Time) (int64, bool) {
	if len(code) != 6 || !isDigits(code) {
		return 0, false
	}
	cur := now.Unix() / totpPeriod
	for d := int64(-totpSkew); d <= totpSkew; d++ {
		step := cur + d
		want, err := totp.GenerateCodeCustom(secret, time.Unix(step*totpPeriod, 0), totp.ValidateOpts{
			Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return step, true
		}
	}
	return 0, false
}

// useCodeTx checks code against rec's TOTP secret (a code of a step not
// newer than the last one used is refused: no replay) and its recovery
// codes (a used one is removed). It returns the method that matched, or
// "" and changes nothing. The caller stores rec.
func useCodeTx(rec *userRecord, code string, now time.Time) string {
	c := normalizeCode(code)
	switch {
	case len(c) == 6 && rec.TOTPSecret != "":
		if step, ok := totpStep(rec.TOTPSecret, c, now); ok && step > rec.TOTPLastStep {
			rec.TOTPLastStep = step
			return MethodTOTP
		}
	case len(c) == recoveryCodeLen:
		h := []byte(hashToken(c))
		for i, stored := range rec.RecoveryCodes {
			if subtle.ConstantTimeCompare(h, []byte(stored)) == 1 {
				rec.RecoveryCodes = slices.Delete(slices.Clone(rec.RecoveryCodes), i, i+1)
				return MethodRecovery
			}
		}
	}
	return ""
}

// passkeyCountTx counts the user's keys in the passkeys bucket (user id
// then credential id).
func passkeyCountTx(tx *bolt.Tx, userID uint64) int {
	b := tx.Bucket(bucketPasskeys)
	if b == nil {
		return 0
	}
	n := 0
	prefix := itob(userID)
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		n++
	}
	return n
}

func secondFactorStateTx(tx *bolt.Tx, rec userRecord) SecondFactorState {
	return SecondFactorState{TOTP: rec.TOTPSecret != "", TOTPEnabledAt: rec.TOTPEnabledAt,
		RecoveryCodesLeft: len(rec.RecoveryCodes), Passkeys: passkeyCountTx(tx, rec.ID)}
}

// SecondFactors returns what user userID has set up; ENOTFOUND for an
// unknown user.
func (s *Store) SecondFactors(userID uint64) (SecondFactorState, error) {
	var st SecondFactorState
	err := s.db.View(func(tx *bolt.Tx) error {
		rec, err := getUserTx(tx, userID)
		st = secondFactorStateTx(tx, rec)
		return err
	})
	return st, err
}

// methodsTx lists what can finish a login of rec after its password:
// nothing when it needs no second factor (required says its role must
// have one).
func methodsTx(tx *bolt.Tx, rec userRecord, required bool) []string {
	st := secondFactorStateTx(tx, rec)
	var m []string
	if st.TOTP {
		m = append(m, MethodTOTP)
	}
	if st.RecoveryCodesLeft > 0 {
		m = append(m, MethodRecovery)
	}
	if st.Passkeys > 0 {
		m = append(m, MethodPasskey)
	}
	if len(m) == 0 && required {
		m = append(m, MethodTOTPSetup)
	}
	return m
}

// pendLoginTx answers a right password of rec that needs a second factor:
// a new continuation replaces any older one, and the count of wrong codes
// starts again. The failed-login count is not reset: only a finished
// login resets it, so that a guesser who knows the password cannot
// reset the count between code guesses.
func (s *Store) pendLoginTx(tx *bolt.Tx, rec *userRecord, methods []string) (*SecondFactorPending, error) {
	secret, t, err := s.issueUserTokenTx(tx, TokenSecondFactor, rec.ID, SecondFactorTTL)
	if err != nil {
		return nil, err
	}
	rec.SecondFactorFails = 0
	return &SecondFactorPending{Continuation: secret, ExpiresAt: t.ExpiresAt, Methods: methods}, nil
}

// BeginTOTP makes a new authenticator secret for user userID, kept aside
// until ConfirmTOTP shows that the app has it (a second call replaces
// it). It returns ENOTFOUND, or ECONFLICT when TOTP is on already.
func (s *Store) BeginTOTP(userID uint64) (TOTPSetup, error) {
	var out TOTPSetup
	err := s.update(func(tx *bolt.Tx) error {
		rec, err := getUserTx(tx, userID)
		if err != nil {
			return err
		}
		out, err = s.beginTOTPTx(tx, &rec)
		return err
	})
	return out, err
}

func (s *Store) beginTOTPTx(tx *bolt.Tx, rec *userRecord) (TOTPSetup, error) {
	if rec.TOTPSecret != "" {
		return TOTPSetup{}, Errorf(ECONFLICT, "An authenticator app is set up already; remove it first to set up another.")
	}
	secret, err := s.newTOTPSecret()
	if err != nil {
		return TOTPSetup{}, err
	}
	rec.TOTPPending = secret
	if err := putJSON(tx.Bucket(bucketUsers), itob(rec.ID), rec); err != nil {
		return TOTPSetup{}, err
	}
	return TOTPSetup{Secret: secret, Account: rec.Email}, nil
}

// errNoPendingTOTP answers a confirmation without a secret to confirm.
var errNoPendingTOTP = Errorf(EINVALID, "There is no authenticator app being set up; start the setup again.")

// errWrongSetupCode answers a confirmation with a wrong code.
var errWrongSetupCode = FieldErrorf("code", "is not the code your authenticator app shows now; check that the app has the new secret and type its current six digits")

// confirmTOTPTx turns rec's pending secret on when code is its code now,
// with new recovery codes, returned once, and records the event.
func (s *Store) confirmTOTPTx(tx *bolt.Tx, actor Actor, rec *userRecord, code string) ([]string, error) {
	if rec.TOTPPending == "" || rec.TOTPSecret != "" {
		return nil, errNoPendingTOTP
	}
	step, ok := totpStep(rec.TOTPPending, normalizeCode(code), s.now())
	if !ok {
		return nil, errWrongSetupCode
	}
	codes, hashes, err := s.newRecoveryCodes()
	if err != nil {
		return nil, err
	}
	now := s.clock()
	rec.TOTPSecret, rec.TOTPPending, rec.TOTPEnabledAt = rec.TOTPPending, "", &now
	rec.TOTPLastStep = step // the code that confirmed cannot also log in
	rec.RecoveryCodes = hashes
	if err := putJSON(tx.Bucket(bucketUsers), itob(rec.ID), rec); err != nil {
		return nil, err
	}
	return codes, s.addEventTx(tx, actor, EventTOTPEnabled, "user", rec.ID, map[string]any{"email": rec.Email})
}

// ConfirmTOTP turns on the secret BeginTOTP made when code is its current
// code, and returns the RecoveryCodeCount recovery codes, shown once
// (only their hashes are kept). It returns ENOTFOUND, EINVALID when no
// setup is pending or the code is wrong (on "code").
func (s *Store) ConfirmTOTP(actor Actor, userID uint64, code string) ([]string, error) {
	var codes []string
	err := s.update(func(tx *bolt.Tx) error {
		rec, err := getUserTx(tx, userID)
		if err != nil {
			return err
		}
		codes, err = s.confirmTOTPTx(tx, actor, &rec, code)
		return err
	})
	return codes, err
}

// RemoveTOTP turns the authenticator app and the recovery codes of user
// userID off, once the user shows their password or a current code
// (one of them; the password is checked outside any transaction). It
// returns ENOTFOUND, EINVALID when TOTP is off or the password or code is
// not right, EUNAVAILABLE when every hashing slot stayed busy.
func (a *Accounts) RemoveTOTP(ctx context.Context, actor Actor, userID uint64, password, code string) error {
	var rec userRecord
	err := a.Store.db.View(func(tx *bolt.Tx) error {
		var err error
		rec, err = getUserTx(tx, userID)
		return err
	})
	if err != nil {
		return err
	}
	if rec.TOTPSecret == "" {
		return Errorf(EINVALID, "No authenticator app is set up, so there is nothing to remove.")
	}
	switch {
	case code != "":
	case password == "":
		return &Error{Code: EINVALID, Message: "Give your password or a current code from your authenticator app to remove it.",
			Details: []FieldError{{Path: "password", Message: "or code is required"}}}
	case len(password) > MaxPasswordBytes:
		return FieldErrorf("password", "is not right; type the password you log in with now")
	default:
		ok, err := a.Hasher.Verify(ctx, password, rec.PasswordHash)
		if err != nil {
			return err
		}
		if !ok {
			return FieldErrorf("password", "is not right; type the password you log in with now")
		}
	}
	return a.Store.update(func(tx *bolt.Tx) error {
		cur, err := getUserTx(tx, userID)
		if err != nil {
			return err
		}
		if cur.TOTPSecret == "" {
			return nil // removed meanwhile
		}
		if code != "" {
			if useCodeTx(&cur, code, a.Store.now()) == "" {
				return FieldErrorf("code", "is not right or was used already; type the code your authenticator app shows now, or a recovery code")
			}
		} else if cur.PasswordHash != rec.PasswordHash {
			return FieldErrorf("password", "was changed meanwhile; type the password you log in with now")
		}
		cur.TOTPSecret, cur.TOTPPending, cur.TOTPEnabledAt, cur.TOTPLastStep, cur.RecoveryCodes = "", "", nil, 0, nil
		if err := putJSON(tx.Bucket(bucketUsers), itob(userID), cur); err != nil {
			return err
		}
		return a.Store.addEventTx(tx, actor, EventTOTPRemoved, "user", userID, map[string]any{"email": cur.Email})
	})
}

// ClearSecondFactors turns off every second factor of user userID (for
// someone who lost them): the authenticator app, the recovery codes, the
// passkeys and a login waiting for one. The user logs in with the
// password alone after it (or sets a factor up again, when their role
// must have one). It returns ENOTFOUND, or EFORBIDDEN when the user's
// role is above the actor's.
func (s *Store) ClearSecondFactors(actor Actor, userID uint64) (User, error) {
	var u User
	err := s.update(func(tx *bolt.Tx) error {
		rec, err := getUserTx(tx, userID)
		if err != nil {
			return err
		}
		if !actor.Role.AtLeast(rec.RootRole) {
			return Errorf(EFORBIDDEN, "%s is a %s, above your role (%s): ask someone with that role to clear their second factors.",
				rec.Email, rec.RootRole.Name(), actor.Role.Name())
		}
		st := secondFactorStateTx(tx, rec)
		rec.TOTPSecret, rec.TOTPPending, rec.TOTPEnabledAt, rec.TOTPLastStep, rec.RecoveryCodes = "", "", nil, 0, nil
		rec.SecondFactorFails = 0
		if err := putJSON(tx.Bucket(bucketUsers), itob(userID), rec); err != nil {
			return err
		}
		if err := deleteUserPasskeysTx(tx, userID); err != nil {
			return err
		}
		if err := deleteUserTokenTx(tx, userID, TokenSecondFactor); err != nil {
			return err
		}
		u = rec.user()
		return s.addEventTx(tx, actor, EventSecondFactorsCleared, "user", userID, map[string]any{
			"email": rec.Email, "totp": st.TOTP, "recoveryCodes": st.RecoveryCodesLeft, "passkeys": st.Passkeys})
	})
	return u, err
}

// BeginTOTPAtLogin starts setting up an authenticator app for the user of
// a login that must set one up (MethodTOTPSetup), with its continuation;
// the login then finishes with CompleteSecondFactor and a code of the new
// secret. It returns ErrBadSecondFactor for an unknown or dead
// continuation, EINVALID when the user has a second factor already (use
// it instead).
func (a *Accounts) BeginTOTPAtLogin(continuation string) (TOTPSetup, error) {
	var out TOTPSetup
	err := a.Store.update(func(tx *bolt.Tx) error {
		t, err := a.Store.userTokenTx(tx, TokenSecondFactor, continuation)
		if err != nil {
			return ErrBadSecondFactor
		}
		rec, err := getUserTx(tx, t.UserID)
		if err != nil {
			return ErrBadSecondFactor
		}
		if secondFactorStateTx(tx, rec).Any() {
			return Errorf(EINVALID, "You have a second factor already: finish logging in with it.")
		}
		out, err = a.Store.beginTOTPTx(tx, &rec)
		return err
	})
	return out, err
}

// CompleteSecondFactor finishes a login waiting for its second factor:
// code is a current TOTP code (not used before), a recovery code (used up
// by this), or, when the login must set an authenticator up, a code of the
// secret BeginTOTPAtLogin made (the result then holds the new recovery
// codes). It returns a LoginResult with a session like a login, or
// ErrBadSecondFactor, which counts as a failed login (the account's
// throttle applies, and the continuation dies after a few), or
// ErrAccountDisabled.
func (a *Accounts) CompleteSecondFactor(ctx context.Context, continuation, code string) (LoginResult, error) {
	if err := ctx.Err(); err != nil {
		return LoginResult{}, err
	}
	return a.Store.finishSecondFactor(continuation, a.Throttle, a.SessionTTL,
		func(tx *bolt.Tx, rec *userRecord, now time.Time) (string, []string, error) {
			if rec.TOTPSecret == "" && rec.TOTPPending != "" && !secondFactorStateTx(tx, *rec).Any() {
				if _, ok := totpStep(rec.TOTPPending, normalizeCode(code), now); !ok {
					return "", nil, nil
				}
				codes, err := a.Store.confirmTOTPTx(tx, UserActor(rec.user()), rec, code)
				return MethodTOTPSetup, codes, err
			}
			return useCodeTx(rec, code, now), nil, nil
		})
}

// CompleteSecondFactorWithPasskey finishes a login waiting for its second
// factor with a passkey assertion the caller has verified against the
// passkeys of userID (a ceremony bound to the continuation's user): the
// use is recorded as PasskeyLogin records it, and the answer is
// CompleteSecondFactor's. An assertion of another user than the
// continuation's is a wrong factor (counted like a wrong code); a removed
// passkey or a counter that went backwards is ErrPasskeyLogin, which
// counts nothing (a signature is not a guess).
func (a *Accounts) CompleteSecondFactorWithPasskey(continuation string, userID uint64, credID []byte, use PasskeyUse) (LoginResult, error) {
	return a.Store.finishSecondFactor(continuation, a.Throttle, a.SessionTTL,
		func(tx *bolt.Tx, rec *userRecord, _ time.Time) (string, []string, error) {
			if userID != rec.ID {
				return "", nil, nil
			}
			if _, err := a.Store.usePasskeyTx(tx, userID, credID, use); err != nil {
				return "", nil, err
			}
			return MethodPasskey, nil, nil
		})
}

// factorCheck checks a second factor inside finishSecondFactor's
// transaction: the method that matched ("" for none), new recovery codes
// to show (a setup), or an error that aborts the transaction. It may
// change rec (a used code); the caller stores it.
type factorCheck func(tx *bolt.Tx, rec *userRecord, now time.Time) (method string, codes []string, err error)

// finishSecondFactor is the one place a login waiting for its second
// factor ends, whatever the factor: another method (a passkey's verified
// assertion) adds a factorCheck and calls it. In one transaction it reads
// the continuation and its user; while the account waits (throttled) the
// factor is not checked at all; a right factor uses the continuation up,
// resets the failed-login count and opens a session; anything else
// counts a failed login (starting a wait as a wrong password does) and a
// wrong code of this continuation, which dies after maxContinuationFails.
func (s *Store) finishSecondFactor(continuation string, th Throttle, ttl time.Duration, check factorCheck) (LoginResult, error) {
	token, err := s.newSecret(32)
	if err != nil {
		return LoginResult{}, err
	}
	var res LoginResult
	var outcome error
	err = s.update(func(tx *bolt.Tx) error {
		t, err := s.userTokenTx(tx, TokenSecondFactor, continuation)
		if err != nil {
			outcome = ErrBadSecondFactor
			return nil
		}
		rec, err := getUserTx(tx, t.UserID)
		if ErrorCode(err) == ENOTFOUND {
			outcome = ErrBadSecondFactor
			return nil
		} else if err != nil {
			return err
		}
		now := s.clock()
		waiting := rec.throttled(now)
		method := ""
		var codes []string
		if !waiting {
			if method, codes, err = check(tx, &rec, s.now()); err != nil {
				return err
			}
		}
		if method == "" {
			outcome = ErrBadSecondFactor
			rec.SecondFactorFails++
			if rec.SecondFactorFails >= maxContinuationFails {
				if err := deleteUserTokenTx(tx, rec.ID, TokenSecondFactor); err != nil {
					return err
				}
			}
			return s.countFailedLoginTx(tx, &rec, th, !waiting)
		}
		if !rec.user().Active() {
			outcome = ErrAccountDisabled
			return nil
		}
		if _, err := s.consumeUserTokenTx(tx, TokenSecondFactor, continuation); err != nil {
			return err
		}
		if method == MethodRecovery {
			if err := s.addEventTx(tx, UserActor(rec.user()), EventRecoveryCodeUsed, "user", rec.ID,
				map[string]any{"email": rec.Email, "recoveryCodesLeft": len(rec.RecoveryCodes)}); err != nil {
				return err
			}
		}
		rec.SecondFactorFails = 0
		amr := amrPasswordOTP
		if method == MethodPasskey {
			amr = amrPasswordPasskey
		}
		if res, err = s.openSessionTx(tx, &rec, token, ttl, amr); err != nil {
			return err
		}
		res.RecoveryCodes = codes
		return nil
	})
	if err != nil {
		return LoginResult{}, err
	}
	return res, outcome
}
