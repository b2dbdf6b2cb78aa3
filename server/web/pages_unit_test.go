package web_test

import (
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"invited/db"
	"invited/server"
)

func TestPageHeaders(t *testing.T) {
	ts := mustServer(t)
	link := ts.mustLink(t, db.NewSignupToken{})
	inv := ts.mustInvitation(t)
	u := ts.mustUser(t, db.RoleViewer)
	cookie := ts.login(t, u.Email, testPassword)
	for _, tc := range []struct{ name, path, cookie string }{
		{"signup", "/new-user?invite=" + link.Secret, ""},
		{"dead signup", "/new-user?invite=nope", ""},
		{"invitation", "/invitations/" + inv.Token, ""},
		{"login", "/login", ""},
		{"account", "/account", cookie},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := ts.page(t, "GET", tc.path, tc.cookie, nil)
			want := map[string]string{
				"Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
				"X-Content-Type-Options":  "nosniff",
				"Referrer-Policy":         "same-origin",
				"Cache-Control":           "no-store",
				"Content-Type":            "text/html; charset=utf-8",
			}
			for k, v := range want {
				if got := p.Header.Get(k); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
			if strings.Contains(strings.ToLower(p.body), "<script") {
				t.Error("the page holds script")
			}
			for _, s := range []string{`<meta name="viewport"`, `<link rel="stylesheet" href="` + pageCSSPath + `">`, `<html lang="en">`} {
				if !strings.Contains(p.body, s) {
					t.Errorf("page lacks %s", s)
				}
			}
		})
	}
}

func TestStylesheetIsCachedByHash(t *testing.T) {
	ts := mustServer(t)
	p := ts.page(t, "GET", pageCSSPath, "", nil)
	if p.StatusCode != 200 || !strings.HasPrefix(p.Header.Get("Content-Type"), "text/css") {
		t.Fatalf("stylesheet: %d %q", p.StatusCode, p.Header.Get("Content-Type"))
	}
	if cc := p.Header.Get("Cache-Control"); !strings.Contains(cc, "max-age=31536000") || !strings.Contains(cc, "immutable") {
		t.Errorf("Cache-Control %q, want a year and immutable", cc)
	}
	if !strings.Contains(p.body, "prefers-color-scheme: dark") {
		t.Error("the stylesheet has no dark scheme")
	}
	if p := ts.page(t, "GET", "/static/style.css", "", nil); p.StatusCode != 404 {
		t.Errorf("unhashed name: %d, want 404", p.StatusCode)
	}
}

func TestSignupPageDeadLinks(t *testing.T) {
	ts := mustServer(t)
	admin := db.Actor{Kind: "apikey", Name: "t", Role: db.RoleAdmin}
	disabled := ts.mustLink(t, db.NewSignupToken{})
	off := false
	if _, err := ts.store.UpdateSignupToken(admin, disabled.Secret, db.SignupTokenUpdate{Enabled: &off}); err != nil {
		t.Fatal(err)
	}
	expired := ts.mustLink(t, db.NewSignupToken{})
	past := time.Now().Add(-time.Hour)
	if _, err := ts.store.UpdateSignupToken(admin, expired.Secret, db.SignupTokenUpdate{ExpiresAt: &past}); err != nil {
		t.Fatal(err)
	}
	usedUp := ts.mustLink(t, db.NewSignupToken{MaxUses: new(1)})
	if p := ts.page(t, "POST", "/new-user?invite="+usedUp.Secret, "", signupValues("first@example.com", testPassword, testPassword)); p.StatusCode != 200 {
		t.Fatalf("first signup: %d\n%s", p.StatusCode, p.body)
	}
	for _, tc := range []struct {
		name, query string
		status      int
		says        string
	}{
		{"unknown", "?invite=0123456789abcdef0123456789abcdef", 404, "not valid"},
		{"no secret", "", 404, "not valid"},
		{"disabled", "?invite=" + disabled.Secret, 410, "has been disabled"},
		{"expired", "?invite=" + expired.Secret, 410, "has expired"},
		{"used up", "?invite=" + usedUp.Secret, 410, "has been used up"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, method := range []string{"GET", "POST"} {
				var form url.Values
				if method == "POST" {
					form = signupValues("late@example.com", testPassword, testPassword)
				}
				p := ts.page(t, method, "/new-user"+tc.query, "", form)
				if p.StatusCode != tc.status || !strings.Contains(p.body, tc.says) || !strings.Contains(p.body, "for a new one") {
					t.Errorf("%s: %d, want %d saying %q and what to do:\n%s", method, p.StatusCode, tc.status, tc.says, p.body)
				}
			}
		})
	}
	if n, _ := ts.store.CountUsers(); n != 1 {
		t.Errorf("%d users, want only the first signup", n)
	}
}

