package server

import (
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"invited/db"
)

const testPassword = "correct horse battery staple"

var userSeq atomic.Int64

// mustUser signs a new user up through a fresh link with the given role.
func (ts *testServer) mustUser(tb testing.TB, role db.Role) db.User {
	tb.Helper()
	tok, err := ts.store.CreateSignupToken(db.Actor{Kind: "apikey", Name: "t", Role: db.RoleAdmin}, db.NewSignupToken{
		Name: "t", ExpiresAt: farFuture, Role: role})
	if err != nil {
		tb.Fatal(err)
	}
	n := userSeq.Add(1)
	resp, body := ts.call(tb, "POST", "/invite/"+tok.Secret+"/signup", "",
		fmt.Sprintf(`{"email":"user%d@example.com","name":"User %d","username":"user%d","password":%q}`, n, n, n, testPassword))
	if resp.StatusCode != 200 {
		tb.Fatalf("signup: %d %v", resp.StatusCode, body)
	}
	u, err := ts.store.FindUserByID(uint64(body["id"].(float64)))
	if err != nil {
		tb.Fatal(err)
	}
	return u
}

// mustInvitation invites a new address through the store.
func (ts *testServer) mustInvitation(tb testing.TB) db.Invitation {
	tb.Helper()
	inv, err := ts.store.CreateInvitation(db.SystemActor, db.NewInvitation{
		Email: fmt.Sprintf("invitee%d@example.com", userSeq.Add(1)), DefaultTTL: time.Hour, Inviter: "T"})
	if err != nil {
		tb.Fatal(err)
	}
	return inv
}

// login returns the session cookie header value of a good login.
func (ts *testServer) login(tb testing.TB, login, password string) string {
	tb.Helper()
	resp, body := ts.call(tb, "POST", "/auth/simple/login", "", fmt.Sprintf(`{"username":%q,"password":%q}`, login, password))
	if resp.StatusCode != 200 {
		tb.Fatalf("login %s: %d %v", login, resp.StatusCode, body)
	}
	for _, c := range resp.Cookies() {
		if c.Name == sessionCookie {
			return sessionCookie + "=" + c.Value
		}
	}
	tb.Fatal("login set no session cookie")
	return ""
}

// callAs sends a request as a caller: "" (nobody), "key:KEY" or a cookie.
func (ts *testServer) callAs(tb testing.TB, caller, method, path, body string) (*http.Response, string) {
	tb.Helper()
	req, _ := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	switch {
	case strings.HasPrefix(caller, "key:"):
		req.Header.Set("Authorization", strings.TrimPrefix(caller, "key:"))
	case caller != "":
		req.Header.Set("Cookie", caller)
	}
	resp, err := ts.Client().Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp, string(raw)
}

