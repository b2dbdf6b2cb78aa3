package server

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"invited/db"
)

// signupUnverified signs kay@example.com up through a link limited to
// example.com, which needs verification under the default mode, and
// returns the JSON answer.
func signupUnverified(t *testing.T, ts *testServer) (db.User, map[string]any) {
	t.Helper()
	link := ts.mustLink(t, db.NewSignupToken{AllowedDomains: []string{"example.com"}})
	resp, body := ts.call(t, "POST", "/invite/"+link.Secret+"/signup", "",
		fmt.Sprintf(`{"email":"kay@example.com","name":"Kay","username":"kay","password":%q}`, testPassword))
	if resp.StatusCode != 200 {
		t.Fatalf("signup: %d %v", resp.StatusCode, body)
	}
	u, err := ts.store.FindUserByLogin("kay")
	if err != nil {
		t.Fatal(err)
	}
	return u, body
}

// verify makes the link the mail worker would send and opens it.
func verify(t *testing.T, ts *testServer, u db.User) {
	t.Helper()
	secret, _, _, err := ts.store.IssueEmailVerification(u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if p := ts.page(t, "GET", "/verify-email/"+secret, "", nil); p.StatusCode != 200 || !strings.Contains(p.body, "Your address is verified") {
		t.Fatalf("open the link: %d %s", p.StatusCode, p.body)
	}
}

// The seed's signup still answers 200 with the user, whose emailVerified
// is false; only the right password hears that the address is not
// verified, on the JSON login and the page alike, and no cookie is set.
func TestVerifyEmailSignupAndLogin(t *testing.T) {
	ts := mustServer(t)
	u, body := signupUnverified(t, ts)
	if body["emailVerified"] != false || body["email"] != "kay@example.com" {
		t.Fatalf("signup answer %v", body)
	}
	open := ts.mustUser(t, db.RoleViewer) // through a link without domains
	if !open.EmailVerified {
		t.Fatal("a signup through a link without domains needs verification under the default mode")
	}

	_, unknown := ts.call(t, "POST", "/auth/simple/login", "", `{"username":"nobody@example.com","password":"wrong password"}`)
	r, wrong := ts.call(t, "POST", "/auth/simple/login", "", `{"username":"kay","password":"wrong password"}`)
	if r.StatusCode != 401 || wrong["message"] != unknown["message"] || wrong["name"] != unknown["name"] {
		t.Errorf("wrong password of an unverified user: %d %v, want as for an unknown account %v", r.StatusCode, wrong, unknown)
	}
	r, right := ts.call(t, "POST", "/auth/simple/login", "", fmt.Sprintf(`{"username":"kay","password":%q}`, testPassword))
	if r.StatusCode != 403 || !strings.Contains(fmt.Sprint(right["message"]), "not verified") || len(r.Cookies()) != 0 {
		t.Errorf("right password of an unverified user: %d %v, cookies %v", r.StatusCode, right, r.Cookies())
	}

	// The page: the same words, and a button that mails the link again.
	p := ts.page(t, "POST", "/login", "", url.Values{"username": {"kay"}, "password": {"wrong password"}})
	if p.StatusCode != 401 || strings.Contains(p.body, "not verified") || strings.Contains(p.body, `action="/verify-email"`) {
		t.Errorf("page, wrong password: %d %s", p.StatusCode, p.body)
	}
	p = ts.page(t, "POST", "/login", "", url.Values{"username": {"kay"}, "password": {testPassword}})
	if p.StatusCode != 403 || !strings.Contains(p.body, "not verified") || !strings.Contains(p.body, `action="/verify-email"`) ||
		!strings.Contains(p.body, `value="kay@example.com"`) || len(p.Cookies()) != 0 {
		t.Errorf("page, right password: %d %v %s", p.StatusCode, p.Cookies(), p.body)
	}

	// An admin sees the state.
	if resp, raw := ts.callAs(t, "key:"+testKey, "GET", fmt.Sprintf("/api/admin/user-admin/%d", u.ID), ""); resp.StatusCode != 200 || !strings.Contains(raw, `"emailVerified":false`) {
		t.Errorf("admin view: %d %s", resp.StatusCode, raw)
	}

	verify(t, ts, u)
	if p := ts.page(t, "GET", "/verify-email/"+strings.Repeat("a", 64), "", nil); p.StatusCode != 404 || !strings.Contains(p.body, "does not work") {
		t.Errorf("a used or unknown link: %d %s", p.StatusCode, p.body)
	}
	// Verifying opened no session; logging in now does.
	cookie := ts.login(t, "kay", testPassword)
	if resp, raw := ts.callAs(t, cookie, "GET", "/api/admin/user", ""); resp.StatusCode != 200 || !strings.Contains(raw, `"emailVerified":true`) {
		t.Errorf("after verifying: %d %s", resp.StatusCode, raw)
	}
	if resp, raw := ts.callAs(t, "key:"+testKey, "GET", "/api/admin/events?type=email-verified", ""); resp.StatusCode != 200 || !strings.Contains(raw, `"email-verified"`) {
		t.Errorf("events: %d %s", resp.StatusCode, raw)
	}
}

// The resend route answers 202 whatever the address, refuses bad input
// by name, and queues an email only for an account still to verify.
func TestResendVerificationRoute(t *testing.T) {
	ts := mustServer(t)
	u, _ := signupUnverified(t, ts)
	pending := func() int {
		t.Helper()
		emails, _, err := ts.store.ListOutbox(0, 100)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range emails {
			if e.Kind == db.EmailVerify && e.UserID == u.ID {
				n++
			}
		}
		return n
	}
	if pending() != 1 {
		t.Fatalf("the signup queued %d verification emails", pending())
	}
	for _, email := range []string{"kay@example.com", "KAY@example.com", "nobody@example.com", "not an address",
		strings.Repeat("x", 5000), "kay@example.com\r\nBcc: evil@example.org", "<script>@example.com"} {
		body := fmt.Sprintf(`{"email":%q}`, email)
		if resp, raw := ts.callAs(t, "", "POST", "/auth/verify-email/resend", body); resp.StatusCode != 202 || raw != "" {
			t.Errorf("resend %.30q: %d %q", email, resp.StatusCode, raw)
		}
	}
	// The two spellings of kay's address each queued one; nothing else
	// did.
	if pending() != 3 {
		t.Errorf("%d verification emails after the resends, want 3", pending())
	}
	for _, tc := range []struct{ body, says string }{
		{`{"email":""}`, "email"},
		{`{}`, "email"},
		{`{"email":"kay@example.com","extra":1}`, "extra"},
		{`{"email":42}`, "email"},
		{`[]`, ""},
		{`{"Email":"kay@example.com"}`, "Email"},
	} {
		if resp, raw := ts.callAs(t, "", "POST", "/auth/verify-email/resend", tc.body); resp.StatusCode != 400 || !strings.Contains(raw, tc.says) {
			t.Errorf("resend %s: %d %s", tc.body, resp.StatusCode, raw)
		}
	}
	// The page says the same whatever the address.
	known := ts.page(t, "POST", "/verify-email", "", url.Values{"email": {"kay@example.com"}})
	unknown := ts.page(t, "POST", "/verify-email", "", url.Values{"email": {"nobody@example.com"}})
	if known.StatusCode != 200 || unknown.StatusCode != 200 ||
		strings.ReplaceAll(known.body, "kay@example.com", "X") != strings.ReplaceAll(unknown.body, "nobody@example.com", "X") {
		t.Errorf("the page tells the addresses apart:\n%s\n---\n%s", known.body, unknown.body)
	}
	if p := ts.page(t, "POST", "/verify-email", "", url.Values{"email": {"<b>x</b>@example.com"}}); strings.Contains(p.body, "<b>x</b>") {
		t.Errorf("the page echoes markup: %s", p.body)
	}
	if p := ts.page(t, "POST", "/verify-email", "", url.Values{}); p.StatusCode != 400 || !strings.Contains(p.body, "Email is required") {
		t.Errorf("empty form: %d %s", p.StatusCode, p.body)
	}
	// A cross-site post is refused like every other form.
	if p := ts.page(t, "POST", "/verify-email", "", url.Values{"email": {"kay@example.com"}}, "Sec-Fetch-Site", "cross-site"); p.StatusCode != 403 {
		t.Errorf("cross-site resend: %d", p.StatusCode)
	}
}

// No gate lets an unverified user through: they cannot get a session.
func TestGateRefusesUnverified(t *testing.T) {
	f := newGateFixture(t)
	u, _ := signupUnverified(t, f.ts)
	r, _ := f.ts.call(t, "POST", "/auth/simple/login", "", fmt.Sprintf(`{"username":"kay","password":%q}`, testPassword))
	if r.StatusCode != 403 || len(r.Cookies()) != 0 {
		t.Fatalf("login: %d %v", r.StatusCode, r.Cookies())
	}
	resp, _ := f.ask(t, "GET", "/api/authz/forward-auth", "", fwd("open.example.com", "/")...)
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("the gate without a session: %d", resp.StatusCode)
	}
	wantNoRemote(t, "unverified", resp)
	verify(t, f.ts, u)
	cookie := f.ts.login(t, "kay", testPassword)
	if resp, _ := f.ask(t, "GET", "/api/authz/forward-auth", cookie, fwd("open.example.com", "/")...); resp.StatusCode != 200 || resp.Header.Get("Remote-Email") != "kay@example.com" {
		t.Fatalf("the gate after verifying: %d %v", resp.StatusCode, resp.Header)
	}
}

