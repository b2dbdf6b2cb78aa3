package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"github.com/pquerna/otp/totp"
	"golang.org/x/oauth2"

	"invited/db"
)

// oidcRP is a relying party's side of the tests: a browser (a cookie
// jar that stops at the app's redirect URI) and the app's client.
type oidcRP struct {
	ts       *testServer
	browser  *http.Client
	provider *gooidc.Provider
}

var oidcAdmin = db.Actor{Kind: "apikey", Name: "t", Role: db.RoleAdmin}

func newOIDCRP(t *testing.T) (*oidcRP, db.User) {
	t.Helper()
	ts := mustServer(t)
	ts.srv.baseURL = ts.URL // the issuer; read when the provider starts
	if _, err := ts.store.CreateGroup(oidcAdmin, db.NewGroup{ID: "team", Name: "Team"}); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.store.CreateGroup(oidcAdmin, db.NewGroup{ID: "ops", Name: "Ops"}); err != nil {
		t.Fatal(err)
	}
	tok, err := ts.store.CreateSignupToken(oidcAdmin, db.NewSignupToken{Name: "t", ExpiresAt: farFuture, Groups: []string{"team"}})
	if err != nil {
		t.Fatal(err)
	}
	resp, body := ts.call(t, "POST", "/invite/"+tok.Secret+"/signup", "",
		fmt.Sprintf(`{"email":"ada@example.com","name":"Ada L","username":"ada","password":%q}`, testPassword))
	if resp.StatusCode != 200 {
		t.Fatalf("signup: %d %v", resp.StatusCode, body)
	}
	user, err := ts.store.FindUserByLogin("ada")
	if err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if req.URL.Host != strings.TrimPrefix(ts.URL, "http://") || req.URL.Path == "/login" || len(via) > 10 {
			return http.ErrUseLastResponse // at the app (or looping)
		}
		return nil
	}}
	ctx := gooidc.ClientContext(context.Background(), ts.Client())
	provider, err := gooidc.NewProvider(ctx, ts.URL)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	return &oidcRP{ts: ts, browser: browser, provider: provider}, user
}

