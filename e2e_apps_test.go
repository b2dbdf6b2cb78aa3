package main

import (
	"fmt"
	"testing"
)

// listOf reads a list field of an answer's object as strings.
func listOf(t *testing.T, what string, obj map[string]any, field string) []string {
	t.Helper()
	raw, ok := obj[field].([]any)
	if !ok {
		t.Fatalf("%s: %s is %#v, want a list", what, field, obj[field])
	}
	out := make([]string, len(raw))
	for i, v := range raw {
		out[i], _ = v.(string)
	}
	return out
}

// TestE2EApps runs the apps of DESIGN §9 against the real binary: an Admin
// creates, reads, changes and deletes them; a host belongs to one app; bad
// domains and unknown groups are 400s naming the field; Editors and
// strangers are kept out; apps outlive a restart, and deleting a group
// takes it off them.
func TestE2EApps(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := startServer(t, dir)
	apps := p.URL + "/api/admin/apps"

	for _, id := range []string{"ops", "dev"} {
		status, _, body := do(t, "POST", p.URL+"/api/admin/groups", e2eAdminKey, map[string]any{"id": id, "name": id})
		wantStatus(t, "create group "+id, status, 201, body)
	}

	// Create: the id from the name, the kind proxy, domains normalised.
	status, header, body := do(t, "POST", apps, e2eAdminKey, map[string]any{
		"name": "Grafana", "url": "https://grafana.example.com/", "groups": []string{"ops", "dev"},
		"domains": []string{"Grafana.Example.COM", "*.tools.example.com", "grafana.example.com"},
	})
	wantStatus(t, "create grafana", status, 201, body)
	a := object(t, "grafana", body)
	wantKeys(t, "grafana", a, "id", "name", "url", "kind", "groups", "domains", "createdAt")
	if a["id"] != "grafana" || a["kind"] != "proxy" || header.Get("Location") != "/api/admin/apps/grafana" {
		t.Errorf("app %v at %q", a, header.Get("Location"))
	}
	if got := fmt.Sprint(listOf(t, "grafana", a, "domains"), listOf(t, "grafana", a, "groups")); got != "[*.tools.example.com grafana.example.com] [dev ops]" {
		t.Errorf("domains and groups %s", got)
	}

	// The exact host and the wildcard above it may belong to two apps;
	// the same host, or the same wildcard, may not.
	status, _, body = do(t, "POST", apps, e2eAdminKey, map[string]any{"id": "wiki", "name": "Wiki", "url": "http://wiki.tools.example.com:8080", "domains": []string{"wiki.tools.example.com"}})
	wantStatus(t, "create wiki", status, 201, body)
	if w := object(t, "wiki", body); len(listOf(t, "wiki", w, "groups")) != 0 {
		t.Errorf("wiki groups %v, want []", w["groups"])
	}
	status, _, body = do(t, "POST", apps, e2eAdminKey, map[string]any{"name": "Other", "url": "https://o.example.com", "domains": []string{"o.example.com", "*.TOOLS.example.com"}})
	wantError(t, "same wildcard", status, body, 409, "NameExistsError", "*.tools.example.com", "grafana")
	status, _, body = do(t, "PUT", apps+"/wiki", e2eAdminKey, map[string]any{"domains": []string{"grafana.example.com"}})
	wantError(t, "a taken host", status, body, 409, "NameExistsError", "grafana")
	status, _, body = do(t, "POST", apps, e2eAdminKey, map[string]any{"id": "wiki", "name": "Wiki", "url": "https://w.example.com", "domains": []string{"w.example.com"}})
	wantError(t, "the same id", status, body, 409, "NameExistsError")

	// Bad input: each problem is a 400 naming its field.
	for _, c := range []struct {
		what, field string
		body        map[string]any
	}{
		{"a port", "domains[0]", map[string]any{"name": "X", "url": "https://x.example.com", "domains": []string{"x.example.com:8443"}}},
		{"a path", "domains[0]", map[string]any{"name": "X", "url": "https://x.example.com", "domains": []string{"x.example.com/app"}}},
		{"two wildcard levels", "domains[0]", map[string]any{"name": "X", "url": "https://x.example.com", "domains": []string{"*.*.example.com"}}},
		{"a bare star", "domains[0]", map[string]any{"name": "X", "url": "https://x.example.com", "domains": []string{"*"}}},
		{"an IP address", "domains[0]", map[string]any{"name": "X", "url": "https://x.example.com", "domains": []string{"192.168.1.10"}}},
		{"no domains", "domains", map[string]any{"name": "X", "url": "https://x.example.com"}},
		{"a relative url", "url", map[string]any{"name": "X", "url": "/x", "domains": []string{"x.example.com"}}},
		{"an unknown group", "groups[1]", map[string]any{"name": "X", "url": "https://x.example.com", "domains": []string{"x.example.com"}, "groups": []string{"ops", "nope"}}},
		{"an unknown kind", "kind", map[string]any{"name": "X", "url": "https://x.example.com", "domains": []string{"x.example.com"}, "kind": "saml"}},
		{"domains on an oidc app", "domains", map[string]any{"name": "X", "url": "https://x.example.com", "domains": []string{"x.example.com"}, "kind": "oidc", "redirectUris": []string{"https://x.example.com/cb"}}},
		{"an unknown field", "secret", map[string]any{"name": "X", "url": "https://x.example.com", "domains": []string{"x.example.com"}, "secret": "s"}},
	} {
		status, _, body = do(t, "POST", apps, e2eAdminKey, c.body)
		wantDetail(t, c.what, wantError(t, c.what, status, body, 400, "ValidationError"), c.field)
	}

	// Update: only what is given changes; an empty list of groups lets
	// every active user in.
	status, _, body = do(t, "PUT", apps+"/grafana", e2eAdminKey, map[string]any{"name": "Dashboards", "groups": []string{}})
	wantStatus(t, "update grafana", status, 200, body)
	a = object(t, "grafana updated", body)
	if a["name"] != "Dashboards" || a["url"] != "https://grafana.example.com/" || len(listOf(t, "grafana", a, "groups")) != 0 || len(listOf(t, "grafana", a, "domains")) != 2 {
		t.Errorf("updated %v", a)
	}
	status, _, body = do(t, "PUT", apps+"/wiki", e2eAdminKey, map[string]any{"groups": []string{"ops"}})
	wantStatus(t, "wiki for ops", status, 200, body)

	// Editors and strangers are kept out.
	status, _, body = do(t, "POST", p.URL+"/api/admin/api-tokens", e2eAdminKey, map[string]any{"name": "editor", "role": "editor"})
	wantStatus(t, "editor key", status, 201, body)
	editorKey, _ := object(t, "editor key", body)["secret"].(string)
	status, _, body = do(t, "GET", apps, editorKey, nil)
	wantError(t, "an Editor lists apps", status, body, 403, "NoAccessError")
	status, _, body = do(t, "POST", apps, editorKey, map[string]any{"name": "E", "url": "https://e.example.com", "domains": []string{"e.example.com"}})
	wantError(t, "an Editor creates an app", status, body, 403, "NoAccessError")
	status, _, body = do(t, "DELETE", apps+"/wiki", "", nil)
	wantError(t, "nobody deletes an app", status, body, 401, "AuthenticationRequired")

	// A group that is an app's only one cannot go: the app would then let
	// everyone in. One of several goes, and leaves the app.
	status, _, body = do(t, "DELETE", p.URL+"/api/admin/groups/ops", e2eAdminKey, nil)
	wantError(t, "delete wiki's only group", status, body, 409, "NameExistsError", "wiki")
	status, _, body = do(t, "PUT", apps+"/wiki", e2eAdminKey, map[string]any{"groups": []string{"ops", "dev"}})
	wantStatus(t, "wiki for ops and dev", status, 200, body)
	status, _, body = do(t, "DELETE", p.URL+"/api/admin/groups/ops", e2eAdminKey, nil)
	wantStatus(t, "delete ops", status, 200, body)

	// Apps outlive a restart.
	p.Stop()
	p = startServer(t, dir)
	apps = p.URL + "/api/admin/apps"
	status, _, body = do(t, "GET", apps+"/wiki", e2eAdminKey, nil)
	wantStatus(t, "wiki after restart", status, 200, body)
	if got := listOf(t, "wiki", object(t, "wiki", body), "groups"); fmt.Sprint(got) != "[dev]" {
		t.Errorf("wiki groups after deleting ops: %v", got)
	}
	status, _, body = do(t, "GET", apps, e2eAdminKey, nil)
	wantStatus(t, "list", status, 200, body)
	list, _ := object(t, "list", body)["apps"].([]any)
	if len(list) != 2 {
		t.Fatalf("%d apps, want 2: %s", len(list), body)
	}

	// Delete frees the domains.
	status, _, body = do(t, "DELETE", apps+"/grafana", e2eAdminKey, nil)
	wantStatus(t, "delete grafana", status, 200, body)
	status, _, body = do(t, "GET", apps+"/grafana", e2eAdminKey, nil)
	wantError(t, "deleted app", status, body, 404, "NotFoundError")
	status, _, body = do(t, "PUT", apps+"/wiki", e2eAdminKey, map[string]any{"domains": []string{"*.tools.example.com", "grafana.example.com"}})
	wantStatus(t, "wiki takes the freed domains", status, 200, body)

	// Every change is in the audit log.
	for typ, want := range map[string]int{"app-created": 2, "app-updated": 4, "app-deleted": 1} {
		status, _, body = do(t, "GET", p.URL+"/api/admin/events?type="+typ, e2eAdminKey, nil)
		wantStatus(t, "events "+typ, status, 200, body)
		events, _ := object(t, "events", body)["events"].([]any)
		if len(events) != want {
			t.Errorf("%d %s events, want %d", len(events), typ, want)
		}
	}
}

// TestE2EAppMayNotClaimOwnHost: the binary passes server.base_url's host
// to the store, so no app can put invited's own login page behind the gate.
func TestE2EAppMayNotClaimOwnHost(t *testing.T) {
	t.Parallel()
	p := startServer(t, t.TempDir(), "INVITED_SERVER_BASE_URL=https://Auth.Example.com")
	status, _, body := do(t, "POST", p.URL+"/api/admin/apps", e2eAdminKey, map[string]any{
		"name": "Loop", "url": "https://auth.example.com", "domains": []string{"wiki.example.com", "auth.example.com"}})
	e := wantError(t, "app on invited's own host", status, body, 400, "ValidationError", "own host")
	wantDetail(t, "app on invited's own host", e, "domains[1]")
	// A wildcard above it stays allowed.
	status, _, body = do(t, "POST", p.URL+"/api/admin/apps", e2eAdminKey, map[string]any{
		"name": "Tools", "url": "https://wiki.example.com", "domains": []string{"*.example.com"}})
	wantStatus(t, "wildcard above invited's host", status, 201, body)
}