// An OpenID Connect sign-in sends an unverified user to the login page,
// which refuses them with the message; once verified, the app gets a code.
func TestOIDCRefusesUnverified(t *testing.T) {
	rp, _ := newOIDCRP(t)
	u, _ := signupUnverified(t, rp.ts)
	conf := rp.app(t, "wiki", false, nil, "https://wiki.example.com/cb")
	verifier := oauth2.GenerateVerifier()
	loc, status := rp.authorize(t, conf.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier)))
	for loc != nil && loc.Host == strings.TrimPrefix(rp.ts.URL, "http://") && loc.Path != "/login" {
		loc, status = rp.authorize(t, loc.String())
	}
	if loc == nil || loc.Path != "/login" {
		t.Fatalf("without a session: %d %v, want the login page", status, loc)
	}
	rd := loc.Query().Get("rd")
	p := rp.ts.page(t, "POST", "/login", "", url.Values{"username": {"kay"}, "password": {testPassword}, "rd": {rd}})
	if p.StatusCode != 403 || !strings.Contains(p.body, "not verified") || p.Header.Get("Location") != "" {
		t.Fatalf("login on the way to the app: %d %s", p.StatusCode, p.body)
	}

	verify(t, rp.ts, u)
	resp, err := rp.browser.Post(rp.ts.URL+"/auth/simple/login", "application/json",
		strings.NewReader(fmt.Sprintf(`{"username":"kay","password":%q}`, testPassword)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, status = rp.authorize(t, conf.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier)))
	for loc != nil && loc.Host == strings.TrimPrefix(rp.ts.URL, "http://") {
		loc, status = rp.authorize(t, loc.String())
	}
	if loc == nil || loc.Query().Get("code") == "" {
		t.Fatalf("after verifying: %d %v", status, loc)
	}
	ctx := gooidc.ClientContext(context.Background(), rp.ts.Client())
	tok, err := conf.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	idToken, err := rp.provider.Verifier(&gooidc.Config{ClientID: conf.ClientID}).Verify(ctx, tok.Extra("id_token").(string))
	if err != nil {
		t.Fatal(err)
	}
	var claims struct {
		Email    string `json:"email"`
		Verified bool   `json:"email_verified"`
	}
	if err := idToken.Claims(&claims); err != nil || claims.Email != "kay@example.com" || !claims.Verified {
		t.Fatalf("claims %+v, %v", claims, err)
	}
}

