package db

import (
	"encoding/json"
	"regexp"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// DefaultOrganization exists from the start and is where people go when
// no organization is named.
const DefaultOrganization = "default"

// Organization groups users; invitations name the one a person joins.
type Organization struct {
	ID        string
	Name      string
	CreatedAt time.Time
}

type orgRecord struct {
	V         int       `json:"v"`
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

var orgIDPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// slug makes an organization id from a name: lower case, words joined by
// hyphens, other characters dropped.
func slug(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
			dash = false
		case b.Len() > 0 && !dash:
			b.WriteByte('-')
			dash = true
		}
	}
	s := strings.TrimRight(b.String(), "-")
	if len(s) > 63 {
		s = strings.TrimRight(s[:63], "-")
	}
	return s
}

func ensureDefaultOrgTx(tx *bolt.Tx, now time.Time) error {
	b := tx.Bucket(bucketOrgs)
	if b.Get([]byte(DefaultOrganization)) != nil {
		return nil
	}
	return putJSON(b, []byte(DefaultOrganization), orgRecord{V: 1, ID: DefaultOrganization, Name: "Default", CreatedAt: now})
}

func orgExistsTx(tx *bolt.Tx, id string) bool {
	return tx.Bucket(bucketOrgs).Get([]byte(id)) != nil
}

// ListOrganizations returns every organization in id order.
func (s *Store) ListOrganizations() ([]Organization, error) {
	orgs := []Organization{}
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketOrgs).ForEach(func(_, v []byte) error {
			var rec orgRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return err
			}
			orgs = append(orgs, Organization{ID: rec.ID, Name: rec.Name, CreatedAt: rec.CreatedAt})
			return nil
		})
	})
	return orgs, err
}

// CreateOrganization adds an organization. id may be empty, in which case
// it is made from the name. It returns EINVALID for a bad id or name and
// ECONFLICT when the id is taken.
func (s *Store) CreateOrganization(actor Actor, id, name string) (Organization, error) {
	var errs fieldErrors
	name, err := CleanText("name", name, true, MaxNameLength)
	errs.addErr(err)
	id = strings.TrimSpace(id)
	if id == "" && err == nil {
		id = slug(name)
	}
	if !orgIDPattern.MatchString(id) {
		errs.add("id", "must be 1 to 63 lower-case letters, digits and hyphens, starting with a letter or digit")
	}
	if err := errs.err(); err != nil {
		return Organization{}, err
	}
	rec := orgRecord{V: 1, ID: id, Name: name, CreatedAt: s.clock()}
	err = s.update(func(tx *bolt.Tx) error {
		if orgExistsTx(tx, id) {
			return &Error{Code: ECONFLICT, Message: "An organization with the id " + id + " already exists.",
				Details: []FieldError{{Path: "id", Message: "is taken"}}}
		}
		if err := putJSON(tx.Bucket(bucketOrgs), []byte(id), rec); err != nil {
			return err
		}
		return s.addEventTxKey(tx, actor, EventOrgCreated, "organization", id, map[string]any{"name": name})
	})
	return Organization{ID: rec.ID, Name: rec.Name, CreatedAt: rec.CreatedAt}, err
}

// DeleteOrganization removes an organization that no user and no pending
// invitation belongs to. It returns ENOTFOUND, or EINVALID for the default
// organization or one still in use.
func (s *Store) DeleteOrganization(actor Actor, id string) error {
	if id == DefaultOrganization {
		return Errorf(EINVALID, "The default organization cannot be deleted.")
	}
	return s.update(func(tx *bolt.Tx) error {
		if !orgExistsTx(tx, id) {
			return Errorf(ENOTFOUND, "There is no organization with the id %q.", id)
		}
		users := 0
		err := tx.Bucket(bucketUsers).ForEach(func(_, v []byte) error {
			var rec userRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return err
			}
			if rec.orgID() == id {
				users++
			}
			return nil
		})
		if err != nil {
			return err
		}
		pending := 0
		err = tx.Bucket(bucketInvitations).ForEach(func(_, v []byte) error {
			var rec invitationRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return err
			}
			if rec.OrgID == id && rec.State == InvitationPending {
				pending++
			}
			return nil
		})
		if err != nil {
			return err
		}
		if users > 0 || pending > 0 {
			return Errorf(EINVALID, "The organization %q still has %d users and %d pending invitations; move or delete them first.", id, users, pending)
		}
		if err := tx.Bucket(bucketOrgs).Delete([]byte(id)); err != nil {
			return err
		}
		return s.addEventTxKey(tx, actor, EventOrgDeleted, "organization", id, nil)
	})
}
