package tui

import (
	"context"
	"time"

	"invited/db"
)

// Backend is everything the TUI does to the data. It is satisfied by
// DirectBackend (the store, when the TUI holds the database file itself)
// and by the admin socket's client (server/adminrpc), which talks to a
// running server. Both return *db.Error values with the same codes, so the
// TUI shows the same messages either way; any other error from the client
// means the server could not be reached or stopped answering.
//
// The context bounds one operation: the client gives up when it ends. The
// store cannot stop a transaction under way, so on the file it is checked
// only before one starts.
type Backend interface {
	// The lists, like every change, hold only what the actor may manage:
	// nothing whose role is above their own.
	ListSignupTokens(ctx context.Context, actor db.Actor) ([]db.SignupToken, error)
	CreateSignupToken(ctx context.Context, actor db.Actor, in db.NewSignupToken) (db.SignupToken, error)
	UpdateSignupToken(ctx context.Context, actor db.Actor, secret string, in db.SignupTokenUpdate) (db.SignupToken, error)
	DeleteSignupToken(ctx context.Context, actor db.Actor, secret string) error

	ListInvitations(ctx context.Context, actor db.Actor, state string, after uint64, limit int) ([]db.Invitation, uint64, error)
	CreateInvitation(ctx context.Context, actor db.Actor, in db.NewInvitation) (db.Invitation, error)
	ResendInvitation(ctx context.Context, actor db.Actor, id uint64) (db.Invitation, error)
	// ResendInvitationWithTTL makes a new link that works for ttl from
	// now (0: the invitation's own ttl).
	ResendInvitationWithTTL(ctx context.Context, actor db.Actor, id uint64, ttl time.Duration) (db.Invitation, error)
	RevokeInvitation(ctx context.Context, actor db.Actor, id uint64) (db.Invitation, error)
	// CreateInvitationBatch is Store.CreateInvitationBatch: a result per
	// row, in order.
	CreateInvitationBatch(ctx context.Context, actor db.Actor, in db.NewInvitationBatch) ([]db.BatchResult, error)

	ListUsers(ctx context.Context, offset, limit int) ([]db.User, int, error)
	UpdateUser(ctx context.Context, actor db.Actor, id uint64, in db.UserUpdate) (db.User, error)
	UnlockUser(ctx context.Context, actor db.Actor, id uint64) (db.User, error)
	// DisableUser and EnableUser are Store.DisableUser and EnableUser.
	DisableUser(ctx context.Context, actor db.Actor, id uint64) (db.User, error)
	EnableUser(ctx context.Context, actor db.Actor, id uint64) (db.User, error)
	// MarkEmailVerified is Store.MarkEmailVerified.
	MarkEmailVerified(ctx context.Context, actor db.Actor, id uint64) (db.User, error)
	// ApproveUser, RejectUser and CountPendingUsers are the Store's:
	// approval of signups through links that require it.
	ApproveUser(ctx context.Context, actor db.Actor, id uint64) (db.User, error)
	RejectUser(ctx context.Context, actor db.Actor, id uint64) (db.User, error)
	CountPendingUsers(ctx context.Context) (int, error)
	DeleteUser(ctx context.Context, actor db.Actor, id uint64) error
	// ClearSecondFactors is Store.ClearSecondFactors.
	ClearSecondFactors(ctx context.Context, actor db.Actor, id uint64) (db.User, error)
	// CreateResetLink is Store.CreateResetLink: the secret of a new reset
	// link for the user (shown once) and its token.
	CreateResetLink(ctx context.Context, actor db.Actor, id uint64) (string, db.UserToken, error)

	// ListSSHKeys, AddSSHKey and DeleteSSHKey are the Store's SSHKeys,
	// AddSSHKey and DeleteSSHKey: the keys that open the TUI over SSH.
	ListSSHKeys(ctx context.Context, actor db.Actor, userID uint64) ([]db.SSHKey, error)
	AddSSHKey(ctx context.Context, actor db.Actor, userID uint64, name, key string) (db.SSHKey, error)
	DeleteSSHKey(ctx context.Context, actor db.Actor, userID, keyID uint64) error

	ListAPIKeys(ctx context.Context) ([]db.APIKey, error)
	CreateAPIKey(ctx context.Context, actor db.Actor, name string, role db.Role) (db.APIKey, string, error)
	DeleteAPIKey(ctx context.Context, actor db.Actor, id uint64) error

	ListOrganizations(ctx context.Context) ([]db.Organization, error)
	CreateOrganization(ctx context.Context, actor db.Actor, id, name string) (db.Organization, error)
	DeleteOrganization(ctx context.Context, actor db.Actor, id string) error

	ListGroups(ctx context.Context) ([]db.Group, error)
	CreateGroup(ctx context.Context, actor db.Actor, in db.NewGroup) (db.Group, error)
	UpdateGroup(ctx context.Context, actor db.Actor, id string, in db.GroupUpdate) (db.Group, error)
	DeleteGroup(ctx context.Context, actor db.Actor, id string) error
	ListApps(ctx context.Context) ([]db.App, error)
	CreateApp(ctx context.Context, actor db.Actor, in db.NewApp) (db.App, string, error)
	RotateAppSecret(ctx context.Context, actor db.Actor, id string) (db.App, string, error)
	UpdateApp(ctx context.Context, actor db.Actor, id string, in db.AppUpdate) (db.App, error)
	DeleteApp(ctx context.Context, actor db.Actor, id string) error

	// ListWebhooks, CreateWebhook, DeleteWebhook and
	// ListWebhookDeliveries are the Store's Webhooks, CreateWebhook,
	// DeleteWebhook and WebhookDeliveries. Only CreateWebhook's answer
	// holds the signing secret.
	ListWebhooks(ctx context.Context) ([]db.Webhook, error)
	CreateWebhook(ctx context.Context, actor db.Actor, in db.NewWebhook) (db.Webhook, error)
	DeleteWebhook(ctx context.Context, actor db.Actor, id uint64) error
	ListWebhookDeliveries(ctx context.Context, webhookID uint64, limit int) ([]db.WebhookDelivery, error)

	ListEvents(ctx context.Context, typ string, offset, limit int) ([]db.Event, int, error)
}

