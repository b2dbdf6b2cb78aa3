package tui

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"invited/db"
)

// The modes a Backend can report through ModeReporter.
const (
	ModeDirect = "direct" // on the database file
	ModeServer = "server" // through the running server's admin socket
)

// ModeReporter is a Backend that can change between the database file and
// the server by itself; the header asks it where it works now.
type ModeReporter interface {
	// Mode is ModeDirect or ModeServer, or "" before the first operation.
	Mode() string
}

// SwitchOptions tell a SwitchingBackend how to reach the data.
type SwitchOptions struct {
	// Open opens the database file, read-only (a shared lock, no write
	// transaction) when readOnly is set. It must give up quickly with
	// db.ErrLocked when another process holds the file.
	Open func(readOnly bool) (*db.Store, error)
	// Dial connects to the running server's admin socket within ctx,
	// failing when no server answers there.
	Dial func(ctx context.Context) (Backend, error)
	// Wait bounds how long one operation looks for a way in while the file
	// is held and no server answers yet (a server starting or stopping);
	// zero means DefaultSwitchWait.
	Wait time.Duration
}

// DefaultSwitchWait is SwitchOptions.Wait when it is zero.
const DefaultSwitchWait = 5 * time.Second

// SwitchingBackend is the Backend of `invited admin`. It never keeps the
// database file open between operations, so that `invited serve` can start
// while the TUI is open: each operation opens the file, runs its one
// transaction and closes it again. When the file is held by another
// process, it works through the server's admin socket instead, and when
// that server goes away it goes back to the file.
//
// No write is lost or made twice: every operation is one complete
// transaction on one side. A read that fails because of a switch is
// retried on the other side; a write is retried only when it cannot have
// happened (the file could not be opened, or the socket could not be
// reached), and otherwise reports that it may or may not have happened.
type SwitchingBackend struct {
	opts SwitchOptions
	// mu makes operations one at a time: two opens of the file at once
	// would wait for each other's lock.
	mu     sync.Mutex
	client Backend // non-nil in server mode; guarded by mu
	mode   atomic.Value
}

// NewSwitchingBackend returns a backend that has not chosen its mode yet;
// its first operation does (Probe makes one that changes nothing).
func NewSwitchingBackend(opts SwitchOptions) *SwitchingBackend {
	if opts.Wait <= 0 {
		opts.Wait = DefaultSwitchWait
	}
	s := &SwitchingBackend{opts: opts}
	s.mode.Store("")
	return s
}

// Mode is where the last operation went: ModeDirect or ModeServer.
func (s *SwitchingBackend) Mode() string { return s.mode.Load().(string) }

// Probe finds a way in and changes nothing (beyond migrating an old file's
// schema, as any open does). Its error says why neither the file nor the
// server can be used.
func (s *SwitchingBackend) Probe(ctx context.Context) error {
	return s.run(ctx, true, func(context.Context, Backend) error { return nil })
}

// The server-stopped errors start with the same words, so that the
// admin reads at once that the server is gone and what brings it back.
const serverStopped = "The server stopped; press ctrl+r to reconnect, or restart it."

// errNoWay is the answer when the file is held and no server answers: a
// server that stopped or hangs, or another program holding the file.
var errNoWay = &db.Error{Code: db.EUNAVAILABLE, Message: serverStopped + " " +
	"(The database file is in use by another process and no server answers on its admin socket; if that process is not `invited serve`, close it.)"}

// errMaybeDone is the answer when the server went away during a write.
var errMaybeDone = &db.Error{Code: db.EUNAVAILABLE, Message: serverStopped + " " +
	"It stopped while it was making this change, so it may or may not have happened: look before you try again."}

// errNoAnswer is the answer when the operation's time ran out while the
// server had it. A write may have happened.
func errNoAnswer(write bool) *db.Error {
	msg := "The server did not answer in time. Press ctrl+r to try again; restart the server if it keeps happening."
	if write {
		msg = "The server did not answer in time, so this change may or may not have happened: press ctrl+r and look before you try again."
	}
	return &db.Error{Code: db.EUNAVAILABLE, Message: msg}
}

