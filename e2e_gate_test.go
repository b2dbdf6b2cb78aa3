package main

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// gateNoFollow is a client that does not follow the gate's redirects.
var gateNoFollow = &http.Client{Timeout: 30 * time.Second, Transport: e2eClient.Transport,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// askGate calls a gate endpoint of the real binary as a reverse proxy
// does: the cookie it passes on and the headers (name, value, …) it sets.
// The answer is checked against openapi.json.
func askGate(t *testing.T, p *proc, method, path, cookie string, headers ...string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, p.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	resp, err := gateNoFollow.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	checkOpenAPI(t, method, p.URL+path, resp.StatusCode, resp.Header, data)
	return resp.StatusCode, resp.Header, data
}

// caddyHeaders are what Caddy's forward_auth (and Traefik's ForwardAuth)
// send for the original request METHOD https://HOST URI from a browser.
func caddyHeaders(method, host, uri string, more ...string) []string {
	return append([]string{"X-Forwarded-Method", method, "X-Forwarded-Proto", "https", "X-Forwarded-Host", host,
		"X-Forwarded-Uri", uri, "X-Forwarded-For", "203.0.113.7", "Accept", "text/html,application/xhtml+xml,*/*;q=0.8"}, more...)
}

// nginxHeaders are what nginx's auth_request location sends (Authelia's
// snippet) for the original request METHOD URL.
func nginxHeaders(method, rawURL string) []string {
	return []string{"X-Original-Method", method, "X-Original-URL", rawURL, "X-Forwarded-For", "203.0.113.7"}
}

// gateTeam sets up, on a running binary, the ops group, two proxy apps
// (open.example.com for everyone, ops.example.com for ops) and two users,
// olga in ops and vic in no group, and returns their session cookies and
// ids.
func gateTeam(t *testing.T, p *proc) (olga, vic, olgaID, vicID string) {
	t.Helper()
	status, _, body := do(t, "POST", p.URL+"/api/admin/groups", e2eAdminKey, map[string]any{"id": "ops", "name": "Ops"})
	wantStatus(t, "create ops", status, 201, body)
	for _, a := range []map[string]any{
		{"id": "open", "name": "Open", "url": "https://open.example.com/", "domains": []string{"open.example.com"}},
		{"id": "ops", "name": "Ops board", "url": "https://ops.example.com/", "groups": []string{"ops"}, "domains": []string{"ops.example.com"}},
	} {
		status, _, body := do(t, "POST", p.URL+"/api/admin/apps", e2eAdminKey, a)
		wantStatus(t, fmt.Sprint("create app ", a["id"]), status, 201, body)
	}
	link := createLink(t, p, map[string]any{"name": "team", "expiresAt": e2eFuture})
	secret := link["secret"].(string)
	ids := map[string]string{}
	for _, u := range []string{"olga", "vic"} {
		status, _, body := do(t, "POST", signupURL(p, secret), "", signupJSON(u+"@example.com", u, strings.ToUpper(u[:1])+u[1:]+" Gate"))
		wantStatus(t, u+" signs up", status, 200, body)
		ids[u] = fmt.Sprint(int(object(t, u, body)["id"].(float64)))
	}
	status, _, body = do(t, "PUT", p.URL+"/api/admin/user-admin/"+ids["olga"], e2eAdminKey, map[string]any{"groups": []string{"ops"}})
	wantStatus(t, "olga joins ops", status, 200, body)
	return sessionCookie(t, p, "olga", e2ePassword), sessionCookie(t, p, "vic", e2ePassword), ids["olga"], ids["vic"]
}

// TestE2EGate runs the forward-auth gate of DESIGN §9 against the real
// binary with the headers Caddy, Traefik and nginx send: who is let
// through with which Remote-* headers, who is sent to log in and how, who
// is refused, and that disabling a user or logging out takes effect on
// the very next request.
func TestE2EGate(t *testing.T) {
	t.Parallel()
	p := startServer(t, t.TempDir(), "INVITED_SERVER_BASE_URL=https://invite.example.com")
	olga, vic, _, vicID := gateTeam(t, p)
	const fa, ar = "/api/authz/forward-auth", "/api/authz/auth-request"

	// Let through, with all five headers (Remote-Groups empty, not missing).
	for _, c := range []struct {
		who, cookie, path, host, groups, role string
		h                                     []string
	}{
		{"olga on ops (Caddy)", olga, fa, "ops.example.com", "ops", "Viewer", caddyHeaders("GET", "ops.example.com", "/d/1?x=2")},
		{"vic on open (Caddy)", vic, fa, "open.example.com", "", "Viewer", caddyHeaders("POST", "open.example.com", "/form")},
		{"olga on ops (nginx)", olga, ar, "ops.example.com", "ops", "Viewer", nginxHeaders("GET", "https://ops.example.com/d/1")},
		{"vic on open (nginx)", vic, ar, "open.example.com", "", "Viewer", nginxHeaders("GET", "https://open.example.com/")},
	} {
		status, header, body := askGate(t, p, "GET", c.path, c.cookie, c.h...)
		wantStatus(t, c.who, status, 200, body)
		name := strings.SplitN(c.who, " ", 2)[0]
		want := map[string]string{"Remote-User": name, "Remote-Email": name + "@example.com",
			"Remote-Name": strings.ToUpper(name[:1]) + name[1:] + " Gate", "Remote-Groups": c.groups, "Remote-Role": c.role}
		for h, v := range want {
			if got, ok := header[h]; !ok || len(got) != 1 || got[0] != v {
				t.Errorf("%s: %s is %q (present: %v), want %q", c.who, h, got, ok, v)
			}
		}
	}
	if status, header, _ := askGate(t, p, "HEAD", fa, olga, caddyHeaders("GET", "ops.example.com", "/")...); status != 200 || header.Get("Remote-User") != "olga" {
		t.Errorf("HEAD: %d %v", status, header)
	}

	// Not signed in: to the login page, with the original URL as rd.
	login := "https://invite.example.com/login?rd=" + url.QueryEscape("https://open.example.com/a?b=c&d=e")
	for _, c := range []struct {
		what, method, path string
		h                  []string
		want               int
	}{
		{"a browser's GET", "GET", fa, caddyHeaders("GET", "open.example.com", "/a?b=c&d=e"), 302},
		{"a browser's HEAD", "GET", fa, caddyHeaders("HEAD", "open.example.com", "/a?b=c&d=e"), 302},
		{"a browser's POST", "GET", fa, caddyHeaders("POST", "open.example.com", "/a?b=c&d=e"), 303},
		{"a script (no text/html)", "GET", fa, []string{"X-Forwarded-Method", "GET", "X-Forwarded-Proto", "https", "X-Forwarded-Host", "open.example.com",
			"X-Forwarded-Uri", "/a?b=c&d=e", "Accept", "application/json"}, 401},
		{"nginx", "GET", ar, nginxHeaders("GET", "https://open.example.com/a?b=c&d=e"), 401},
	} {
		status, header, body := askGate(t, p, c.method, c.path, "", c.h...)
		if status != c.want || header.Get("Location") != login {
			t.Errorf("%s: %d to %q, want %d to %q (%s)", c.what, status, header.Get("Location"), c.want, login, body)
		}
		if status == 401 {
			wantError(t, c.what, status, body, 401, "AuthenticationRequired")
		}
	}

	// Refused: outside the app's groups, and a host no app covers.
	status, _, body := askGate(t, p, "GET", fa, vic, caddyHeaders("GET", "ops.example.com", "/")...)
	wantError(t, "vic on ops", status, body, 403, "NoAccessError", "Ops board")
	status, _, body = askGate(t, p, "GET", ar, vic, nginxHeaders("GET", "https://ops.example.com/")...)
	wantError(t, "vic on ops (nginx)", status, body, 403, "NoAccessError")
	status, _, body = askGate(t, p, "GET", fa, olga, caddyHeaders("GET", "unknown.example.com", "/")...)
	wantError(t, "an unknown host", status, body, 403, "NoAccessError", "No app covers this host")

	// Disabling vic and olga's logout take effect on the next request.
	status, _, body = do(t, "POST", p.URL+"/api/admin/user-admin/"+vicID+"/disable", e2eAdminKey, nil)
	wantStatus(t, "disable vic", status, 200, body)
	if status, _, body := askGate(t, p, "GET", fa, vic, caddyHeaders("GET", "open.example.com", "/")...); status != 302 {
		t.Errorf("disabled vic: %d %s, want 302 to log in", status, body)
	}
	status, _, body = doCookie(t, "POST", p.URL+"/auth/logout", olga, nil)
	wantStatus(t, "olga logs out", status, 204, body)
	if status, _, body := askGate(t, p, "GET", ar, olga, nginxHeaders("GET", "https://open.example.com/")...); status != 401 {
		t.Errorf("olga after logout: %d %s, want 401", status, body)
	}

	// The portal lists what olga may open, once she logs in again.
	olga = sessionCookie(t, p, "olga", e2ePassword)
	req, _ := http.NewRequest("GET", p.URL+"/", nil)
	req.Header.Set("Cookie", olga)
	resp, err := gateNoFollow.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), `href="https://ops.example.com/"`) || !strings.Contains(string(page), `href="https://open.example.com/"`) {
		t.Errorf("olga's portal: %d\n%s", resp.StatusCode, page)
	}
}
