package db

import (
	"fmt"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// MaxBatchInvitations is the most addresses one batch may invite
// (DESIGN §12).
const MaxBatchInvitations = 500

// What became of one address of a batch.
const (
	// BatchInvited: the invitation was made (and its email queued, unless
	// the batch disables emails).
	BatchInvited = "invited"
	// BatchHasAccount: the address has an account already.
	BatchHasAccount = "has-account"
	// BatchAlreadyInvited: the address has a pending invitation, made
	// before the batch or by an earlier row of the same batch.
	BatchAlreadyInvited = "already-invited"
	// BatchInvalid: the row is wrong (the address, role, groups or
	// organization), or hands out more than the caller may.
	BatchInvalid = "invalid"
)

// BatchRow is one address of a batch, with what it gets: a role (0 means
// Viewer; one that is not Valid makes the row BatchInvalid, for a role the
// caller named that is no role), groups and an organization ("" means
// the default one).
type BatchRow struct {
	Email  string
	Role   Role
	Groups []string
	OrgID  string
}

// NewInvitationBatch is what it takes to invite many addresses at once:
// the rows, and what every invitation of the batch shares, read as in
// NewInvitation.
type NewInvitationBatch struct {
	Rows         []BatchRow
	TTL          *time.Duration
	DefaultTTL   time.Duration
	Inviter      string
	DisableEmail bool
	// AppID is the app every invitee is sent on to ("" for none), as in
	// NewInvitation.
	AppID string
}

// BatchResult is what became of one row, in the order of the rows.
// Invitation is set (with its token, shown once) only when Status is
// BatchInvited; Err says why for every other status.
type BatchResult struct {
	Email      string
	Status     string
	Invitation *Invitation
	Err        *Error
}

// batchInvitation is the single invitation a row of b asks for.
func (b NewInvitationBatch) batchInvitation(row BatchRow) NewInvitation {
	var ttl *time.Duration
	if b.TTL != nil {
		d := *b.TTL
		ttl = &d
	}
	return NewInvitation{
		Email: row.Email, TTL: ttl, DefaultTTL: b.DefaultTTL, Inviter: b.Inviter, DisableEmail: b.DisableEmail,
		Role: row.Role, OrgID: strings.TrimSpace(row.OrgID), Groups: row.Groups, AppID: b.AppID,
	}
}

// CreateInvitationBatch invites every row of in, each on its own: a row
// that cannot be invited gets its status and reason and changes nothing,
// and never stops the others. Each row is checked as CreateInvitation
// checks one invitation, role and group ceilings included, and an
// invited row is written with its event and its email exactly as
// CreateInvitation writes one. All rows are written in one transaction,
// so the whole batch costs one disk sync; every check of a row comes
// before any write of it, so a row is never half made.
//
// It returns EINVALID, with nothing written, for no rows, more than
// MaxBatchInvitations, or a ttl, inviter or app that is wrong (they are
// the same for every row). An address given twice in the batch is invited
// once: the later rows are BatchAlreadyInvited.
func (s *Store) CreateInvitationBatch(actor Actor, in NewInvitationBatch) ([]BatchResult, error) {
	switch {
	case len(in.Rows) == 0:
		return nil, FieldErrorf("invitations", "is empty: give at least one address")
	case len(in.Rows) > MaxBatchInvitations:
		return nil, FieldErrorf("invitations", "holds %d addresses; at most %d may be invited at once, so split the list", len(in.Rows), MaxBatchInvitations)
	}
	// What the rows share is checked once, on a stand-in row: a wrong ttl
	// or inviter is the caller's mistake for the whole batch, not one
	// per address.
	probe := in.batchInvitation(BatchRow{Email: "batch@example.com"})
	if err := s.validateInvitation(actor, &probe); err != nil {
		return nil, err
	}
	if probe.AppID != "" {
		// The app, too, is the same for every row: an unknown one refuses
		// the batch.
		if err := s.db.View(func(tx *bolt.Tx) error { return checkAppIDTx(tx, "appId", probe.AppID) }); err != nil {
			return nil, err
		}
	}

	results := make([]BatchResult, len(in.Rows))
	invites := make([]NewInvitation, len(in.Rows))
	tokens := make([]string, len(in.Rows))
	for i, row := range in.Rows {
		results[i].Email = strings.TrimSpace(row.Email)
		inv := in.batchInvitation(row)
		if err := s.validateInvitation(actor, &inv); err != nil {
			results[i].Status, results[i].Err = BatchInvalid, asError(err)
			continue
		}
		results[i].Email = inv.Email
		invites[i] = inv
		token, err := s.newSecret(InvitationTokenBytes)
		if err != nil {
			return nil, err
		}
		tokens[i] = token
	}

	err := s.update(func(tx *bolt.Tx) error {
		firstRow := map[string]int{} // address → the row that invited it
		for i := range results {
			// A retried transaction starts each row again.
			if tokens[i] == "" {
				continue
			}
			results[i].Status, results[i].Invitation, results[i].Err = "", nil, nil
			key := emailKey(invites[i].Email)
			if first, ok := firstRow[key]; ok {
				results[i].Status = BatchAlreadyInvited
				results[i].Err = &Error{Code: ECONFLICT, Message: fmt.Sprintf("%s is given more than once in this batch; row %d invited it.", invites[i].Email, first+1),
					Details: []FieldError{{Path: "email", Message: "is given more than once"}}}
				continue
			}
			inv, err := s.createInvitationTx(tx, actor, invites[i], tokens[i])
			switch code := ErrorCode(err); {
			case err == nil:
				firstRow[key] = i
				results[i].Status, results[i].Invitation = BatchInvited, &inv
			case code == ECONFLICT:
				results[i].Status, results[i].Err = BatchAlreadyInvited, asError(err)
				if lookup(tx, bucketUsersByEmail, key) != 0 {
					results[i].Status = BatchHasAccount
				}
			case code == EINVALID:
				results[i].Status, results[i].Err = BatchInvalid, asError(err)
			default:
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return results, nil
}

// asError is err as an *Error (a store error always is one here), with
// the address named as a batch row names it: "email", not a single
// invitation's "invitedEmail".
func asError(err error) *Error {
	e, ok := err.(*Error)
	if !ok {
		return &Error{Code: EINTERNAL, Message: ErrorMessage(err)}
	}
	renamed := *e
	renamed.Message = strings.ReplaceAll(e.Message, "invitedEmail", "email")
	renamed.Details = make([]FieldError, len(e.Details))
	for i, d := range e.Details {
		if d.Path == "invitedEmail" {
			d.Path = "email"
		}
		renamed.Details[i] = d
	}
	return &renamed
}
