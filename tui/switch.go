package tui

import (
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
	// Dial connects to the running server's admin socket, failing when no
	// server answers there.
	Dial func() (Backend, error)
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
func (s *SwitchingBackend) Probe() error {
	return s.run(true, func(Backend) error { return nil })
}

// errNoWay is the answer when the file is held and no server answers.
var errNoWay = &db.Error{Code: db.EUNAVAILABLE, Message: "The database file is in use by another process and no server answers on its admin socket. " +
	"If `invited serve` is starting or stopping, try again in a moment (ctrl+r); otherwise close the program that holds the file."}

// errMaybeDone is the answer when the server went away during a write.
var errMaybeDone = &db.Error{Code: db.EUNAVAILABLE, Message: "The server stopped while it was making this change, so it may or may not have happened. " +
	"Refresh (ctrl+r) and look before you try again."}

// run does one operation, in server mode through the socket, else on the
// file, switching where the other side is the one that works now.
func (s *SwitchingBackend) run(write bool, op func(Backend) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	deadline := time.Now().Add(s.opts.Wait)
	for {
		if s.client != nil {
			err := op(s.client)
			if err == nil || !transportError(err) {
				return err
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
			return op(store)
		}
		if !errors.Is(err, db.ErrLocked) {
			return err
		}
		// The file is held, so nothing was written: the server (if it
		// is the holder) takes the operation.
		if c, derr := s.opts.Dial(); derr == nil {
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
func (s *SwitchingBackend) ListSignupTokens(actor db.Actor) (out []db.SignupToken, err error) {
	err = s.run(false, func(b Backend) (err error) { out, err = b.ListSignupTokens(actor); return err })
	return out, err
}

// CreateSignupToken creates a link where the data is now.
func (s *SwitchingBackend) CreateSignupToken(actor db.Actor, in db.NewSignupToken) (out db.SignupToken, err error) {
	err = s.run(true, func(b Backend) (err error) { out, err = b.CreateSignupToken(actor, in); return err })
	return out, err
}

// UpdateSignupToken changes a link where the data is now.
func (s *SwitchingBackend) UpdateSignupToken(actor db.Actor, secret string, in db.SignupTokenUpdate) (out db.SignupToken, err error) {
	err = s.run(true, func(b Backend) (err error) { out, err = b.UpdateSignupToken(actor, secret, in); return err })
	return out, err
}

// DeleteSignupToken deletes a link where the data is now.
func (s *SwitchingBackend) DeleteSignupToken(actor db.Actor, secret string) error {
	return s.run(true, func(b Backend) error { return b.DeleteSignupToken(actor, secret) })
}

// ListInvitations lists invitations where the data is now.
func (s *SwitchingBackend) ListInvitations(actor db.Actor, state string, after uint64, limit int) (out []db.Invitation, next uint64, err error) {
	err = s.run(false, func(b Backend) (err error) {
		out, next, err = b.ListInvitations(actor, state, after, limit)
		return err
	})
	return out, next, err
}

// CreateInvitation creates an invitation where the data is now.
func (s *SwitchingBackend) CreateInvitation(actor db.Actor, in db.NewInvitation) (out db.Invitation, err error) {
	err = s.run(true, func(b Backend) (err error) { out, err = b.CreateInvitation(actor, in); return err })
	return out, err
}

// ResendInvitation resends an invitation where the data is now.
func (s *SwitchingBackend) ResendInvitation(actor db.Actor, id uint64) (out db.Invitation, err error) {
	err = s.run(true, func(b Backend) (err error) { out, err = b.ResendInvitation(actor, id); return err })
	return out, err
}

// ResendInvitationWithTTL resends an invitation where the data is now.
func (s *SwitchingBackend) ResendInvitationWithTTL(actor db.Actor, id uint64, ttl time.Duration) (out db.Invitation, err error) {
	err = s.run(true, func(b Backend) (err error) { out, err = b.ResendInvitationWithTTL(actor, id, ttl); return err })
	return out, err
}

// RevokeInvitation revokes an invitation where the data is now.
func (s *SwitchingBackend) RevokeInvitation(actor db.Actor, id uint64) (out db.Invitation, err error) {
	err = s.run(true, func(b Backend) (err error) { out, err = b.RevokeInvitation(actor, id); return err })
	return out, err
}

// ListUsers lists users where the data is now.
func (s *SwitchingBackend) ListUsers(offset, limit int) (out []db.User, total int, err error) {
	err = s.run(false, func(b Backend) (err error) { out, total, err = b.ListUsers(offset, limit); return err })
	return out, total, err
}

// UpdateUser changes a user where the data is now.
func (s *SwitchingBackend) UpdateUser(actor db.Actor, id uint64, in db.UserUpdate) (out db.User, err error) {
	err = s.run(true, func(b Backend) (err error) { out, err = b.UpdateUser(actor, id, in); return err })
	return out, err
}

// UnlockUser unlocks a user where the data is now.
func (s *SwitchingBackend) UnlockUser(actor db.Actor, id uint64) (out db.User, err error) {
	err = s.run(true, func(b Backend) (err error) { out, err = b.UnlockUser(actor, id); return err })
	return out, err
}

// DeleteUser deletes a user where the data is now.
func (s *SwitchingBackend) DeleteUser(actor db.Actor, id uint64) error {
	return s.run(true, func(b Backend) error { return b.DeleteUser(actor, id) })
}

// ListAPIKeys lists API keys where the data is now.
func (s *SwitchingBackend) ListAPIKeys() (out []db.APIKey, err error) {
	err = s.run(false, func(b Backend) (err error) { out, err = b.ListAPIKeys(); return err })
	return out, err
}

// CreateAPIKey creates an API key where the data is now.
func (s *SwitchingBackend) CreateAPIKey(actor db.Actor, name string, role db.Role) (out db.APIKey, raw string, err error) {
	err = s.run(true, func(b Backend) (err error) { out, raw, err = b.CreateAPIKey(actor, name, role); return err })
	return out, raw, err
}

// DeleteAPIKey deletes an API key where the data is now.
func (s *SwitchingBackend) DeleteAPIKey(actor db.Actor, id uint64) error {
	return s.run(true, func(b Backend) error { return b.DeleteAPIKey(actor, id) })
}

// ListOrganizations lists organizations where the data is now.
func (s *SwitchingBackend) ListOrganizations() (out []db.Organization, err error) {
	err = s.run(false, func(b Backend) (err error) { out, err = b.ListOrganizations(); return err })
	return out, err
}

// CreateOrganization creates an organization where the data is now.
func (s *SwitchingBackend) CreateOrganization(actor db.Actor, id, name string) (out db.Organization, err error) {
	err = s.run(true, func(b Backend) (err error) { out, err = b.CreateOrganization(actor, id, name); return err })
	return out, err
}

// DeleteOrganization deletes an organization where the data is now.
func (s *SwitchingBackend) DeleteOrganization(actor db.Actor, id string) error {
	return s.run(true, func(b Backend) error { return b.DeleteOrganization(actor, id) })
}

// ListEvents lists audit events where the data is now.
func (s *SwitchingBackend) ListEvents(typ string, offset, limit int) (out []db.Event, total int, err error) {
	err = s.run(false, func(b Backend) (err error) { out, total, err = b.ListEvents(typ, offset, limit); return err })
	return out, total, err
}

// The switching backend must keep offering everything.
var _ interface {
	Backend
	ModeReporter
} = (*SwitchingBackend)(nil)
