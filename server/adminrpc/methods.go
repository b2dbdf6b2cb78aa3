package adminrpc

import (
	"context"
	"encoding/gob"
	"encoding/json"
	"io"
	"reflect"
	"time"

	"invited/db"
)

// handler decodes one method's request from the connection and returns
// the call that runs it. The two are apart so that the whole request is
// read before the server watches the connection for the client leaving.
type handler func(dec *gob.Decoder) (call, error)

// call runs one decoded request.
type call func(ctx context.Context, s *Server) (any, error)

// stream is a response that writes itself after a success header: the
// backup, whose size is known only inside its read transaction.
type stream func(w io.Writer, enc *gob.Encoder) error

// method makes the handler of a method taking Req and answering Resp.
// A struct with no fields travels as nothing: gob cannot encode one.
func method[Req, Resp any](run func(ctx context.Context, s *Server, r Req) (Resp, error)) handler {
	return func(dec *gob.Decoder) (call, error) {
		var r Req
		if !isEmpty(r) {
			if err := dec.Decode(&r); err != nil {
				return nil, errUnreadable{err}
			}
		}
		return func(ctx context.Context, s *Server) (any, error) { return run(ctx, s, r) }, nil
	}
}

// isEmpty reports a struct without fields (or nil), which is not sent.
func isEmpty(v any) bool {
	if v == nil {
		return true
	}
	t := reflect.TypeOf(v)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Kind() == reflect.Struct && t.NumField() == 0
}

// Requests and responses, one small struct per method; the methods take
// the store's arguments and give its results.
type (
	none struct{}

	actorRequest     struct{ Actor db.Actor }
	addSSHKeyRequest struct {
		Actor     db.Actor
		UserID    uint64
		Name, Key string
	}
	sshKeysResponse struct{ Keys []db.SSHKey }
	sshKeyRequest   struct {
		Actor         db.Actor
		UserID, KeyID uint64
	}
	idRequest struct {
		Actor db.Actor
		ID    uint64
	}
	pageRequest struct{ Offset, Limit int }

	createLinkRequest struct {
		Actor db.Actor
		In    db.NewSignupToken
	}
	// Updates travel as JSON: gob drops a pointer to a zero value (a
	// *bool false), which would turn "disable" into "change nothing".
	updateLinkRequest struct {
		Actor  db.Actor
		Secret string
		In     []byte
	}
	linkRequest struct {
		Actor  db.Actor
		Secret string
	}
	resendRequest struct {
		Actor db.Actor
		ID    uint64
		TTL   time.Duration // 0 keeps the invitation's own
	}
	listInvitationsRequest struct {
		Actor db.Actor
		State string
		After uint64
		Limit int
	}
	listInvitationsResponse struct {
		Invitations []db.Invitation
		Next        uint64
	}
	createInvitationRequest struct {
		Actor db.Actor
		In    db.NewInvitation
	}
	// A batch travels as JSON, like updates: its TTL is a pointer that
	// gob would drop when it points to zero.
	createBatchRequest struct {
		Actor db.Actor
		In    []byte
	}
	createBatchResponse struct {
		Results []db.BatchResult
	}
	listUsersResponse struct {
		Users []db.User
		Total int
	}
	updateUserRequest struct {
		Actor db.Actor
		ID    uint64
		In    []byte
	}
	createAPIKeyRequest struct {
		Actor db.Actor
		Name  string
		Role  db.Role
	}
	createAPIKeyResponse struct {
		Key    db.APIKey
		Secret string
	}
	// resetLinkResponse is a reset link's secret, the one time it
	// travels, with its token.
	resetLinkResponse struct {
		Secret string
		Token  db.UserToken
	}
	// appSecretResponse is an app with the client secret that CreateApp
	// or RotateAppSecret made ("" for one without).
	appSecretResponse struct {
		App    db.App
		Secret string
	}
	createOrgRequest struct {
		Actor    db.Actor
		ID, Name string
	}
	orgIDRequest struct {
		Actor db.Actor
		ID    string
	}
	createGroupRequest struct {
		Actor db.Actor
		In    db.NewGroup
	}
	updateGroupRequest struct {
		Actor db.Actor
		ID    string
		In    []byte // a db.GroupUpdate in JSON, as updateUserRequest's
	}
	createAppRequest struct {
		Actor db.Actor
		In    db.NewApp
	}
	updateAppRequest struct {
		Actor db.Actor
		ID    string
		In    []byte // a db.AppUpdate in JSON: gob would drop an empty list of groups
	}
	createWebhookRequest struct {
		Actor db.Actor
		In    db.NewWebhook
	}
	deliveriesRequest struct {
		WebhookID uint64
		Limit     int
	}
	listEventsRequest struct {
		Type          string
		Offset, Limit int
	}
	listEventsResponse struct {
		Events []db.Event
		Total  int
	}
	// rotateKeysResponse names the new signing key; the key itself never
	// leaves the server.
	rotateKeysResponse struct {
		ID        string
		CreatedAt time.Time
	}
	// The lists travel in a struct: gob cannot send a nil slice alone.
	linksResponse  struct{ Links []db.SignupToken }
	keysResponse   struct{ Keys []db.APIKey }
	orgsResponse   struct{ Orgs []db.Organization }
	groupsResponse struct{ Groups []db.Group }
	appsResponse   struct{ Apps []db.App }
	// webhooksResponse never holds a secret: the store's listing has none.
	webhooksResponse   struct{ Webhooks []db.Webhook }
	deliveriesResponse struct{ Deliveries []db.WebhookDelivery }
)

