package server

import (
	"net/url"
	"strings"
	"testing"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// The login page an OpenID Connect sign-in sends the browser to names the
// app's redirect URI origin in CSP form-action (the browser follows the
// form's redirects there, and stops on /login otherwise); an rd that is
// not a known auth request adds nothing.
func TestOIDCLoginPageFormAction(t *testing.T) {
	rp, _ := newOIDCRP(t)
	cfg := rp.app(t, "wiki", false, []string{"team"}, "https://wiki.example.com:8443/cb")
	loc, status := rp.authorize(t, cfg.AuthCodeURL("st", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()), gooidc.Nonce("n")))
	if loc == nil || loc.Path != "/login" {
		t.Fatalf("not signed in: %d %v, want /login?rd=", status, loc)
	}
	rd := loc.Query().Get("rd")
	csp := func(rd string) string {
		t.Helper()
		resp, err := rp.ts.Client().Get(rp.ts.URL + "/login?rd=" + url.QueryEscape(rd))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.Header.Get("Content-Security-Policy")
	}
	if got := csp(rd); !strings.Contains(got, "form-action 'self' https://wiki.example.com:8443;") {
		t.Errorf("login page for %s: CSP %q, want form-action naming https://wiki.example.com:8443", rd, got)
	}
	for _, bad := range []string{
		"/oidc/login?authRequestID=nope",
		"/oidc/login?authRequestID=",
		"/oidc/login",
		"//evil.example/oidc/login?" + strings.SplitN(rd, "?", 2)[1],
		"/oidc/login/../x?" + strings.SplitN(rd, "?", 2)[1],
		"/other?" + strings.SplitN(rd, "?", 2)[1],
		"/oidc/login?authRequestID=%00%3B%20script-src%20*",
	} {
		if got := csp(bad); !strings.Contains(got, "form-action 'self';") {
			t.Errorf("login page for rd %q: CSP %q, want form-action 'self' alone", bad, got)
		}
	}
}
