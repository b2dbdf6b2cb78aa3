package db

import (
	"encoding/json"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Email is one rendered message: a plain-text and an HTML body.
type Email struct {
	To      string
	Subject string
	Text    string
	HTML    string
}

// Kinds of email.
const (
	EmailInvitation = "invitation"
	EmailWelcome    = "welcome"
	// EmailInviteAccepted tells an invitation's creator (UserID) that
	// the invitation (InvitationID) was accepted.
	EmailInviteAccepted = "invitation-accepted"
	// EmailResetPassword (reset.go) carries a forgot-password link.
)

// States of an email in the outbox. An email is cancelled when, by the
// time it is due, it no longer makes sense: its invitation was resent,
// revoked, accepted or expired, or its user was deleted.
const (
	EmailPending   = "pending"
	EmailSent      = "sent"
	EmailFailed    = "failed"
	EmailCancelled = "cancelled"
)

// OutboxEmail is an email in the outbox with its delivery state.
//
// The outbox stores what to send, not how it reads: the kind, the
// recipient and the ids involved. The mail worker renders it when it
// sends it, with the serving configuration (base URL, site name), so an
// email queued by `invited admin` while the server was stopped carries
// the server's links. Records written by older builds, and those queued
// with EnqueueEmail, hold their rendered bodies instead (see Rendered).
type OutboxEmail struct {
	ID   uint64
	Kind string
	To   string
	// Subject is the subject an email was sent with; empty until then
	// for an email rendered at send time.
	Subject       string
	Text          string
	HTML          string
	State         string
	Attempts      int
	LastError     string
	CreatedAt     time.Time
	NextAttemptAt time.Time
	SentAt        *time.Time
	// UserID is the user a welcome, reset-password, verification or
	// invitation-accepted email is for; sending a welcome email sets the user's emailSent.
	UserID uint64
	// InvitationID is the invitation an invitation email is for, or the
	// one an invitation-accepted email tells about.
	InvitationID uint64
	// Inviter is the name an invitation email is signed with.
	Inviter string
	// Token is the secret the email's link needs: an invitation's token,
	// or a reset-password token. These are the only secrets kept in clear
	// in the database, and only while the email is pending: sending,
	// giving up and cancelling wipe them.
	Token string
}

// Rendered reports whether the email holds its rendered bodies (an older
// build's record, or one queued with EnqueueEmail): such an email is sent
// as it is.
func (e OutboxEmail) Rendered() bool { return e.Text != "" || e.HTML != "" }

// emailRecord is an outbox record. Version 1 held rendered bodies;
// version 2 holds the data to render from (invitation id, inviter,
// token, user id), and bodies only for EnqueueEmail.
type emailRecord struct {
	V             int        `json:"v"`
	Kind          string     `json:"kind"`
	To            string     `json:"to"`
	Subject       string     `json:"subject"`
	Text          string     `json:"text,omitempty"`
	HTML          string     `json:"html,omitempty"`
	State         string     `json:"state"`
	Attempts      int        `json:"attempts"`
	LastError     string     `json:"last_error,omitempty"`
	CreatedAt     time.Time  `json:"created_at"`
	NextAttemptAt time.Time  `json:"next_attempt_at"`
	SentAt        *time.Time `json:"sent_at,omitempty"`
	UserID        uint64     `json:"user_id,omitempty"`
	InvitationID  uint64     `json:"invitation_id,omitempty"`
	Inviter       string     `json:"inviter,omitempty"`
	Token         string     `json:"token,omitempty"`
}

func (r emailRecord) email(id uint64) OutboxEmail {
	return OutboxEmail{
		ID: id, Kind: r.Kind, To: r.To, Subject: r.Subject, Text: r.Text, HTML: r.HTML,
		State: r.State, Attempts: r.Attempts, LastError: r.LastError, CreatedAt: r.CreatedAt,
		NextAttemptAt: r.NextAttemptAt, SentAt: r.SentAt, UserID: r.UserID,
		InvitationID: r.InvitationID, Inviter: r.Inviter, Token: r.Token,
	}
}

// forget drops what an email no longer needs once it is done with (sent,
// failed for good, cancelled): its bodies and its token, which may hold
// or make an invitation link.
func (r *emailRecord) forget() { r.Text, r.HTML, r.Token = "", "", "" }

// dueKey orders pending emails by their next attempt: the time in
// nanoseconds, then the id.
func dueKey(at time.Time, id uint64) []byte {
	return append(itob(uint64(at.UnixNano())), itob(id)...)
}

// enqueueEmailTx writes an email to the outbox in the caller's
// transaction, so it exists exactly when the change that caused it does.
// rec holds what to send; the state and times are set here.
func (s *Store) enqueueEmailTx(tx *bolt.Tx, rec emailRecord) error {
	b := tx.Bucket(bucketOutbox)
	id, err := nextID(b)
	if err != nil {
		return err
	}
	now := s.clock()
	rec.V, rec.State, rec.CreatedAt, rec.NextAttemptAt = 2, EmailPending, now, now
	if err := putJSON(b, itob(id), rec); err != nil {
		return err
	}
	return tx.Bucket(bucketOutboxDue).Put(dueKey(now, id), nil)
}

// DueEmails returns up to limit pending emails whose next attempt is due
// at now, oldest first.
func (s *Store) DueEmails(now time.Time, limit int) ([]OutboxEmail, error) {
	var due []OutboxEmail
	err := s.db.View(func(tx *bolt.Tx) error {
		end := uint64(now.UnixNano())
		c := tx.Bucket(bucketOutboxDue).Cursor()
		for k, _ := c.First(); k != nil && len(due) < limit && btoi(k[:8]) <= end; k, _ = c.Next() {
			id := btoi(k[8:])
			var rec emailRecord
			ok, err := getJSON(tx.Bucket(bucketOutbox), itob(id), &rec)
			if err != nil {
				return err
			}
			if ok && rec.State == EmailPending {
				due = append(due, rec.email(id))
			}
		}
		return nil
	})
	return due, err
}

// NextEmailDue returns when the earliest pending email is due, and false
// when none is pending.
func (s *Store) NextEmailDue() (time.Time, bool, error) {
	var next time.Time
	found := false
	err := s.db.View(func(tx *bolt.Tx) error {
		if k, _ := tx.Bucket(bucketOutboxDue).Cursor().First(); k != nil {
			next, found = time.Unix(0, int64(btoi(k[:8]))).UTC(), true
		}
		return nil
	})
	return next, found, err
}

func updateEmailTx(tx *bolt.Tx, id uint64, edit func(*emailRecord) error) error {
	var rec emailRecord
	ok, err := getJSON(tx.Bucket(bucketOutbox), itob(id), &rec)
	if err != nil {
		return err
	}
	if !ok {
		return Errorf(ENOTFOUND, "There is no email with id %d in the outbox.", id)
	}
	due := tx.Bucket(bucketOutboxDue)
	if rec.State == EmailPending {
		if err := due.Delete(dueKey(rec.NextAttemptAt, id)); err != nil {
			return err
		}
	}
	if err := edit(&rec); err != nil {
		return err
	}
	if rec.State == EmailPending {
		if err := due.Put(dueKey(rec.NextAttemptAt, id), nil); err != nil {
			return err
		}
	}
	return putJSON(tx.Bucket(bucketOutbox), itob(id), rec)
}

// MarkEmailSent records a delivery with the subject it went out with:
// the email becomes sent, its bodies and token are dropped, and a welcome
// email (or the approval email that takes its place) sets its user's
// emailSent. An empty subject keeps the stored one.
func (s *Store) MarkEmailSent(id uint64, subject string) error {
	return s.update(func(tx *bolt.Tx) error {
		return markEmailSentTx(tx, SentEmail{ID: id, Subject: subject, At: s.clock()})
	})
}

// SentEmail is one delivery to record: the email, the subject it went out
// with (empty keeps the stored one) and when it went out.
type SentEmail struct {
	ID      uint64
	Subject string
	At      time.Time
}

// MarkEmailsSent records several deliveries as MarkEmailSent does, in one
// write transaction, so that a worker that sent a run of emails pays one
// commit (and its fsyncs) instead of one each. An email that is no longer
// in the outbox is skipped; any other error records none of them.
func (s *Store) MarkEmailsSent(sent []SentEmail) error {
	if len(sent) == 0 {
		return nil
	}
	return s.update(func(tx *bolt.Tx) error {
		for _, e := range sent {
			if err := markEmailSentTx(tx, e); err != nil && ErrorCode(err) != ENOTFOUND {
				return err
			}
		}
		return nil
	})
}

func markEmailSentTx(tx *bolt.Tx, e SentEmail) error {
	var userID uint64
	err := updateEmailTx(tx, e.ID, func(rec *emailRecord) error {
		at := e.At
		rec.State, rec.SentAt, rec.Attempts = EmailSent, &at, rec.Attempts+1
		rec.LastError = ""
		rec.forget()
		if e.Subject != "" {
			rec.Subject = e.Subject
		}
		if rec.Kind == EmailWelcome || rec.Kind == EmailApproved {
			userID = rec.UserID
		}
		return nil
	})
	if err != nil || userID == 0 {
		return err
	}
	urec, err := getUserTx(tx, userID)
	if ErrorCode(err) == ENOTFOUND {
		return nil // deleted meanwhile
	} else if err != nil {
		return err
	}
	urec.EmailSent = true
	return putJSON(tx.Bucket(bucketUsers), itob(userID), urec)
}

// MarkEmailAttemptFailed records a failed attempt. With final, the email
// becomes failed (its bodies and token dropped) and is not tried again;
// otherwise it is tried again at next.
func (s *Store) MarkEmailAttemptFailed(id uint64, reason string, next time.Time, final bool) error {
	reason = capReason(reason)
	return s.update(func(tx *bolt.Tx) error {
		return updateEmailTx(tx, id, func(rec *emailRecord) error {
			rec.Attempts++
			rec.LastError = reason
			rec.NextAttemptAt = next.UTC()
			if final {
				rec.State = EmailFailed
				rec.forget()
			}
			return nil
		})
	})
}

// CancelEmail ends a pending email that no longer makes sense without
// sending it (its invitation was resent or revoked, its user deleted):
// it becomes cancelled, reason is kept as its lastError, and its bodies
// and token are dropped. It returns ENOTFOUND for an unknown email.
func (s *Store) CancelEmail(id uint64, reason string) error {
	reason = capReason(reason)
	return s.update(func(tx *bolt.Tx) error {
		return updateEmailTx(tx, id, func(rec *emailRecord) error {
			rec.State, rec.LastError = EmailCancelled, reason
			rec.forget()
			return nil
		})
	})
}

// capReason keeps a stored failure reason to 500 characters.
func capReason(reason string) string {
	if r := []rune(reason); len(r) > 500 {
		return string(r[:500])
	}
	return reason
}

// RetryEmail puts a failed email back in the queue, due now. Only emails
// that can still be made can be retried: those with their bodies, and
// welcome emails (rendered from the user); an invitation email lost its
// token when it failed, and the invitation's resend makes a new one.
// Verification and approval emails can be retried too: they are made
// from their user when sent.
func (s *Store) RetryEmail(id uint64) error {
	return s.update(func(tx *bolt.Tx) error {
		return updateEmailTx(tx, id, func(rec *emailRecord) error {
			canMake := rec.Text != "" || rec.Token != "" || (rec.V >= 2 && (rec.Kind == EmailWelcome || rec.Kind == EmailVerify ||
				rec.Kind == EmailInviteAccepted || rec.Kind == EmailApprovalRequest || rec.Kind == EmailApproved) && rec.UserID != 0)
			if !canMake {
				return Errorf(EINVALID, "This email can no longer be sent again; resend the invitation instead.")
			}
			// A retry asked for by an admin gets a full set of attempts.
			rec.State, rec.NextAttemptAt, rec.Attempts = EmailPending, s.clock(), 0
			return nil
		})
	})
}

// ListOutbox returns emails newest first, skipping offset, at most limit,
// with how many there are in all.
func (s *Store) ListOutbox(offset, limit int) ([]OutboxEmail, int, error) {
	emails := []OutboxEmail{}
	total := 0
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketOutbox).Cursor()
		for k, v := c.Last(); k != nil; k, v = c.Prev() {
			total++
			if total <= offset || len(emails) >= limit {
				continue
			}
			var rec emailRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return err
			}
			emails = append(emails, rec.email(btoi(k)))
		}
		return nil
	})
	return emails, total, err
}

// OutboxStats counts emails by state.
func (s *Store) OutboxStats() (map[string]int, error) {
	counts := map[string]int{EmailPending: 0, EmailSent: 0, EmailFailed: 0, EmailCancelled: 0}
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketOutbox).ForEach(func(_, v []byte) error {
			var rec struct {
				State string `json:"state"`
			}
			if err := json.Unmarshal(v, &rec); err != nil {
				return err
			}
			counts[rec.State]++
			return nil
		})
	})
	return counts, err
}

// EnqueueEmail adds an email that no other change causes (a test message
// from the admin, say), rendered already: it is sent as it is.
func (s *Store) EnqueueEmail(kind string, e Email) error {
	return s.update(func(tx *bolt.Tx) error {
		return s.enqueueEmailTx(tx, emailRecord{Kind: kind, To: e.To, Subject: e.Subject, Text: e.Text, HTML: e.HTML})
	})
}
