package server

import (
	"context"
	"encoding/gob"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	"invited/db"
)

// The admin socket lets `invited admin`, `invited apikey create` and
// `invited backup` work while the server holds the database file. It is a
// unix socket in the data folder with mode 0600: whoever may use it may
// read the database file anyway. Each connection carries one gob-encoded
// rpcRequest and gets one rpcResponse back.

// rpcRequest names a Backend method and carries its arguments.
type rpcRequest struct {
	Method        string
	Actor         db.Actor
	Secret        string
	ID            uint64
	OrgID         string
	Name          string
	Role          db.Role
	State         string
	Type          string
	After         uint64
	Offset, Limit int
	// TTL is the new ttl of a resent invitation; 0 keeps its own.
	TTL           time.Duration
	NewToken      db.NewSignupToken
	NewInvitation db.NewInvitation
	// Updates travel as JSON: gob drops a pointer to a zero value (a
	// *bool false), which would turn "disable" into "change nothing".
	TokenUpdate []byte
	UserUpdate  []byte
}

// rpcResponse carries a result, or the error as a *db.Error (any other
// error is reduced to an EINTERNAL without its text, as over HTTP).
type rpcResponse struct {
	Err         *db.Error
	Tokens      []db.SignupToken
	Token       db.SignupToken
	Invitations []db.Invitation
	Invitation  db.Invitation
	Next        uint64
	Users       []db.User
	User        db.User
	Total       int
	Keys        []db.APIKey
	Key         db.APIKey
	Secret      string
	Orgs        []db.Organization
	Org         db.Organization
	Events      []db.Event
	// BackupBytes announces that the database copy follows the response
	// on the connection, this many bytes long.
	BackupBytes int64
}

func init() {
	// Event data holds these types inside interface values.
	gob.Register(map[string]any{})
	gob.Register([]any{})
}

// rpcTimeout bounds one call on the socket.
const rpcTimeout = 60 * time.Second

// maxRequestBytes caps one request read from the socket, far above any
// real one (they carry a few short fields), so that no client can make
// the server buffer without bound.
const maxRequestBytes = 1 << 20

// AdminSocket serves the admin socket for a store.
type AdminSocket struct {
	store  *db.Store
	outbox interface{ Poke() }
	log    *slog.Logger
	ln     net.Listener
	path   string
	wg     sync.WaitGroup
}

// ListenAdminSocket creates the socket at path (replacing a stale one left
// by a crash) with mode 0600. The caller holds the database, so no other
// live server can own the socket.
func ListenAdminSocket(path string, store *db.Store, outbox interface{ Poke() }, log *slog.Logger) (*AdminSocket, error) {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("remove stale admin socket: %w", err)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("admin socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("admin socket: %w", err)
	}
	return &AdminSocket{store: store, outbox: outbox, log: log, ln: ln, path: path}, nil
}

// Serve answers connections until ctx ends, then closes the listener,
// waits for calls in flight and removes the socket file.
func (a *AdminSocket) Serve(ctx context.Context) {
	go func() { <-ctx.Done(); a.ln.Close() }()
	for {
		conn, err := a.ln.Accept()
		if err != nil {
			break
		}
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			a.serveConn(conn)
		}()
	}
	a.wg.Wait()
	os.Remove(a.path)
}

func (a *AdminSocket) serveConn(conn net.Conn) {
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(rpcTimeout))
	var req rpcRequest
	limited := &io.LimitedReader{R: conn, N: maxRequestBytes + 1}
	if err := gob.NewDecoder(limited).Decode(&req); err != nil {
		// The answer never echoes what was sent: it may be anything.
		msg := "The request could not be read; are invited and the server the same version?"
		if limited.N <= 0 {
			msg = fmt.Sprintf("The request is larger than %d bytes, the most the admin socket takes; send less.", maxRequestBytes)
		}
		a.log.Warn("admin socket: unreadable request", "error", clip(err.Error(), 200), "too_large", limited.N <= 0)
		if err := gob.NewEncoder(conn).Encode(rpcResponse{Err: db.Errorf(db.EINVALID, "%s", msg)}); err != nil {
			a.log.Warn("admin socket: write answer", "error", err)
		}
		return
	}
	if req.Method == "Backup" {
		a.serveBackup(conn)
		return
	}
	resp, err := a.dispatch(req)
	if err != nil {
		resp = rpcResponse{Err: toDBError(err)}
		if db.ErrorCode(err) == db.EINTERNAL {
			a.log.Error("admin socket call failed", "method", req.Method, "error", err)
		}
	}
	if err := gob.NewEncoder(conn).Encode(resp); err != nil {
		a.log.Warn("admin socket: write answer", "error", err)
	}
}