func TestSignupFormOverHTTP(t *testing.T) {
	ts := mustServer(t)
	link := ts.mustLink(t, db.NewSignupToken{Name: "Spring cohort", Description: "Welcome to the spring cohort."})
	path := "/new-user?invite=" + link.Secret

	p := ts.page(t, "GET", path, "", nil)
	if p.StatusCode != 200 || !strings.Contains(p.body, "Welcome to the spring cohort.") || !strings.Contains(p.body, `action="`+path+`"`) {
		t.Fatalf("page: %d\n%s", p.StatusCode, p.body)
	}
	for _, s := range []string{`autocomplete="email"`, `autocomplete="name"`, `autocomplete="username"`, `autocomplete="new-password"`, `<label for="password2">`} {
		if !strings.Contains(p.body, s) {
			t.Errorf("form lacks %s", s)
		}
	}

	// Passwords that differ are refused before anything else, with the
	// other problems shown too and the typed values kept.
	form := signupValues("ada@example.com", "Tr0ub4dor&3 horse staple", "something else")
	form.Set("username", "a")
	p = ts.page(t, "POST", path, "", form)
	if p.StatusCode != 400 {
		t.Fatalf("mismatch: %d\n%s", p.StatusCode, p.body)
	}
	for _, s := range []string{
		`id="password2-error"`, `aria-describedby="password2-error"`, `aria-invalid="true"`, "does not match",
		`id="username-error"`, "Username must be 2 to 64 characters long", `role="alert"`,
		`value="ada@example.com"`, `value="Ada Lovelace"`, `value="a"`,
	} {
		if !strings.Contains(p.body, s) {
			t.Errorf("mismatch page lacks %s", s)
		}
	}
	if strings.Contains(p.body, "Tr0ub4dor") {
		t.Error("the page sends a password back")
	}

	p = ts.page(t, "POST", path, "", signupValues("ada@example.com", testPassword, testPassword))
	if p.StatusCode != 200 || !strings.Contains(p.body, "Welcome, Ada Lovelace") || !strings.Contains(p.body, `href="/login"`) {
		t.Fatalf("signup: %d\n%s", p.StatusCode, p.body)
	}
	u, err := ts.store.FindUserByLogin("ada")
	if err != nil || u.Email != "ada@example.com" || u.LinkID != link.ID {
		t.Fatalf("user %+v, %v", u, err)
	}

	// The same address again is the API's conflict, next to the email.
	form = signupValues("ADA@example.com", testPassword, testPassword)
	form.Set("username", "ada2")
	p = ts.page(t, "POST", path, "", form)
	if p.StatusCode != 409 || !strings.Contains(p.body, `id="email-error"`) || !strings.Contains(p.body, "already exists") {
		t.Errorf("taken email: %d\n%s", p.StatusCode, p.body)
	}
}

func TestSignupPageKeepsAllowedDomainsRule(t *testing.T) {
	ts := mustServer(t)
	link := ts.mustLink(t, db.NewSignupToken{AllowedDomains: []string{"example.org"}})
	p := ts.page(t, "POST", "/new-user?invite="+link.Secret, "", signupValues("ada@example.com", testPassword, testPassword))
	if p.StatusCode != 400 || !strings.Contains(p.body, "Email must be an address at example.org") {
		t.Errorf("outside domain: %d\n%s", p.StatusCode, p.body)
	}
}

func TestPagePostsFromOtherSitesRefused(t *testing.T) {
	ts := mustServer(t)
	link := ts.mustLink(t, db.NewSignupToken{})
	for _, path := range []string{"/new-user?invite=" + link.Secret, "/login", "/logout", "/account/password"} {
		p := ts.page(t, "POST", path, "", signupValues("x@example.com", testPassword, testPassword), "Sec-Fetch-Site", "cross-site")
		if p.StatusCode != 403 {
			t.Errorf("cross-site POST %s: %d, want 403", path, p.StatusCode)
		}
	}
	p := ts.page(t, "POST", "/new-user?invite="+link.Secret, "", signupValues("x@example.com", testPassword, testPassword),
		"Origin", "https://evil.example")
	if p.StatusCode != 403 {
		t.Errorf("POST with a foreign Origin: %d, want 403", p.StatusCode)
	}
	if n, err := ts.store.CountUsers(); err != nil || n != 0 {
		t.Fatalf("a cross-site POST: %d users, %v", n, err)
	}
	p = ts.page(t, "POST", "/new-user?invite="+link.Secret, "", signupValues("x@example.com", testPassword, testPassword), "Sec-Fetch-Site", "same-origin")
	if p.StatusCode != 200 {
		t.Errorf("same-origin POST: %d", p.StatusCode)
	}
}