func (rp *oidcRP) login(t *testing.T) {
	t.Helper()
	resp, err := rp.browser.Post(rp.ts.URL+"/auth/simple/login", "application/json",
		strings.NewReader(fmt.Sprintf(`{"username":"ada","password":%q}`, testPassword)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("login: %d", resp.StatusCode)
	}
}

func (rp *oidcRP) app(t *testing.T, id string, public bool, groups []string, redirect string) oauth2.Config {
	t.Helper()
	app, secret, err := rp.ts.store.CreateApp(oidcAdmin, db.NewApp{ID: id, Name: id, URL: "https://" + id + ".example.com",
		Kind: db.AppKindOIDC, Groups: groups, RedirectURIs: []string{redirect}, Public: public})
	if err != nil {
		t.Fatal(err)
	}
	return oauth2.Config{ClientID: app.OIDC.ClientID, ClientSecret: secret, Endpoint: rp.provider.Endpoint(),
		RedirectURL: redirect, Scopes: []string{gooidc.ScopeOpenID, "profile", "email", "groups", gooidc.ScopeOfflineAccess}}
}

// authorize opens the URL in the browser and returns where it ends: the
// app's redirect URI with its query, or the last answer's status.
func (rp *oidcRP) authorize(t *testing.T, authURL string) (*url.URL, int) {
	t.Helper()
	resp, err := rp.browser.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusSeeOther {
		return nil, resp.StatusCode
	}
	loc, err := resp.Location()
	if err != nil {
		t.Fatal(err)
	}
	return loc, resp.StatusCode
}

// The whole code flow with a real relying party: discovery, PKCE, the
// code once, the ID token verified with the published key, its claims,
// userinfo, refresh rotated once.
func TestOIDCCodeFlow(t *testing.T) {
	rp, user := newOIDCRP(t)
	cfg := rp.app(t, "wiki", false, []string{"team"}, "https://wiki.example.com/cb")
	ctx := gooidc.ClientContext(context.Background(), rp.ts.Client())

	// Not signed in: the provider sends the browser to /login and back.
	verifier := oauth2.GenerateVerifier()
	authURL := cfg.AuthCodeURL("st-1", oauth2.S256ChallengeOption(verifier), gooidc.Nonce("n-1"))
	loc, status := rp.authorize(t, authURL)
	if loc == nil || loc.Path != "/login" || loc.Query().Get("rd") == "" {
		t.Fatalf("not signed in: %d %v, want /login?rd=", status, loc)
	}
	rd := loc.Query().Get("rd")
	// The login form takes the browser back to rd, and on to the app.
	resp, err := rp.browser.PostForm(rp.ts.URL+"/login", url.Values{"username": {"ada"}, "password": {testPassword}, "rd": {rd}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	status = resp.StatusCode
	if loc, err = resp.Location(); err != nil || resp.Request.URL.Path != "/oidc/authorize/callback" {
		t.Fatalf("login form: %d, last request %v (%v)", status, resp.Request.URL, err)
	}
	if loc == nil || loc.Host != "wiki.example.com" || loc.Query().Get("state") != "st-1" || loc.Query().Get("code") == "" {
		t.Fatalf("after login: %d %v", status, loc)
	}
	code := loc.Query().Get("code")

	tok, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	if _, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(verifier)); err == nil {
		t.Fatal("a replayed code was accepted")
	}
	rawID, _ := tok.Extra("id_token").(string)
	idt, err := rp.provider.Verifier(&gooidc.Config{ClientID: cfg.ClientID}).Verify(ctx, rawID)
	if err != nil {
		t.Fatalf("verify the ID token: %v", err)
	}
	var claims struct {
		Email         string   `json:"email"`
		EmailVerified bool     `json:"email_verified"`
		Name          string   `json:"name"`
		Username      string   `json:"preferred_username"`
		Groups        []string `json:"groups"`
		Role          string   `json:"role"`
		AMR           []string `json:"amr"`
	}
	if err := idt.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	if idt.Subject != fmt.Sprint(user.ID) || idt.Nonce != "n-1" || claims.Email != "ada@example.com" || !claims.EmailVerified ||
		claims.Name != "Ada L" || claims.Username != "ada" || !slices.Equal(claims.Groups, []string{"team"}) || claims.Role == "" ||
		!slices.Equal(claims.AMR, []string{"pwd"}) {
		t.Fatalf("ID token: sub %q nonce %q claims %+v", idt.Subject, idt.Nonce, claims)
	}
	if !idt.Expiry.Before(time.Now().Add(10 * time.Minute)) {
		t.Errorf("ID token lives until %v", idt.Expiry)
	}
	info, err := rp.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil || info.Email != "ada@example.com" || info.Subject != fmt.Sprint(user.ID) {
		t.Fatalf("userinfo: %+v %v", info, err)
	}

	// Refresh: works once; the old token is refused after the rotation.
	if tok.RefreshToken == "" {
		t.Fatal("no refresh token for offline_access")
	}
	old := tok.RefreshToken
	fresh, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: old, Expiry: time.Now().Add(-time.Hour)}).Token()
	if err != nil || fresh.RefreshToken == "" || fresh.RefreshToken == old {
		t.Fatalf("refresh: %v %+v", err, fresh)
	}
	if _, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: old, Expiry: time.Now().Add(-time.Hour)}).Token(); err == nil {
		t.Fatal("the rotated refresh token was accepted again")
	}
	// Signed in already: straight through (single sign-on).
	loc, status = rp.authorize(t, cfg.AuthCodeURL("st-2", oauth2.S256ChallengeOption(verifier)))
	if loc == nil || loc.Host != "wiki.example.com" || loc.Query().Get("code") == "" {
		t.Fatalf("single sign-on: %d %v", status, loc)
	}
	// prompt=login sends a signed-in user to /login again.
	loc, status = rp.authorize(t, cfg.AuthCodeURL("st-3", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("prompt", "login")))
	if loc == nil || loc.Path != "/login" {
		t.Fatalf("prompt=login: %d %v", status, loc)
	}
	// max_age: a sign-in within it goes straight through; max_age=0 asks
	// for a new one.
	loc, status = rp.authorize(t, cfg.AuthCodeURL("st-3b", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("max_age", "3600")))
	if loc == nil || loc.Host != "wiki.example.com" || loc.Query().Get("code") == "" {
		t.Fatalf("max_age=3600 after a recent sign-in: %d %v", status, loc)
	}
	loc, status = rp.authorize(t, cfg.AuthCodeURL("st-3c", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("max_age", "0")))
	if loc == nil || loc.Path != "/login" {
		t.Fatalf("max_age=0: %d %v", status, loc)
	}

	// Revocation (RFC 7009) ends a refresh token.
	second, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: fresh.RefreshToken, Expiry: time.Now().Add(-time.Hour)}).Token()
	if err != nil {
		t.Fatalf("refresh the new token: %v", err)
	}
	form := url.Values{"token": {second.RefreshToken}, "token_type_hint": {"refresh_token"}}
	req, _ := http.NewRequest("POST", rp.ts.URL+"/oidc/revoke", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(cfg.ClientID), url.QueryEscape(cfg.ClientSecret))
	resp, err = rp.ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("revoke: %d", resp.StatusCode)
	}
	if _, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: second.RefreshToken, Expiry: time.Now().Add(-time.Hour)}).Token(); err == nil {
		t.Fatal("a revoked refresh token was accepted")
	}
	fresh = mustRefreshable(t, rp, cfg, verifier)

	// Removed from the app's group: the next refresh fails.
	if _, err := rp.ts.store.UpdateApp(oidcAdmin, "wiki", db.AppUpdate{Groups: &[]string{"ops"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: fresh.RefreshToken, Expiry: time.Now().Add(-time.Hour)}).Token(); err == nil {
		t.Fatal("a refresh for a user no longer admitted was accepted")
	}
}

