package main

// End-to-end tests of email invitations (DESIGN §2.2 and §3; seeds 003 and
// 004): the real binary, sending through a real SMTP server that the test
// runs on loopback. They reuse the harness of e2e_test.go.

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"invited/internal/testutil"
	"invited/server/smtptest"
)

const (
	invitationsPath = "/v1/userInvitations"
	// inviteBaseURL is the server.base_url of these tests: links in emails
	// and answers start with it, and the tests map them onto the real
	// listening address.
	inviteBaseURL  = "http://team.example.test"
	inviteSiteName = "Night Desk"
	inviteFromAddr = "invited@example.test"
)

var (
	invitationFields = []string{"invitedEmail", "expirationTime", "invitationUri", "invitationToken", "createTime",
		"updateTime", "creator", "updater", "name", "inviter", "ttl", "disableInvitationEmail", "labels", // seed 004
		"roleId", "organizationId", "state", "groups"} // ours
	invitationNameRE  = regexp.MustCompile(`^userInvitations/([1-9][0-9]*)$`)
	invitationTokenRE = regexp.MustCompile(`^[0-9a-f]{64}$`)
	// invitationLinkRE finds an invitation link in an email body.
	invitationLinkRE = regexp.MustCompile(regexp.QuoteMeta(inviteBaseURL) + `/invitations/[0-9a-f]{64}`)
)

// ---------------------------------------------------------------------------
// Mail settings for a server under test; the SMTP server that receives
// its mail is smtptest.Server.

// mailEnv points a server at an SMTP server on a loopback port: no TLS,
// no authentication, retries after 200ms.
func mailEnv(port int, extra ...string) []string {
	return append([]string{
		"INVITED_MAIL_DRIVER=smtp",
		"INVITED_MAIL_HOST=127.0.0.1",
		"INVITED_MAIL_PORT=" + strconv.Itoa(port),
		"INVITED_MAIL_FROM=Night Desk <" + inviteFromAddr + ">",
		"INVITED_MAIL_TLS=none",
		"INVITED_MAIL_RETRY_DELAY=200ms",
		"INVITED_SERVER_BASE_URL=" + inviteBaseURL,
		"INVITED_SITE_NAME=" + inviteSiteName,
	}, extra...)
}

// freeLoopbackPort returns a loopback port where nothing listens (now).
func freeLoopbackPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

// ---------------------------------------------------------------------------
// Invitation helpers.

// createInvitation posts an invitation as the admin and wants 200.
func createInvitation(t *testing.T, p *proc, body map[string]any) map[string]any {
	t.Helper()
	status, _, resp := do(t, "POST", p.URL+invitationsPath, e2eAdminKey, body)
	wantStatus(t, "create invitation for "+fmt.Sprint(body["invitedEmail"]), status, 200, resp)
	inv := object(t, "create invitation", resp)
	wantKeys(t, "created invitation", inv, invitationFields...)
	return inv
}

// invitationID is the id of an invitation's name "userInvitations/{id}".
func invitationID(t *testing.T, inv map[string]any) string {
	t.Helper()
	name, _ := inv["name"].(string)
	m := invitationNameRE.FindStringSubmatch(name)
	if m == nil {
		t.Fatalf("invitation name %#v is not userInvitations/{id}", inv["name"])
	}
	return m[1]
}

func getInvitation(t *testing.T, p *proc, id string) map[string]any {
	t.Helper()
	status, _, body := do(t, "GET", p.URL+invitationsPath+"/"+id, e2eAdminKey, nil)
	wantStatus(t, "get invitation "+id, status, 200, body)
	inv := object(t, "get invitation", body)
	wantKeys(t, "got invitation", inv, invitationFields...)
	return inv
}

// acceptURL maps an invitation link (on base_url) onto the running server.
func acceptURL(t *testing.T, p *proc, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil || !strings.HasPrefix(u.Path, "/invitations/") {
		t.Fatalf("invitation link %q is not {base_url}/invitations/{token}", link)
	}
	return p.URL + u.Path + "/accept"
}

func acceptBody(name, username string) map[string]any {
	m := map[string]any{"name": name, "password": e2ePassword}
	if username != "" {
		m["username"] = username
	}
	return m
}

// parseRFC3339 parses a time field or fails.
func parseRFC3339(t *testing.T, what string, v any) time.Time {
	t.Helper()
	s, _ := v.(string)
	ts, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("%s: %#v is not an RFC 3339 time", what, v)
	}
	return ts
}

