package db

import (
	"time"

	bolt "go.etcd.io/bbolt"
)

// VerifyEmailMode says which signups through a link must prove they read
// the mail of their address before they may log in (auth.verify_email).
// Invitations prove it by construction: the invitation was mailed there.
type VerifyEmailMode string

// The email verification modes.
const (
	// VerifyEmailDomains asks it of signups through links that limit
	// their addresses to allowedDomains, where the domain is what grants
	// access, so the address must be proven (the default).
	VerifyEmailDomains VerifyEmailMode = "domains"
	// VerifyEmailAlways asks it of every signup through a link.
	VerifyEmailAlways VerifyEmailMode = "always"
	// VerifyEmailNever asks it of nobody.
	VerifyEmailNever VerifyEmailMode = "never"
)

func (m VerifyEmailMode) valid() bool {
	switch m {
	case VerifyEmailDomains, VerifyEmailAlways, VerifyEmailNever:
		return true
	}
	return false
}

// VerifyEmailModes lists the modes, for messages.
var VerifyEmailModes = []VerifyEmailMode{VerifyEmailDomains, VerifyEmailAlways, VerifyEmailNever}

// ParseVerifyEmailMode returns the mode named s, or EINVALID.
func ParseVerifyEmailMode(s string) (VerifyEmailMode, error) {
	if m := VerifyEmailMode(s); m.valid() {
		return m, nil
	}
	return "", Errorf(EINVALID, "%q is not an email verification mode; use %q, %q or %q",
		s, VerifyEmailDomains, VerifyEmailAlways, VerifyEmailNever)
}

// VerifyEmailTTL is how long a verification link works once it is made.
// A week, because the link grants nothing but the proof that its reader
// gets the address's mail (no session: the password is still needed), so
// a long life costs little, while a short one would let links die over a
// weekend or while the outbox waits for an SMTP server that is down.
const VerifyEmailTTL = 7 * 24 * time.Hour

// VerifyEmailsPerHour caps the verification emails one account is sent
// in an hour, the signup's included; asking for more does nothing, so a
// stranger cannot flood someone's mailbox through the resend form.
const VerifyEmailsPerHour = 5

// EmailVerify is the outbox kind of a verification email. Its record
// holds the user, never the link's secret: the mail worker makes the
// secret when it sends the email (IssueEmailVerification), so no secret
// ever waits in the database in clear.
const EmailVerify = "verify-email"

// EventEmailVerified is recorded when a user opens their verification
// link.
const EventEmailVerified = "email-verified"

// ErrEmailUnverified answers a right password for an account whose
// address is not verified yet. Like ErrAccountDisabled, only someone who
// knows the password ever sees it.
var ErrEmailUnverified = Errorf(EFORBIDDEN, "Your email address is not verified yet: open the link in the email we sent you when you signed up, then log in again. No email, or the link expired? Ask for a new one on the page /verify-email.")

// ErrAlreadyVerified answers IssueEmailVerification for a user whose
// address needs no verification (any more).
var ErrAlreadyVerified = Errorf(EGONE, "This user's email address is verified already; no verification email is needed.")

// needsVerification says whether a signup through link must verify its
// address under the store's mode.
func (s *Store) needsVerification(link linkRecord) bool {
	switch s.verifyEmail {
	case VerifyEmailAlways:
		return true
	case VerifyEmailNever:
		return false
	}
	return len(link.AllowedDomains) > 0
}

// VerifiesEmail reports whether a signup through a link that limits its
// domains (domains) or not must verify its address before logging in.
func (s *Store) VerifiesEmail(domains bool) bool {
	return s.verifyEmail == VerifyEmailAlways || s.verifyEmail == VerifyEmailDomains && domains
}

// startVerificationTx queues the verification email of urec (whose
// record it updates: it notes when) and ends any live link of the user,
// so that only the newest email's link works. It reports false, and does
// nothing, when the account had VerifyEmailsPerHour of them already in
// the last hour.
func (s *Store) startVerificationTx(tx *bolt.Tx, urec *userRecord) (bool, error) {
	now := s.clock()
	recent := urec.VerifyMails[:0:0]
	for _, at := range urec.VerifyMails {
		if now.Sub(at) < time.Hour {
			recent = append(recent, at)
		}
	}
	if len(recent) >= VerifyEmailsPerHour {
		return false, nil
	}
	urec.VerifyMails = append(recent, now)
	if err := putJSON(tx.Bucket(bucketUsers), itob(urec.ID), *urec); err != nil {
		return false, err
	}
	if err := deleteUserTokenTx(tx, urec.ID, TokenVerifyEmail); err != nil {
		return false, err
	}
	return true, s.enqueueEmailTx(tx, emailRecord{Kind: EmailVerify, To: urec.Email, UserID: urec.ID})
}

