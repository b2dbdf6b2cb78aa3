package db

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func mustApp(tb testing.TB, s *Store, in NewApp) App {
	tb.Helper()
	if in.URL == "" {
		in.URL = "https://app.example.com"
	}
	a, _, err := s.CreateApp(admin, in)
	if err != nil {
		tb.Fatal(err)
	}
	return a
}

func TestAppCRUD(t *testing.T) {
	s, clock := mustOpen(t)
	mustGroup(t, s, "ops")
	mustGroup(t, s, "dev")
	a, _, err := s.CreateApp(admin, NewApp{Name: " Grafana Board ", URL: "HTTPS://Grafana.Example.com/d/", Groups: []string{"ops", "dev", "ops"},
		Domains: []string{"Grafana.EXAMPLE.com", "*.grafana.example.com", "grafana.example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	if a.ID != "grafana-board" || a.Name != "Grafana Board" || a.URL != "https://grafana.example.com/d/" || a.Kind != AppKindProxy ||
		!slices.Equal(a.Groups, []string{"dev", "ops"}) || !slices.Equal(a.Domains, []string{"*.grafana.example.com", "grafana.example.com"}) ||
		a.OIDC != nil || !a.CreatedAt.Equal(clock.now()) {
		t.Fatalf("created %+v", a)
	}
	_, _, err = s.CreateApp(admin, NewApp{Name: "Grafana board", URL: "https://x.example.com", Domains: []string{"x.example.com"}})
	wantCode(t, err, ECONFLICT)

	name, u := "Grafana", "http://grafana.example.com:3000"
	groups, domains := []string{}, []string{"grafana.example.com"}
	a, err = s.UpdateApp(admin, "grafana-board", AppUpdate{Name: &name, URL: &u, Groups: &groups, Domains: &domains})
	if err != nil || a.Name != "Grafana" || a.URL != u || len(a.Groups) != 0 || !slices.Equal(a.Domains, domains) || a.ID != "grafana-board" {
		t.Fatalf("update: %+v, %v", a, err)
	}
	// The dropped wildcard is free again.
	if _, ok, _ := s.AppForHost("x.grafana.example.com"); ok {
		t.Fatal("a dropped domain still matches")
	}
	mustApp(t, s, NewApp{ID: "wiki", Name: "Wiki", Domains: []string{"*.grafana.example.com"}})
	_, err = s.UpdateApp(admin, "nope", AppUpdate{Name: &name})
	wantCode(t, err, ENOTFOUND)
	_, err = s.UpdateApp(admin, "wiki", AppUpdate{})
	wantCode(t, err, EINVALID)

	list, err := s.ListApps()
	if err != nil || len(list) != 2 || list[0].ID != "grafana-board" || list[1].ID != "wiki" {
		t.Fatalf("list: %+v, %v", list, err)
	}
	if got, err := s.GetApp("wiki"); err != nil || got.Name != "Wiki" {
		t.Fatalf("get: %+v, %v", got, err)
	}
	if err := s.DeleteApp(admin, "wiki"); err != nil {
		t.Fatal(err)
	}
	_, err = s.GetApp("wiki")
	wantCode(t, err, ENOTFOUND)
	wantCode(t, s.DeleteApp(admin, "wiki"), ENOTFOUND)
	// Its domain is free for another app.
	mustApp(t, s, NewApp{ID: "wiki2", Name: "Wiki", Domains: []string{"*.grafana.example.com"}})

	events, _, err := s.ListEvents("", 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, e := range events {
		if strings.HasPrefix(e.Type, "app-") {
			types = append(types, e.Type+" "+e.ObjectID)
		}
	}
	want := []string{"app-created wiki2", "app-deleted wiki", "app-created wiki", "app-updated grafana-board", "app-created grafana-board"}
	if !slices.Equal(types, want) {
		t.Fatalf("events %v, want %v", types, want)
	}
}

func TestAppRefusesBadInput(t *testing.T) {
	s, _ := mustOpen(t)
	mustGroup(t, s, "ops")
	ok := NewApp{Name: "A", URL: "https://a.example.com", Domains: []string{"a.example.com"}}
	for _, c := range []struct {
		name string
		edit func(*NewApp)
		path string
	}{
		{"bad id", func(n *NewApp) { n.ID = "Bad Id" }, "id"},
		{"no name", func(n *NewApp) { n.Name = " " }, "name"},
		{"no url", func(n *NewApp) { n.URL = "" }, "url"},
		{"relative url", func(n *NewApp) { n.URL = "/grafana" }, "url"},
		{"ftp url", func(n *NewApp) { n.URL = "ftp://a.example.com" }, "url"},
		{"url with password", func(n *NewApp) { n.URL = "https://u:p@a.example.com" }, "url"},
		{"redirect URIs on a proxy app", func(n *NewApp) { n.RedirectURIs = []string{"https://a.example.com/cb"} }, "redirectUris"},
		{"public proxy app", func(n *NewApp) { n.Public = true }, "public"},
		{"oidc kind with domains", func(n *NewApp) { n.Kind = "oidc"; n.RedirectURIs = []string{"https://a.example.com/cb"} }, "domains"},
		{"unknown kind", func(n *NewApp) { n.Kind = "saml" }, "kind"},
		{"unknown group", func(n *NewApp) { n.Groups = []string{"ops", "nope"} }, "groups[1]"},
		{"bad group id", func(n *NewApp) { n.Groups = []string{"Not An Id"} }, "groups[0]"},
		{"no domains", func(n *NewApp) { n.Domains = nil }, "domains"},
		{"port", func(n *NewApp) { n.Domains = []string{"a.example.com", "b.example.com:8080"} }, "domains[1]"},
		{"path", func(n *NewApp) { n.Domains = []string{"a.example.com/grafana"} }, "domains[0]"},
		{"scheme", func(n *NewApp) { n.Domains = []string{"https://a.example.com"} }, "domains[0]"},
		{"bare star", func(n *NewApp) { n.Domains = []string{"*"} }, "domains[0]"},
		{"star on a TLD", func(n *NewApp) { n.Domains = []string{"*.com"} }, "domains[0]"},
		{"two levels", func(n *NewApp) { n.Domains = []string{"*.*.example.com"} }, "domains[0]"},
		{"star inside", func(n *NewApp) { n.Domains = []string{"a.*.example.com"} }, "domains[0]"},
		{"partial star", func(n *NewApp) { n.Domains = []string{"graf*.example.com"} }, "domains[0]"},
		{"ipv4", func(n *NewApp) { n.Domains = []string{"10.0.0.1"} }, "domains[0]"},
		{"ipv6", func(n *NewApp) { n.Domains = []string{"[::1]"} }, "domains[0]"},
		{"one label", func(n *NewApp) { n.Domains = []string{"localhost"} }, "domains[0]"},
		{"look-alike", func(n *NewApp) { n.Domains = []string{"аррӏе.com"} }, "domains[0]"},
	} {
		in := ok
		c.edit(&in)
		_, _, err := s.CreateApp(admin, in)
		if err == nil {
			t.Errorf("%s: created", c.name)
			continue
		}
		wantField(t, err, c.path)
	}
	if list, _ := s.ListApps(); len(list) != 0 {
		t.Fatalf("refused apps were stored: %+v", list)
	}
	// IDNA: a Unicode host is stored in its ASCII form.
	a := mustApp(t, s, NewApp{Name: "B", Domains: []string{"BÜCHER.example.com"}})
	if !slices.Equal(a.Domains, []string{"xn--bcher-kva.example.com"}) {
		t.Fatalf("domains %v", a.Domains)
	}
}

func TestAppDomainConflicts(t *testing.T) {
	s, _ := mustOpen(t)
	mustApp(t, s, NewApp{ID: "tools", Name: "Tools", Domains: []string{"*.tools.example.com"}})
	mustApp(t, s, NewApp{ID: "grafana", Name: "Grafana", Domains: []string{"grafana.tools.example.com"}})
	// Two equal wildcards, or one host twice, conflict and name the holder.
	_, _, err := s.CreateApp(admin, NewApp{Name: "Other", URL: "https://o.example.com", Domains: []string{"o.example.com", "*.TOOLS.example.com"}})
	wantCode(t, err, ECONFLICT)
	if !strings.Contains(err.Error(), "tools") {
		t.Errorf("conflict %q does not name the other app", err)
	}
	domains := []string{"grafana.tools.example.com"}
	_, err = s.UpdateApp(admin, "tools", AppUpdate{Domains: &domains})
	wantCode(t, err, ECONFLICT)
	if !strings.Contains(err.Error(), "grafana") {
		t.Errorf("conflict %q does not name the other app", err)
	}
	// The refused writes changed nothing.
	if _, err := s.GetApp("other"); err == nil {
		t.Fatal("a refused app was stored")
	}
	if a, ok, err := s.AppForHost("x.tools.example.com"); err != nil || !ok || a.ID != "tools" {
		t.Fatalf("after refused update: %+v %v %v", a, ok, err)
	}
}

func TestAppForHost(t *testing.T) {
	s, _ := mustOpen(t)
	mustApp(t, s, NewApp{ID: "tools", Name: "Tools", Domains: []string{"*.tools.example.com"}})
	mustApp(t, s, NewApp{ID: "grafana", Name: "Grafana", Domains: []string{"grafana.tools.example.com", "bücher.example.com"}})
	for host, want := range map[string]string{
		"grafana.tools.example.com":       "grafana", // the exact name wins over the wildcard
		"GRAFANA.Tools.Example.COM:8443":  "grafana",
		"grafana.tools.example.com.":      "grafana",
		"wiki.tools.example.com":          "tools",
		"wiki.tools.example.com:80":       "tools",
		"Bücher.example.com":              "grafana",
		"xn--bcher-kva.example.com":       "grafana",
		"tools.example.com":               "", // a wildcard does not cover its own parent
		"a.wiki.tools.example.com":        "", // nor two levels below
		"example.com":                     "",
		"unknown.example.org":             "",
		"":                                "",
		"[::1]:8080":                      "",
		"*.tools.example.com":             "",
		"grafana.tools.example.com/x":     "",
		"grafana.tools.example.com:99:99": "",
	} {
		a, ok, err := s.AppForHost(host)
		if err != nil || ok != (want != "") || a.ID != want {
			t.Errorf("AppForHost(%q) = %q, %v, %v; want %q", host, a.ID, ok, err, want)
		}
	}
}

func TestAppAdmits(t *testing.T) {
	open := App{}
	ops := App{Groups: []string{"dev", "ops"}}
	for _, c := range []struct {
		app  App
		user User
		want bool
	}{
		{open, User{EmailVerified: true}, true},
		{open, User{}, false}, // not verified
		{open, User{Disabled: true, EmailVerified: true}, false},
		{ops, User{Groups: []string{"ops"}, EmailVerified: true}, true},
		{ops, User{Groups: []string{"ops"}}, false}, // in the group, but not verified
		{ops, User{Groups: []string{"a", "dev"}, EmailVerified: true}, true},
		{ops, User{Groups: []string{"sales"}, EmailVerified: true}, false},
		{ops, User{EmailVerified: true}, false},
		{ops, User{Groups: []string{"ops"}, Disabled: true, EmailVerified: true}, false},
	} {
		if got := c.app.Admits(c.user); got != c.want {
			t.Errorf("app groups %v admits user groups %v disabled %v verified %v: %v, want %v", c.app.Groups, c.user.Groups, c.user.Disabled, c.user.EmailVerified, got, c.want)
		}
	}
}

// Deleting a group takes it off apps too, but never leaves an app that
// named only that group open to everyone.
func TestDeleteGroupAndApps(t *testing.T) {
	s, _ := mustOpen(t)
	mustGroup(t, s, "a")
	mustGroup(t, s, "b")
	mustApp(t, s, NewApp{ID: "both", Name: "Both", Groups: []string{"a", "b"}, Domains: []string{"both.example.com"}})
	mustApp(t, s, NewApp{ID: "only", Name: "Only", Groups: []string{"b"}, Domains: []string{"only.example.com"}})
	if err := s.DeleteGroup(admin, "a"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetApp("both"); !slices.Equal(got.Groups, []string{"b"}) {
		t.Errorf("app groups %v, want [b]", got.Groups)
	}
	err := s.DeleteGroup(admin, "b")
	wantCode(t, err, ECONFLICT)
	if !strings.Contains(err.Error(), "only") && !strings.Contains(err.Error(), "both") {
		t.Errorf("conflict %q names no app", err)
	}
	if _, err := s.GetGroup("b"); err != nil {
		t.Fatal("the refused delete removed the group")
	}
}

// No app may claim invited's own host: the proxy would then ask the gate
// about the login page itself, and nobody could sign in.
func TestAppMayNotClaimOwnHost(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "own.db"), Options{OwnHost: "Auth.Example.COM"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, _, err = s.CreateApp(admin, NewApp{Name: "Loop", URL: "https://auth.example.com", Domains: []string{"grafana.example.com", "AUTH.example.com"}})
	wantCode(t, err, EINVALID)
	if !strings.Contains(err.Error(), "domains[1]") || !strings.Contains(err.Error(), "own host") {
		t.Errorf("error %q does not name domains[1] as invited's own host", err)
	}
	// A wildcard above it is a team's usual setup and stays allowed; an
	// update that adds the own host is refused like a create.
	a := mustApp(t, s, NewApp{ID: "tools", Name: "Tools", Domains: []string{"*.example.com"}})
	domains := []string{"*.example.com", "auth.example.com"}
	_, err = s.UpdateApp(admin, a.ID, AppUpdate{Domains: &domains})
	wantCode(t, err, EINVALID)
	if got, _ := s.GetApp(a.ID); !slices.Equal(got.Domains, []string{"*.example.com"}) {
		t.Errorf("refused update changed domains to %v", got.Domains)
	}
}
