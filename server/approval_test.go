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

// mustPendingUser signs a new user up, with role, through a link that
// requires approval, and returns the user, waiting.
func (ts *testServer) mustPendingUser(tb testing.TB, role db.Role) db.User {
	tb.Helper()
	link := ts.mustLink(tb, db.NewSignupToken{Role: role, RequireApproval: true})
	n := userSeq.Add(1)
	u, err := ts.store.RedeemSignupToken(link.Secret, db.NewUser{Email: fmt.Sprintf("pending%d@example.org", n), Name: "P", PasswordHash: "x"})
	if err != nil {
		tb.Fatal(err)
	}
	if !u.PendingApproval {
		tb.Fatal("the user does not wait for approval")
	}
	return u
}

// signupPending makes a link with requireApproval through the API and
// signs kay@example.org up through the seed's endpoint.
func signupPending(t *testing.T, ts *testServer) (db.User, map[string]any) {
	t.Helper()
	resp, link := ts.call(t, "POST", "/api/admin/invite-link/tokens", "Bearer "+testKey,
		`{"name":"contractors","expiresAt":"2099-01-01T00:00:00Z","requireApproval":true}`)
	if resp.StatusCode != 201 || link["requireApproval"] != true {
		t.Fatalf("create link: %d %v", resp.StatusCode, link)
	}
	resp, body := ts.call(t, "POST", "/invite/"+link["secret"].(string)+"/signup", "",
		fmt.Sprintf(`{"email":"kay@example.org","name":"Kay","username":"kay","password":%q}`, testPassword))
	if resp.StatusCode != 200 {
		t.Fatalf("signup: %d %v", resp.StatusCode, body)
	}
	u, err := ts.store.FindUserByLogin("kay")
	if err != nil {
		t.Fatal(err)
	}
	return u, body
}

// The seed's signup answers 200 with pendingApproval true; only the right
// password hears about the wait, on the JSON login and the page, and no
// cookie is set; approval lets the user in.
func TestApprovalSignupAndLogin(t *testing.T) {
	ts := mustServer(t)
	admin := ts.mustUser(t, db.RoleAdmin)
	u, body := signupPending(t, ts)
	if body["pendingApproval"] != true || body["emailVerified"] != true || body["email"] != "kay@example.org" {
		t.Fatalf("signup answer %v", body)
	}
	emails, _, err := ts.store.ListOutbox(0, 100)
	if err != nil {
		t.Fatal(err)
	}
	asked := 0
	for _, e := range emails {
		if e.Kind == db.EmailApprovalRequest && e.UserID == u.ID {
			asked++
			if e.To != admin.Email {
				t.Errorf("an approval request went to %s", e.To)
			}
		}
	}
	if asked != 1 {
		t.Errorf("%d approval requests, want 1 (to the one Admin user)", asked)
	}

	_, unknown := ts.call(t, "POST", "/auth/simple/login", "", `{"username":"nobody@example.org","password":"wrong password"}`)
	r, wrong := ts.call(t, "POST", "/auth/simple/login", "", `{"username":"kay","password":"wrong password"}`)
	if r.StatusCode != 401 || wrong["message"] != unknown["message"] {
		t.Errorf("wrong password of a waiting user: %d %v, want as for an unknown account %v", r.StatusCode, wrong, unknown)
	}
	r, right := ts.call(t, "POST", "/auth/simple/login", "", fmt.Sprintf(`{"username":"kay","password":%q}`, testPassword))
	if r.StatusCode != 403 || !strings.Contains(fmt.Sprint(right["message"]), "waits for an admin's approval") || len(r.Cookies()) != 0 {
		t.Errorf("right password of a waiting user: %d %v, cookies %v", r.StatusCode, right, r.Cookies())
	}
	p := ts.page(t, "POST", "/login", "", url.Values{"username": {"kay"}, "password": {"wrong password"}})
	if p.StatusCode != 401 || strings.Contains(p.body, "approval") {
		t.Errorf("page, wrong password: %d %s", p.StatusCode, p.body)
	}
	p = ts.page(t, "POST", "/login", "", url.Values{"username": {"kay"}, "password": {testPassword}})
	if p.StatusCode != 403 || !strings.Contains(p.body, "Your account waits for an admin&#39;s approval") || len(p.Cookies()) != 0 {
		t.Errorf("page, right password: %d %v %s", p.StatusCode, p.Cookies(), p.body)
	}

	path := fmt.Sprintf("/api/admin/user-admin/%d", u.ID)
	if resp, raw := ts.callAs(t, "key:"+testKey, "GET", path, ""); resp.StatusCode != 200 || !strings.Contains(raw, `"pendingApproval":true`) {
		t.Errorf("admin view: %d %s", resp.StatusCode, raw)
	}
	if resp, raw := ts.callAs(t, "key:"+testKey, "POST", path+"/approve", ""); resp.StatusCode != 200 || !strings.Contains(raw, `"pendingApproval":false`) {
		t.Fatalf("approve: %d %s", resp.StatusCode, raw)
	}
	if resp, raw := ts.callAs(t, "key:"+testKey, "POST", path+"/approve", ""); resp.StatusCode != 400 || !strings.Contains(raw, "not waiting for approval") {
		t.Errorf("approve twice: %d %s", resp.StatusCode, raw)
	}
	cookie := ts.login(t, "kay", testPassword)
	if resp, raw := ts.callAs(t, cookie, "GET", "/api/admin/user", ""); resp.StatusCode != 200 || !strings.Contains(raw, `"pendingApproval":false`) {
		t.Errorf("after approval: %d %s", resp.StatusCode, raw)
	}
	if resp, raw := ts.callAs(t, "key:"+testKey, "GET", "/api/admin/events?type=user-approved", ""); resp.StatusCode != 200 || !strings.Contains(raw, `"user-approved"`) {
		t.Errorf("events: %d %s", resp.StatusCode, raw)
	}
}