// methods is every method of the admin socket, by name: Ping, the
// commands' Backup and RotateSigningKeys, and one for each method of the
// TUI's Backend, with the same name.
var methods = map[string]handler{
	"Ping": method(func(context.Context, *Server, none) (none, error) { return none{}, nil }),
	"Backup": method(func(_ context.Context, s *Server, _ none) (any, error) {
		return stream(func(w io.Writer, enc *gob.Encoder) error {
			return s.store.Backup(func(size int64, write func(io.Writer) error) error {
				if err := enc.Encode(responseHeader{}); err != nil {
					return err
				}
				if err := enc.Encode(backupResponse{Bytes: size}); err != nil {
					return err
				}
				return write(w)
			})
		}), nil
	}),

	"ListSignupTokens": method(func(_ context.Context, s *Server, r actorRequest) (linksResponse, error) {
		out, err := s.store.ListSignupTokens(r.Actor)
		return linksResponse{out}, err
	}),
	"CreateSignupToken": method(func(_ context.Context, s *Server, r createLinkRequest) (db.SignupToken, error) {
		return s.store.CreateSignupToken(r.Actor, r.In)
	}),
	"UpdateSignupToken": method(func(_ context.Context, s *Server, r updateLinkRequest) (db.SignupToken, error) {
		var in db.SignupTokenUpdate
		if err := json.Unmarshal(r.In, &in); err != nil {
			return db.SignupToken{}, errUnreadable{err}
		}
		return s.store.UpdateSignupToken(r.Actor, r.Secret, in)
	}),

	"DeleteSignupToken": method(func(_ context.Context, s *Server, r linkRequest) (none, error) {
		return none{}, s.store.DeleteSignupToken(r.Actor, r.Secret)
	}),

	"ListInvitations": method(func(_ context.Context, s *Server, r listInvitationsRequest) (listInvitationsResponse, error) {
		out, next, err := s.store.ListInvitations(r.Actor, r.State, r.After, r.Limit)
		return listInvitationsResponse{out, next}, err
	}),
	"CreateInvitation": method(func(_ context.Context, s *Server, r createInvitationRequest) (db.Invitation, error) {
		defer s.poke()
		return s.store.CreateInvitation(r.Actor, r.In)
	}),
	"CreateInvitationBatch": method(func(_ context.Context, s *Server, r createBatchRequest) (createBatchResponse, error) {
		var in db.NewInvitationBatch
		if err := json.Unmarshal(r.In, &in); err != nil {
			return createBatchResponse{}, errUnreadable{err}
		}
		defer s.poke()
		results, err := s.store.CreateInvitationBatch(r.Actor, in)
		return createBatchResponse{results}, err
	}),
	"ResendInvitation": method(func(_ context.Context, s *Server, r idRequest) (db.Invitation, error) {
		defer s.poke()
		return s.store.ResendInvitation(r.Actor, r.ID)
	}),
	"ResendInvitationWithTTL": method(func(_ context.Context, s *Server, r resendRequest) (db.Invitation, error) {
		defer s.poke()
		return s.store.ResendInvitationWithTTL(r.Actor, r.ID, r.TTL)
	}),
	"RevokeInvitation": method(func(_ context.Context, s *Server, r idRequest) (db.Invitation, error) {
		return s.store.RevokeInvitation(r.Actor, r.ID)
	}),

	"ListUsers": method(func(_ context.Context, s *Server, r pageRequest) (listUsersResponse, error) {
		out, total, err := s.store.ListUsers(r.Offset, r.Limit)
		return listUsersResponse{out, total}, err
	}),
	"UpdateUser": method(func(_ context.Context, s *Server, r updateUserRequest) (db.User, error) {
		var in db.UserUpdate
		if err := json.Unmarshal(r.In, &in); err != nil {
			return db.User{}, errUnreadable{err}
		}
		return s.store.UpdateUser(r.Actor, r.ID, in)
	}),
	"CreateResetLink": method(func(_ context.Context, s *Server, r idRequest) (resetLinkResponse, error) {
		secret, t, err := s.store.CreateResetLink(r.Actor, r.ID)
		return resetLinkResponse{secret, t}, err
	}),
	"UnlockUser": method(func(_ context.Context, s *Server, r idRequest) (db.User, error) {
		return s.store.UnlockUser(r.Actor, r.ID)
	}),
	"ListSSHKeys": method(func(_ context.Context, s *Server, r idRequest) (sshKeysResponse, error) {
		out, err := s.store.SSHKeys(r.Actor, r.ID)
		return sshKeysResponse{out}, err
	}),
	"AddSSHKey": method(func(_ context.Context, s *Server, r addSSHKeyRequest) (db.SSHKey, error) {
		return s.store.AddSSHKey(r.Actor, r.UserID, r.Name, r.Key)
	}),
	"DeleteSSHKey": method(func(_ context.Context, s *Server, r sshKeyRequest) (none, error) {
		return none{}, s.store.DeleteSSHKey(r.Actor, r.UserID, r.KeyID)
	}),
	"ClearSecondFactors": method(func(_ context.Context, s *Server, r idRequest) (db.User, error) {
		return s.store.ClearSecondFactors(r.Actor, r.ID)
	}),
	"DisableUser": method(func(_ context.Context, s *Server, r idRequest) (db.User, error) {
		return s.store.DisableUser(r.Actor, r.ID)
	}),
	"MarkEmailVerified": method(func(_ context.Context, s *Server, r idRequest) (db.User, error) {
		return s.store.MarkEmailVerified(r.Actor, r.ID)
	}),
	"ApproveUser": method(func(_ context.Context, s *Server, r idRequest) (db.User, error) {
		return s.store.ApproveUser(r.Actor, r.ID)
	}),
	"RejectUser": method(func(_ context.Context, s *Server, r idRequest) (db.User, error) {
		return s.store.RejectUser(r.Actor, r.ID)
	}),
	"CountPendingUsers": method(func(_ context.Context, s *Server, _ none) (int, error) {
		return s.store.CountPendingUsers()
	}),
	"EnableUser": method(func(_ context.Context, s *Server, r idRequest) (db.User, error) {
		return s.store.EnableUser(r.Actor, r.ID)
	}),
	"DeleteUser": method(func(_ context.Context, s *Server, r idRequest) (none, error) {
		return none{}, s.store.DeleteUser(r.Actor, r.ID)
	}),

	"ListAPIKeys": method(func(_ context.Context, s *Server, _ none) (keysResponse, error) {
		out, err := s.store.ListAPIKeys()
		return keysResponse{out}, err
	}),
	"CreateAPIKey": method(func(_ context.Context, s *Server, r createAPIKeyRequest) (createAPIKeyResponse, error) {
		key, secret, err := s.store.CreateAPIKey(r.Actor, r.Name, r.Role)
		return createAPIKeyResponse{key, secret}, err
	}),
	"DeleteAPIKey": method(func(_ context.Context, s *Server, r idRequest) (none, error) {
		return none{}, s.store.DeleteAPIKey(r.Actor, r.ID)
	}),

	"ListOrganizations": method(func(_ context.Context, s *Server, _ none) (orgsResponse, error) {
		out, err := s.store.ListOrganizations()
		return orgsResponse{out}, err
	}),
	"CreateOrganization": method(func(_ context.Context, s *Server, r createOrgRequest) (db.Organization, error) {
		return s.store.CreateOrganization(r.Actor, r.ID, r.Name)
	}),
	"DeleteOrganization": method(func(_ context.Context, s *Server, r orgIDRequest) (none, error) {
		return none{}, s.store.DeleteOrganization(r.Actor, r.ID)
	}),

	"ListGroups": method(func(_ context.Context, s *Server, _ none) (groupsResponse, error) {
		out, err := s.store.ListGroups()
		return groupsResponse{out}, err
	}),
	"CreateGroup": method(func(_ context.Context, s *Server, r createGroupRequest) (db.Group, error) {
		return s.store.CreateGroup(r.Actor, r.In)
	}),
	"UpdateGroup": method(func(_ context.Context, s *Server, r updateGroupRequest) (db.Group, error) {
		var in db.GroupUpdate
		if err := json.Unmarshal(r.In, &in); err != nil {
			return db.Group{}, errUnreadable{err}
		}
		return s.store.UpdateGroup(r.Actor, r.ID, in)
	}),
	"DeleteGroup": method(func(_ context.Context, s *Server, r orgIDRequest) (none, error) {
		return none{}, s.store.DeleteGroup(r.Actor, r.ID)
	}),
	"ListApps": method(func(_ context.Context, s *Server, _ none) (appsResponse, error) {
		out, err := s.store.ListApps()
		return appsResponse{out}, err
	}),
	"CreateApp": method(func(_ context.Context, s *Server, r createAppRequest) (appSecretResponse, error) {
		a, secret, err := s.store.CreateApp(r.Actor, r.In)
		return appSecretResponse{a, secret}, err
	}),
	"RotateAppSecret": method(func(_ context.Context, s *Server, r orgIDRequest) (appSecretResponse, error) {
		a, secret, err := s.store.RotateAppSecret(r.Actor, r.ID)
		return appSecretResponse{a, secret}, err
	}),
	"UpdateApp": method(func(_ context.Context, s *Server, r updateAppRequest) (db.App, error) {
		var in db.AppUpdate
		if err := json.Unmarshal(r.In, &in); err != nil {
			return db.App{}, errUnreadable{err}
		}
		return s.store.UpdateApp(r.Actor, r.ID, in)
	}),
	"DeleteApp": method(func(_ context.Context, s *Server, r orgIDRequest) (none, error) {
		return none{}, s.store.DeleteApp(r.Actor, r.ID)
	}),

	"ListWebhooks": method(func(_ context.Context, s *Server, _ none) (webhooksResponse, error) {
		out, err := s.store.Webhooks()
		return webhooksResponse{out}, err
	}),
	// CreateWebhook's answer carries the signing secret, the one time it
	// leaves the store.
	"CreateWebhook": method(func(_ context.Context, s *Server, r createWebhookRequest) (db.Webhook, error) {
		return s.store.CreateWebhook(r.Actor, r.In)
	}),
	"DeleteWebhook": method(func(_ context.Context, s *Server, r idRequest) (none, error) {
		return none{}, s.store.DeleteWebhook(r.Actor, r.ID)
	}),
	"ListWebhookDeliveries": method(func(_ context.Context, s *Server, r deliveriesRequest) (deliveriesResponse, error) {
		out, err := s.store.WebhookDeliveries(r.WebhookID, r.Limit)
		return deliveriesResponse{out}, err
	}),

	// RotateSigningKeys (`invited rotate-keys`) uses the program's keep,
	// so the running server and the file agree on it.
	"RotateSigningKeys": method(func(_ context.Context, s *Server, r actorRequest) (rotateKeysResponse, error) {
		k, err := s.store.RotateSigningKeys(r.Actor, db.DefaultSigningKeyKeep)
		return rotateKeysResponse{k.ID, k.CreatedAt}, err
	}),

	"ListEvents": method(func(_ context.Context, s *Server, r listEventsRequest) (listEventsResponse, error) {
		out, total, err := s.store.ListEvents(r.Type, r.Offset, r.Limit)
		if err == nil {
			out, err = plainEventData(out)
		}
		return listEventsResponse{out, total}, err
	}),
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