// listInvitations pages through GET /v1/userInvitations with query and
// returns every invitation and how many pages it took (at most 20).
func listInvitations(t *testing.T, p *proc, query url.Values) ([]map[string]any, int) {
	t.Helper()
	var all []map[string]any
	token := ""
	for page := 1; page <= 20; page++ {
		q := url.Values{}
		for k, v := range query {
			q[k] = v
		}
		if token != "" {
			q.Set("pageToken", token)
		}
		status, _, body := do(t, "GET", p.URL+invitationsPath+"?"+q.Encode(), e2eAdminKey, nil)
		wantStatus(t, fmt.Sprintf("list invitations page %d", page), status, 200, body)
		m := object(t, "list invitations", body)
		wantKeys(t, "list invitations", m, "userInvitations", "nextPageToken")
		items, ok := m["userInvitations"].([]any)
		if !ok {
			t.Fatalf("userInvitations is not a list: %s", body)
		}
		for _, it := range items {
			inv, _ := it.(map[string]any)
			wantKeys(t, "listed invitation", inv, invitationFields...)
			if inv["invitationToken"] != "" {
				t.Errorf("a listed invitation shows its token: %v", inv)
			}
			all = append(all, inv)
		}
		next, ok := m["nextPageToken"].(string)
		if !ok {
			t.Fatalf("nextPageToken %#v is not a string", m["nextPageToken"])
		}
		if next == "" {
			return all, page
		}
		if len(items) == 0 {
			t.Fatalf("page %d is empty but has nextPageToken %q", page, next)
		}
		token = next
	}
	t.Fatalf("more than 20 pages of invitations")
	return nil, 0
}

// waitUserEmailSent polls a user (bounded) until emailSent is true.
func waitUserEmailSent(t *testing.T, p *proc, userID string) map[string]any {
	t.Helper()
	var u map[string]any
	testutil.Eventually(t, 10*time.Second, "emailSent of user "+userID, func() error {
		status, _, body := do(t, "GET", p.URL+"/api/admin/user-admin/"+userID, e2eAdminKey, nil)
		wantStatus(t, "get user "+userID, status, 200, body)
		if u = object(t, "get user", body); u["emailSent"] != true {
			return fmt.Errorf("the user reads %s", body)
		}
		return nil
	})
	return u
}

// listEmails returns the outbox (GET /api/admin/emails).
func listEmails(t *testing.T, p *proc) []map[string]any {
	t.Helper()
	status, _, body := do(t, "GET", p.URL+"/api/admin/emails", e2eAdminKey, nil)
	wantStatus(t, "list emails", status, 200, body)
	m := object(t, "list emails", body)
	list, ok := m["emails"].([]any)
	if !ok {
		t.Fatalf("emails is not a list: %s", body)
	}
	var out []map[string]any
	for _, e := range list {
		em, _ := e.(map[string]any)
		out = append(out, em)
	}
	return out
}

// waitEmail polls the outbox (bounded) until the email of kind to rcpt
// satisfies cond, and returns it.
func waitEmail(t *testing.T, p *proc, kind, rcpt string, timeout time.Duration, what string, cond func(map[string]any) bool) map[string]any {
	t.Helper()
	var found map[string]any
	testutil.Eventually(t, timeout, fmt.Sprintf("the %s email to %s to be %s", kind, rcpt, what), func() error {
		var last map[string]any
		for _, e := range listEmails(t, p) {
			if e["kind"] == kind && e["to"] == rcpt {
				last = e
				if cond(e) {
					found = e
					return nil
				}
			}
		}
		return fmt.Errorf("last seen: %v", last)
	})
	return found
}

// wantDoitError checks a DoiT-style error: the status and a body that is
// exactly {"error": "<message holding msgParts>"}.
func wantDoitError(t *testing.T, what string, status int, header http.Header, body []byte, want int, msgParts ...string) {
	t.Helper()
	if status != want {
		t.Errorf("%s: status %d, want %d; body: %s", what, status, want, body)
		return
	}
	if ct := header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("%s: Content-Type %q", what, ct)
	}
	m := object(t, what, body)
	wantKeys(t, what, m, "error")
	msg, ok := m["error"].(string)
	if !ok || strings.TrimSpace(msg) == "" {
		t.Errorf("%s: error %#v is not a message", what, m["error"])
		return
	}
	for _, part := range msgParts {
		if !strings.Contains(strings.ToLower(msg), strings.ToLower(part)) {
			t.Errorf("%s: error %q does not say %q", what, msg, part)
		}
	}
}

// doCookie is do with a Cookie header instead of Authorization.
func doCookie(t *testing.T, method, url, cookie string, body any) (int, http.Header, []byte) {
	t.Helper()
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(mustJSON(t, body))
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Cookie", cookie)
	resp, err := e2eClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, url, err)
	}
	checkOpenAPI(t, method, url, resp.StatusCode, resp.Header, data)
	return resp.StatusCode, resp.Header, data
}

// ---------------------------------------------------------------------------
// Tests.

