package db

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	bolt "go.etcd.io/bbolt"
)

// normalizeAddressesTx is the migration to schema 2: it rewrites the
// addresses stored before NormalizeEmail existed in its form, rebuilds the
// two email indexes under the new keys, and normalises the allowed domains
// of signup links.
//
// It never merges or deletes: when two records turn out to be one mailbox,
// both stay exactly as they were, one of them keeps the index entry, and
// the report names them for an admin to decide. A record whose address the
// rules now refuse is kept as it was and reported too.
func (s *Store) normalizeAddressesTx(tx *bolt.Tx, report *MigrationReport) error {
	users, err := s.normalizeUserAddressesTx(tx, report)
	if err != nil {
		return err
	}
	if err := normalizeInvitationAddressesTx(tx, users, report); err != nil {
		return err
	}
	return normalizeLinkDomainsTx(tx, report)
}

// addressOf is a stored record's address as the migration sees it.
type addressOf struct {
	id     uint64
	stored string
	normal string // "" when the rules refuse the address
	why    string // why they refuse it
	key    string
}

// newAddressOf reads a stored address through NormalizeEmail.
func newAddressOf(id uint64, stored string) addressOf {
	a := addressOf{id: id, stored: stored, key: emailKey(stored)}
	normal, err := NormalizeEmail("email", stored)
	if err != nil {
		a.why = refusal(err)
	} else {
		a.normal = normal
	}
	return a
}

// refusal is the reason part of a NormalizeEmail or NormalizeDomain
// error, without the advice to the person typing the address.
func refusal(err error) string {
	why := ErrorMessage(err)
	if e, ok := err.(*Error); ok && len(e.Details) == 1 {
		why = e.Details[0].Message
	}
	why, _, _ = strings.Cut(why, "; ")
	return why
}

// groupByKey groups addresses by index key, the groups in the order of
// their first member.
func groupByKey(all []addressOf) [][]addressOf {
	index := map[string]int{}
	var groups [][]addressOf
	for _, a := range all {
		i, ok := index[a.key]
		if !ok {
			i = len(groups)
			index[a.key] = i
			groups = append(groups, nil)
		}
		groups[i] = append(groups[i], a)
	}
	return groups
}

// recreateBucket empties an index bucket, to be filled again.
func recreateBucket(tx *bolt.Tx, name []byte) (*bolt.Bucket, error) {
	if err := tx.DeleteBucket(name); err != nil {
		return nil, err
	}
	return tx.CreateBucket(name)
}

// describe names the records of a group for a warning: user 1 ("…") and …
func describe(kind string, group []addressOf) string {
	parts := make([]string, len(group))
	for i, a := range group {
		parts[i] = fmt.Sprintf("%s %d (%q)", kind, a.id, a.stored)
	}
	return strings.Join(parts, " and ")
}

// normalizeUserAddressesTx migrates the users and users_by_email, and
// returns the new index: key → user id.
func (s *Store) normalizeUserAddressesTx(tx *bolt.Tx, report *MigrationReport) (map[string]uint64, error) {
	b := tx.Bucket(bucketUsers)
	var all []addressOf
	err := b.ForEach(func(k, v []byte) error {
		var rec userRecord
		if err := json.Unmarshal(v, &rec); err != nil {
			return fmt.Errorf("decode user %x: %w", k, err)
		}
		all = append(all, newAddressOf(rec.ID, rec.Email))
		return nil
	})
	if err != nil {
		return nil, err
	}
	idx, err := recreateBucket(tx, bucketUsersByEmail)
	if err != nil {
		return nil, err
	}
	owners := map[string]uint64{}
	for _, group := range groupByKey(all) {
		owner := group[0]
		if len(group) > 1 {
			// The account whose address is already in the normal form
			// keeps the entry, else the oldest: logging in with the
			// normal spelling then reaches the account that shows it.
			sort.SliceStable(group, func(i, j int) bool {
				return group[i].stored == group[i].normal && group[j].stored != group[j].normal
			})
			owner = group[0]
			report.Warnings = append(report.Warnings, fmt.Sprintf(
				"%s are one mailbox (%s) once addresses are normalised; all were kept as they were, and signing in with that address reaches user %d only. Delete all but one of them, or give the others another email address.",
				describe("user", group), owner.key, owner.id))
		} else if owner.normal != "" && owner.normal != owner.stored {
			if err := rewriteUserEmailTx(b, owner.id, owner.normal); err != nil {
				return nil, err
			}
		}
		if owner.normal == "" {
			report.Warnings = append(report.Warnings, fmt.Sprintf(
				"user %d has the email %q, which the address rules now refuse (%s). The account was kept as it was; check that it is genuine, then change its email or delete it.",
				owner.id, owner.stored, owner.why))
		}
		if err := idx.Put([]byte(owner.key), itob(owner.id)); err != nil {
			return nil, err
		}
		owners[owner.key] = owner.id
	}
	return owners, nil
}

// rewriteUserEmailTx stores a user's address in its normal form.
func rewriteUserEmailTx(b *bolt.Bucket, id uint64, email string) error {
	var rec userRecord
	if _, err := getJSON(b, itob(id), &rec); err != nil {
		return err
	}
	rec.Email = email
	return putJSON(b, itob(id), rec)
}