// run does one operation, in server mode through the socket, else on the
// file, switching where the other side is the one that works now. The
// search for a way in ends at ctx's deadline or after opts.Wait,
// whichever comes first.
func (s *SwitchingBackend) run(ctx context.Context, write bool, op func(context.Context, Backend) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	deadline := time.Now().Add(s.opts.Wait)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		if s.client != nil {
			err := op(ctx, s.client)
			if err == nil || !transportError(err) {
				return err
			}
			if ctx.Err() != nil && !notConnected(err) {
				// The time ran out while the server had the call: it
				// may be busy rather than gone, so the next operation
				// asks it again before looking at the file.
				return errNoAnswer(write)
			}
			// The server went away. A write that reached it may have
			// been done: only one that could not even connect is
			// certain not to have happened.
			s.client = nil
			if write && !notConnected(err) {
				return errMaybeDone
			}
			if time.Now().After(deadline) {
				return errNoWay
			}
			continue
		}
		store, err := s.open(!write)
		if err == nil {
			s.mode.Store(ModeDirect)
			defer store.Close()
			return op(ctx, DirectBackend(store))
		}
		if !errors.Is(err, db.ErrLocked) {
			return err
		}
		// The file is held, so nothing was written: the server (if it
		// is the holder) takes the operation.
		if c, derr := s.opts.Dial(ctx); derr == nil {
			s.client = c
			s.mode.Store(ModeServer)
			continue
		}
		// Neither yet: a server between taking the file and opening its
		// socket, or between closing the socket and letting go of the
		// file. Each try waits for the lock, which paces the loop.
		if time.Now().After(deadline) {
			return errNoWay
		}
	}
}

// open opens the file; a read-only open of a file that does not exist
// yet creates it instead.
func (s *SwitchingBackend) open(readOnly bool) (*db.Store, error) {
	store, err := s.opts.Open(readOnly)
	if readOnly && errors.Is(err, fs.ErrNotExist) {
		return s.opts.Open(false)
	}
	return store, err
}

// transportError tells a failure to reach the server from the server's
// own answer, which is always a *db.Error.
func transportError(err error) bool {
	var e *db.Error
	return !errors.As(err, &e)
}

// notConnected reports an error from connecting to the socket, before
// anything was sent.
func notConnected(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe) && oe.Op == "dial"
}

// ListSignupTokens lists the links where the data is now.
func (s *SwitchingBackend) ListSignupTokens(ctx context.Context, actor db.Actor) (out []db.SignupToken, err error) {
	err = s.run(ctx, false, func(ctx context.Context, b Backend) (err error) {
		out, err = b.ListSignupTokens(ctx, actor)
		return err
	})
	return out, err
}

// CreateSignupToken creates a link where the data is now.
func (s *SwitchingBackend) CreateSignupToken(ctx context.Context, actor db.Actor, in db.NewSignupToken) (out db.SignupToken, err error) {
	err = s.run(ctx, true, func(ctx context.Context, b Backend) (err error) {
		out, err = b.CreateSignupToken(ctx, actor, in)
		return err
	})
	return out, err
}

// UpdateSignupToken changes a link where the data is now.
func (s *SwitchingBackend) UpdateSignupToken(ctx context.Context, actor db.Actor, secret string, in db.SignupTokenUpdate) (out db.SignupToken, err error) {
	err = s.run(ctx, true, func(ctx context.Context, b Backend) (err error) {
		out, err = b.UpdateSignupToken(ctx, actor, secret, in)
		return err
	})
	return out, err
}

// DeleteSignupToken deletes a link where the data is now.
func (s *SwitchingBackend) DeleteSignupToken(ctx context.Context, actor db.Actor, secret string) error {
	return s.run(ctx, true, func(ctx context.Context, b Backend) error { return b.DeleteSignupToken(ctx, actor, secret) })
}

// ListInvitations lists invitations where the data is now.
func (s *SwitchingBackend) ListInvitations(ctx context.Context, actor db.Actor, state string, after uint64, limit int) (out []db.Invitation, next uint64, err error) {
	err = s.run(ctx, false, func(ctx context.Context, b Backend) (err error) {
		out, next, err = b.ListInvitations(ctx, actor, state, after, limit)
		return err
	})
	return out, next, err
}

// CreateInvitation creates an invitation where the data is now.
func (s *SwitchingBackend) CreateInvitation(ctx context.Context, actor db.Actor, in db.NewInvitation) (out db.Invitation, err error) {
	err = s.run(ctx, true, func(ctx context.Context, b Backend) (err error) {
		out, err = b.CreateInvitation(ctx, actor, in)
		return err
	})
	return out, err
}

// ResendInvitation resends an invitation where the data is now.
func (s *SwitchingBackend) ResendInvitation(ctx context.Context, actor db.Actor, id uint64) (out db.Invitation, err error) {
	err = s.run(ctx, true, func(ctx context.Context, b Backend) (err error) {
		out, err = b.ResendInvitation(ctx, actor, id)
		return err
	})
	return out, err
}