func TestE2EInvitationEmailAndAccept(t *testing.T) {
	t.Parallel()
	smtpSrv := smtptest.Start(t, smtptest.Config{})
	p := startServer(t, t.TempDir(), mailEnv(smtpSrv.Port())...)

	before := time.Now()
	inv := createInvitation(t, p, map[string]any{
		"invitedEmail": "grace@example.com",
		"inviter":      "Ada Lovelace",
		"labels":       []map[string]string{{"key": "team", "value": "ops"}},
		"roleId":       2,
		"ttl":          "3600s",
	})
	id := invitationID(t, inv)
	token, _ := inv["invitationToken"].(string)
	if !invitationTokenRE.MatchString(token) {
		t.Fatalf("invitationToken %#v is not 64 hex characters", inv["invitationToken"])
	}
	uri := inviteBaseURL + "/invitations/" + token
	wantField(t, "invitation", inv, "invitedEmail", "grace@example.com")
	wantField(t, "invitation", inv, "invitationUri", uri)
	wantField(t, "invitation", inv, "inviter", "Ada Lovelace")
	wantField(t, "invitation", inv, "ttl", "3600s")
	wantField(t, "invitation", inv, "disableInvitationEmail", false)
	wantField(t, "invitation", inv, "labels", []any{map[string]any{"key": "team", "value": "ops"}})
	wantField(t, "invitation", inv, "roleId", "2")
	wantField(t, "invitation", inv, "organizationId", "default")
	wantField(t, "invitation", inv, "state", "PENDING")
	if c, _ := inv["creator"].(string); c == "" {
		t.Errorf("creator %#v is empty", inv["creator"])
	}
	wantField(t, "invitation", inv, "updater", inv["creator"])
	created := parseRFC3339(t, "createTime", inv["createTime"])
	if created.Before(before.Add(-time.Second)) || created.After(time.Now().Add(time.Second)) {
		t.Errorf("createTime %s is not now", created)
	}
	wantField(t, "invitation", inv, "updateTime", inv["createTime"])
	expires := parseRFC3339(t, "expirationTime", inv["expirationTime"])
	if d := expires.Sub(created) - time.Hour; d.Abs() > time.Second {
		t.Errorf("expirationTime %s is not createTime %s + 1h", expires, created)
	}

	// The email.
	msg := smtpSrv.WaitMessages(t, 1, 10*time.Second)[0]
	if msg.From != inviteFromAddr {
		t.Errorf("MAIL FROM %q, want %q", msg.From, inviteFromAddr)
	}
	if !reflect.DeepEqual(msg.To, []string{"grace@example.com"}) {
		t.Errorf("RCPT TO %v, want [grace@example.com]", msg.To)
	}
	pm := smtptest.MustParse(t, msg.Data)
	if !strings.Contains(pm.To, "grace@example.com") {
		t.Errorf("To header %q", pm.To)
	}
	if !strings.Contains(pm.From, inviteFromAddr) {
		t.Errorf("From header %q", pm.From)
	}
	if !strings.Contains(pm.Subject, "Ada Lovelace") || !strings.Contains(pm.Subject, inviteSiteName) {
		t.Errorf("subject %q names neither the inviter and the site", pm.Subject)
	}
	if !strings.Contains(pm.Text, uri) {
		t.Errorf("the text part does not hold %s:\n%s", uri, pm.Text)
	}
	if !strings.Contains(pm.HTML, `href="`+uri+`"`) {
		t.Errorf("the HTML part does not link %s:\n%s", uri, pm.HTML)
	}
	link := invitationLinkRE.FindString(pm.Text)
	if link != uri {
		t.Fatalf("the link in the email is %q, want %q", link, uri)
	}

	// Accept through the link of the email.
	accept := acceptURL(t, p, link)
	status, _, body := do(t, "POST", accept, "", acceptBody("Grace Hopper", "grace"))
	wantStatus(t, "accept", status, 200, body)
	user := object(t, "accept", body)
	checkUser(t, "accepted user", user, "grace@example.com", "grace", "Grace Hopper", 2)
	wantField(t, "accepted user", user, "organizationId", "default")
	userID := strconv.FormatFloat(user["id"].(float64), 'f', -1, 64)

	status, _, body = do(t, "POST", accept, "", acceptBody("Grace Again", "grace2"))
	// An accepted invitation's link says so (regression: it once read as unknown).
	wantError(t, "second accept", status, body, 400, "ValidationError", "already accepted")

	got := getInvitation(t, p, id)
	wantField(t, "accepted invitation", got, "state", "ACCEPTED")
	wantField(t, "accepted invitation", got, "invitationToken", "")
	if u, _ := got["invitationUri"].(string); strings.Contains(u, token) {
		t.Errorf("the accepted invitation still shows its link %q", u)
	}
	wantField(t, "accepted invitation", got, "invitedEmail", "grace@example.com")
	wantField(t, "accepted invitation", got, "expirationTime", inv["expirationTime"])
	wantField(t, "accepted invitation", got, "createTime", inv["createTime"])
	if parseRFC3339(t, "updateTime", got["updateTime"]).Before(created) {
		t.Errorf("updateTime %v is before createTime", got["updateTime"])
	}

	// The welcome email, and emailSent.
	msgs := smtpSrv.WaitMessages(t, 2, 10*time.Second)
	welcome := smtptest.MustParse(t, msgs[1].Data)
	if !reflect.DeepEqual(msgs[1].To, []string{"grace@example.com"}) {
		t.Errorf("welcome RCPT TO %v", msgs[1].To)
	}
	if !strings.Contains(welcome.Subject, "Welcome") || !strings.Contains(welcome.Subject, inviteSiteName) {
		t.Errorf("welcome subject %q", welcome.Subject)
	}
	if strings.Contains(welcome.Text, token) || strings.Contains(welcome.HTML, token) {
		t.Errorf("the welcome email holds the invitation token")
	}
	u := waitUserEmailSent(t, p, userID)
	wantField(t, "user after welcome", u, "rootRole", 2.0)
	wantField(t, "user after welcome", u, "email", "grace@example.com")

	// Nothing else was sent. The outbox sends in order, so once an email
	// queued now has arrived, any other one queued before it has too.
	createInvitation(t, p, map[string]any{"invitedEmail": "marker@example.com", "inviter": "Ada Lovelace"})
	smtpSrv.WaitMessagesTo(t, "marker@example.com", 1, 10*time.Second)
	if n := len(smtpSrv.Messages()); n != 3 {
		t.Errorf("%d emails in all, want the invitation, the welcome and the marker: %v", n, smtptest.Describe(smtpSrv.Messages()))
	}
}