// mustRefreshable runs the flow for a signed-in browser and returns the
// tokens.
func mustRefreshable(t *testing.T, rp *oidcRP, cfg oauth2.Config, verifier string) *oauth2.Token {
	t.Helper()
	loc, status := rp.authorize(t, cfg.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier)))
	if loc == nil || loc.Query().Get("code") == "" {
		t.Fatalf("authorize: %d %v", status, loc)
	}
	ctx := gooidc.ClientContext(context.Background(), rp.ts.Client())
	tok, err := cfg.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil || tok.RefreshToken == "" {
		t.Fatalf("exchange: %v", err)
	}
	return tok
}

// Discovery names the /oidc paths under the issuer; a disabled user's
// refresh fails; prompt=none without a session answers login_required.
func TestOIDCDiscoveryDisabledPromptNone(t *testing.T) {
	rp, user := newOIDCRP(t)
	var raw map[string]any
	if err := rp.provider.Claims(&raw); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{"issuer": rp.ts.URL, "authorization_endpoint": rp.ts.URL + "/oidc/authorize",
		"token_endpoint": rp.ts.URL + "/oidc/token", "userinfo_endpoint": rp.ts.URL + "/oidc/userinfo",
		"jwks_uri": rp.ts.URL + "/oidc/keys", "revocation_endpoint": rp.ts.URL + "/oidc/revoke",
		"end_session_endpoint": rp.ts.URL + "/oidc/end_session"} {
		if raw[key] != want {
			t.Errorf("discovery %s = %v, want %s", key, raw[key], want)
		}
	}
	cfg := rp.app(t, "wiki", false, nil, "https://wiki.example.com/cb")
	verifier := oauth2.GenerateVerifier()
	loc, status := rp.authorize(t, cfg.AuthCodeURL("st-none", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("prompt", "none")))
	if loc == nil || loc.Host != "wiki.example.com" || loc.Query().Get("error") != "login_required" || loc.Query().Get("state") != "st-none" {
		t.Fatalf("prompt=none, not signed in: %d %v", status, loc)
	}
	rp.login(t)
	tok := mustRefreshable(t, rp, cfg, verifier)
	if _, err := rp.ts.store.DisableUser(oidcAdmin, user.ID); err != nil {
		t.Fatal(err)
	}
	ctx := gooidc.ClientContext(context.Background(), rp.ts.Client())
	if _, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken, Expiry: time.Now().Add(-time.Hour)}).Token(); err == nil {
		t.Fatal("a disabled user's refresh token was accepted")
	}
	if _, err := rp.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok)); err == nil {
		t.Fatal("userinfo answered for a disabled user")
	}
}