// DirectBackend is the Backend on a store the TUI holds itself. The store
// has no contexts (a bbolt transaction cannot be broken off): each method
// refuses an ended context, then runs the store's method.
func DirectBackend(s *db.Store) Backend { return direct{s} }

// direct adapts *db.Store to Backend; see DirectBackend.
type direct struct{ s *db.Store }

func (d direct) ListSignupTokens(ctx context.Context, actor db.Actor) ([]db.SignupToken, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return d.s.ListSignupTokens(actor)
}

func (d direct) CreateSignupToken(ctx context.Context, actor db.Actor, in db.NewSignupToken) (db.SignupToken, error) {
	if err := ctx.Err(); err != nil {
		return db.SignupToken{}, err
	}
	return d.s.CreateSignupToken(actor, in)
}

func (d direct) UpdateSignupToken(ctx context.Context, actor db.Actor, secret string, in db.SignupTokenUpdate) (db.SignupToken, error) {
	if err := ctx.Err(); err != nil {
		return db.SignupToken{}, err
	}
	return d.s.UpdateSignupToken(actor, secret, in)
}

func (d direct) DeleteSignupToken(ctx context.Context, actor db.Actor, secret string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return d.s.DeleteSignupToken(actor, secret)
}

func (d direct) ResendInvitationWithTTL(ctx context.Context, actor db.Actor, id uint64, ttl time.Duration) (db.Invitation, error) {
	if err := ctx.Err(); err != nil {
		return db.Invitation{}, err
	}
	return d.s.ResendInvitationWithTTL(actor, id, ttl)
}

func (d direct) CreateInvitationBatch(ctx context.Context, actor db.Actor, in db.NewInvitationBatch) ([]db.BatchResult, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return d.s.CreateInvitationBatch(actor, in)
}