func TestPageFormBodyCapped(t *testing.T) {
	ts := mustServer(t)
	link := ts.mustLink(t, db.NewSignupToken{})
	form := signupValues("big@example.com", testPassword, testPassword)
	form.Set("name", strings.Repeat("x", 70<<10))
	p := ts.page(t, "POST", "/new-user?invite="+link.Secret, "", form)
	if p.StatusCode != 413 || !strings.Contains(p.body, "64 KiB") {
		t.Errorf("big form: %d\n%s", p.StatusCode, p.body)
	}
}

func TestPagesLogNoSecrets(t *testing.T) {
	ts := mustServer(t)
	link := ts.mustLink(t, db.NewSignupToken{})
	inv := ts.mustInvitation(t)
	const password = "violet otter mandolin sunrise"
	pages := []pageResponse{
		ts.page(t, "GET", "/new-user?invite="+link.Secret, "", nil),
		ts.page(t, "POST", "/new-user?invite="+link.Secret, "", signupValues("ada@example.com", password, password+"x")),
		ts.page(t, "POST", "/new-user?invite="+link.Secret, "", signupValues("ada@example.com", password, password)),
		ts.page(t, "GET", "/invitations/"+inv.Token, "", nil),
		ts.page(t, "POST", "/invitations/"+inv.Token, "", url.Values{"name": {"I"}, "password": {password}, "password2": {password}}),
		ts.page(t, "POST", "/login", "", url.Values{"username": {"ada"}, "password": {password}}),
		ts.page(t, "POST", "/login", "", url.Values{"username": {"ada"}, "password": {password + "wrong"}}),
	}
	// No page sends a password back, in its body or its headers.
	for i, p := range pages {
		head, _ := json.Marshal(p.Header)
		if strings.Contains(p.body, password) || strings.Contains(string(head), password) {
			t.Errorf("page %d (%d) holds the password:\n%s\n%s", i, p.StatusCode, head, p.body)
		}
	}
	logs := ts.logs.String()
	for _, secret := range []string{link.Secret, inv.Token, password} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log holds a secret %q:\n%s", secret, logs)
		}
	}
	for _, route := range []string{"route=/new-user ", "route=/invitations/:token ", "route=/login "} {
		if !strings.Contains(logs, route) {
			t.Errorf("the log does not name %s:\n%s", route, logs)
		}
	}
}

func TestInvitationPageStates(t *testing.T) {
	ts := mustServer(t)
	inv, err := ts.store.CreateInvitation(db.SystemActor, db.NewInvitation{
		Email: "grace@example.com", DefaultTTL: time.Hour, Inviter: "Ada Lovelace", Role: db.RoleEditor})
	if err != nil {
		t.Fatal(err)
	}
	path := "/invitations/" + inv.Token
	p := ts.page(t, "GET", path, "", nil)
	for _, s := range []string{"Ada Lovelace", `value="grace@example.com"`, "readonly", "Editor", `action="` + path + `"`} {
		if !strings.Contains(p.body, s) {
			t.Errorf("invitation page lacks %s", s)
		}
	}
	// An email in the form is ignored: the invitation's own is used.
	p = ts.page(t, "POST", path, "", url.Values{"email": {"mallory@example.com"}, "name": {"Grace Hopper"},
		"password": {testPassword}, "password2": {testPassword}})
	if p.StatusCode != 200 || !strings.Contains(p.body, "grace@example.com") {
		t.Fatalf("accept: %d\n%s", p.StatusCode, p.body)
	}
	if u, err := ts.store.FindUserByLogin("grace@example.com"); err != nil || u.RootRole != db.RoleEditor {
		t.Fatalf("user %+v, %v", u, err)
	}
	// Once accepted, the token is dead: 410 saying so when the store still
	// knows the token, 404 (unknown) when it forgot it.
	if p := ts.page(t, "GET", path, "", nil); p.StatusCode != 404 && p.StatusCode != 410 ||
		p.StatusCode == 410 && !strings.Contains(p.body, "already been accepted") {
		t.Errorf("accepted: %d\n%s", p.StatusCode, p.body)
	}
	revoked := ts.mustInvitation(t)
	if _, err := ts.store.RevokeInvitation(db.SystemActor, revoked.ID); err != nil {
		t.Fatal(err)
	}
	if p := ts.page(t, "GET", "/invitations/"+revoked.Token, "", nil); p.StatusCode != 404 && p.StatusCode != 410 ||
		p.StatusCode == 410 && !strings.Contains(p.body, "withdrawn") {
		t.Errorf("revoked: %d\n%s", p.StatusCode, p.body)
	}
	// An expired one: TestInvitationPageExpired, on a clock of its own.
	if p := ts.page(t, "GET", "/invitations/"+strings.Repeat("ab", 32), "", nil); p.StatusCode != 404 || !strings.Contains(p.body, "not valid") {
		t.Errorf("unknown: %d\n%s", p.StatusCode, p.body)
	}
}