// What the provider refuses: a public client without PKCE, a redirect
// URI that is not registered (never redirected to), a user the app does
// not admit (access_denied, never a code), a wrong client secret.
func TestOIDCRefusals(t *testing.T) {
	rp, _ := newOIDCRP(t)
	rp.login(t)
	ctx := gooidc.ClientContext(context.Background(), rp.ts.Client())

	pub := rp.app(t, "cli", true, nil, "http://127.0.0.1:9/cb")
	loc, status := rp.authorize(t, pub.AuthCodeURL("st"))
	if loc == nil || loc.Query().Get("code") != "" || loc.Query().Get("error") != "invalid_request" {
		t.Fatalf("public client without PKCE: %d %v", status, loc)
	}
	// With PKCE the public client gets a code, and redeems it without a
	// secret but only with the verifier.
	verifier := oauth2.GenerateVerifier()
	loc, status = rp.authorize(t, pub.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier)))
	if loc == nil || loc.Query().Get("code") == "" {
		t.Fatalf("public client with PKCE: %d %v", status, loc)
	}
	if _, err := pub.Exchange(ctx, loc.Query().Get("code")); err == nil {
		t.Fatal("a public client's code was redeemed without the verifier")
	}
	loc, _ = rp.authorize(t, pub.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier)))
	if _, err := pub.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(verifier)); err != nil {
		t.Fatalf("public exchange with the verifier: %v\n%s", err, rp.ts.logs)
	}

	conf := rp.app(t, "wiki", false, nil, "https://wiki.example.com/cb")
	for _, redirect := range []string{"https://evil.example.com/cb", "https://wiki.example.com/cb/", "https://wiki.example.com/cb?x=1", "javascript:alert(1)", ""} {
		bad := conf
		bad.RedirectURL = redirect
		loc, status := rp.authorize(t, bad.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier)))
		if loc != nil || status != http.StatusBadRequest {
			t.Errorf("redirect %q: %d %v, want 400 and no redirect", redirect, status, loc)
		}
	}
	// A wrong secret cannot redeem a code.
	loc, _ = rp.authorize(t, conf.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier)))
	wrong := conf
	wrong.ClientSecret = "not-the-secret"
	if _, err := wrong.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(verifier)); err == nil {
		t.Fatal("a wrong client secret redeemed a code")
	}
	// plain PKCE is refused.
	loc, status = rp.authorize(t, conf.AuthCodeURL("st", oauth2.SetAuthURLParam("code_challenge", verifier), oauth2.SetAuthURLParam("code_challenge_method", "plain")))
	if loc == nil || loc.Query().Get("code") != "" || loc.Query().Get("error") == "" {
		t.Fatalf("plain PKCE: %d %v", status, loc)
	}

	ops := rp.app(t, "ops", false, []string{"ops"}, "https://ops.example.com/cb")
	loc, status = rp.authorize(t, ops.AuthCodeURL("st-ops", oauth2.S256ChallengeOption(verifier)))
	if loc == nil || loc.Host != "ops.example.com" || loc.Query().Get("error") != "access_denied" ||
		loc.Query().Get("state") != "st-ops" || loc.Query().Get("code") != "" {
		t.Fatalf("not admitted: %d %v", status, loc)
	}

	// Hostile ids at /oidc/login and the callback.
	for _, path := range []string{"/oidc/login", "/oidc/login?authRequestID=nope", "/oidc/login?authRequestID=%00%ff",
		"/oidc/authorize/callback?id=nope"} {
		resp, err := rp.browser.Get(rp.ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode < 400 || resp.StatusCode >= 500 {
			t.Errorf("GET %s: %d, want a 4xx", path, resp.StatusCode)
		}
		// A person's browser gets the site's page that says what to do.
		if strings.HasPrefix(path, "/oidc/login") && (!strings.Contains(resp.Header.Get("Content-Type"), "text/html") ||
			!strings.Contains(string(body), "go back to the app and sign in again")) {
			t.Errorf("GET %s: %s %q, want the error page saying to sign in again", path, resp.Header.Get("Content-Type"), body)
		}
	}
}

