package web_test

import (
	"html"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"invited/db"
	"invited/server"
)

var (
	secretRe       = regexp.MustCompile(`id="totp-secret">([A-Z2-7]{32})<`)
	recoveryRe     = regexp.MustCompile(`<code>([0-9a-z]{5}-[0-9a-z]{5})</code>`)
	continuationRe = regexp.MustCompile(`name="continuation" value="([0-9a-f]+)"`)
)

func find(t *testing.T, re *regexp.Regexp, body, what string) string {
	t.Helper()
	m := re.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no %s in the page:\n%s", what, body)
	}
	return m[1]
}

// code is secret's code at now+ahead (the real clock: the server's).
func code(t *testing.T, secret string, ahead time.Duration) string {
	t.Helper()
	c, err := totp.GenerateCode(secret, time.Now().Add(ahead))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestTOTPOnAccountAndLoginPages(t *testing.T) {
	ts := mustServer(t)
	u := ts.mustUser(t, db.RoleEditor)
	if p := ts.page(t, "POST", "/account/totp", "", url.Values{}); p.StatusCode != 303 || p.Header.Get("Location") != "/login" {
		t.Fatalf("setup without a session: %d %q", p.StatusCode, p.Header.Get("Location"))
	}
	cookie := ts.login(t, u.Email, testPassword)
	p := ts.page(t, "GET", "/account", cookie, nil)
	if !strings.Contains(p.body, `action="/account/totp"`) {
		t.Fatalf("the account page offers no setup:\n%s", p.body)
	}

	p = ts.page(t, "POST", "/account/totp", cookie, url.Values{})
	if p.StatusCode != 200 || !strings.Contains(p.body, `src="data:image/png;base64,`) {
		t.Fatalf("setup page: %d\n%s", p.StatusCode, p.body)
	}
	secret := find(t, secretRe, p.body, "key")
	p = ts.page(t, "POST", "/account/totp/confirm", cookie, url.Values{"code": {"abcdef"}, "secret": {secret}})
	if p.StatusCode != 400 || !strings.Contains(p.body, `id="code-error"`) || find(t, secretRe, p.body, "key") != secret {
		t.Fatalf("a wrong confirmation: %d\n%s", p.StatusCode, p.body)
	}
	p = ts.page(t, "POST", "/account/totp/confirm", cookie, url.Values{"code": {code(t, secret, 0)}, "secret": {secret}})
	codes := recoveryRe.FindAllStringSubmatch(p.body, -1)
	if p.StatusCode != 200 || len(codes) != db.RecoveryCodeCount {
		t.Fatalf("confirmation: %d, %d codes\n%s", p.StatusCode, len(codes), p.body)
	}
	if p := ts.page(t, "GET", "/account", cookie, nil); !strings.Contains(p.body, "On since") || !strings.Contains(p.body, `action="/account/totp/remove"`) {
		t.Fatalf("the account page after the setup:\n%s", p.body)
	}

	// The login page: the password, then the code; rd rides along.
	p = ts.page(t, "POST", "/login", "", url.Values{"username": {u.Username}, "password": {testPassword}, "rd": {"/account?from=rd"}})
	if p.StatusCode != 200 || !strings.Contains(p.body, "Second step") || !strings.Contains(p.body, `name="rd" value="/account?from=rd"`) {
		t.Fatalf("second step: %d\n%s", p.StatusCode, p.body)
	}
	for _, c := range p.Cookies() {
		if c.Name == sessionCookie {
			t.Fatal("the password alone set a session cookie")
		}
	}
	cont := find(t, continuationRe, p.body, "continuation")
	step := func(v url.Values) pageResponse { return ts.page(t, "POST", "/login/second-factor", "", v) }
	p = step(url.Values{"continuation": {cont}, "code": {"12"}, "rd": {"/account?from=rd"}})
	if p.StatusCode != 401 || !strings.Contains(p.body, `id="code-error"`) || !strings.Contains(p.body, cont) {
		t.Fatalf("a wrong code: %d\n%s", p.StatusCode, p.body)
	}
	// Hostile posts: no continuation, a forged one, a huge code.
	for _, v := range []url.Values{
		{"code": {code(t, secret, 30*time.Second)}},
		{"continuation": {strings.Repeat("f", 64)}, "code": {code(t, secret, 30*time.Second)}},
		{"continuation": {"<script>"}, "code": {"1"}},
	} {
		p := step(v)
		if p.StatusCode != 401 || !strings.Contains(p.body, "This login step has ended") || strings.Contains(p.body, "<script>") {
			t.Fatalf("post %v: %d\n%s", v, p.StatusCode, p.body)
		}
	}
	if p := step(url.Values{"continuation": {cont}, "code": {strings.Repeat("9", 60000)}}); p.StatusCode != 401 {
		t.Fatalf("a huge code: %d", p.StatusCode)
	}
	// A code of the next step: newer than the one that confirmed, and
	// within the drift the server allows.
	p = step(url.Values{"continuation": {cont}, "code": {code(t, secret, 30*time.Second)}, "rd": {"/account?from=rd"}})
	if p.StatusCode != 303 || p.Header.Get("Location") != "/account?from=rd" {
		t.Fatalf("the right code: %d %q\n%s", p.StatusCode, p.Header.Get("Location"), p.body)
	}
	sessionOf(t, p.Response)

	// Removing asks for the password or a code.
	p = ts.page(t, "POST", "/account/totp/remove", cookie, url.Values{"password": {"not it"}})
	if p.StatusCode != 400 || !strings.Contains(p.body, `id="password-error"`) {
		t.Fatalf("removal with a wrong password: %d\n%s", p.StatusCode, p.body)
	}
	p = ts.page(t, "POST", "/account/totp/remove", cookie, url.Values{"password": {testPassword}})
	if p.StatusCode != 303 || p.Header.Get("Location") != "/account?totp-off" {
		t.Fatalf("removal: %d %q\n%s", p.StatusCode, p.Header.Get("Location"), p.body)
	}
	if p := ts.page(t, "POST", "/login", "", url.Values{"username": {u.Username}, "password": {testPassword}}); p.StatusCode != 303 {
		t.Fatalf("login after the removal: %d", p.StatusCode)
	}
}

func TestSetupAtLoginPage(t *testing.T) {
	ts := mustServerWith(t, func(o *server.Options) { o.RequireSecondFactor = []db.Role{db.RoleEditor} })
	u := ts.mustUser(t, db.RoleEditor)
	p := ts.page(t, "POST", "/login", "", url.Values{"username": {u.Username}, "password": {testPassword}})
	if p.StatusCode != 200 || !strings.Contains(p.body, "Set up an authenticator app") || !strings.Contains(p.body, `src="data:image/png;base64,`) {
		t.Fatalf("setup step: %d\n%s", p.StatusCode, p.body)
	}
	secret := find(t, secretRe, p.body, "key")
	cont := find(t, continuationRe, p.body, "continuation")
	p = ts.page(t, "POST", "/login/second-factor", "", url.Values{"continuation": {cont}, "secret": {secret}, "code": {"x"}})
	if p.StatusCode != 401 || find(t, secretRe, p.body, "key") != secret {
		t.Fatalf("a wrong code in the setup: %d\n%s", p.StatusCode, p.body)
	}
	p = ts.page(t, "POST", "/login/second-factor", "", url.Values{"continuation": {cont}, "secret": {secret}, "code": {code(t, secret, 0)}})
	if p.StatusCode != 200 || len(recoveryRe.FindAllString(p.body, -1)) != db.RecoveryCodeCount || !strings.Contains(p.body, `href="/account"`) {
		t.Fatalf("the setup's end: %d\n%s", p.StatusCode, html.UnescapeString(p.body))
	}
	sessionOf(t, p.Response)
	if st, _ := ts.store.SecondFactors(u.ID); !st.TOTP {
		t.Fatal("TOTP is not on after the setup at login")
	}
}

// A user whose only second factor is a passkey is told to use it: no code
// form that could never work, and no session from the password alone.
func TestPasskeyOnlySecondStepPage(t *testing.T) {
	ts := mustServer(t)
	u := ts.mustUser(t, db.RoleViewer)
	if _, err := ts.store.AddPasskey(db.UserActor(u), db.Passkey{UserID: u.ID, CredentialID: []byte("cred"), Name: "Laptop", PublicKey: []byte("cose")}); err != nil {
		t.Fatal(err)
	}
	p := ts.page(t, "POST", "/login", "", url.Values{"username": {u.Username}, "password": {testPassword}})
	if p.StatusCode != 200 || !strings.Contains(p.body, "Use your passkey") || strings.Contains(p.body, `name="code"`) {
		t.Fatalf("passkey-only second step: %d\n%s", p.StatusCode, p.body)
	}
	for _, c := range p.Cookies() {
		if c.Name == sessionCookie {
			t.Fatal("the password alone set a session cookie")
		}
	}
}
