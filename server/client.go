package server

import (
	"bufio"
	"encoding/gob"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"time"

	"invited/db"
)

// Client talks to a running server over its admin socket. It has the
// store's methods that the admin tools use, with the same errors, so the
// TUI works the same through it as on the file.
type Client struct {
	path string
}

// ErrNoServer is returned by DialAdmin when no server answers on the
// socket.
var ErrNoServer = errors.New("no server answers on the admin socket")

// DialAdmin returns a client for the socket at path after checking that a
// server answers there.
func DialAdmin(path string) (*Client, error) {
	c := &Client{path: path}
	if err := c.call(rpcRequest{Method: "Ping"}, nil); err != nil {
		var ne *net.OpError
		if errors.As(err, &ne) || errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ECONNREFUSED) {
			return nil, fmt.Errorf("%w (%s): %v", ErrNoServer, path, err)
		}
		return nil, err
	}
	return c, nil
}

func (c *Client) dial() (net.Conn, error) {
	conn, err := net.DialTimeout("unix", c.path, 5*time.Second)
	if err != nil {
		return nil, err
	}
	_ = conn.SetDeadline(time.Now().Add(rpcTimeout))
	return conn, nil
}

// call sends one request and decodes the answer into resp (which may be
// nil), returning the remote *db.Error as it is.
func (c *Client) call(req rpcRequest, resp *rpcResponse) error {
	conn, err := c.dial()
	if err != nil {
		return err
	}
	defer conn.Close()
	// A request the server refuses (one too large) may be cut off while
	// it is sent; the server's answer says why, so read it all the same.
	sendErr := gob.NewEncoder(conn).Encode(req)
	var r rpcResponse
	if err := gob.NewDecoder(conn).Decode(&r); err != nil {
		if sendErr != nil {
			return fmt.Errorf("admin socket: send: %w", sendErr)
		}
		return fmt.Errorf("admin socket: read answer: %w", err)
	}
	if r.Err != nil {
		return r.Err
	}
	if resp != nil {
		*resp = r
	}
	return nil
}

// Backup writes a consistent copy of the server's database to w and
// returns its size.
func (c *Client) Backup(w io.Writer) (int64, error) {
	conn, err := c.dial()
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Time{})
	if err := gob.NewEncoder(conn).Encode(rpcRequest{Method: "Backup"}); err != nil {
		return 0, err
	}
	// The decoder must not read ahead into the copy: given a ByteReader it
	// reads exactly one message, and the copy follows in the same reader.
	br := bufio.NewReader(conn)
	dec := gob.NewDecoder(br)
	var r rpcResponse
	if err := dec.Decode(&r); err != nil {
		return 0, fmt.Errorf("admin socket: read answer: %w", err)
	}
	if r.Err != nil {
		return 0, r.Err
	}
	n, err := io.CopyN(w, br, r.BackupBytes)
	if err != nil {
		return n, fmt.Errorf("admin socket: backup cut off after %d of %d bytes: %w", n, r.BackupBytes, err)
	}
	return n, nil
}

// ListSignupTokens is Store.ListSignupTokens over the socket.
func (c *Client) ListSignupTokens(actor db.Actor) ([]db.SignupToken, error) {
	var r rpcResponse
	err := c.call(rpcRequest{Method: "ListSignupTokens", Actor: actor}, &r)
	return r.Tokens, err
}

// CreateSignupToken is Store.CreateSignupToken over the socket.
func (c *Client) CreateSignupToken(actor db.Actor, in db.NewSignupToken) (db.SignupToken, error) {
	var r rpcResponse
	err := c.call(rpcRequest{Method: "CreateSignupToken", Actor: actor, NewToken: in}, &r)
	return r.Token, err
}

// UpdateSignupToken is Store.UpdateSignupToken over the socket.
func (c *Client) UpdateSignupToken(actor db.Actor, secret string, in db.SignupTokenUpdate) (db.SignupToken, error) {
	raw, err := json.Marshal(in)
	if err != nil {
		return db.SignupToken{}, err
	}
	var r rpcResponse
	err = c.call(rpcRequest{Method: "UpdateSignupToken", Actor: actor, Secret: secret, TokenUpdate: raw}, &r)
	return r.Token, err
}

// DeleteSignupToken is Store.DeleteSignupToken over the socket.
func (c *Client) DeleteSignupToken(actor db.Actor, secret string) error {
	return c.call(rpcRequest{Method: "DeleteSignupToken", Actor: actor, Secret: secret}, &rpcResponse{})
}

// ListInvitations is Store.ListInvitations over the socket.
func (c *Client) ListInvitations(actor db.Actor, state string, after uint64, limit int) ([]db.Invitation, uint64, error) {
	var r rpcResponse
	err := c.call(rpcRequest{Method: "ListInvitations", Actor: actor, State: state, After: after, Limit: limit}, &r)
	return r.Invitations, r.Next, err
}