// RP-initiated logout with the ID token as hint ends the web session and
// goes back to the app; the next sign-in asks for the password again.
func TestOIDCEndSession(t *testing.T) {
	rp, _ := newOIDCRP(t)
	rp.login(t)
	cfg := rp.app(t, "wiki", false, nil, "https://wiki.example.com/cb")
	verifier := oauth2.GenerateVerifier()
	tok := mustRefreshable(t, rp, cfg, verifier)
	rawID, _ := tok.Extra("id_token").(string)
	q := url.Values{"id_token_hint": {rawID}, "post_logout_redirect_uri": {"https://wiki.example.com/cb"}, "state": {"bye"}}
	loc, status := rp.authorize(t, rp.ts.URL+"/oidc/end_session?"+q.Encode())
	if loc == nil || loc.Host != "wiki.example.com" || loc.Query().Get("state") != "bye" {
		t.Fatalf("end session: %d %v", status, loc)
	}
	loc, status = rp.authorize(t, cfg.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier)))
	if loc == nil || loc.Path != "/login" {
		t.Fatalf("after logout: %d %v, want /login", status, loc)
	}
	// A logout URI that is not registered is not followed.
	q.Set("post_logout_redirect_uri", "https://evil.example.com/")
	loc, status = rp.authorize(t, rp.ts.URL+"/oidc/end_session?"+q.Encode())
	if loc != nil && loc.Host == "evil.example.com" {
		t.Fatalf("end session sent the browser to %v (%d)", loc, status)
	}
}

// The authorization endpoint stores each request, so it shares the public
// limiter; the token endpoint checks secrets, so it shares the login one.
func TestOIDCRateLimited(t *testing.T) {
	ts := mustServerWith(t, func(o *Options) { o.PublicPerMinute, o.AuthPerMinute = 2, 2 })
	for _, c := range []struct{ method, path string }{{"GET", "/oidc/authorize?client_id=x"}, {"POST", "/oidc/token"}} {
		last := 0
		for range 4 {
			req, _ := http.NewRequest(c.method, ts.URL+c.path, nil)
			resp, err := ts.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			last = resp.StatusCode
		}
		if last != http.StatusTooManyRequests {
			t.Errorf("%s %s: the fourth answer is %d, want 429", c.method, c.path, last)
		}
	}
}

