package db

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Group says what a user may enter (DESIGN §8). Users, signup links and
// invitations carry group ids; whoever joins through a link or an
// invitation gets its groups.
type Group struct {
	ID          string
	Name        string
	Description string
	CreatedAt   time.Time
}

type groupRecord struct {
	V           int       `json:"v"`
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
}

func (r groupRecord) group() Group {
	return Group{ID: r.ID, Name: r.Name, Description: r.Description, CreatedAt: r.CreatedAt}
}

// NewGroup is what it takes to create a group. ID may be empty: it is then
// made from the name, as an organization's is.
type NewGroup struct {
	ID          string
	Name        string
	Description string
}

// GroupUpdate changes a group; nil fields stay as they are. The id never
// changes: users, links and invitations hold it.
type GroupUpdate struct {
	Name        *string
	Description *string
}

// MaxGroups bounds the groups one user, link or invitation carries.
const MaxGroups = 64

// errNoGroup is the answer for an unknown group id.
func errNoGroup(id string) error {
	return Errorf(ENOTFOUND, "There is no group with the id %q.", id)
}

func getGroupTx(tx *bolt.Tx, id string) (groupRecord, error) {
	var rec groupRecord
	if b := tx.Bucket(bucketGroups); b != nil {
		if ok, err := getJSON(b, []byte(id), &rec); err != nil || ok {
			return rec, err
		}
	}
	return rec, errNoGroup(id)
}

// ListGroups returns every group in id order.
func (s *Store) ListGroups() ([]Group, error) {
	groups := []Group{}
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketGroups)
		if b == nil { // a file of an older build opened read-only
			return nil
		}
		return b.ForEach(func(_, v []byte) error {
			var rec groupRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return err
			}
			groups = append(groups, rec.group())
			return nil
		})
	})
	return groups, err
}

// GetGroup returns one group, or ENOTFOUND.
func (s *Store) GetGroup(id string) (Group, error) {
	var g Group
	err := s.db.View(func(tx *bolt.Tx) error {
		rec, err := getGroupTx(tx, id)
		g = rec.group()
		return err
	})
	return g, err
}

// CreateGroup adds a group. It returns EINVALID for a bad id, name or
// description and ECONFLICT when the id is taken.
func (s *Store) CreateGroup(actor Actor, in NewGroup) (Group, error) {
	var errs fieldErrors
	name, err := CleanText("name", in.Name, true, MaxNameLength)
	errs.addErr(err)
	description, derr := CleanText("description", in.Description, false, MaxNameLength)
	errs.addErr(derr)
	id := strings.TrimSpace(in.ID)
	if id == "" && err == nil {
		id = slug(name)
	}
	if !orgIDPattern.MatchString(id) {
		errs.add("id", "must be 1 to 63 lower-case letters, digits and hyphens, starting with a letter or digit")
	}
	if err := errs.err(); err != nil {
		return Group{}, err
	}
	rec := groupRecord{V: 1, ID: id, Name: name, Description: description, CreatedAt: s.clock()}
	err = s.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketGroups)
		if b.Get([]byte(id)) != nil {
			return &Error{Code: ECONFLICT, Message: "A group with the id " + id + " already exists; choose another id.",
				Details: []FieldError{{Path: "id", Message: "is taken"}}}
		}
		if err := putJSON(b, []byte(id), rec); err != nil {
			return err
		}
		return s.addEventTxKey(tx, actor, EventGroupCreated, "group", id, map[string]any{"name": name, "description": description})
	})
	return rec.group(), err
}

