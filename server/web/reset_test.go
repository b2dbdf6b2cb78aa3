package web_test

import (
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"invited/db"
)

// TestForgotAndResetPages: /login links to /forgot-password; its answer is
// the same page for every address; the emailed link's page sets the
// password with field errors shown, sends to /login with a notice, and is
// then the used-or-expired page. No page runs script.
func TestForgotAndResetPages(t *testing.T) {
	ts := mustServer(t)
	u := ts.mustUser(t, db.RoleViewer)
	old := ts.login(t, u.Email, testPassword)

	login := ts.page(t, "GET", "/login", "", nil)
	if !strings.Contains(login.body, `href="/forgot-password"`) {
		t.Fatalf("/login does not link to /forgot-password:\n%s", login.body)
	}
	forgot := ts.page(t, "GET", "/forgot-password", "", nil)
	if forgot.StatusCode != 200 || !strings.Contains(forgot.body, `action="/forgot-password"`) ||
		!strings.Contains(forgot.Header.Get("Content-Security-Policy"), "default-src 'none'") || strings.Contains(forgot.body, "<script") {
		t.Fatalf("forgot page: %d %v\n%s", forgot.StatusCode, forgot.Header, forgot.body)
	}
	var answers []string
	for _, email := range []string{"nobody@example.com", u.Email, "<b>x</b>"} {
		p := ts.page(t, "POST", "/forgot-password", "", url.Values{"email": {email}})
		if p.StatusCode != 200 || !strings.Contains(p.body, "Check your email") || strings.Contains(p.body, "<b>x</b>") {
			t.Fatalf("%q: %d\n%s", email, p.StatusCode, p.body)
		}
		answers = append(answers, strings.ReplaceAll(p.body, html.EscapeString(email), ""))
	}
	if answers[0] != answers[1] {
		t.Errorf("an unknown and a known address get different pages:\n%s\n---\n%s", answers[0], answers[1])
	}
	if p := ts.page(t, "POST", "/forgot-password", "", url.Values{"email": {" "}}); p.StatusCode != 400 || !strings.Contains(p.body, "Email is required") {
		t.Errorf("empty: %d", p.StatusCode)
	}
	// A cross-site post is refused before anything is sent.
	if p := ts.page(t, "POST", "/forgot-password", "", url.Values{"email": {u.Email}}, "Sec-Fetch-Site", "cross-site"); p.StatusCode != 403 {
		t.Errorf("cross-site: %d", p.StatusCode)
	}

	emails, _, _ := ts.store.ListOutbox(0, 10)
	var token string
	for _, e := range emails {
		if e.Kind == db.EmailResetPassword && e.To == u.Email {
			token = e.Token
		}
	}
	if token == "" || len(emails) != 1 {
		t.Fatalf("emails %+v", emails)
	}
	path := "/reset-password/" + token
	p := ts.page(t, "GET", path, "", nil)
	if p.StatusCode != 200 || !strings.Contains(p.body, `value="`+u.Email+`"`) || !strings.Contains(p.body, `autocomplete="new-password"`) ||
		p.Header.Get("Cache-Control") != "no-store" || p.Header.Get("Referrer-Policy") != "same-origin" {
		t.Fatalf("reset page: %d %v\n%s", p.StatusCode, p.Header, p.body)
	}
	p = ts.page(t, "POST", path, "", url.Values{"password": {"password1"}, "password2": {"password1"}})
	if p.StatusCode != 400 || !strings.Contains(p.body, `id="password-error"`) {
		t.Fatalf("weak password: %d\n%s", p.StatusCode, p.body)
	}
	p = ts.page(t, "POST", path, "", url.Values{"password": {"amber kettle orbit meadow"}, "password2": {"amber kettle orbit"}})
	if p.StatusCode != 400 || !strings.Contains(p.body, `id="password2-error"`) {
		t.Fatalf("passwords differ: %d\n%s", p.StatusCode, p.body)
	}
	p = ts.page(t, "POST", path, old, url.Values{"password": {"amber kettle orbit meadow"}, "password2": {"amber kettle orbit meadow"}})
	if p.StatusCode != http.StatusSeeOther || p.Header.Get("Location") != "/login?reset" {
		t.Fatalf("reset: %d %v\n%s", p.StatusCode, p.Header, p.body)
	}
	if c := p.Header.Get("Set-Cookie"); !strings.Contains(c, sessionCookie+"=;") {
		t.Errorf("the browser's cookie is not cleared: %q", c)
	}
	if p := ts.page(t, "GET", "/account", old, nil); p.StatusCode != http.StatusSeeOther {
		t.Errorf("the old session lives on: %d", p.StatusCode)
	}
	if p := ts.page(t, "GET", "/login?reset", "", nil); !strings.Contains(p.body, "Log in with the new password") {
		t.Errorf("no notice on /login?reset")
	}
	ts.login(t, u.Email, "amber kettle orbit meadow")

	for _, dead := range []string{path, "/reset-password/" + strings.Repeat("0", 64), "/reset-password/%3Cscript%3E"} {
		p := ts.page(t, "GET", dead, "", nil)
		if p.StatusCode != 404 || !strings.Contains(p.body, "used or expired") || !strings.Contains(p.body, `href="/forgot-password"`) || strings.Contains(p.body, "<script>") {
			t.Errorf("%s: %d\n%s", dead, p.StatusCode, p.body)
		}
	}
	if p := ts.page(t, "POST", path, "", url.Values{"password": {"x"}}); p.StatusCode != 404 {
		t.Errorf("posting to a used link: %d", p.StatusCode)
	}
}

// TestResetPageDisabledAccount: a live link of a disabled account shows
// an error page that says so, on GET and POST, and sets nothing.
func TestResetPageDisabledAccount(t *testing.T) {
	ts := mustServer(t)
	u := ts.mustUser(t, db.RoleViewer)
	secret, _, err := ts.store.CreateResetLink(db.SystemActor, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.store.DisableUser(db.SystemActor, u.ID); err != nil {
		t.Fatal(err)
	}
	for _, method := range []string{"GET", "POST"} {
		var form url.Values
		if method == "POST" {
			form = url.Values{"password": {"amber kettle orbit meadow"}, "password2": {"amber kettle orbit meadow"}}
		}
		p := ts.page(t, method, "/reset-password/"+secret, "", form)
		if p.StatusCode != 403 || !strings.Contains(p.body, "This account is disabled") || strings.Contains(p.body, `name="password"`) {
			t.Errorf("%s: %d\n%s", method, p.StatusCode, p.body)
		}
	}
	if events, _, _ := ts.store.ListEvents(db.EventPasswordReset, 0, 10); len(events) != 0 {
		t.Errorf("events %+v", events)
	}
}
