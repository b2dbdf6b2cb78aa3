package db

import (
	"crypto/ed25519"
	"encoding/pem"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

// testSSHKey makes a fresh ed25519 public key and its authorized_keys line.
func testSSHKey(t *testing.T, comment string) (ssh.PublicKey, string) {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	pk, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return pk, strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pk))) + " " + comment
}

// Keys are added by the rules of who may (an Admin for any Admin or
// Editor, an Editor for themselves), unique across users, refused to
// Viewers, checked at login against the user's state now, and gone with
// their user.
func TestSSHKeys(t *testing.T) {
	s, clock := mustOpen(t)
	admin := mustMember(t, s, clock, "ada@example.com", "ada", RoleAdmin)
	ed := mustMember(t, s, clock, "ed@example.com", "ed", RoleEditor)
	ed2 := mustMember(t, s, clock, "eve@example.com", "eve", RoleEditor)
	viewer := mustMember(t, s, clock, "vic@example.com", "vic", RoleViewer)
	asAdmin, asEd := UserActor(admin), UserActor(ed)

	edPK, edLine := testSSHKey(t, "ed@laptop")
	k, err := s.AddSSHKey(asEd, ed.ID, "", edLine)
	if err != nil || k.Name != "ed@laptop" || k.Type != "ssh-ed25519" || k.Fingerprint != ssh.FingerprintSHA256(edPK) || k.UserID != ed.ID {
		t.Fatalf("add own key: %+v, %v", k, err)
	}
	if _, err := s.AddSSHKey(asAdmin, admin.ID, "again", edLine); ErrorCode(err) != ECONFLICT {
		t.Fatalf("one key on two users: %v", err)
	}
	_, other := testSSHKey(t, "x")
	wantCode(t, func() error { _, err := s.AddSSHKey(asEd, ed2.ID, "n", other); return err }(), EFORBIDDEN)
	wantCode(t, func() error { _, err := s.AddSSHKey(asEd, admin.ID, "n", other); return err }(), EFORBIDDEN)
	wantCode(t, func() error { _, err := s.AddSSHKey(UserActor(viewer), viewer.ID, "n", other); return err }(), EFORBIDDEN)
	wantCode(t, func() error { _, err := s.AddSSHKey(asAdmin, viewer.ID, "n", other); return err }(), EINVALID)
	wantCode(t, func() error { _, err := s.AddSSHKey(asAdmin, ed2.ID, "n", "ssh-rsa notakey"); return err }(), EINVALID)
	wantCode(t, func() error {
		_, err := s.AddSSHKey(asAdmin, ed2.ID, "", strings.Fields(other)[0]+" "+strings.Fields(other)[1])
		return err
	}(), EINVALID)
	wantCode(t, func() error { _, err := s.SSHKeys(asEd, ed2.ID); return err }(), EFORBIDDEN)
	if list, err := s.SSHKeys(asAdmin, ed.ID); err != nil || len(list) != 1 || list[0].ID != k.ID {
		t.Fatalf("list: %+v, %v", list, err)
	}

	// Over SSH Ed is still Ed: his own keys, and no disabling himself.
	asEdSSH := Actor{Kind: "ssh", ID: ed.ID, Name: "ed", Role: RoleEditor}
	if list, err := s.SSHKeys(asEdSSH, ed.ID); err != nil || len(list) != 1 {
		t.Fatalf("Ed's keys over SSH: %+v, %v", list, err)
	}
	asAdminSSH := Actor{Kind: "ssh", ID: admin.ID, Name: "ada", Role: RoleAdmin}
	if _, err := s.DisableUser(asAdminSSH, admin.ID); err == nil {
		t.Fatal("an Admin over SSH disabled herself")
	}

	// The authentication callback's check records nothing: anyone may
	// offer a public key without holding its private half.
	if u, err := s.SSHKeyUser(edPK); err != nil || u.ID != ed.ID {
		t.Fatalf("key check: %+v %v", u, err)
	}
	if list, _ := s.SSHKeys(asAdmin, ed.ID); len(list) != 1 || list[0].LastUsedAt != nil {
		t.Fatalf("after a key check the key reads as used: %+v", list)
	}
	u, used, err := s.SSHLogin(edPK)
	if err != nil || u.ID != ed.ID || used.LastUsedAt == nil {
		t.Fatalf("login: %+v %+v %v", u, used, err)
	}
	if list, _ := s.SSHKeys(asAdmin, ed.ID); len(list) != 1 || list[0].LastUsedAt == nil {
		t.Fatalf("after a login the key reads as unused: %+v", list)
	}
	unknown, _ := testSSHKey(t, "u")
	wantCode(t, func() error { _, _, err := s.SSHLogin(unknown); return err }(), EUNAUTHORIZED)
	wantCode(t, func() error { _, err := s.SSHKeyUser(unknown); return err }(), EUNAUTHORIZED)

	// Demoted to Viewer: the key stays, but opens nothing.
	viewerRole := RoleViewer
	if _, err := s.UpdateUser(asAdmin, ed.ID, UserUpdate{RootRole: &viewerRole}); err != nil {
		t.Fatal(err)
	}
	wantCode(t, func() error { _, _, err := s.SSHLogin(edPK); return err }(), EUNAUTHORIZED)
	wantCode(t, func() error { _, err := s.SSHKeyUser(edPK); return err }(), EUNAUTHORIZED)
	editorRole := RoleEditor
	if _, err := s.UpdateUser(asAdmin, ed.ID, UserUpdate{RootRole: &editorRole}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DisableUser(asAdmin, ed.ID); err != nil {
		t.Fatal(err)
	}
	wantCode(t, func() error { _, _, err := s.SSHLogin(edPK); return err }(), EUNAUTHORIZED)

	// Deleting the user frees the key for someone else.
	if err := s.DeleteUser(asAdmin, ed.ID); err != nil {
		t.Fatal(err)
	}
	wantCode(t, func() error { _, _, err := s.SSHLogin(edPK); return err }(), EUNAUTHORIZED)
	k2, err := s.AddSSHKey(asAdmin, admin.ID, "moved", edLine)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteSSHKey(asEd, admin.ID, k2.ID); ErrorCode(err) != EFORBIDDEN {
		t.Fatalf("an Editor removed an Admin's key: %v", err)
	}
	if err := s.DeleteSSHKey(asAdmin, admin.ID, k2.ID); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.DeleteSSHKey(asAdmin, admin.ID, k2.ID), ENOTFOUND)
	events, _, err := s.ListEvents(EventSSHKeyAdded, 0, 10)
	if err != nil || len(events) != 2 || events[0].CreatedBy == "" {
		t.Fatalf("events: %+v, %v", events, err)
	}
}

