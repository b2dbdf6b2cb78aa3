package main

// The OpenID Connect provider end to end (docs/oidc.md): the real binary,
// a relying party built on coreos/go-oidc and x/oauth2 as apps build
// theirs, and real Chromium signing in through invited's /login form.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"invited/internal/testutil"

	"github.com/chromedp/chromedp"
	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// e2eRP is a small relying party: /start sends the browser to invited
// with state, PKCE S256 and a nonce; /callback exchanges the code,
// verifies the ID token and shows its email and groups claims.
type e2eRP struct {
	srv      *httptest.Server
	ctx      context.Context
	cfg      oauth2.Config
	verifier *gooidc.IDTokenVerifier

	mu      sync.Mutex
	pending map[string][2]string // state -> PKCE verifier, nonce
	tokens  []*oauth2.Token      // one per callback, in order
	codes   []string             // the code of each callback, in order
	errs    []string
}

func (rp *e2eRP) start(w http.ResponseWriter, r *http.Request) {
	state, nonce, verifier := oauth2.GenerateVerifier(), oauth2.GenerateVerifier(), oauth2.GenerateVerifier()
	rp.mu.Lock()
	rp.pending[state] = [2]string{verifier, nonce}
	rp.mu.Unlock()
	http.Redirect(w, r, rp.cfg.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), gooidc.Nonce(nonce)), http.StatusFound)
}