func (d direct) ListInvitations(ctx context.Context, actor db.Actor, state string, after uint64, limit int) ([]db.Invitation, uint64, error) {
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	return d.s.ListInvitations(actor, state, after, limit)
}

func (d direct) CreateInvitation(ctx context.Context, actor db.Actor, in db.NewInvitation) (db.Invitation, error) {
	if err := ctx.Err(); err != nil {
		return db.Invitation{}, err
	}
	return d.s.CreateInvitation(actor, in)
}

func (d direct) ResendInvitation(ctx context.Context, actor db.Actor, id uint64) (db.Invitation, error) {
	if err := ctx.Err(); err != nil {
		return db.Invitation{}, err
	}
	return d.s.ResendInvitation(actor, id)
}

func (d direct) RevokeInvitation(ctx context.Context, actor db.Actor, id uint64) (db.Invitation, error) {
	if err := ctx.Err(); err != nil {
		return db.Invitation{}, err
	}
	return d.s.RevokeInvitation(actor, id)
}

func (d direct) ListUsers(ctx context.Context, offset, limit int) ([]db.User, int, error) {
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	return d.s.ListUsers(offset, limit)
}

func (d direct) UpdateUser(ctx context.Context, actor db.Actor, id uint64, in db.UserUpdate) (db.User, error) {
	if err := ctx.Err(); err != nil {
		return db.User{}, err
	}
	return d.s.UpdateUser(actor, id, in)
}

func (d direct) CreateResetLink(ctx context.Context, actor db.Actor, id uint64) (string, db.UserToken, error) {
	if err := ctx.Err(); err != nil {
		return "", db.UserToken{}, err
	}
	return d.s.CreateResetLink(actor, id)
}

func (d direct) UnlockUser(ctx context.Context, actor db.Actor, id uint64) (db.User, error) {
	if err := ctx.Err(); err != nil {
		return db.User{}, err
	}
	return d.s.UnlockUser(actor, id)
}

func (d direct) ClearSecondFactors(ctx context.Context, actor db.Actor, id uint64) (db.User, error) {
	if err := ctx.Err(); err != nil {
		return db.User{}, err
	}
	return d.s.ClearSecondFactors(actor, id)
}

func (d direct) DisableUser(ctx context.Context, actor db.Actor, id uint64) (db.User, error) {
	if err := ctx.Err(); err != nil {
		return db.User{}, err
	}
	return d.s.DisableUser(actor, id)
}

func (d direct) MarkEmailVerified(ctx context.Context, actor db.Actor, id uint64) (db.User, error) {
	if err := ctx.Err(); err != nil {
		return db.User{}, err
	}
	return d.s.MarkEmailVerified(actor, id)
}

func (d direct) ApproveUser(ctx context.Context, actor db.Actor, id uint64) (db.User, error) {
	if err := ctx.Err(); err != nil {
		return db.User{}, err
	}
	return d.s.ApproveUser(actor, id)
}

func (d direct) RejectUser(ctx context.Context, actor db.Actor, id uint64) (db.User, error) {
	if err := ctx.Err(); err != nil {
		return db.User{}, err
	}
	return d.s.RejectUser(actor, id)
}

func (d direct) CountPendingUsers(ctx context.Context) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	return d.s.CountPendingUsers()
}

func (d direct) EnableUser(ctx context.Context, actor db.Actor, id uint64) (db.User, error) {
	if err := ctx.Err(); err != nil {
		return db.User{}, err
	}
	return d.s.EnableUser(actor, id)
}

func (d direct) DeleteUser(ctx context.Context, actor db.Actor, id uint64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return d.s.DeleteUser(actor, id)
}

func (d direct) ListAPIKeys(ctx context.Context) ([]db.APIKey, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return d.s.ListAPIKeys()
}

func (d direct) CreateAPIKey(ctx context.Context, actor db.Actor, name string, role db.Role) (db.APIKey, string, error) {
	if err := ctx.Err(); err != nil {
		return db.APIKey{}, "", err
	}
	return d.s.CreateAPIKey(actor, name, role)
}

