package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestE2EStrictInput sends the real binary values of the wrong JSON type,
// on every kind of endpoint that takes a body, and bad list filters: each
// is a 400 naming the field (its JSON path) or the query parameter, and
// changes nothing. It is a table of attack inputs: the next hole found is
// one more row.
func TestE2EStrictInput(t *testing.T) {
	t.Parallel()
	p := startServer(t, t.TempDir())
	link := createLink(t, p, map[string]any{"name": "strict", "expiresAt": e2eFuture})
	secret := link["secret"].(string)
	inv := createInvitation(t, p, map[string]any{"invitedEmail": "strict@example.com", "inviter": "E2E"})
	invID := invitationID(t, inv)
	invToken, _ := inv["invitationToken"].(string)

	type row struct {
		name, method, path, auth, body string
		field                          string // the details path, or the parameter
		msg                            string
		doit                           bool // DoiT's {"error": "field: …"}
	}
	admin := e2eAdminKey
	rows := []row{
		// Bodies: a wrong JSON type, null where a value is required, a
		// name in another case, a key twice, a bad item of a list.
		{"signup: email a number", "POST", signupURL(p, secret), "", `{"email": 42, "name": "Ada", "password": "x"}`, "email", "must be a string", false},
		{"signup: email null", "POST", signupURL(p, secret), "", `{"email": null, "name": "Ada", "password": "x"}`, "email", "not null", false},
		{"signup: email twice", "POST", signupURL(p, secret), "", `{"email": "ada@example.com", "email": "eve@example.com", "name": "Ada", "password": "x"}`, "email", "twice", false},
		{"create link: maxUses a string", "POST", p.URL + tokensPath, admin, `{"name": "n", "expiresAt": "` + e2eFuture + `", "maxUses": "5"}`, "maxUses", "whole number", false},
		{"create link: description an object", "POST", p.URL + tokensPath, admin, `{"name": "n", "expiresAt": "` + e2eFuture + `", "description": {}}`, "description", "must be a string", false},
		{"create link: a domain a number", "POST", p.URL + tokensPath, admin, `{"name": "n", "expiresAt": "` + e2eFuture + `", "allowedDomains": ["example.com", 7]}`, "allowedDomains[1]", "must be a string", false},
		{"update link: enabled a string", "PUT", p.URL + tokensPath + "/" + secret, admin, `{"enabled": "false"}`, "enabled", "true or false", false},
		{"invite: labels[0].key a number", "POST", p.URL + invitationsPath, admin, `{"invitedEmail": "x@example.com", "inviter": "E2E", "labels": [{"key": 1, "value": "v"}]}`, "labels[0].key", "must be a string", false},
		{"invite: disableInvitationEmail null", "POST", p.URL + invitationsPath, admin, `{"invitedEmail": "x@example.com", "inviter": "E2E", "disableInvitationEmail": null}`, "disableInvitationEmail", "not null", false},
		{"invite: ttl a number", "POST", p.URL + invitationsPath, admin, `{"invitedEmail": "x@example.com", "inviter": "E2E", "ttl": 3600}`, "ttl", "must be a string", false},
		{"DoiT: email a number", "POST", p.URL + "/api/admin/users/invite", admin, `{"email": 42}`, "email", "must be a string", true},
		{"DoiT: organizationId a list", "POST", p.URL + "/api/admin/users/invite", admin, `{"email": "x@example.com", "organizationId": ["default"]}`, "organizationId", "must be a string", true},
		{"resend: a field", "POST", p.URL + invitationsPath + "/" + invID + "/resend", admin, `{"inviter": "E2E"}`, "inviter", "not a field", false},
		{"accept: password a number", "POST", p.URL + "/invitations/" + invToken + "/accept", "", `{"name": "Grace", "password": 12345678}`, "password", "must be a string", false},
		{"login: password null", "POST", p.URL + "/auth/simple/login", "", `{"username": "ada", "password": null}`, "password", "not null", false},
		{"update user: rootRole an object", "PUT", p.URL + "/api/admin/user-admin/1", admin, `{"rootRole": {"id": 1}}`, "rootRole", "root role", false},
		{"API key: name null", "POST", p.URL + "/api/admin/api-tokens", admin, `{"name": null, "role": "editor"}`, "name", "not null", false},
		{"organization: id a number", "POST", p.URL + "/api/admin/organizations", admin, `{"id": 1, "name": "Org"}`, "id", "must be a string", false},

		// The invitation state filter: the four states whole, nothing else.
		{"state cut short", "GET", p.URL + invitationsPath + "?state=PEND", admin, "", "state", "PENDING, ACCEPTED, EXPIRED, REVOKED", false},
		{"state unknown", "GET", p.URL + invitationsPath + "?state=OPEN", admin, "", "state", "must be one of", false},
		{"state empty", "GET", p.URL + invitationsPath + "?state=", admin, "", "state", "empty", false},
		{"state twice", "GET", p.URL + invitationsPath + "?state=PENDING&state=REVOKED", admin, "", "state", "once", false},
		{"state misspelt", "GET", p.URL + invitationsPath + "?stat=PENDING", admin, "", "stat", "not a parameter", false},
		// The other lists' parameters.
		{"pageSize signed", "GET", p.URL + invitationsPath + "?pageSize=%2B5", admin, "", "pageSize", "whole number", false},
		{"limit empty", "GET", p.URL + "/api/admin/user-admin?limit=", admin, "", "limit", "empty", false},
		{"offset negative", "GET", p.URL + "/api/admin/emails?offset=-1", admin, "", "offset", "0 or more", false},
		{"event type unknown", "GET", p.URL + "/api/admin/events?type=nope", admin, "", "type", "event type", false},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			var body any
			if r.body != "" {
				body = r.body
			}
			status, _, resp := do(t, r.method, r.path, r.auth, body)
			if r.doit {
				var m map[string]string
				if err := json.Unmarshal(resp, &m); status != 400 || err != nil || len(m) != 1 ||
					!strings.HasPrefix(m["error"], r.field+": ") || !strings.Contains(m["error"], r.msg) {
					t.Fatalf("status %d, body %s; want 400 {\"error\": \"%s: …%s…\"}", status, resp, r.field, r.msg)
				}
				return
			}
			e := wantError(t, r.name, status, resp, 400, "ValidationError", r.msg)
			wantDetail(t, r.name, e, r.field)
		})
	}

	// Nothing changed: the link is as made, the invitation still pending
	// with its token, and no other invitation exists.
	after := getLink(t, p, secret)
	if after["enabled"] != true || after["uses"] != 0.0 {
		t.Errorf("link after the table: %v", after)
	}
	status, _, body := do(t, "GET", p.URL+invitationsPath+"?state=pending", admin, nil)
	wantStatus(t, "pending invitations, state in lower case", status, 200, body)
	list, _ := object(t, "pending invitations", body)["userInvitations"].([]any)
	if len(list) != 1 {
		t.Errorf("pending invitations after the table: %s", body)
	}
	status, _, body = do(t, "GET", p.URL+"/invitations/"+invToken, "", nil)
	if status != 200 {
		t.Errorf("the invitation's page after the table: %d (was it resent?)\n%s", status, body)
	}
	for _, state := range []string{"PENDING", "ACCEPTED", "EXPIRED", "REVOKED", "Revoked"} {
		status, _, body = do(t, "GET", p.URL+invitationsPath+"?state="+state, admin, nil)
		wantStatus(t, "state "+state, status, 200, body)
	}
}