// requireApproval is read, created and changed through the link routes,
// and refused when it is not a boolean.
func TestLinkRequireApprovalField(t *testing.T) {
	ts := mustServer(t)
	secret := ts.link(t)
	path := "/api/admin/invite-link/tokens/" + secret
	if _, got := ts.call(t, "GET", path, "Bearer "+testKey, ""); got["requireApproval"] != false {
		t.Fatalf("a link made without it: %v", got["requireApproval"])
	}
	if resp, got := ts.call(t, "PUT", path, "Bearer "+testKey, `{"requireApproval":true}`); resp.StatusCode != 200 || got["requireApproval"] != true {
		t.Fatalf("turn on: %d %v", resp.StatusCode, got)
	}
	for _, body := range []string{`{"requireApproval":"yes"}`, `{"requireApproval":1}`, `{"requireapproval":true}`} {
		if resp, raw := ts.callAs(t, "key:"+testKey, "PUT", path, body); resp.StatusCode != 400 || !strings.Contains(strings.ToLower(raw), "requireapproval") {
			t.Errorf("update %s: %d %s", body, resp.StatusCode, raw)
		}
	}
	if resp, raw := ts.callAs(t, "key:"+testKey, "POST", "/api/admin/invite-link/tokens",
		`{"name":"x","expiresAt":"2099-01-01T00:00:00Z","requireApproval":null}`); resp.StatusCode != 400 || !strings.Contains(raw, "requireApproval") {
		t.Errorf("create with null: %d %s", resp.StatusCode, raw)
	}
	if resp, raw := ts.callAs(t, "key:"+testKey, "POST", "/api/admin/invite-link/tokens",
		`{"name":"x","expiresAt":"2099-01-01T00:00:00Z","requireApproval":"true"}`); resp.StatusCode != 400 {
		t.Errorf("create with a string: %d %s", resp.StatusCode, raw)
	}
}