// TestPermissionTable walks every authenticated route with every kind of
// caller and checks that the one permission table decides: 401 without
// credentials, 403 without the permission, 2xx with it.
func TestPermissionTable(t *testing.T) {
	// A base_url with a host name, so that passkeys are on.
	ts := mustServerWith(t, func(o *Options) { o.BaseURL = "http://localhost:4242" })
	admin := ts.mustUser(t, db.RoleAdmin)
	_ = ts.mustUser(t, db.RoleAdmin) // a second Admin, so Admins may be deleted
	editor := ts.mustUser(t, db.RoleEditor)
	viewer := ts.mustUser(t, db.RoleViewer)
	_, editorKey, err := ts.store.CreateAPIKey(db.Actor{Kind: "cli", Name: "t", Role: db.RoleAdmin}, "editor-key", db.RoleEditor)
	if err != nil {
		t.Fatal(err)
	}
	callers := []struct {
		name, cred string
		role       db.Role
		isKey      bool
	}{
		{"nobody", "", 0, false},
		{"viewer session", ts.login(t, viewer.Email, testPassword), db.RoleViewer, false},
		{"editor session", ts.login(t, editor.Username, testPassword), db.RoleEditor, false},
		{"admin session", ts.login(t, admin.Email, testPassword), db.RoleAdmin, false},
		{"admin key", "key:Bearer " + testKey, db.RoleAdmin, true},
		{"editor key", "key:" + editorKey, db.RoleEditor, true},
	}
	secret := ts.link(t)
	group, err := ts.store.CreateGroup(db.SystemActor, db.NewGroup{Name: "Permission checks"})
	if err != nil {
		t.Fatal(err)
	}
	app, _, err := ts.store.CreateApp(db.SystemActor, db.NewApp{Name: "Permission checks", URL: "https://perm.example.com", Domains: []string{"perm.example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	oidcApp, _, err := ts.store.CreateApp(db.SystemActor, db.NewApp{Name: "Permission checks OIDC", URL: "https://oidc.example.com", Kind: db.AppKindOIDC,
		RedirectURIs: []string{"https://oidc.example.com/cb"}})
	if err != nil {
		t.Fatal(err)
	}
	// samples builds, per route, a request that succeeds for an allowed
	// caller; destructive ones make their own target each time.
	samples := map[string]func() (path, body string){
		"POST /api/admin/invite-link/tokens": func() (string, string) {
			return "/api/admin/invite-link/tokens", `{"name":"x","expiresAt":"2099-01-01T00:00:00Z"}`
		},
		"GET /api/admin/invite-link/tokens":        func() (string, string) { return "/api/admin/invite-link/tokens", "" },
		"GET /api/admin/invite-link/tokens/:token": func() (string, string) { return "/api/admin/invite-link/tokens/" + secret, "" },
		"DELETE /api/admin/invite-link/tokens/:token": func() (string, string) {
			// A link of its own each time: the call deletes it.
			tok, err := ts.store.CreateSignupToken(db.SystemActor, db.NewSignupToken{Name: "doomed", ExpiresAt: farFuture})
			if err != nil {
				t.Fatal(err)
			}
			return "/api/admin/invite-link/tokens/" + tok.Secret, ""
		},
		"PUT /api/admin/invite-link/tokens/:token": func() (string, string) {
			return "/api/admin/invite-link/tokens/" + secret, `{"enabled":true}`
		},
		"GET /api/admin/user":           func() (string, string) { return "/api/admin/user", "" },
		"GET /api/admin/user-admin":     func() (string, string) { return "/api/admin/user-admin", "" },
		"GET /api/admin/user-admin/:id": func() (string, string) { return fmt.Sprintf("/api/admin/user-admin/%d", viewer.ID), "" },
		"PUT /api/admin/user-admin/:id": func() (string, string) {
			return fmt.Sprintf("/api/admin/user-admin/%d", viewer.ID), `{"name":"Renamed"}`
		},
		"DELETE /api/admin/user-admin/:id": func() (string, string) {
			return fmt.Sprintf("/api/admin/user-admin/%d", ts.mustUser(t, db.RoleViewer).ID), ""
		},
		"POST /api/admin/user-admin/:id/unlock": func() (string, string) {
			return fmt.Sprintf("/api/admin/user-admin/%d/unlock", viewer.ID), ""
		},
		"DELETE /api/admin/user-admin/:id/second-factors": func() (string, string) {
			return fmt.Sprintf("/api/admin/user-admin/%d/second-factors", viewer.ID), ""
		},
		"POST /api/admin/user-admin/:id/disable": func() (string, string) {
			return fmt.Sprintf("/api/admin/user-admin/%d/disable", ts.mustUser(t, db.RoleViewer).ID), ""
		},
		"POST /api/admin/user-admin/:id/enable": func() (string, string) {
			return fmt.Sprintf("/api/admin/user-admin/%d/enable", viewer.ID), "{}"
		},
		"POST /api/admin/user-admin/:id/reset-link": func() (string, string) {
			return fmt.Sprintf("/api/admin/user-admin/%d/reset-link", viewer.ID), ""
		},
		"POST /api/admin/user-admin/:id/verify-email": func() (string, string) {
			return fmt.Sprintf("/api/admin/user-admin/%d/verify-email", ts.mustUnverifiedUser(t, db.RoleViewer).ID), ""
		},
		// The SSH key routes act on the Editor's own account, the one
		// account both an Admin and that Editor may manage keys of.
		"GET /api/admin/user-admin/:id/ssh-keys": func() (string, string) {
			return fmt.Sprintf("/api/admin/user-admin/%d/ssh-keys", editor.ID), ""
		},
		"POST /api/admin/user-admin/:id/ssh-keys": func() (string, string) {
			return fmt.Sprintf("/api/admin/user-admin/%d/ssh-keys", editor.ID), fmt.Sprintf(`{"name":"laptop","key":%q}`, newSSHKeyLine(t))
		},
		"DELETE /api/admin/user-admin/:id/ssh-keys/:keyId": func() (string, string) {
			k, err := ts.store.AddSSHKey(db.SystemActor, editor.ID, "doomed", newSSHKeyLine(t))
			if err != nil {
				t.Fatal(err)
			}
			return fmt.Sprintf("/api/admin/user-admin/%d/ssh-keys/%d", editor.ID, k.ID), ""
		},
		"POST /api/admin/user-admin/:id/approve": func() (string, string) {
			return fmt.Sprintf("/api/admin/user-admin/%d/approve", ts.mustPendingUser(t, db.RoleViewer).ID), ""
		},
		"POST /api/admin/user-admin/:id/reject": func() (string, string) {
			return fmt.Sprintf("/api/admin/user-admin/%d/reject", ts.mustPendingUser(t, db.RoleViewer).ID), ""
		},
		"GET /api/admin/roles":      func() (string, string) { return "/api/admin/roles", "" },
		"GET /api/admin/api-tokens": func() (string, string) { return "/api/admin/api-tokens", "" },
		"POST /api/admin/api-tokens": func() (string, string) {
			return "/api/admin/api-tokens", fmt.Sprintf(`{"name":"k%d","role":"editor"}`, userSeq.Add(1))
		},
		"DELETE /api/admin/api-tokens/:id": func() (string, string) {
			k, _, err := ts.store.CreateAPIKey(db.Actor{Kind: "cli", Name: "t", Role: db.RoleAdmin}, fmt.Sprintf("doomed%d", userSeq.Add(1)), db.RoleEditor)
			if err != nil {
				t.Fatal(err)
			}
			return fmt.Sprintf("/api/admin/api-tokens/%d", k.ID), ""
		},
		"GET /api/admin/events": func() (string, string) { return "/api/admin/events", "" },
		"GET /api/admin/emails": func() (string, string) { return "/api/admin/emails", "" },
		"POST /v1/userInvitations": func() (string, string) {
			return "/v1/userInvitations", fmt.Sprintf(`{"invitedEmail":"inv%d@example.com","inviter":"T"}`, userSeq.Add(1))
		},
		"GET /v1/userInvitations":        func() (string, string) { return "/v1/userInvitations", "" },
		"GET /v1/userInvitations/:id":    func() (string, string) { return fmt.Sprintf("/v1/userInvitations/%d", ts.mustInvitation(t).ID), "" },
		"DELETE /v1/userInvitations/:id": func() (string, string) { return fmt.Sprintf("/v1/userInvitations/%d", ts.mustInvitation(t).ID), "" },
		"POST /api/admin/invitation-batches": func() (string, string) {
			return "/api/admin/invitation-batches", fmt.Sprintf(`{"invitations":[{"email":"batch%d@example.com"}],"inviter":"T"}`, userSeq.Add(1))
		},
		"POST /v1/userInvitations/:id/resend": func() (string, string) {
			return fmt.Sprintf("/v1/userInvitations/%d/resend", ts.mustInvitation(t).ID), ""
		},
		"POST /api/admin/users/invite": func() (string, string) {
			return "/api/admin/users/invite", fmt.Sprintf(`{"email":"doit%d@example.com"}`, userSeq.Add(1))
		},
		"GET /api/admin/organizations": func() (string, string) { return "/api/admin/organizations", "" },
		"POST /api/admin/organizations": func() (string, string) {
			return "/api/admin/organizations", fmt.Sprintf(`{"name":"Org %d"}`, userSeq.Add(1))
		},
		"GET /api/admin/groups": func() (string, string) { return "/api/admin/groups", "" },
		"POST /api/admin/groups": func() (string, string) {
			return "/api/admin/groups", fmt.Sprintf(`{"name":"Group %d"}`, userSeq.Add(1))
		},
		"GET /api/admin/groups/:id": func() (string, string) { return "/api/admin/groups/" + group.ID, "" },
		"PUT /api/admin/groups/:id": func() (string, string) {
			return "/api/admin/groups/" + group.ID, `{"description":"changed"}`
		},
		"DELETE /api/admin/groups/:id": func() (string, string) {
			g, err := ts.store.CreateGroup(db.SystemActor, db.NewGroup{Name: fmt.Sprintf("Doomed %d", userSeq.Add(1))})
			if err != nil {
				t.Fatal(err)
			}
			return "/api/admin/groups/" + g.ID, ""
		},
		"GET /api/admin/apps": func() (string, string) { return "/api/admin/apps", "" },
		"POST /api/admin/apps": func() (string, string) {
			n := userSeq.Add(1)
			return "/api/admin/apps", fmt.Sprintf(`{"name":"App %d","url":"https://app%d.example.com","domains":["app%d.example.com"]}`, n, n, n)
		},
		"GET /api/admin/apps/:id": func() (string, string) { return "/api/admin/apps/" + app.ID, "" },
		"PUT /api/admin/apps/:id": func() (string, string) {
			return "/api/admin/apps/" + app.ID, fmt.Sprintf(`{"name":"Renamed %d"}`, userSeq.Add(1))
		},
		"DELETE /api/admin/apps/:id": func() (string, string) {
			n := userSeq.Add(1)
			a, _, err := ts.store.CreateApp(db.SystemActor, db.NewApp{Name: fmt.Sprintf("Doomed %d", n), URL: "https://doomed.example.com",
				Domains: []string{fmt.Sprintf("doomed%d.example.com", n)}})
			if err != nil {
				t.Fatal(err)
			}
			return "/api/admin/apps/" + a.ID, ""
		},
		"POST /api/admin/apps/:id/secret": func() (string, string) { return "/api/admin/apps/" + oidcApp.ID + "/secret", "" },
		// The sample's ceremony is nobody's: this row checks who reaches
		// the handler; TestPasskeyRegisterAndLogin finishes real ones.
		"POST /account/passkeys/begin":  func() (string, string) { return "/account/passkeys/begin", `{"name":"Laptop"}` },
		"POST /account/passkeys/finish": func() (string, string) { return "/account/passkeys/finish", `{"ceremony":"x","credential":{}}` },
		"GET /api/admin/webhooks":       func() (string, string) { return "/api/admin/webhooks", "" },
		"POST /api/admin/webhooks": func() (string, string) {
			return "/api/admin/webhooks", `{"url":"https://hooks.example.com/in","events":["user.created"]}`
		},
		"DELETE /api/admin/webhooks/:id": func() (string, string) {
			hook, err := ts.store.CreateWebhook(db.SystemActor, db.NewWebhook{URL: "https://doomed.example.com/", Events: []string{db.WebhookUserCreated}})
			if err != nil {
				t.Fatal(err)
			}
			return fmt.Sprintf("/api/admin/webhooks/%d", hook.ID), ""
		},
		"GET /api/admin/webhooks/:id/deliveries": func() (string, string) {
			hook, err := ts.store.CreateWebhook(db.SystemActor, db.NewWebhook{URL: "https://logged.example.com/", Events: []string{db.WebhookUserCreated}})
			if err != nil {
				t.Fatal(err)
			}
			return fmt.Sprintf("/api/admin/webhooks/%d/deliveries", hook.ID), ""
		},
		"DELETE /api/admin/organizations/:id": func() (string, string) {
			org, err := ts.store.CreateOrganization(db.SystemActor, "", fmt.Sprintf("Doomed %d", userSeq.Add(1)))
			if err != nil {
				t.Fatal(err)
			}
			return "/api/admin/organizations/" + org.ID, ""
		},
	}
	// Who may call what, written out independently of rolePermissions so
	// that a change to that table shows up here.
	const all, staff, admins = "Admin Editor Viewer", "Admin Editor", "Admin"
	allowedRoles := map[string]string{
		"POST /api/admin/invite-link/tokens":          staff,
		"GET /api/admin/invite-link/tokens":           staff,
		"GET /api/admin/invite-link/tokens/:token":    staff,
		"PUT /api/admin/invite-link/tokens/:token":    staff,
		"DELETE /api/admin/invite-link/tokens/:token": staff,
		"GET /api/admin/user":                         all,
		"GET /api/admin/user-admin":                   admins,
		"GET /api/admin/user-admin/:id":               admins,
		"PUT /api/admin/user-admin/:id":               admins,
		"DELETE /api/admin/user-admin/:id":            admins,
		"POST /api/admin/user-admin/:id/unlock":       admins,
		"POST /api/admin/user-admin/:id/disable":      admins,
		"POST /api/admin/user-admin/:id/enable":       admins,
		"POST /api/admin/user-admin/:id/reset-link":   admins,
		"POST /api/admin/user-admin/:id/verify-email": admins,
		"POST /api/admin/user-admin/:id/approve":      admins,
		"POST /api/admin/user-admin/:id/reject":       admins,
		"GET /api/admin/roles":                        staff,
		"GET /api/admin/api-tokens":                   admins,
		"POST /api/admin/api-tokens":                  admins,
		"DELETE /api/admin/api-tokens/:id":            admins,
		"GET /api/admin/events":                       admins,
		"GET /api/admin/emails":                       admins,
		"POST /v1/userInvitations":                    staff,
		"GET /v1/userInvitations":                     staff,
		"GET /v1/userInvitations/:id":                 staff,
		"DELETE /v1/userInvitations/:id":              staff,
		"POST /v1/userInvitations/:id/resend":         staff,
		"POST /api/admin/invitation-batches":          staff,
		"POST /api/admin/users/invite":                staff,
		"GET /api/admin/organizations":                staff,
		"POST /api/admin/organizations":               admins,
		"DELETE /api/admin/organizations/:id":         admins,
		"GET /api/admin/groups":                       admins,
		"POST /api/admin/groups":                      admins,
		"GET /api/admin/groups/:id":                   admins,
		"PUT /api/admin/groups/:id":                   admins,
		"DELETE /api/admin/groups/:id":                admins,
		"GET /api/admin/apps":                         admins,
		"POST /api/admin/apps":                        admins,
		"GET /api/admin/apps/:id":                     admins,
		"PUT /api/admin/apps/:id":                     admins,
		"DELETE /api/admin/apps/:id":                  admins,
		"POST /api/admin/apps/:id/secret":             admins,
		"GET /api/admin/webhooks":                     admins,
		"POST /api/admin/webhooks":                    admins,
		"DELETE /api/admin/webhooks/:id":              admins,
		"GET /api/admin/webhooks/:id/deliveries":      admins,
		"POST /account/passkeys/begin":                all,
		"POST /account/passkeys/finish":               all,

		"DELETE /api/admin/user-admin/:id/second-factors": admins,

		"GET /api/admin/user-admin/:id/ssh-keys":           staff,
		"POST /api/admin/user-admin/:id/ssh-keys":          staff,
		"DELETE /api/admin/user-admin/:id/ssh-keys/:keyId": staff,
	}
	for _, rt := range ts.srv.routes() {
		if rt.authed == nil {
			continue
		}
		key := rt.method + " " + rt.path
		sample, ok := samples[key]
		roles, ok2 := allowedRoles[key]
		if !ok || !ok2 {
			t.Errorf("route %s has no sample or expectation in the permission table test: add them", key)
			continue
		}
		for _, c := range callers {
			t.Run(key+" as "+c.name, func(t *testing.T) {
				path, body := sample()
				resp, raw := ts.callAs(t, c.cred, rt.method, path, body)
				want := "2xx"
				switch {
				case c.cred == "":
					want = "401"
				case !strings.Contains(roles, c.role.Name()):
					want = "403"
				case c.isKey && key == "GET /api/admin/user":
					want = "404" // a key is not a user
				case c.isKey && strings.HasPrefix(key, "POST /account/passkeys/"):
					want = "403" // a passkey is a person's
				case c.isKey && c.role != db.RoleAdmin && strings.Contains(key, "/ssh-keys"):
					want = "403" // an Editor key has no account of its own to hold keys
				case key == "POST /account/passkeys/finish":
					want = "401" // allowed, but the sample's ceremony is unknown
				}
				got := fmt.Sprint(resp.StatusCode)
				if resp.StatusCode/100 == 2 {
					got = "2xx"
				}
				if got != want {
					t.Fatalf("status %d, want %s: %s", resp.StatusCode, want, raw)
				}
			})
		}
	}
}

func TestLoginLogoutAndCookie(t *testing.T) {
	ts := mustServerWith(t, func(o *Options) { o.BaseURL = "https://invited.example" })
	u := ts.mustUser(t, db.RoleViewer)
	resp, body := ts.call(t, "POST", "/auth/simple/login", "", fmt.Sprintf(`{"username":%q,"password":%q}`, strings.ToUpper(u.Email), testPassword))
	if resp.StatusCode != 200 || body["email"] != u.Email || body["seenAt"] == nil {
		t.Fatalf("login by email in upper case: %d %v", resp.StatusCode, body)
	}
	var c *http.Cookie
	for _, k := range resp.Cookies() {
		if k.Name == sessionCookie {
			c = k
		}
	}
	if c == nil || !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteLaxMode || c.MaxAge <= 0 {
		t.Fatalf("session cookie %+v: want HttpOnly, Secure (https base URL), SameSite=Lax, a max age", c)
	}
	cookie := sessionCookie + "=" + c.Value
	if resp, raw := ts.callAs(t, cookie, "GET", "/api/admin/user", ""); resp.StatusCode != 200 || !strings.Contains(raw, u.Email) {
		t.Fatalf("self with session: %d %s", resp.StatusCode, raw)
	}
	if resp, _ := ts.callAs(t, cookie, "POST", "/auth/logout", ""); resp.StatusCode != 204 {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	if resp, _ := ts.callAs(t, cookie, "GET", "/api/admin/user", ""); resp.StatusCode != 401 {
		t.Fatalf("self after logout: %d, want 401", resp.StatusCode)
	}
}

// errorIDs matches the one part of an error body that differs between
// two answers of the same kind.
var errorIDs = regexp.MustCompile(`"id":"[0-9a-f-]{36}"`)

// TestLoginNoEnumerationAndThrottling: an unknown login, a wrong password,
// and the right or a wrong password while the account waits all get the
// same status and the same bytes but the error id; the wait ends on the
// store's clock, and an admin's unlock ends it at once.
func TestLoginNoEnumerationAndThrottling(t *testing.T) {
	clock := &settableClock{t: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)}
	ts := mustServerWith(t, func(o *Options) {
		store, err := db.Open(filepath.Join(t.TempDir(), "clock.db"), db.Options{Now: clock.now})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { store.Close() })
		if _, err := store.EnsureAPIKey("admin", testKey); err != nil {
			t.Fatal(err)
		}
		o.Store, o.LockoutMax = store, 15*time.Minute // MaxLoginAttempts: 3
	})
	ts.store = ts.srv.store
	u := ts.mustUser(t, db.RoleViewer)
	answer := func(login, password string) (int, string) {
		t.Helper()
		resp, raw := ts.callAs(t, "", "POST", "/auth/simple/login", fmt.Sprintf(`{"username":%q,"password":%q}`, login, password))
		for _, c := range resp.Cookies() {
			if c.Name == sessionCookie && c.Value != "" {
				t.Errorf("login %s with %q opened a session", login, password)
			}
		}
		return resp.StatusCode, errorIDs.ReplaceAllString(raw, `"id":"…"`)
	}
	same := func(what string, status int, body string, wantStatus int, wantBody string) {
		t.Helper()
		if status != wantStatus || body != wantBody {
			t.Fatalf("%s: %d %s\nwant the wrong-password answer: %d %s", what, status, body, wantStatus, wantBody)
		}
	}
	wrongStatus, wrongBody := answer(u.Email, "whatever it is")
	if wrongStatus != 401 || !strings.Contains(wrongBody, "Wrong username or password") {
		t.Fatalf("wrong password: %d %s", wrongStatus, wrongBody)
	}
	status, body := answer("nobody@example.com", "whatever it is")
	same("unknown user", status, body, wrongStatus, wrongBody)
	answer(u.Username, "wrong a second time")
	answer(u.Email, "wrong a third time") // the third failure starts a 1-minute wait
	if waiting, err := ts.store.LoginThrottled(u.ID); err != nil || !waiting {
		t.Fatalf("waiting %v, %v after three failures", waiting, err)
	}

	// While it waits, the right password reads exactly like a wrong one,
	// and the hash is still paid: with the only hash slot taken it is
	// busy (503) like any checked password.
	status, body = answer(u.Email, testPassword)
	same("right password in the wait", status, body, wrongStatus, wrongBody)
	status, body = answer(u.Username, "still wrong")
	same("wrong password in the wait", status, body, wrongStatus, wrongBody)
	release, holding := make(chan struct{}), make(chan struct{})
	go holdSlot(ts.hasher, holding, release)
	<-holding
	busy, _ := ts.callAs(t, "", "POST", "/auth/simple/login", fmt.Sprintf(`{"username":%q,"password":%q}`, u.Email, testPassword))
	close(release)
	if busy.StatusCode != 503 {
		t.Errorf("throttled login with the hasher busy: %d, want 503 (the hash must be paid)", busy.StatusCode)
	}
	got, _ := ts.store.FindUserByID(u.ID)
	if got.LoginAttempts != 5 {
		t.Fatalf("loginAttempts %d, want 5 (every refused login counts)", got.LoginAttempts)
	}
	if _, total, _ := ts.store.ListEvents(db.EventUserLocked, 0, 10); total != 1 {
		t.Errorf("%d user-locked events, want 1", total)
	}

	// After the wait the right password works and resets the count.
	clock.add(time.Minute)
	ts.login(t, u.Email, testPassword)
	got, _ = ts.store.FindUserByID(u.ID)
	if got.LoginAttempts != 0 || got.SeenAt == nil || got.ThrottledUntil != nil {
		t.Fatalf("after good login: attempts %d seenAt %v wait %v", got.LoginAttempts, got.SeenAt, got.ThrottledUntil)
	}

	// An admin's unlock ends a wait at once.
	for range 3 {
		answer(u.Email, "wrong again")
	}
	status, body = answer(u.Email, testPassword)
	same("right password in the second wait", status, body, wrongStatus, wrongBody)
	resp, unlocked := ts.call(t, "POST", fmt.Sprintf("/api/admin/user-admin/%d/unlock", u.ID), "Bearer "+testKey, "")
	if resp.StatusCode != 200 || unlocked["loginAttempts"] != float64(0) {
		t.Fatalf("unlock: %d %v", resp.StatusCode, unlocked)
	}
	ts.login(t, u.Email, testPassword)
}

