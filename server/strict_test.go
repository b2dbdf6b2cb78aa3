package server

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"invited/db"
)

// strictCase is one request that must be refused with a 400 naming path.
type strictCase struct {
	name, method, path, body string
	// field is the details path the answer must name; "" for a problem
	// of the whole body, which names no field.
	field string
	// msg is a part of the message.
	msg string
	// doit: DoiT's endpoint, whose errors are {"error": "..."} naming the
	// field in the sentence.
	doit bool
}

// strictCases lists, for every endpoint that takes a JSON body, a value
// of the wrong JSON type for each of its fields, and the other ways a
// lenient decoder lets a body through (null, names in another case, a key
// twice, a bad item in a list), plus every list's query parameters. The
// paths hold the secrets and ids of records made by the caller.
func strictCases(linkSecret, invitationID, invitationToken, userID string) []strictCase {
	var cases []strictCase
	add := func(endpoint, method, path string, doit bool, rows ...[3]string) {
		for _, r := range rows {
			cases = append(cases, strictCase{name: endpoint + ": " + r[0], method: method, path: path, body: r[1], field: r[0], msg: r[2], doit: doit})
		}
	}
	signup := "/invite/" + linkSecret + "/signup"
	add("signup", "POST", signup, false,
		[3]string{"email", `{"email": 42, "name": "Ada", "password": "x"}`, "must be a string, not a number"},
		[3]string{"name", `{"email": "ada@example.com", "name": ["Ada"], "password": "x"}`, "must be a string, not a list"},
		[3]string{"username", `{"email": "ada@example.com", "name": "Ada", "username": 7, "password": "x"}`, "must be a string"},
		[3]string{"password", `{"email": "ada@example.com", "name": "Ada", "password": true}`, "must be a string, not true"},
		[3]string{"email", `{"email": null, "name": "Ada", "password": "x"}`, "must be a string, not null"},
		[3]string{"Email", `{"Email": "ada@example.com", "name": "Ada", "password": "x"}`, "case-sensitive"},
		[3]string{"email", `{"email": "ada@example.com", "name": "Ada", "password": "x", "email": "eve@example.com"}`, "twice"},
	)
	// A stranger's name is echoed cut short.
	cases = append(cases, strictCase{name: "signup: long unknown name", method: "POST", path: signup,
		body: `{"` + strings.Repeat("k", 5000) + `": 1}`, field: strings.Repeat("k", 64) + "…", msg: "not a field"})
	tokens := "/api/admin/invite-link/tokens"
	add("create link", "POST", tokens, false,
		[3]string{"name", `{"name": 1, "expiresAt": "2099-01-01T00:00:00Z"}`, "must be a string"},
		[3]string{"name", `{"name": null, "expiresAt": "2099-01-01T00:00:00Z"}`, "not null"},
		[3]string{"description", `{"name": "n", "description": {"text": "hi"}, "expiresAt": "2099-01-01T00:00:00Z"}`, "must be a string, not an object"},
		[3]string{"expiresAt", `{"name": "n", "expiresAt": 4102444800}`, "must be a string"},
		[3]string{"role", `{"name": "n", "expiresAt": "2099-01-01T00:00:00Z", "role": true}`, "root role"},
		[3]string{"maxUses", `{"name": "n", "expiresAt": "2099-01-01T00:00:00Z", "maxUses": "5"}`, "must be a whole number, not a string"},
		[3]string{"maxUses", `{"name": "n", "expiresAt": "2099-01-01T00:00:00Z", "maxUses": 99999999999999999999}`, "too large"},
		[3]string{"maxUses", `{"name": "n", "expiresAt": "2099-01-01T00:00:00Z", "maxUses": 1.5}`, "must be a whole number, not 1.5"},
		[3]string{"maxUses", `{"name": "n", "expiresAt": "2099-01-01T00:00:00Z", "maxUses": 1e30}`, "whole number"},
		[3]string{"allowedDomains", `{"name": "n", "expiresAt": "2099-01-01T00:00:00Z", "allowedDomains": "example.com"}`, "must be a list, not a string"},
		[3]string{"allowedDomains[1]", `{"name": "n", "expiresAt": "2099-01-01T00:00:00Z", "allowedDomains": ["example.com", 7]}`, "must be a string"},
		[3]string{"allowedDomains[0]", `{"name": "n", "expiresAt": "2099-01-01T00:00:00Z", "allowedDomains": [null]}`, "not null"},
		[3]string{"groups", `{"name": "n", "expiresAt": "2099-01-01T00:00:00Z", "groups": "ops"}`, "must be a list, not a string"},
		[3]string{"groups[1]", `{"name": "n", "expiresAt": "2099-01-01T00:00:00Z", "groups": ["ops", 7]}`, "must be a string"},
	)
	add("update link", "PUT", tokens+"/"+linkSecret, false,
		[3]string{"enabled", `{"enabled": "false"}`, "must be true or false, not a string"},
		[3]string{"enabled", `{"enabled": 0}`, "must be true or false, not a number"},
		[3]string{"expiresAt", `{"expiresAt": true}`, "must be a string, not true"},
		[3]string{"description", `{"description": 3}`, "must be a string"},
		[3]string{"Enabled", `{"Enabled": false}`, "case-sensitive"},
		[3]string{"groups", `{"groups": {"id": "ops"}}`, "must be a list, not an object"},
		[3]string{"groups[0]", `{"groups": [null]}`, "not null"},
	)
	invitations := "/v1/userInvitations"
	add("create invitation", "POST", invitations, false,
		[3]string{"invitedEmail", `{"invitedEmail": ["grace@example.com"], "inviter": "T"}`, "must be a string"},
		[3]string{"invitedEmail", `{"invitedEmail": null, "inviter": "T"}`, "not null"},
		[3]string{"ttl", `{"invitedEmail": "grace@example.com", "inviter": "T", "ttl": 3600}`, "must be a string, not a number"},
		[3]string{"expirationTime", `{"invitedEmail": "grace@example.com", "inviter": "T", "expirationTime": {}}`, "must be a string, not an object"},
		[3]string{"inviter", `{"invitedEmail": "grace@example.com", "inviter": false}`, "must be a string"},
		[3]string{"disableInvitationEmail", `{"invitedEmail": "grace@example.com", "inviter": "T", "disableInvitationEmail": "true"}`, "must be true or false"},
		[3]string{"disableInvitationEmail", `{"invitedEmail": "grace@example.com", "inviter": "T", "disableInvitationEmail": null}`, "not null"},
		[3]string{"labels", `{"invitedEmail": "grace@example.com", "inviter": "T", "labels": {"key": "team"}}`, "must be a list, not an object"},
		[3]string{"labels[0]", `{"invitedEmail": "grace@example.com", "inviter": "T", "labels": ["team"]}`, "must be an object, not a string"},
		[3]string{"labels[1].key", `{"invitedEmail": "grace@example.com", "inviter": "T", "labels": [{"key": "a", "value": "b"}, {"key": 1, "value": "b"}]}`, "must be a string"},
		[3]string{"labels[0].value", `{"invitedEmail": "grace@example.com", "inviter": "T", "labels": [{"key": "a", "value": null}]}`, "not null"},
		[3]string{"labels[0].Key", `{"invitedEmail": "grace@example.com", "inviter": "T", "labels": [{"Key": "a", "value": "b"}]}`, "case-sensitive"},
		[3]string{"roleId", `{"invitedEmail": "grace@example.com", "inviter": "T", "roleId": [3]}`, "root role"},
		[3]string{"organizationId", `{"invitedEmail": "grace@example.com", "inviter": "T", "organizationId": 5}`, "must be a string"},
		[3]string{"groups", `{"invitedEmail": "grace@example.com", "inviter": "T", "groups": true}`, "must be a list, not true"},
		[3]string{"groups[0]", `{"invitedEmail": "grace@example.com", "inviter": "T", "groups": [["ops"]]}`, "must be a string, not a list"},
	)
	add("DoiT invite", "POST", "/api/admin/users/invite", true,
		[3]string{"email", `{"email": 42}`, "must be a string, not a number"},
		[3]string{"email", `{"email": null}`, "not null"},
		[3]string{"roleId", `{"email": "grace@example.com", "roleId": false}`, "root role"},
		[3]string{"organizationId", `{"email": "grace@example.com", "organizationId": ["default"]}`, "must be a string, not a list"},
		[3]string{"invitedEmail", `{"invitedEmail": "grace@example.com"}`, "not a field"},
		[3]string{"groups", `{"email": "grace@example.com", "groups": "ops"}`, "must be a list, not a string"},
	)
	add("resend", "POST", invitations+"/"+invitationID+"/resend", false,
		[3]string{"inviter", `{"inviter": "T"}`, "not a field"},
	)
	add("accept", "POST", "/invitations/"+invitationToken+"/accept", false,
		[3]string{"name", `{"name": 1, "password": "x"}`, "must be a string"},
		[3]string{"username", `{"name": "Grace", "username": {}, "password": "x"}`, "must be a string"},
		[3]string{"password", `{"name": "Grace", "password": 12345678}`, "must be a string"},
		[3]string{"password", `{"name": "Grace", "password": null}`, "not null"},
	)
	add("login", "POST", "/auth/simple/login", false,
		[3]string{"username", `{"username": 1, "password": "x"}`, "must be a string"},
		[3]string{"password", `{"username": "ada", "password": ["x"]}`, "must be a string"},
		[3]string{"password", `{"username": "ada", "password": null}`, "not null"},
	)
	add("update user", "PUT", "/api/admin/user-admin/"+userID, false,
		[3]string{"name", `{"name": 5}`, "must be a string"},
		[3]string{"email", `{"email": true}`, "must be a string"},
		[3]string{"rootRole", `{"rootRole": {"id": 2}}`, "root role"},
		[3]string{"rootRole", `{"rootRole": 2.5}`, "root role"},
		[3]string{"groups", `{"groups": "ops"}`, "must be a list, not a string"},
		[3]string{"groups[0]", `{"groups": [1]}`, "must be a string, not a number"},
	)
	add("create API key", "POST", "/api/admin/api-tokens", false,
		[3]string{"name", `{"name": 5, "role": "editor"}`, "must be a string"},
		[3]string{"name", `{"name": null, "role": "editor"}`, "not null"},
		[3]string{"role", `{"name": "k", "role": ["editor"]}`, "root role"},
	)
	add("create organization", "POST", "/api/admin/organizations", false,
		[3]string{"id", `{"id": 1, "name": "Org"}`, "must be a string"},
		[3]string{"name", `{"name": false}`, "must be a string"},
	)
	add("create group", "POST", "/api/admin/groups", false,
		[3]string{"id", `{"id": 1, "name": "Ops"}`, "must be a string"},
		[3]string{"name", `{"name": ["Ops"]}`, "must be a string, not a list"},
		[3]string{"description", `{"name": "Ops", "description": 5}`, "must be a string"},
		[3]string{"Name", `{"Name": "Ops"}`, "case-sensitive"},
	)
	add("update group", "PUT", "/api/admin/groups/ops", false,
		[3]string{"name", `{"name": 5}`, "must be a string"},
		[3]string{"description", `{"description": false}`, "must be a string"},
	)
	add("create app", "POST", "/api/admin/apps", false,
		[3]string{"id", `{"id": 1, "name": "A", "url": "https://a.example.com", "domains": ["a.example.com"]}`, "must be a string"},
		[3]string{"url", `{"name": "A", "url": {"host": "a.example.com"}, "domains": ["a.example.com"]}`, "must be a string, not an object"},
		[3]string{"domains", `{"name": "A", "url": "https://a.example.com", "domains": "a.example.com"}`, "must be a list, not a string"},
		[3]string{"domains[1]", `{"name": "A", "url": "https://a.example.com", "domains": ["a.example.com", 8080]}`, "must be a string, not a number"},
		[3]string{"groups[0]", `{"name": "A", "url": "https://a.example.com", "domains": ["a.example.com"], "groups": [null]}`, "not null"},
		[3]string{"kind", `{"name": "A", "url": "https://a.example.com", "domains": ["a.example.com"], "kind": 1}`, "must be a string"},
		[3]string{"redirectUris", `{"name": "A", "url": "https://a.example.com", "kind": "oidc", "redirectUris": "https://a.example.com/cb"}`, "must be a list, not a string"},
		[3]string{"redirectUris[0]", `{"name": "A", "url": "https://a.example.com", "kind": "oidc", "redirectUris": [1]}`, "must be a string, not a number"},
		[3]string{"public", `{"name": "A", "url": "https://a.example.com", "kind": "oidc", "redirectUris": ["https://a.example.com/cb"], "public": "yes"}`, "must be true or false"},
		[3]string{"clientSecret", `{"name": "A", "url": "https://a.example.com", "kind": "oidc", "redirectUris": ["https://a.example.com/cb"], "clientSecret": "mine"}`, "not a field"},
	)
	add("update app", "PUT", "/api/admin/apps/strict", false,
		[3]string{"name", `{"name": 5}`, "must be a string"},
		[3]string{"groups", `{"groups": "ops"}`, "must be a list, not a string"},
		[3]string{"domains[0]", `{"domains": [true]}`, "must be a string, not true"},
		[3]string{"id", `{"id": "other"}`, "not a field"},
		[3]string{"redirectUris", `{"redirectUris": {}}`, "must be a list, not an object"},
		[3]string{"clientId", `{"clientId": "mine"}`, "not a field"},
	)
	// The whole body of the wrong type names no field.
	for _, ep := range []struct{ name, method, path string }{
		{"signup", "POST", signup}, {"update link", "PUT", tokens + "/" + linkSecret},
		{"resend", "POST", invitations + "/" + invitationID + "/resend"}, {"login", "POST", "/auth/simple/login"},
	} {
		cases = append(cases,
			strictCase{name: ep.name + ": null body", method: ep.method, path: ep.path, body: `null`, msg: "must be a JSON object, not null"},
			strictCase{name: ep.name + ": list body", method: ep.method, path: ep.path, body: `[]`, msg: "must be a JSON object, not a list"})
	}

	// Query parameters: each bad value is a 400 naming the parameter.
	q := func(name, path, field, msg string) {
		cases = append(cases, strictCase{name: "query " + name, method: "GET", path: path, field: field, msg: msg})
	}
	q("state cut short", invitations+"?state=PEND", "state", "PENDING, ACCEPTED, EXPIRED, REVOKED")
	q("state unknown", invitations+"?state=OPEN", "state", "must be one of")
	q("state two at once", invitations+"?state=PENDING%20REVOKED", "state", "must be one of")
	q("state empty", invitations+"?state=", "state", "empty")
	q("state twice", invitations+"?state=PENDING&state=REVOKED", "state", "give it once")
	q("state misspelt", invitations+"?State=PENDING", "State", "not a parameter")
	q("pageSize not a number", invitations+"?pageSize=ten", "pageSize", "whole number")
	q("pageSize signed", invitations+"?pageSize=%2B5", "pageSize", "whole number")
	q("pageSize 0", invitations+"?pageSize=0", "pageSize", "from 1 to 1000")
	q("pageSize empty", invitations+"?pageSize=", "pageSize", "empty")
	q("pageToken forged", invitations+"?pageToken=abc", "pageToken", "nextPageToken")
	for _, list := range []string{"/api/admin/user-admin", "/api/admin/events", "/api/admin/emails"} {
		q(list+" limit 0", list+"?limit=0", "limit", "from 1 to 1000")
		q(list+" limit huge", list+"?limit=99999999999999999999", "limit", "from 1 to 1000")
		q(list+" limit empty", list+"?limit=", "limit", "empty")
		q(list+" offset negative", list+"?offset=-1", "offset", "0 or more")
		q(list+" offset twice", list+"?offset=1&offset=2", "offset", "give it once")
		q(list+" unknown", list+"?page=2", "page", "not a parameter")
	}
	q("events type unknown", "/api/admin/events?type=user-exploded", "type", "not an event type")
	q("events type empty", "/api/admin/events?type=", "type", "empty")
	q("users type", "/api/admin/user-admin?type=user-created", "type", "not a parameter")
	return cases
}

