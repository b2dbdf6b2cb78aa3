package db

import (
	"encoding/json"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"
)

// ListUsers returns up to limit users in id order after skipping offset,
// and how many users there are in all.
func (s *Store) ListUsers(offset, limit int) ([]User, int, error) {
	users := []User{}
	total := 0
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketUsers)
		total = b.Stats().KeyN
		c := b.Cursor()
		i := 0
		for k, v := c.First(); k != nil && len(users) < limit; k, v = c.Next() {
			if i++; i <= offset {
				continue
			}
			var rec userRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return err
			}
			users = append(users, rec.user())
		}
		return nil
	})
	return users, total, err
}

// countAdminsTx counts the active users with the Admin role: a disabled
// Admin cannot log in, so it manages nothing.
func countAdminsTx(tx *bolt.Tx) (int, error) {
	n := 0
	err := tx.Bucket(bucketUsers).ForEach(func(_, v []byte) error {
		var rec userRecord
		if err := json.Unmarshal(v, &rec); err != nil {
			return err
		}
		if rec.isActiveAdmin() {
			n++
		}
		return nil
	})
	return n, err
}

// isActiveAdmin says whether rec counts in countAdminsTx.
func (r userRecord) isActiveAdmin() bool { return r.RootRole == RoleAdmin && r.user().Active() }

var errLastAdmin = Errorf(EINVALID, "This is the last Admin: make another user an Admin first, so that someone can still manage users.")

var errDisableSelf = Errorf(EINVALID, "You cannot disable your own account: ask another Admin to do it, so that someone can still manage users.")

// UserUpdate changes a user; nil fields stay as they are. Values are
// checked and normalised by UpdateUser.
type UserUpdate struct {
	Name     *string
	Email    *string
	RootRole *Role
	// Groups replaces the user's groups (Admins only: the server's
	// permission table keeps everyone else out).
	Groups *[]string
}

// UpdateUser changes a user's name, email or root role. It returns
// ENOTFOUND, EINVALID (bad values, nothing to change, demoting the last
// Admin, or a role above the actor's) or ECONFLICT (email taken).
func (s *Store) UpdateUser(actor Actor, id uint64, in UserUpdate) (User, error) {
	if in.Name == nil && in.Email == nil && in.RootRole == nil && in.Groups == nil {
		return User{}, &Error{Code: EINVALID, Message: "Nothing to change: give name, email, rootRole, groups, or several.",
			Details: []FieldError{{Path: "", Message: "give name, email, rootRole or groups"}}}
	}
	var errs fieldErrors
	if in.Name != nil {
		name, err := CleanText("name", *in.Name, true, MaxNameLength)
		errs.addErr(err)
		in.Name = &name
	}
	if in.Email != nil {
		email, err := NormalizeEmail("email", *in.Email)
		errs.addErr(err)
		in.Email = &email
	}
	if in.RootRole != nil {
		if !in.RootRole.Valid() {
			errs.add("rootRole", RootRoleRule)
		} else if !actor.Role.AtLeast(*in.RootRole) {
			errs.add("rootRole", fmt.Sprintf("may not be above your own role (%s)", actor.Role.Name()))
		}
	}
	var groups []string
	if in.Groups != nil {
		groups = cleanGroups(&errs, "groups", *in.Groups)
	}
	if err := errs.err(); err != nil {
		return User{}, err
	}
	var u User
	err := s.update(func(tx *bolt.Tx) error {
		rec, err := getUserTx(tx, id)
		if err != nil {
			return err
		}
		data := map[string]any{}
		if in.Groups != nil {
			if err := checkGroupsTx(tx, actor, "groups", *in.Groups); err != nil {
				return err
			}
			if !slices.Equal(groups, rec.Groups) {
				data["groups"] = groups
				data["previousGroups"] = rec.Groups
				rec.Groups = nonEmpty(groups)
			}
		}
		if in.Name != nil && *in.Name != rec.Name {
			data["name"] = *in.Name
			rec.Name = *in.Name
		}
		if in.Email != nil && *in.Email != rec.Email {
			if other := lookup(tx, bucketUsersByEmail, emailKey(*in.Email)); other != 0 && other != id {
				return &Error{Code: ECONFLICT, Message: fmt.Sprintf("Another user has the email %q.", *in.Email),
					Details: []FieldError{{Path: "email", Message: "is taken"}}}
			}
			if err := dropEmailKeyTx(tx, rec.Email, id); err != nil {
				return err
			}
			if err := tx.Bucket(bucketUsersByEmail).Put([]byte(emailKey(*in.Email)), itob(id)); err != nil {
				return err
			}
			data["email"] = *in.Email
			rec.Email = *in.Email
		}
		if in.RootRole != nil && *in.RootRole != rec.RootRole {
			if rec.isActiveAdmin() {
				n, err := countAdminsTx(tx)
				if err != nil {
					return err
				}
				if n <= 1 {
					return errLastAdmin
				}
			}
			data["rootRole"] = *in.RootRole
			data["previousRootRole"] = rec.RootRole
			rec.RootRole = *in.RootRole
		}
		u = rec.user()
		if len(data) == 0 {
			return nil // nothing actually changed
		}
		if err := putJSON(tx.Bucket(bucketUsers), itob(id), rec); err != nil {
			return err
		}
		return s.addEventTx(tx, actor, EventUserUpdated, "user", id, data)
	})
	return u, err
}