// UpdateGroup renames a group or changes its description. It returns
// ENOTFOUND, or EINVALID when nothing is given or a value breaks the rules
// of CreateGroup.
func (s *Store) UpdateGroup(actor Actor, id string, in GroupUpdate) (Group, error) {
	if in.Name == nil && in.Description == nil {
		return Group{}, &Error{Code: EINVALID, Message: "Nothing to change: give name, description, or both.",
			Details: []FieldError{{Path: "", Message: "give name or description"}}}
	}
	var errs fieldErrors
	if in.Name != nil {
		n, err := CleanText("name", *in.Name, true, MaxNameLength)
		errs.addErr(err)
		in.Name = &n
	}
	if in.Description != nil {
		d, err := CleanText("description", *in.Description, false, MaxNameLength)
		errs.addErr(err)
		in.Description = &d
	}
	if err := errs.err(); err != nil {
		return Group{}, err
	}
	var g Group
	err := s.update(func(tx *bolt.Tx) error {
		rec, err := getGroupTx(tx, id)
		if err != nil {
			return err
		}
		data := map[string]any{}
		if in.Name != nil && *in.Name != rec.Name {
			data["oldName"] = rec.Name
			data["name"] = *in.Name
			rec.Name = *in.Name
		}
		if in.Description != nil && *in.Description != rec.Description {
			data["description"] = *in.Description
			rec.Description = *in.Description
		}
		g = rec.group()
		if len(data) == 0 {
			return nil
		}
		if err := putJSON(tx.Bucket(bucketGroups), []byte(id), rec); err != nil {
			return err
		}
		return s.addEventTxKey(tx, actor, EventGroupUpdated, "group", id, data)
	})
	return g, err
}

// DeleteGroup removes a group and, in the same transaction, its id from
// every user, signup link, invitation and app, so that nothing is left pointing
// at it. It returns ENOTFOUND for an unknown id, and ECONFLICT when the
// group is the only group of an app (which would then admit everyone).
func (s *Store) DeleteGroup(actor Actor, id string) error {
	return s.update(func(tx *bolt.Tx) error {
		rec, err := getGroupTx(tx, id)
		if err != nil {
			return err
		}
		users, err := dropGroupTx(tx, bucketUsers, id, func(r *userRecord) *[]string { return &r.Groups },
			func(k []byte, r userRecord) error { return putJSON(tx.Bucket(bucketUsers), k, r) })
		if err != nil {
			return err
		}
		// Links are written through putLinkTx, which keeps the validate
		// cache exact.
		links, err := dropGroupTx(tx, bucketLinks, id, func(r *linkRecord) *[]string { return &r.Groups },
			func(_ []byte, r linkRecord) error { return s.putLinkTx(tx, r) })
		if err != nil {
			return err
		}
		invitations, err := dropGroupTx(tx, bucketInvitations, id, func(r *invitationRecord) *[]string { return &r.Groups },
			func(k []byte, r invitationRecord) error { return putJSON(tx.Bucket(bucketInvitations), k, r) })
		if err != nil {
			return err
		}
		// An app left with no group would admit every active user: deny by
		// default, and let the admin choose the app's groups first.
		if err := lastGroupOfAnAppTx(tx, id); err != nil {
			return err
		}
		apps, err := dropGroupTx(tx, bucketApps, id, func(r *appRecord) *[]string { return &r.Groups },
			func(k []byte, r appRecord) error { return putJSON(tx.Bucket(bucketApps), k, r) })
		if err != nil {
			return err
		}
		if err := tx.Bucket(bucketGroups).Delete([]byte(id)); err != nil {
			return err
		}
		return s.addEventTxKey(tx, actor, EventGroupDeleted, "group", id, map[string]any{
			"name": rec.Name, "users": users, "links": links, "invitations": invitations, "apps": apps,
		})
	})
}

// lastGroupOfAnAppTx returns ECONFLICT, naming the app, when group id is
// the only group of an app.
func lastGroupOfAnAppTx(tx *bolt.Tx, id string) error {
	var app string
	err := tx.Bucket(bucketApps).ForEach(func(_, v []byte) error {
		var rec appRecord
		if err := json.Unmarshal(v, &rec); err != nil {
			return err
		}
		if app == "" && len(rec.Groups) == 1 && rec.Groups[0] == id {
			app = rec.ID
		}
		return nil
	})
	if err == nil && app != "" {
		err = Errorf(ECONFLICT, "The group %s is the only group of the app %s, which would then let every user in; give that app other groups (or delete it) first.", id, app)
	}
	return err
}

