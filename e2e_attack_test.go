package main

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// attack is one hostile request and what the server must answer. The table
// in TestE2EAttackTable grows by a row each time a new hole is found, so a
// hole that was closed stays closed.
type attack struct {
	name   string // what the attacker tries, and the issue item it came from
	method string
	path   string
	as     string // who asks: "" nobody, "admin", "editor" (API key), "editor-session"
	body   any    // as for do: nil, a string or []byte (raw JSON), or a value to marshal
	status int
	kind   string   // the error name; "" for a success answer
	field  string   // a details path the ValidationError must name
	msg    []string // parts the error message must hold
	absent []string // strings the answer must not hold anywhere
	doit   bool     // the answer is DoiT's {"error": "..."} shape
	raw    bool     // sent as hand-written HTTP/1.1, so any method goes out as it is
}

// TestE2EAttackTable replays, against the real binary, every attack that
// once worked, one row each; setup makes the targets (an Admin-role link
// and invitation, an Editor with a key and a session, a user to squat on).
func TestE2EAttackTable(t *testing.T) {
	t.Parallel()
	p := startServer(t, t.TempDir(), "INVITED_AUTH_MAX_LOGIN_ATTEMPTS=3")

	// Targets.
	adminLink := createLink(t, p, map[string]any{"name": "admins only", "expiresAt": e2eFuture, "role": "Admin"})
	adminSecret := adminLink["secret"].(string)
	status, _, body := do(t, "PUT", p.URL+tokensPath+"/"+adminSecret, e2eAdminKey, map[string]any{"enabled": false})
	wantStatus(t, "switch the admin link off", status, 200, body)
	adminInv := createInvitation(t, p, map[string]any{"invitedEmail": "boss@example.com", "roleId": "1", "inviter": "Ann Admin", "disableInvitationEmail": true})
	adminInvID := invitationID(t, adminInv)

	editorLink := createLink(t, p, map[string]any{"name": "private: editors of the night shift", "description": "Welcome, editors", "expiresAt": e2eFuture, "role": "Editor"})
	editorSecret := editorLink["secret"].(string)
	status, _, body = do(t, "POST", signupURL(p, editorSecret), "", signupJSON("eddie@example.com", "eddie", "Eddie Editor"))
	wantStatus(t, "editor signs up", status, 200, body)
	eddieID := fmt.Sprint(object(t, "eddie", body)["id"])
	editorSession := sessionCookie(t, p, "eddie", e2ePassword)
	status, _, body = do(t, "POST", p.URL+"/api/admin/api-tokens", e2eAdminKey, map[string]any{"name": "ed", "role": "editor"})
	wantStatus(t, "create editor key", status, 201, body)
	editorKey := object(t, "editor key", body)["secret"].(string)

	viewerLink := createLink(t, p, map[string]any{"name": "viewers", "expiresAt": e2eFuture, "allowedDomains": []string{"sample.com"}})
	viewerSecret := viewerLink["secret"].(string)
	status, _, body = do(t, "POST", signupURL(p, viewerSecret), "", signupJSON("kim@sample.com", "kim", "Kim Park"))
	wantStatus(t, "kim signs up", status, 200, body)

	// 12.1: groups. Eddie the Editor is in "night"; a link (switched off)
	// and an invitation hand out "day", which he is not in.
	for _, g := range []string{"night", "day"} {
		status, _, body = do(t, "POST", p.URL+"/api/admin/groups", e2eAdminKey, map[string]any{"id": g, "name": "The " + g + " shift"})
		wantStatus(t, "create group "+g, status, 201, body)
	}
	status, _, body = do(t, "PUT", p.URL+"/api/admin/user-admin/"+eddieID, e2eAdminKey, map[string]any{"groups": []string{"night"}})
	wantStatus(t, "put eddie in night", status, 200, body)
	daySecret := createLink(t, p, map[string]any{"name": "day shift", "expiresAt": e2eFuture, "groups": []string{"day"}})["secret"].(string)
	status, _, body = do(t, "PUT", p.URL+tokensPath+"/"+daySecret, e2eAdminKey, map[string]any{"enabled": false})
	wantStatus(t, "switch the day link off", status, 200, body)
	dayInvID := invitationID(t, createInvitation(t, p, map[string]any{"invitedEmail": "dawn@example.com", "inviter": "Ann Admin", "disableInvitationEmail": true, "groups": []string{"day"}}))

	// The victim of guessing: three wrong passwords start the throttle.
	for i := 0; i < 3; i++ {
		status, _, body = do(t, "POST", p.URL+"/auth/simple/login", "", map[string]any{"username": "kim", "password": fmt.Sprintf("wrong-guess-%d", i)})
		wantStatus(t, "wrong password", status, 401, body)
	}

	inv := "/v1/userInvitations/" + adminInvID
	longMethod := strings.Repeat("M", 4096)
	link := tokensPath + "/" + adminSecret
	rows := []attack{
		// 10.1: an Editor is never one request away from an Admin account.
		{name: "10.1 editor lists links and sees an Admin link's secret", method: "GET", path: tokensPath, as: "editor", status: 200, absent: []string{adminSecret}},
		{name: "10.1 editor session lists links", method: "GET", path: tokensPath, as: "editor-session", status: 200, absent: []string{adminSecret}},
		{name: "10.1 editor reads an Admin link", method: "GET", path: link, as: "editor", status: 404, kind: "NotFoundError"},
		{name: "10.1 editor re-enables an Admin link", method: "PUT", path: link, as: "editor", body: map[string]any{"enabled": true}, status: 404, kind: "NotFoundError"},
		{name: "10.1 editor session re-enables an Admin link", method: "PUT", path: link, as: "editor-session", body: map[string]any{"enabled": true}, status: 404, kind: "NotFoundError"},
		{name: "10.1 editor extends an Admin link", method: "PUT", path: link, as: "editor", body: map[string]any{"expiresAt": "2100-01-01T00:00:00Z"}, status: 404, kind: "NotFoundError"},
		{name: "10.1 editor reads an Admin invitation", method: "GET", path: inv, as: "editor", status: 404, kind: "NotFoundError"},
		{name: "10.1 editor resends an Admin invitation", method: "POST", path: inv + "/resend", as: "editor", status: 404, kind: "NotFoundError"},
		{name: "10.1 editor session resends an Admin invitation", method: "POST", path: inv + "/resend", as: "editor-session", status: 404, kind: "NotFoundError"},
		{name: "10.1 editor revokes an Admin invitation", method: "DELETE", path: inv, as: "editor", status: 404, kind: "NotFoundError"},
		{name: "10.1 editor lists invitations", method: "GET", path: "/v1/userInvitations", as: "editor", status: 200, absent: []string{"boss@example.com"}},
		{name: "10.1 editor reads joiners' addresses through a link", method: "GET", path: tokensPath + "/" + viewerSecret, as: "editor", status: 200, absent: []string{"kim@sample.com"}},
		{name: "10.1 editor makes an Admin link", method: "POST", path: tokensPath, as: "editor", body: map[string]any{"name": "up", "expiresAt": e2eFuture, "role": "Admin"}, status: 400, kind: "ValidationError", field: "role"},

		// 10.3: no password oracle while an account is slowed down.
		{name: "10.3 right password while throttled", method: "POST", path: "/auth/simple/login", body: map[string]any{"username": "kim", "password": e2ePassword}, status: 401, kind: "AuthenticationRequired", absent: []string{"lock", "/api/", "invited admin"}},

		// 10.4: one mailbox, one account; no look-alikes.
		{name: "10.4 Kelvin sign squats kim@", method: "POST", path: "/invite/" + viewerSecret + "/signup", body: signupJSON("\u212Aim@sample.com", "", "Kim Again"), status: 409, kind: "NameExistsError"},
		{name: "10.4 upper-case domain squats kim@", method: "POST", path: "/invite/" + viewerSecret + "/signup", body: signupJSON("kim@SAMPLE.com", "", "Kim Again"), status: 409, kind: "NameExistsError"},
		{name: "10.4 mixed-script local part", method: "POST", path: "/invite/" + viewerSecret + "/signup", body: signupJSON("p\u0430ypal@sample.com", "", "Pay Pal"), status: 400, kind: "ValidationError", field: "email"},
		{name: "10.4 zero-width joiner in the local part", method: "POST", path: "/invite/" + viewerSecret + "/signup", body: signupJSON("ki\u200dm@sample.com", "", "Kim Hidden"), status: 400, kind: "ValidationError", field: "email"},
		{name: "10.4 look-alike domain on a domain link", method: "POST", path: "/invite/" + viewerSecret + "/signup", body: signupJSON("lee@s\u0430mple.com", "", "Lee Look"), status: 400, kind: "ValidationError", field: "email"},

		// 10.6: years outside 1–9999 after UTC conversion.
		{name: "10.6 link expiry past year 9999 in UTC", method: "POST", path: tokensPath, as: "admin", body: map[string]any{"name": "far", "expiresAt": "9999-12-31T23:59:59-23:59"}, status: 400, kind: "ValidationError", field: "expiresAt"},
		{name: "10.6 link update before year 1 in UTC", method: "PUT", path: tokensPath + "/" + viewerSecret, as: "admin", body: map[string]any{"expiresAt": "0001-01-01T00:00:00+01:00"}, status: 400, kind: "ValidationError", field: "expiresAt"},
		{name: "10.6 invitation expiry past year 9999", method: "POST", path: "/v1/userInvitations", as: "admin", body: map[string]any{"invitedEmail": "far@example.com", "expirationTime": "9999-12-31T23:59:59-23:59", "inviter": "Ann Admin", "disableInvitationEmail": true}, status: 400, kind: "ValidationError", field: "expirationTime"},

		// 10.9: a link's name is private.
		{name: "10.9 the signup page shows a link's private name", method: "GET", path: "/new-user?invite=" + editorSecret, status: 200, absent: []string{"night shift"}},

		// 10.2: nothing unauthenticated grows memory or echoes itself back.
		{name: "10.2 a 4 KB method on an unknown path", raw: true, method: "Q" + longMethod, path: "/no/such/path/1", status: 404, absent: []string{longMethod}},
		{name: "10.2 a 4 KB method on a known path", raw: true, method: "R" + longMethod, path: "/health", status: 405, absent: []string{longMethod}},
		{name: "10.2 a 4 KB method on an API route", raw: true, method: "S" + longMethod, path: tokensPath, status: 405, absent: []string{longMethod}},

		// 12.1: nobody hands out a group they are not in (Admins: any),
		// and a link or invitation with such a group is out of reach.
		{name: "12.1 editor session makes a link with a group they are not in", method: "POST", path: tokensPath, as: "editor-session", body: map[string]any{"name": "day too", "expiresAt": e2eFuture, "groups": []string{"night", "day"}}, status: 400, kind: "ValidationError", field: "groups[1]", msg: []string{"not one of your groups"}},
		{name: "12.1 editor key (no groups) makes a link with a group", method: "POST", path: tokensPath, as: "editor", body: map[string]any{"name": "night", "expiresAt": e2eFuture, "groups": []string{"night"}}, status: 400, kind: "ValidationError", field: "groups[0]"},
		{name: "12.1 editor session adds a group they are not in to a link", method: "PUT", path: tokensPath + "/" + editorSecret, as: "editor-session", body: map[string]any{"groups": []string{"day"}}, status: 400, kind: "ValidationError", field: "groups[0]"},
		{name: "12.1 editor session invites into a group they are not in", method: "POST", path: "/v1/userInvitations", as: "editor-session", body: map[string]any{"invitedEmail": "sneak@example.com", "groups": []string{"day"}}, status: 400, kind: "ValidationError", field: "groups[0]"},
		{name: "12.1 editor session invites into a group they are not in (DoiT)", method: "POST", path: "/api/admin/users/invite", as: "editor-session", body: map[string]any{"email": "sneak@example.com", "groups": []string{"day"}}, status: 400, doit: true, msg: []string{"groups[0]", "not one of your groups"}},
		{name: "12.1 editor session lists links and sees a day link's secret", method: "GET", path: tokensPath, as: "editor-session", status: 200, absent: []string{daySecret}},
		{name: "12.1 editor session reads a day link", method: "GET", path: tokensPath + "/" + daySecret, as: "editor-session", status: 404, kind: "NotFoundError"},
		{name: "12.1 editor session re-enables a day link", method: "PUT", path: tokensPath + "/" + daySecret, as: "editor-session", body: map[string]any{"enabled": true}, status: 404, kind: "NotFoundError"},
		{name: "12.1 editor session extends a day link", method: "PUT", path: tokensPath + "/" + daySecret, as: "editor-session", body: map[string]any{"expiresAt": "2100-01-01T00:00:00Z"}, status: 404, kind: "NotFoundError"},
		{name: "12.1 editor session reads a day invitation", method: "GET", path: "/v1/userInvitations/" + dayInvID, as: "editor-session", status: 404, kind: "NotFoundError"},
		{name: "12.1 editor session resends a day invitation", method: "POST", path: "/v1/userInvitations/" + dayInvID + "/resend", as: "editor-session", status: 404, kind: "NotFoundError"},
		{name: "12.1 editor session lists invitations", method: "GET", path: "/v1/userInvitations", as: "editor-session", status: 200, absent: []string{"dawn@example.com"}},
		{name: "12.1 editor session puts itself in a group", method: "PUT", path: "/api/admin/user-admin/" + eddieID, as: "editor-session", body: map[string]any{"groups": []string{"night", "day"}}, status: 403, kind: "NoAccessError"},
		{name: "12.1 editor session makes a group", method: "POST", path: "/api/admin/groups", as: "editor-session", body: map[string]any{"name": "mine"}, status: 403, kind: "NoAccessError"},

		// 10.11: strict JSON everywhere.
		{name: "10.11 link name of the wrong type", method: "POST", path: tokensPath, as: "admin", body: `{"name": 5, "expiresAt": "` + e2eFuture + `"}`, status: 400, kind: "ValidationError", field: "name"},
		{name: "10.11 enabled as a string", method: "PUT", path: tokensPath + "/" + viewerSecret, as: "admin", body: `{"enabled": "yes"}`, status: 400, kind: "ValidationError", field: "enabled"},
		{name: "10.11 invitedEmail as a number", method: "POST", path: "/v1/userInvitations", as: "admin", body: `{"invitedEmail": 1}`, status: 400, kind: "ValidationError", field: "invitedEmail"},
		{name: "10.11 DoiT email as a list", method: "POST", path: "/api/admin/users/invite", as: "admin", body: `{"email": ["a@example.com"]}`, status: 400, doit: true, msg: []string{"email"}},
		{name: "10.11 login username as a number", method: "POST", path: "/auth/simple/login", body: `{"username": 1, "password": "x"}`, status: 400, kind: "ValidationError", field: "username"},
		{name: "10.11 invitation state filter that is no state", method: "GET", path: "/v1/userInvitations?state=PEND", as: "admin", status: 400, kind: "ValidationError", field: "state"},
	}

	// 10.2: one request of each kind the raw rows send, so that the
	// series they may legitimately add (per status) exist before counting.
	rawRequest(t, p, "WARMUP", "/no/such/path")
	rawRequest(t, p, "WARMUP", "/health")
	seriesBefore, _ := scrapeMetrics(t, p)
	for _, a := range rows {
		t.Run(a.name, func(t *testing.T) {
			var status int
			var respBody []byte
			switch {
			case a.raw:
				status, respBody = rawRequest(t, p, a.method, a.path)
			case a.as == "editor-session":
				status, _, respBody = doCookie(t, a.method, p.URL+a.path, editorSession, a.body)
			default:
				auth := map[string]string{"": "", "admin": e2eAdminKey, "editor": editorKey}[a.as]
				status, _, respBody = do(t, a.method, p.URL+a.path, auth, a.body)
			}
			switch {
			case a.doit:
				wantStatus(t, a.name, status, a.status, respBody)
				msg, _ := object(t, a.name, respBody)["error"].(string)
				for _, part := range a.msg {
					if !strings.Contains(strings.ToLower(msg), strings.ToLower(part)) {
						t.Errorf("%s: error %q does not say %q", a.name, msg, part)
					}
				}
			case a.kind != "":
				e := wantError(t, a.name, status, respBody, a.status, a.kind, a.msg...)
				if a.field != "" {
					wantDetail(t, a.name, e, a.field)
				}
			default:
				wantStatus(t, a.name, status, a.status, respBody)
			}
			for _, s := range a.absent {
				if strings.Contains(strings.ToLower(string(respBody)), strings.ToLower(s)) {
					t.Errorf("%s: the answer holds %q:\n%s", a.name, s, respBody)
				}
			}
		})
	}

	// 10.2: the raw rows added no series: every one they may count in
	// (the "other" label, by status) existed before them, and no series
	// names a method that came from a client.
	seriesAfter, _ := scrapeMetrics(t, p)
	for k := range seriesAfter {
		if strings.Contains(k, `route="other"`) && !seriesBefore[k] || strings.Contains(k, "MMMM") {
			t.Errorf("a series made by the raw rows: %.200s", k)
		}
	}

	// 10.1: nothing an Editor tried changed the Admin link or invitation.
	if got := getLink(t, p, adminSecret); got["enabled"] != false || got["expiresAt"] != adminLink["expiresAt"] {
		t.Errorf("the Admin link changed under an Editor: %v", got)
	}
	if got := getInvitation(t, p, adminInvID); got["state"] != "PENDING" {
		t.Errorf("the Admin invitation changed under an Editor: %v", got)
	}
	// 12.1: nor the day link, the Editor's own link or the day invitation.
	if got := getLink(t, p, daySecret); got["enabled"] != false {
		t.Errorf("the day link changed under an Editor: %v", got)
	}
	if got := getLink(t, p, editorSecret); fmt.Sprint(got["groups"]) != "[]" {
		t.Errorf("the Editor's link got groups: %v", got["groups"])
	}
	if got := getInvitation(t, p, dayInvID); got["state"] != "PENDING" {
		t.Errorf("the day invitation changed under an Editor: %v", got)
	}
}

