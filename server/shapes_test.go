package server

import (
	"encoding/json"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"invited/db"
	"invited/weburl"
)

// shapeGoldens are the API's JSON of fixed values, as db's MarshalJSON
// methods wrote them before the shapes moved to the server (issue 11):
// the response types must answer exactly the same, field for field, null
// for null and [] for [].
var shapeGoldens = map[string]string{
	"userFull":       `{"id":7,"isAPI":false,"name":"Ada \u003cLovelace\u003e","email":"ada@example.com","username":"ada","imageUrl":"https://gravatar.com/avatar/b5fc85e55755f9e0d030a10ab4429b6b2944855f9a0d60077fe832becbc41d72?s=42\u0026d=retro","inviteLink":"","loginAttempts":2,"emailSent":true,"rootRole":2,"seenAt":"2026-03-06T01:02:03.004Z","createdAt":"2026-03-04T05:06:07.000Z","accountType":"User","permissions":[],"scimId":null,"organizationId":"night-shift","disabled":false,"emailVerified":true,"pendingApproval":false,"groups":["ops","web"]}`,
	"userBare":       `{"id":8,"isAPI":false,"name":null,"email":"b@example.com","username":null,"imageUrl":"https://gravatar.com/avatar/e8f39b3e1382367d6d41ab34dc270d4e7533f978c9e9a775dfe2185b2f96b96c?s=42\u0026d=retro","inviteLink":"","loginAttempts":0,"emailSent":false,"rootRole":3,"seenAt":null,"createdAt":"2026-03-05T05:07:08.123456789Z","accountType":"User","permissions":[],"scimId":null,"organizationId":"default","disabled":false,"emailVerified":false,"pendingApproval":false,"groups":[]}`,
	"linkWhole":      `{"secret":"0123456789abcdef0123456789abcdef","url":"http://example.test/new-user?invite=0123456789abcdef0123456789abcdef","name":"Team \u0026 co","description":"Hello \u003cthere\u003e","enabled":true,"expiresAt":"2026-03-05T05:07:08.123456789Z","createdAt":"2026-03-04T05:06:07.000Z","createdBy":"apikey:ci","users":[{"id":7,"isAPI":false,"name":"Ada \u003cLovelace\u003e","email":"ada@example.com","username":"ada","imageUrl":"https://gravatar.com/avatar/b5fc85e55755f9e0d030a10ab4429b6b2944855f9a0d60077fe832becbc41d72?s=42\u0026d=retro","inviteLink":"","loginAttempts":2,"emailSent":true,"rootRole":2,"seenAt":"2026-03-06T01:02:03.004Z","createdAt":"2026-03-04T05:06:07.000Z","accountType":"User","permissions":[],"scimId":null,"organizationId":"night-shift","disabled":false,"emailVerified":true,"pendingApproval":false,"groups":["ops","web"]},{"id":8,"isAPI":false,"name":null,"email":"b@example.com","username":null,"imageUrl":"https://gravatar.com/avatar/e8f39b3e1382367d6d41ab34dc270d4e7533f978c9e9a775dfe2185b2f96b96c?s=42\u0026d=retro","inviteLink":"","loginAttempts":0,"emailSent":false,"rootRole":3,"seenAt":null,"createdAt":"2026-03-05T05:07:08.123456789Z","accountType":"User","permissions":[],"scimId":null,"organizationId":"default","disabled":false,"emailVerified":false,"pendingApproval":false,"groups":[]}],"role":{"id":2,"type":"root","name":"Editor","description":"Editors may create and manage signup links and invitations, but not users, roles or API keys.","project":null},"maxUses":5,"uses":2,"allowedDomains":["example.com"],"groups":["ops"],"requireApproval":false}`,
	"linkBrief":      `{"secret":"0123456789abcdef0123456789abcdef","url":"http://example.test/new-user?invite=0123456789abcdef0123456789abcdef","name":"Team \u0026 co","description":"Hello \u003cthere\u003e","enabled":true,"expiresAt":"2026-03-05T05:07:08.123456789Z","createdAt":"2026-03-04T05:06:07.000Z","createdBy":"apikey:ci","users":[{"id":7,"name":"Ada \u003cLovelace\u003e","username":"ada","rootRole":2,"createdAt":"2026-03-04T05:06:07.000Z","pendingApproval":false},{"id":8,"name":null,"username":null,"rootRole":3,"createdAt":"2026-03-05T05:07:08.123456789Z","pendingApproval":false}],"role":{"id":2,"type":"root","name":"Editor","description":"Editors may create and manage signup links and invitations, but not users, roles or API keys.","project":null},"maxUses":5,"uses":2,"allowedDomains":["example.com"],"groups":["ops"],"requireApproval":false}`,
	"linkEmpty":      `{"secret":"ffff456789abcdef0123456789abcdef","url":"http://example.test/new-user?invite=ffff456789abcdef0123456789abcdef","name":"Empty","description":"","enabled":false,"expiresAt":"2026-03-04T05:06:07.000Z","createdAt":"2026-03-04T05:06:07.000Z","createdBy":null,"users":[],"role":{"id":3,"type":"root","name":"Viewer","description":"Viewers may sign in and read their own user.","project":null},"maxUses":null,"uses":0,"allowedDomains":[],"groups":[],"requireApproval":false}`,
	"linkEmptyBrief": `{"secret":"ffff456789abcdef0123456789abcdef","url":"http://example.test/new-user?invite=ffff456789abcdef0123456789abcdef","name":"Empty","description":"","enabled":false,"expiresAt":"2026-03-04T05:06:07.000Z","createdAt":"2026-03-04T05:06:07.000Z","createdBy":null,"users":[],"role":{"id":3,"type":"root","name":"Viewer","description":"Viewers may sign in and read their own user.","project":null},"maxUses":null,"uses":0,"allowedDomains":[],"groups":[],"requireApproval":false}`,
	"invitation":     `{"invitedEmail":"c@example.com","expirationTime":"2026-03-05T05:07:08.123456789Z","invitationUri":"http://example.test/invitations/abc","invitationToken":"abc","createTime":"2026-03-04T05:06:07.000Z","updateTime":"2026-03-05T05:07:08.123456789Z","creator":"apikey:ci","updater":"root","name":"userInvitations/5","inviter":"Root \u0026 Co","ttl":"5400.5s","disableInvitationEmail":true,"labels":[{"key":"k","value":"v\u003c"}],"roleId":"1","organizationId":"default","state":"PENDING","groups":["ops"]}`,
	"invitationBare": `{"invitedEmail":"d@example.com","expirationTime":"2026-03-04T05:06:07.000Z","invitationUri":"","invitationToken":"","createTime":"2026-03-04T05:06:07.000Z","updateTime":"2026-03-04T05:06:07.000Z","creator":"","updater":"","name":"userInvitations/6","inviter":"","ttl":"604800s","disableInvitationEmail":false,"labels":[],"roleId":"3","organizationId":"x","state":"EXPIRED","groups":[]}`,
	"key":            `{"id":9,"name":"ci","prefix":"invited_abcdef…","createdBy":"system:system","role":{"id":2,"type":"root","name":"Editor","description":"Editors may create and manage signup links and invitations, but not users, roles or API keys.","project":null},"createdAt":"2026-03-04T05:06:07.000Z","lastUsedAt":"2026-03-06T01:02:03.004Z"}`,
	"keyBare":        `{"id":10,"name":"k","prefix":"abcd…","createdBy":"root","role":{"id":1,"type":"root","name":"Admin","description":"Admins may do everything: manage users, roles, API keys, signup links and invitations.","project":null},"createdAt":"2026-03-05T05:07:08.123456789Z","lastUsedAt":null}`,
	"keyCreated":     `{"createdAt":"2026-03-05T05:07:08.123456789Z","createdBy":"root","id":10,"lastUsedAt":null,"name":"k","prefix":"abcd…","role":{"description":"Admins may do everything: manage users, roles, API keys, signup links and invitations.","id":1,"name":"Admin","project":null,"type":"root"},"secret":"invited_s3cret"}`,
	"event":          `{"id":11,"type":"user-created","createdBy":"root","objectType":"user","objectId":"7","data":{"email":"a\u0026b@example.com","rootRole":2},"createdAt":"2026-03-05T05:07:08.123456789Z"}`,
	"eventBare":      `{"id":12,"type":"organization-deleted","createdBy":"system","objectType":"organization","objectId":"x","data":null,"createdAt":"2026-03-04T05:06:07.000Z"}`,
	"group":          `{"id":"ops","name":"Ops \u0026 on-call","description":"","createdAt":"2026-03-04T05:06:07.000Z"}`,
	"app":            `{"id":"grafana","name":"Grafana \u0026 co","url":"https://grafana.example.com/?a=1\u0026b=2","kind":"proxy","groups":["ops"],"domains":["*.tools.example.com","grafana.example.com"],"createdAt":"2026-03-04T05:06:07.000Z"}`,
	"appBare":        `{"id":"wiki","name":"Wiki","url":"http://wiki.example.com","kind":"proxy","groups":[],"domains":[],"createdAt":"2026-03-05T05:07:08.123456789Z"}`,
	"org":            `{"id":"night-shift","name":"Night \u003cShift\u003e","createdAt":"2026-03-05T05:07:08.123456789Z"}`,
	"email":          `{"id":13,"kind":"invitation","to":"c@example.com","subject":"Hi \u0026 bye","state":"sent","attempts":2,"lastError":"boom","createdAt":"2026-03-04T05:06:07Z","nextAttemptAt":"2026-03-05T06:07:08.123456789+01:00","sentAt":"2026-03-05T06:07:08.123456789+01:00","invitationId":5}`,
	"emailBare":      `{"id":14,"kind":"welcome","to":"d@example.com","subject":"","state":"pending","attempts":0,"createdAt":"2026-03-05T06:07:08.123456789+01:00","nextAttemptAt":"2026-03-04T05:06:07Z","userId":8}`,
	"roles":          `{"roles":[{"id":1,"type":"root","name":"Admin","description":"Admins may do everything: manage users, roles, API keys, signup links and invitations.","project":null},{"id":2,"type":"root","name":"Editor","description":"Editors may create and manage signup links and invitations, but not users, roles or API keys.","project":null},{"id":3,"type":"root","name":"Viewer","description":"Viewers may sign in and read their own user.","project":null}]}`,
}

