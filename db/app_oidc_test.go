package db

import (
	"encoding/base64"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestOIDCAppCreateAndSecret(t *testing.T) {
	s, clock := mustOpen(t)
	conf, secret, err := s.CreateApp(admin, NewApp{Name: "Wiki", URL: "https://wiki.example.com", Kind: AppKindOIDC,
		RedirectURIs: []string{" https://wiki.example.com/oauth/callback ", "http://127.0.0.1:8400/cb", "https://wiki.example.com/oauth/callback"}})
	if err != nil {
		t.Fatal(err)
	}
	o := conf.OIDC
	if o == nil || conf.Kind != AppKindOIDC || len(conf.Domains) != 0 || o.Public || len(o.ClientID) != 32 ||
		!slices.Equal(o.RedirectURIs, []string{"https://wiki.example.com/oauth/callback", "http://127.0.0.1:8400/cb"}) ||
		!o.SecretCreatedAt.Equal(clock.now()) {
		t.Fatalf("created %+v %+v", conf, o)
	}
	if raw, err := base64.RawURLEncoding.DecodeString(secret); err != nil || len(raw) != 32 {
		t.Fatalf("secret %q is not 32 bytes of URL-safe base64: %v", secret, err)
	}
	if a, ok, err := s.CheckAppSecret(o.ClientID, secret); err != nil || !ok || a.ID != "wiki" {
		t.Fatalf("the secret does not check: %+v %v %v", a, ok, err)
	}
	for _, c := range []struct{ name, client, secret string }{
		{"wrong secret", o.ClientID, secret + "x"},
		{"empty secret", o.ClientID, ""},
		{"unknown client", "0123456789abcdef0123456789abcdef", secret},
		{"empty client", "", secret},
		{"app id as client id", "wiki", secret},
	} {
		if _, ok, err := s.CheckAppSecret(c.client, c.secret); err != nil || ok {
			t.Errorf("%s: ok=%v err=%v", c.name, ok, err)
		}
	}
	if a, ok, err := s.AppByClientID(o.ClientID); err != nil || !ok || a.ID != "wiki" {
		t.Fatalf("by client id: %+v %v %v", a, ok, err)
	}
	// GetApp and ListApps never carry a secret: App has no field for it.
	got, _ := s.GetApp("wiki")
	if b, _ := json.Marshal(got); strings.Contains(string(b), secret) {
		t.Fatalf("GetApp shows the secret: %s", b)
	}

	pub, pubSecret, err := s.CreateApp(admin, NewApp{Name: "Cli", URL: "https://cli.example.com", Kind: AppKindOIDC, Public: true,
		RedirectURIs: []string{"http://localhost:9000/cb", "http://[::1]/cb"}})
	if err != nil || pubSecret != "" || !pub.OIDC.Public || !pub.OIDC.SecretCreatedAt.IsZero() || pub.OIDC.ClientID == o.ClientID {
		t.Fatalf("public app %+v %+v secret %q err %v", pub, pub.OIDC, pubSecret, err)
	}
	if _, ok, _ := s.CheckAppSecret(pub.OIDC.ClientID, ""); ok {
		t.Fatal("a public app checks with an empty secret")
	}
	_, _, err = s.RotateAppSecret(admin, "cli")
	wantField(t, err, "public")
	if !strings.Contains(err.Error(), "public client") {
		t.Errorf("rotating a public app: %q does not say why", err)
	}
	mustApp(t, s, NewApp{ID: "proxy", Name: "Proxy", Domains: []string{"proxy.example.com"}})
	_, _, err = s.RotateAppSecret(admin, "proxy")
	wantCode(t, err, EINVALID)
	_, _, err = s.RotateAppSecret(admin, "nope")
	wantCode(t, err, ENOTFOUND)

	// Rotation: the new secret works, the old one stops.
	clock.add(3600e9)
	rot, fresh, err := s.RotateAppSecret(admin, "wiki")
	if err != nil || fresh == "" || fresh == secret || rot.OIDC.ClientID != o.ClientID || !rot.OIDC.SecretCreatedAt.Equal(clock.now()) {
		t.Fatalf("rotate: %+v %q %v", rot, fresh, err)
	}
	if _, ok, _ := s.CheckAppSecret(o.ClientID, secret); ok {
		t.Fatal("the old secret still works after rotation")
	}
	if _, ok, _ := s.CheckAppSecret(o.ClientID, fresh); !ok {
		t.Fatal("the new secret does not work")
	}

	// The audit log has the three writes and neither secret nor its hash.
	events, _, err := s.ListEvents("", 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, e := range events {
		b, _ := json.Marshal(e)
		for _, v := range []string{secret, fresh, hashAppSecret(secret), hashAppSecret(fresh)} {
			if strings.Contains(string(b), v) {
				t.Errorf("event %s holds a secret or its hash: %s", e.Type, b)
			}
		}
		if strings.HasPrefix(e.Type, "app-") {
			types = append(types, e.Type+" "+e.ObjectID)
		}
	}
	if want := []string{"app-secret-rotated wiki", "app-created proxy", "app-created cli", "app-created wiki"}; !slices.Equal(types, want) {
		t.Errorf("events %v, want %v", types, want)
	}

	// Deleting frees nothing that could be reused: the client id is gone.
	if err := s.DeleteApp(admin, "wiki"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.AppByClientID(o.ClientID); ok {
		t.Fatal("a deleted app is still found by its client id")
	}
	if _, ok, _ := s.CheckAppSecret(o.ClientID, fresh); ok {
		t.Fatal("a deleted app's secret still checks")
	}
	again, _, err := s.CreateApp(admin, NewApp{Name: "Wiki", URL: "https://wiki.example.com", Kind: AppKindOIDC, RedirectURIs: []string{"https://wiki.example.com/cb"}})
	if err != nil || again.OIDC.ClientID == o.ClientID {
		t.Fatalf("a recreated app reuses the client id: %+v %v", again, err)
	}
}

func TestOIDCAppHostileInput(t *testing.T) {
	s, _ := mustOpen(t)
	ok := NewApp{Name: "A", URL: "https://a.example.com", Kind: AppKindOIDC, RedirectURIs: []string{"https://a.example.com/cb"}}
	many := make([]string, MaxAppRedirectURIs+1)
	for i := range many {
		many[i] = "https://a.example.com/cb" + strings.Repeat("x", i)
	}
	for _, c := range []struct {
		name string
		edit func(*NewApp)
		path string
	}{
		{"no redirect URIs", func(n *NewApp) { n.RedirectURIs = nil }, "redirectUris"},
		{"too many", func(n *NewApp) { n.RedirectURIs = many }, "redirectUris"},
		{"javascript", func(n *NewApp) { n.RedirectURIs = []string{"javascript:alert(1)"} }, "redirectUris[0]"},
		{"data", func(n *NewApp) { n.RedirectURIs = []string{"data:text/html,hi"} }, "redirectUris[0]"},
		{"custom scheme", func(n *NewApp) { n.RedirectURIs = []string{"myapp://cb"} }, "redirectUris[0]"},
		{"plain http elsewhere", func(n *NewApp) { n.RedirectURIs = []string{"https://a.example.com/cb", "http://evil.example/cb"} }, "redirectUris[1]"},
		{"http to a look-alike of localhost", func(n *NewApp) { n.RedirectURIs = []string{"http://localhost.evil.example/cb"} }, "redirectUris[0]"},
		{"fragment", func(n *NewApp) { n.RedirectURIs = []string{"https://a.example.com/cb#x"} }, "redirectUris[0]"},
		{"empty fragment", func(n *NewApp) { n.RedirectURIs = []string{"https://a.example.com/cb#"} }, "redirectUris[0]"},
		{"user info", func(n *NewApp) { n.RedirectURIs = []string{"https://user:pass@a.example.com/cb"} }, "redirectUris[0]"},
		{"user only", func(n *NewApp) { n.RedirectURIs = []string{"https://evil.example@a.example.com/cb"} }, "redirectUris[0]"},
		{"relative", func(n *NewApp) { n.RedirectURIs = []string{"/oauth/callback"} }, "redirectUris[0]"},
		{"scheme-relative", func(n *NewApp) { n.RedirectURIs = []string{"//a.example.com/cb"} }, "redirectUris[0]"},
		{"no host", func(n *NewApp) { n.RedirectURIs = []string{"https:///cb"} }, "redirectUris[0]"},
		{"empty", func(n *NewApp) { n.RedirectURIs = []string{" "} }, "redirectUris[0]"},
		{"over-long", func(n *NewApp) {
			n.RedirectURIs = []string{"https://a.example.com/" + strings.Repeat("a", MaxAppURLLength)}
		}, "redirectUris[0]"},
		{"newline", func(n *NewApp) { n.RedirectURIs = []string{"https://a.example.com/cb\nLocation: x"} }, "redirectUris[0]"},
		{"NUL", func(n *NewApp) { n.RedirectURIs = []string{"https://a.example.com/\x00cb"} }, "redirectUris[0]"},
		{"space", func(n *NewApp) { n.RedirectURIs = []string{"https://a.example.com/c b"} }, "redirectUris[0]"},
		{"domains on oidc", func(n *NewApp) { n.Domains = []string{"a.example.com"} }, "domains"},
		{"empty domains on oidc", func(n *NewApp) { n.Domains = []string{} }, "domains"},
	} {
		in := ok
		c.edit(&in)
		_, secret, err := s.CreateApp(admin, in)
		if err == nil {
			t.Errorf("%s: created", c.name)
			continue
		}
		if secret != "" {
			t.Errorf("%s: a refused create returned a secret", c.name)
		}
		wantField(t, err, c.path)
	}
	if list, _ := s.ListApps(); len(list) != 0 {
		t.Fatalf("refused apps were stored: %+v", list)
	}

	// Updates keep to the kind: no domains on an oidc app, no redirect URIs
	// on a proxy app, and the same rules for the URIs.
	mustApp(t, s, ok)
	mustApp(t, s, NewApp{ID: "p", Name: "P", Domains: []string{"p.example.com"}})
	domains := []string{"a.example.com"}
	_, err := s.UpdateApp(admin, "a", AppUpdate{Domains: &domains})
	wantField(t, err, "domains")
	uris := []string{"https://p.example.com/cb"}
	_, err = s.UpdateApp(admin, "p", AppUpdate{RedirectURIs: &uris})
	wantField(t, err, "redirectUris")
	bad := []string{"https://a.example.com/ok", "http://evil.example/cb"}
	_, err = s.UpdateApp(admin, "a", AppUpdate{RedirectURIs: &bad})
	wantField(t, err, "redirectUris[1]")
	none := []string{}
	_, err = s.UpdateApp(admin, "a", AppUpdate{RedirectURIs: &none})
	wantField(t, err, "redirectUris")
	good := []string{"https://a.example.com/new", "http://localhost:1234/cb"}
	a, err := s.UpdateApp(admin, "a", AppUpdate{RedirectURIs: &good})
	if err != nil || !slices.Equal(a.OIDC.RedirectURIs, good) {
		t.Fatalf("update: %+v %v", a, err)
	}
	// An oidc app covers no host: the gate never matches it.
	if _, found, _ := s.AppForHost("a.example.com"); found {
		t.Fatal("an oidc app covers a host")
	}
}

func TestOIDCAppPersists(t *testing.T) {
	path := filepath.Join(t.TempDir(), "oidc.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	a, secret, err := s.CreateApp(admin, NewApp{ID: "wiki", Name: "Wiki", URL: "https://wiki.example.com", Kind: AppKindOIDC,
		RedirectURIs: []string{"https://wiki.example.com/cb"}})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.GetApp("wiki")
	if err != nil || got.OIDC == nil || got.OIDC.ClientID != a.OIDC.ClientID || !slices.Equal(got.OIDC.RedirectURIs, a.OIDC.RedirectURIs) ||
		got.OIDC.Public || !got.OIDC.SecretCreatedAt.Equal(a.OIDC.SecretCreatedAt) {
		t.Fatalf("after reopen: %+v %+v, %v", got, got.OIDC, err)
	}
	if _, ok, err := s.CheckAppSecret(a.OIDC.ClientID, secret); err != nil || !ok {
		t.Fatalf("the secret does not check after reopen: %v %v", ok, err)
	}
}