func TestE2EInvitationRules(t *testing.T) {
	t.Parallel()
	smtpSrv := smtptest.Start(t, smtptest.Config{})
	p := startServer(t, t.TempDir(), mailEnv(smtpSrv.Port())...)
	create := p.URL + invitationsPath
	invite := func(email string, extra map[string]any) map[string]any {
		m := map[string]any{"invitedEmail": email, "inviter": "Ada Lovelace"}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}

	// Five invitations, paged two at a time.
	var made []map[string]any
	for _, email := range []string{"pend@example.com", "revoke@example.com", "resend@example.com", "four@example.com", "five@example.com"} {
		made = append(made, createInvitation(t, p, invite(email, nil)))
	}
	all, pages := listInvitations(t, p, url.Values{"pageSize": {"2"}})
	if pages != 3 {
		t.Errorf("5 invitations by 2 took %d pages, want 3", pages)
	}
	var names, wantNames []string
	for _, inv := range all {
		names = append(names, inv["name"].(string))
	}
	for _, inv := range made {
		wantNames = append(wantNames, inv["name"].(string))
	}
	if !reflect.DeepEqual(names, wantNames) {
		t.Errorf("paged list %v, want %v", names, wantNames)
	}
	status, _, body := do(t, "GET", create+"?pageToken=garbage", e2eAdminKey, nil)
	e := wantError(t, "bad pageToken", status, body, 400, "ValidationError", "pageToken")
	wantDetail(t, "bad pageToken", e, "pageToken")

	// A silent one, checked at the end. (Expiry is a rule of time: the
	// db and server tests check it on a clock of their own.)
	silent := createInvitation(t, p, invite("silent@example.com", map[string]any{"disableInvitationEmail": true}))
	wantField(t, "silent invitation", silent, "disableInvitationEmail", true)
	// The outbox sends in order, so once the next email arrived, one for
	// the silent invitation would have too.
	createInvitation(t, p, invite("marker@example.com", nil))

	// Someone with an account cannot be invited.
	secret := createLink(t, p, map[string]any{"name": "members", "expiresAt": e2eFuture})["secret"].(string)
	status, _, body = do(t, "POST", signupURL(p, secret), "", signupJSON("member@example.com", "", "Mem Ber"))
	wantStatus(t, "signup", status, 200, body)
	status, _, body = do(t, "POST", create, e2eAdminKey, invite("MEMBER@example.com", nil))
	wantError(t, "invite someone with an account", status, body, 409, "NameExistsError", "account")

	// A pending invitation: resend it instead.
	status, _, body = do(t, "POST", create, e2eAdminKey, invite("pend@example.com", nil))
	wantError(t, "invite a pending address again", status, body, 409, "NameExistsError", "resend")
	status, _, body = do(t, "POST", create, e2eAdminKey, invite("Pend@Example.com", nil))
	wantError(t, "invite a pending address again in other case", status, body, 409, "NameExistsError", "resend")

	// Bad fields, each named.
	for _, tc := range []struct {
		name  string
		body  any
		field string
		msg   []string
	}{
		{"ttl and expirationTime", invite("x1@example.com", map[string]any{"ttl": "3600s", "expirationTime": e2eFuture}), "ttl", []string{"expirationTime"}},
		{"ttl abc", invite("x2@example.com", map[string]any{"ttl": "abc"}), "ttl", nil},
		{"ttl negative", invite("x3@example.com", map[string]any{"ttl": "-5s"}), "ttl", nil},
		{"ttl a number", invite("x4@example.com", map[string]any{"ttl": 3600}), "ttl", nil},
		{"roleId 9", invite("x5@example.com", map[string]any{"roleId": 9}), "roleId", nil},
		{"unknown organizationId", invite("x6@example.com", map[string]any{"organizationId": "nowhere"}), "organizationId", []string{"nowhere"}},
		{"no inviter with an API key", map[string]any{"invitedEmail": "x7@example.com"}, "inviter", nil},
		{"blank inviter with an API key", map[string]any{"invitedEmail": "x8@example.com", "inviter": "  "}, "inviter", nil},
		{"unknown field", invite("x9@example.com", map[string]any{"isAdmin": true}), "isAdmin", nil},
		{"invitedEmail a number", invite("", map[string]any{"invitedEmail": 42}), "invitedEmail", nil},
		{"invitedEmail not an email", invite("not-an-email", nil), "invitedEmail", nil},
		{"invitedEmail missing", map[string]any{"inviter": "Ada"}, "invitedEmail", nil},
		{"disableInvitationEmail a string", invite("x10@example.com", map[string]any{"disableInvitationEmail": "yes"}), "disableInvitationEmail", nil},
		{"labels a string", invite("x11@example.com", map[string]any{"labels": "team=ops"}), "labels", nil},
		{"expirationTime in the past", invite("x12@example.com", map[string]any{"expirationTime": e2ePast}), "expirationTime", nil},
		{"expirationTime not a time", invite("x13@example.com", map[string]any{"expirationTime": "tomorrow"}), "expirationTime", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, _, body := do(t, "POST", create, e2eAdminKey, tc.body)
			e := wantError(t, tc.name, status, body, 400, "ValidationError", append([]string{tc.field}, tc.msg...)...)
			wantDetail(t, tc.name, e, tc.field)
		})
	}

	// Revoke: the old link is withdrawn.
	revokeID := invitationID(t, made[1])
	status, _, body = do(t, "DELETE", create+"/"+revokeID, e2eAdminKey, nil)
	wantStatus(t, "revoke", status, 200, body)
	wantField(t, "revoked", object(t, "revoke", body), "state", "REVOKED")
	wantField(t, "revoked, read back", getInvitation(t, p, revokeID), "state", "REVOKED")
	status, _, body = do(t, "POST", acceptURL(t, p, made[1]["invitationUri"].(string)), "", acceptBody("Rev Oked", ""))
	// A revoked invitation's link says it was withdrawn (regression).
	wantError(t, "accept a revoked invitation", status, body, 400, "ValidationError", "withdrawn")
	status, _, body = do(t, "POST", create+"/"+revokeID+"/resend", e2eAdminKey, nil)
	wantError(t, "resend a revoked invitation", status, body, 400, "ValidationError", "revoked")

	// Resend: a new token; the old one is no longer valid; the new one works.
	resendID := invitationID(t, made[2])
	oldURI := made[2]["invitationUri"].(string)
	status, _, body = do(t, "POST", create+"/"+resendID+"/resend", e2eAdminKey, nil)
	wantStatus(t, "resend", status, 200, body)
	resent := object(t, "resend", body)
	wantKeys(t, "resent invitation", resent, invitationFields...)
	newToken, _ := resent["invitationToken"].(string)
	if !invitationTokenRE.MatchString(newToken) || newToken == made[2]["invitationToken"] {
		t.Fatalf("resend: invitationToken %q, want a new one (old %q)", newToken, made[2]["invitationToken"])
	}
	newURI := inviteBaseURL + "/invitations/" + newToken
	wantField(t, "resent invitation", resent, "invitationUri", newURI)
	wantField(t, "resent invitation", resent, "state", "PENDING")
	wantField(t, "resent invitation", resent, "name", made[2]["name"])
	status, _, body = do(t, "POST", acceptURL(t, p, oldURI), "", acceptBody("Res End", ""))
	wantError(t, "accept with the token replaced by a resend", status, body, 404, "NotFoundError", "not valid")
	resendMsgs := smtpSrv.WaitMessagesTo(t, "resend@example.com", 2, 10*time.Second)
	if text := smtptest.MustParse(t, resendMsgs[1].Data).Text; !strings.Contains(text, newURI) || strings.Contains(text, oldURI) {
		t.Errorf("the resent email does not hold just the new link %s:\n%s", newURI, text)
	}
	status, _, body = do(t, "POST", acceptURL(t, p, newURI), "", acceptBody("Res End", ""))
	wantStatus(t, "accept with the new token", status, 200, body)
	wantField(t, "user of the resent invitation", object(t, "accept", body), "email", "resend@example.com")

	// Accepting with garbage is not valid either.
	status, _, body = do(t, "POST", p.URL+"/invitations/"+strings.Repeat("ab", 32)+"/accept", "", acceptBody("No Body", ""))
	wantError(t, "accept an unknown token", status, body, 404, "NotFoundError", "not valid")

	// The state filter.
	pending, _ := listInvitations(t, p, url.Values{"state": {"PENDING"}})
	var pendingEmails []string
	for _, inv := range pending {
		wantField(t, "PENDING filter", inv, "state", "PENDING")
		pendingEmails = append(pendingEmails, inv["invitedEmail"].(string))
	}
	if want := []string{"pend@example.com", "four@example.com", "five@example.com", "silent@example.com", "marker@example.com"}; !reflect.DeepEqual(pendingEmails, want) {
		t.Errorf("state=PENDING lists %v, want %v", pendingEmails, want)
	}
	for state, want := range map[string]string{"REVOKED": "revoke@example.com", "ACCEPTED": "resend@example.com"} {
		got, _ := listInvitations(t, p, url.Values{"state": {state}})
		if len(got) != 1 || got[0]["invitedEmail"] != want {
			t.Errorf("state=%s lists %v, want just %s", state, got, want)
		}
	}
	status, _, body = do(t, "GET", create+"?state=SLEEPING", e2eAdminKey, nil)
	wantError(t, "unknown state", status, body, 400, "ValidationError", "state")

	// disableInvitationEmail: nothing was queued for it (the outbox is
	// written with the invitation, so this is final), and nothing went
	// out by the time the email queued after it arrived.
	for _, e := range listEmails(t, p) {
		if e["to"] == "silent@example.com" {
			t.Errorf("an email was queued for silent@example.com, whose invitation disabled them: %v", e)
		}
	}
	smtpSrv.WaitMessagesTo(t, "marker@example.com", 1, 10*time.Second)
	if got := smtpSrv.MessagesTo("silent@example.com"); len(got) != 0 {
		t.Errorf("%d emails went to silent@example.com, whose invitation disabled them", len(got))
	}
	// The silent invitation still works by its link.
	status, _, body = do(t, "POST", acceptURL(t, p, silent["invitationUri"].(string)), "", acceptBody("Sil Ent", ""))
	wantStatus(t, "accept the silent invitation", status, 200, body)

	// The refused requests created nothing: 5 + silent + marker.
	if all, _ := listInvitations(t, p, nil); len(all) != 7 {
		t.Errorf("%d invitations in all, want 7", len(all))
	}
}