func TestLoginAndAccountPages(t *testing.T) {
	ts := mustServer(t)
	u := ts.mustUser(t, db.RoleEditor)

	if p := ts.page(t, "GET", "/account", "", nil); p.StatusCode != 303 || p.Header.Get("Location") != "/login" {
		t.Fatalf("account without a session: %d %q", p.StatusCode, p.Header.Get("Location"))
	}
	if p := ts.page(t, "GET", "/account", sessionCookie+"=forged", nil); p.StatusCode != 303 {
		t.Fatalf("account with a bad session: %d", p.StatusCode)
	}

	p := ts.page(t, "POST", "/login", "", url.Values{"username": {u.Username}, "password": {"wrong password"}})
	if p.StatusCode != 401 || !strings.Contains(p.body, "Wrong username or password.") || !strings.Contains(p.body, `value="`+u.Username+`"`) {
		t.Errorf("wrong password: %d\n%s", p.StatusCode, p.body)
	}
	p = ts.page(t, "POST", "/login", "", url.Values{"username": {""}, "password": {""}})
	if p.StatusCode != 400 || !strings.Contains(p.body, `id="username-error"`) || !strings.Contains(p.body, `id="password-error"`) {
		t.Errorf("empty form: %d\n%s", p.StatusCode, p.body)
	}

	p = ts.page(t, "POST", "/login", "", url.Values{"username": {u.Email}, "password": {testPassword}})
	if p.StatusCode != 303 || p.Header.Get("Location") != "/account" {
		t.Fatalf("login: %d %q\n%s", p.StatusCode, p.Header.Get("Location"), p.body)
	}
	cookie := sessionOf(t, p.Response)
	p = ts.page(t, "GET", "/account", cookie, nil)
	for _, s := range []string{u.Name, u.Email, u.Username, "Editor", `action="/logout"`, `autocomplete="current-password"`} {
		if !strings.Contains(p.body, s) {
			t.Errorf("account page lacks %s:\n%s", s, p.body)
		}
	}

	p = ts.page(t, "POST", "/logout", cookie, url.Values{})
	if p.StatusCode != 303 || !strings.HasPrefix(p.Header.Get("Location"), "/login") {
		t.Fatalf("logout: %d %q", p.StatusCode, p.Header.Get("Location"))
	}
	if p := ts.page(t, "GET", "/account", cookie, nil); p.StatusCode != 303 {
		t.Errorf("the session lives on after logout: %d", p.StatusCode)
	}
}

// TestLoginPageThrottledReadsLikeWrongPassword: on the /login page, the
// right password of a waiting account gets the very page a wrong password
// gets, and no session.
func TestLoginPageThrottledReadsLikeWrongPassword(t *testing.T) {
	ts := mustServer(t) // the third failed login starts a wait
	u := ts.mustUser(t, db.RoleViewer)
	wrong := ts.page(t, "POST", "/login", "", url.Values{"username": {u.Email}, "password": {"wrong"}})
	if wrong.StatusCode != 401 || !strings.Contains(wrong.body, "Wrong username or password") {
		t.Fatalf("wrong password: %d\n%s", wrong.StatusCode, wrong.body)
	}
	for range 2 {
		ts.page(t, "POST", "/login", "", url.Values{"username": {u.Email}, "password": {"wrong"}})
	}
	for _, password := range []string{testPassword, "wrong"} {
		p := ts.page(t, "POST", "/login", "", url.Values{"username": {u.Email}, "password": {password}})
		if p.StatusCode != wrong.StatusCode || p.body != wrong.body {
			t.Errorf("password %q in the wait: %d\n%s\nwant the wrong-password page: %d\n%s", password, p.StatusCode, p.body, wrong.StatusCode, wrong.body)
		}
		for _, c := range p.Cookies() {
			if c.Name == sessionCookie && c.Value != "" {
				t.Errorf("password %q in the wait got a session", password)
			}
		}
	}
}