// normalizeInvitationAddressesTx migrates the invitations and
// invitations_by_email, which holds stored-PENDING invitations only.
func normalizeInvitationAddressesTx(tx *bolt.Tx, users map[string]uint64, report *MigrationReport) error {
	b := tx.Bucket(bucketInvitations)
	var pending, done []addressOf
	err := b.ForEach(func(k, v []byte) error {
		var rec invitationRecord
		if err := json.Unmarshal(v, &rec); err != nil {
			return fmt.Errorf("decode invitation %x: %w", k, err)
		}
		if rec.State == InvitationPending {
			pending = append(pending, newAddressOf(rec.ID, rec.Email))
		} else {
			done = append(done, newAddressOf(rec.ID, rec.Email))
		}
		return nil
	})
	if err != nil {
		return err
	}
	// Accepted and revoked invitations only show what happened; they take
	// the normal form when the rules allow it, and need no admin.
	for _, a := range done {
		if a.normal != "" && a.normal != a.stored {
			if err := rewriteInvitationEmailTx(b, a.id, a.normal); err != nil {
				return err
			}
		}
	}
	idx, err := recreateBucket(tx, bucketInvitesByEmail)
	if err != nil {
		return err
	}
	for _, group := range groupByKey(pending) {
		// The newest invitation of a mailbox is the one the index names,
		// as when an invitation replaces an expired one.
		owner := group[len(group)-1]
		if len(group) > 1 {
			names := make([]string, len(group))
			for i, a := range group {
				names[i] = fmt.Sprintf("%s (%q)", InvitationName(a.id), a.stored)
			}
			report.Warnings = append(report.Warnings, fmt.Sprintf(
				"the pending invitations %s are for one mailbox (%s) once addresses are normalised; all were kept as they were. Revoke all but one of them.",
				strings.Join(names, " and "), owner.key))
		} else if owner.normal != "" && owner.normal != owner.stored && users[owner.key] == 0 {
			if err := rewriteInvitationEmailTx(b, owner.id, owner.normal); err != nil {
				return err
			}
		}
		switch user := users[owner.key]; {
		case owner.normal == "":
			report.Warnings = append(report.Warnings, fmt.Sprintf(
				"the pending invitation %s is for %q, which the address rules now refuse (%s), so it can no longer be accepted. Revoke it, and invite the right address if there is one.",
				InvitationName(owner.id), owner.stored, owner.why))
		case user != 0:
			report.Warnings = append(report.Warnings, fmt.Sprintf(
				"the pending invitation %s (%q) is for the mailbox of user %d once addresses are normalised, so it can no longer be accepted. Revoke it.",
				InvitationName(owner.id), owner.stored, user))
		}
		if err := idx.Put([]byte(owner.key), itob(owner.id)); err != nil {
			return err
		}
	}
	return nil
}

// rewriteInvitationEmailTx stores an invitation's address in its normal form.
func rewriteInvitationEmailTx(b *bolt.Bucket, id uint64, email string) error {
	var rec invitationRecord
	if _, err := getJSON(b, itob(id), &rec); err != nil {
		return err
	}
	rec.Email = email
	return putJSON(b, itob(id), rec)
}

// normalizeLinkDomainsTx puts the allowed domains of every signup link in
// the form NormalizeDomain gives, so that they match the normalised
// addresses. A domain the rules refuse stays as it was and is reported.
func normalizeLinkDomainsTx(tx *bolt.Tx, report *MigrationReport) error {
	b := tx.Bucket(bucketLinks)
	type change struct {
		id  uint64
		rec linkRecord
	}
	var changes []change
	err := b.ForEach(func(k, v []byte) error {
		var rec linkRecord
		if err := json.Unmarshal(v, &rec); err != nil {
			return fmt.Errorf("decode link %x: %w", k, err)
		}
		if len(rec.AllowedDomains) == 0 {
			return nil
		}
		seen := map[string]bool{}
		var domains []string
		for _, d := range rec.AllowedDomains {
			nd, err := NormalizeDomain("allowedDomains", d)
			if err != nil {
				nd = d
				why := refusal(err)
				report.Warnings = append(report.Warnings, fmt.Sprintf(
					"signup link %d (%q) allows the domain %q, which the address rules now refuse (%s), so no one can sign up with it. Disable the link and create one with the right domain.",
					rec.ID, rec.Name, d, why))
			}
			if !seen[nd] {
				seen[nd] = true
				domains = append(domains, nd)
			}
		}
		if strings.Join(domains, ",") != strings.Join(rec.AllowedDomains, ",") {
			rec.AllowedDomains = domains
			changes = append(changes, change{rec.ID, rec})
		}
		return nil
	})
	if err != nil {
		return err
	}
	// Written after the walk: bbolt does not allow changing a bucket
	// while ForEach runs over it.
	for _, c := range changes {
		if err := putJSON(b, itob(c.id), c.rec); err != nil {
			return err
		}
	}
	return nil
}