// The signup page's answer says to check the mailbox when the address is
// to be verified, and the usual welcome otherwise.
func TestSignupPageSaysCheckYourMailbox(t *testing.T) {
	ts := mustServer(t)
	domains := ts.mustLink(t, db.NewSignupToken{AllowedDomains: []string{"example.com"}})
	p := ts.page(t, "POST", "/new-user?invite="+domains.Secret, "", signupValues("ada@example.com", testPassword, testPassword))
	if p.StatusCode != 200 || !strings.Contains(p.body, "Check your mailbox to verify your address") || !strings.Contains(p.body, `href="/verify-email"`) {
		t.Fatalf("signup through a domain link: %d %s", p.StatusCode, p.body)
	}
	open := ts.mustLink(t, db.NewSignupToken{})
	v := signupValues("bob@example.org", testPassword, testPassword)
	v.Set("username", "bob")
	p = ts.page(t, "POST", "/new-user?invite="+open.Secret, "", v)
	if p.StatusCode != 200 || strings.Contains(p.body, "verify") || !strings.Contains(p.body, "is ready") {
		t.Fatalf("signup through an open link: %d %s", p.StatusCode, p.body)
	}
}

// mustUnverifiedUser signs a new user up, with role, through a link that
// needs verification, and returns the user, unverified.
func (ts *testServer) mustUnverifiedUser(tb testing.TB, role db.Role) db.User {
	tb.Helper()
	link := ts.mustLink(tb, db.NewSignupToken{AllowedDomains: []string{"example.com"}, Role: role})
	n := userSeq.Add(1)
	u, err := ts.store.RedeemSignupToken(link.Secret, db.NewUser{Email: fmt.Sprintf("unverified%d@example.com", n), Name: "U", PasswordHash: "x"})
	if err != nil {
		tb.Fatal(err)
	}
	if u.EmailVerified {
		tb.Fatal("the user is verified already")
	}
	return u
}

