package server

import (
	"strings"
	"testing"

	"invited/db"
)

// TestDeadLinkIsSaidBeforeABadBody: the JSON signup and accept routes
// read the body before their one domain call, yet a link or invitation
// that cannot be used is still what a bad body is answered with.
func TestDeadLinkIsSaidBeforeABadBody(t *testing.T) {
	ts := mustServer(t)
	admin := db.Actor{Kind: "apikey", Name: "t", Role: db.RoleAdmin}
	link := ts.mustLink(t, db.NewSignupToken{})
	off := false
	if _, err := ts.store.UpdateSignupToken(admin, link.Secret, db.SignupTokenUpdate{Enabled: &off}); err != nil {
		t.Fatal(err)
	}
	inv := ts.mustInvitation(t)
	if _, err := ts.store.RevokeInvitation(admin, inv.ID); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, path, body, says string }{
		{"disabled link, broken JSON", "/invite/" + link.Secret + "/signup", `{"email":`, "disabled"},
		{"disabled link, unknown field", "/invite/" + link.Secret + "/signup", `{"mail":"a@example.com"}`, "disabled"},
		{"unknown link, broken JSON", "/invite/" + strings.Repeat("0", 32) + "/signup", `[`, "no signup link"},
		{"revoked invitation, broken JSON", "/invitations/" + inv.Token + "/accept", `{"name":`, "withdrawn"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := ts.call(t, "POST", tc.path, "", tc.body)
			if msg, _ := body["message"].(string); resp.StatusCode != 400 || !strings.Contains(msg, tc.says) {
				t.Errorf("%d %v, want 400 saying %q", resp.StatusCode, body, tc.says)
			}
		})
	}
	// A live link with a bad body is answered about the body.
	live := ts.mustLink(t, db.NewSignupToken{})
	resp, body := ts.call(t, "POST", "/invite/"+live.Secret+"/signup", "", `{"email":`)
	if msg, _ := body["message"].(string); resp.StatusCode != 400 || !strings.Contains(msg, "JSON") {
		t.Errorf("live link, broken JSON: %d %v", resp.StatusCode, body)
	}
}
