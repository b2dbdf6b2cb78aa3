package server

import (
	"encoding/json"
	"strings"
	"testing"

	"invited/db"
)

// TestStoreChangePassword: a changed password ends every session of the
// user, is audited, and no secret (the hash, either password, a session)
// appears anywhere in the events, as stored or as the API shows them.
func TestStoreChangePassword(t *testing.T) {
	ts := mustServer(t)
	u := ts.mustUser(t, db.RoleViewer)
	a, b := ts.login(t, u.Email, testPassword), ts.login(t, u.Email, testPassword)
	actor := userActor(u)
	if err := ts.store.ChangePassword(actor, u.ID, "plain text"); db.ErrorCode(err) != db.EINVALID {
		t.Errorf("a non-hash: %v, want EINVALID", err)
	}
	if err := ts.store.ChangePassword(actor, 999, "$argon2id$x"); db.ErrorCode(err) != db.ENOTFOUND {
		t.Errorf("unknown user: %v, want ENOTFOUND", err)
	}
	hash, err := ts.hasher.Hash(t.Context(), "new pass phrase here")
	if err != nil {
		t.Fatal(err)
	}
	if err := ts.store.ChangePassword(actor, u.ID, hash); err != nil {
		t.Fatal(err)
	}
	ts.login(t, u.Email, "new pass phrase here")
	for _, cookie := range []string{a, b} {
		if _, err := ts.store.AuthenticateSession(strings.TrimPrefix(cookie, sessionCookie+"=")); db.ErrorCode(err) != db.EUNAUTHORIZED {
			t.Errorf("a session outlived the password change: %v", err)
		}
	}
	events, _, _ := ts.store.ListEvents(db.EventPasswordChanged, 0, 10)
	if len(events) != 1 || events[0].Data["sessionsEnded"] != float64(2) {
		t.Errorf("events %+v", events)
	}
	// No secret anywhere in the events, as stored or as the API shows them.
	stored, err := json.Marshal(events)
	if err != nil {
		t.Fatal(err)
	}
	resp, answer := ts.call(t, "GET", "/api/admin/events?type="+db.EventPasswordChanged, testKey, "")
	if resp.StatusCode != 200 || len(answer["events"].([]any)) != 1 {
		t.Fatalf("events over the API: %d %v", resp.StatusCode, answer)
	}
	shown, _ := json.Marshal(answer)
	for _, text := range []string{string(stored), string(shown)} {
		for _, secret := range []string{hash, "argon2", "new pass phrase here", testPassword,
			strings.TrimPrefix(a, sessionCookie+"="), strings.TrimPrefix(b, sessionCookie+"=")} {
			if strings.Contains(text, secret) {
				t.Errorf("an event holds the secret %q: %s", secret, text)
			}
		}
	}
}
