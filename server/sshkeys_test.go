package server

import (
	"crypto/ed25519"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"invited/db"
)

// newSSHKeyLine makes a fresh ed25519 public key as an authorized_keys
// line.
func newSSHKeyLine(t *testing.T) string {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	pk, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pk))) + " someone@host"
}

// An Editor manages their own SSH keys and nobody else's (not an Admin's,
// not another Editor's); an Admin manages any Admin's or Editor's, and a
// Viewer cannot hold one. Keys are shown by fingerprint.
func TestSSHKeysLowerRole(t *testing.T) {
	ts := mustServer(t)
	admin := ts.mustUser(t, db.RoleAdmin)
	editor := ts.mustUser(t, db.RoleEditor)
	other := ts.mustUser(t, db.RoleEditor)
	viewer := ts.mustUser(t, db.RoleViewer)
	edCookie := ts.login(t, editor.Username, testPassword)
	adminKey := "key:Bearer " + testKey
	path := func(id uint64) string { return fmt.Sprintf("/api/admin/user-admin/%d/ssh-keys", id) }
	body := func() string { return fmt.Sprintf(`{"name":"laptop","key":%q}`, newSSHKeyLine(t)) }

	for _, target := range []db.User{admin, other} {
		if resp, raw := ts.callAs(t, edCookie, "POST", path(target.ID), body()); resp.StatusCode != 403 {
			t.Fatalf("an Editor added a key to %s: %d %s", target.RootRole.Name(), resp.StatusCode, raw)
		}
		if resp, raw := ts.callAs(t, edCookie, "GET", path(target.ID), ""); resp.StatusCode != 403 {
			t.Fatalf("an Editor listed the keys of %s: %d %s", target.RootRole.Name(), resp.StatusCode, raw)
		}
	}
	adminsKey, err := ts.store.AddSSHKey(db.SystemActor, admin.ID, "admin", newSSHKeyLine(t))
	if err != nil {
		t.Fatal(err)
	}
	if resp, raw := ts.callAs(t, edCookie, "DELETE", fmt.Sprintf("%s/%d", path(admin.ID), adminsKey.ID), ""); resp.StatusCode != 403 {
		t.Fatalf("an Editor removed an Admin's key: %d %s", resp.StatusCode, raw)
	}
	if resp, raw := ts.callAs(t, adminKey, "POST", path(viewer.ID), body()); resp.StatusCode != 400 || !strings.Contains(raw, "Viewer") {
		t.Fatalf("a key for a Viewer: %d %s", resp.StatusCode, raw)
	}
	line := newSSHKeyLine(t)
	resp, raw := ts.callAs(t, edCookie, "POST", path(editor.ID), fmt.Sprintf(`{"key":%q}`, line))
	if resp.StatusCode != 201 || !strings.Contains(raw, `"fingerprint":"SHA256:`) || !strings.Contains(raw, `"name":"someone@host"`) {
		t.Fatalf("an Editor's own key: %d %s", resp.StatusCode, raw)
	}
	if resp, raw := ts.callAs(t, adminKey, "POST", path(admin.ID), fmt.Sprintf(`{"name":"dup","key":%q}`, line)); resp.StatusCode != 409 {
		t.Fatalf("one key on two users: %d %s", resp.StatusCode, raw)
	}
	if resp, raw := ts.callAs(t, adminKey, "POST", path(admin.ID), `{"name":"bad","key":"ssh-ed25519 nope"}`); resp.StatusCode != 400 || !strings.Contains(raw, "key") {
		t.Fatalf("a bad key: %d %s", resp.StatusCode, raw)
	}
}
