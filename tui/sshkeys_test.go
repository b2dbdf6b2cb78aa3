package tui

import (
	"crypto/ed25519"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"invited/db"
)

// S on a user lists their SSH keys by fingerprint, adds one from an
// authorized_keys line, and removes one by its number; a Viewer is told
// they may hold none.
func TestUserSSHKeysByKeystrokes(t *testing.T) {
	h := newHarness(t, true)
	h.keys("3", "S")
	h.contains("only Admins and Editors may hold SSH keys")
	editor := db.RoleEditor
	if _, err := h.store.UpdateUser(testAdmin, 1, db.UserUpdate{RootRole: &editor}); err != nil {
		t.Fatal(err)
	}
	h.keys("ctrl+r", "S")
	h.contains("SSH keys of ada@example.com", "No SSH keys yet.")
	pub, _, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	pk, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	h.typeText(strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pk))) + " ada@laptop")
	h.keys("ctrl+s")
	fp := ssh.FingerprintSHA256(pk)
	h.contains("Added the SSH key ada@laptop")
	// The status line is wider than the terminal and wraps where the
	// fingerprint allows (at a space or a "/"), so it is read without
	// its line breaks and padding.
	if flat, want := strings.Join(strings.Fields(h.view()), ""), fp+")toada@example.com."; !strings.Contains(flat, want) {
		t.Fatalf("status lacks %q:\n%s", fp+") to ada@example.com.", h.view())
	}
	keys, err := h.store.SSHKeys(testAdmin, 1)
	if err != nil || len(keys) != 1 || keys[0].Fingerprint != fp {
		t.Fatalf("keys after adding: %+v %v", keys, err)
	}
	h.keys("S")
	h.contains("#1 ada@laptop", "never used")
	h.keys("tab", "tab")
	h.typeText("1")
	h.keys("ctrl+s")
	h.contains("Removed SSH key #1 of ada@example.com.")
	if keys, _ := h.store.SSHKeys(testAdmin, 1); len(keys) != 0 {
		t.Fatalf("keys after removing: %+v", keys)
	}
	events, _, _ := h.store.ListEvents(db.EventSSHKeyRemoved, 0, 10)
	if len(events) != 1 || events[0].CreatedBy != "tui:root" {
		t.Fatalf("removal events: %+v", events)
	}
}
