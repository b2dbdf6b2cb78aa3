package server

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"time"

	"invited/db"
	"invited/weburl"
)

// The API's JSON shapes. Each is a plain struct with json tags, built from
// a db value by a newXResponse func; db holds no JSON of the API and no
// URLs. Times are db.FormatTime strings (UTC, milliseconds), as the seeds
// show them. Request types stay next to their handlers.

// nullable is s, or null for "".
func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// nullableTime is t formatted, or null for nil.
func nullableTime(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := db.FormatTime(*t)
	return &s
}

// userResponse is a user as seed 000's userSchema shows it, plus
// organizationId, disabled, emailVerified and groups.
type userResponse struct {
	ID             uint64   `json:"id"`
	IsAPI          bool     `json:"isAPI"`
	Name           *string  `json:"name"`
	Email          string   `json:"email"`
	Username       *string  `json:"username"`
	ImageURL       string   `json:"imageUrl"`
	InviteLink     string   `json:"inviteLink"`
	LoginAttempts  int      `json:"loginAttempts"`
	EmailSent      bool     `json:"emailSent"`
	RootRole       db.Role  `json:"rootRole"`
	SeenAt         *string  `json:"seenAt"`
	CreatedAt      string   `json:"createdAt"`
	AccountType    string   `json:"accountType"`
	Permissions    []string `json:"permissions"`
	ScimID         *string  `json:"scimId"`
	OrganizationID string   `json:"organizationId"`
	Disabled       bool     `json:"disabled"`
	// EmailVerified is our addition too: false for a link signup whose
	// address is still to be verified (DESIGN §11).
	EmailVerified bool `json:"emailVerified"`
	// PendingApproval is ours as well: true while a user who signed up
	// through a link with requireApproval waits for an Admin (DESIGN §12).
	PendingApproval bool `json:"pendingApproval"`
	// Groups is our addition to userSchema: the ids of the user's groups.
	Groups []string `json:"groups"`
}

func newUserResponse(u db.User) userResponse {
	return userResponse{
		ID: u.ID, Name: nullable(u.Name), Email: u.Email, Username: nullable(u.Username),
		ImageURL: gravatarURL(u.Email), LoginAttempts: u.LoginAttempts, EmailSent: u.EmailSent,
		RootRole: u.RootRole, SeenAt: nullableTime(u.SeenAt), CreatedAt: db.FormatTime(u.CreatedAt),
		AccountType: "User", Permissions: []string{}, OrganizationID: u.OrganizationID, Disabled: u.Disabled,
		EmailVerified: u.EmailVerified, PendingApproval: u.PendingApproval, Groups: groupIDs(u.Groups),
	}
}

// groupIDs is a list of group ids as the API shows it: [] for none, never
// null.
func groupIDs(ids []string) []string {
	if ids == nil {
		return []string{}
	}
	return ids
}

func newUserResponses(users []db.User) []userResponse {
	out := make([]userResponse, len(users))
	for i, u := range users {
		out[i] = newUserResponse(u)
	}
	return out
}

// gravatarURL points at the avatar service by a hash of the address, as
// user avatars usually do; the server itself never fetches it.
func gravatarURL(email string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(email))))
	return "https://gravatar.com/avatar/" + hex.EncodeToString(sum[:]) + "?s=42&d=retro"
}

// roleResponse is a root role as seed 002's role object shows it.
type roleResponse struct {
	ID          db.Role `json:"id"`
	Type        string  `json:"type"`
	Name        string  `json:"name"`
	Description string  `json:"description"`
	Project     *string `json:"project"`
}

func newRoleResponse(r db.Role) roleResponse {
	return roleResponse{ID: r, Type: "root", Name: r.Name(), Description: r.Description()}
}

// linkResponse is a signup link as seed 002's publicSignupTokenSchema
// shows it, plus description, maxUses, uses and allowedDomains.
type linkResponse struct {
	Secret      string  `json:"secret"`
	URL         string  `json:"url"`
	Name        string  `json:"name"`
	Description string  `json:"description"`
	Enabled     bool    `json:"enabled"`
	ExpiresAt   string  `json:"expiresAt"`
	CreatedAt   string  `json:"createdAt"`
	CreatedBy   *string `json:"createdBy"`
	// Users is []userResponse or []linkUserBrief: see newLinkResponse.
	Users          any          `json:"users"`
	Role           roleResponse `json:"role"`
	MaxUses        *int         `json:"maxUses"`
	Uses           int          `json:"uses"`
	AllowedDomains []string     `json:"allowedDomains"`
	// Groups is our addition: the ids of the groups whoever signs up gets.
	Groups []string `json:"groups"`
	// AppID is our addition: the app whoever signs up is sent on to,
	// signed in. Left out when there is none.
	AppID string `json:"appId,omitempty"`
	// RequireApproval is ours too: whoever signs up waits for an Admin.
	RequireApproval bool `json:"requireApproval"`
}