func toDBError(err error) *db.Error {
	var e *db.Error
	if errors.As(err, &e) {
		return e
	}
	return &db.Error{Code: db.EINTERNAL, Message: db.ErrorMessage(err)}
}

// plainEventData makes event data gob-safe: only JSON's own types.
func plainEventData(events []db.Event) ([]db.Event, error) {
	for i := range events {
		if events[i].Data == nil {
			continue
		}
		raw, err := json.Marshal(events[i].Data)
		if err != nil {
			return nil, err
		}
		var plain map[string]any
		if err := json.Unmarshal(raw, &plain); err != nil {
			return nil, err
		}
		events[i].Data = plain
	}
	return events, nil
}

func (a *AdminSocket) poke() {
	if a.outbox != nil {
		a.outbox.Poke()
	}
}

func (a *AdminSocket) dispatch(req rpcRequest) (rpcResponse, error) {
	var r rpcResponse
	var err error
	s := a.store
	switch req.Method {
	case "Ping":
	case "ListSignupTokens":
		r.Tokens, err = s.ListSignupTokens(req.Actor)
	case "CreateSignupToken":
		r.Token, err = s.CreateSignupToken(req.Actor, req.NewToken)
	case "UpdateSignupToken":
		var in db.SignupTokenUpdate
		if err = json.Unmarshal(req.TokenUpdate, &in); err == nil {
			r.Token, err = s.UpdateSignupToken(req.Actor, req.Secret, in)
		}
	case "DeleteSignupToken":
		err = s.DeleteSignupToken(req.Actor, req.Secret)
	case "ListInvitations":
		r.Invitations, r.Next, err = s.ListInvitations(req.Actor, req.State, req.After, req.Limit)
	case "CreateInvitation":
		r.Invitation, err = s.CreateInvitation(req.Actor, req.NewInvitation)
		a.poke()
	case "ResendInvitation":
		r.Invitation, err = s.ResendInvitationWithTTL(req.Actor, req.ID, req.TTL)
		a.poke()
	case "RevokeInvitation":
		r.Invitation, err = s.RevokeInvitation(req.Actor, req.ID)
	case "ListUsers":
		r.Users, r.Total, err = s.ListUsers(req.Offset, req.Limit)
	case "UpdateUser":
		var in db.UserUpdate
		if err = json.Unmarshal(req.UserUpdate, &in); err == nil {
			r.User, err = s.UpdateUser(req.Actor, req.ID, in)
		}
	case "UnlockUser":
		r.User, err = s.UnlockUser(req.Actor, req.ID)
	case "DeleteUser":
		err = s.DeleteUser(req.Actor, req.ID)
	case "ListAPIKeys":
		r.Keys, err = s.ListAPIKeys()
	case "CreateAPIKey":
		r.Key, r.Secret, err = s.CreateAPIKey(req.Actor, req.Name, req.Role)
	case "DeleteAPIKey":
		err = s.DeleteAPIKey(req.Actor, req.ID)
	case "ListOrganizations":
		r.Orgs, err = s.ListOrganizations()
	case "CreateOrganization":
		r.Org, err = s.CreateOrganization(req.Actor, req.OrgID, req.Name)
	case "DeleteOrganization":
		err = s.DeleteOrganization(req.Actor, req.OrgID)
	case "ListEvents":
		r.Events, r.Total, err = s.ListEvents(req.Type, req.Offset, req.Limit)
		if err == nil {
			r.Events, err = plainEventData(r.Events)
		}
	default:
		err = db.Errorf(db.EINVALID, "The admin socket has no method %q; are invited and the server the same version?", clip(req.Method, 64))
	}
	return r, err
}

// serveBackup writes a consistent copy of the database: the response with
// its size, then the bytes, all from one read transaction.
func (a *AdminSocket) serveBackup(conn net.Conn) {
	_ = conn.SetDeadline(time.Time{}) // a large file may take a while
	err := a.store.Backup(func(size int64, write func(io.Writer) error) error {
		if err := gob.NewEncoder(conn).Encode(rpcResponse{BackupBytes: size}); err != nil {
			return err
		}
		return write(conn)
	})
	if err != nil {
		a.log.Error("admin socket: backup failed", "error", err)
	}
}