func TestChangePasswordForm(t *testing.T) {
	ts := mustServer(t)
	u := ts.mustUser(t, db.RoleViewer)
	here := ts.login(t, u.Email, testPassword)
	elsewhere := ts.login(t, u.Email, testPassword)
	const next = "quiet lantern velvet harbor"

	for _, tc := range []struct {
		name        string
		form        url.Values
		field, says string
	}{
		{"wrong current", url.Values{"current-password": {"nope nope"}, "new-password": {next}, "new-password-again": {next}},
			"current-password", "not right"},
		{"weak new", url.Values{"current-password": {testPassword}, "new-password": {"password1"}, "new-password-again": {"password1"}},
			"new-password", "New password is too easy to guess"},
		{"mismatch", url.Values{"current-password": {testPassword}, "new-password": {next}, "new-password-again": {next + "!"}},
			"new-password-again", "does not match"},
		{"same", url.Values{"current-password": {testPassword}, "new-password": {testPassword}, "new-password-again": {testPassword}},
			"new-password", "the same as your current password"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := ts.page(t, "POST", "/account/password", here, tc.form)
			if p.StatusCode != 400 || !strings.Contains(p.body, `id="`+tc.field+`-error"`) || !strings.Contains(p.body, tc.says) {
				t.Errorf("%d, want 400 with %q on %s:\n%s", p.StatusCode, tc.says, tc.field, p.body)
			}
		})
	}

	p := ts.page(t, "POST", "/account/password", here, url.Values{
		"current-password": {testPassword}, "new-password": {next}, "new-password-again": {next}})
	if p.StatusCode != 303 || !strings.HasPrefix(p.Header.Get("Location"), "/account") {
		t.Fatalf("change: %d %q\n%s", p.StatusCode, p.Header.Get("Location"), p.body)
	}
	if p := ts.page(t, "GET", "/account", here, nil); p.StatusCode != 200 {
		t.Errorf("the session that changed the password ended: %d", p.StatusCode)
	}
	if p := ts.page(t, "GET", "/account", elsewhere, nil); p.StatusCode != 303 {
		t.Errorf("another session lives on after a password change: %d", p.StatusCode)
	}
	if resp, _ := ts.call(t, "POST", "/auth/simple/login", "", `{"username":"`+u.Email+`","password":"`+testPassword+`"}`); resp.StatusCode != 401 {
		t.Errorf("old password: %d, want 401", resp.StatusCode)
	}
	ts.login(t, u.Email, next)
	events, _, err := ts.store.ListEvents(db.EventPasswordChanged, 0, 10)
	if err != nil || len(events) != 1 || events[0].CreatedBy != u.Username {
		t.Fatalf("events %+v, %v", events, err)
	}
	if got := events[0].Data["sessionsEnded"]; got != float64(1) {
		t.Errorf("sessionsEnded %v, want 1", got)
	}
}

func TestPageRateLimitAnswersWithAPage(t *testing.T) {
	ts := mustServerWith(t, func(o *server.Options) { o.PublicPerMinute = 1 })
	link := ts.mustLink(t, db.NewSignupToken{})
	ts.page(t, "GET", "/new-user?invite="+link.Secret, "", nil)
	p := ts.page(t, "GET", "/new-user?invite="+link.Secret, "", nil)
	if p.StatusCode != 429 || p.Header.Get("Retry-After") == "" || !strings.HasPrefix(p.Header.Get("Content-Type"), "text/html") {
		t.Errorf("over the limit: %d %q %q", p.StatusCode, p.Header.Get("Retry-After"), p.Header.Get("Content-Type"))
	}
}

func TestWelcomePageMentionsTheEmailWhenOneIsSent(t *testing.T) {
	store, err := db.Open(filepath.Join(t.TempDir(), "w.db"), db.Options{WelcomeEmails: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	hasher, err := db.NewHasher(db.HashParams{MemoryKiB: 64, Iterations: 1, Parallelism: 1}, 1, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(server.New(server.Options{Store: store, Hasher: hasher, Policy: db.PasswordPolicy{MinLength: 8, MinScore: 2}, BaseURL: "https://join.example"}))
	t.Cleanup(hs.Close)
	ts := &testServer{Server: hs, store: store}
	link := ts.mustLink(t, db.NewSignupToken{})
	p := ts.page(t, "POST", "/new-user?invite="+link.Secret, "", signupValues("ada@example.com", testPassword, testPassword))
	for _, s := range []string{"welcome email to <strong>ada@example.com</strong>", ">https://join.example/login</a>"} {
		if p.StatusCode != 200 || !strings.Contains(p.body, s) {
			t.Errorf("success page lacks %s: %d\n%s", s, p.StatusCode, p.body)
		}
	}
}