// IssueEmailVerification makes the link of a verification email for user
// userID as it is sent (the mail worker calls it): a new 256-bit secret,
// valid for VerifyEmailTTL, which replaces any earlier one. It returns
// the secret and the user; ENOTFOUND for an unknown user, and
// ErrAlreadyVerified when the address needs no verification.
func (s *Store) IssueEmailVerification(userID uint64) (string, UserToken, User, error) {
	var (
		secret string
		t      UserToken
		u      User
	)
	err := s.update(func(tx *bolt.Tx) error {
		rec, err := getUserTx(tx, userID)
		if err != nil {
			return err
		}
		if !rec.Unverified {
			return ErrAlreadyVerified
		}
		u = rec.user()
		secret, t, err = s.issueUserTokenTx(tx, TokenVerifyEmail, userID, VerifyEmailTTL)
		return err
	})
	if err != nil {
		return "", UserToken{}, User{}, err
	}
	return secret, t, u, nil
}

// VerifyEmail verifies the address of the user whose verification link
// holds secret, uses the link up, records EventEmailVerified and, when
// welcome emails are on, queues the welcome email, which waited for this.
// Nothing else changes: no session is opened. It returns the user, or
// ErrUserTokenNotFound for a link that is unknown, used, replaced by a
// newer one or expired.
func (s *Store) VerifyEmail(secret string) (User, error) {
	var u User
	err := s.update(func(tx *bolt.Tx) error {
		t, err := s.consumeUserTokenTx(tx, TokenVerifyEmail, secret)
		if err != nil {
			return err
		}
		rec, err := getUserTx(tx, t.UserID)
		if err != nil {
			return err
		}
		if !rec.Unverified {
			u = rec.user()
			return nil
		}
		rec.Unverified, rec.VerifyMails = false, nil
		if err := putJSON(tx.Bucket(bucketUsers), itob(rec.ID), rec); err != nil {
			return err
		}
		if err := s.addEventTx(tx, SystemActor, EventEmailVerified, "user", rec.ID, map[string]any{"email": rec.Email}); err != nil {
			return err
		}
		if err := s.welcomeTx(tx, rec); err != nil {
			return err
		}
		u = rec.user()
		return nil
	})
	return u, err
}

// ResendVerification queues a new verification email for the account of
// email when it exists, is not disabled, still has to verify its address,
// and got fewer than VerifyEmailsPerHour of them in the last hour; the
// older link dies when the new email is queued. It reports whether an
// email was queued, which the caller must never show: the answer to the
// person asking is the same whatever the address. Either way it runs one
// write transaction, so the time taken tells little too.
func (s *Store) ResendVerification(email string) (bool, error) {
	queued := false
	err := s.update(func(tx *bolt.Tx) error {
		if len(email) > MaxEmailLength {
			return nil
		}
		id := lookup(tx, bucketUsersByEmail, emailKey(email))
		if id == 0 {
			return nil
		}
		rec, err := getUserTx(tx, id)
		if err != nil {
			return err
		}
		if !rec.Unverified || rec.Disabled {
			return nil
		}
		queued, err = s.startVerificationTx(tx, &rec)
		return err
	})
	return queued, err
}

// MarkEmailVerified verifies a user's address on an admin's word (for a
// team without SMTP, say, or an email that never came): the user may log
// in from now on, any live verification link dies, the event
// EventEmailVerified names the actor, and the welcome email, when welcome
// emails are on, is queued. Marking a verified user changes nothing. It
// returns ENOTFOUND for an unknown id, and EFORBIDDEN when the user's role
// or groups are above what the actor could hand out.
func (s *Store) MarkEmailVerified(actor Actor, id uint64) (User, error) {
	var u User
	err := s.update(func(tx *bolt.Tx) error {
		rec, err := getUserTx(tx, id)
		if err != nil {
			return err
		}
		if !actor.CanGrant(rec.RootRole) || !actor.CanGrantGroups(rec.Groups) {
			return Errorf(EFORBIDDEN, "You cannot verify the address of a user whose role or groups are above your own; ask an Admin.")
		}
		u = rec.user()
		if !rec.Unverified {
			return nil
		}
		rec.Unverified, rec.VerifyMails = false, nil
		if err := putJSON(tx.Bucket(bucketUsers), itob(id), rec); err != nil {
			return err
		}
		if err := deleteUserTokenTx(tx, id, TokenVerifyEmail); err != nil {
			return err
		}
		if err := s.addEventTx(tx, actor, EventEmailVerified, "user", id, map[string]any{"email": rec.Email, "byAdmin": true}); err != nil {
			return err
		}
		if err := s.welcomeTx(tx, rec); err != nil {
			return err
		}
		u = rec.user()
		return nil
	})
	return u, err
}
