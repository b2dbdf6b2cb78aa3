package tui

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"invited/db"
)

// webhookSecretShown is the signing secret as the result box shows it,
// on the line below its label.
func webhookSecretShown(t *testing.T, view string) string {
	t.Helper()
	lines := strings.Split(view, "\n")
	for i, l := range lines {
		if strings.TrimSpace(l) == "Signing secret:" && i+1 < len(lines) {
			return strings.TrimSpace(lines[i+1])
		}
	}
	t.Fatalf("no signing secret in the view:\n%s", view)
	return ""
}

// A webhook made by keystrokes: the store's refusals show in the form,
// then the secret is shown once, the store has the webhook, and the audit
// log names the TUI's actor.
func TestWebhookCreateByKeystrokes(t *testing.T) {
	h := newHarness(t, true)
	h.keys("9")
	h.contains("0 webhooks", "l deliveries")
	h.keys("n")
	h.contains("New webhook")
	h.typeText("ftp://hooks.example.com")
	h.keys("tab")
	h.contains("Comma separated, at least one of: user.created, user.updated,", "invitation.revoked.")
	h.keys("ctrl+s")
	h.contains("must start with http or https", "name at least one event")
	if list, _ := h.store.Webhooks(); len(list) != 0 {
		t.Fatalf("a webhook was made from a bad form: %+v", list)
	}
	h.golden("form")
	// A new form: a good address, and an event that does not exist.
	h.keys("esc", "n")
	h.typeText("https://hooks.example.com/in")
	h.keys("tab")
	h.typeText("user.created, user.exploded")
	h.keys("ctrl+s")
	h.contains(`"user.exploded" is not an event`)
	h.keys("ctrl+u")
	h.typeText("user.created, invitation.created")
	h.keys("tab")
	h.typeText("CRM sync")
	h.keys("ctrl+s")
	h.contains("Created the webhook 1 (https://hooks.example.com/in) with its signing secret.",
		"Copy it now; it is shown only this once.")
	h.golden("secret")
	secret := webhookSecretShown(t, h.view())
	if !strings.HasPrefix(secret, "whsec_") {
		t.Fatalf("secret shown: %q", secret)
	}
	list, err := h.store.Webhooks()
	if err != nil || len(list) != 1 || list[0].URL != "https://hooks.example.com/in" || list[0].Description != "CRM sync" ||
		strings.Join(list[0].Events, ",") != "user.created,invitation.created" {
		t.Fatalf("stored: %+v %v", list, err)
	}
	h.keys("c")
	h.contains("copied: " + secret)
	// Closed, and the status line moved on: the secret is gone.
	h.keys("esc", "ctrl+r")
	h.lacks(secret)
	h.contains("1 webhook", "CRM sync")
	h.keys("enter")
	h.contains("user.created, invitation.created", "shown only when it was created", "tui:root")
	h.lacks(secret)
	h.keys("esc")

	events, _, err := h.store.ListEvents(db.EventWebhookCreated, 0, 10)
	if err != nil || len(events) != 1 || events[0].CreatedBy != testAdmin.String() {
		t.Fatalf("audit: %+v %v", events, err)
	}
	if strings.Contains(events[0].CreatedBy+" "+strconv.Quote(events[0].ObjectID), secret) {
		t.Fatal("the audit event holds the secret")
	}
}

// d asks first; n keeps the webhook, y deletes it.
func TestWebhookDeleteAsksFirst(t *testing.T) {
	h := newHarness(t, true)
	w, err := h.store.CreateWebhook(testAdmin, db.NewWebhook{URL: "https://h.example.com/x", Events: []string{db.WebhookUserCreated}})
	if err != nil {
		t.Fatal(err)
	}
	h.keys("9", "d")
	h.contains("Delete the webhook 1 (https://h.example.com/x)?")
	h.keys("n")
	if list, _ := h.store.Webhooks(); len(list) != 1 {
		t.Fatal("deleted without a yes")
	}
	h.keys("d", "y")
	h.contains("Deleted the webhook 1 (https://h.example.com/x).", "0 webhooks")
	if list, _ := h.store.Webhooks(); len(list) != 0 {
		t.Fatalf("still there: %+v", list)
	}
	events, _, err := h.store.ListEvents(db.EventWebhookDeleted, 0, 10)
	if err != nil || len(events) != 1 || events[0].CreatedBy != testAdmin.String() || events[0].ObjectID != strconv.FormatUint(w.ID, 10) {
		t.Fatalf("audit: %+v %v", events, err)
	}
}

// l shows the webhook's deliveries: none at first, then the one a new
// invitation queued.
func TestWebhookDeliveries(t *testing.T) {
	h := newHarness(t, true)
	if _, err := h.store.CreateWebhook(testAdmin, db.NewWebhook{URL: "https://h.example.com/x", Events: []string{db.WebhookInvitationCreated}}); err != nil {
		t.Fatal(err)
	}
	h.keys("9", "l")
	h.contains("Deliveries of webhook 1", "No deliveries yet")
	h.keys("esc")
	if _, err := h.store.CreateInvitation(testAdmin, db.NewInvitation{Email: "zoe@example.com", DefaultTTL: 24 * time.Hour}); err != nil {
		t.Fatal(err)
	}
	h.keys("l")
	h.contains("Deliveries of webhook 1", "Its deliveries, newest first.", "Last answer; next")
	if r := h.row("invitation.created"); !strings.Contains(r, "pending") || !strings.Contains(r, "next just now") {
		t.Fatalf("delivery row: %q", r)
	}
	h.golden("deliveries")
	h.keys("esc")
	h.contains("1 webhook")

	// After a refused attempt: the answer and when the next one is due.
	ds, err := h.store.WebhookDeliveries(1, 10)
	if err != nil || len(ds) != 1 {
		t.Fatalf("deliveries: %+v %v", ds, err)
	}
	if err := h.store.RecordWebhookAttempt(ds[0].ID, db.WebhookAttempt{At: fixedNow, StatusCode: 503}, fixedNow.Add(5*time.Minute), false); err != nil {
		t.Fatal(err)
	}
	h.keys("l")
	if r := h.row("invitation.created"); !strings.Contains(r, "pending   1") || !strings.Contains(r, "503; next in 5 minutes") {
		t.Fatalf("delivery row after an attempt: %q", r)
	}
}
