package webhook

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"invited/db"
)

// The signature is the specification's: the official library verifies
// it, and the specification's own example comes out.
func TestSignIsStandardWebhooks(t *testing.T) {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	body := []byte(`{"test": 2432232314}`)
	sig, err := Sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body)
	if err != nil {
		t.Fatal(err)
	}
	if sig != "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=" {
		t.Errorf("signature %s, want the specification's example", sig)
	}
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := wh.Sign("msg_p5jXN8AQM9LWM0D4loKWxJek", time.Unix(1614265330, 0), body)
	if err != nil || theirs != sig {
		t.Errorf("the library signs %s (%v), we sign %s", theirs, err, sig)
	}
	if _, err := Sign("whsec_not base64!", "m", 1, body); err == nil {
		t.Error("a secret that is not base64 was used")
	}
}

func TestRefusedAddresses(t *testing.T) {
	for _, a := range []string{"127.0.0.1", "127.9.9.9", "::1", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1",
		"fc00::1", "fd12:3456::1", "fe80::1", "169.254.169.254", "0.0.0.0", "0.1.2.3", "::", "100.64.0.1", "100.127.255.254",
		"::ffff:127.0.0.1", "::ffff:10.0.0.1", "64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe", "224.0.0.1", "ff02::1", "255.255.255.255"} {
		if refusedReason(netip.MustParseAddr(a)) == "" {
			t.Errorf("%s is allowed", a)
		}
	}
	for _, a := range []string{"8.8.8.8", "1.1.1.1", "2606:4700::1111", "100.128.0.1", "172.32.0.1", "11.0.0.1", "64:ff9b::808:808"} {
		if r := refusedReason(netip.MustParseAddr(a)); r != "" {
			t.Errorf("%s is refused: %s", a, r)
		}
	}
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }
func render(d db.WebhookDelivery) ([]byte, error) {
	return json.Marshal(map[string]any{"type": d.Event, "timestamp": db.FormatTime(d.Timestamp)})
}

// receiver is a real HTTP server on loopback that verifies each
// request's signature with the official library and answers with the
// next status of its script (200 once the script is used up).
type receiver struct {
	*httptest.Server
	mu       sync.Mutex
	script   []int
	got      []http.Header
	badSigns int
}

func newReceiver(t *testing.T, secret *string, script ...int) *receiver {
	r := &receiver{script: script}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		wh, err := standardwebhooks.NewWebhook(*secret)
		if err != nil || wh.VerifyIgnoringTimestamp(body, req.Header) != nil {
			r.badSigns++
		}
		r.got = append(r.got, req.Header.Clone())
		status := 200
		if len(r.script) > 0 {
			status, r.script = r.script[0], r.script[1:]
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) requests() []http.Header {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]http.Header(nil), r.got...)
}