// settableClock is a clock a test moves by hand.
type settableClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *settableClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *settableClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestUserAdmin(t *testing.T) {
	ts := mustServer(t)
	admin := ts.mustUser(t, db.RoleAdmin)
	for i := 0; i < 4; i++ {
		ts.mustUser(t, db.RoleViewer)
	}
	key := "Bearer " + testKey
	resp, body := ts.call(t, "GET", "/api/admin/user-admin?limit=2&offset=1", key, "")
	users, _ := body["users"].([]any)
	if resp.StatusCode != 200 || body["total"] != float64(5) || len(users) != 2 || users[0].(map[string]any)["id"] == float64(admin.ID) {
		t.Fatalf("page: %d %v", resp.StatusCode, body)
	}
	for _, q := range []string{"limit=0", "limit=abc", "limit=1001", "offset=-1"} {
		if resp, _ := ts.call(t, "GET", "/api/admin/user-admin?"+q, key, ""); resp.StatusCode != 400 {
			t.Errorf("?%s: %d, want 400", q, resp.StatusCode)
		}
	}
	path := fmt.Sprintf("/api/admin/user-admin/%d", admin.ID)
	// The last Admin can be neither demoted nor deleted.
	if resp, body := ts.call(t, "PUT", path, key, `{"rootRole":3}`); resp.StatusCode != 400 || !strings.Contains(fmt.Sprint(body["message"]), "last Admin") {
		t.Fatalf("demote last admin: %d %v", resp.StatusCode, body)
	}
	if resp, _ := ts.call(t, "DELETE", path, key, ""); resp.StatusCode != 400 {
		t.Fatalf("delete last admin: %d", resp.StatusCode)
	}
	// PUT keeps emails unique.
	other := ts.mustUser(t, db.RoleViewer)
	if resp, body := ts.call(t, "PUT", path, key, fmt.Sprintf(`{"email":%q}`, strings.ToUpper(other.Email))); resp.StatusCode != 409 {
		t.Fatalf("take another's email: %d %v", resp.StatusCode, body)
	}
	if resp, body := ts.call(t, "PUT", path, key, `{"email":"new@example.com","name":"New Name"}`); resp.StatusCode != 200 || body["email"] != "new@example.com" {
		t.Fatalf("change email: %d %v", resp.StatusCode, body)
	}
	if _, err := ts.store.FindUserByLogin(admin.Email); db.ErrorCode(err) != db.ENOTFOUND {
		t.Errorf("old email still finds the user: %v", err)
	}
	if resp, _ := ts.call(t, "PUT", path, key, `{}`); resp.StatusCode != 400 {
		t.Errorf("empty PUT: %d, want 400", resp.StatusCode)
	}
	// Delete removes the user from its link and its sessions.
	cookie := ts.login(t, other.Email, testPassword)
	if resp, _ := ts.call(t, "DELETE", fmt.Sprintf("/api/admin/user-admin/%d", other.ID), key, ""); resp.StatusCode != 200 {
		t.Fatalf("delete: %d", resp.StatusCode)
	}
	if resp, _ := ts.callAs(t, cookie, "GET", "/api/admin/user", ""); resp.StatusCode != 401 {
		t.Errorf("session of a deleted user still works: %d", resp.StatusCode)
	}
	tokens, _ := ts.store.ListSignupTokens(db.SystemActor)
	for _, tok := range tokens {
		for _, u := range tok.Users {
			if u.ID == other.ID {
				t.Errorf("deleted user still listed on link %q", tok.Name)
			}
		}
	}
	for _, p := range []string{"/api/admin/user-admin/999", "/api/admin/user-admin/abc", "/api/admin/user-admin/-1"} {
		if resp, _ := ts.call(t, "GET", p, key, ""); resp.StatusCode != 404 {
			t.Errorf("GET %s: %d, want 404", p, resp.StatusCode)
		}
	}
}