// Introspection answers the app the access token was issued to, and reads
// the token as inactive for any other app.
func TestOIDCIntrospection(t *testing.T) {
	rp, user := newOIDCRP(t)
	rp.login(t)
	wiki := rp.app(t, "wiki", false, nil, "https://wiki.example.com/cb")
	other := rp.app(t, "other", false, nil, "https://other.example.com/cb")
	tok := mustRefreshable(t, rp, wiki, oauth2.GenerateVerifier())
	introspect := func(cfg oauth2.Config, token string) map[string]any {
		form := url.Values{"token": {token}}
		req, _ := http.NewRequest("POST", rp.ts.URL+"/oidc/introspect", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(url.QueryEscape(cfg.ClientID), url.QueryEscape(cfg.ClientSecret))
		resp, err := rp.ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out := map[string]any{"status": resp.StatusCode}
		if resp.StatusCode == 200 {
			if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
				t.Fatalf("introspect: %v", err)
			}
		}
		return out
	}
	if got := introspect(wiki, tok.AccessToken); got["active"] != true || got["email"] != "ada@example.com" || got["sub"] != fmt.Sprint(user.ID) {
		t.Errorf("introspect by its app: %v", got)
	}
	if got := introspect(other, tok.AccessToken); got["active"] != false || got["email"] != nil {
		t.Errorf("introspect by another app: %v", got)
	}
	if got := introspect(wiki, "not-a-token"); got["active"] != false {
		t.Errorf("introspect garbage: %v", got)
	}
	wrong := wiki
	wrong.ClientSecret = "nope"
	if got := introspect(wrong, tok.AccessToken); got["active"] == true || got["status"] != 401 {
		t.Errorf("introspect with a wrong secret: %v", got)
	}
}

// The discovery document and the JWKS hold what OpenID Connect Discovery
// 1.0 (§3) and RFC 7517 require, and the document offers only what
// invited serves: the code flow with PKCE S256 and refresh tokens.
func TestOIDCDiscoveryAndJWKSFields(t *testing.T) {
	rp, _ := newOIDCRP(t)
	get := func(path string) map[string]any {
		t.Helper()
		resp, body := rp.ts.call(t, "GET", path, "", "")
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		return body
	}
	doc := get("/.well-known/openid-configuration")
	for _, key := range []string{"issuer", "authorization_endpoint", "token_endpoint", "jwks_uri",
		"response_types_supported", "subject_types_supported", "id_token_signing_alg_values_supported",
		"userinfo_endpoint", "scopes_supported", "claims_supported"} {
		if v, ok := doc[key]; !ok || v == nil || v == "" {
			t.Errorf("discovery lacks %s", key)
		}
	}
	list := func(key string) string {
		raw, _ := doc[key].([]any)
		out := make([]string, len(raw))
		for i, v := range raw {
			out[i], _ = v.(string)
		}
		return strings.Join(out, " ")
	}
	for key, want := range map[string]string{
		"response_types_supported":              "code",
		"response_modes_supported":              "query",
		"grant_types_supported":                 "authorization_code refresh_token",
		"code_challenge_methods_supported":      "S256",
		"subject_types_supported":               "public",
		"id_token_signing_alg_values_supported": "RS256",
		"scopes_supported":                      "openid profile email groups offline_access",
	} {
		if got := list(key); got != want {
			t.Errorf("discovery %s = %q, want %q", key, got, want)
		}
	}
	for _, m := range []string{"client_secret_basic", "client_secret_post", "none"} {
		if !strings.Contains(" "+list("token_endpoint_auth_methods_supported")+" ", " "+m+" ") {
			t.Errorf("token_endpoint_auth_methods_supported %q lacks %s", list("token_endpoint_auth_methods_supported"), m)
		}
	}
	for _, key := range []string{"device_authorization_endpoint", "check_session_iframe"} {
		if _, ok := doc[key]; ok {
			t.Errorf("discovery offers %s, which invited does not serve", key)
		}
	}
	jwksURI, _ := doc["jwks_uri"].(string)
	keys, _ := get(strings.TrimPrefix(jwksURI, rp.ts.URL))["keys"].([]any)
	if len(keys) == 0 {
		t.Fatal("the JWKS holds no key")
	}
	for i, k := range keys {
		key, _ := k.(map[string]any)
		for field, want := range map[string]string{"kty": "RSA", "use": "sig", "alg": "RS256"} {
			if key[field] != want {
				t.Errorf("key %d: %s = %v, want %s", i, field, key[field], want)
			}
		}
		for _, field := range []string{"kid", "n", "e"} {
			if s, _ := key[field].(string); s == "" {
				t.Errorf("key %d lacks %s", i, field)
			}
		}
		for _, private := range []string{"d", "p", "q", "dp", "dq", "qi"} {
			if _, ok := key[private]; ok {
				t.Fatalf("key %d publishes the private part %s", i, private)
			}
		}
	}
}