// ResendInvitationWithTTL resends an invitation where the data is now.
func (s *SwitchingBackend) ResendInvitationWithTTL(ctx context.Context, actor db.Actor, id uint64, ttl time.Duration) (out db.Invitation, err error) {
	err = s.run(ctx, true, func(ctx context.Context, b Backend) (err error) {
		out, err = b.ResendInvitationWithTTL(ctx, actor, id, ttl)
		return err
	})
	return out, err
}

// RevokeInvitation revokes an invitation where the data is now.
func (s *SwitchingBackend) RevokeInvitation(ctx context.Context, actor db.Actor, id uint64) (out db.Invitation, err error) {
	err = s.run(ctx, true, func(ctx context.Context, b Backend) (err error) {
		out, err = b.RevokeInvitation(ctx, actor, id)
		return err
	})
	return out, err
}

// CreateInvitationBatch invites a batch where the data is now.
func (s *SwitchingBackend) CreateInvitationBatch(ctx context.Context, actor db.Actor, in db.NewInvitationBatch) (out []db.BatchResult, err error) {
	err = s.run(ctx, true, func(ctx context.Context, b Backend) (err error) {
		out, err = b.CreateInvitationBatch(ctx, actor, in)
		return err
	})
	return out, err
}

// ListUsers lists users where the data is now.
func (s *SwitchingBackend) ListUsers(ctx context.Context, offset, limit int) (out []db.User, total int, err error) {
	err = s.run(ctx, false, func(ctx context.Context, b Backend) (err error) {
		out, total, err = b.ListUsers(ctx, offset, limit)
		return err
	})
	return out, total, err
}

// UpdateUser changes a user where the data is now.
func (s *SwitchingBackend) UpdateUser(ctx context.Context, actor db.Actor, id uint64, in db.UserUpdate) (out db.User, err error) {
	err = s.run(ctx, true, func(ctx context.Context, b Backend) (err error) {
		out, err = b.UpdateUser(ctx, actor, id, in)
		return err
	})
	return out, err
}

// ClearSecondFactors clears a user's second factors where the data is now.
func (s *SwitchingBackend) ClearSecondFactors(ctx context.Context, actor db.Actor, id uint64) (out db.User, err error) {
	err = s.run(ctx, true, func(ctx context.Context, b Backend) (err error) {
		out, err = b.ClearSecondFactors(ctx, actor, id)
		return err
	})
	return
}

// CreateResetLink makes a reset link for a user where the data is now.
func (s *SwitchingBackend) CreateResetLink(ctx context.Context, actor db.Actor, id uint64) (secret string, t db.UserToken, err error) {
	err = s.run(ctx, true, func(ctx context.Context, b Backend) (err error) {
		secret, t, err = b.CreateResetLink(ctx, actor, id)
		return err
	})
	return secret, t, err
}

// UnlockUser unlocks a user where the data is now.
func (s *SwitchingBackend) UnlockUser(ctx context.Context, actor db.Actor, id uint64) (out db.User, err error) {
	err = s.run(ctx, true, func(ctx context.Context, b Backend) (err error) { out, err = b.UnlockUser(ctx, actor, id); return err })
	return out, err
}

// DisableUser disables a user where the data is now.
func (s *SwitchingBackend) DisableUser(ctx context.Context, actor db.Actor, id uint64) (out db.User, err error) {
	err = s.run(ctx, true, func(ctx context.Context, b Backend) (err error) { out, err = b.DisableUser(ctx, actor, id); return err })
	return out, err
}

// MarkEmailVerified verifies a user's address where the data is now.
func (s *SwitchingBackend) MarkEmailVerified(ctx context.Context, actor db.Actor, id uint64) (out db.User, err error) {
	err = s.run(ctx, true, func(ctx context.Context, b Backend) (err error) {
		out, err = b.MarkEmailVerified(ctx, actor, id)
		return err
	})
	return out, err
}

// ApproveUser approves a waiting user where the data is now.
func (s *SwitchingBackend) ApproveUser(ctx context.Context, actor db.Actor, id uint64) (out db.User, err error) {
	err = s.run(ctx, true, func(ctx context.Context, b Backend) (err error) { out, err = b.ApproveUser(ctx, actor, id); return err })
	return out, err
}

// RejectUser rejects a waiting user where the data is now.
func (s *SwitchingBackend) RejectUser(ctx context.Context, actor db.Actor, id uint64) (out db.User, err error) {
	err = s.run(ctx, true, func(ctx context.Context, b Backend) (err error) { out, err = b.RejectUser(ctx, actor, id); return err })
	return out, err
}

