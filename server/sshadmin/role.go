package sshadmin

import (
	"context"

	"invited/db"
	"invited/tui"
)

// ForRole limits b to what role may do through the API (server's
// permission table): an Admin gets b as it is; an Editor keeps signup
// links, invitations and the list of organizations, and every other call
// answers EFORBIDDEN, so that the TUI shows the refusal instead of the
// data. The pending-approval count in the header is 0 for an Editor.
func ForRole(b tui.Backend, role db.Role) tui.Backend {
	if role == db.RoleAdmin {
		return b
	}
	return editorBackend{b}
}

// errEditor is the answer to everything an Editor may not do.
var errEditor = db.Errorf(db.EFORBIDDEN, "Editors manage signup links and invitations only; ask an Admin for this.")

// editorBackend is the Backend of an Editor; see ForRole. Embedding keeps
// the methods an Editor may call; the ones below refuse.
type editorBackend struct{ tui.Backend }

func (editorBackend) ListUsers(context.Context, int, int) ([]db.User, int, error) {
	return nil, 0, errEditor
}
func (editorBackend) UpdateUser(context.Context, db.Actor, uint64, db.UserUpdate) (db.User, error) {
	return db.User{}, errEditor
}
func (editorBackend) UnlockUser(context.Context, db.Actor, uint64) (db.User, error) {
	return db.User{}, errEditor
}
func (editorBackend) DisableUser(context.Context, db.Actor, uint64) (db.User, error) {
	return db.User{}, errEditor
}
func (editorBackend) EnableUser(context.Context, db.Actor, uint64) (db.User, error) {
	return db.User{}, errEditor
}
func (editorBackend) MarkEmailVerified(context.Context, db.Actor, uint64) (db.User, error) {
	return db.User{}, errEditor
}
func (editorBackend) ApproveUser(context.Context, db.Actor, uint64) (db.User, error) {
	return db.User{}, errEditor
}
func (editorBackend) RejectUser(context.Context, db.Actor, uint64) (db.User, error) {
	return db.User{}, errEditor
}
func (editorBackend) CountPendingUsers(context.Context) (int, error) { return 0, nil }
func (editorBackend) DeleteUser(context.Context, db.Actor, uint64) error {
	return errEditor
}
func (editorBackend) ClearSecondFactors(context.Context, db.Actor, uint64) (db.User, error) {
	return db.User{}, errEditor
}
func (editorBackend) CreateResetLink(context.Context, db.Actor, uint64) (string, db.UserToken, error) {
	return "", db.UserToken{}, errEditor
}
func (editorBackend) ListAPIKeys(context.Context) ([]db.APIKey, error) { return nil, errEditor }
func (editorBackend) CreateAPIKey(context.Context, db.Actor, string, db.Role) (db.APIKey, string, error) {
	return db.APIKey{}, "", errEditor
}
func (editorBackend) DeleteAPIKey(context.Context, db.Actor, uint64) error { return errEditor }
func (editorBackend) CreateOrganization(context.Context, db.Actor, string, string) (db.Organization, error) {
	return db.Organization{}, errEditor
}
func (editorBackend) DeleteOrganization(context.Context, db.Actor, string) error { return errEditor }
func (editorBackend) ListGroups(context.Context) ([]db.Group, error)             { return nil, errEditor }
func (editorBackend) CreateGroup(context.Context, db.Actor, db.NewGroup) (db.Group, error) {
	return db.Group{}, errEditor
}
func (editorBackend) UpdateGroup(context.Context, db.Actor, string, db.GroupUpdate) (db.Group, error) {
	return db.Group{}, errEditor
}
func (editorBackend) DeleteGroup(context.Context, db.Actor, string) error { return errEditor }
func (editorBackend) ListApps(context.Context) ([]db.App, error)          { return nil, errEditor }
func (editorBackend) CreateApp(context.Context, db.Actor, db.NewApp) (db.App, string, error) {
	return db.App{}, "", errEditor
}
func (editorBackend) RotateAppSecret(context.Context, db.Actor, string) (db.App, string, error) {
	return db.App{}, "", errEditor
}
func (editorBackend) UpdateApp(context.Context, db.Actor, string, db.AppUpdate) (db.App, error) {
	return db.App{}, errEditor
}
func (editorBackend) DeleteApp(context.Context, db.Actor, string) error  { return errEditor }
func (editorBackend) ListWebhooks(context.Context) ([]db.Webhook, error) { return nil, errEditor }
func (editorBackend) CreateWebhook(context.Context, db.Actor, db.NewWebhook) (db.Webhook, error) {
	return db.Webhook{}, errEditor
}
func (editorBackend) DeleteWebhook(context.Context, db.Actor, uint64) error { return errEditor }
func (editorBackend) ListWebhookDeliveries(context.Context, uint64, int) ([]db.WebhookDelivery, error) {
	return nil, errEditor
}
func (editorBackend) ListEvents(context.Context, string, int, int) ([]db.Event, int, error) {
	return nil, 0, errEditor
}
