package server

import (
	"fmt"
	"strings"
	"testing"

	"invited/db"
)

// TestDisableEnableThroughTheAPI: disabling ends the user's sessions at
// once and refuses their logins (a wrong password reads like any other);
// enabling lets them log in again, with a new session only.
func TestDisableEnableThroughTheAPI(t *testing.T) {
	ts := mustServer(t)
	admin := ts.mustUser(t, db.RoleAdmin)
	adminCookie := ts.login(t, admin.Email, testPassword)
	u := ts.mustUser(t, db.RoleViewer)
	cookie := ts.login(t, u.Email, testPassword)
	path := fmt.Sprintf("/api/admin/user-admin/%d", u.ID)

	if resp, raw := ts.callAs(t, "key:"+testKey, "POST", path+"/disable", `{"why":"x"}`); resp.StatusCode != 400 || !strings.Contains(raw, "why") {
		t.Errorf("disable with a field: %d %s", resp.StatusCode, raw)
	}
	resp, raw := ts.callAs(t, "key:"+testKey, "POST", path+"/disable", "")
	if resp.StatusCode != 200 || !strings.Contains(raw, `"disabled":true`) {
		t.Fatalf("disable: %d %s", resp.StatusCode, raw)
	}
	if resp, raw := ts.callAs(t, cookie, "GET", "/api/admin/user", ""); resp.StatusCode != 401 {
		t.Errorf("the disabled user's old cookie: %d %s", resp.StatusCode, raw)
	}
	_, wrongUnknown := ts.call(t, "POST", "/auth/simple/login", "", `{"username":"nobody@example.com","password":"wrong password"}`)
	r, wrong := ts.call(t, "POST", "/auth/simple/login", "", fmt.Sprintf(`{"username":%q,"password":"wrong password"}`, u.Email))
	if r.StatusCode != 401 || wrong["message"] != wrongUnknown["message"] || wrong["name"] != wrongUnknown["name"] {
		t.Errorf("wrong password of a disabled user: %d %v, want as for an unknown account %v", r.StatusCode, wrong, wrongUnknown)
	}
	r, right := ts.call(t, "POST", "/auth/simple/login", "", fmt.Sprintf(`{"username":%q,"password":%q}`, u.Email, testPassword))
	if r.StatusCode != 403 || !strings.Contains(fmt.Sprint(right["message"]), "disabled") || len(r.Cookies()) != 0 {
		t.Errorf("right password of a disabled user: %d %v, cookies %v", r.StatusCode, right, r.Cookies())
	}
	if resp, raw := ts.callAs(t, adminCookie, "GET", path, ""); resp.StatusCode != 200 || !strings.Contains(raw, `"disabled":true`) {
		t.Errorf("the disabled user's data: %d %s", resp.StatusCode, raw)
	}
	// Nobody disables themself.
	if resp, raw := ts.callAs(t, adminCookie, "POST", fmt.Sprintf("/api/admin/user-admin/%d/disable", admin.ID), "{}"); resp.StatusCode != 400 || !strings.Contains(raw, "your own account") {
		t.Errorf("disable myself: %d %s", resp.StatusCode, raw)
	}

	resp, raw = ts.callAs(t, adminCookie, "POST", path+"/enable", "{}")
	if resp.StatusCode != 200 || !strings.Contains(raw, `"disabled":false`) {
		t.Fatalf("enable: %d %s", resp.StatusCode, raw)
	}
	if resp, _ := ts.callAs(t, cookie, "GET", "/api/admin/user", ""); resp.StatusCode != 401 {
		t.Errorf("the session disabling ended came back: %d", resp.StatusCode)
	}
	fresh := ts.login(t, u.Email, testPassword)
	if resp, raw := ts.callAs(t, fresh, "GET", "/api/admin/user", ""); resp.StatusCode != 200 {
		t.Errorf("after enabling: %d %s", resp.StatusCode, raw)
	}
	if resp, raw := ts.callAs(t, "key:"+testKey, "GET", "/api/admin/events?type=user-enabled", ""); resp.StatusCode != 200 || !strings.Contains(raw, `"user-enabled"`) {
		t.Errorf("events: %d %s", resp.StatusCode, raw)
	}
}