// linkUserBrief is a joiner as a caller without MANAGE_USERS sees them:
// userSchema's required id, and who they are, with which role, since when,
// and whether they wait for an Admin's approval.
type linkUserBrief struct {
	ID        uint64  `json:"id"`
	Name      *string `json:"name"`
	Username  *string `json:"username"`
	RootRole  db.Role `json:"rootRole"`
	CreatedAt string  `json:"createdAt"`
	// PendingApproval: the joiner waits for an Admin's approval.
	PendingApproval bool `json:"pendingApproval"`
}

// newLinkResponse is t as a caller may read it, its url built on baseURL.
// Who may read users (wholeUsers: an Admin) sees each joiner whole, as
// seed 002 shows them; anyone else sees only what someone who shares the
// link needs, so that managing links is not a way to read other people's
// addresses and sign-in history.
func newLinkResponse(baseURL string, t db.SignupToken, wholeUsers bool) linkResponse {
	resp := linkResponse{
		Secret: t.Secret, URL: weburl.SignupLink(baseURL, t.Secret), Name: t.Name, Description: t.Description,
		Enabled: t.Enabled, ExpiresAt: db.FormatTime(t.ExpiresAt), CreatedAt: db.FormatTime(t.CreatedAt),
		CreatedBy: nullable(t.CreatedBy), Role: newRoleResponse(t.Role), Uses: t.Uses,
		AllowedDomains: t.AllowedDomains, Groups: groupIDs(t.Groups), AppID: t.AppID, RequireApproval: t.RequireApproval,
	}
	if wholeUsers {
		resp.Users = newUserResponses(t.Users)
	} else {
		brief := make([]linkUserBrief, len(t.Users))
		for i, u := range t.Users {
			brief[i] = linkUserBrief{ID: u.ID, Name: nullable(u.Name), Username: nullable(u.Username),
				RootRole: u.RootRole, CreatedAt: db.FormatTime(u.CreatedAt), PendingApproval: u.PendingApproval}
		}
		resp.Users = brief
	}
	if resp.AllowedDomains == nil {
		resp.AllowedDomains = []string{}
	}
	if t.MaxUses > 0 {
		resp.MaxUses = &t.MaxUses
	}
	return resp
}

// labelJSON is an invitation's label, in requests and answers.
type labelJSON struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// invitationResponse is an invitation as seed 004's UserInvitation shows
// it, plus roleId, organizationId and state.
type invitationResponse struct {
	InvitedEmail           string      `json:"invitedEmail"`
	ExpirationTime         string      `json:"expirationTime"`
	InvitationURI          string      `json:"invitationUri"`
	InvitationToken        string      `json:"invitationToken"`
	CreateTime             string      `json:"createTime"`
	UpdateTime             string      `json:"updateTime"`
	Creator                string      `json:"creator"`
	Updater                string      `json:"updater"`
	Name                   string      `json:"name"`
	Inviter                string      `json:"inviter"`
	TTL                    string      `json:"ttl"`
	DisableInvitationEmail bool        `json:"disableInvitationEmail"`
	Labels                 []labelJSON `json:"labels"`
	RoleID                 string      `json:"roleId"`
	OrganizationID         string      `json:"organizationId"`
	State                  string      `json:"state"`
	// Groups is our addition: the ids of the groups the invitee gets.
	Groups []string `json:"groups"`
	// AppID is our addition: the app the invitee is sent on to, signed
	// in. Left out when there is none.
	AppID string `json:"appId,omitempty"`
}

// newInvitationResponse is inv with its URI built on baseURL. Token and
// URI are empty but in the answers of create and resend: the store keeps
// only the token's hash.
func newInvitationResponse(baseURL string, inv db.Invitation) invitationResponse {
	labels := make([]labelJSON, len(inv.Labels))
	for i, l := range inv.Labels {
		labels[i] = labelJSON{Key: l.Key, Value: l.Value}
	}
	return invitationResponse{
		InvitedEmail: inv.Email, ExpirationTime: db.FormatTime(inv.ExpiresAt),
		InvitationURI: weburl.InvitationLink(baseURL, inv.Token), InvitationToken: inv.Token,
		CreateTime: db.FormatTime(inv.CreatedAt), UpdateTime: db.FormatTime(inv.UpdatedAt),
		Creator: inv.Creator, Updater: inv.Updater, Name: db.InvitationName(inv.ID), Inviter: inv.Inviter,
		TTL: db.FormatDuration(inv.TTL), DisableInvitationEmail: inv.DisableEmail, Labels: labels,
		RoleID: strconv.Itoa(int(inv.Role)), OrganizationID: inv.OrgID, State: inv.State,
		Groups: groupIDs(inv.Groups), AppID: inv.AppID,
	}
}

func newInvitationResponses(baseURL string, list []db.Invitation) []invitationResponse {
	out := make([]invitationResponse, len(list))
	for i, inv := range list {
		out[i] = newInvitationResponse(baseURL, inv)
	}
	return out
}