func TestE2EDoitInvite(t *testing.T) {
	t.Parallel()
	smtpSrv := smtptest.Start(t, smtptest.Config{})
	p := startServer(t, t.TempDir(), mailEnv(smtpSrv.Port())...)
	doitURL := p.URL + "/api/admin/users/invite"

	status, header, body := do(t, "POST", doitURL, e2eAdminKey, map[string]any{"email": "doit@example.com", "roleId": "2", "organizationId": "default"})
	wantStatus(t, "DoiT invite", status, 201, body)
	if ct := header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("DoiT invite: Content-Type %q", ct)
	}
	m := object(t, "DoiT invite", body)
	wantKeys(t, "DoiT invite", m, "message", "user")
	if msg, _ := m["message"].(string); strings.TrimSpace(msg) == "" {
		t.Errorf("message %#v is empty", m["message"])
	}
	u, ok := m["user"].(map[string]any)
	if !ok {
		t.Fatalf("user is not an object: %s", body)
	}
	wantKeys(t, "DoiT user", u, "id", "email", "roleId", "organizationId", "status")
	id, _ := u["id"].(string)
	if !regexp.MustCompile(`^[1-9][0-9]*$`).MatchString(id) {
		t.Errorf("user id %#v is not a string id", u["id"])
	}
	wantField(t, "DoiT user", u, "email", "doit@example.com")
	wantField(t, "DoiT user", u, "roleId", "2")
	wantField(t, "DoiT user", u, "organizationId", "default")
	wantField(t, "DoiT user", u, "status", "invited")

	// The same invitation as /v1/userInvitations makes, and the same email.
	inv := getInvitation(t, p, id)
	wantField(t, "DoiT invitation", inv, "invitedEmail", "doit@example.com")
	wantField(t, "DoiT invitation", inv, "roleId", "2")
	wantField(t, "DoiT invitation", inv, "state", "PENDING")
	msg := smtpSrv.WaitMessagesTo(t, "doit@example.com", 1, 10*time.Second)[0]
	pm := smtptest.MustParse(t, msg.Data)
	if !strings.Contains(pm.Subject, inviteSiteName) {
		t.Errorf("DoiT email subject %q does not name the site", pm.Subject)
	}
	link := invitationLinkRE.FindString(pm.Text)
	if link == "" || !strings.Contains(pm.HTML, link) {
		t.Fatalf("the DoiT email has no invitation link in both parts:\n%s\n%s", pm.Text, pm.HTML)
	}
	if strings.Contains(pm.Text, "<no value>") || strings.Contains(pm.HTML, "<no value>") {
		t.Errorf("the DoiT email shows <no value>")
	}

	// Errors are {"error": "..."} and nothing else.
	status, header, body = do(t, "POST", doitURL, "", map[string]any{"email": "noauth@example.com"})
	wantDoitError(t, "no auth", status, header, body, 401)
	status, header, body = do(t, "POST", doitURL, "wrong-key-0000000000000000000000", map[string]any{"email": "noauth@example.com"})
	wantDoitError(t, "wrong key", status, header, body, 401)
	status, header, body = do(t, "POST", doitURL, e2eAdminKey, map[string]any{"email": "not-an-email"})
	wantDoitError(t, "bad email", status, header, body, 400, "email")
	status, header, body = do(t, "POST", doitURL, e2eAdminKey, map[string]any{})
	wantDoitError(t, "no email", status, header, body, 400, "email")
	status, header, body = do(t, "POST", doitURL, e2eAdminKey, map[string]any{"email": "x@example.com", "roleId": "9"})
	wantDoitError(t, "roleId 9", status, header, body, 400, "roleId")
	status, header, body = do(t, "POST", doitURL, e2eAdminKey, map[string]any{"email": "x@example.com", "organizationId": "nowhere"})
	wantDoitError(t, "unknown organizationId", status, header, body, 400, "nowhere")
	status, header, body = do(t, "POST", doitURL, e2eAdminKey, map[string]any{"email": "x@example.com", "team": "ops"})
	wantDoitError(t, "unknown field", status, header, body, 400, "team")
	status, header, body = do(t, "POST", doitURL, e2eAdminKey, []byte(`{"email": "x@example.com",`))
	wantDoitError(t, "broken JSON", status, header, body, 400)
	status, header, body = do(t, "POST", doitURL, e2eAdminKey, map[string]any{"email": "DOIT@example.com"})
	wantDoitError(t, "pending invitation", status, header, body, 409)

	// A Viewer, logged in through a signup link.
	secret := createLink(t, p, map[string]any{"name": "viewers", "expiresAt": e2eFuture})["secret"].(string)
	status, _, body = do(t, "POST", signupURL(p, secret), "", signupJSON("viewer@example.com", "", "Vi Ewer"))
	wantStatus(t, "viewer signup", status, 200, body)
	wantField(t, "viewer", object(t, "viewer signup", body), "rootRole", 3.0)
	status, header, body = do(t, "POST", p.URL+"/auth/simple/login", "", map[string]any{"username": "viewer@example.com", "password": e2ePassword})
	wantStatus(t, "viewer login", status, 200, body)
	cookie := ""
	for _, c := range (&http.Response{Header: header}).Cookies() {
		if c.Name == "invited_session" && c.Value != "" {
			cookie = c.Name + "=" + c.Value
		}
	}
	if cookie == "" {
		t.Fatalf("login set no invited_session cookie: %v", header["Set-Cookie"])
	}
	status, _, body = doCookie(t, "GET", p.URL+"/api/admin/user", cookie, nil)
	wantStatus(t, "viewer reads itself", status, 200, body)
	status, header, body = doCookie(t, "POST", doitURL, cookie, map[string]any{"email": "byviewer@example.com"})
	wantDoitError(t, "viewer invites", status, header, body, 403)
	status, _, body = doCookie(t, "POST", p.URL+invitationsPath, cookie, map[string]any{"invitedEmail": "byviewer@example.com"})
	wantError(t, "viewer invites through /v1", status, body, 403, "NoAccessError")

	// Only the one invitation exists, and only its email was sent.
	if all, _ := listInvitations(t, p, nil); len(all) != 1 {
		t.Errorf("%d invitations, want 1", len(all))
	}
	if msgs := smtpSrv.Messages(); len(msgs) > 2 { // the invitation and the viewer's welcome
		t.Errorf("emails sent: %v", smtptest.Describe(msgs))
	}
}

