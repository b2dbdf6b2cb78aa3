package sshadmin

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"invited/db"
	"invited/tui"
)

// An Editor's backend keeps links and invitations and refuses what the
// API refuses Editors; an Admin's is the backend itself.
func TestForRole(t *testing.T) {
	store, err := db.Open(filepath.Join(t.TempDir(), "invited.db"), db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	ctx := context.Background()
	editor := db.Actor{Kind: "ssh", Name: "ed", Role: db.RoleEditor}
	b := ForRole(tui.DirectBackend(store), db.RoleEditor)
	if _, err := b.CreateSignupToken(ctx, editor, db.NewSignupToken{Name: "x", ExpiresAt: time.Now().Add(time.Hour), Role: db.RoleViewer}); err != nil {
		t.Fatalf("an Editor's link: %v", err)
	}
	if links, err := b.ListSignupTokens(ctx, editor); err != nil || len(links) != 1 {
		t.Fatalf("an Editor's links: %v, %v", links, err)
	}
	if _, err := b.ListOrganizations(ctx); err != nil {
		t.Fatalf("an Editor reads organizations: %v", err)
	}
	for name, call := range map[string]func() error{
		"users":    func() error { _, _, err := b.ListUsers(ctx, 0, 10); return err },
		"api keys": func() error { _, err := b.ListAPIKeys(ctx); return err },
		"new key":  func() error { _, _, err := b.CreateAPIKey(ctx, editor, "k", db.RoleEditor); return err },
		"groups":   func() error { _, err := b.ListGroups(ctx); return err },
		"apps":     func() error { _, err := b.ListApps(ctx); return err },
		"events":   func() error { _, _, err := b.ListEvents(ctx, "", 0, 10); return err },
		"delete":   func() error { return b.DeleteUser(ctx, editor, 1) },
		"webhooks": func() error { _, err := b.ListWebhooks(ctx); return err },
		"new webhook": func() error {
			_, err := b.CreateWebhook(ctx, editor, db.NewWebhook{URL: "https://h.example.com", Events: db.WebhookEvents})
			return err
		},
		"delete webhook": func() error { return b.DeleteWebhook(ctx, editor, 1) },
		"deliveries":     func() error { _, err := b.ListWebhookDeliveries(ctx, 1, 10); return err },
	} {
		if db.ErrorCode(call()) != db.EFORBIDDEN {
			t.Errorf("%s: an Editor was not refused", name)
		}
	}
	if list, _ := store.Webhooks(); len(list) != 0 {
		t.Errorf("an Editor made a webhook: %+v", list)
	}
	if n, err := b.CountPendingUsers(ctx); n != 0 || err != nil {
		t.Errorf("pending count for an Editor: %d, %v", n, err)
	}
	if _, ok := ForRole(tui.DirectBackend(store), db.RoleAdmin).(editorBackend); ok {
		t.Error("an Admin got the Editor's backend")
	}
}