func (d direct) DeleteAPIKey(ctx context.Context, actor db.Actor, id uint64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return d.s.DeleteAPIKey(actor, id)
}

func (d direct) ListOrganizations(ctx context.Context) ([]db.Organization, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return d.s.ListOrganizations()
}

func (d direct) CreateOrganization(ctx context.Context, actor db.Actor, id, name string) (db.Organization, error) {
	if err := ctx.Err(); err != nil {
		return db.Organization{}, err
	}
	return d.s.CreateOrganization(actor, id, name)
}

func (d direct) DeleteOrganization(ctx context.Context, actor db.Actor, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return d.s.DeleteOrganization(actor, id)
}

func (d direct) ListGroups(ctx context.Context) ([]db.Group, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return d.s.ListGroups()
}

func (d direct) CreateGroup(ctx context.Context, actor db.Actor, in db.NewGroup) (db.Group, error) {
	if err := ctx.Err(); err != nil {
		return db.Group{}, err
	}
	return d.s.CreateGroup(actor, in)
}

func (d direct) UpdateGroup(ctx context.Context, actor db.Actor, id string, in db.GroupUpdate) (db.Group, error) {
	if err := ctx.Err(); err != nil {
		return db.Group{}, err
	}
	return d.s.UpdateGroup(actor, id, in)
}

func (d direct) DeleteGroup(ctx context.Context, actor db.Actor, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return d.s.DeleteGroup(actor, id)
}

func (d direct) ListApps(ctx context.Context) ([]db.App, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return d.s.ListApps()
}

func (d direct) CreateApp(ctx context.Context, actor db.Actor, in db.NewApp) (db.App, string, error) {
	if err := ctx.Err(); err != nil {
		return db.App{}, "", err
	}
	return d.s.CreateApp(actor, in)
}

func (d direct) RotateAppSecret(ctx context.Context, actor db.Actor, id string) (db.App, string, error) {
	if err := ctx.Err(); err != nil {
		return db.App{}, "", err
	}
	return d.s.RotateAppSecret(actor, id)
}

func (d direct) UpdateApp(ctx context.Context, actor db.Actor, id string, in db.AppUpdate) (db.App, error) {
	if err := ctx.Err(); err != nil {
		return db.App{}, err
	}
	return d.s.UpdateApp(actor, id, in)
}

func (d direct) DeleteApp(ctx context.Context, actor db.Actor, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return d.s.DeleteApp(actor, id)
}

func (d direct) ListEvents(ctx context.Context, typ string, offset, limit int) ([]db.Event, int, error) {
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	return d.s.ListEvents(typ, offset, limit)
}

func (d direct) ListSSHKeys(ctx context.Context, actor db.Actor, userID uint64) ([]db.SSHKey, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return d.s.SSHKeys(actor, userID)
}

func (d direct) AddSSHKey(ctx context.Context, actor db.Actor, userID uint64, name, key string) (db.SSHKey, error) {
	if err := ctx.Err(); err != nil {
		return db.SSHKey{}, err
	}
	return d.s.AddSSHKey(actor, userID, name, key)
}

func (d direct) DeleteSSHKey(ctx context.Context, actor db.Actor, userID, keyID uint64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return d.s.DeleteSSHKey(actor, userID, keyID)
}

func (d direct) ListWebhooks(ctx context.Context) ([]db.Webhook, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return d.s.Webhooks()
}

func (d direct) CreateWebhook(ctx context.Context, actor db.Actor, in db.NewWebhook) (db.Webhook, error) {
	if err := ctx.Err(); err != nil {
		return db.Webhook{}, err
	}
	return d.s.CreateWebhook(actor, in)
}

func (d direct) DeleteWebhook(ctx context.Context, actor db.Actor, id uint64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return d.s.DeleteWebhook(actor, id)
}

func (d direct) ListWebhookDeliveries(ctx context.Context, webhookID uint64, limit int) ([]db.WebhookDelivery, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return d.s.WebhookDeliveries(webhookID, limit)
}
