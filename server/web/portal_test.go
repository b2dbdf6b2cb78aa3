package web_test

import (
	"strings"
	"testing"

	"invited/db"
)

// TestPortal: GET / lists, by name and address, only the apps that admit
// the logged-in user, links to /account, carries the pages' headers and
// no script; without a session (or with a dead one) it sends to /login.
func TestPortal(t *testing.T) {
	ts := mustServer(t)
	actor := db.Actor{Kind: "apikey", Name: "t", Role: db.RoleAdmin}
	if _, err := ts.store.CreateGroup(actor, db.NewGroup{ID: "ops", Name: "Ops"}); err != nil {
		t.Fatal(err)
	}
	for _, a := range []db.NewApp{
		{ID: "wiki", Name: "Team <Wiki>", URL: "https://wiki.example.com/start", Domains: []string{"wiki.example.com"}},
		{ID: "ops", Name: "Ops board", URL: "https://ops.example.com/", Groups: []string{"ops"}, Domains: []string{"ops.example.com"}},
	} {
		if _, _, err := ts.store.CreateApp(actor, a); err != nil {
			t.Fatal(err)
		}
	}
	viewer := ts.mustUser(t, db.RoleViewer)
	member := ts.mustUser(t, db.RoleViewer)
	groups := []string{"ops"}
	if _, err := ts.store.UpdateUser(actor, member.ID, db.UserUpdate{Groups: &groups}); err != nil {
		t.Fatal(err)
	}

	p := ts.page(t, "GET", "/", ts.login(t, viewer.Email, testPassword), nil)
	if p.StatusCode != 200 {
		t.Fatalf("the viewer's portal: %d %s", p.StatusCode, p.body)
	}
	if !strings.Contains(p.body, `<a href="https://wiki.example.com/start">Team &lt;Wiki&gt;</a>`) {
		t.Errorf("the open app is missing or unescaped:\n%s", p.body)
	}
	if strings.Contains(p.body, "ops.example.com") || strings.Contains(p.body, "Ops board") {
		t.Errorf("the viewer sees an app of a group they are not in:\n%s", p.body)
	}
	if !strings.Contains(p.body, `href="/account"`) || strings.Contains(p.body, "<script") {
		t.Errorf("no link to /account, or a script:\n%s", p.body)
	}
	if csp := p.Header.Get("Content-Security-Policy"); !strings.HasPrefix(csp, "default-src 'none'") || p.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("headers: %v", p.Header)
	}

	p = ts.page(t, "GET", "/", ts.login(t, member.Email, testPassword), nil)
	if p.StatusCode != 200 || !strings.Contains(p.body, `<a href="https://ops.example.com/">Ops board</a>`) || !strings.Contains(p.body, "wiki.example.com") {
		t.Errorf("the member's portal: %d\n%s", p.StatusCode, p.body)
	}

	// A user no app admits reads that there is none yet.
	if err := ts.store.DeleteApp(actor, "wiki"); err != nil {
		t.Fatal(err)
	}
	if p := ts.page(t, "GET", "/", ts.login(t, viewer.Email, testPassword), nil); p.StatusCode != 200 || !strings.Contains(p.body, "no app for you yet") {
		t.Errorf("no apps: %d\n%s", p.StatusCode, p.body)
	}

	for _, cookie := range []string{"", "invited_session=forged"} {
		if p := ts.page(t, "GET", "/", cookie, nil); p.StatusCode != 303 || p.Header.Get("Location") != "/login" {
			t.Errorf("signed out (%q): %d %q", cookie, p.StatusCode, p.Header.Get("Location"))
		}
	}
}