// apiKeyResponse is an API key's public facts; never the key.
type apiKeyResponse struct {
	ID         uint64       `json:"id"`
	Name       string       `json:"name"`
	Prefix     string       `json:"prefix"`
	CreatedBy  string       `json:"createdBy"`
	Role       roleResponse `json:"role"`
	CreatedAt  string       `json:"createdAt"`
	LastUsedAt *string      `json:"lastUsedAt"`
}

func newAPIKeyResponse(k db.APIKey) apiKeyResponse {
	return apiKeyResponse{
		ID: k.ID, Name: k.Name, Prefix: k.Prefix, CreatedBy: k.CreatedBy, Role: newRoleResponse(k.Role),
		CreatedAt: db.FormatTime(k.CreatedAt), LastUsedAt: nullableTime(k.LastUsedAt),
	}
}

// createAPIKeyResponse is the one answer that holds the key itself.
type createAPIKeyResponse struct {
	apiKeyResponse
	Secret string `json:"secret"`
}

// eventResponse is an entry of the audit log.
type eventResponse struct {
	ID         uint64         `json:"id"`
	Type       string         `json:"type"`
	CreatedBy  string         `json:"createdBy"`
	ObjectType string         `json:"objectType"`
	ObjectID   string         `json:"objectId"`
	Data       map[string]any `json:"data"`
	CreatedAt  string         `json:"createdAt"`
}

func newEventResponses(events []db.Event) []eventResponse {
	out := make([]eventResponse, len(events))
	for i, e := range events {
		out[i] = eventResponse{ID: e.ID, Type: e.Type, CreatedBy: e.CreatedBy, ObjectType: e.ObjectType,
			ObjectID: e.ObjectID, Data: e.Data, CreatedAt: db.FormatTime(e.CreatedAt)}
	}
	return out
}

// organizationResponse is an organization.
type organizationResponse struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	CreatedAt string `json:"createdAt"`
}

func newOrganizationResponse(o db.Organization) organizationResponse {
	return organizationResponse{ID: o.ID, Name: o.Name, CreatedAt: db.FormatTime(o.CreatedAt)}
}

// groupResponse is a group (DESIGN §8).
type groupResponse struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	CreatedAt   string `json:"createdAt"`
}

func newGroupResponse(g db.Group) groupResponse {
	return groupResponse{ID: g.ID, Name: g.Name, Description: g.Description, CreatedAt: db.FormatTime(g.CreatedAt)}
}

// appResponse is an app (DESIGN §9). groups and domains are [] when
// empty, never null. An oidc app adds clientId, redirectUris and public;
// its secret is never here (appWithSecretResponse adds it the one time).
type appResponse struct {
	ID           string   `json:"id"`
	Name         string   `json:"name"`
	URL          string   `json:"url"`
	Kind         string   `json:"kind"`
	Groups       []string `json:"groups"`
	Domains      []string `json:"domains"`
	ClientID     string   `json:"clientId,omitempty"`
	RedirectURIs []string `json:"redirectUris,omitempty"`
	Public       *bool    `json:"public,omitempty"`
	CreatedAt    string   `json:"createdAt"`
}

func newAppResponse(a db.App) appResponse {
	out := appResponse{ID: a.ID, Name: a.Name, URL: a.URL, Kind: a.Kind, Groups: groupIDs(a.Groups),
		Domains: groupIDs(a.Domains), CreatedAt: db.FormatTime(a.CreatedAt)}
	if o := a.OIDC; o != nil {
		public := o.Public
		out.ClientID, out.RedirectURIs, out.Public = o.ClientID, groupIDs(o.RedirectURIs), &public
	}
	return out
}

// emailResponse is an email of the outbox as admins see it: never its
// bodies, its token or its inviter. Its times are RFC 3339 with
// nanoseconds, as this answer always had them.
type emailResponse struct {
	ID            uint64     `json:"id"`
	Kind          string     `json:"kind"`
	To            string     `json:"to"`
	Subject       string     `json:"subject"`
	State         string     `json:"state"`
	Attempts      int        `json:"attempts"`
	LastError     string     `json:"lastError,omitempty"`
	CreatedAt     time.Time  `json:"createdAt"`
	NextAttemptAt time.Time  `json:"nextAttemptAt"`
	SentAt        *time.Time `json:"sentAt,omitempty"`
	UserID        uint64     `json:"userId,omitempty"`
	InvitationID  uint64     `json:"invitationId,omitempty"`
}

// newEmailResponse is e with subject in place of its own: the one it went
// out with, or gets when it is sent (mail.Subject).
func newEmailResponse(e db.OutboxEmail, subject string) emailResponse {
	return emailResponse{
		ID: e.ID, Kind: e.Kind, To: e.To, Subject: subject, State: e.State, Attempts: e.Attempts,
		LastError: e.LastError, CreatedAt: e.CreatedAt, NextAttemptAt: e.NextAttemptAt, SentAt: e.SentAt,
		UserID: e.UserID, InvitationID: e.InvitationID,
	}
}
