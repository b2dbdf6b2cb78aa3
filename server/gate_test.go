package server

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"invited/db"
)

// gateFixture is a server with two proxy apps: "open" (every active user,
// open.example.com and *.tools.example.com) and "ops" (the ops group
// only, ops.example.com), a Viewer in no group and an Admin in ops.
type gateFixture struct {
	ts                        *testServer
	viewer, admin             db.User
	viewerCookie, adminCookie string
}

var gateActor = db.Actor{Kind: "apikey", Name: "t", Role: db.RoleAdmin}

func newGateFixture(t *testing.T) *gateFixture {
	t.Helper()
	ts := mustServerWith(t, func(o *Options) { o.BaseURL = "https://id.example.com" })
	if _, err := ts.store.CreateGroup(gateActor, db.NewGroup{ID: "ops", Name: "Ops"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ts.store.CreateApp(gateActor, db.NewApp{ID: "open", Name: "Open", URL: "https://open.example.com/",
		Domains: []string{"open.example.com", "*.tools.example.com"}}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ts.store.CreateApp(gateActor, db.NewApp{ID: "ops", Name: "Ops board", URL: "https://ops.example.com/",
		Groups: []string{"ops"}, Domains: []string{"ops.example.com"}}); err != nil {
		t.Fatal(err)
	}
	f := &gateFixture{ts: ts, viewer: ts.mustUser(t, db.RoleViewer), admin: ts.mustUser(t, db.RoleAdmin)}
	groups := []string{"ops"}
	var err error
	if f.admin, err = ts.store.UpdateUser(gateActor, f.admin.ID, db.UserUpdate{Groups: &groups}); err != nil {
		t.Fatal(err)
	}
	f.viewerCookie = ts.login(t, f.viewer.Email, testPassword)
	f.adminCookie = ts.login(t, f.admin.Email, testPassword)
	return f
}

// ask calls a gate endpoint with the given headers (name, value, …) and
// cookie, never following a redirect.
func (f *gateFixture) ask(t *testing.T, method, path, cookie string, headers ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, f.ts.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp, string(raw)
}

// fwd is the header set Caddy's forward_auth sends for a GET of
// https://HOST/URI.
func fwd(host, uri string, more ...string) []string {
	return append([]string{"X-Forwarded-Method", "GET", "X-Forwarded-Proto", "https", "X-Forwarded-Host", host, "X-Forwarded-Uri", uri}, more...)
}

var remoteHeaders = []string{"Remote-User", "Remote-Email", "Remote-Name", "Remote-Groups", "Remote-Role"}

// wantNoRemote fails when an answer that lets nobody through carries a
// Remote-* header.
func wantNoRemote(t *testing.T, what string, resp *http.Response) {
	t.Helper()
	for _, h := range remoteHeaders {
		if _, ok := resp.Header[h]; ok {
			t.Errorf("%s: %d carries %s=%q", what, resp.StatusCode, h, resp.Header.Get(h))
		}
	}
}

// TestGateAdmits: a signed-in user an app admits gets 200 with all five
// Remote-* headers, from both endpoints, whatever Remote-* headers the
// client forged; empty values are present, not missing.
func TestGateAdmits(t *testing.T) {
	f := newGateFixture(t)
	forged := []string{"Remote-User", "root", "Remote-Groups", "admins", "Remote-Role", "Admin", "Remote-Email", "root@evil.example"}
	for _, c := range []struct {
		name, method, path string
		headers            []string
	}{
		{"forward-auth GET", "GET", "/api/authz/forward-auth", fwd("open.example.com", "/x?y=1", forged...)},
		{"forward-auth HEAD", "HEAD", "/api/authz/forward-auth", fwd("open.example.com", "/", forged...)},
		{"auth-request", "GET", "/api/authz/auth-request", append([]string{"X-Original-URL", "https://open.example.com/x", "X-Original-Method", "POST"}, forged...)},
		{"auth-request HEAD", "HEAD", "/api/authz/auth-request", []string{"X-Original-URL", "https://open.example.com/x"}},
		{"upper case host with a port", "GET", "/api/authz/forward-auth", fwd("OPEN.Example.COM:8443", "/")},
		{"a wildcard domain", "GET", "/api/authz/forward-auth", fwd("wiki.tools.example.com", "/")},
	} {
		resp, raw := f.ask(t, c.method, c.path, f.viewerCookie, c.headers...)
		if resp.StatusCode != 200 {
			t.Errorf("%s: %d %s, want 200", c.name, resp.StatusCode, raw)
			continue
		}
		want := map[string]string{"Remote-User": f.viewer.Username, "Remote-Email": f.viewer.Email, "Remote-Name": f.viewer.Name,
			"Remote-Groups": "", "Remote-Role": "Viewer"}
		for h, v := range want {
			if got, ok := resp.Header[h]; !ok || len(got) != 1 || got[0] != v {
				t.Errorf("%s: %s = %q (present %v), want exactly %q", c.name, h, got, ok, v)
			}
		}
		if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("%s: Cache-Control %q", c.name, cc)
		}
	}
	// A member of the app's group; Remote-Groups lists the group ids.
	resp, raw := f.ask(t, "GET", "/api/authz/forward-auth", f.adminCookie, fwd("ops.example.com", "/")...)
	if resp.StatusCode != 200 || resp.Header.Get("Remote-Groups") != "ops" || resp.Header.Get("Remote-Role") != "Admin" {
		t.Errorf("the ops member: %d %s %v", resp.StatusCode, raw, resp.Header)
	}
}

// TestGateRemoteUserFallsBackToEmail: a user without a username is
// Remote-User by email.
func TestGateRemoteUserFallsBackToEmail(t *testing.T) {
	f := newGateFixture(t)
	tok, err := f.ts.store.CreateSignupToken(gateActor, db.NewSignupToken{Name: "n", ExpiresAt: farFuture})
	if err != nil {
		t.Fatal(err)
	}
	if resp, body := f.ts.call(t, "POST", "/invite/"+tok.Secret+"/signup", "",
		`{"email":"nouser@example.com","name":"No Username","password":"`+testPassword+`"}`); resp.StatusCode != 200 {
		t.Fatalf("signup: %d %v", resp.StatusCode, body)
	}
	cookie := f.ts.login(t, "nouser@example.com", testPassword)
	resp, raw := f.ask(t, "GET", "/api/authz/forward-auth", cookie, fwd("open.example.com", "/")...)
	if resp.StatusCode != 200 || resp.Header.Get("Remote-User") != "nouser@example.com" || resp.Header.Get("Remote-Name") != "No Username" {
		t.Errorf("%d %s %v", resp.StatusCode, raw, resp.Header)
	}
}

// TestGateNotSignedIn: forward-auth redirects a browser to the login page
// with the original URL escaped in rd (302 for GET and HEAD, 303 for any
// other method) and answers 401 to a request that does not take HTML;
// auth-request always answers 401 with the login URL in Location.
func TestGateNotSignedIn(t *testing.T) {
	f := newGateFixture(t)
	uri := "/d/a%20b?x=1&rd=https://evil.example/"
	wantLogin := "https://id.example.com/login?rd=" + url.QueryEscape("https://open.example.com"+uri)
	html := "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"
	for _, c := range []struct {
		name, cookie, method, accept string
		want                         int
	}{
		{"GET from a browser", "", "GET", html, 302},
		{"HEAD from a browser", "", "HEAD", html, 302},
		{"POST from a browser", "", "POST", html, 303},
		{"DELETE from a browser", "", "delete", html, 303},
		{"a script (no text/html)", "", "GET", "application/json", 401},
		{"no Accept at all", "", "GET", "", 401},
		{"an unknown session", "invited_session=not-a-session", "GET", html, 302},
	} {
		h := []string{"X-Forwarded-Method", c.method, "X-Forwarded-Proto", "https", "X-Forwarded-Host", "open.example.com", "X-Forwarded-Uri", uri}
		if c.accept != "" {
			h = append(h, "Accept", c.accept)
		}
		resp, raw := f.ask(t, "GET", "/api/authz/forward-auth", c.cookie, h...)
		if resp.StatusCode != c.want || resp.Header.Get("Location") != wantLogin {
			t.Errorf("%s: %d Location %q, want %d %q (%s)", c.name, resp.StatusCode, resp.Header.Get("Location"), c.want, wantLogin, raw)
		}
		wantNoRemote(t, c.name, resp)
		if c.want == 401 && !strings.Contains(raw, `"AuthenticationRequired"`) {
			t.Errorf("%s: body %s", c.name, raw)
		}
	}
	for _, m := range []string{"GET", "POST"} {
		resp, raw := f.ask(t, "GET", "/api/authz/auth-request", "", "X-Original-URL", "https://open.example.com"+uri, "X-Original-Method", m, "Accept", html)
		if resp.StatusCode != 401 || resp.Header.Get("Location") != wantLogin || !strings.Contains(raw, `"AuthenticationRequired"`) {
			t.Errorf("auth-request %s: %d Location %q %s", m, resp.StatusCode, resp.Header.Get("Location"), raw)
		}
	}
	// The rd the gate builds is one /login follows after a login.
	if resp, raw := f.ask(t, "GET", strings.TrimPrefix(wantLogin, "https://id.example.com"), ""); resp.StatusCode != 200 ||
		!strings.Contains(raw, `value="https://open.example.com/d/a%20b?x=1&amp;rd=https://evil.example/"`) {
		t.Errorf("the login page does not carry the gate's rd: %d %s", resp.StatusCode, raw)
	}
}

// TestGateDenies: what the gate refuses with 403, before or after
// looking at the session: a host no app covers, a user outside the app's
// groups, and every missing or malformed header.
func TestGateDenies(t *testing.T) {
	f := newGateFixture(t)
	for _, c := range []struct {
		name, path, cookie string
		headers            []string
	}{
		{"an unknown host, signed in", "/api/authz/forward-auth", f.viewerCookie, fwd("other.example.com", "/")},
		{"an unknown host, signed out", "/api/authz/forward-auth", "", fwd("other.example.com", "/", "Accept", "text/html")},
		{"the parent of a wildcard", "/api/authz/forward-auth", f.viewerCookie, fwd("tools.example.com", "/")},
		{"two labels below a wildcard", "/api/authz/forward-auth", f.viewerCookie, fwd("a.b.tools.example.com", "/")},
		{"outside the app's groups", "/api/authz/forward-auth", f.viewerCookie, fwd("ops.example.com", "/")},
		{"outside the app's groups (auth-request)", "/api/authz/auth-request", f.viewerCookie, []string{"X-Original-URL", "https://ops.example.com/"}},
		{"no headers", "/api/authz/forward-auth", f.viewerCookie, nil},
		{"no host", "/api/authz/forward-auth", f.viewerCookie, []string{"X-Forwarded-Proto", "https", "X-Forwarded-Uri", "/"}},
		{"no proto", "/api/authz/forward-auth", f.viewerCookie, []string{"X-Forwarded-Host", "open.example.com", "X-Forwarded-Uri", "/"}},
		{"a proto not http(s)", "/api/authz/forward-auth", f.viewerCookie, []string{"X-Forwarded-Proto", "javascript", "X-Forwarded-Host", "open.example.com", "X-Forwarded-Uri", "/"}},
		{"no uri", "/api/authz/forward-auth", f.viewerCookie, []string{"X-Forwarded-Proto", "https", "X-Forwarded-Host", "open.example.com"}},
		{"a uri not starting with /", "/api/authz/forward-auth", f.viewerCookie, fwd("open.example.com", "evil.example/")},
		{"a scheme-relative uri", "/api/authz/forward-auth", f.viewerCookie, fwd("open.example.com", "//evil.example/")},
		{"user info in the host", "/api/authz/forward-auth", f.viewerCookie, fwd("evil.example@open.example.com", "/")},
		{"a path in the host", "/api/authz/forward-auth", f.viewerCookie, fwd("open.example.com/x", "/")},
		{"a bad port", "/api/authz/forward-auth", f.viewerCookie, fwd("open.example.com:80x", "/")},
		{"two hosts", "/api/authz/forward-auth", f.viewerCookie, fwd("open.example.com, evil.example", "/")},
		{"a bad method", "/api/authz/forward-auth", f.viewerCookie, []string{"X-Forwarded-Method", "GE T", "X-Forwarded-Proto", "https", "X-Forwarded-Host", "open.example.com", "X-Forwarded-Uri", "/"}},
		{"no original URL", "/api/authz/auth-request", f.viewerCookie, nil},
		{"a relative original URL", "/api/authz/auth-request", f.viewerCookie, []string{"X-Original-URL", "/x"}},
		{"an ftp original URL", "/api/authz/auth-request", f.viewerCookie, []string{"X-Original-URL", "ftp://open.example.com/"}},
		{"user info in the original URL", "/api/authz/auth-request", f.viewerCookie, []string{"X-Original-URL", "https://a@open.example.com/"}},
		{"an unknown host (auth-request)", "/api/authz/auth-request", "", []string{"X-Original-URL", "https://other.example.com/"}},
	} {
		resp, raw := f.ask(t, "GET", c.path, c.cookie, c.headers...)
		if resp.StatusCode != 403 || !strings.Contains(raw, `"NoAccessError"`) || resp.Header.Get("Location") != "" {
			t.Errorf("%s: %d Location %q %s, want 403 NoAccessError", c.name, resp.StatusCode, resp.Header.Get("Location"), raw)
		}
		wantNoRemote(t, c.name, resp)
		if strings.Contains(raw, "evil") {
			t.Errorf("%s: the answer echoes the input: %s", c.name, raw)
		}
	}
}

// TestGateRefusesAtOnce: a disabled user, a deleted user and an ended
// session are refused on the very next request (no cache in between).
func TestGateRefusesAtOnce(t *testing.T) {
	f := newGateFixture(t)
	h := fwd("open.example.com", "/", "Accept", "text/html")
	ok := func(cookie string) int {
		resp, _ := f.ask(t, "GET", "/api/authz/forward-auth", cookie, h...)
		return resp.StatusCode
	}
	if got := ok(f.viewerCookie); got != 200 {
		t.Fatalf("before: %d", got)
	}
	if _, err := f.ts.store.DisableUser(gateActor, f.viewer.ID); err != nil {
		t.Fatal(err)
	}
	if got := ok(f.viewerCookie); got != 302 {
		t.Errorf("a disabled user: %d, want 302 to the login page", got)
	}

	second := f.ts.login(t, f.admin.Email, testPassword)
	if got := ok(second); got != 200 {
		t.Fatalf("before logout: %d", got)
	}
	f.ts.page(t, "POST", "/logout", second, url.Values{})
	if got := ok(second); got != 302 {
		t.Errorf("an ended session: %d, want 302", got)
	}

	other := f.ts.mustUser(t, db.RoleEditor)
	cookie := f.ts.login(t, other.Email, testPassword)
	if got := ok(cookie); got != 200 {
		t.Fatalf("before delete: %d", got)
	}
	if err := f.ts.store.DeleteUser(gateActor, other.ID); err != nil {
		t.Fatal(err)
	}
	if got := ok(cookie); got != 302 {
		t.Errorf("a deleted user: %d, want 302", got)
	}
}

// TestGateMethods: the gate takes GET and HEAD (what proxies send); any
// other method is a 405 naming them, and never lets anyone through.
func TestGateMethods(t *testing.T) {
	f := newGateFixture(t)
	for _, path := range []string{"/api/authz/forward-auth", "/api/authz/auth-request"} {
		for _, m := range []string{"POST", "PUT", "DELETE", "PATCH"} {
			resp, raw := f.ask(t, m, path, f.viewerCookie, fwd("open.example.com", "/", "X-Original-URL", "https://open.example.com/")...)
			if resp.StatusCode != 405 || !strings.Contains(raw, "GET") || !strings.Contains(raw, "HEAD") {
				t.Errorf("%s %s: %d %s, want 405", m, path, resp.StatusCode, raw)
			}
			wantNoRemote(t, m+" "+path, resp)
		}
	}
}

// TestGateSeesChangesAtOnce: the gate caches sessions and apps
// (db.Store), yet a changed app, a changed group membership or a deleted
// app is seen by the very next request, however often it was asked
// before.
func TestGateSeesChangesAtOnce(t *testing.T) {
	f := newGateFixture(t)
	status := func(host, cookie string) int {
		t.Helper()
		resp, _ := f.ask(t, "GET", "/api/authz/forward-auth", cookie, fwd(host, "/", "Accept", "text/html")...)
		return resp.StatusCode
	}
	for range 3 {
		if got := status("open.example.com", f.viewerCookie); got != 200 {
			t.Fatalf("before: %d", got)
		}
		if got := status("ops.example.com", f.adminCookie); got != 200 {
			t.Fatalf("the ops member before: %d", got)
		}
	}
	groups := []string{"ops"}
	if _, err := f.ts.store.UpdateApp(gateActor, "open", db.AppUpdate{Groups: &groups}); err != nil {
		t.Fatal(err)
	}
	if got := status("open.example.com", f.viewerCookie); got != 403 {
		t.Errorf("an app limited to a group the user is not in: %d, want 403", got)
	}
	none := []string{}
	if _, err := f.ts.store.UpdateUser(gateActor, f.admin.ID, db.UserUpdate{Groups: &none}); err != nil {
		t.Fatal(err)
	}
	if got := status("ops.example.com", f.adminCookie); got != 403 {
		t.Errorf("a user taken out of the app's group: %d, want 403", got)
	}
	if err := f.ts.store.DeleteApp(gateActor, "ops"); err != nil {
		t.Fatal(err)
	}
	if got := status("ops.example.com", f.adminCookie); got != 403 {
		t.Errorf("a deleted app: %d, want 403", got)
	}
}

// forwardedRequest skips url.Parse on its hot path; it must refuse and
// accept exactly what url.Parse would for the URL the headers make.
func TestForwardedRequestAgreesWithURLParse(t *testing.T) {
	uris := []string{"/", "/a%20b", "/a%2", "/a%", "/a%zz", "/%41%42?x=%zz", "/a?%", "/a#%zz", "/a%2x/b",
		"/a%e2%82%ac", "/%00", "/a;b=c", "/a?b=%", "/x%0", "/%%", "/%41%", "/?", "/#", "/a?x#%4", "/a?x#%41", "/a#b#%zz", "/a?b?%zz"}
	for _, uri := range uris {
		h := http.Header{}
		h.Set("X-Forwarded-Method", "GET")
		h.Set("X-Forwarded-Proto", "https")
		h.Set("X-Forwarded-Host", "app.example.com:8443")
		h.Set("X-Forwarded-Uri", uri)
		got, err := forwardedRequest(h)
		_, perr := url.Parse("https://app.example.com:8443" + uri)
		if (err == nil) != (perr == nil) {
			t.Errorf("%q: forwardedRequest error %v, url.Parse error %v", uri, err, perr)
			continue
		}
		if err == nil && (got.host != "app.example.com:8443" || got.raw != "https://app.example.com:8443"+uri || got.method != "GET") {
			t.Errorf("%q: got %+v", uri, got)
		}
	}
}
