// Package tui is the admin terminal UI (`invited admin`).
package tui

import (
	"time"

	"invited/db"
)

// Backend is everything the TUI does to the data. It is satisfied by
// *db.Store, when the TUI holds the database file itself, and by
// *server.Client, which talks to a running server over its admin socket.
// Both return *db.Error values with the same codes, so the TUI shows the
// same messages either way.
type Backend interface {
	// The lists, like every change, hold only what the actor may manage:
	// nothing whose role is above their own.
	ListSignupTokens(actor db.Actor) ([]db.SignupToken, error)
	CreateSignupToken(actor db.Actor, in db.NewSignupToken) (db.SignupToken, error)
	UpdateSignupToken(actor db.Actor, secret string, in db.SignupTokenUpdate) (db.SignupToken, error)
	DeleteSignupToken(actor db.Actor, secret string) error

	ListInvitations(actor db.Actor, state string, after uint64, limit int) ([]db.Invitation, uint64, error)
	CreateInvitation(actor db.Actor, in db.NewInvitation) (db.Invitation, error)
	ResendInvitation(actor db.Actor, id uint64) (db.Invitation, error)
	// ResendInvitationWithTTL makes a new link that works for ttl from
	// now (0: the invitation's own ttl).
	ResendInvitationWithTTL(actor db.Actor, id uint64, ttl time.Duration) (db.Invitation, error)
	RevokeInvitation(actor db.Actor, id uint64) (db.Invitation, error)

	ListUsers(offset, limit int) ([]db.User, int, error)
	UpdateUser(actor db.Actor, id uint64, in db.UserUpdate) (db.User, error)
	UnlockUser(actor db.Actor, id uint64) (db.User, error)
	DeleteUser(actor db.Actor, id uint64) error

	ListAPIKeys() ([]db.APIKey, error)
	CreateAPIKey(actor db.Actor, name string, role db.Role) (db.APIKey, string, error)
	DeleteAPIKey(actor db.Actor, id uint64) error

	ListOrganizations() ([]db.Organization, error)
	CreateOrganization(actor db.Actor, id, name string) (db.Organization, error)
	DeleteOrganization(actor db.Actor, id string) error

	ListEvents(typ string, offset, limit int) ([]db.Event, int, error)
}

// The store must keep satisfying the interface.
var _ Backend = (*db.Store)(nil)
