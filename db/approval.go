package db

import (
	"encoding/json"

	bolt "go.etcd.io/bbolt"
)

// Approval (DESIGN §12): a signup link with RequireApproval creates users
// who wait for an Admin (User.PendingApproval). They are let in nowhere
// until one approves them; rejecting deletes them. When the link also
// asks for a verified address, both must hold, in either order: the
// Admins are told at signup, and the user may verify their address before
// or after the approval.

// Event types of approval.
const (
	// EventUserApproved records an Admin letting a waiting user in.
	EventUserApproved = "user-approved"
	// EventUserRejected records an Admin turning a waiting user away (the
	// user is deleted with it).
	EventUserRejected = "user-rejected"
)

// Outbox kinds of approval.
const (
	// EmailApprovalRequest tells one Admin (To) that the user UserID
	// signed up and waits for approval. One is queued per active Admin
	// with an address, in the signup's transaction.
	EmailApprovalRequest = "approval-request"
	// EmailApproved tells the user UserID that an Admin approved them and
	// they may log in. It takes the place of the welcome email.
	EmailApproved = "account-approved"
)

// ErrPendingApproval answers a right password for an account that waits
// for an Admin's approval. Like ErrEmailUnverified, only someone who knows
// the password ever sees it.
var ErrPendingApproval = Errorf(EFORBIDDEN, "Your account waits for an admin's approval: you can log in once an admin of this site approves it, and you will get an email then.")

// errNotPending refuses approving or rejecting a user who waits for
// nothing, so that reject is never a way round the rules of DeleteUser.
func errNotPending(id uint64) error {
	return Errorf(EINVALID, "The user with id %d is not waiting for approval; only a user who signed up through a link that requires approval can be approved or rejected (to remove another user, delete it).", id)
}

// askApprovalTx queues, in the signup's transaction, one
// EmailApprovalRequest about urec to every active Admin that has an
// address.
func (s *Store) askApprovalTx(tx *bolt.Tx, urec userRecord) error {
	var to []string
	err := tx.Bucket(bucketUsers).ForEach(func(_, v []byte) error {
		var rec userRecord
		if err := json.Unmarshal(v, &rec); err != nil {
			return err
		}
		if rec.isActiveAdmin() && rec.Email != "" {
			to = append(to, rec.Email)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, addr := range to {
		if err := s.enqueueEmailTx(tx, emailRecord{Kind: EmailApprovalRequest, To: addr, UserID: urec.ID}); err != nil {
			return err
		}
	}
	return nil
}

// pendingUserTx returns the user id for an actor who approves or rejects
// them: ENOTFOUND for an unknown id, EFORBIDDEN when the user's role or
// groups are above what the actor could hand out, and EINVALID when the
// user waits for no approval.
func pendingUserTx(tx *bolt.Tx, actor Actor, id uint64, what string) (userRecord, error) {
	rec, err := getUserTx(tx, id)
	if err != nil {
		return rec, err
	}
	if !actor.CanGrant(rec.RootRole) || !actor.CanGrantGroups(rec.Groups) {
		return rec, Errorf(EFORBIDDEN, "You cannot %s a user whose role or groups are above your own; ask an Admin.", what)
	}
	if !rec.Pending {
		return rec, errNotPending(id)
	}
	return rec, nil
}

// ApproveUser lets a user who waits for approval in: from now on they may
// log in (once their address is verified, when it must be), the event
// EventUserApproved names the actor, and the email EmailApproved is
// queued for them. It returns ENOTFOUND for an unknown id, EFORBIDDEN when
// the user's role or groups are above what the actor could hand out, and
// EINVALID when the user does not wait for approval.
func (s *Store) ApproveUser(actor Actor, id uint64) (User, error) {
	var u User
	err := s.update(func(tx *bolt.Tx) error {
		rec, err := pendingUserTx(tx, actor, id, "approve")
		if err != nil {
			return err
		}
		rec.Pending = false
		if err := putJSON(tx.Bucket(bucketUsers), itob(id), rec); err != nil {
			return err
		}
		if err := s.addEventTx(tx, actor, EventUserApproved, "user", id, map[string]any{
			"email": rec.Email, "linkId": rec.LinkID, "emailVerified": !rec.Unverified,
		}); err != nil {
			return err
		}
		u = rec.user()
		return s.enqueueEmailTx(tx, emailRecord{Kind: EmailApproved, To: rec.Email, UserID: id})
	})
	return u, err
}

// RejectUser turns away a user who waits for approval: the user is
// deleted as DeleteUser deletes (the link keeps the use), and the event
// EventUserRejected names the actor. It fails as ApproveUser does; a user
// who waits for nothing is EINVALID, so rejecting never deletes an active
// account.
func (s *Store) RejectUser(actor Actor, id uint64) (User, error) {
	var u User
	err := s.update(func(tx *bolt.Tx) error {
		rec, err := pendingUserTx(tx, actor, id, "reject")
		if err != nil {
			return err
		}
		u = rec.user()
		// The event comes first, while the record is there: the
		// user.deleted webhook delivery carries the user as it was.
		if err := s.addEventTx(tx, actor, EventUserRejected, "user", id, map[string]any{
			"email": rec.Email, "username": rec.Username, "linkId": rec.LinkID,
		}); err != nil {
			return err
		}
		return deleteUserTx(tx, rec)
	})
	return u, err
}

// CountPendingUsers returns how many users wait for approval.
func (s *Store) CountPendingUsers() (int, error) {
	n := 0
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketUsers).ForEach(func(_, v []byte) error {
			var rec struct {
				Pending bool `json:"pending_approval"`
			}
			if err := json.Unmarshal(v, &rec); err != nil {
				return err
			}
			if rec.Pending {
				n++
			}
			return nil
		})
	})
	return n, err
}

// PendingSignup returns what an EmailApprovalRequest about user id says:
// the user and the name of the link they signed up through ("" when the
// link is gone). It returns ENOTFOUND for an unknown user, and
// errNotPending's EINVALID when the user no longer waits (approved
// meanwhile), so the email is not sent.
func (s *Store) PendingSignup(id uint64) (User, string, error) {
	var (
		u    User
		name string
	)
	err := s.db.View(func(tx *bolt.Tx) error {
		rec, err := getUserTx(tx, id)
		if err != nil {
			return err
		}
		if !rec.Pending {
			return errNotPending(id)
		}
		u = rec.user()
		if rec.LinkID != 0 {
			var link linkRecord
			if ok, err := getJSON(tx.Bucket(bucketLinks), itob(rec.LinkID), &link); err != nil {
				return err
			} else if ok {
				name = link.Name
			}
		}
		return nil
	})
	return u, name, err
}