func openStore(t *testing.T, c *clock) *db.Store {
	s, err := db.Open(filepath.Join(t.TempDir(), "w.db"), db.Options{Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func invite(t *testing.T, s *db.Store, email string) {
	t.Helper()
	if _, err := s.CreateInvitation(db.SystemActor, db.NewInvitation{Email: email, DefaultTTL: time.Hour, Role: db.RoleViewer, DisableEmail: true}); err != nil {
		t.Fatal(err)
	}
}

func TestWorkerSignsRetriesAndLogs(t *testing.T) {
	c := &clock{t: time.Now().UTC()}
	s := openStore(t, c)
	var secret string
	rcv := newReceiver(t, &secret, 500, 503)
	hook, err := s.CreateWebhook(db.SystemActor, db.NewWebhook{URL: rcv.URL + "/in", Events: []string{db.WebhookInvitationCreated}})
	if err != nil {
		t.Fatal(err)
	}
	secret = hook.Secret
	w := New(s, nil, Options{AllowPrivate: true, Now: c.now, Render: render, BaseDelay: time.Minute, MaxAttempts: 5})
	ctx := context.Background()

	invite(t, s, "grace@example.com")
	w.pass(ctx) // 500
	w.pass(ctx) // not due yet: nothing
	if n := len(rcv.requests()); n != 1 {
		t.Fatalf("%d requests before the backoff ended, want 1", n)
	}
	c.add(2*time.Minute + 30*time.Second)
	w.pass(ctx) // 503
	c.add(5 * time.Minute)
	w.pass(ctx) // 200
	got := rcv.requests()
	if len(got) != 3 || rcv.badSigns != 0 {
		t.Fatalf("%d requests, %d with a bad signature; want 3, 0", len(got), rcv.badSigns)
	}
	for _, h := range got {
		if h.Get("webhook-id") != got[0].Get("webhook-id") || !strings.HasPrefix(h.Get("webhook-id"), "msg_") {
			t.Errorf("webhook-id %q, first %q: want one id for every attempt", h.Get("webhook-id"), got[0].Get("webhook-id"))
		}
		if h.Get("Content-Type") != "application/json" {
			t.Errorf("content type %q", h.Get("Content-Type"))
		}
	}
	if ts := got[2].Get("webhook-timestamp"); ts != strconv.FormatInt(c.now().Unix(), 10) {
		t.Errorf("timestamp %s, want the attempt's, %d", ts, c.now().Unix())
	}
	log, err := s.WebhookDeliveries(hook.ID, 10)
	if err != nil || len(log) != 1 {
		t.Fatalf("log %+v, %v", log, err)
	}
	d := log[0]
	if d.State != db.WebhookDelivered || len(d.Attempts) != 3 || d.Attempts[0].StatusCode != 500 || d.Attempts[1].StatusCode != 503 ||
		d.Attempts[2].StatusCode != 200 || d.Attempts[2].Error != "" || !strings.Contains(d.Attempts[0].Error, "500") {
		t.Errorf("delivery %+v", d)
	}

	// Attempts run out: the delivery fails for good.
	rcv.mu.Lock()
	rcv.script = []int{500, 500, 500, 500, 500}
	rcv.mu.Unlock()
	invite(t, s, "hal@example.com")
	for range 5 {
		w.pass(ctx)
		c.add(time.Hour)
	}
	w.pass(ctx)
	log, _ = s.WebhookDeliveries(hook.ID, 10)
	if log[0].State != db.WebhookFailed || len(log[0].Attempts) != 5 {
		t.Errorf("after 5 failures: %+v", log[0])
	}
}

// With allow_private off, a receiver on loopback is refused when the
// connection is made, whether the URL names the address or a host name
// that resolves to it, and the log says why.
func TestWorkerRefusesPrivateAddresses(t *testing.T) {
	c := &clock{t: time.Now().UTC()}
	s := openStore(t, c)
	var secret string
	rcv := newReceiver(t, &secret)
	port := rcv.URL[strings.LastIndex(rcv.URL, ":")+1:]
	var hooks []db.Webhook
	for _, u := range []string{rcv.URL, "http://localhost:" + port + "/x", "http://[::1]:" + port + "/"} {
		h, err := s.CreateWebhook(db.SystemActor, db.NewWebhook{URL: u, Events: []string{db.WebhookInvitationCreated}})
		if err != nil {
			t.Fatal(err)
		}
		hooks = append(hooks, h)
	}
	w := New(s, nil, Options{Now: c.now, Render: render, BaseDelay: time.Minute})
	invite(t, s, "grace@example.com")
	w.pass(context.Background())
	if n := len(rcv.requests()); n != 0 {
		t.Fatalf("the loopback receiver got %d requests", n)
	}
	for _, h := range hooks {
		log, _ := s.WebhookDeliveries(h.ID, 10)
		if len(log) != 1 || len(log[0].Attempts) != 1 {
			t.Fatalf("%s: log %+v", h.URL, log)
		}
		a := log[0].Attempts[0]
		if a.StatusCode != 0 || !strings.Contains(a.Error, "loopback") || !strings.Contains(a.Error, "webhooks.allow_private") {
			t.Errorf("%s: attempt %+v, want a refusal naming loopback and the setting", h.URL, a)
		}
	}
}

// A redirect is not followed: it could point anywhere.
func TestWorkerDoesNotFollowRedirects(t *testing.T) {
	c := &clock{t: time.Now().UTC()}
	s := openStore(t, c)
	var secret string
	target := newReceiver(t, &secret)
	redirect := httptest.NewServer(http.RedirectHandler(target.URL, http.StatusTemporaryRedirect))
	t.Cleanup(redirect.Close)
	h, err := s.CreateWebhook(db.SystemActor, db.NewWebhook{URL: redirect.URL, Events: []string{db.WebhookInvitationCreated}})
	if err != nil {
		t.Fatal(err)
	}
	secret = h.Secret
	w := New(s, nil, Options{AllowPrivate: true, Now: c.now, Render: render})
	invite(t, s, "grace@example.com")
	w.pass(context.Background())
	log, _ := s.WebhookDeliveries(h.ID, 10)
	if len(target.requests()) != 0 || len(log) != 1 || log[0].State != db.WebhookPending || log[0].Attempts[0].StatusCode != 307 {
		t.Errorf("redirect followed or not recorded: %+v", log)
	}
}