// TestE2ELoginRedirectAndDisabledAttacks replays, against the real binary,
// the attacks on /login's rd (issue 12 item 3: never a redirect off-site,
// never the hostile text in the page) and on disabled users (item 4: an
// old session cookie, the address taken again, a password oracle).
func TestE2ELoginRedirectAndDisabledAttacks(t *testing.T) {
	t.Parallel()
	p := startServer(t, t.TempDir(), "INVITED_SERVER_BASE_URL=https://invite.example.com", "INVITED_AUTH_COOKIE_DOMAIN=.Example.com")
	link := createLink(t, p, map[string]any{"name": "team", "expiresAt": e2eFuture})
	secret := link["secret"].(string)
	status, _, body := do(t, "POST", signupURL(p, secret), "", signupJSON("rita@example.com", "rita", "Rita Redirect"))
	wantStatus(t, "rita signs up", status, 200, body)

	noFollow := &http.Client{Timeout: 30 * time.Second, Transport: e2eClient.Transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	page := func(method, path string, form url.Values) (int, http.Header, string) {
		t.Helper()
		var r io.Reader
		if form != nil {
			r = strings.NewReader(form.Encode())
		}
		req, err := http.NewRequest(method, p.URL+path, r)
		if err != nil {
			t.Fatal(err)
		}
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		resp, err := noFollow.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		checkOpenAPI(t, method, p.URL+path, resp.StatusCode, resp.Header, data)
		return resp.StatusCode, resp.Header, string(data)
	}

	for _, rd := range []string{
		"//evil.example", "///evil.example", "https://evil.example/", "http://evil.example@invite.example.com/",
		"https://invite.example.com.evil.example/", "https://invite.example.com@evil.example/",
		"https://invite.example.com:443@evil.example/", "javascript:alert(1)", "JaVaScRiPt:alert(1)",
		"data:text/html,<script>alert(1)</script>", `\\evil.example`, `/\evil.example`, `\/evil.example`,
		"https:evil.example", "%2F%2Fevil.example", "%252F%252Fevil.example", "https://evil.example%2F@invite.example.com/",
		"/\t/evil.example", "java\nscript:alert(1)", `"><script>alert(1)</script>`, "https://іnvite.example.com/",
		"/" + strings.Repeat("x", 3000),
	} {
		t.Run("12.3 rd "+strings.ToValidUTF8(rd[:min(len(rd), 40)], "?"), func(t *testing.T) {
			status, _, html := page("GET", "/login?rd="+url.QueryEscape(rd), nil)
			if status != 200 || strings.Contains(html, `name="rd"`) || strings.Contains(html, "evil.example") ||
				strings.Contains(html, "<script>") || strings.Contains(strings.ToLower(html), "javascript:") {
				t.Errorf("the login page carries the hostile rd: %d\n%s", status, html)
			}
			status, header, _ := page("POST", "/login", url.Values{"username": {"rita"}, "password": {e2ePassword}, "rd": {rd}})
			if status != 303 || header.Get("Location") != "/account" {
				t.Errorf("after login: %d to %q, want 303 to /account", status, header.Get("Location"))
			}
		})
	}
	t.Run("12.3 a safe rd is followed, and the cookie is for the parent domain", func(t *testing.T) {
		status, _, html := page("GET", "/login?rd="+url.QueryEscape("/account?from=app"), nil)
		if status != 200 || !strings.Contains(html, `name="rd" value="/account?from=app"`) {
			t.Fatalf("login page: %d\n%s", status, html)
		}
		status, header, _ := page("POST", "/login", url.Values{"username": {"rita"}, "password": {e2ePassword}, "rd": {"https://invite.example.com/account?from=app"}})
		if status != 303 || header.Get("Location") != "https://invite.example.com/account?from=app" {
			t.Errorf("after login: %d to %q", status, header.Get("Location"))
		}
		if c := header.Get("Set-Cookie"); !strings.Contains(c, "Domain=example.com") {
			t.Errorf("session cookie %q, want Domain=example.com", c)
		}
	})

	t.Run("12.4 disabled user", func(t *testing.T) {
		cookie := sessionCookie(t, p, "rita", e2ePassword)
		id := fmt.Sprint(int(object(t, "rita", mustDo(t, "GET", p.URL+"/api/admin/user", cookie))["id"].(float64)))
		status, _, body := do(t, "POST", p.URL+"/api/admin/user-admin/"+id+"/disable", e2eAdminKey, nil)
		wantStatus(t, "disable rita", status, 200, body)
		wantField(t, "disabled rita", object(t, "disabled rita", body), "disabled", true)
		status, _, body = doCookie(t, "GET", p.URL+"/api/admin/user", cookie, nil)
		wantError(t, "rita's old session", status, body, 401, "AuthenticationRequired")
		_, _, unknown := do(t, "POST", p.URL+"/auth/simple/login", "", map[string]any{"username": "nobody", "password": "wrong-Guess-1"})
		status, _, body = do(t, "POST", p.URL+"/auth/simple/login", "", map[string]any{"username": "rita", "password": "wrong-Guess-1"})
		wrong := wantError(t, "wrong password, disabled", status, body, 401, "AuthenticationRequired")
		if wrong["message"] != object(t, "unknown", unknown)["message"] {
			t.Errorf("a wrong password of a disabled account reads %q, unlike an unknown one's %s", wrong["message"], unknown)
		}
		status, _, body = do(t, "POST", p.URL+"/auth/simple/login", "", map[string]any{"username": "rita", "password": e2ePassword})
		wantError(t, "right password, disabled", status, body, 403, "NoAccessError", "disabled")
		status, _, body = do(t, "POST", signupURL(p, secret), "", signupJSON("Rita@Example.com", "rita2", "Rita Again"))
		wantError(t, "sign up again with the address", status, body, 409, "NameExistsError")
		status, _, body = do(t, "POST", p.URL+"/api/admin/user-admin/"+id+"/enable", e2eAdminKey, map[string]any{})
		wantStatus(t, "enable rita", status, 200, body)
		status, _, body = doCookie(t, "GET", p.URL+"/api/admin/user", cookie, nil)
		wantError(t, "the old session after enabling", status, body, 401, "AuthenticationRequired")
		sessionCookie(t, p, "rita", e2ePassword)
	})
}

// mustDo is do with a cookie, for a request that must succeed.
func mustDo(t *testing.T, method, url, cookie string) []byte {
	t.Helper()
	status, _, body := doCookie(t, method, url, cookie, nil)
	wantStatus(t, method+" "+url, status, 200, body)
	return body
}

// TestE2EGateAttacks: what a client can try against the forward-auth gate
// of the real binary (issue 12 item 3). Forged Remote-* headers never
// reach the answer; a forged, foreign or missing session is never let
// through; hostile X-Forwarded-* and X-Original-* values are refused
// (403) without being echoed and never turned into a login link; the
// gate is not rate-limited, so a team's traffic is not throttled.
func TestE2EGateAttacks(t *testing.T) {
	t.Parallel()
	p := startServer(t, t.TempDir(), "INVITED_SERVER_BASE_URL=https://invite.example.com", "INVITED_LIMITS_PUBLIC_PER_MINUTE=5", "INVITED_LIMITS_AUTH_PER_MINUTE=5")
	_, vic, _, _ := gateTeam(t, p)
	const fa, ar = "/api/authz/forward-auth", "/api/authz/auth-request"
	forged := []string{"Remote-User", "admin", "Remote-Groups", "ops", "Remote-Role", "Admin", "Remote-Email", "admin@example.com", "Remote-Name", "Admin"}

	t.Run("12.3 forged Remote-* headers with no session", func(t *testing.T) {
		status, header, _ := askGate(t, p, "GET", fa, "", caddyHeaders("GET", "ops.example.com", "/", forged...)...)
		if status != 302 || header.Get("Remote-User") != "" || header.Get("Remote-Groups") != "" {
			t.Errorf("%d %v", status, header)
		}
	})
	t.Run("12.3 forged Remote-* headers with vic's session", func(t *testing.T) {
		status, header, body := askGate(t, p, "GET", fa, vic, caddyHeaders("GET", "open.example.com", "/", forged...)...)
		wantStatus(t, "vic on open", status, 200, body)
		if header.Get("Remote-User") != "vic" || header.Get("Remote-Groups") != "" || header.Get("Remote-Role") != "Viewer" || len(header.Values("Remote-User")) != 1 {
			t.Errorf("the forged headers reached the answer: %v", header)
		}
		status, _, body = askGate(t, p, "GET", fa, vic, caddyHeaders("GET", "ops.example.com", "/", forged...)...)
		wantError(t, "vic forges his way to ops", status, body, 403, "NoAccessError")
	})
	for _, cookie := range []string{"invited_session=forged", "invited_session=" + strings.Repeat("a", 64), "invited_session=" + strings.TrimPrefix(vic, "invited_session=") + "x"} {
		t.Run("12.3 a forged session "+cookie[:min(len(cookie), 30)], func(t *testing.T) {
			if status, _, body := askGate(t, p, "GET", ar, cookie, nginxHeaders("GET", "https://open.example.com/")...); status != 401 {
				t.Errorf("%d %s, want 401", status, body)
			}
		})
	}
	for _, c := range []struct{ what, host, uri, proto string }{
		{"userinfo host", "evil.example@open.example.com", "/", "https"},
		{"a host with a path", "open.example.com/evil.example", "/", "https"},
		{"two hosts", "open.example.com,evil.example", "/", "https"},
		{"a host with a space", "open.example.com evil.example", "/", "https"},
		{"a bad port", "open.example.com:evil", "/", "https"},
		{"a unicode lookalike host", "оpen.example.com", "/", "https"},
		{"a scheme-relative uri", "open.example.com", "//evil.example/", "https"},
		{"an absolute uri", "open.example.com", "https://evil.example/", "https"},
		{"a backslash uri", "open.example.com", `/\evil.example`, "https"},
		{"a javascript proto", "open.example.com", "/", "javascript"},
		{"no proto", "open.example.com", "/", ""},
		{"no host", "", "/", "https"},
		{"no uri", "open.example.com", "", "https"},
		{"a huge uri", "open.example.com", "/" + strings.Repeat("x", 9000), "https"},
	} {
		t.Run("12.3 forward-auth "+c.what, func(t *testing.T) {
			h := []string{"X-Forwarded-Method", "GET", "Accept", "text/html"}
			for _, kv := range [][2]string{{"X-Forwarded-Host", c.host}, {"X-Forwarded-Uri", c.uri}, {"X-Forwarded-Proto", c.proto}} {
				if kv[1] != "" {
					h = append(h, kv[0], kv[1])
				}
			}
			for _, cookie := range []string{"", vic} {
				status, header, body := askGate(t, p, "GET", fa, cookie, h...)
				wantError(t, c.what, status, body, 403, "NoAccessError")
				if header.Get("Location") != "" || strings.Contains(string(body), "evil") || header.Get("Remote-User") != "" {
					t.Errorf("%s: Location %q, body %s", c.what, header.Get("Location"), body)
				}
			}
		})
	}
	for _, raw := range []string{"/relative", "//evil.example/", "javascript:alert(1)", "ftp://open.example.com/", "https://evil.example@open.example.com/",
		"https://open.example.com\\@evil.example/", "https://open.example.com.evil.example/", "https:open.example.com"} {
		t.Run("12.3 auth-request "+raw, func(t *testing.T) {
			status, header, body := askGate(t, p, "GET", ar, "", nginxHeaders("GET", raw)...)
			wantError(t, raw, status, body, 403, "NoAccessError")
			if header.Get("Location") != "" || strings.Contains(string(body), "evil") {
				t.Errorf("Location %q, body %s", header.Get("Location"), body)
			}
		})
	}
	t.Run("12.3 no rate limit on the gate", func(t *testing.T) {
		// The public and auth limits are 5 a minute here; 40 asks from
		// one address, as a proxy makes for a page and its assets, all pass.
		for i := range 40 {
			if status, _, body := askGate(t, p, "GET", fa, vic, caddyHeaders("GET", "open.example.com", fmt.Sprintf("/asset/%d.js", i))...); status != 200 {
				t.Fatalf("ask %d: %d %s", i, status, body)
			}
		}
	})
}
