package adminrpc

import (
	"bufio"
	"context"
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
// store's methods that the admin tools use, each taking a context first,
// with the same errors, so the TUI works the same through it as on the
// file. Every error that is not a *db.Error is a failure to reach the
// server or to hear its answer.
type Client struct {
	path string
}

// ErrNoServer is returned by Dial when no server answers on the socket.
var ErrNoServer = errors.New("no server answers on the admin socket")

// Dial returns a client for the socket at path after checking that a
// server answers there.
func Dial(ctx context.Context, path string) (*Client, error) {
	c := &Client{path: path}
	if err := c.call(ctx, "Ping", none{}, nil); err != nil {
		var ne *net.OpError
		if errors.As(err, &ne) || errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ECONNREFUSED) {
			return nil, fmt.Errorf("%w (%s): %v", ErrNoServer, path, err)
		}
		return nil, err
	}
	return c, nil
}

// connect dials the socket and bounds the connection by ctx (or by
// defaultTimeout when ctx has no deadline, unless stream): its end breaks
// off any read or write under way. release undoes the
// binding; the caller closes conn.
func (c *Client) connect(ctx context.Context, stream bool) (conn net.Conn, release func() bool, err error) {
	var d net.Dialer
	dialCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err = d.DialContext(dialCtx, "unix", c.path)
	if err != nil {
		return nil, nil, err
	}
	if _, ok := ctx.Deadline(); !ok && !stream {
		_ = conn.SetDeadline(time.Now().Add(defaultTimeout))
	}
	// ctx's own end (its deadline too) breaks the call off, once ctx.Err
	// is set, so that the error names it.
	release = context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	return conn, release, nil
}

// failed words a transport failure, naming the context's end when that
// is what broke the call off.
func failed(ctx context.Context, what string, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("admin socket: %s: %w", what, context.Cause(ctx))
	}
	return fmt.Errorf("admin socket: %s: %w", what, err)
}

// call sends one request and decodes the answer into resp (which may be
// nil), returning the remote *db.Error as it is.
func (c *Client) call(ctx context.Context, method string, req, resp any) error {
	conn, release, err := c.connect(ctx, false)
	if err != nil {
		return err
	}
	defer conn.Close()
	defer release()
	// A request the server refuses (one too large) may be cut off while
	// it is sent; the server's answer says why, so read it all the same.
	enc := gob.NewEncoder(conn)
	sendErr := enc.Encode(requestHeader{Method: method})
	if sendErr == nil && !isEmpty(req) {
		sendErr = enc.Encode(req)
	}
	dec := gob.NewDecoder(conn)
	var h responseHeader
	if err := dec.Decode(&h); err != nil {
		if sendErr != nil {
			return failed(ctx, "send", sendErr)
		}
		return failed(ctx, "read answer", err)
	}
	if h.Err != nil {
		return h.Err
	}
	if resp != nil && !isEmpty(resp) {
		if err := dec.Decode(resp); err != nil {
			return failed(ctx, "read answer", err)
		}
	}
	return nil
}

// Backup writes a consistent copy of the server's database to w and
// returns its size. Only ctx bounds it: a large file may take a while.
func (c *Client) Backup(ctx context.Context, w io.Writer) (int64, error) {
	conn, release, err := c.connect(ctx, true)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	defer release()
	if err := gob.NewEncoder(conn).Encode(requestHeader{Method: "Backup"}); err != nil {
		return 0, failed(ctx, "send", err)
	}
	// The decoder must not read ahead into the copy: given a ByteReader it
	// reads exactly one message at a time, and the copy follows in the
	// same reader.
	br := bufio.NewReader(conn)
	dec := gob.NewDecoder(br)
	var h responseHeader
	if err := dec.Decode(&h); err != nil {
		return 0, failed(ctx, "read answer", err)
	}
	if h.Err != nil {
		return 0, h.Err
	}
	var r backupResponse
	if err := dec.Decode(&r); err != nil {
		return 0, failed(ctx, "read answer", err)
	}
	n, err := io.CopyN(w, br, r.Bytes)
	if err != nil {
		return n, failed(ctx, fmt.Sprintf("backup cut off after %d of %d bytes", n, r.Bytes), err)
	}
	return n, nil
}