// Approve and reject take only a real id of a waiting user; reject never
// deletes an active user; an Editor is refused by the table, and the
// ceiling holds for a key below the user's role.
func TestApproveRejectRoutes(t *testing.T) {
	ts := mustServer(t)
	active := ts.mustUser(t, db.RoleViewer)
	for _, op := range []string{"approve", "reject"} {
		for _, id := range []string{"abc", "-1", "0x1", "1.5", "18446744073709551616", "%00", "1%2F2", strings.Repeat("9", 300)} {
			resp, raw := ts.callAs(t, "key:"+testKey, "POST", "/api/admin/user-admin/"+id+"/"+op, "")
			if resp.StatusCode != 400 && resp.StatusCode != 404 {
				t.Errorf("%s %q: %d %s", op, id, resp.StatusCode, raw)
			}
		}
		if resp, _ := ts.callAs(t, "key:"+testKey, "POST", "/api/admin/user-admin/99999/"+op, ""); resp.StatusCode != 404 {
			t.Errorf("%s of an unknown user: %d", op, resp.StatusCode)
		}
		if resp, raw := ts.callAs(t, "key:"+testKey, "POST", fmt.Sprintf("/api/admin/user-admin/%d/%s", active.ID, op), ""); resp.StatusCode != 400 || !strings.Contains(raw, "not waiting") {
			t.Errorf("%s of an active user: %d %s", op, resp.StatusCode, raw)
		}
		pending := ts.mustPendingUser(t, db.RoleViewer)
		if resp, raw := ts.callAs(t, "key:"+testKey, "POST", fmt.Sprintf("/api/admin/user-admin/%d/%s", pending.ID, op), `{"why":"x"}`); resp.StatusCode != 400 || !strings.Contains(raw, "why") {
			t.Errorf("%s with a field: %d %s", op, resp.StatusCode, raw)
		}
	}
	if _, err := ts.store.FindUserByID(active.ID); err != nil {
		t.Fatalf("the active user is gone: %v", err)
	}

	// Reject deletes the waiting user and answers with them.
	pending := ts.mustPendingUser(t, db.RoleViewer)
	resp, raw := ts.callAs(t, "key:"+testKey, "POST", fmt.Sprintf("/api/admin/user-admin/%d/reject", pending.ID), "{}")
	if resp.StatusCode != 200 || !strings.Contains(raw, pending.Email) {
		t.Fatalf("reject: %d %s", resp.StatusCode, raw)
	}
	if _, err := ts.store.FindUserByID(pending.ID); db.ErrorCode(err) != db.ENOTFOUND {
		t.Fatalf("the rejected user is still there: %v", err)
	}
	if resp, raw := ts.callAs(t, "key:"+testKey, "GET", "/api/admin/events?type=user-rejected", ""); resp.StatusCode != 200 || !strings.Contains(raw, pending.Email) {
		t.Errorf("events: %d %s", resp.StatusCode, raw)
	}

	// An Editor may not, whatever the user's role (the table), and the
	// store's ceiling stops a caller below the user's role too.
	editor := ts.mustUser(t, db.RoleEditor)
	edCookie := ts.login(t, editor.Email, testPassword)
	high := ts.mustPendingUser(t, db.RoleAdmin)
	for _, op := range []string{"approve", "reject"} {
		if resp, _ := ts.callAs(t, edCookie, "POST", fmt.Sprintf("/api/admin/user-admin/%d/%s", high.ID, op), ""); resp.StatusCode != 403 {
			t.Errorf("an Editor may %s an Admin: %d", op, resp.StatusCode)
		}
		if _, err := ts.store.ApproveUser(db.Actor{Kind: "apikey", Name: "ed", Role: db.RoleEditor}, high.ID); db.ErrorCode(err) != db.EFORBIDDEN {
			t.Errorf("the ceiling let an Editor approve an Admin: %v", err)
		}
	}
	if u, _ := ts.store.FindUserByID(high.ID); !u.PendingApproval {
		t.Fatal("the Admin-to-be was approved by an Editor")
	}
}

