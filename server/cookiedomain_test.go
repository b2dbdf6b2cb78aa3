package server

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"invited/db"
)

// TestSessionCookieDomain: with a cookie domain the login cookie (JSON
// login and /login page) is set for it, and logging out (both ways)
// clears it for the same domain; without one the cookie has no Domain.
func TestSessionCookieDomain(t *testing.T) {
	for _, domain := range []string{"", "example.com"} {
		t.Run("domain "+domain, func(t *testing.T) {
			ts := mustServerWith(t, func(o *Options) {
				o.BaseURL, o.CookieDomain = "https://invite.example.com", domain
			})
			u := ts.mustUser(t, db.RoleViewer)
			client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			send := func(method, path, contentType, body string) *http.Response {
				req, _ := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
				if contentType != "" {
					req.Header.Set("Content-Type", contentType)
				}
				resp, err := client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				return resp
			}
			check := func(what string, resp *http.Response, cleared bool) {
				t.Helper()
				var set []string
				for _, line := range resp.Header.Values("Set-Cookie") {
					if strings.HasPrefix(line, sessionCookie+"=") {
						set = append(set, line)
					}
				}
				if len(set) != 1 {
					t.Fatalf("%s: session Set-Cookie %q, want one", what, set)
				}
				line := set[0]
				hasDomain := strings.Contains(line, "; Domain=")
				if domain == "" && hasDomain || domain != "" && !strings.Contains(line, "; Domain="+domain+";") && !strings.HasSuffix(line, "; Domain="+domain) {
					t.Errorf("%s: %q, want Domain %q", what, line, domain)
				}
				if got := strings.Contains(line, "Max-Age=0"); got != cleared {
					t.Errorf("%s: %q, cleared %v, want %v", what, line, got, cleared)
				}
			}
			login := send("POST", "/auth/simple/login", "application/json", fmt.Sprintf(`{"username":%q,"password":%q}`, u.Email, testPassword))
			if login.StatusCode != 200 {
				t.Fatalf("login: %d", login.StatusCode)
			}
			check("JSON login", login, false)
			check("JSON logout", send("POST", "/auth/logout", "", ""), true)
			form := url.Values{"username": {u.Email}, "password": {testPassword}}.Encode()
			page := send("POST", "/login", "application/x-www-form-urlencoded", form)
			if page.StatusCode != http.StatusSeeOther {
				t.Fatalf("login page: %d", page.StatusCode)
			}
			check("login page", page, false)
			check("logout page", send("POST", "/logout", "application/x-www-form-urlencoded", "x=1"), true)
		})
	}
}
