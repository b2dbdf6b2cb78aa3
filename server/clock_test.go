package server

import (
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"invited/db"
)

// testClock is a store clock the test moves, for the rules of time
// (expiry), so that no test waits on the real clock.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *testClock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// mustServerOnClock is mustServer over a store whose clock is clock.
func mustServerOnClock(tb testing.TB, clock *testClock) *testServer {
	tb.Helper()
	store, err := db.Open(filepath.Join(tb.TempDir(), "clock.db"), db.Options{Now: clock.now})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { store.Close() })
	if _, err := store.EnsureAPIKey("admin", testKey); err != nil {
		tb.Fatal(err)
	}
	ts := mustServerWith(tb, func(o *Options) { o.Store = store })
	ts.store = store
	return ts
}

// TestInvitationExpiresOverTheAPI: an invitation past its expiry reads
// EXPIRED, is listed under that state only, cannot be accepted (the
// message says it expired), and its address may be invited again.
func TestInvitationExpiresOverTheAPI(t *testing.T) {
	clock := &testClock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	ts := mustServerOnClock(t, clock)
	resp, inv := ts.call(t, "POST", "/v1/userInvitations", testKey, `{"invitedEmail":"late@example.com","inviter":"Ada","ttl":"3600s"}`)
	if resp.StatusCode != 200 {
		t.Fatalf("create: %d %v", resp.StatusCode, inv)
	}
	id := strings.TrimPrefix(inv["name"].(string), "userInvitations/")
	token := inv["invitationToken"].(string)
	states := func(state string) []string {
		t.Helper()
		resp, body := ts.call(t, "GET", "/v1/userInvitations?state="+state, testKey, "")
		if resp.StatusCode != 200 {
			t.Fatalf("list %s: %d %v", state, resp.StatusCode, body)
		}
		var emails []string
		for _, it := range body["userInvitations"].([]any) {
			emails = append(emails, it.(map[string]any)["invitedEmail"].(string))
		}
		return emails
	}
	accept := `{"name":"Late Comer","password":"` + testPassword + `"}`

	// A second before the expiry it is pending.
	clock.add(time.Hour - time.Second)
	if _, got := ts.call(t, "GET", "/v1/userInvitations/"+id, testKey, ""); got["state"] != "PENDING" {
		t.Fatalf("a second before expiry: %v", got)
	}
	// At the expiry it is not.
	clock.add(time.Second)
	if resp, got := ts.call(t, "GET", "/v1/userInvitations/"+id, testKey, ""); resp.StatusCode != 200 || got["state"] != "EXPIRED" {
		t.Errorf("at expiry: %d %v, want state EXPIRED", resp.StatusCode, got)
	}
	if got := states("PENDING"); len(got) != 0 {
		t.Errorf("state=PENDING lists %v", got)
	}
	if got := states("EXPIRED"); len(got) != 1 || got[0] != "late@example.com" {
		t.Errorf("state=EXPIRED lists %v", got)
	}
	resp, body := ts.call(t, "POST", "/invitations/"+token+"/accept", "", accept)
	if resp.StatusCode != 400 || body["name"] != "ValidationError" || !strings.Contains(body["message"].(string), "expired") {
		t.Errorf("accept an expired invitation: %d %v, want 400 ValidationError saying it expired", resp.StatusCode, body)
	}
	if n, err := ts.store.CountUsers(); err != nil || n != 0 {
		t.Errorf("%d users after a refused accept, %v", n, err)
	}
	// The address may be invited again.
	if resp, body := ts.call(t, "POST", "/v1/userInvitations", testKey, `{"invitedEmail":"late@example.com","inviter":"Ada"}`); resp.StatusCode != 200 {
		t.Errorf("invite an expired address again: %d %v", resp.StatusCode, body)
	}
}

// TestInvitationPageExpired: the page of an invitation past its expiry
// says so and what to do, for GET and POST alike, and creates no one.
func TestInvitationPageExpired(t *testing.T) {
	clock := &testClock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	ts := mustServerOnClock(t, clock)
	soon, err := ts.store.CreateInvitation(db.SystemActor, db.NewInvitation{Email: "late@example.com", TTL: new(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{"name": {"L"}, "password": {testPassword}, "password2": {testPassword}}
	if p := ts.page(t, "GET", "/invitations/"+soon.Token, "", nil); p.StatusCode != 200 {
		t.Fatalf("before the expiry: %d\n%s", p.StatusCode, p.body)
	}
	clock.add(time.Minute)
	for _, method := range []string{"GET", "POST"} {
		p := ts.page(t, method, "/invitations/"+soon.Token, "", form)
		if p.StatusCode != 410 || !strings.Contains(p.body, "has expired") || !strings.Contains(p.body, "new invitation") {
			t.Errorf("expired %s: %d\n%s", method, p.StatusCode, p.body)
		}
	}
	if n, err := ts.store.CountUsers(); err != nil || n != 0 {
		t.Errorf("%d users after an expired invitation's page, %v", n, err)
	}
}
