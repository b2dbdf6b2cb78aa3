package main

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// sessionCookie logs in through the API and returns the Cookie header value.
func sessionCookie(t *testing.T, p *proc, login, password string) string {
	t.Helper()
	status, header, body := do(t, "POST", p.URL+"/auth/simple/login", "", map[string]any{"username": login, "password": password})
	wantStatus(t, "login "+login, status, 200, body)
	for _, c := range (&http.Response{Header: header}).Cookies() {
		if c.Name == "invited_session" && c.Value != "" {
			if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode {
				t.Errorf("session cookie %+v: want HttpOnly and SameSite=Lax", c)
			}
			return c.Name + "=" + c.Value
		}
	}
	t.Fatalf("login %s set no session cookie", login)
	return ""
}

// TestE2ELoginLockoutAndUserAdmin runs the account life cycle against the
// real binary: login, the same answer for unknown users and wrong
// passwords, throttling (the right password in a wait reads exactly like
// a wrong one) and unlock, sessions acting with their role, logout, and
// the last-Admin rule. That waits grow and end is shown on the store's
// clock in db (TestLoginThrottling).
func TestE2ELoginLockoutAndUserAdmin(t *testing.T) {
	t.Parallel()
	// The third failure starts a wait of 1 minute (capped at 10), far
	// longer than this test's next requests take.
	p := startServer(t, t.TempDir(), "INVITED_AUTH_MAX_LOGIN_ATTEMPTS=3", "INVITED_AUTH_LOCKOUT_MAX=10m")
	admins := createLink(t, p, map[string]any{"name": "admins", "expiresAt": e2eFuture, "role": "Admin"})["secret"].(string)
	status, _, body := do(t, "POST", signupURL(p, admins), "", signupJSON("boss@example.com", "boss", "The Boss"))
	wantStatus(t, "admin signup", status, 200, body)
	bossID := object(t, "admin", body)["id"].(float64)

	errorID := regexp.MustCompile(`"id":"[0-9a-f-]{36}"`)
	// login answers a refused login as its status and its body without
	// the error id, the one part that differs between two equal answers.
	login := func(name, password string) (int, string) {
		status, header, body := do(t, "POST", p.URL+"/auth/simple/login", "", map[string]any{"username": name, "password": password})
		if strings.Contains(header.Get("Set-Cookie"), "invited_session=") && status != 200 {
			t.Errorf("refused login %s set a session cookie", name)
		}
		return status, errorID.ReplaceAllString(string(body), `"id":"…"`)
	}
	s0, b0 := login("boss", "wrong password here")
	if s0 != 401 || !strings.Contains(b0, "Wrong username or password") {
		t.Fatalf("wrong password: %d %s", s0, b0)
	}
	for _, c := range []struct{ what, name, password string }{
		{"unknown user", "nobody@example.com", "wrong password here"},
		{"second failure", "BOSS@example.com", "wrong again"},
		{"third failure, which starts a wait", "boss", "third wrong"},
		{"right password in the wait", "boss", e2ePassword},
		{"wrong password in the wait", "boss@example.com", "fourth wrong"},
	} {
		if s, b := login(c.name, c.password); s != s0 || b != b0 {
			t.Fatalf("%s: %d %s\nwant the wrong-password answer %d %s", c.what, s, b, s0, b0)
		}
	}
	path := fmt.Sprintf("%s/api/admin/user-admin/%.0f", p.URL, bossID)
	status, _, body = do(t, "GET", path, e2eAdminKey, nil)
	wantStatus(t, "waiting user", status, 200, body)
	wantField(t, "waiting user", object(t, "waiting user", body), "loginAttempts", 5.0)
	status, _, body = do(t, "POST", path+"/unlock", e2eAdminKey, nil)
	wantStatus(t, "unlock", status, 200, body)
	wantField(t, "unlock", object(t, "unlock", body), "loginAttempts", 0.0)

	cookie := sessionCookie(t, p, "Boss@Example.com", e2ePassword)
	status, _, body = doCookie(t, "GET", p.URL+"/api/admin/user", cookie, nil)
	wantStatus(t, "self", status, 200, body)
	self := object(t, "self", body)
	wantField(t, "self", self, "loginAttempts", 0.0)
	if self["seenAt"] == nil {
		t.Error("a good login must set seenAt")
	}
	// The Admin session manages users like an admin key; the last Admin
	// can be neither demoted nor deleted.
	status, _, body = doCookie(t, "PUT", path, cookie, map[string]any{"rootRole": 3})
	wantError(t, "demote the last admin", status, body, 400, "ValidationError", "last Admin")
	status, _, body = doCookie(t, "DELETE", path, cookie, nil)
	wantError(t, "delete the last admin", status, body, 400, "ValidationError", "last Admin")
	status, _, body = doCookie(t, "GET", p.URL+"/api/admin/user-admin?limit=1&offset=0", cookie, nil)
	wantStatus(t, "list users", status, 200, body)
	wantField(t, "list users", object(t, "list", body), "total", 1.0)

	// Logout ends the session.
	status, _, body = doCookie(t, "POST", p.URL+"/auth/logout", cookie, nil)
	wantStatus(t, "logout", status, 204, body)
	status, _, body = doCookie(t, "GET", p.URL+"/api/admin/user", cookie, nil)
	wantError(t, "self after logout", status, body, 401, "AuthenticationRequired")

	// The audit log has the lockout and the unlock, newest first.
	status, _, body = do(t, "GET", p.URL+"/api/admin/events?limit=100", e2eAdminKey, nil)
	wantStatus(t, "events", status, 200, body)
	text := string(body)
	if i, j := strings.Index(text, `"user-unlocked"`), strings.Index(text, `"user-locked"`); i < 0 || j < 0 || i > j {
		t.Errorf("events lack the lockout and unlock in order: %s", text)
	}
}
