package web_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"invited/db"
	"invited/server"
)

var appAdmin = db.Actor{Kind: "apikey", Name: "t", Role: db.RoleAdmin}

func (ts *testServer) mustApp(tb testing.TB, in db.NewApp) db.App {
	tb.Helper()
	a, _, err := ts.store.CreateApp(appAdmin, in)
	if err != nil {
		tb.Fatal(err)
	}
	return a
}

// A signup through a link that names an app signs the person in and sends
// them (303) to the app's url, the one an Admin set: a posted rd is not
// looked at.
func TestSignupIntoAppSignsInAndGoesOn(t *testing.T) {
	ts := mustServer(t)
	ts.mustApp(t, db.NewApp{ID: "grafana", Name: "Grafana", URL: "https://grafana.example.com/d/home", Domains: []string{"grafana.example.com"}})
	link := ts.mustLink(t, db.NewSignupToken{AppID: "grafana"})

	get := ts.page(t, "GET", "/new-user?invite="+link.Secret, "", nil)
	if get.StatusCode != 200 || !strings.Contains(get.body, "Grafana") {
		t.Fatalf("signup page %d does not name the app:\n%s", get.StatusCode, get.body)
	}
	// The form may end at the app's origin, and nowhere else.
	if csp := get.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self' https://grafana.example.com;") {
		t.Fatalf("CSP %q does not let the form end at the app", csp)
	}

	form := signupValues("ada@example.com", testPassword, testPassword)
	form.Set("rd", "https://evil.example/steal")
	p := ts.page(t, "POST", "/new-user?invite="+link.Secret+"&rd=https://evil.example/", "", form)
	if p.StatusCode != 303 || p.Header.Get("Location") != "https://grafana.example.com/d/home" {
		t.Fatalf("signup into an app: %d to %q, want 303 to the app's url", p.StatusCode, p.Header.Get("Location"))
	}
	cookie := sessionOf(t, p.Response)
	who := ts.page(t, "GET", "/account", cookie, nil)
	if who.StatusCode != 200 || !strings.Contains(who.body, "ada@example.com") {
		t.Fatalf("the join's cookie does not open /account: %d", who.StatusCode)
	}
}

func TestAcceptIntoAppSignsInAndGoesOn(t *testing.T) {
	ts := mustServer(t)
	ts.mustApp(t, db.NewApp{ID: "wiki", Name: "Team Wiki", URL: "https://wiki.example.com/", Kind: db.AppKindOIDC,
		RedirectURIs: []string{"https://wiki.example.com/cb"}})
	inv, err := ts.store.CreateInvitation(db.SystemActor, db.NewInvitation{Email: "ina@example.com", DefaultTTL: time.Hour, Inviter: "T", AppID: "wiki"})
	if err != nil {
		t.Fatal(err)
	}
	get := ts.page(t, "GET", "/invitations/"+inv.Token, "", nil)
	if get.StatusCode != 200 || !strings.Contains(get.body, "Team Wiki") {
		t.Fatalf("invitation page %d does not name the app", get.StatusCode)
	}
	form := url.Values{"name": {"Ina"}, "username": {"ina"}, "password": {testPassword}, "password2": {testPassword}}
	p := ts.page(t, "POST", "/invitations/"+inv.Token, "", form)
	if p.StatusCode != 303 || p.Header.Get("Location") != "https://wiki.example.com/" {
		t.Fatalf("accept into an app: %d to %q", p.StatusCode, p.Header.Get("Location"))
	}
	sessionOf(t, p.Response)
}

// An address still to verify is not signed in: the welcome page names the
// app, and no cookie is set. Opening the verification link signs nobody
// in either; its page links to the app.
func TestSignupIntoAppWaitsForVerification(t *testing.T) {
	ts := mustServer(t) // auth.verify_email = domains: a link with allowedDomains asks it
	ts.mustApp(t, db.NewApp{ID: "grafana", Name: "Grafana", URL: "https://grafana.example.com/", Domains: []string{"grafana.example.com"}})
	link := ts.mustLink(t, db.NewSignupToken{AppID: "grafana", AllowedDomains: []string{"example.com"}})
	p := ts.page(t, "POST", "/new-user?invite="+link.Secret, "", signupValues("ver@example.com", testPassword, testPassword))
	if p.StatusCode != 200 || !strings.Contains(p.body, "Check your mailbox") || !strings.Contains(p.body, `href="https://grafana.example.com/">Grafana</a>`) {
		t.Fatalf("unverified join: %d, want the welcome page naming the app\n%s", p.StatusCode, p.body)
	}
	for _, c := range p.Cookies() {
		if c.Name == sessionCookie && c.Value != "" {
			t.Fatal("an unverified join was signed in")
		}
	}
	u, err := ts.store.FindUserByLogin("ver@example.com")
	if err != nil {
		t.Fatal(err)
	}
	secret, _, _, err := ts.store.IssueEmailVerification(u.ID)
	if err != nil {
		t.Fatal(err)
	}
	v := ts.page(t, "GET", "/verify-email/"+secret, "", nil)
	if v.StatusCode != 200 || !strings.Contains(v.body, `href="https://grafana.example.com/">Open Grafana</a>`) {
		t.Fatalf("verification page %d does not link to the app\n%s", v.StatusCode, v.body)
	}
	for _, c := range v.Cookies() {
		if c.Name == sessionCookie && c.Value != "" {
			t.Fatal("opening the verification link signed someone in")
		}
	}
}

// A role that must have a second factor is sent through the login's
// second step (setting one up), never given a session at once.
func TestSignupIntoAppKeepsTheSecondFactor(t *testing.T) {
	ts := mustServerWith(t, func(o *server.Options) { o.RequireSecondFactor = []db.Role{db.RoleEditor} })
	ts.mustApp(t, db.NewApp{ID: "grafana", Name: "Grafana", URL: "https://grafana.example.com/", Domains: []string{"grafana.example.com"}})
	link := ts.mustLink(t, db.NewSignupToken{AppID: "grafana", Role: db.RoleEditor})
	p := ts.page(t, "POST", "/new-user?invite="+link.Secret, "", signupValues("ed@example.com", testPassword, testPassword))
	if p.StatusCode != 200 || !strings.Contains(p.body, `name="continuation"`) {
		t.Fatalf("join of a role that must have a second factor: %d, want the setup step\n%s", p.StatusCode, p.body)
	}
	for _, c := range p.Cookies() {
		if c.Name == sessionCookie && c.Value != "" {
			t.Fatal("a session cookie was set before the second factor")
		}
	}
	if !strings.Contains(p.body, `name="rd" value="https://grafana.example.com/"`) {
		t.Fatalf("the second step does not end at the app:\n%s", p.body)
	}
}