// dropEmailKeyTx removes a user's entry from the email index, only when
// the entry is that user's: of two accounts that the address migration
// found to share one mailbox, only one holds it.
func dropEmailKeyTx(tx *bolt.Tx, email string, id uint64) error {
	idx := tx.Bucket(bucketUsersByEmail)
	key := []byte(emailKey(email))
	if btoi(idx.Get(key)) != id {
		return nil
	}
	return idx.Delete(key)
}

// DeleteUser removes a user with its index entries, its place in the user
// lists of links, its sessions, its OpenID Connect refresh tokens and its one-time tokens, in
// one transaction. It returns ENOTFOUND, or EINVALID for the last Admin.
func (s *Store) DeleteUser(actor Actor, id uint64) error {
	return s.update(func(tx *bolt.Tx) error {
		rec, err := getUserTx(tx, id)
		if err != nil {
			return err
		}
		if rec.isActiveAdmin() {
			n, err := countAdminsTx(tx)
			if err != nil {
				return err
			}
			if n <= 1 {
				return errLastAdmin
			}
		}
		// The event comes first, while the record is there: a user.deleted
		// webhook delivery carries the user as it was.
		if err := s.addEventTx(tx, actor, EventUserDeleted, "user", id, map[string]any{"email": rec.Email, "username": rec.Username}); err != nil {
			return err
		}
		return deleteUserTx(tx, rec)
	})
}

// deleteUserTx removes the user rec with everything DeleteUser lists.
func deleteUserTx(tx *bolt.Tx, rec userRecord) error {
	if err := tx.Bucket(bucketUsers).Delete(itob(rec.ID)); err != nil {
		return err
	}
	if err := dropEmailKeyTx(tx, rec.Email, rec.ID); err != nil {
		return err
	}
	if rec.Username != "" {
		if err := tx.Bucket(bucketUsersByUsername).Delete([]byte(usernameKey(rec.Username))); err != nil {
			return err
		}
	}
	if rec.LinkID != 0 {
		if err := tx.Bucket(bucketLinkUsers).Delete(linkUserKey(rec.LinkID, rec.ID)); err != nil {
			return err
		}
	}
	if err := deleteUserSessionsTx(tx, rec.ID); err != nil {
		return err
	}
	if _, err := revokeUserOIDCRefreshTx(tx, rec.ID); err != nil {
		return err
	}
	if err := deleteUserTokensTx(tx, rec.ID); err != nil {
		return err
	}
	if err := deleteUserPasskeysTx(tx, rec.ID); err != nil {
		return err
	}
	return deleteUserSSHKeysTx(tx, rec.ID)
}