// CountPendingUsers counts the users waiting for approval where the data
// is now.
func (s *SwitchingBackend) CountPendingUsers(ctx context.Context) (n int, err error) {
	err = s.run(ctx, false, func(ctx context.Context, b Backend) (err error) { n, err = b.CountPendingUsers(ctx); return err })
	return n, err
}

// EnableUser enables a user where the data is now.
func (s *SwitchingBackend) EnableUser(ctx context.Context, actor db.Actor, id uint64) (out db.User, err error) {
	err = s.run(ctx, true, func(ctx context.Context, b Backend) (err error) { out, err = b.EnableUser(ctx, actor, id); return err })
	return out, err
}

// DeleteUser deletes a user where the data is now.
func (s *SwitchingBackend) DeleteUser(ctx context.Context, actor db.Actor, id uint64) error {
	return s.run(ctx, true, func(ctx context.Context, b Backend) error { return b.DeleteUser(ctx, actor, id) })
}

// ListAPIKeys lists API keys where the data is now.
func (s *SwitchingBackend) ListAPIKeys(ctx context.Context) (out []db.APIKey, err error) {
	err = s.run(ctx, false, func(ctx context.Context, b Backend) (err error) { out, err = b.ListAPIKeys(ctx); return err })
	return out, err
}

// CreateAPIKey creates an API key where the data is now.
func (s *SwitchingBackend) CreateAPIKey(ctx context.Context, actor db.Actor, name string, role db.Role) (out db.APIKey, raw string, err error) {
	err = s.run(ctx, true, func(ctx context.Context, b Backend) (err error) {
		out, raw, err = b.CreateAPIKey(ctx, actor, name, role)
		return err
	})
	return out, raw, err
}

// DeleteAPIKey deletes an API key where the data is now.
func (s *SwitchingBackend) DeleteAPIKey(ctx context.Context, actor db.Actor, id uint64) error {
	return s.run(ctx, true, func(ctx context.Context, b Backend) error { return b.DeleteAPIKey(ctx, actor, id) })
}

// ListOrganizations lists organizations where the data is now.
func (s *SwitchingBackend) ListOrganizations(ctx context.Context) (out []db.Organization, err error) {
	err = s.run(ctx, false, func(ctx context.Context, b Backend) (err error) { out, err = b.ListOrganizations(ctx); return err })
	return out, err
}

// CreateOrganization creates an organization where the data is now.
func (s *SwitchingBackend) CreateOrganization(ctx context.Context, actor db.Actor, id, name string) (out db.Organization, err error) {
	err = s.run(ctx, true, func(ctx context.Context, b Backend) (err error) {
		out, err = b.CreateOrganization(ctx, actor, id, name)
		return err
	})
	return out, err
}

// DeleteOrganization deletes an organization where the data is now.
func (s *SwitchingBackend) DeleteOrganization(ctx context.Context, actor db.Actor, id string) error {
	return s.run(ctx, true, func(ctx context.Context, b Backend) error { return b.DeleteOrganization(ctx, actor, id) })
}

// ListGroups lists groups where the data is now.
func (s *SwitchingBackend) ListGroups(ctx context.Context) (out []db.Group, err error) {
	err = s.run(ctx, false, func(ctx context.Context, b Backend) (err error) { out, err = b.ListGroups(ctx); return err })
	return out, err
}

// CreateGroup creates a group where the data is now.
func (s *SwitchingBackend) CreateGroup(ctx context.Context, actor db.Actor, in db.NewGroup) (out db.Group, err error) {
	err = s.run(ctx, true, func(ctx context.Context, b Backend) (err error) {
		out, err = b.CreateGroup(ctx, actor, in)
		return err
	})
	return out, err
}

// UpdateGroup changes a group where the data is now.
func (s *SwitchingBackend) UpdateGroup(ctx context.Context, actor db.Actor, id string, in db.GroupUpdate) (out db.Group, err error) {
	err = s.run(ctx, true, func(ctx context.Context, b Backend) (err error) {
		out, err = b.UpdateGroup(ctx, actor, id, in)
		return err
	})
	return out, err
}

// DeleteGroup deletes a group where the data is now.
func (s *SwitchingBackend) DeleteGroup(ctx context.Context, actor db.Actor, id string) error {
	return s.run(ctx, true, func(ctx context.Context, b Backend) error { return b.DeleteGroup(ctx, actor, id) })
}

// ListApps lists apps where the data is now.
func (s *SwitchingBackend) ListApps(ctx context.Context) (out []db.App, err error) {
	err = s.run(ctx, false, func(ctx context.Context, b Backend) (err error) { out, err = b.ListApps(ctx); return err })
	return out, err
}