func TestAPIKeysAndEvents(t *testing.T) {
	ts := mustServer(t)
	key := "Bearer " + testKey
	resp, body := ts.call(t, "POST", "/api/admin/api-tokens", key, `{"name":"deploy","role":"editor"}`)
	secret, _ := body["secret"].(string)
	if resp.StatusCode != 201 || !strings.HasPrefix(secret, db.APIKeyPrefix) {
		t.Fatalf("create key: %d %v", resp.StatusCode, body)
	}
	resp, raw := ts.callAs(t, "key:"+key, "GET", "/api/admin/api-tokens", "")
	if resp.StatusCode != 200 || strings.Contains(raw, secret) || !strings.Contains(raw, `"lastUsedAt"`) {
		t.Fatalf("list keys must not show keys: %d %s", resp.StatusCode, raw)
	}
	id := int(body["id"].(float64))
	if resp, _ := ts.callAs(t, "key:"+secret, "GET", "/api/admin/invite-link/tokens", ""); resp.StatusCode != 200 {
		t.Fatalf("new key: %d", resp.StatusCode)
	}
	if resp, _ := ts.call(t, "DELETE", fmt.Sprintf("/api/admin/api-tokens/%d", id), key, ""); resp.StatusCode != 200 {
		t.Fatalf("revoke: %d", resp.StatusCode)
	}
	if resp, _ := ts.callAs(t, "key:"+secret, "GET", "/api/admin/invite-link/tokens", ""); resp.StatusCode != 401 {
		t.Fatalf("revoked key: %d, want 401", resp.StatusCode)
	}
	resp, body = ts.call(t, "GET", "/api/admin/events?limit=1", key, "")
	events, _ := body["events"].([]any)
	if resp.StatusCode != 200 || len(events) != 1 || events[0].(map[string]any)["type"] != db.EventAPIKeyDeleted {
		t.Fatalf("newest event first: %d %v", resp.StatusCode, body)
	}
	first := events[0].(map[string]any)
	if first["createdBy"] != "apikey:admin" || first["objectId"] != fmt.Sprint(id) || first["createdAt"] == "" {
		t.Errorf("event %v: want actor, object id and time", first)
	}
	resp, body = ts.call(t, "GET", "/api/admin/events?type="+db.EventAPIKeyCreated, key, "")
	if resp.StatusCode != 200 || body["total"] != float64(2) { // the admin key of the fixture, and deploy
		t.Fatalf("filter by type: %d %v", resp.StatusCode, body)
	}
	if resp, _ := ts.call(t, "GET", "/api/admin/events?type=nope", key, ""); resp.StatusCode != 400 {
		t.Errorf("unknown type: %d, want 400", resp.StatusCode)
	}
	_, raw = ts.callAs(t, "key:"+key, "GET", "/api/admin/events?limit=1000", "")
	if strings.Contains(raw, secret) || strings.Contains(raw, testKey) {
		t.Errorf("audit log holds a key: %s", raw)
	}
}