// Every endpoint that takes a body refuses a value of the wrong JSON type
// with a 400 naming the field's JSON path, and every list refuses a bad
// query parameter naming it.
func TestStrictInputNamesTheField(t *testing.T) {
	ts := mustServer(t)
	link := ts.mustLink(t, db.NewSignupToken{})
	inv := ts.mustInvitation(t)
	user := ts.mustUser(t, db.RoleViewer)
	before, err := ts.store.ListSignupTokens(db.SystemActor)
	if err != nil {
		t.Fatal(err)
	}

	cases := strictCases(link.Secret, strconv.FormatUint(inv.ID, 10), inv.Token, strconv.FormatUint(user.ID, 10))
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, body := ts.call(t, c.method, c.path, "Bearer "+testKey, c.body)
			if resp.StatusCode != 400 {
				t.Fatalf("status %d, want 400: %v", resp.StatusCode, body)
			}
			if c.doit {
				msg, _ := body["error"].(string)
				if len(body) != 1 || !strings.HasPrefix(msg, c.field+": ") || !strings.Contains(msg, c.msg) {
					t.Fatalf("DoiT answer %v, want {\"error\": \"%s: …%s…\"}", body, c.field, c.msg)
				}
				return
			}
			if body["name"] != "ValidationError" || !strings.Contains(fmt.Sprint(body["message"]), c.msg) {
				t.Fatalf("answer %v, want a ValidationError saying %q", body, c.msg)
			}
			details, _ := body["details"].([]any)
			if c.field == "" {
				if len(details) != 0 {
					t.Fatalf("details %v, want none for the whole body", details)
				}
				return
			}
			if len(details) != 1 {
				t.Fatalf("details %v, want one naming %s", details, c.field)
			}
			if d, _ := details[0].(map[string]any); d["path"] != c.field {
				t.Fatalf("details path %v, want %s (answer %v)", d["path"], c.field, body)
			}
		})
	}

	// Nothing of it changed anything.
	after, err := ts.store.ListSignupTokens(db.SystemActor)
	if err != nil || len(after) != len(before) || after[0].Switched != before[0].Switched || !after[0].ExpiresAt.Equal(before[0].ExpiresAt) {
		t.Errorf("links changed: %+v, %v", after, err)
	}
	if got, err := ts.store.GetInvitation(db.SystemActor, inv.ID); err != nil || got.State != db.InvitationPending || !got.ExpiresAt.Equal(inv.ExpiresAt) {
		t.Errorf("invitation changed: %+v, %v", got, err)
	}
}