// CreateApp creates an app where the data is now.
func (s *SwitchingBackend) CreateApp(ctx context.Context, actor db.Actor, in db.NewApp) (out db.App, secret string, err error) {
	err = s.run(ctx, true, func(ctx context.Context, b Backend) (err error) {
		out, secret, err = b.CreateApp(ctx, actor, in)
		return err
	})
	return out, secret, err
}

// RotateAppSecret gives an oidc app a new client secret where the data is
// now.
func (s *SwitchingBackend) RotateAppSecret(ctx context.Context, actor db.Actor, id string) (out db.App, secret string, err error) {
	err = s.run(ctx, true, func(ctx context.Context, b Backend) (err error) {
		out, secret, err = b.RotateAppSecret(ctx, actor, id)
		return err
	})
	return out, secret, err
}

// UpdateApp changes an app where the data is now.
func (s *SwitchingBackend) UpdateApp(ctx context.Context, actor db.Actor, id string, in db.AppUpdate) (out db.App, err error) {
	err = s.run(ctx, true, func(ctx context.Context, b Backend) (err error) {
		out, err = b.UpdateApp(ctx, actor, id, in)
		return err
	})
	return out, err
}

// DeleteApp deletes an app where the data is now.
func (s *SwitchingBackend) DeleteApp(ctx context.Context, actor db.Actor, id string) error {
	return s.run(ctx, true, func(ctx context.Context, b Backend) error { return b.DeleteApp(ctx, actor, id) })
}

// ListWebhooks lists the webhooks where the data is now.
func (s *SwitchingBackend) ListWebhooks(ctx context.Context) (out []db.Webhook, err error) {
	err = s.run(ctx, false, func(ctx context.Context, b Backend) (err error) { out, err = b.ListWebhooks(ctx); return err })
	return out, err
}

// CreateWebhook creates a webhook where the data is now.
func (s *SwitchingBackend) CreateWebhook(ctx context.Context, actor db.Actor, in db.NewWebhook) (out db.Webhook, err error) {
	err = s.run(ctx, true, func(ctx context.Context, b Backend) (err error) {
		out, err = b.CreateWebhook(ctx, actor, in)
		return err
	})
	return out, err
}

// DeleteWebhook deletes a webhook where the data is now.
func (s *SwitchingBackend) DeleteWebhook(ctx context.Context, actor db.Actor, id uint64) error {
	return s.run(ctx, true, func(ctx context.Context, b Backend) error { return b.DeleteWebhook(ctx, actor, id) })
}

// ListWebhookDeliveries lists a webhook's recent deliveries where the
// data is now.
func (s *SwitchingBackend) ListWebhookDeliveries(ctx context.Context, webhookID uint64, limit int) (out []db.WebhookDelivery, err error) {
	err = s.run(ctx, false, func(ctx context.Context, b Backend) (err error) {
		out, err = b.ListWebhookDeliveries(ctx, webhookID, limit)
		return err
	})
	return out, err
}

// ListEvents lists audit events where the data is now.
func (s *SwitchingBackend) ListEvents(ctx context.Context, typ string, offset, limit int) (out []db.Event, total int, err error) {
	err = s.run(ctx, false, func(ctx context.Context, b Backend) (err error) {
		out, total, err = b.ListEvents(ctx, typ, offset, limit)
		return err
	})
	return out, total, err
}

// The switching backend must keep offering everything.
var _ interface {
	Backend
	ModeReporter
} = (*SwitchingBackend)(nil)

// ListSSHKeys lists a user's SSH keys where the data is now.
func (s *SwitchingBackend) ListSSHKeys(ctx context.Context, actor db.Actor, userID uint64) (out []db.SSHKey, err error) {
	err = s.run(ctx, false, func(ctx context.Context, b Backend) (err error) {
		out, err = b.ListSSHKeys(ctx, actor, userID)
		return err
	})
	return
}

// AddSSHKey registers an SSH key to a user where the data is now.
func (s *SwitchingBackend) AddSSHKey(ctx context.Context, actor db.Actor, userID uint64, name, key string) (out db.SSHKey, err error) {
	err = s.run(ctx, true, func(ctx context.Context, b Backend) (err error) {
		out, err = b.AddSSHKey(ctx, actor, userID, name, key)
		return err
	})
	return
}

// DeleteSSHKey removes a user's SSH key where the data is now.
func (s *SwitchingBackend) DeleteSSHKey(ctx context.Context, actor db.Actor, userID, keyID uint64) error {
	return s.run(ctx, true, func(ctx context.Context, b Backend) error {
		return b.DeleteSSHKey(ctx, actor, userID, keyID)
	})
}