// TestResponseShapes builds every response type from fixed db values,
// writes it as a handler does, and compares it with its golden.
func TestResponseShapes(t *testing.T) {
	const base = "http://example.test"
	t0 := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	t1 := time.Date(2026, 3, 5, 6, 7, 8, 123456789, time.FixedZone("X", 3600))
	seen := time.Date(2026, 3, 6, 1, 2, 3, 4000000, time.UTC)
	full := db.User{ID: 7, Name: "Ada <Lovelace>", Email: "ada@example.com", Username: "ada", RootRole: db.RoleEditor,
		LoginAttempts: 2, EmailSent: true, SeenAt: &seen, CreatedAt: t0, LinkID: 3, OrganizationID: "night-shift",
		Groups: []string{"ops", "web"}, EmailVerified: true}
	bare := db.User{ID: 8, Email: "b@example.com", RootRole: db.RoleViewer, CreatedAt: t1, OrganizationID: "default"}
	tok := db.SignupToken{ID: 3, Secret: "0123456789abcdef0123456789abcdef",
		Name: "Team & co", Description: "Hello <there>", Enabled: true, Switched: true, ExpiresAt: t1, CreatedAt: t0, CreatedBy: "apikey:ci",
		Role: db.RoleEditor, MaxUses: 5, Uses: 2, AllowedDomains: []string{"example.com"}, Groups: []string{"ops"}, Users: []db.User{full, bare}}
	tok0 := db.SignupToken{ID: 4, Secret: "ffff456789abcdef0123456789abcdef",
		Name: "Empty", ExpiresAt: t0, CreatedAt: t0, Role: db.RoleViewer, Expired: true}
	inv := db.Invitation{ID: 5, Email: "c@example.com", Token: "abc", ExpiresAt: t1, CreatedAt: t0, UpdatedAt: t1,
		Creator: "apikey:ci", Updater: "root", Inviter: "Root & Co", TTL: 90*time.Minute + 500*time.Millisecond, DisableEmail: true,
		Labels: []db.Label{{Key: "k", Value: "v<"}}, Role: db.RoleAdmin, OrgID: "default", State: db.InvitationPending, Groups: []string{"ops"}}
	inv0 := db.Invitation{ID: 6, Email: "d@example.com", ExpiresAt: t0, CreatedAt: t0, UpdatedAt: t0, TTL: 7 * 24 * time.Hour,
		Role: db.RoleViewer, OrgID: "x", State: db.InvitationExpired}
	key := db.APIKey{ID: 9, Name: "ci", Role: db.RoleEditor, Prefix: "invited_abcdef…", CreatedAt: t0, CreatedBy: "system:system", LastUsedAt: &seen}
	key0 := db.APIKey{ID: 10, Name: "k", Role: db.RoleAdmin, Prefix: "abcd…", CreatedAt: t1, CreatedBy: "root"}
	ev := db.Event{ID: 11, Type: db.EventUserCreated, CreatedAt: t1, CreatedBy: "root", ObjectType: "user", ObjectID: "7",
		Data: map[string]any{"email": "a&b@example.com", "rootRole": 2.0}}
	ev0 := db.Event{ID: 12, Type: db.EventOrgDeleted, CreatedAt: t0, CreatedBy: "system", ObjectType: "organization", ObjectID: "x"}
	org := db.Organization{ID: "night-shift", Name: "Night <Shift>", CreatedAt: t1}
	sent := t1
	em := db.OutboxEmail{ID: 13, Kind: db.EmailInvitation, To: "c@example.com", Subject: "stored", Text: "t", HTML: "h", State: db.EmailSent,
		Attempts: 2, LastError: "boom", CreatedAt: t0, NextAttemptAt: t1, SentAt: &sent, InvitationID: 5, Inviter: "x", Token: "secret"}
	em0 := db.OutboxEmail{ID: 14, Kind: db.EmailWelcome, To: "d@example.com", State: db.EmailPending, CreatedAt: t1, NextAttemptAt: t0, UserID: 8}
	roles := make([]roleResponse, len(db.Roles))
	for i, r := range db.Roles {
		roles[i] = newRoleResponse(r)
	}

	for name, v := range map[string]any{
		"userFull":       newUserResponse(full),
		"userBare":       newUserResponse(bare),
		"linkWhole":      newLinkResponse(base, tok, true),
		"linkBrief":      newLinkResponse(base, tok, false),
		"linkEmpty":      newLinkResponse(base+"/", tok0, true),
		"linkEmptyBrief": newLinkResponse(base, tok0, false),
		"invitation":     newInvitationResponse(base, inv),
		"invitationBare": newInvitationResponse(base, inv0),
		"key":            newAPIKeyResponse(key),
		"keyBare":        newAPIKeyResponse(key0),
		"keyCreated":     createAPIKeyResponse{newAPIKeyResponse(key0), "invited_s3cret"},
		"event":          newEventResponses([]db.Event{ev})[0],
		"eventBare":      newEventResponses([]db.Event{ev0})[0],
		"org":            newOrganizationResponse(org),
		"app": newAppResponse(db.App{ID: "grafana", Name: "Grafana & co", URL: "https://grafana.example.com/?a=1&b=2", Kind: db.AppKindProxy,
			Groups: []string{"ops"}, Domains: []string{"*.tools.example.com", "grafana.example.com"}, CreatedAt: t0}),
		"appBare":   newAppResponse(db.App{ID: "wiki", Name: "Wiki", URL: "http://wiki.example.com", Kind: db.AppKindProxy, CreatedAt: t1}),
		"group":     newGroupResponse(db.Group{ID: "ops", Name: "Ops & on-call", CreatedAt: t0}),
		"email":     newEmailResponse(em, "Hi & bye"),
		"emailBare": newEmailResponse(em0, ""),
		"roles":     listRolesResponse{Roles: roles},
	} {
		t.Run(name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			writeJSON(rec, 200, v)
			raw := rec.Body.String()
			var got, want any
			if err := json.Unmarshal([]byte(raw), &got); err != nil {
				t.Fatalf("answer %s: %v", raw, err)
			}
			if err := json.Unmarshal([]byte(shapeGoldens[name]), &want); err != nil {
				t.Fatalf("golden: %v", err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("answer\n %s\nwant\n %s", raw, shapeGoldens[name])
			}
			// Answers are not HTML-escaped: URLs and names read as
			// they are.
			if strings.Contains(raw, `\u0026`) || strings.Contains(raw, `\u003c`) {
				t.Errorf("answer escapes & or <: %s", raw)
			}
		})
	}
	if len(shapeGoldens) != 20 {
		t.Errorf("%d goldens, want one per case", len(shapeGoldens))
	}
}

