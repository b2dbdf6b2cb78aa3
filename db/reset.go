package db

import (
	"context"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// ResetPasswordTTL is how long a reset link works, whether it was emailed
// (forgot password) or made by an admin.
const ResetPasswordTTL = time.Hour

// ResetEmailInterval is the least time between two forgot-password emails
// to one account: a request sooner than that after the last one sends
// nothing (the link already sent still works), so that requests from many
// addresses cannot flood a mailbox.
const ResetEmailInterval = time.Minute

// EmailResetPassword is the kind of the email that carries a
// forgot-password link.
const EmailResetPassword = "reset-password"

// Audit events of password resets. Neither ever holds the link's secret.
const (
	// EventPasswordReset records a password set through a reset link,
	// with how many sessions and refresh tokens it ended.
	EventPasswordReset = "password-reset"
	// EventResetLinkCreated records a reset link made by an admin (the
	// emailed ones are not audited one by one: anyone may ask for one).
	EventResetLinkCreated = "reset-link-created"
)

// ErrResetLinkDead answers a reset link that is unknown, used, replaced
// by a newer one or expired: all look the same, and the answer is always
// to ask for a new one.
var ErrResetLinkDead = Errorf(ENOTFOUND, "This password reset link is unknown, was used already, was replaced by a newer one or has expired; ask for a new one.")

// ErrResetDisabled refuses a reset link of a disabled account. Only the
// holder of the link (the mailbox's owner, or whoever the admin gave it
// to) learns that the account is disabled.
var ErrResetDisabled = Errorf(EFORBIDDEN, "This account is disabled or its address is not verified yet, so its password cannot be reset; ask an admin.")

// resettable says whether a forgot-password request for the user sends an
// email: only an active account gets one.
func (r userRecord) resettable() bool { return r.user().Active() }

// RequestPasswordReset is the forgot-password request for the address
// email. For an active account with that address it issues a reset token
// (ResetPasswordTTL, replacing any older one) and queues the email that
// carries {base_url}/reset-password/{token}, in one write transaction.
//
// It answers nil whatever the address: unknown, malformed, or the address
// of a disabled account, so the answer says nothing about which accounts
// exist. A request less than ResetEmailInterval after the account's last
// reset link sends nothing either. The work is the same too: one write transaction (committed, so
// it costs the same fsync), 32 random bytes and one SHA-256 in every
// case, and no password hash in any. It fails only when the store does.
func (a *Accounts) RequestPasswordReset(ctx context.Context, email string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	key := ""
	if email = strings.TrimSpace(email); email != "" && len(email) <= MaxEmailLength {
		key = emailKey(email)
	}
	return a.Store.requestPasswordReset(key)
}

// requestPasswordReset runs RequestPasswordReset's write for the email
// index key ("" for none).
func (s *Store) requestPasswordReset(key string) error {
	return s.update(func(tx *bolt.Tx) error {
		var rec userRecord
		found := false
		if id := lookup(tx, bucketUsersByEmail, key); id != 0 && key != "" {
			var err error
			if rec, err = getUserTx(tx, id); err != nil && ErrorCode(err) != ENOTFOUND {
				return err
			}
			found = err == nil && rec.resettable() && !s.resetSentRecentlyTx(tx, rec.ID)
		}
		if !found {
			// The same random bytes and digest as a real token, thrown
			// away, so an unknown address costs what a known one does.
			secret, err := s.newSecret(32)
			if err != nil {
				return err
			}
			_ = hashToken(secret)
			return nil
		}
		secret, _, err := s.issueUserTokenTx(tx, TokenResetPassword, rec.ID, ResetPasswordTTL)
		if err != nil {
			return err
		}
		// The outbox record keeps the secret in clear until the email is
		// sent (or given up, or cancelled), as an invitation email keeps
		// its token: the worker renders the email only when it sends it.
		// That is acceptable because the secret lives an hour at most, a
		// newer request or its use kills it, the database file is the
		// server's alone (0600), and whoever reads the file can already
		// read and change every account in it.
		return s.enqueueEmailTx(tx, emailRecord{Kind: EmailResetPassword, To: rec.Email, UserID: rec.ID, Token: secret})
	})
}

// resetSentRecentlyTx reports whether the user's live reset token was
// made less than ResetEmailInterval ago.
func (s *Store) resetSentRecentlyTx(tx *bolt.Tx, userID uint64) bool {
	hash := tx.Bucket(bucketUserTokensByUser).Get(userTokenUserKey(userID, TokenResetPassword))
	if hash == nil {
		return false
	}
	var rec userTokenRecord
	ok, err := getJSON(tx.Bucket(bucketUserTokens), hash, &rec)
	return err == nil && ok && s.clock().Sub(rec.CreatedAt) < ResetEmailInterval
}

// ResetPassword sets a new password through the reset link token: the
// password is judged by the same policy as on signup (length,
// guessability, counting the user's own email, name and username), and
// again, when not nil, must be the same. Then, in one write transaction,
// the token is used up, the hash set, every session and OpenID Connect
// refresh token of the user ended, failed logins forgotten, and a
// password-reset event recorded.
//
// It returns ErrResetLinkDead (ENOTFOUND) for an unknown, used, replaced
// or expired link, EFORBIDDEN for a disabled account, EINVALID on
// password (and passwordAgain) for a password the policy refuses,
// EUNAVAILABLE when every hashing slot stayed busy. Nothing is hashed
// unless the link and the password pass; the write checks the link again,
// so two uses at once set the password once.
func (a *Accounts) ResetPassword(ctx context.Context, token, password string, again *string) (User, error) {
	var rec userRecord
	err := a.Store.db.View(func(tx *bolt.Tx) error {
		t, err := a.Store.userTokenTx(tx, TokenResetPassword, token)
		if err != nil {
			return ErrResetLinkDead
		}
		rec, err = getUserTx(tx, t.UserID)
		if ErrorCode(err) == ENOTFOUND {
			return ErrResetLinkDead
		}
		return err
	})
	if err != nil {
		return User{}, err
	}
	if !rec.user().Active() {
		return User{}, ErrResetDisabled
	}
	var errs fieldErrors
	errs.addErr(a.Policy.Check("password", password, rec.Email, rec.Name, rec.Username))
	if again != nil && *again != password {
		errs.add("passwordAgain", "does not match the password; type the same password in both fields")
	}
	if err := errs.err(); err != nil {
		return User{}, err
	}
	hash, err := a.Hasher.Hash(ctx, password)
	if err != nil {
		return User{}, err
	}
	a.hookBeforeWrite()
	return a.Store.resetPassword(token, hash)
}

// resetPassword is ResetPassword's write.
func (s *Store) resetPassword(token, newHash string) (User, error) {
	if !strings.HasPrefix(newHash, "$argon2id$") {
		return User{}, Errorf(EINVALID, "The new password hash is not an argon2id hash; hash the password before storing it.")
	}
	var u User
	err := s.update(func(tx *bolt.Tx) error {
		t, err := s.consumeUserTokenTx(tx, TokenResetPassword, token)
		if err != nil {
			return ErrResetLinkDead
		}
		rec, err := getUserTx(tx, t.UserID)
		if ErrorCode(err) == ENOTFOUND {
			return ErrResetLinkDead
		} else if err != nil {
			return err
		}
		if !rec.user().Active() {
			return ErrResetDisabled
		}
		rec.PasswordHash = newHash
		rec.LoginAttempts, rec.ThrottledUntil = 0, nil
		if err := putJSON(tx.Bucket(bucketUsers), itob(rec.ID), rec); err != nil {
			return err
		}
		sessions, err := deleteSessionsExceptTx(tx, rec.ID, "")
		if err != nil {
			return err
		}
		refresh, err := revokeUserOIDCRefreshTx(tx, rec.ID)
		if err != nil {
			return err
		}
		// A login half done with the old password (waiting for its second
		// factor) must not finish after the reset.
		if err := deleteUserTokenTx(tx, rec.ID, TokenSecondFactor); err != nil {
			return err
		}
		u = rec.user()
		return s.addEventTx(tx, UserActor(u), EventPasswordReset, "user", rec.ID, map[string]any{
			"email": rec.Email, "sessionsEnded": sessions, "refreshTokensRevoked": refresh,
		})
	})
	return u, err
}

// CreateResetLink makes a reset link for user id without email, for an
// admin to hand over (teams without SMTP): it returns the secret, once,
// and the token (ResetPasswordTTL; it replaces any older reset link of the
// user, emailed or not), and records a reset-link-created event without
// the secret. The ceiling applies: an actor may make one only for a user
// whose role and groups they could hand out themselves, so nobody gets
// into an account above their own. It returns ENOTFOUND for an unknown
// user, EFORBIDDEN for a user above the actor, EINVALID for a disabled
// user (enable them first) or one whose address is unverified (mark it
// verified first).
func (s *Store) CreateResetLink(actor Actor, id uint64) (string, UserToken, error) {
	var secret string
	var t UserToken
	err := s.update(func(tx *bolt.Tx) error {
		rec, err := getUserTx(tx, id)
		if err != nil {
			return err
		}
		if !actor.CanHandOut(rec.RootRole, rec.Groups) {
			return Errorf(EFORBIDDEN, "You may not make a reset link for %s: their role or groups are above your own (%s).", rec.Email, actor.Role.Name())
		}
		if rec.Disabled {
			return Errorf(EINVALID, "%s is disabled, so a reset link would not work; enable the user first.", rec.Email)
		}
		if !rec.user().Active() {
			return Errorf(EINVALID, "%s has not verified their email address, so a reset link would not work; mark the address verified first.", rec.Email)
		}
		if secret, t, err = s.issueUserTokenTx(tx, TokenResetPassword, id, ResetPasswordTTL); err != nil {
			return err
		}
		return s.addEventTx(tx, actor, EventResetLinkCreated, "user", id, map[string]any{
			"email": rec.Email, "expiresAt": t.ExpiresAt,
		})
	})
	if err != nil {
		return "", UserToken{}, err
	}
	return secret, t, nil
}