// No gate lets a waiting user through, and approval opens it.
func TestGateRefusesPending(t *testing.T) {
	f := newGateFixture(t)
	u, _ := signupPending(t, f.ts)
	r, _ := f.ts.call(t, "POST", "/auth/simple/login", "", fmt.Sprintf(`{"username":"kay","password":%q}`, testPassword))
	if r.StatusCode != 403 || len(r.Cookies()) != 0 {
		t.Fatalf("login: %d %v", r.StatusCode, r.Cookies())
	}
	resp, _ := f.ask(t, "GET", "/api/authz/forward-auth", "", fwd("open.example.com", "/")...)
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("the gate without a session: %d", resp.StatusCode)
	}
	wantNoRemote(t, "pending", resp)
	if _, err := f.ts.store.ApproveUser(gateActor, u.ID); err != nil {
		t.Fatal(err)
	}
	cookie := f.ts.login(t, "kay", testPassword)
	if resp, _ := f.ask(t, "GET", "/api/authz/forward-auth", cookie, fwd("open.example.com", "/")...); resp.StatusCode != 200 || resp.Header.Get("Remote-Email") != "kay@example.org" {
		t.Fatalf("the gate after approval: %d %v", resp.StatusCode, resp.Header)
	}
}

// An OpenID Connect sign-in sends a waiting user to the login page, which
// shows the waiting page and no code; once approved, the app gets one.
func TestOIDCRefusesPending(t *testing.T) {
	rp, _ := newOIDCRP(t)
	u, _ := signupPending(t, rp.ts)
	conf := rp.app(t, "wiki", false, nil, "https://wiki.example.com/cb")
	verifier := oauth2.GenerateVerifier()
	loc, status := rp.authorize(t, conf.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier)))
	for loc != nil && loc.Host == strings.TrimPrefix(rp.ts.URL, "http://") && loc.Path != "/login" {
		loc, status = rp.authorize(t, loc.String())
	}
	if loc == nil || loc.Path != "/login" {
		t.Fatalf("without a session: %d %v, want the login page", status, loc)
	}
	p := rp.ts.page(t, "POST", "/login", "", url.Values{"username": {"kay"}, "password": {testPassword}, "rd": {loc.Query().Get("rd")}})
	if p.StatusCode != 403 || !strings.Contains(p.body, "approval") || p.Header.Get("Location") != "" || len(p.Cookies()) != 0 {
		t.Fatalf("login on the way to the app: %d %s", p.StatusCode, p.body)
	}
	resp, err := rp.browser.Post(rp.ts.URL+"/auth/simple/login", "application/json",
		strings.NewReader(fmt.Sprintf(`{"username":"kay","password":%q}`, testPassword)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Fatalf("JSON login of a waiting user: %d", resp.StatusCode)
	}

	if _, err := rp.ts.store.ApproveUser(db.SystemActor, u.ID); err != nil {
		t.Fatal(err)
	}
	resp, err = rp.browser.Post(rp.ts.URL+"/auth/simple/login", "application/json",
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
		t.Fatalf("after approval: %d %v", status, loc)
	}
	ctx := gooidc.ClientContext(context.Background(), rp.ts.Client())
	if _, err := conf.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(verifier)); err != nil {
		t.Fatal(err)
	}
}

// The signup page says the account waits for approval, and that the
// address is to be verified too when it must be.
func TestSignupPageSaysWaitForApproval(t *testing.T) {
	ts := mustServer(t)
	link := ts.mustLink(t, db.NewSignupToken{RequireApproval: true})
	p := ts.page(t, "POST", "/new-user?invite="+link.Secret, "", signupValues("bob@example.org", testPassword, testPassword))
	if p.StatusCode != 200 || !strings.Contains(p.body, "waits for an admin") || strings.Contains(p.body, "verifies your address") ||
		strings.Contains(p.body, "is ready") {
		t.Fatalf("signup through an approval link: %d %s", p.StatusCode, p.body)
	}
	both := ts.mustLink(t, db.NewSignupToken{RequireApproval: true, AllowedDomains: []string{"example.com"}})
	v := signupValues("ada@example.com", testPassword, testPassword)
	v.Set("username", "ada2")
	p = ts.page(t, "POST", "/new-user?invite="+both.Secret, "", v)
	if p.StatusCode != 200 || !strings.Contains(p.body, "waits for an admin") || !strings.Contains(p.body, "verifies your address") {
		t.Fatalf("signup through an approval link with domains: %d %s", p.StatusCode, p.body)
	}
}
