package adminrpc

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"invited/db"
	"invited/tui"
)

// Webhooks work the same over the admin socket as on the store: the
// secret comes back once, listings hold none, a change the webhook
// subscribes to queues a delivery that the socket lists, a bad address
// keeps its code, and deleting it ends its deliveries too.
func TestBackendWebhooks(t *testing.T) {
	for name, open := range map[string]func(*testing.T) (tui.Backend, *db.Store){
		"socket": backendOverSocket, "direct": backendDirect,
	} {
		t.Run(name, func(t *testing.T) {
			b, store := open(t)
			ctx := context.Background()
			admin := db.Actor{Kind: "tui", Name: "root", Role: db.RoleAdmin}
			ev := []string{db.WebhookInvitationCreated}
			for what, in := range map[string]db.NewWebhook{
				"a bad scheme":            {URL: "ftp://x.example.com", Events: ev},
				"a newline in the URL":    {URL: "https://x.example.com/\nX-Evil: 1", Events: ev},
				"a user in the URL":       {URL: "https://u:p@x.example.com/", Events: ev},
				"an oversize URL":         {URL: "https://x.example.com/" + strings.Repeat("a", db.MaxWebhookURLLength), Events: ev},
				"no events":               {URL: "https://x.example.com/"},
				"an unknown event":        {URL: "https://x.example.com/", Events: []string{"user.created", "all"}},
				"a NUL in the events":     {URL: "https://x.example.com/", Events: []string{"user.created\x00"}},
				"a control character":     {URL: "https://x.example.com/", Events: ev, Description: "a\x1b[2Jb"},
				"an oversize description": {URL: "https://x.example.com/", Events: ev, Description: strings.Repeat("d", 10000)},
			} {
				_, err := b.CreateWebhook(ctx, admin, in)
				wantCode(t, what, err, db.EINVALID)
			}
			w, err := b.CreateWebhook(ctx, admin, db.NewWebhook{URL: "https://hooks.example.com/in", Events: []string{db.WebhookInvitationCreated}, Description: "CRM"})
			if err != nil || w.ID == 0 || !strings.HasPrefix(w.Secret, "whsec_") || w.Description != "CRM" {
				t.Fatalf("create: %+v %v", w, err)
			}
			list, err := b.ListWebhooks(ctx)
			if err != nil || len(list) != 1 || list[0].ID != w.ID || list[0].Secret != "" || !slices.Equal(list[0].Events, []string{db.WebhookInvitationCreated}) {
				t.Fatalf("list: %+v %v", list, err)
			}
			if _, err := b.CreateInvitation(ctx, admin, db.NewInvitation{Email: "ann@example.com", Role: db.RoleViewer, DefaultTTL: 24 * time.Hour}); err != nil {
				t.Fatal(err)
			}
			ds, err := b.ListWebhookDeliveries(ctx, w.ID, 10)
			if err != nil || len(ds) != 1 || ds[0].Event != db.WebhookInvitationCreated || ds[0].State != db.WebhookPending ||
				ds[0].Invitation == nil || ds[0].Invitation.Email != "ann@example.com" {
				t.Fatalf("deliveries: %+v %v", ds, err)
			}
			_, err = b.ListWebhookDeliveries(ctx, w.ID+1, 10)
			wantCode(t, "deliveries of an unknown webhook", err, db.ENOTFOUND)
			if err := b.DeleteWebhook(ctx, admin, w.ID); err != nil {
				t.Fatal(err)
			}
			wantCode(t, "deleting it again", b.DeleteWebhook(ctx, admin, w.ID), db.ENOTFOUND)
			if list, _ := store.Webhooks(); len(list) != 0 {
				t.Fatalf("still there: %+v", list)
			}
			events, _, err := store.ListEvents(db.EventWebhookCreated, 0, 10)
			if err != nil || len(events) != 1 || events[0].CreatedBy != admin.String() {
				t.Fatalf("audit: %+v %v", events, err)
			}
		})
	}
}
