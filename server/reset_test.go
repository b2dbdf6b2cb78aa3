package server

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"invited/db"
)

// pendingResetToken returns the token of the newest pending reset email
// to the address, or "".
func (ts *testServer) pendingResetToken(tb testing.TB, to string) string {
	tb.Helper()
	emails, _, err := ts.store.ListOutbox(0, 100)
	if err != nil {
		tb.Fatal(err)
	}
	for _, e := range emails {
		if e.Kind == db.EmailResetPassword && e.State == db.EmailPending && e.To == to {
			return e.Token
		}
	}
	return ""
}

// TestResetRequestAnswersAlike: 202 with the same (empty) body for an
// active account, an unknown, a malformed and a disabled account's
// address; only the active account gets an email. Strict JSON still
// refuses a bad body with 400.
func TestResetRequestAnswersAlike(t *testing.T) {
	ts := mustServer(t)
	ada := ts.mustUser(t, db.RoleViewer)
	off := ts.mustUser(t, db.RoleViewer)
	if _, err := ts.store.DisableUser(db.SystemActor, off.ID); err != nil {
		t.Fatal(err)
	}
	for _, email := range []string{ada.Email, strings.ToUpper(ada.Email), "nobody@example.com", "not an address", "@", off.Email,
		strings.Repeat("x", 5000) + "@example.com", "ada@example.com\r\nBcc: evil@example.com"} {
		req, _ := http.NewRequest("POST", ts.URL+"/auth/reset-password", strings.NewReader(fmt.Sprintf(`{"email":%q}`, email)))
		req.Header.Set("Content-Type", "application/json")
		resp, err := ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 202 || resp.ContentLength != 0 || resp.Header.Get("Set-Cookie") != "" {
			t.Errorf("%.40q: %d, length %d", email, resp.StatusCode, resp.ContentLength)
		}
	}
	emails, _, _ := ts.store.ListOutbox(0, 100)
	for _, e := range emails {
		if e.To != ada.Email {
			t.Errorf("an email to %s", e.To)
		}
	}
	if len(emails) != 1 {
		t.Errorf("%d emails, want 1 (to the active account; the second request came within a minute)", len(emails))
	}
	for _, tc := range []struct{ body, field string }{
		{`{"email":1}`, "email"},
		{`{"email":"a@example.com","password":"x"}`, "password"},
		{`{"Email":"a@example.com"}`, "Email"},
		{`{"email":"a@example.com","email":"b@example.com"}`, "email"},
		{`["a@example.com"]`, ""},
		{`{}`, "email"},
		{`{"email":"  "}`, "email"},
		{`not json`, ""},
	} {
		resp, body := ts.call(t, "POST", "/auth/reset-password", "", tc.body)
		if resp.StatusCode != 400 || !strings.Contains(fmt.Sprint(body), tc.field) {
			t.Errorf("%s: %d %v", tc.body, resp.StatusCode, body)
		}
	}
	req, _ := http.NewRequest("POST", ts.URL+"/auth/reset-password", strings.NewReader("email=a@example.com"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if resp, err := ts.Client().Do(req); err != nil || resp.StatusCode != 400 {
		t.Errorf("a form body: %v %v", resp, err)
	}
}

// TestResetThroughAPI: the emailed token sets a password once (204), every
// session ends, the new password logs in and the old does not; the token
// then is 404, as are made-up ones; a weak password is 400 naming
// password and leaves the link alive.
func TestResetThroughAPI(t *testing.T) {
	ts := mustServer(t)
	u := ts.mustUser(t, db.RoleViewer)
	cookie := ts.login(t, u.Email, testPassword)
	if resp, _ := ts.call(t, "POST", "/auth/reset-password", "", fmt.Sprintf(`{"email":%q}`, u.Email)); resp.StatusCode != 202 {
		t.Fatalf("request: %d", resp.StatusCode)
	}
	token := ts.pendingResetToken(t, u.Email)
	if len(token) != 64 {
		t.Fatalf("token %q", token)
	}
	for _, pw := range []string{"short", "password1", u.Email, u.Username + "123"} {
		resp, body := ts.call(t, "POST", "/auth/reset-password/"+token, "", fmt.Sprintf(`{"password":%q}`, pw))
		if resp.StatusCode != 400 || !strings.Contains(fmt.Sprint(body["details"]), "password") {
			t.Errorf("weak %q: %d %v", pw, resp.StatusCode, body)
		}
	}
	if resp, body := ts.call(t, "POST", "/auth/reset-password/"+token, "", `{"password":"x","again":"x"}`); resp.StatusCode != 400 {
		t.Errorf("unknown field: %d %v", resp.StatusCode, body)
	}
	const newPassword = "amber kettle orbit meadow"
	if resp, body := ts.call(t, "POST", "/auth/reset-password/"+token, "", fmt.Sprintf(`{"password":%q}`, newPassword)); resp.StatusCode != 204 {
		t.Fatalf("reset: %d %v", resp.StatusCode, body)
	}
	if resp, _ := ts.callAs(t, cookie, "GET", "/api/admin/user", ""); resp.StatusCode != 401 {
		t.Errorf("the old session after the reset: %d", resp.StatusCode)
	}
	ts.login(t, u.Email, newPassword)
	if resp, _ := ts.call(t, "POST", "/auth/simple/login", "", fmt.Sprintf(`{"username":%q,"password":%q}`, u.Email, testPassword)); resp.StatusCode != 401 {
		t.Errorf("the old password: %d", resp.StatusCode)
	}
	for _, tok := range []string{token, strings.Repeat("0", 64), "x", strings.Repeat("a", 4096), "%00", "..%2F..%2Fetc"} {
		resp, body := ts.call(t, "POST", "/auth/reset-password/"+tok, "", fmt.Sprintf(`{"password":%q}`, newPassword+" again"))
		if resp.StatusCode != 404 || body["name"] != "NotFoundError" {
			t.Errorf("token %.20q: %d %v", tok, resp.StatusCode, body)
		}
	}
	events, _, _ := ts.store.ListEvents(db.EventPasswordReset, 0, 10)
	if len(events) != 1 || events[0].ObjectID != fmt.Sprint(u.ID) {
		t.Errorf("events %+v", events)
	}
	if strings.Contains(ts.logs.String(), token) {
		t.Error("the log holds the reset token")
	}
}

// TestResetLinkAdmin: an Admin makes a link (201, url and expiresAt, not
// cached, audited without it); lower roles never reach the route; a
// disabled user's link is refused.
func TestResetLinkAdmin(t *testing.T) {
	ts := mustServerWith(t, func(o *Options) { o.BaseURL = "https://invited.example/" })
	boss := ts.mustUser(t, db.RoleAdmin)
	editor := ts.mustUser(t, db.RoleEditor)
	viewer := ts.mustUser(t, db.RoleViewer)
	_, editorKey, err := ts.store.CreateAPIKey(db.SystemActor, "editor-key", db.RoleEditor)
	if err != nil {
		t.Fatal(err)
	}
	path := fmt.Sprintf("/api/admin/user-admin/%d/reset-link", boss.ID)
	for name, caller := range map[string]string{
		"editor session": ts.login(t, editor.Email, testPassword),
		"viewer session": ts.login(t, viewer.Email, testPassword),
		"editor key":     "key:Bearer " + editorKey,
	} {
		if resp, raw := ts.callAs(t, caller, "POST", path, ""); resp.StatusCode != 403 {
			t.Errorf("%s → an Admin's reset link: %d %s", name, resp.StatusCode, raw)
		}
	}
	if resp, _ := ts.callAs(t, "", "POST", path, ""); resp.StatusCode != 401 {
		t.Errorf("nobody: %d", resp.StatusCode)
	}
	if n, _, _ := ts.store.ListEvents(db.EventResetLinkCreated, 0, 10); len(n) != 0 {
		t.Fatalf("refused calls were audited: %+v", n)
	}

	resp, body := ts.call(t, "POST", path, "Bearer "+testKey, "")
	url, _ := body["url"].(string)
	if resp.StatusCode != 201 || !strings.HasPrefix(url, "https://invited.example/reset-password/") || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("admin: %d %v %v", resp.StatusCode, body, resp.Header)
	}
	exp, err := time.Parse(time.RFC3339Nano, fmt.Sprint(body["expiresAt"]))
	if err != nil || time.Until(exp) > time.Hour || time.Until(exp) < 59*time.Minute {
		t.Errorf("expiresAt %v (%v)", body["expiresAt"], err)
	}
	secret := url[strings.LastIndex(url, "/")+1:]
	events, _, _ := ts.store.ListEvents(db.EventResetLinkCreated, 0, 10)
	if len(events) != 1 || strings.Contains(fmt.Sprint(events[0].Data), secret) {
		t.Errorf("events %+v", events)
	}
	if strings.Contains(ts.logs.String(), secret) {
		t.Error("the log holds the link")
	}
	if resp, _ := ts.call(t, "POST", "/auth/reset-password/"+secret, "", `{"password":"amber kettle orbit meadow"}`); resp.StatusCode != 204 {
		t.Errorf("using the admin's link: %d", resp.StatusCode)
	}

	if _, err := ts.store.DisableUser(db.SystemActor, viewer.ID); err != nil {
		t.Fatal(err)
	}
	if resp, body := ts.call(t, "POST", fmt.Sprintf("/api/admin/user-admin/%d/reset-link", viewer.ID), "Bearer "+testKey, ""); resp.StatusCode != 400 {
		t.Errorf("disabled user: %d %v", resp.StatusCode, body)
	}
	for _, bad := range []string{"0", "999", "abc", "-1", "1e3"} {
		if resp, _ := ts.call(t, "POST", "/api/admin/user-admin/"+bad+"/reset-link", "Bearer "+testKey, ""); resp.StatusCode != 404 {
			t.Errorf("id %q: %d", bad, resp.StatusCode)
		}
	}
	if resp, _ := ts.call(t, "POST", path, "Bearer "+testKey, `{"expiresAt":"2099-01-01T00:00:00Z"}`); resp.StatusCode != 400 {
		t.Errorf("a body: %d", resp.StatusCode)
	}
}

// TestResetRateLimited: both reset routes share the auth limit per client.
func TestResetRateLimited(t *testing.T) {
	ts := mustServerWith(t, func(o *Options) { o.AuthPerMinute = 2 })
	var codes []int
	for range 3 {
		resp, _ := ts.call(t, "POST", "/auth/reset-password", "", `{"email":"a@example.com"}`)
		codes = append(codes, resp.StatusCode)
	}
	resp, _ := ts.call(t, "POST", "/auth/reset-password/"+strings.Repeat("0", 64), "", `{"password":"amber kettle orbit meadow"}`)
	codes = append(codes, resp.StatusCode)
	if fmt.Sprint(codes) != "[202 202 429 429]" || resp.Header.Get("Retry-After") == "" {
		t.Errorf("codes %v", codes)
	}
}