// UnlockUser clears a user's failed-login count and ends its wait, so that
// its next login is checked at once. It returns ENOTFOUND for an unknown
// id.
func (s *Store) UnlockUser(actor Actor, id uint64) (User, error) {
	var u User
	err := s.update(func(tx *bolt.Tx) error {
		rec, err := getUserTx(tx, id)
		if err != nil {
			return err
		}
		before := rec.LoginAttempts
		rec.LoginAttempts = 0
		rec.ThrottledUntil = nil
		if err := putJSON(tx.Bucket(bucketUsers), itob(id), rec); err != nil {
			return err
		}
		u = rec.user()
		return s.addEventTx(tx, actor, EventUserUnlocked, "user", id, map[string]any{"email": rec.Email, "loginAttempts": before})
	})
	return u, err
}

// DisableUser disables a user: from now on it cannot log in, and every
// session and OpenID Connect refresh token it has ends in the same
// transaction, so no request made with an
// old cookie gets through; its data stays. Disabling a disabled user
// changes nothing. It returns ENOTFOUND, or EINVALID when the actor is
// the user or the user is the last active Admin.
func (s *Store) DisableUser(actor Actor, id uint64) (User, error) {
	var u User
	err := s.update(func(tx *bolt.Tx) error {
		rec, err := getUserTx(tx, id)
		if err != nil {
			return err
		}
		if actor.PersonID() == id {
			return errDisableSelf
		}
		u = rec.user()
		if rec.Disabled {
			return nil
		}
		if rec.isActiveAdmin() {
			n, err := countAdminsTx(tx)
			if err != nil {
				return err
			}
			if n <= 1 {
				return errLastAdmin
			}
		}
		rec.Disabled = true
		if err := putJSON(tx.Bucket(bucketUsers), itob(id), rec); err != nil {
			return err
		}
		if err := deleteUserSessionsTx(tx, id); err != nil {
			return err
		}
		if _, err := revokeUserOIDCRefreshTx(tx, id); err != nil {
			return err
		}
		u = rec.user()
		return s.addEventTx(tx, actor, EventUserDisabled, "user", id, map[string]any{"email": rec.Email})
	})
	return u, err
}

// EnableUser lets a disabled user log in again. The sessions that
// disabling ended stay ended. Enabling an active user changes nothing. It
// returns ENOTFOUND for an unknown id.
func (s *Store) EnableUser(actor Actor, id uint64) (User, error) {
	var u User
	err := s.update(func(tx *bolt.Tx) error {
		rec, err := getUserTx(tx, id)
		if err != nil {
			return err
		}
		u = rec.user()
		if !rec.Disabled {
			return nil
		}
		rec.Disabled = false
		if err := putJSON(tx.Bucket(bucketUsers), itob(id), rec); err != nil {
			return err
		}
		u = rec.user()
		return s.addEventTx(tx, actor, EventUserEnabled, "user", id, map[string]any{"email": rec.Email})
	})
	return u, err
}

// DeleteAPIKey revokes a key at once. It returns ENOTFOUND for an unknown id.
func (s *Store) DeleteAPIKey(actor Actor, id uint64) error {
	return s.update(func(tx *bolt.Tx) error {
		var rec apiKeyRecord
		ok, err := getJSON(tx.Bucket(bucketAPIKeys), itob(id), &rec)
		if err != nil {
			return err
		}
		if !ok {
			return Errorf(ENOTFOUND, "There is no API key with id %d.", id)
		}
		if err := tx.Bucket(bucketAPIKeys).Delete(itob(id)); err != nil {
			return err
		}
		if err := tx.Bucket(bucketAPIKeysByHash).Delete([]byte(rec.Hash)); err != nil {
			return err
		}
		return s.addEventTx(tx, actor, EventAPIKeyDeleted, "api-key", id, map[string]any{"name": rec.Name})
	})
}