// ListSignupTokens is Store.ListSignupTokens over the socket.
func (c *Client) ListSignupTokens(ctx context.Context, actor db.Actor) ([]db.SignupToken, error) {
	var r linksResponse
	err := c.call(ctx, "ListSignupTokens", actorRequest{actor}, &r)
	return r.Links, err
}

// CreateSignupToken is Store.CreateSignupToken over the socket.
func (c *Client) CreateSignupToken(ctx context.Context, actor db.Actor, in db.NewSignupToken) (db.SignupToken, error) {
	var r db.SignupToken
	err := c.call(ctx, "CreateSignupToken", createLinkRequest{actor, in}, &r)
	return r, err
}

// UpdateSignupToken is Store.UpdateSignupToken over the socket.
func (c *Client) UpdateSignupToken(ctx context.Context, actor db.Actor, secret string, in db.SignupTokenUpdate) (db.SignupToken, error) {
	raw, err := json.Marshal(in)
	if err != nil {
		return db.SignupToken{}, err
	}
	var r db.SignupToken
	err = c.call(ctx, "UpdateSignupToken", updateLinkRequest{actor, secret, raw}, &r)
	return r, err
}

// DeleteSignupToken is Store.DeleteSignupToken over the socket.
func (c *Client) DeleteSignupToken(ctx context.Context, actor db.Actor, secret string) error {
	return c.call(ctx, "DeleteSignupToken", linkRequest{actor, secret}, &none{})
}

// ListInvitations is Store.ListInvitations over the socket.
func (c *Client) ListInvitations(ctx context.Context, actor db.Actor, state string, after uint64, limit int) ([]db.Invitation, uint64, error) {
	var r listInvitationsResponse
	err := c.call(ctx, "ListInvitations", listInvitationsRequest{actor, state, after, limit}, &r)
	return r.Invitations, r.Next, err
}

// CreateInvitation is Store.CreateInvitation over the socket; the server
// sends the email.
func (c *Client) CreateInvitation(ctx context.Context, actor db.Actor, in db.NewInvitation) (db.Invitation, error) {
	var r db.Invitation
	err := c.call(ctx, "CreateInvitation", createInvitationRequest{actor, in}, &r)
	return r, err
}

// CreateInvitationBatch is Store.CreateInvitationBatch over the socket;
// the server's mail worker is woken for the emails.
func (c *Client) CreateInvitationBatch(ctx context.Context, actor db.Actor, in db.NewInvitationBatch) ([]db.BatchResult, error) {
	raw, err := json.Marshal(in)
	if err != nil {
		return nil, err
	}
	var r createBatchResponse
	err = c.call(ctx, "CreateInvitationBatch", createBatchRequest{actor, raw}, &r)
	return r.Results, err
}

// ResendInvitation is Store.ResendInvitation over the socket.
func (c *Client) ResendInvitation(ctx context.Context, actor db.Actor, id uint64) (db.Invitation, error) {
	var r db.Invitation
	err := c.call(ctx, "ResendInvitation", idRequest{actor, id}, &r)
	return r, err
}

// ResendInvitationWithTTL is Store.ResendInvitationWithTTL over the
// socket: a new link that works for ttl (0 keeps the invitation's own).
func (c *Client) ResendInvitationWithTTL(ctx context.Context, actor db.Actor, id uint64, ttl time.Duration) (db.Invitation, error) {
	var r db.Invitation
	err := c.call(ctx, "ResendInvitationWithTTL", resendRequest{actor, id, ttl}, &r)
	return r, err
}