func TestE2EEmailRetryAcrossRestart(t *testing.T) {
	t.Parallel()

	t.Run("delivered after restart", func(t *testing.T) {
		t.Parallel()
		port := freeLoopbackPort(t)
		dir := t.TempDir()
		env := mailEnv(port)
		p := startServer(t, dir, env...)
		inv := createInvitation(t, p, map[string]any{"invitedEmail": "retry@example.com", "inviter": "Ada Lovelace"})
		uri := inv["invitationUri"].(string)

		e := waitEmail(t, p, "invitation", "retry@example.com", 10*time.Second, "pending with a failed attempt", func(e map[string]any) bool {
			n, _ := e["attempts"].(float64)
			le, _ := e["lastError"].(string)
			return e["state"] == "pending" && n >= 1 && le != ""
		})
		t.Logf("before the restart: %v", e)
		p.Stop()
		if err := p.ExitErr(); err != nil {
			t.Errorf("invited serve after SIGTERM: %v, want exit status 0", err)
		}

		smtpSrv := smtptest.Start(t, smtptest.Config{Addr: "127.0.0.1:" + strconv.Itoa(port)})
		p2 := startServer(t, dir, env...)
		msg := smtpSrv.WaitMessages(t, 1, 15*time.Second)[0]
		if !reflect.DeepEqual(msg.To, []string{"retry@example.com"}) {
			t.Errorf("RCPT TO %v", msg.To)
		}
		pm := smtptest.MustParse(t, msg.Data)
		if link := invitationLinkRE.FindString(pm.Text); link != uri {
			t.Fatalf("the delivered email links %q, want the invitation's %q", link, uri)
		}
		if !strings.Contains(pm.HTML, uri) {
			t.Errorf("the HTML part does not hold %s", uri)
		}
		waitEmail(t, p2, "invitation", "retry@example.com", 10*time.Second, "sent", func(e map[string]any) bool {
			return e["state"] == "sent"
		})
		status, _, body := do(t, "POST", acceptURL(t, p2, uri), "", acceptBody("Re Try", ""))
		wantStatus(t, "accept the delivered link", status, 200, body)
		smtpSrv.WaitMessagesTo(t, "retry@example.com", 2, 10*time.Second) // the welcome
		if n := len(smtpSrv.MessagesTo("retry@example.com")); n != 2 {
			t.Errorf("%d emails to retry@example.com, want the invitation once and the welcome", n)
		}
	})

	t.Run("fails after max attempts", func(t *testing.T) {
		t.Parallel()
		port := freeLoopbackPort(t)
		p := startServer(t, t.TempDir(), mailEnv(port, "INVITED_MAIL_MAX_ATTEMPTS=2")...)
		createInvitation(t, p, map[string]any{"invitedEmail": "doomed@example.com", "inviter": "Ada Lovelace"})
		e := waitEmail(t, p, "invitation", "doomed@example.com", 10*time.Second, "failed", func(e map[string]any) bool {
			return e["state"] == "failed"
		})
		wantField(t, "failed email", e, "attempts", 2.0)
		if le, _ := e["lastError"].(string); le == "" {
			t.Errorf("failed email has no lastError: %v", e)
		}
		// It stays failed: no third attempt while an email queued after it
		// goes through both of its own. (That a failed email is never due
		// again, whatever the time, is checked on a clock in db and mail.)
		createInvitation(t, p, map[string]any{"invitedEmail": "marker@example.com", "inviter": "Ada Lovelace"})
		waitEmail(t, p, "invitation", "marker@example.com", 10*time.Second, "failed", func(e map[string]any) bool {
			return e["state"] == "failed"
		})
		e = waitEmail(t, p, "invitation", "doomed@example.com", time.Second, "still failed", func(e map[string]any) bool {
			return e["state"] == "failed"
		})
		wantField(t, "failed email later", e, "attempts", 2.0)
	})
}

