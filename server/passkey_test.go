package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"invited/db"
)

const passkeyOrigin = "http://localhost:4242"

func mustPasskeyServer(t *testing.T) (*testServer, *testClock) {
	t.Helper()
	clock := &testClock{t: time.Date(2026, 12, 3, 1, 0, 0, 0, time.UTC)}
	store, err := db.Open(filepath.Join(t.TempDir(), "passkey.db"), db.Options{Now: clock.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if _, err := store.EnsureAPIKey("admin", testKey); err != nil {
		t.Fatal(err)
	}
	ts := mustServerWith(t, func(o *Options) { o.Store = store; o.BaseURL = passkeyOrigin })
	ts.store = store
	return ts, clock
}

// jsonAs calls as caller and decodes a JSON object answer.
func (ts *testServer) jsonAs(t *testing.T, caller, method, path, body string) (*http.Response, map[string]any) {
	t.Helper()
	resp, raw := ts.callAs(t, caller, method, path, body)
	var m map[string]any
	_ = json.Unmarshal([]byte(raw), &m)
	return resp, m
}

func wantCode(t *testing.T, what string, resp *http.Response, body map[string]any, want int) {
	t.Helper()
	if resp.StatusCode != want {
		t.Fatalf("%s: status %d, want %d: %v", what, resp.StatusCode, want, body)
	}
}

// addPasskey runs a whole registration for the user of cookie.
func (ts *testServer) addPasskey(t *testing.T, cookie, name string) *softAuthenticator {
	t.Helper()
	a := newSoftAuthenticator(t, passkeyOrigin, "localhost")
	resp, begun := ts.jsonAs(t, cookie, "POST", "/account/passkeys/begin", fmt.Sprintf(`{"name":%q}`, name))
	wantCode(t, "register begin", resp, begun, 200)
	cer, challenge, handle := passkeyOptions(t, begun)
	resp, pk := ts.jsonAs(t, cookie, "POST", "/account/passkeys/finish", finishBody(cer, a.create(challenge, handle)))
	wantCode(t, "register finish", resp, pk, 201)
	if pk["name"] != name || pk["lastUsedAt"] != nil || pk["id"] != b64.EncodeToString(a.credID) {
		t.Fatalf("new passkey: %v", pk)
	}
	return a
}

// beginLogin starts a discoverable login and returns its ceremony and
// challenge.
func (ts *testServer) beginLogin(t *testing.T) (string, string) {
	t.Helper()
	resp, begun := ts.jsonAs(t, "", "POST", "/auth/passkey/login/begin", `{}`)
	wantCode(t, "login begin", resp, begun, 200)
	pk := begun["publicKey"].(map[string]any)
	if pk["rpId"] != "localhost" || pk["userVerification"] != "required" {
		t.Fatalf("login options: %v", pk)
	}
	cer, challenge, _ := passkeyOptions(t, begun)
	return cer, challenge
}

func sessionOf(resp *http.Response) string {
	for _, c := range resp.Cookies() {
		if c.Name == sessionCookie && c.Value != "" {
			return sessionCookie + "=" + c.Value
		}
	}
	return ""
}

// A passkey added on the account logs in without a password, lands where
// rd says, and is both factors; the ceremony and the assertion work once.
func TestPasskeyRegisterAndLogin(t *testing.T) {
	ts, _ := mustPasskeyServer(t)
	ann := ts.mustUser(t, db.RoleViewer)
	cookie := ts.login(t, ann.Username, testPassword)
	a := ts.addPasskey(t, cookie, "Laptop")

	cer, challenge := ts.beginLogin(t)
	assertion := a.get(challenge)
	body, _ := json.Marshal(map[string]any{"ceremony": cer, "credential": assertion, "rd": "/account?x=1"})
	resp, out := ts.jsonAs(t, "", "POST", "/auth/passkey/login/finish", string(body))
	wantCode(t, "login finish", resp, out, 200)
	if out["next"] != "/account?x=1" || out["user"].(map[string]any)["email"] != ann.Email {
		t.Fatalf("login answer: %v", out)
	}
	session := sessionOf(resp)
	if session == "" {
		t.Fatal("a passkey login set no session cookie")
	}
	resp, me := ts.jsonAs(t, session, "GET", "/api/admin/user", "")
	wantCode(t, "the passkey session", resp, me, 200)

	// The same answer again: the ceremony is gone.
	resp, out = ts.jsonAs(t, "", "POST", "/auth/passkey/login/finish", finishBody(cer, assertion))
	wantCode(t, "replayed finish", resp, out, 401)
	// The old assertion with a new ceremony: its challenge is not this one.
	cer2, _ := ts.beginLogin(t)
	resp, out = ts.jsonAs(t, "", "POST", "/auth/passkey/login/finish", finishBody(cer2, assertion))
	wantCode(t, "replayed assertion", resp, out, 401)

	// An unsafe rd goes to /account instead.
	cer, challenge = ts.beginLogin(t)
	body, _ = json.Marshal(map[string]any{"ceremony": cer, "credential": a.get(challenge), "rd": "https://evil.example.com/"})
	resp, out = ts.jsonAs(t, "", "POST", "/auth/passkey/login/finish", string(body))
	wantCode(t, "login with a foreign rd", resp, out, 200)
	if out["next"] != "/account" {
		t.Fatalf("a foreign rd was followed: %v", out)
	}

	// The use is recorded; the account page lists the passkey.
	pks, err := ts.store.Passkeys(ann.ID)
	if err != nil || len(pks) != 1 || pks[0].LastUsedAt == nil || pks[0].SignCount != 2 {
		t.Fatalf("stored passkey: %+v, %v", pks, err)
	}
	page := ts.page(t, "GET", "/account", session, nil)
	if page.StatusCode != 200 || !strings.Contains(page.body, "Laptop") || !strings.Contains(page.body, `id="passkey-add"`) {
		t.Fatalf("account page: %d %s", page.StatusCode, page.body)
	}
	if csp := page.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'; connect-src 'self'") || !strings.HasPrefix(csp, "default-src 'none'") {
		t.Fatalf("account page CSP %q", csp)
	}
	events, _, _ := ts.store.ListEvents(db.EventPasskeyAdded, 0, 10)
	if len(events) != 1 || events[0].Data["name"] != "Laptop" {
		t.Fatalf("passkey-added events: %+v", events)
	}
}

// Hostile answers to the login ceremony are refused without a session.
func TestPasskeyLoginHostile(t *testing.T) {
	ts, clock := mustPasskeyServer(t)
	ann, bob := ts.mustUser(t, db.RoleViewer), ts.mustUser(t, db.RoleAdmin)
	annKey := ts.addPasskey(t, ts.login(t, ann.Username, testPassword), "Ann's phone")
	bobKey := ts.addPasskey(t, ts.login(t, bob.Username, testPassword), "Bob's laptop")

	refuse := func(what string, want int, body string) {
		t.Helper()
		resp, out := ts.jsonAs(t, "", "POST", "/auth/passkey/login/finish", body)
		wantCode(t, what, resp, out, want)
		if sessionOf(resp) != "" {
			t.Fatalf("%s: a session cookie was set", what)
		}
	}
	cer, challenge := ts.beginLogin(t)
	refuse("garbage credential", 400, finishBody(cer, json.RawMessage(`{"id":"x","type":"public-key"}`)))
	// The garbage used the ceremony up.
	refuse("ceremony used by garbage", 401, finishBody(cer, annKey.get(challenge)))
	cer, _ = ts.beginLogin(t)
	refuse("credential a string", 400, finishBody(cer, json.RawMessage(`"hello"`)))
	refuse("unknown ceremony", 401, finishBody("no-such-ceremony", annKey.get(challenge)))
	refuse("no ceremony", 401, finishBody("", annKey.get(challenge)))
	refuse("unknown field", 400, `{"ceremony":"x","credential":{},"colour":"red"}`)
	refuse("not JSON", 400, `{"ceremony":`)
	refuse("null credential", 400, `{"ceremony":"x","credential":null}`)
	refuse("huge body", 413, `{"ceremony":"`+strings.Repeat("x", MaxBodyBytes)+`","credential":{}}`)

	cer, _ = ts.beginLogin(t)
	refuse("wrong challenge", 401, finishBody(cer, annKey.get(b64.EncodeToString([]byte("a challenge the server never made")))))

	// Bob's credential presented as Ann's (her user handle): it is not
	// one of Ann's passkeys.
	cer, challenge = ts.beginLogin(t)
	bobKey.count++
	refuse("another user's credential", 401, finishBody(cer, bobKey.sign(challenge, annKey.userHandle)))
	// Ann's key claiming to be Bob's user: the signature is Ann's key's,
	// Bob's passkey has another id.
	cer, challenge = ts.beginLogin(t)
	annKey.count++
	refuse("another user's handle", 401, finishBody(cer, annKey.sign(challenge, bobKey.userHandle)))

	// A counter that does not move forward is a cloned authenticator.
	cer, challenge = ts.beginLogin(t)
	resp, out := ts.jsonAs(t, "", "POST", "/auth/passkey/login/finish", finishBody(cer, annKey.get(challenge)))
	wantCode(t, "ann's login", resp, out, 200)
	cer, challenge = ts.beginLogin(t)
	refuse("counter standing still", 401, finishBody(cer, annKey.sign(challenge, annKey.userHandle)))

	// An origin other than base_url's.
	evil := *annKey
	evil.origin = "http://evil.localhost:4242"
	cer, challenge = ts.beginLogin(t)
	refuse("another origin", 401, finishBody(cer, evil.get(challenge)))
	annKey.count = evil.count

	// A ceremony older than 5 minutes.
	cer, challenge = ts.beginLogin(t)
	clock.add(ceremonyTTL + time.Second)
	refuse("expired ceremony", 401, finishBody(cer, annKey.get(challenge)))

	// A disabled user is refused; a deleted one too.
	if _, err := ts.store.DisableUser(db.SystemActor, ann.ID); err != nil {
		t.Fatal(err)
	}
	cer, challenge = ts.beginLogin(t)
	refuse("disabled user", 403, finishBody(cer, annKey.get(challenge)))
	if err := ts.store.DeleteUser(db.SystemActor, ann.ID); err != nil {
		t.Fatal(err)
	}
	cer, challenge = ts.beginLogin(t)
	refuse("deleted user", 401, finishBody(cer, annKey.get(challenge)))

	// Failed assertions never slowed Bob's password down.
	if u, _ := ts.store.FindUserByID(bob.ID); u.LoginAttempts != 0 {
		t.Fatalf("failed assertions counted as failed logins: %d", u.LoginAttempts)
	}
	cer, challenge = ts.beginLogin(t)
	resp, out = ts.jsonAs(t, "", "POST", "/auth/passkey/login/finish", finishBody(cer, bobKey.get(challenge)))
	wantCode(t, "bob after it all", resp, out, 200)
}

// Adding a passkey: only a logged-in person, only their own ceremony,
// with a valid name; removing one asks first and is audited.
func TestPasskeyRegisterHostileAndRemove(t *testing.T) {
	ts, _ := mustPasskeyServer(t)
	ann, bob := ts.mustUser(t, db.RoleViewer), ts.mustUser(t, db.RoleViewer)
	annCookie, bobCookie := ts.login(t, ann.Username, testPassword), ts.login(t, bob.Username, testPassword)

	for what, c := range map[string]struct {
		caller, body string
		want         int
	}{
		"nobody":         {"", `{"name":"x"}`, 401},
		"an API key":     {"key:Bearer " + testKey, `{"name":"x"}`, 403},
		"no name":        {annCookie, `{"name":"  "}`, 400},
		"long name":      {annCookie, `{"name":"` + strings.Repeat("n", 65) + `"}`, 400},
		"control":        {annCookie, `{"name":"a\u0007b"}`, 400},
		"name a number":  {annCookie, `{"name":7}`, 400},
		"unknown field":  {annCookie, `{"name":"x","rk":true}`, 400},
		"huge body":      {annCookie, `{"name":"` + strings.Repeat("x", MaxBodyBytes) + `"}`, 413},
		"a stale cookie": {sessionCookie + "=nope", `{"name":"x"}`, 401},
	} {
		resp, out := ts.jsonAs(t, c.caller, "POST", "/account/passkeys/begin", c.body)
		wantCode(t, what, resp, out, c.want)
	}

	// Bob cannot finish Ann's ceremony, and the attempt uses it up.
	a := newSoftAuthenticator(t, passkeyOrigin, "localhost")
	resp, begun := ts.jsonAs(t, annCookie, "POST", "/account/passkeys/begin", `{"name":"Phone"}`)
	wantCode(t, "begin", resp, begun, 200)
	cer, challenge, handle := passkeyOptions(t, begun)
	if handle == nil || string(handle) != string(db.PasskeyUserHandle(ann.ID)) {
		t.Fatalf("user handle %x", handle)
	}
	sel := begun["publicKey"].(map[string]any)["authenticatorSelection"].(map[string]any)
	if sel["residentKey"] != "required" || sel["userVerification"] != "preferred" {
		t.Fatalf("authenticator selection %v", sel)
	}
	cred := a.create(challenge, handle)
	resp, out := ts.jsonAs(t, bobCookie, "POST", "/account/passkeys/finish", finishBody(cer, cred))
	wantCode(t, "bob finishing ann's ceremony", resp, out, 401)
	resp, out = ts.jsonAs(t, annCookie, "POST", "/account/passkeys/finish", finishBody(cer, cred))
	wantCode(t, "ann after bob used it up", resp, out, 401)
	// A login ceremony is not a registration's.
	lcer, lchallenge := ts.beginLogin(t)
	resp, out = ts.jsonAs(t, annCookie, "POST", "/account/passkeys/finish", finishBody(lcer, a.create(lchallenge, handle)))
	wantCode(t, "a login ceremony to register", resp, out, 401)
	// A challenge of another ceremony.
	resp, begun = ts.jsonAs(t, annCookie, "POST", "/account/passkeys/begin", `{"name":"Phone"}`)
	wantCode(t, "begin", resp, begun, 200)
	cer, _, _ = passkeyOptions(t, begun)
	resp, out = ts.jsonAs(t, annCookie, "POST", "/account/passkeys/finish", finishBody(cer, a.create(challenge, handle)))
	wantCode(t, "wrong challenge", resp, out, 400)
	resp, begun = ts.jsonAs(t, annCookie, "POST", "/account/passkeys/begin", `{"name":"Phone"}`)
	wantCode(t, "begin", resp, begun, 200)
	cer, _, _ = passkeyOptions(t, begun)
	resp, out = ts.jsonAs(t, annCookie, "POST", "/account/passkeys/finish", finishBody(cer, json.RawMessage(`{"garbage":true}`)))
	wantCode(t, "garbage", resp, out, 400)
	if pks, _ := ts.store.Passkeys(ann.ID); len(pks) != 0 {
		t.Fatalf("a refused registration stored %+v", pks)
	}

	// Now a real one, then the same authenticator again is refused.
	key := ts.addPasskey(t, annCookie, "Phone")
	resp, begun = ts.jsonAs(t, annCookie, "POST", "/account/passkeys/begin", `{"name":"Again"}`)
	wantCode(t, "begin again", resp, begun, 200)
	if ex, _ := begun["publicKey"].(map[string]any)["excludeCredentials"].([]any); len(ex) != 1 {
		t.Fatalf("the passkey she has is not excluded: %v", begun)
	}
	cer, challenge, handle = passkeyOptions(t, begun)
	resp, out = ts.jsonAs(t, annCookie, "POST", "/account/passkeys/finish", finishBody(cer, key.create(challenge, handle)))
	wantCode(t, "the same passkey twice", resp, out, 409)

	// Removing: Bob cannot see nor remove Ann's passkey.
	id := b64.EncodeToString(key.credID)
	if p := ts.page(t, "GET", "/account/passkeys/remove?id="+id, bobCookie, nil); p.StatusCode != 404 {
		t.Fatalf("bob sees ann's passkey: %d", p.StatusCode)
	}
	if p := ts.page(t, "POST", "/account/passkeys/remove", bobCookie, map[string][]string{"id": {id}}); p.StatusCode != 404 {
		t.Fatalf("bob removes ann's passkey: %d", p.StatusCode)
	}
	for _, bad := range []string{"", "!!!", strings.Repeat("A", 5000)} {
		if p := ts.page(t, "GET", "/account/passkeys/remove?id="+bad, annCookie, nil); p.StatusCode != 404 {
			t.Fatalf("id %.10q: %d", bad, p.StatusCode)
		}
	}
	if p := ts.page(t, "GET", "/account/passkeys/remove?id="+id, "", nil); p.StatusCode != 303 {
		t.Fatalf("no session: %d", p.StatusCode)
	}
	p := ts.page(t, "GET", "/account/passkeys/remove?id="+id, annCookie, nil)
	if p.StatusCode != 200 || !strings.Contains(p.body, "Phone") || !strings.Contains(p.body, `action="/account/passkeys/remove"`) {
		t.Fatalf("confirmation page: %d %s", p.StatusCode, p.body)
	}
	if pks, _ := ts.store.Passkeys(ann.ID); len(pks) != 1 {
		t.Fatal("asking removed the passkey")
	}
	p = ts.page(t, "POST", "/account/passkeys/remove", annCookie, map[string][]string{"id": {id}})
	if p.StatusCode != 303 || p.Header.Get("Location") != "/account?passkey-removed" {
		t.Fatalf("remove: %d %v", p.StatusCode, p.Header)
	}
	if pks, _ := ts.store.Passkeys(ann.ID); len(pks) != 0 {
		t.Fatal("the passkey was not removed")
	}
	events, _, _ := ts.store.ListEvents(db.EventPasskeyRemoved, 0, 10)
	if len(events) != 1 || events[0].Data["name"] != "Phone" || !strings.Contains(events[0].CreatedBy, ann.Username) {
		t.Fatalf("passkey-removed events: %+v", events)
	}
	// It no longer logs in.
	cer, challenge = ts.beginLogin(t)
	resp, out = ts.jsonAs(t, "", "POST", "/auth/passkey/login/finish", finishBody(cer, key.get(challenge)))
	wantCode(t, "a removed passkey", resp, out, 401)
}

// The ceremonies kept in memory stay bounded: a full store drops the
// expired first, then the oldest.
func TestPasskeyCeremoniesBounded(t *testing.T) {
	clock := &testClock{t: time.Date(2026, 12, 3, 1, 0, 0, 0, time.UTC)}
	cs := newCeremonies(clock.now)
	cs.max = 3
	first, _ := cs.put(ceremony{kind: ceremonyLogin})
	clock.add(time.Second)
	second, _ := cs.put(ceremony{kind: ceremonyLogin})
	third, _ := cs.put(ceremony{kind: ceremonyLogin})
	fourth, _ := cs.put(ceremony{kind: ceremonyLogin})
	if len(cs.m) != 3 {
		t.Fatalf("%d ceremonies kept, want 3", len(cs.m))
	}
	if _, ok := cs.take(first, ceremonyLogin); ok {
		t.Fatal("the oldest ceremony was kept")
	}
	if _, ok := cs.take(second, ceremonyRegister); ok {
		t.Fatal("a login ceremony was taken as a registration")
	}
	if _, ok := cs.take(second, ceremonyLogin); ok {
		t.Fatal("a ceremony taken (wrongly) once works again")
	}
	if _, ok := cs.take(third, ceremonyLogin); !ok {
		t.Fatal("a live ceremony was lost")
	}
	clock.add(ceremonyTTL)
	if _, ok := cs.take(fourth, ceremonyLogin); ok {
		t.Fatal("an expired ceremony was taken")
	}
}

// Without a host name in base_url there are no passkeys: the endpoints
// say so and the pages show no control and load no script.
func TestPasskeysOffWithoutHostName(t *testing.T) {
	for _, base := range []string{"", "http://[::1]:4242", "http://10.0.0.1"} {
		if wa, why := newRelyingParty(base, "x"); wa != nil || why == "" {
			t.Errorf("base_url %q makes a relying party", base)
		}
	}
	ts := mustServerWith(t, func(o *Options) { o.BaseURL = "http://127.0.0.1:4242" })
	resp, out := ts.jsonAs(t, "", "POST", "/auth/passkey/login/begin", `{}`)
	wantCode(t, "begin", resp, out, 404)
	page := ts.page(t, "GET", "/login", "", nil)
	if strings.Contains(page.body, "passkey") || strings.Contains(page.Header.Get("Content-Security-Policy"), "script-src") {
		t.Fatalf("login page with passkeys off: %s %s", page.Header.Get("Content-Security-Policy"), page.body)
	}
}

// An assertion bound to a known user (the second step after a password)
// takes only that user's passkeys, and only for that user's ceremony.
func TestPasskeyBoundAssertion(t *testing.T) {
	ts, _ := mustPasskeyServer(t)
	ann, bob := ts.mustUser(t, db.RoleViewer), ts.mustUser(t, db.RoleViewer)
	annKey := ts.addPasskey(t, ts.login(t, ann.Username, testPassword), "Ann's key")
	bobKey := ts.addPasskey(t, ts.login(t, bob.Username, testPassword), "Bob's key")
	srv := ts.srv
	carol := ts.mustUser(t, db.RoleViewer)
	if _, _, err := srv.beginPasskeyAssertion(carol.ID); db.ErrorCode(err) != db.ENOTFOUND {
		t.Fatalf("a bound login for a user without passkeys: %v", err)
	}

	begin := func(userID uint64) (string, string) {
		t.Helper()
		id, opts, err := srv.beginPasskeyAssertion(userID)
		if err != nil {
			t.Fatal(err)
		}
		if len(opts.Response.AllowedCredentials) != 1 {
			t.Fatalf("allowed credentials %+v", opts.Response.AllowedCredentials)
		}
		return id, opts.Response.Challenge.String()
	}
	id, challenge := begin(ann.ID)
	a, err := srv.finishPasskeyAssertion(id, annKey.get(challenge), ann.ID)
	if err != nil || a.UserID != ann.ID || string(a.CredentialID) != string(annKey.credID) || a.Use.SignCount != annKey.count {
		t.Fatalf("bound assertion: %+v, %v", a, err)
	}
	// Ann's ceremony finished as Bob's, or as a discoverable login.
	id, challenge = begin(ann.ID)
	if _, err := srv.finishPasskeyAssertion(id, annKey.get(challenge), bob.ID); err != errCeremonyGone {
		t.Fatalf("ann's ceremony as bob's: %v", err)
	}
	id, challenge = begin(ann.ID)
	if _, err := srv.finishPasskeyAssertion(id, annKey.get(challenge), 0); err != errCeremonyGone {
		t.Fatalf("ann's ceremony as a discoverable login: %v", err)
	}
	// Bob's passkey answering Ann's ceremony.
	id, challenge = begin(ann.ID)
	if _, err := srv.finishPasskeyAssertion(id, bobKey.get(challenge), ann.ID); err == nil {
		t.Fatal("bob's passkey passed for ann")
	}
	// A discoverable ceremony cannot be finished as bound.
	id, challenge = ts.beginLogin(t)
	if _, err := srv.finishPasskeyAssertion(id, annKey.get(challenge), ann.ID); err != errCeremonyGone {
		t.Fatalf("a discoverable ceremony as ann's: %v", err)
	}
}

// A password login of a user with a passkey waits for it; only that
// user's passkey, through a ceremony begun for that continuation,
// finishes it, once.
func TestPasskeySecondStep(t *testing.T) {
	ts, clock := mustPasskeyServer(t)
	ann, bob := ts.mustUser(t, db.RoleViewer), ts.mustUser(t, db.RoleViewer)
	annKey := ts.addPasskey(t, ts.login(t, ann.Username, testPassword), "Ann's key")
	bobKey := ts.addPasskey(t, ts.login(t, bob.Username, testPassword), "Bob's key")

	passwordStep := func(u db.User) string {
		t.Helper()
		resp, body := ts.jsonAs(t, "", "POST", "/auth/simple/login", fmt.Sprintf(`{"username":%q,"password":%q}`, u.Username, testPassword))
		wantCode(t, "password step", resp, body, 401)
		methods, _ := body["methods"].([]any)
		if body["name"] != "SecondFactorRequired" || len(methods) != 1 || methods[0] != "passkey" || sessionOf(resp) != "" {
			t.Fatalf("password step of a passkey user: %v", body)
		}
		return body["continuation"].(string)
	}
	begin := func(cont string) (string, string) {
		t.Helper()
		resp, begun := ts.jsonAs(t, "", "POST", "/auth/passkey/second-factor/begin", fmt.Sprintf(`{"continuation":%q}`, cont))
		wantCode(t, "second-factor begin", resp, begun, 200)
		allowed, _ := begun["publicKey"].(map[string]any)["allowCredentials"].([]any)
		if len(allowed) != 1 {
			t.Fatalf("the ceremony allows %d passkeys, want the user's one: %v", len(allowed), begun)
		}
		cer, challenge, _ := passkeyOptions(t, begun)
		return cer, challenge
	}
	finish := func(cont, cer string, cred json.RawMessage, rd string) (*http.Response, map[string]any) {
		t.Helper()
		b, _ := json.Marshal(map[string]any{"continuation": cont, "ceremony": cer, "credential": cred, "rd": rd})
		return ts.jsonAs(t, "", "POST", "/auth/passkey/second-factor/finish", string(b))
	}

	cont := passwordStep(ann)
	// Bob's passkey cannot answer Ann's ceremony, nor can a discoverable
	// ceremony stand in for hers; neither opens a session.
	cer, challenge := begin(cont)
	if resp, out := finish(cont, cer, bobKey.get(challenge), ""); resp.StatusCode != 401 || sessionOf(resp) != "" {
		t.Fatalf("bob's passkey for ann: %d %v", resp.StatusCode, out)
	}
	dcer, dchallenge := ts.beginLogin(t)
	if resp, out := finish(cont, dcer, annKey.get(dchallenge), ""); resp.StatusCode != 401 || sessionOf(resp) != "" {
		t.Fatalf("a discoverable ceremony as the second step: %d %v", resp.StatusCode, out)
	}
	// Bob's continuation with a ceremony begun for Ann's.
	bobCont := passwordStep(bob)
	cer, challenge = begin(cont)
	if resp, out := finish(bobCont, cer, annKey.get(challenge), ""); resp.StatusCode != 401 || sessionOf(resp) != "" {
		t.Fatalf("ann's ceremony for bob's continuation: %d %v", resp.StatusCode, out)
	}
	// Hostile continuations.
	for _, bad := range []string{`{"continuation":""}`, `{"continuation":"nope"}`, `{"continuation":1}`, `{"continuation":"` + strings.Repeat("a", 5000) + `"}`, `{}`} {
		resp, out := ts.jsonAs(t, "", "POST", "/auth/passkey/second-factor/begin", bad)
		if resp.StatusCode != 400 && resp.StatusCode != 401 {
			t.Errorf("begin %.40s: %d %v", bad, resp.StatusCode, out)
		}
	}

	// Ann's own passkey finishes it, once, and goes on to a safe rd.
	cer, challenge = begin(cont)
	resp, out := finish(cont, cer, annKey.get(challenge), "/account?from=2fa")
	wantCode(t, "ann's passkey", resp, out, 200)
	session := sessionOf(resp)
	if session == "" || out["next"] != "/account?from=2fa" || out["user"].(map[string]any)["email"] != ann.Email {
		t.Fatalf("second step answer: %v (cookie %q)", out, session)
	}
	resp, me := ts.jsonAs(t, session, "GET", "/api/admin/user", "")
	wantCode(t, "the session of the second step", resp, me, 200)
	resp, out = ts.jsonAs(t, "", "POST", "/auth/passkey/second-factor/begin", fmt.Sprintf(`{"continuation":%q}`, cont))
	wantCode(t, "the used continuation", resp, out, 401)

	// A continuation lasts 5 minutes.
	cont = passwordStep(ann)
	cer, challenge = begin(cont)
	clock.add(5*time.Minute + time.Second)
	if resp, out := finish(cont, cer, annKey.get(challenge), ""); resp.StatusCode != 401 || sessionOf(resp) != "" {
		t.Fatalf("an expired continuation: %d %v", resp.StatusCode, out)
	}
}