// TestLinksBuiltOnServerBaseURL: a link's url and an invitation's URI are
// built on the server's base URL (server.base_url), by package weburl, as
// the TUI and the emails build them; the store knows no URL.
func TestLinksBuiltOnServerBaseURL(t *testing.T) {
	ts := mustServerWith(t, func(o *Options) { o.BaseURL = "https://join.example/team/" })
	resp, link := ts.call(t, "POST", "/api/admin/invite-link/tokens", "Bearer "+testKey,
		`{"name":"crew","expiresAt":"2099-01-01T00:00:00Z"}`)
	if resp.StatusCode != 201 {
		t.Fatalf("create link: %d %v", resp.StatusCode, link)
	}
	secret, _ := link["secret"].(string)
	if want := weburl.SignupLink("https://join.example/team", secret); link["url"] != want || want != "https://join.example/team/new-user?invite="+secret {
		t.Errorf("link url %v, want %s", link["url"], want)
	}
	resp, inv := ts.call(t, "POST", "/v1/userInvitations", "Bearer "+testKey,
		`{"invitedEmail":"grace@example.com","inviter":"Ada"}`)
	if resp.StatusCode != 200 {
		t.Fatalf("create invitation: %d %v", resp.StatusCode, inv)
	}
	token, _ := inv["invitationToken"].(string)
	if token == "" || inv["invitationUri"] != "https://join.example/team/invitations/"+token {
		t.Errorf("invitationUri %v for token %q", inv["invitationUri"], token)
	}
	// The addresses lead to the pages they name (weburl and the routes
	// agree).
	for _, path := range []string{
		strings.TrimPrefix(link["url"].(string), "https://join.example/team"),
		strings.TrimPrefix(inv["invitationUri"].(string), "https://join.example/team"),
	} {
		if resp, page := ts.callAs(t, "", "GET", path, ""); resp.StatusCode != 200 || !strings.Contains(page, "<form") {
			t.Errorf("GET %s: %d, want the page with its form", path, resp.StatusCode)
		}
	}
	// Read back, the invitation has neither: the store keeps a hash only.
	_, got := ts.call(t, "GET", "/v1/"+inv["name"].(string), "Bearer "+testKey, "")
	if got["invitationUri"] != "" || got["invitationToken"] != "" {
		t.Errorf("read back: uri %v, token %v; want both empty", got["invitationUri"], got["invitationToken"])
	}
}
