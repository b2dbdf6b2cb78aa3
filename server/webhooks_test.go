package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"invited/db"
)

type countPoker struct{ n atomic.Int64 }

func (p *countPoker) Poke() { p.n.Add(1) }

func TestWebhookAPIHostileInput(t *testing.T) {
	ts := mustServer(t)
	auth := "Bearer " + testKey
	for _, tc := range []struct{ body, field string }{
		{`{"url":"","events":["user.created"]}`, "url"},
		{`{"url":"gopher://example.com/","events":["user.created"]}`, "url"},
		{`{"url":"file:///etc/passwd","events":["user.created"]}`, "url"},
		{`{"url":"https://admin:hunter2@example.com/","events":["user.created"]}`, "url"},
		{`{"url":"https://example.com/a b","events":["user.created"]}`, "url"},
		{`{"url":"https://example.com/\u0000","events":["user.created"]}`, "url"},
		{`{"url":"https://example.com/` + strings.Repeat("x", 2000) + `","events":["user.created"]}`, "url"},
		{`{"url":"https://example.com/","events":[]}`, "events"},
		{`{"url":"https://example.com/","events":["*"]}`, "events"},
		{`{"url":"https://example.com/","events":["user.created"],"description":"` + strings.Repeat("d", 500) + `"}`, "description"},
	} {
		resp, body := ts.call(t, "POST", "/api/admin/webhooks", auth, tc.body)
		details, _ := body["details"].([]any)
		if resp.StatusCode != 400 || len(details) == 0 || details[0].(map[string]any)["path"] != tc.field {
			t.Errorf("%.80s: %d %v; want 400 naming %s", tc.body, resp.StatusCode, body, tc.field)
		}
	}
	for _, body := range []string{`{"url":"https://example.com/","events":["user.created"],"secret":"whsec_mine"}`,
		`{"url":["https://example.com/"],"events":["user.created"]}`, `{"url":"https://example.com/","events":"user.created"}`, `not json`} {
		if resp, out := ts.call(t, "POST", "/api/admin/webhooks", auth, body); resp.StatusCode != 400 {
			t.Errorf("%s: %d %v, want 400", body, resp.StatusCode, out)
		}
	}
	for _, path := range []string{"/api/admin/webhooks/abc", "/api/admin/webhooks/0", "/api/admin/webhooks/-1", "/api/admin/webhooks/99999999999999999999"} {
		if resp, out := ts.call(t, "DELETE", path, auth, ""); resp.StatusCode != 404 {
			t.Errorf("DELETE %s: %d %v, want 404", path, resp.StatusCode, out)
		}
		if resp, out := ts.call(t, "GET", path+"/deliveries", auth, ""); resp.StatusCode != 404 {
			t.Errorf("GET %s/deliveries: %d %v, want 404", path, resp.StatusCode, out)
		}
	}
	resp, hook := ts.call(t, "POST", "/api/admin/webhooks", auth, `{"url":"https://example.com/in","events":["user.created"]}`)
	if resp.StatusCode != 201 {
		t.Fatalf("create: %d %v", resp.StatusCode, hook)
	}
	id := fmt.Sprint(hook["id"])
	for _, q := range []string{"?limit=0", "?limit=201", "?limit=x", "?offset=1", "?limit=1&limit=2"} {
		if resp, out := ts.call(t, "GET", "/api/admin/webhooks/"+id+"/deliveries"+q, auth, ""); resp.StatusCode != 400 {
			t.Errorf("deliveries%s: %d %v, want 400", q, resp.StatusCode, out)
		}
	}
	// The secret is in the create answer only: not in the list, not in
	// the audit log.
	secret := hook["secret"].(string)
	for _, path := range []string{"/api/admin/webhooks", "/api/admin/events"} {
		_, out := ts.call(t, "GET", path, auth, "")
		raw, _ := json.Marshal(out)
		if bytes.Contains(raw, []byte(strings.TrimPrefix(secret, "whsec_"))) {
			t.Errorf("%s shows the secret: %s", path, raw)
		}
	}
	_, events := ts.call(t, "GET", "/api/admin/events?type=webhook-created", auth, "")
	if list, _ := events["events"].([]any); len(list) != 1 {
		t.Errorf("webhook-created events: %v", events)
	}
}

// The server pokes the webhook worker after every request that may have
// changed something, and not after reads.
func TestWebhookWorkerPokedAfterWrites(t *testing.T) {
	poker := &countPoker{}
	ts := mustServerWith(t, func(o *Options) { o.Webhooks = poker })
	ts.call(t, "GET", "/api/admin/webhooks", "Bearer "+testKey, "")
	if n := poker.n.Load(); n != 0 {
		t.Errorf("%d pokes after a GET", n)
	}
	ts.link(t)
	if n := poker.n.Load(); n != 1 {
		t.Errorf("%d pokes after a POST, want 1", n)
	}
}

// The body is the API's shape of the user or invitation, the same bytes
// on every attempt, and never an invitation's token.
func TestWebhookBody(t *testing.T) {
	ts := mustServer(t)
	store := ts.store
	hook, err := store.CreateWebhook(db.SystemActor, db.NewWebhook{URL: "https://example.com/", Events: db.WebhookEvents})
	if err != nil {
		t.Fatal(err)
	}
	inv, err := store.CreateInvitation(db.SystemActor, db.NewInvitation{Email: "grace@example.com", DefaultTTL: time.Hour, Role: db.RoleEditor, DisableEmail: true, Inviter: "Ada"})
	if err != nil {
		t.Fatal(err)
	}
	resp, _ := ts.call(t, "POST", "/invite/"+ts.link(t)+"/signup", "", `{"email":"ada@example.com","name":"Ada","password":"violet-Tundra-Mosaic-47"}`)
	if resp.StatusCode != 200 {
		t.Fatalf("signup %d", resp.StatusCode)
	}
	list, err := store.WebhookDeliveries(hook.ID, 10)
	if err != nil || len(list) != 2 {
		t.Fatalf("%+v %v", list, err)
	}
	render := WebhookBody("https://id.example.com")
	for _, d := range list {
		a, err := render(d)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := render(d)
		if !bytes.Equal(a, b) {
			t.Errorf("two renders differ:\n%s\n%s", a, b)
		}
		var body struct {
			Type      string         `json:"type"`
			Timestamp string         `json:"timestamp"`
			Data      map[string]any `json:"data"`
		}
		if err := json.Unmarshal(a, &body); err != nil || body.Type != d.Event || body.Timestamp != db.FormatTime(d.Timestamp) {
			t.Errorf("body %s (%v)", a, err)
		}
		switch d.Event {
		case db.WebhookUserCreated:
			want, _ := json.Marshal(newUserResponse(*d.User))
			got, _ := json.Marshal(body.Data)
			var w, g map[string]any
			json.Unmarshal(want, &w)
			json.Unmarshal(got, &g)
			if fmt.Sprint(w) != fmt.Sprint(g) || g["email"] != "ada@example.com" {
				t.Errorf("user data %s, want %s", got, want)
			}
		case db.WebhookInvitationCreated:
			if body.Data["invitedEmail"] != "grace@example.com" || body.Data["invitationToken"] != "" || body.Data["invitationUri"] != "" ||
				bytes.Contains(a, []byte(inv.Token)) || body.Data["roleId"] != "2" {
				t.Errorf("invitation data %s", a)
			}
		default:
			t.Errorf("unexpected event %s", d.Event)
		}
	}
}
