package server

import "invited/db"

// permission names one kind of admin action.
type permission string

const (
	permReadSelf    permission = "READ_SELF"
	permManageLinks permission = "MANAGE_SIGNUP_LINKS"
	permManageUsers permission = "MANAGE_USERS"
	permManageKeys  permission = "MANAGE_API_KEYS"
	permReadEvents  permission = "READ_EVENTS"
	permReadRoles   permission = "READ_ROLES"

	permManageInvitations permission = "MANAGE_INVITATIONS"
	permReadOrgs          permission = "READ_ORGANIZATIONS"
	permManageOrgs        permission = "MANAGE_ORGANIZATIONS"
	permManageGroups      permission = "MANAGE_GROUPS"
	permManageApps        permission = "MANAGE_APPS"
	permManageWebhooks    permission = "MANAGE_WEBHOOKS"
	// permOwnAccount is a person's own sign-in methods (passkeys): every
	// role has it, for its own account only.
	permOwnAccount permission = "MANAGE_OWN_ACCOUNT"
	// permManageSSHKeys is the SSH keys that open the admin TUI: an
	// Admin's on anyone's account, an Editor's on their own only (the
	// store checks whose).
	permManageSSHKeys permission = "MANAGE_SSH_KEYS"
)

// rolePermissions is the one table that decides what each root role may
// do; every authenticated route names the permission it needs.
var rolePermissions = map[db.Role][]permission{
	db.RoleAdmin: {permReadSelf, permManageLinks, permManageUsers, permManageKeys, permReadEvents, permReadRoles,
		permManageInvitations, permReadOrgs, permManageOrgs, permManageGroups, permManageApps, permManageWebhooks, permOwnAccount, permManageSSHKeys},
	db.RoleEditor: {permReadSelf, permManageLinks, permReadRoles, permManageInvitations, permReadOrgs, permOwnAccount, permManageSSHKeys},
	db.RoleViewer: {permReadSelf, permOwnAccount},
}

func allowed(role db.Role, perm permission) bool {
	for _, p := range rolePermissions[role] {
		if p == perm {
			return true
		}
	}
	return false
}