// Hostile and mistaken key lines are refused on "key", and a good one is
// read whatever whitespace surrounds it.
func TestParseSSHKeyHostile(t *testing.T) {
	pk, line := testSSHKey(t, "ada@laptop")
	_, other := testSSHKey(t, "ada@desk")
	_, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	fields := strings.Fields(line)
	for name, bad := range map[string]string{
		"empty":             "  ",
		"a private key":     string(pem.EncodeToMemory(block)),
		"options":           `command="/bin/sh",no-pty ` + line,
		"two lines":         line + "\n" + other,
		"a carriage return": line + "\r" + other,
		"garbage base64":    "ssh-ed25519 AAAA!!!! x",
		"the type alone":    "ssh-ed25519",
		"a wrong type":      "ssh-rsa " + fields[1],
		"too long":          line + " " + strings.Repeat("x", 17<<10),
		"a NUL":             "ssh-ed25519 \x00" + fields[1],
	} {
		if _, _, err := ParseSSHKey(bad); ErrorCode(err) != EINVALID || !strings.Contains(err.Error(), "key") {
			t.Errorf("%s: %v; want EINVALID on key", name, err)
		}
	}
	got, comment, err := ParseSSHKey("\t " + line + " \n")
	if err != nil || comment != "ada@laptop" || SSHFingerprint(got) != SSHFingerprint(pk) {
		t.Fatalf("a good line with whitespace: %v %q %v", got, comment, err)
	}
}
