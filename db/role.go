package db

import (
	"slices"
	"strconv"
	"strings"
)

// Role is a root role. Lower ids carry more rights: Admin (1) > Editor (2) >
// Viewer (3).
type Role int

// The root roles.
const (
	RoleAdmin  Role = 1
	RoleEditor Role = 2
	RoleViewer Role = 3
)

// Roles lists every root role, most powerful first.
var Roles = []Role{RoleAdmin, RoleEditor, RoleViewer}

// Valid reports whether r is one of the root roles.
func (r Role) Valid() bool { return r >= RoleAdmin && r <= RoleViewer }

// AtLeast reports whether r has every right that other has.
func (r Role) AtLeast(other Role) bool { return r.Valid() && r <= other }

// Name is the role's display name: "Admin", "Editor" or "Viewer".
func (r Role) Name() string {
	switch r {
	case RoleAdmin:
		return "Admin"
	case RoleEditor:
		return "Editor"
	case RoleViewer:
		return "Viewer"
	}
	return "Role " + strconv.Itoa(int(r))
}

// Description says what holders of the role may do.
func (r Role) Description() string {
	switch r {
	case RoleAdmin:
		return "Admins may do everything: manage users, roles, API keys, signup links and invitations."
	case RoleEditor:
		return "Editors may create and manage signup links and invitations, but not users, roles or API keys."
	case RoleViewer:
		return "Viewers may sign in and read their own user."
	}
	return ""
}

// RootRoleRule is what a role field must hold, in the words of every
// error about one: the API reads a role as its id or its name.
const RootRoleRule = `must be a root role: 1 or "Admin", 2 or "Editor", 3 or "Viewer"`

// ParseRole reads a role from its id ("1") or its name ("admin", any case).
// It returns false when s names no root role.
func ParseRole(s string) (Role, bool) {
	s = strings.TrimSpace(s)
	if n, err := strconv.Atoi(s); err == nil {
		r := Role(n)
		return r, r.Valid()
	}
	for _, r := range Roles {
		if strings.EqualFold(s, r.Name()) {
			return r, true
		}
	}
	return 0, false
}

// Actor is who makes a change: a logged-in user, an API key, or the system
// itself (startup tasks). It is recorded in audit events and createdBy fields.
type Actor struct {
	Kind string // "user", "apikey" or "system"
	ID   uint64
	Name string // username or email for users, the key's name for keys
	Role Role
	// Groups are the ids of the groups the actor is in: a user's groups;
	// none for API keys and the system, whose reach is their role's.
	Groups []string
}

// SystemActor is the actor of changes the program makes by itself.
var SystemActor = Actor{Kind: "system", Name: "system", Role: RoleAdmin}

// CanGrant reports whether the actor could hand out role themselves. It is
// the ceiling of everything reachable (DESIGN §5): an actor creates, sees
// the secret or token of, changes, re-enables, extends, revokes or resends
// only links and invitations whose role passes it, so nobody is one
// request away from a role above their own. Links and invitations also
// carry groups: CanGrantGroups is the other half of the same ceiling.
func (a Actor) CanGrant(role Role) bool { return a.Role.AtLeast(role) }

// CanGrantGroups reports whether the actor could hand out every one of
// groups: an Admin any, anyone else only groups they are in (DESIGN §8).
func (a Actor) CanGrantGroups(groups []string) bool {
	if a.Role == RoleAdmin {
		return true
	}
	for _, g := range groups {
		if !slices.Contains(a.Groups, g) {
			return false
		}
	}
	return true
}

// CanHandOut is the whole ceiling of a link or invitation: its role and
// its groups.
func (a Actor) CanHandOut(role Role, groups []string) bool {
	return a.CanGrant(role) && a.CanGrantGroups(groups)
}

// PersonID is the id of the user behind the actor: a logged-in user, or
// a user in the admin TUI over SSH (Kind "ssh"); 0 for API keys, the local
// TUI and the system.
func (a Actor) PersonID() uint64 {
	if a.Kind == "user" || a.Kind == "ssh" {
		return a.ID
	}
	return 0
}

// String renders the actor for audit events, e.g. "apikey:ci-bot".
func (a Actor) String() string {
	if a.Kind == "user" {
		return a.Name
	}
	return a.Kind + ":" + a.Name
}