func TestE2EOrganizations(t *testing.T) {
	t.Parallel()
	p := startServer(t, t.TempDir())
	orgsURL := p.URL + "/api/admin/organizations"

	orgIDs := func(auth string) []string {
		t.Helper()
		status, _, body := do(t, "GET", orgsURL, auth, nil)
		wantStatus(t, "list organizations", status, 200, body)
		m := object(t, "list organizations", body)
		wantKeys(t, "list organizations", m, "organizations")
		list, _ := m["organizations"].([]any)
		var ids []string
		for _, o := range list {
			om, _ := o.(map[string]any)
			id, _ := om["id"].(string)
			ids = append(ids, id)
		}
		return ids
	}
	if ids := orgIDs(e2eAdminKey); !reflect.DeepEqual(ids, []string{"default"}) {
		t.Errorf("organizations at start %v, want [default]", ids)
	}

	status, header, body := do(t, "POST", orgsURL, e2eAdminKey, map[string]any{"name": "Night Shift"})
	wantStatus(t, "create organization", status, 201, body)
	org := object(t, "create organization", body)
	wantField(t, "organization", org, "id", "night-shift")
	wantField(t, "organization", org, "name", "Night Shift")
	if loc := header.Get("Location"); loc != "/api/admin/organizations/night-shift" {
		t.Errorf("Location %q", loc)
	}
	status, _, body = do(t, "POST", orgsURL, e2eAdminKey, map[string]any{"name": "Night  Shift!"})
	wantError(t, "create a taken organization id", status, body, 409, "NameExistsError", "night-shift")
	if ids := orgIDs(e2eAdminKey); !reflect.DeepEqual(ids, []string{"default", "night-shift"}) {
		t.Errorf("organizations %v, want [default night-shift]", ids)
	}

	// Invite into it and accept: the user belongs to it.
	inv := createInvitation(t, p, map[string]any{"invitedEmail": "owl@example.com", "inviter": "Ada", "organizationId": "night-shift"})
	wantField(t, "invitation into night-shift", inv, "organizationId", "night-shift")
	status, _, body = do(t, "POST", acceptURL(t, p, inv["invitationUri"].(string)), "", acceptBody("Night Owl", ""))
	wantStatus(t, "accept into night-shift", status, 200, body)
	user := object(t, "accept", body)
	wantField(t, "user", user, "organizationId", "night-shift")
	userID := strconv.FormatFloat(user["id"].(float64), 'f', -1, 64)
	status, _, body = do(t, "GET", p.URL+"/api/admin/user-admin/"+userID, e2eAdminKey, nil)
	wantStatus(t, "get user", status, 200, body)
	wantField(t, "user read back", object(t, "get user", body), "organizationId", "night-shift")

	// An organization in use, and the default one, stay.
	status, _, body = do(t, "DELETE", orgsURL+"/night-shift", e2eAdminKey, nil)
	wantError(t, "delete an organization with a user", status, body, 400, "ValidationError", "user")
	status, _, body = do(t, "DELETE", orgsURL+"/default", e2eAdminKey, nil)
	wantError(t, "delete the default organization", status, body, 400, "ValidationError", "default")
	status, _, body = do(t, "DELETE", orgsURL+"/nowhere", e2eAdminKey, nil)
	wantError(t, "delete an unknown organization", status, body, 404, "NotFoundError", "nowhere")

	// An empty one can go.
	status, _, body = do(t, "POST", orgsURL, e2eAdminKey, map[string]any{"name": "Empty Room"})
	wantStatus(t, "create empty-room", status, 201, body)
	status, _, body = do(t, "DELETE", orgsURL+"/empty-room", e2eAdminKey, nil)
	wantStatus(t, "delete empty-room", status, 200, body)

	// An Editor may list but not create or delete.
	status, _, body = do(t, "POST", p.URL+"/api/admin/api-tokens", e2eAdminKey, map[string]any{"name": "ed", "role": "editor"})
	wantStatus(t, "create editor key", status, 201, body)
	editorKey, _ := object(t, "editor key", body)["secret"].(string)
	if editorKey == "" {
		t.Fatalf("editor key answer has no secret: %s", body)
	}
	if ids := orgIDs(editorKey); !reflect.DeepEqual(ids, []string{"default", "night-shift"}) {
		t.Errorf("editor lists %v, want [default night-shift]", ids)
	}
	status, _, body = do(t, "POST", orgsURL, editorKey, map[string]any{"name": "Editors Own"})
	wantError(t, "editor creates an organization", status, body, 403, "NoAccessError")
	status, _, body = do(t, "DELETE", orgsURL+"/night-shift", editorKey, nil)
	wantError(t, "editor deletes an organization", status, body, 403, "NoAccessError")
	if ids := orgIDs(e2eAdminKey); !reflect.DeepEqual(ids, []string{"default", "night-shift"}) {
		t.Errorf("organizations at the end %v, want [default night-shift]", ids)
	}
}
