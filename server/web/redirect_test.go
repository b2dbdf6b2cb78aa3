package web_test

import (
	"fmt"
	"html"
	"net/url"
	"strings"
	"testing"

	"invited/db"
	"invited/server"
)

// TestLoginRedirect: /login carries a safe rd through its form and, after
// a good login, sends the browser there (303); a hostile rd is dropped
// from the page and the login lands on /account.
func TestLoginRedirect(t *testing.T) {
	ts := mustServerWith(t, func(o *server.Options) { o.BaseURL = "https://invite.example.com" })
	u := ts.mustUser(t, db.RoleViewer)

	safe := map[string]string{
		"/some/app?x=1&y=2":                    "/some/app?x=1&y=2",
		"https://invite.example.com/account":   "https://invite.example.com/account",
		"HTTPS://INVITE.example.com:443/a?b#c": "https://invite.example.com/a?b#c",
	}
	for rd, want := range safe {
		p := ts.page(t, "GET", "/login?rd="+url.QueryEscape(rd), "", nil)
		hidden := fmt.Sprintf(`<input type="hidden" name="rd" value="%s">`, html.EscapeString(want))
		if p.StatusCode != 200 || !strings.Contains(p.body, hidden) {
			t.Errorf("login page with rd %q: %d, want %s in\n%s", rd, p.StatusCode, hidden, p.body)
		}
		p = ts.page(t, "POST", "/login", "", url.Values{"username": {u.Email}, "password": {testPassword}, "rd": {rd}})
		if p.StatusCode != 303 || p.Header.Get("Location") != want {
			t.Errorf("login with rd %q: %d to %q, want %q", rd, p.StatusCode, p.Header.Get("Location"), want)
		}
	}
	// A wrong password shows the form again with rd still in it.
	p := ts.page(t, "POST", "/login", "", url.Values{"username": {u.Email}, "password": {"wrong"}, "rd": {"/some/app"}})
	if p.StatusCode != 401 || !strings.Contains(p.body, `name="rd" value="/some/app"`) {
		t.Errorf("wrong password with rd: %d\n%s", p.StatusCode, p.body)
	}

	hostile := []string{
		"//evil.example", "https://evil.example/", `/\evil.example`, "javascript:alert(1)",
		"https://invite.example.com@evil.example/", `"><script>alert(1)</script>`,
		"https://invite.example.com.evil.example/", "/\t/evil.example", "data:text/html,<b>x</b>",
	}
	for _, rd := range hostile {
		p := ts.page(t, "GET", "/login?rd="+url.QueryEscape(rd), "", nil)
		if p.StatusCode != 200 || strings.Contains(p.body, `name="rd"`) || strings.Contains(p.body, "evil.example") || strings.Contains(p.body, "<script>") {
			t.Errorf("login page with hostile rd %q: %d\n%s", rd, p.StatusCode, p.body)
		}
		p = ts.page(t, "POST", "/login", "", url.Values{"username": {u.Email}, "password": {testPassword}, "rd": {rd}})
		if p.StatusCode != 303 || p.Header.Get("Location") != "/account" {
			t.Errorf("login with hostile rd %q: %d to %q, want /account", rd, p.StatusCode, p.Header.Get("Location"))
		}
	}
}

// TestLoginPageDisabledUser: the right password of a disabled account is
// told so, with no session; a wrong one gets the wrong-password page.
func TestLoginPageDisabledUser(t *testing.T) {
	ts := mustServer(t)
	u := ts.mustUser(t, db.RoleViewer)
	wrongBefore := ts.page(t, "POST", "/login", "", url.Values{"username": {u.Email}, "password": {"wrong"}})
	if _, err := ts.store.DisableUser(db.SystemActor, u.ID); err != nil {
		t.Fatal(err)
	}
	p := ts.page(t, "POST", "/login", "", url.Values{"username": {u.Email}, "password": {testPassword}})
	if p.StatusCode != 403 || !strings.Contains(p.body, "This account is disabled") {
		t.Errorf("right password, disabled: %d\n%s", p.StatusCode, p.body)
	}
	for _, c := range p.Cookies() {
		if c.Name == sessionCookie && c.Value != "" {
			t.Error("a disabled account got a session")
		}
	}
	wrong := ts.page(t, "POST", "/login", "", url.Values{"username": {u.Email}, "password": {"wrong"}})
	if wrong.StatusCode != wrongBefore.StatusCode || wrong.body != wrongBefore.body {
		t.Errorf("wrong password, disabled: %d\n%s\nwant as before: %d\n%s", wrong.StatusCode, wrong.body, wrongBefore.StatusCode, wrongBefore.body)
	}
}