// An Admin can verify an address on their word (teams without SMTP); the
// user may log in then, the event names the Admin, and the ceiling holds
// for a key of a lower role (which the permission table keeps out anyway).
func TestAdminMarksEmailVerified(t *testing.T) {
	ts := mustServer(t)
	u, _ := signupUnverified(t, ts)
	path := fmt.Sprintf("/api/admin/user-admin/%d/verify-email", u.ID)
	if resp, raw := ts.callAs(t, "key:"+testKey, "POST", path, `{"why":"x"}`); resp.StatusCode != 400 || !strings.Contains(raw, "why") {
		t.Errorf("with a field: %d %s", resp.StatusCode, raw)
	}
	if resp, raw := ts.callAs(t, "key:"+testKey, "POST", "/api/admin/user-admin/999/verify-email", ""); resp.StatusCode != 404 {
		t.Errorf("unknown user: %d %s", resp.StatusCode, raw)
	}
	if resp, raw := ts.callAs(t, "key:"+testKey, "POST", "/api/admin/user-admin/x/verify-email", ""); resp.StatusCode != 404 {
		t.Errorf("bad id: %d %s", resp.StatusCode, raw)
	}
	editor := ts.mustUser(t, db.RoleEditor)
	if resp, _ := ts.callAs(t, ts.login(t, editor.Email, testPassword), "POST", path, ""); resp.StatusCode != 403 {
		t.Errorf("an Editor verified an address: %d", resp.StatusCode)
	}
	resp, raw := ts.callAs(t, "key:"+testKey, "POST", path, "")
	if resp.StatusCode != 200 || !strings.Contains(raw, `"emailVerified":true`) {
		t.Fatalf("verify: %d %s", resp.StatusCode, raw)
	}
	if resp, raw := ts.callAs(t, "key:"+testKey, "POST", path, "{}"); resp.StatusCode != 200 || !strings.Contains(raw, `"emailVerified":true`) {
		t.Errorf("verify again: %d %s", resp.StatusCode, raw)
	}
	ts.login(t, "kay", testPassword)
	resp, raw = ts.callAs(t, "key:"+testKey, "GET", "/api/admin/events?type=email-verified", "")
	if resp.StatusCode != 200 || strings.Count(raw, `"email-verified"`) != 1 || !strings.Contains(raw, `"byAdmin":true`) {
		t.Errorf("events: %d %s", resp.StatusCode, raw)
	}

	// The store's ceiling: an Editor actor cannot verify an Admin.
	admin := ts.mustUnverifiedUser(t, db.RoleAdmin)
	if _, err := ts.store.MarkEmailVerified(db.Actor{Kind: "apikey", Name: "ed", Role: db.RoleEditor}, admin.ID); db.ErrorCode(err) != db.EFORBIDDEN {
		t.Errorf("an Editor verified an Admin: %v", err)
	}
}

// Hostile input on the verification pages: each gets a page, never a
// crash, and none verifies anyone.
func TestVerifyEmailPagesHostileInput(t *testing.T) {
	ts := mustServer(t)
	u, _ := signupUnverified(t, ts)
	for _, path := range []string{
		"/verify-email/" + strings.Repeat("f", 64),
		"/verify-email/" + strings.Repeat("f", 4000),
		"/verify-email/%00",
		"/verify-email/..%2F..%2Fetc%2Fpasswd",
		"/verify-email/%E2%80%AE" + strings.Repeat("a", 62),
		"/verify-email/" + url.PathEscape("<script>alert(1)"),
	} {
		p := ts.page(t, "GET", path, "", nil)
		if p.StatusCode != 404 || strings.Contains(p.body, "<script>alert") {
			t.Errorf("GET %.60s: %d %.200s", path, p.StatusCode, p.body)
		}
	}
	if p := ts.page(t, "POST", "/verify-email", "", url.Values{"email": {strings.Repeat("a", 60000) + "@example.com"}}); p.StatusCode != 200 || len(p.body) > 20000 {
		t.Errorf("a huge address: %d, %d bytes", p.StatusCode, len(p.body))
	}
	if p := ts.page(t, "POST", "/verify-email", "", url.Values{"email": {strings.Repeat("a", 70000)}}); p.StatusCode != 413 {
		t.Errorf("a form over 64 KiB: %d", p.StatusCode)
	}
	if got, _ := ts.store.FindUserByID(u.ID); got.EmailVerified {
		t.Fatal("hostile input verified the user")
	}
}