// CreateInvitation is Store.CreateInvitation over the socket; the server
// sends the email.
func (c *Client) CreateInvitation(actor db.Actor, in db.NewInvitation) (db.Invitation, error) {
	var r rpcResponse
	err := c.call(rpcRequest{Method: "CreateInvitation", Actor: actor, NewInvitation: in}, &r)
	return r.Invitation, err
}

// ResendInvitation is Store.ResendInvitation over the socket.
func (c *Client) ResendInvitation(actor db.Actor, id uint64) (db.Invitation, error) {
	var r rpcResponse
	err := c.call(rpcRequest{Method: "ResendInvitation", Actor: actor, ID: id}, &r)
	return r.Invitation, err
}

// ResendInvitationWithTTL is Store.ResendInvitationWithTTL over the
// socket.
func (c *Client) ResendInvitationWithTTL(actor db.Actor, id uint64, ttl time.Duration) (db.Invitation, error) {
	var r rpcResponse
	err := c.call(rpcRequest{Method: "ResendInvitation", Actor: actor, ID: id, TTL: ttl}, &r)
	return r.Invitation, err
}

// RevokeInvitation is Store.RevokeInvitation over the socket.
func (c *Client) RevokeInvitation(actor db.Actor, id uint64) (db.Invitation, error) {
	var r rpcResponse
	err := c.call(rpcRequest{Method: "RevokeInvitation", Actor: actor, ID: id}, &r)
	return r.Invitation, err
}

// ListUsers is Store.ListUsers over the socket.
func (c *Client) ListUsers(offset, limit int) ([]db.User, int, error) {
	var r rpcResponse
	err := c.call(rpcRequest{Method: "ListUsers", Offset: offset, Limit: limit}, &r)
	return r.Users, r.Total, err
}

// UpdateUser is Store.UpdateUser over the socket.
func (c *Client) UpdateUser(actor db.Actor, id uint64, in db.UserUpdate) (db.User, error) {
	raw, err := json.Marshal(in)
	if err != nil {
		return db.User{}, err
	}
	var r rpcResponse
	err = c.call(rpcRequest{Method: "UpdateUser", Actor: actor, ID: id, UserUpdate: raw}, &r)
	return r.User, err
}

// UnlockUser is Store.UnlockUser over the socket.
func (c *Client) UnlockUser(actor db.Actor, id uint64) (db.User, error) {
	var r rpcResponse
	err := c.call(rpcRequest{Method: "UnlockUser", Actor: actor, ID: id}, &r)
	return r.User, err
}

// DeleteUser is Store.DeleteUser over the socket.
func (c *Client) DeleteUser(actor db.Actor, id uint64) error {
	return c.call(rpcRequest{Method: "DeleteUser", Actor: actor, ID: id}, nil)
}

// ListAPIKeys is Store.ListAPIKeys over the socket.
func (c *Client) ListAPIKeys() ([]db.APIKey, error) {
	var r rpcResponse
	err := c.call(rpcRequest{Method: "ListAPIKeys"}, &r)
	return r.Keys, err
}

// CreateAPIKey is Store.CreateAPIKey over the socket.
func (c *Client) CreateAPIKey(actor db.Actor, name string, role db.Role) (db.APIKey, string, error) {
	var r rpcResponse
	err := c.call(rpcRequest{Method: "CreateAPIKey", Actor: actor, Name: name, Role: role}, &r)
	return r.Key, r.Secret, err
}

// DeleteAPIKey is Store.DeleteAPIKey over the socket.
func (c *Client) DeleteAPIKey(actor db.Actor, id uint64) error {
	return c.call(rpcRequest{Method: "DeleteAPIKey", Actor: actor, ID: id}, nil)
}

// ListOrganizations is Store.ListOrganizations over the socket.
func (c *Client) ListOrganizations() ([]db.Organization, error) {
	var r rpcResponse
	err := c.call(rpcRequest{Method: "ListOrganizations"}, &r)
	return r.Orgs, err
}

// CreateOrganization is Store.CreateOrganization over the socket.
func (c *Client) CreateOrganization(actor db.Actor, id, name string) (db.Organization, error) {
	var r rpcResponse
	err := c.call(rpcRequest{Method: "CreateOrganization", Actor: actor, OrgID: id, Name: name}, &r)
	return r.Org, err
}

// DeleteOrganization is Store.DeleteOrganization over the socket.
func (c *Client) DeleteOrganization(actor db.Actor, id string) error {
	return c.call(rpcRequest{Method: "DeleteOrganization", Actor: actor, OrgID: id}, nil)
}

// ListEvents is Store.ListEvents over the socket.
func (c *Client) ListEvents(typ string, offset, limit int) ([]db.Event, int, error) {
	var r rpcResponse
	err := c.call(rpcRequest{Method: "ListEvents", Type: typ, Offset: offset, Limit: limit}, &r)
	return r.Events, r.Total, err
}