// The state filter takes the four states whole, in any case, and the
// bodies the table breaks are fine when right.
func TestStrictInputAcceptsGoodValues(t *testing.T) {
	ts := mustServer(t)
	inv := ts.mustInvitation(t)
	for _, path := range []string{
		"/v1/userInvitations?state=PENDING", "/v1/userInvitations?state=pending", "/v1/userInvitations?state=Revoked",
		"/v1/userInvitations?pageToken=&pageSize=007", "/api/admin/events?type=invitation-created&limit=1&offset=0",
		"/api/admin/user-admin?limit=1000", "/api/admin/emails?offset=0",
	} {
		resp, body := ts.call(t, "GET", path, "Bearer "+testKey, "")
		if resp.StatusCode != 200 {
			t.Errorf("%s: %d %v", path, resp.StatusCode, body)
		}
	}
	_, body := ts.call(t, "GET", "/v1/userInvitations?state=pending", "Bearer "+testKey, "")
	if list, _ := body["userInvitations"].([]any); len(list) != 1 {
		t.Errorf("pending invitations %v, want the one", body)
	}
	// resend takes no body, or an empty object.
	for _, b := range []string{"", "{}", " { } "} {
		resp, body := ts.call(t, "POST", "/v1/userInvitations/"+strconv.FormatUint(inv.ID, 10)+"/resend", "Bearer "+testKey, b)
		if resp.StatusCode != 200 {
			t.Errorf("resend with body %q: %d %v", b, resp.StatusCode, body)
		}
	}
	// Optional fields may be null where the API document says nullable.
	resp, body := ts.call(t, "POST", "/api/admin/invite-link/tokens", "Bearer "+testKey,
		`{"name": "n", "expiresAt": "2099-01-01T00:00:00Z", "role": null, "maxUses": null, "allowedDomains": null}`)
	if resp.StatusCode != 201 {
		t.Errorf("create with nulls: %d %v", resp.StatusCode, body)
	}
}