// RevokeInvitation is Store.RevokeInvitation over the socket.
func (c *Client) RevokeInvitation(ctx context.Context, actor db.Actor, id uint64) (db.Invitation, error) {
	var r db.Invitation
	err := c.call(ctx, "RevokeInvitation", idRequest{actor, id}, &r)
	return r, err
}

// ListUsers is Store.ListUsers over the socket.
func (c *Client) ListUsers(ctx context.Context, offset, limit int) ([]db.User, int, error) {
	var r listUsersResponse
	err := c.call(ctx, "ListUsers", pageRequest{offset, limit}, &r)
	return r.Users, r.Total, err
}

// UpdateUser is Store.UpdateUser over the socket.
func (c *Client) UpdateUser(ctx context.Context, actor db.Actor, id uint64, in db.UserUpdate) (db.User, error) {
	raw, err := json.Marshal(in)
	if err != nil {
		return db.User{}, err
	}
	var r db.User
	err = c.call(ctx, "UpdateUser", updateUserRequest{actor, id, raw}, &r)
	return r, err
}

// CreateResetLink is Store.CreateResetLink over the socket.
func (c *Client) CreateResetLink(ctx context.Context, actor db.Actor, id uint64) (string, db.UserToken, error) {
	var r resetLinkResponse
	err := c.call(ctx, "CreateResetLink", idRequest{actor, id}, &r)
	return r.Secret, r.Token, err
}

// UnlockUser is Store.UnlockUser over the socket.
func (c *Client) UnlockUser(ctx context.Context, actor db.Actor, id uint64) (db.User, error) {
	var r db.User
	err := c.call(ctx, "UnlockUser", idRequest{actor, id}, &r)
	return r, err
}

// ListSSHKeys is Store.SSHKeys over the socket.
func (c *Client) ListSSHKeys(ctx context.Context, actor db.Actor, userID uint64) ([]db.SSHKey, error) {
	var r sshKeysResponse
	err := c.call(ctx, "ListSSHKeys", idRequest{actor, userID}, &r)
	return r.Keys, err
}

// AddSSHKey is Store.AddSSHKey over the socket.
func (c *Client) AddSSHKey(ctx context.Context, actor db.Actor, userID uint64, name, key string) (db.SSHKey, error) {
	var r db.SSHKey
	err := c.call(ctx, "AddSSHKey", addSSHKeyRequest{actor, userID, name, key}, &r)
	return r, err
}

// DeleteSSHKey is Store.DeleteSSHKey over the socket.
func (c *Client) DeleteSSHKey(ctx context.Context, actor db.Actor, userID, keyID uint64) error {
	return c.call(ctx, "DeleteSSHKey", sshKeyRequest{actor, userID, keyID}, nil)
}

// ClearSecondFactors is Store.ClearSecondFactors over the socket.
func (c *Client) ClearSecondFactors(ctx context.Context, actor db.Actor, id uint64) (db.User, error) {
	var r db.User
	err := c.call(ctx, "ClearSecondFactors", idRequest{actor, id}, &r)
	return r, err
}

// DisableUser is Store.DisableUser over the socket.
func (c *Client) DisableUser(ctx context.Context, actor db.Actor, id uint64) (db.User, error) {
	var r db.User
	err := c.call(ctx, "DisableUser", idRequest{actor, id}, &r)
	return r, err
}

// MarkEmailVerified is Store.MarkEmailVerified over the socket.
func (c *Client) MarkEmailVerified(ctx context.Context, actor db.Actor, id uint64) (db.User, error) {
	var r db.User
	err := c.call(ctx, "MarkEmailVerified", idRequest{actor, id}, &r)
	return r, err
}

// ApproveUser is Store.ApproveUser over the socket.
func (c *Client) ApproveUser(ctx context.Context, actor db.Actor, id uint64) (db.User, error) {
	var r db.User
	err := c.call(ctx, "ApproveUser", idRequest{actor, id}, &r)
	return r, err
}