// dropGroupTx removes group id from every record of bucket that holds it,
// writing each changed record with put, and says how many there were.
func dropGroupTx[R any](tx *bolt.Tx, bucket []byte, id string, groups func(*R) *[]string, put func(key []byte, rec R) error) (int, error) {
	return rewriteTx(tx, bucket, func(rec *R) bool {
		g := groups(rec)
		i := slices.Index(*g, id)
		if i < 0 {
			return false
		}
		*g = slices.Delete(*g, i, i+1)
		return true
	}, put)
}

// rewriteTx walks every record of bucket, lets change edit it (true when
// it did), writes each changed record with put once the walk is over, and
// says how many there were.
func rewriteTx[R any](tx *bolt.Tx, bucket []byte, change func(*R) bool, put func(key []byte, rec R) error) (int, error) {
	type changed struct {
		key []byte
		rec R
	}
	var list []changed
	// Collected first, written after: bbolt forbids changing a bucket
	// while ForEach walks it.
	err := tx.Bucket(bucket).ForEach(func(k, v []byte) error {
		var rec R
		if err := json.Unmarshal(v, &rec); err != nil {
			return err
		}
		if change(&rec) {
			list = append(list, changed{key: slices.Clone(k), rec: rec})
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, c := range list {
		if err := put(c.key, c.rec); err != nil {
			return 0, err
		}
	}
	return len(list), nil
}

// cleanGroups sorts group ids and drops repeats, adding what is wrong with
// the list's shape to errs. Whether each group exists is checked in the
// write (checkGroupsTx).
func cleanGroups(errs *fieldErrors, path string, in []string) []string {
	if len(in) > MaxGroups {
		errs.add(path, fmt.Sprintf("may list at most %d groups", MaxGroups))
		return nil
	}
	out := make([]string, 0, len(in))
	for i, id := range in {
		id = strings.TrimSpace(id)
		if !orgIDPattern.MatchString(id) {
			errs.add(fmt.Sprintf("%s[%d]", path, i), fmt.Sprintf("%q is not a group id: ids are lower-case letters, digits and hyphens", in[i]))
			continue
		}
		out = append(out, id)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// checkGroupsTx checks, inside the write, that every group of a list
// exists and that actor may hand it out. given is the list as the caller
// wrote it, so each error names the caller's index (groups[1]).
func checkGroupsTx(tx *bolt.Tx, actor Actor, path string, given []string) error {
	var errs fieldErrors
	for i, id := range given {
		id = strings.TrimSpace(id)
		p := fmt.Sprintf("%s[%d]", path, i)
		// Whoever may not hand a group out learns nothing more about it,
		// not even whether it exists.
		if !actor.CanGrantGroups([]string{id}) {
			errs.add(p, fmt.Sprintf("%q is not one of your groups: you may hand out only groups you are in", id))
		} else if _, err := getGroupTx(tx, id); err != nil {
			errs.add(p, fmt.Sprintf("%q is not a group; create it first or leave it out", id))
		}
	}
	return errs.err()
}

// nonEmpty is nil for an empty list, so that records without groups store
// nothing for them.
func nonEmpty(ids []string) []string {
	if len(ids) == 0 {
		return nil
	}
	return ids
}

// liveGroupsTx keeps, of the groups of a link or invitation, those that
// still exist: a new user never gets the id of a deleted group.
func liveGroupsTx(tx *bolt.Tx, ids []string) []string {
	var out []string
	for _, id := range ids {
		if _, err := getGroupTx(tx, id); err == nil {
			out = append(out, id)
		}
	}
	return out
}
