package server

import (
	"regexp"
	"testing"
)

// Validate reads links through the store's cache; every change made
// through the API is seen by the very next validate: a PUT that disables
// the link, one that enables it again, a signup that uses it up, a DELETE.
func TestValidateSeesLinkChangesAtOnce(t *testing.T) {
	ts := mustServer(t)
	resp, body := ts.call(t, "POST", "/api/admin/invite-link/tokens", "Bearer "+testKey,
		`{"name":"team","expiresAt":"2099-01-01T00:00:00Z","maxUses":1}`)
	if resp.StatusCode != 201 {
		t.Fatalf("create link: %d %v", resp.StatusCode, body)
	}
	secret := body["secret"].(string)
	tokenPath := "/api/admin/invite-link/tokens/" + secret
	validate := func(want int, wantMessage string) {
		t.Helper()
		for range 2 { // the second answer comes from the cache
			resp, body := ts.call(t, "GET", "/invite/"+secret+"/validate", "", "")
			if resp.StatusCode != want {
				t.Fatalf("validate: %d %v, want %d", resp.StatusCode, body, want)
			}
			if msg, _ := body["message"].(string); wantMessage != "" && !regexp.MustCompile(wantMessage).MatchString(msg) {
				t.Fatalf("validate message %q, want it to match %q", msg, wantMessage)
			}
		}
	}
	put := func(body string) {
		t.Helper()
		if resp, out := ts.call(t, "PUT", tokenPath, "Bearer "+testKey, body); resp.StatusCode != 200 {
			t.Fatalf("PUT %s: %d %v", body, resp.StatusCode, out)
		}
	}

	validate(200, "")
	put(`{"enabled":false}`)
	validate(400, "disabled")
	put(`{"enabled":true}`)
	validate(200, "")

	resp, body = ts.call(t, "POST", "/invite/"+secret+"/signup", "",
		`{"email":"ada@example.com","name":"Ada","username":"ada","password":"correct horse battery staple 42"}`)
	if resp.StatusCode != 200 {
		t.Fatalf("signup: %d %v", resp.StatusCode, body)
	}
	validate(400, "used once")
	put(`{"maxUses":2}`)
	validate(200, "")

	if resp, out := ts.call(t, "DELETE", tokenPath, "Bearer "+testKey, ""); resp.StatusCode != 200 {
		t.Fatalf("DELETE: %d %v", resp.StatusCode, out)
	}
	validate(400, "no signup link")
}

// Request ids the server makes are 16 hex digits, and differ.
func TestRequestIDsMade(t *testing.T) {
	ts := mustServer(t)
	seen := map[string]bool{}
	for range 20 {
		resp, _ := ts.call(t, "GET", "/health", "", "")
		id := resp.Header.Get("X-Request-Id")
		if !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(id) {
			t.Fatalf("request id %q is not 16 hex digits", id)
		}
		if seen[id] {
			t.Fatalf("request id %q made twice", id)
		}
		seen[id] = true
	}
}