// RejectUser is Store.RejectUser over the socket.
func (c *Client) RejectUser(ctx context.Context, actor db.Actor, id uint64) (db.User, error) {
	var r db.User
	err := c.call(ctx, "RejectUser", idRequest{actor, id}, &r)
	return r, err
}

// CountPendingUsers is Store.CountPendingUsers over the socket.
func (c *Client) CountPendingUsers(ctx context.Context) (int, error) {
	var n int
	err := c.call(ctx, "CountPendingUsers", none{}, &n)
	return n, err
}

// EnableUser is Store.EnableUser over the socket.
func (c *Client) EnableUser(ctx context.Context, actor db.Actor, id uint64) (db.User, error) {
	var r db.User
	err := c.call(ctx, "EnableUser", idRequest{actor, id}, &r)
	return r, err
}

// DeleteUser is Store.DeleteUser over the socket.
func (c *Client) DeleteUser(ctx context.Context, actor db.Actor, id uint64) error {
	return c.call(ctx, "DeleteUser", idRequest{actor, id}, nil)
}

// ListAPIKeys is Store.ListAPIKeys over the socket.
func (c *Client) ListAPIKeys(ctx context.Context) ([]db.APIKey, error) {
	var r keysResponse
	err := c.call(ctx, "ListAPIKeys", none{}, &r)
	return r.Keys, err
}

// CreateAPIKey is Store.CreateAPIKey over the socket.
func (c *Client) CreateAPIKey(ctx context.Context, actor db.Actor, name string, role db.Role) (db.APIKey, string, error) {
	var r createAPIKeyResponse
	err := c.call(ctx, "CreateAPIKey", createAPIKeyRequest{actor, name, role}, &r)
	return r.Key, r.Secret, err
}

// DeleteAPIKey is Store.DeleteAPIKey over the socket.
func (c *Client) DeleteAPIKey(ctx context.Context, actor db.Actor, id uint64) error {
	return c.call(ctx, "DeleteAPIKey", idRequest{actor, id}, nil)
}

// ListOrganizations is Store.ListOrganizations over the socket.
func (c *Client) ListOrganizations(ctx context.Context) ([]db.Organization, error) {
	var r orgsResponse
	err := c.call(ctx, "ListOrganizations", none{}, &r)
	return r.Orgs, err
}

// CreateOrganization is Store.CreateOrganization over the socket.
func (c *Client) CreateOrganization(ctx context.Context, actor db.Actor, id, name string) (db.Organization, error) {
	var r db.Organization
	err := c.call(ctx, "CreateOrganization", createOrgRequest{actor, id, name}, &r)
	return r, err
}

// DeleteOrganization is Store.DeleteOrganization over the socket.
func (c *Client) DeleteOrganization(ctx context.Context, actor db.Actor, id string) error {
	return c.call(ctx, "DeleteOrganization", orgIDRequest{actor, id}, nil)
}

// ListGroups is Store.ListGroups over the socket.
func (c *Client) ListGroups(ctx context.Context) ([]db.Group, error) {
	var r groupsResponse
	err := c.call(ctx, "ListGroups", none{}, &r)
	return r.Groups, err
}

// CreateGroup is Store.CreateGroup over the socket.
func (c *Client) CreateGroup(ctx context.Context, actor db.Actor, in db.NewGroup) (db.Group, error) {
	var r db.Group
	err := c.call(ctx, "CreateGroup", createGroupRequest{actor, in}, &r)
	return r, err
}

// UpdateGroup is Store.UpdateGroup over the socket.
func (c *Client) UpdateGroup(ctx context.Context, actor db.Actor, id string, in db.GroupUpdate) (db.Group, error) {
	raw, err := json.Marshal(in)
	if err != nil {
		return db.Group{}, err
	}
	var r db.Group
	err = c.call(ctx, "UpdateGroup", updateGroupRequest{actor, id, raw}, &r)
	return r, err
}