func (rp *e2eRP) callback(w http.ResponseWriter, r *http.Request) {
	fail := func(format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		rp.mu.Lock()
		rp.errs = append(rp.errs, msg)
		rp.mu.Unlock()
		http.Error(w, msg, http.StatusBadRequest)
	}
	rp.mu.Lock()
	p, ok := rp.pending[r.URL.Query().Get("state")]
	delete(rp.pending, r.URL.Query().Get("state"))
	rp.mu.Unlock()
	if !ok {
		fail("callback with an unknown state: %s", r.URL.RawQuery)
		return
	}
	rp.mu.Lock()
	rp.codes = append(rp.codes, r.URL.Query().Get("code"))
	rp.mu.Unlock()
	tok, err := rp.cfg.Exchange(rp.ctx, r.URL.Query().Get("code"), oauth2.VerifierOption(p[0]))
	if err != nil {
		fail("exchange the code: %v", err)
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := rp.verifier.Verify(rp.ctx, raw)
	if err != nil {
		fail("verify the ID token: %v", err)
		return
	}
	if idt.Nonce != p[1] {
		fail("ID token nonce %q, want %q", idt.Nonce, p[1])
		return
	}
	var claims struct {
		Email  string   `json:"email"`
		Groups []string `json:"groups"`
	}
	if err := idt.Claims(&claims); err != nil {
		fail("read claims: %v", err)
		return
	}
	rp.mu.Lock()
	rp.tokens = append(rp.tokens, tok)
	n := len(rp.tokens)
	rp.mu.Unlock()
	fmt.Fprintf(w, "<!doctype html><title>rp</title><pre id=\"claims\">n=%d;email=%s;groups=%s</pre>",
		n, html.EscapeString(claims.Email), html.EscapeString(strings.Join(claims.Groups, ",")))
}

func (rp *e2eRP) token(t *testing.T, i int) *oauth2.Token {
	t.Helper()
	rp.mu.Lock()
	defer rp.mu.Unlock()
	if len(rp.errs) > 0 {
		t.Fatalf("relying party errors: %v", rp.errs)
	}
	if i >= len(rp.tokens) {
		t.Fatalf("relying party has %d sign-ins, want at least %d", len(rp.tokens), i+1)
	}
	return rp.tokens[i]
}

// newE2ERP starts the relying party's /start and /callback on loopback;
// configure sets it up once its app is registered.
func newE2ERP(t *testing.T) *e2eRP {
	t.Helper()
	rp := &e2eRP{pending: map[string][2]string{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /start", rp.start)
	mux.HandleFunc("GET /callback", rp.callback)
	rp.srv = httptest.NewServer(mux)
	t.Cleanup(rp.srv.Close)
	return rp
}

// configure discovers issuer and sets the RP up as the client clientID
// (with secret), asking for openid and scopes.
func (rp *e2eRP) configure(t *testing.T, issuer, clientID, secret string, scopes ...string) {
	t.Helper()
	rp.ctx = gooidc.ClientContext(context.Background(), e2eClient)
	provider, err := gooidc.NewProvider(rp.ctx, issuer)
	if err != nil {
		t.Fatalf("discover %s: %v", issuer, err)
	}
	rp.verifier = provider.Verifier(&gooidc.Config{ClientID: clientID})
	rp.cfg = oauth2.Config{ClientID: clientID, ClientSecret: secret, Endpoint: provider.Endpoint(),
		RedirectURL: rp.srv.URL + "/callback", Scopes: append([]string{gooidc.ScopeOpenID}, scopes...)}
}

// jwtKid reads the "kid" of a JWT's header.
func jwtKid(t *testing.T, raw string) string {
	t.Helper()
	head, _, _ := strings.Cut(raw, ".")
	data, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		t.Fatalf("ID token header is not base64url: %v", err)
	}
	var h struct {
		Kid string `json:"kid"`
	}
	if err := json.Unmarshal(data, &h); err != nil || h.Kid == "" {
		t.Fatalf("ID token header %s: no kid (%v)", data, err)
	}
	return h.Kid
}

// browserSignIn opens the RP's /start and waits for its callback page,
// returning the page's claims text.
func browserSignIn(t *testing.T, ctx context.Context, rp *e2eRP, n int) string {
	t.Helper()
	want := fmt.Sprintf("n=%d;", n)
	var text string
	testutil.Eventually(t, 20*time.Second, "the browser on the RP's callback page", func() error {
		at, err := chromedp.Run(ctx, chromedp.Location())
		if err != nil || !strings.HasPrefix(at, rp.srv.URL+"/callback?") {
			return fmt.Errorf("at %s (%v)", at, err)
		}
		text, err = chromedp.Run(ctx, chromedp.Text(chromedp.ID("claims")))
		if err != nil || !strings.HasPrefix(text, want) {
			return fmt.Errorf("claims %q (%v), want sign-in %d", text, err, n)
		}
		return nil
	})
	return text
}

// TestE2EOIDC signs in to a go-oidc relying party through real Chromium,
// then again by single sign-on; rotates the signing keys on the running
// server (old ID tokens still verify, new ones carry the new kid); and
// disabling the user refuses their refresh token.
func TestE2EOIDC(t *testing.T) {
	port := freePort(t)
	issuer := fmt.Sprintf("http://localhost:%d", port)
	dir := t.TempDir()
	env := []string{fmt.Sprintf("INVITED_SERVER_LISTEN=127.0.0.1:%d", port), "INVITED_SERVER_BASE_URL=" + issuer}
	p := startServer(t, dir, env...)

	status, _, body := do(t, "POST", p.URL+"/api/admin/groups", e2eAdminKey, map[string]any{"id": "staff", "name": "Staff"})
	wantStatus(t, "create group", status, 201, body)
	link := createLink(t, p, map[string]any{"name": "staff", "expiresAt": e2eFuture, "groups": []string{"staff"}})
	res := postSignup(p, link["secret"].(string), signupJSON("ann@example.com", "ann", "Ann Lee"))
	wantStatus(t, "sign up ann", res.status, 200, res.body)
	annID := fmt.Sprint(object(t, "ann", res.body)["id"])

	rp := newE2ERP(t)

	status, _, body = do(t, "POST", p.URL+"/api/admin/apps", e2eAdminKey, map[string]any{
		"name": "RP", "kind": "oidc", "url": rp.srv.URL + "/", "redirectUris": []string{rp.srv.URL + "/callback"}, "groups": []string{"staff"},
	})
	wantStatus(t, "create oidc app", status, 201, body)
	app := object(t, "oidc app", body)
	clientID, _ := app["clientId"].(string)
	secret, _ := app["clientSecret"].(string)
	if clientID == "" || secret == "" {
		t.Fatalf("oidc app without clientId or clientSecret: %s", body)
	}

	rp.configure(t, issuer, clientID, secret, "profile", "email", "groups", gooidc.ScopeOfflineAccess)

	// First sign-in: the RP sends the browser to invited's /login.
	ctx := gateBrowser(t)
	if _, err := chromedp.Run(ctx, chromedp.NavigateResponse(rp.srv.URL+"/start")); err != nil {
		t.Fatalf("open the RP: %v", err)
	}
	if at, _ := chromedp.Run(ctx, chromedp.Location()); !strings.HasPrefix(at, issuer+"/login?") {
		t.Fatalf("the RP sent the browser to %s, want %s/login", at, issuer)
	}
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("username"), "ann"),
		chromedp.SendKeys(chromedp.ID("password"), e2ePassword),
	); err != nil {
		t.Fatalf("fill the login form: %v", err)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`form[action^="/login"] button[type=submit]`))); err != nil {
		t.Fatalf("submit the login form: %v", err)
	}
	if got, want := browserSignIn(t, ctx, rp, 1), "n=1;email=ann@example.com;groups=staff"; got != want {
		t.Fatalf("first sign-in: the RP shows %q, want %q", got, want)
	}
	first := rp.token(t, 0)
	firstID := first.Extra("id_token").(string)
	if first.RefreshToken == "" {
		t.Fatal("no refresh token for offline_access")
	}

	// A code works once: replayed, even with the right verifier, it is
	// refused.
	rp.mu.Lock()
	firstCode := rp.codes[0]
	rp.mu.Unlock()
	if tok, err := rp.cfg.Exchange(rp.ctx, firstCode, oauth2.VerifierOption("any")); err == nil {
		t.Fatalf("a replayed code gave a token (expires %v)", tok.Expiry)
	}

	// Refusals at the authorization endpoint, seen without following
	// redirects: a redirect URI that is not registered gets an error page
	// and no redirect at all; a public app without PKCE goes back to its
	// own redirect URI with an error and never a code.
	noFollow := &http.Client{Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	authorize := func(q url.Values) (int, string) {
		t.Helper()
		resp, err := noFollow.Get(issuer + "/oidc/authorize?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("Location")
	}
	for _, bad := range []string{"https://evil.example/callback", rp.srv.URL + "/callback/x", rp.srv.URL + "/callback?x=1", strings.ToUpper(rp.srv.URL) + "/callback"} {
		status, loc := authorize(url.Values{"client_id": {clientID}, "redirect_uri": {bad}, "response_type": {"code"},
			"scope": {"openid"}, "state": {"s"}, "code_challenge": {"abcdefghijabcdefghijabcdefghijabcdefghij123"}, "code_challenge_method": {"S256"}})
		if status != http.StatusBadRequest || loc != "" {
			t.Errorf("redirect_uri %s: %d, Location %q; want 400 and no redirect", bad, status, loc)
		}
	}
	status, _, body = do(t, "POST", p.URL+"/api/admin/apps", e2eAdminKey, map[string]any{
		"name": "CLI", "kind": "oidc", "public": true, "url": "http://127.0.0.1/", "redirectUris": []string{"http://127.0.0.1/cb"}, "groups": []string{"staff"},
	})
	wantStatus(t, "create public oidc app", status, 201, body)
	publicID, _ := object(t, "public app", body)["clientId"].(string)
	status, loc := authorize(url.Values{"client_id": {publicID}, "redirect_uri": {"http://127.0.0.1/cb"}, "response_type": {"code"},
		"scope": {"openid"}, "state": {"s"}})
	if u, err := url.Parse(loc); err != nil || status != http.StatusFound || u.Host != "127.0.0.1" ||
		u.Query().Get("error") != "invalid_request" || u.Query().Get("code") != "" {
		t.Errorf("public app without PKCE: %d, Location %q; want a redirect with error=invalid_request and no code", status, loc)
	}

	// Single sign-on: straight through, no login page.
	if _, err := chromedp.Run(ctx, chromedp.NavigateResponse(rp.srv.URL+"/start")); err != nil {
		t.Fatalf("open the RP again: %v", err)
	}
	if got, want := browserSignIn(t, ctx, rp, 2), "n=2;email=ann@example.com;groups=staff"; got != want {
		t.Fatalf("single sign-on: the RP shows %q, want %q", got, want)
	}
	oldKid := jwtKid(t, firstID)

	// Key rotation on the running server: the old token still verifies
	// against a freshly fetched JWKS, and a new sign-in uses the new key.
	newKid, mode := rotateKeys(t, serverEnv(dir, env...))
	if mode != "through the running server" || newKid == oldKid {
		t.Fatalf("rotate-keys: key %q %s, old key %q", newKid, mode, oldKid)
	}
	fresh, err := gooidc.NewProvider(rp.ctx, issuer)
	if err != nil {
		t.Fatalf("discover %s after rotation: %v", issuer, err)
	}
	freshVerifier := fresh.Verifier(&gooidc.Config{ClientID: clientID})
	if _, err := freshVerifier.Verify(rp.ctx, firstID); err != nil {
		t.Fatalf("the ID token from before the rotation (kid %s) no longer verifies: %v", oldKid, err)
	}
	if _, err := chromedp.Run(ctx, chromedp.NavigateResponse(rp.srv.URL+"/start")); err != nil {
		t.Fatalf("open the RP after rotation: %v", err)
	}
	if got, want := browserSignIn(t, ctx, rp, 3), "n=3;email=ann@example.com;groups=staff"; got != want {
		t.Fatalf("sign-in after rotation: the RP shows %q, want %q", got, want)
	}
	thirdID := rp.token(t, 2).Extra("id_token").(string)
	if kid := jwtKid(t, thirdID); kid != newKid {
		t.Fatalf("ID token after rotation signed with %q, want the new key %q", kid, newKid)
	}
	if _, err := freshVerifier.Verify(rp.ctx, thirdID); err != nil {
		t.Fatalf("the ID token after rotation does not verify: %v", err)
	}

	// Refresh works while ann is enabled, and is refused once she is
	// disabled.
	expired := func(rt string) *oauth2.Token {
		return &oauth2.Token{RefreshToken: rt, Expiry: time.Now().Add(-time.Hour)}
	}
	refreshed, err := rp.cfg.TokenSource(rp.ctx, expired(first.RefreshToken)).Token()
	if err != nil {
		t.Fatalf("refresh while enabled: %v", err)
	}
	status, _, body = do(t, "POST", p.URL+"/api/admin/user-admin/"+annID+"/disable", e2eAdminKey, nil)
	wantStatus(t, "disable ann", status, 200, body)
	if tok, err := rp.cfg.TokenSource(rp.ctx, expired(refreshed.RefreshToken)).Token(); err == nil {
		t.Fatalf("ann disabled: refresh gave a token (expires %v), want a refusal", tok.Expiry)
	}
}
