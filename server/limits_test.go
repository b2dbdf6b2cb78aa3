package server

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestErrorsQuoteClientInputShortly sends requests whose mistakes are
// huge values (a field name, a domain, a method of 100 KB): the answers
// and the log still name them, but only their start, so neither grows
// with the request.
func TestErrorsQuoteClientInputShortly(t *testing.T) {
	ts := mustServer(t)
	huge := strings.Repeat("a", 100_000)
	rows := []struct{ name, method, path, body, field string }{
		{"unknown field", "POST", "/api/admin/invite-link/tokens", `{"name":"n","expiresAt":"2099-01-01T00:00:00Z","` + huge + `":1}`, "aaaa"},
		{"bad domain", "POST", "/api/admin/invite-link/tokens", `{"name":"n","expiresAt":"2099-01-01T00:00:00Z","allowedDomains":["` + huge + `"]}`, "allowedDomains"},
		{"bad time", "POST", "/api/admin/invite-link/tokens", `{"name":"n","expiresAt":"` + huge + `"}`, "expiresAt"},
		{"bad ttl", "POST", "/v1/userInvitations", `{"invitedEmail":"a@example.com","inviter":"Ops","ttl":"` + huge + `"}`, "ttl"},
		{"DoiT bad email", "POST", doitInvitePath, `{"email":"` + huge + `"}`, ""},
		{"long method", strings.Repeat("M", 100_000), "/health", "", ""},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			resp, raw := ts.callAs(t, "key:Bearer "+testKey, row.method, row.path, row.body)
			if resp.StatusCode < 400 || resp.StatusCode >= 500 {
				t.Fatalf("status %d, want a 4xx: %.300s", resp.StatusCode, raw)
			}
			if len(raw) > 3000 {
				t.Fatalf("the answer is %d bytes: it quotes the whole request", len(raw))
			}
			var body map[string]any
			if err := json.Unmarshal([]byte(raw), &body); err != nil {
				t.Fatalf("answer is not JSON: %.300s", raw)
			}
			if row.field != "" && !strings.Contains(raw, row.field) {
				t.Errorf("the answer does not name %s: %s", row.field, raw)
			}
		})
	}
	if logs := ts.logs.String(); len(logs) > 50_000 {
		t.Errorf("the log holds %d bytes after six requests: it quotes them whole", len(logs))
	}
}