func TestRateLimits(t *testing.T) {
	ts := mustServerWith(t, func(o *Options) {
		o.AuthPerMinute = 2
		o.PublicPerMinute = 3
		o.TrustedProxies = mustPrefixes(t, "127.0.0.1")
	})
	login := func(xff string) *http.Response {
		req, _ := http.NewRequest("POST", ts.URL+"/auth/simple/login", strings.NewReader(`{"username":"a","password":"b"}`))
		req.Header.Set("Content-Type", "application/json")
		if xff != "" {
			req.Header.Set("X-Forwarded-For", xff)
		}
		resp, err := ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for i := 0; i < 2; i++ {
		if r := login("203.0.113.7"); r.StatusCode != 401 {
			t.Fatalf("login %d: %d", i, r.StatusCode)
		}
	}
	r := login("203.0.113.7")
	if r.StatusCode != 429 || r.Header.Get("Retry-After") == "" {
		t.Fatalf("third login from one client: %d Retry-After=%q", r.StatusCode, r.Header.Get("Retry-After"))
	}
	// Another client behind the same trusted proxy has its own bucket.
	if r := login("198.51.100.1, 203.0.113.9"); r.StatusCode != 401 {
		t.Fatalf("other client: %d", r.StatusCode)
	}
	secret := ts.link(t)
	codes := []int{}
	for i := 0; i < 4; i++ {
		resp, _ := ts.call(t, "GET", "/invite/"+secret+"/validate", "", "")
		codes = append(codes, resp.StatusCode)
	}
	if fmt.Sprint(codes) != "[200 200 200 429]" {
		t.Fatalf("public limit 3/min: %v", codes)
	}
	// Admin routes are not limited.
	for i := 0; i < 5; i++ {
		if resp, _ := ts.call(t, "GET", "/api/admin/invite-link/tokens", "Bearer "+testKey, ""); resp.StatusCode != 200 {
			t.Fatalf("admin route limited: %d", resp.StatusCode)
		}
	}
}

func TestClientIP(t *testing.T) {
	trusted := mustPrefixes(t, "10.0.0.0/8", "::1")
	cases := []struct{ name, remote, xff, want string }{
		{"direct peer", "192.0.2.1:1234", "198.51.100.1", "192.0.2.1"},
		{"trusted proxy", "10.1.2.3:1234", "198.51.100.1", "198.51.100.1"},
		{"proxy chain", "10.1.2.3:1234", "198.51.100.1, 10.9.9.9", "198.51.100.1"},
		{"spoofed left entry", "10.1.2.3:1234", "1.1.1.1, 198.51.100.2", "198.51.100.2"},
		{"garbage header", "10.1.2.3:1234", "not-an-ip", "10.1.2.3"},
		{"ipv6 proxy", "[::1]:80", "2001:db8::5", "2001:db8::5"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := http.NewRequest("GET", "/", nil)
			r.RemoteAddr = tc.remote
			r.Header.Set("X-Forwarded-For", tc.xff)
			if got := clientIP(r, trusted).String(); got != tc.want {
				t.Fatalf("clientIP = %s, want %s", got, tc.want)
			}
		})
	}
}
