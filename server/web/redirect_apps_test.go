package web_test

import (
	"net/url"
	"strings"
	"testing"

	"invited/db"
	"invited/server"
)

// TestLoginRedirectToApps: after a login, rd may send the browser to a
// host a proxy app covers (exactly, or by its wildcard), and to no other
// host; a deleted app's hosts stop being admitted.
func TestLoginRedirectToApps(t *testing.T) {
	ts := mustServerWith(t, func(o *server.Options) { o.BaseURL = "https://invite.example.com" })
	u := ts.mustUser(t, db.RoleViewer)
	if _, _, err := ts.store.CreateApp(db.SystemActor, db.NewApp{ID: "grafana", Name: "Grafana", URL: "https://grafana.example.com",
		Domains: []string{"grafana.example.com", "*.tools.example.com"}}); err != nil {
		t.Fatal(err)
	}
	login := func(rd string) string {
		p := ts.page(t, "POST", "/login", "", url.Values{"username": {u.Email}, "password": {testPassword}, "rd": {rd}})
		if p.StatusCode != 303 {
			t.Fatalf("login with rd %q: %d", rd, p.StatusCode)
		}
		return p.Header.Get("Location")
	}
	for rd, want := range map[string]string{
		"https://grafana.example.com/d/1?x=2":   "https://grafana.example.com/d/1?x=2",
		"https://GRAFANA.example.com:8443/":     "https://grafana.example.com:8443/",
		"http://wiki.tools.example.com/page":    "http://wiki.tools.example.com/page",
		"https://tools.example.com/":            "/account", // a wildcard covers not its parent
		"https://a.wiki.tools.example.com/":     "/account", // nor two levels below
		"https://grafana.example.com.evil.org/": "/account",
		"https://evil.example/":                 "/account",
	} {
		if got := login(rd); got != want {
			t.Errorf("login with rd %q went to %q, want %q", rd, got, want)
		}
	}
	if err := ts.store.DeleteApp(db.SystemActor, "grafana"); err != nil {
		t.Fatal(err)
	}
	if got := login("https://grafana.example.com/"); got != "/account" {
		t.Errorf("rd to a deleted app's host went to %q", got)
	}
}

// TestLoginPageFormActionAllowsApp: CSP form-action also governs the
// redirect after a post, so the login page names the origin of a safe rd
// (and only that one); without it a browser stays on /login after logging
// in on its way to an app.
func TestLoginPageFormActionAllowsApp(t *testing.T) {
	ts := mustServerWith(t, func(o *server.Options) { o.BaseURL = "https://invite.example.com" })
	if _, _, err := ts.store.CreateApp(db.SystemActor, db.NewApp{ID: "grafana", Name: "Grafana", URL: "https://grafana.example.com",
		Domains: []string{"grafana.example.com"}}); err != nil {
		t.Fatal(err)
	}
	for rd, want := range map[string]string{
		"https://grafana.example.com:8443/d/1": "form-action 'self' https://grafana.example.com:8443;",
		"https://evil.example/":                "form-action 'self';",
		"":                                     "form-action 'self';",
	} {
		p := ts.page(t, "GET", "/login?rd="+url.QueryEscape(rd), "", nil)
		if csp := p.Header.Get("Content-Security-Policy"); !strings.Contains(csp, want) {
			t.Errorf("login page with rd %q: CSP %q, want %q in it", rd, csp, want)
		}
	}
}