// A user with a second factor signs in to an app through both steps of
// /login: the password, then a code, and the app gets its code.
func TestOIDCSignInWithSecondFactor(t *testing.T) {
	rp, user := newOIDCRP(t)
	setup, err := rp.ts.store.BeginTOTP(user.ID)
	if err != nil {
		t.Fatal(err)
	}
	code, err := totp.GenerateCode(setup.Secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	recovery, err := rp.ts.store.ConfirmTOTP(db.UserActor(user), user.ID, code)
	if err != nil || len(recovery) == 0 {
		t.Fatalf("turn TOTP on: %v %v", recovery, err)
	}
	cfg := rp.app(t, "wiki", false, []string{"team"}, "https://wiki.example.com/cb")
	verifier := oauth2.GenerateVerifier()
	loc, status := rp.authorize(t, cfg.AuthCodeURL("st-2fa", oauth2.S256ChallengeOption(verifier)))
	if loc == nil || loc.Path != "/login" {
		t.Fatalf("not signed in: %d %v", status, loc)
	}
	rd := loc.Query().Get("rd")

	// The password alone gives the second step's page, not a session.
	resp, err := rp.browser.PostForm(rp.ts.URL+"/login", url.Values{"username": {"ada"}, "password": {testPassword}, "rd": {rd}})
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`name="continuation" value="([0-9a-f]+)"`).FindSubmatch(page)
	if resp.StatusCode != 200 || m == nil || !strings.Contains(string(page), `name="rd"`) {
		t.Fatalf("password step: %d, continuation %q; page %s", resp.StatusCode, m, page)
	}
	if loc, _ := rp.authorize(t, cfg.AuthCodeURL("st-early", oauth2.S256ChallengeOption(verifier))); loc == nil || loc.Path != "/login" {
		t.Fatalf("after the password alone the app got %v, want /login", loc)
	}

	// The second step goes on to the app with a code.
	resp, err = rp.browser.PostForm(rp.ts.URL+"/login/second-factor", url.Values{"continuation": {string(m[1])}, "code": {recovery[0]}, "rd": {rd}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err = resp.Location()
	if err != nil || loc.Host != "wiki.example.com" || loc.Query().Get("state") != "st-2fa" || loc.Query().Get("code") == "" {
		t.Fatalf("second step: %d, last request %v, Location %v (%v)", resp.StatusCode, resp.Request.URL, loc, err)
	}
	ctx := gooidc.ClientContext(context.Background(), rp.ts.Client())
	tok, err := cfg.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange after the second step: %v", err)
	}
	// The ID token says how: a password and a one-time code (here a
	// recovery code), two factors.
	rawID, _ := tok.Extra("id_token").(string)
	idt, err := rp.provider.Verifier(&gooidc.Config{ClientID: cfg.ClientID}).Verify(ctx, rawID)
	if err != nil {
		t.Fatalf("verify the ID token: %v", err)
	}
	var claims struct {
		AMR []string `json:"amr"`
	}
	if err := idt.Claims(&claims); err != nil || !slices.Equal(claims.AMR, []string{"pwd", "otp", "mfa"}) {
		t.Fatalf("amr after a password and a recovery code: %v (%v), want pwd otp mfa", claims.AMR, err)
	}
}