// DeleteGroup is Store.DeleteGroup over the socket.
func (c *Client) DeleteGroup(ctx context.Context, actor db.Actor, id string) error {
	return c.call(ctx, "DeleteGroup", orgIDRequest{actor, id}, nil)
}

// ListApps is Store.ListApps over the socket.
func (c *Client) ListApps(ctx context.Context) ([]db.App, error) {
	var r appsResponse
	err := c.call(ctx, "ListApps", none{}, &r)
	return r.Apps, err
}

// CreateApp is Store.CreateApp over the socket.
func (c *Client) CreateApp(ctx context.Context, actor db.Actor, in db.NewApp) (db.App, string, error) {
	var r appSecretResponse
	err := c.call(ctx, "CreateApp", createAppRequest{actor, in}, &r)
	return r.App, r.Secret, err
}

// RotateAppSecret is Store.RotateAppSecret over the socket.
func (c *Client) RotateAppSecret(ctx context.Context, actor db.Actor, id string) (db.App, string, error) {
	var r appSecretResponse
	err := c.call(ctx, "RotateAppSecret", orgIDRequest{actor, id}, &r)
	return r.App, r.Secret, err
}

// UpdateApp is Store.UpdateApp over the socket.
func (c *Client) UpdateApp(ctx context.Context, actor db.Actor, id string, in db.AppUpdate) (db.App, error) {
	raw, err := json.Marshal(in)
	if err != nil {
		return db.App{}, err
	}
	var r db.App
	err = c.call(ctx, "UpdateApp", updateAppRequest{actor, id, raw}, &r)
	return r, err
}

// DeleteApp is Store.DeleteApp over the socket.
func (c *Client) DeleteApp(ctx context.Context, actor db.Actor, id string) error {
	return c.call(ctx, "DeleteApp", orgIDRequest{actor, id}, nil)
}

// ListWebhooks is Store.Webhooks over the socket.
func (c *Client) ListWebhooks(ctx context.Context) ([]db.Webhook, error) {
	var r webhooksResponse
	err := c.call(ctx, "ListWebhooks", none{}, &r)
	return r.Webhooks, err
}

// CreateWebhook is Store.CreateWebhook over the socket; the answer holds
// the signing secret.
func (c *Client) CreateWebhook(ctx context.Context, actor db.Actor, in db.NewWebhook) (db.Webhook, error) {
	var r db.Webhook
	err := c.call(ctx, "CreateWebhook", createWebhookRequest{actor, in}, &r)
	return r, err
}

// DeleteWebhook is Store.DeleteWebhook over the socket.
func (c *Client) DeleteWebhook(ctx context.Context, actor db.Actor, id uint64) error {
	return c.call(ctx, "DeleteWebhook", idRequest{actor, id}, nil)
}

// ListWebhookDeliveries is Store.WebhookDeliveries over the socket.
func (c *Client) ListWebhookDeliveries(ctx context.Context, webhookID uint64, limit int) ([]db.WebhookDelivery, error) {
	var r deliveriesResponse
	err := c.call(ctx, "ListWebhookDeliveries", deliveriesRequest{webhookID, limit}, &r)
	return r.Deliveries, err
}

// ListEvents is Store.ListEvents over the socket.
func (c *Client) ListEvents(ctx context.Context, typ string, offset, limit int) ([]db.Event, int, error) {
	var r listEventsResponse
	err := c.call(ctx, "ListEvents", listEventsRequest{typ, offset, limit}, &r)
	return r.Events, r.Total, err
}

// RotateSigningKeys is Store.RotateSigningKeys over the socket, with
// db.DefaultSigningKeyKeep. It returns only the new key's id: the key
// itself stays in the server.
func (c *Client) RotateSigningKeys(ctx context.Context, actor db.Actor) (string, error) {
	var r rotateKeysResponse
	err := c.call(ctx, "RotateSigningKeys", actorRequest{actor}, &r)
	return r.ID, err
}
