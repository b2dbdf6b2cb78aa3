package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"invited/internal/testutil"
)

// Webhooks end to end (DESIGN §12): the real binary posts to a receiver
// on loopback, which checks every signature with the official Standard
// Webhooks library (timestamp tolerance included).

// hookEvent is one delivery a receiver accepted.
type hookEvent struct {
	ID, Type string
	Body     []byte
	Data     map[string]any
}

// hookReceiver is a real HTTP server on a fixed loopback address that can
// go down (its listener closed: connection refused) and come back.
type hookReceiver struct {
	t      *testing.T
	addr   string
	mu     sync.Mutex
	secret string
	events []hookEvent
	bad    []string
	srv    *http.Server
}

func newHookReceiver(t *testing.T) *hookReceiver {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &hookReceiver{t: t, addr: ln.Addr().String()}
	ln.Close()
	t.Cleanup(r.down)
	return r
}

func (r *hookReceiver) URL() string { return "http://" + r.addr + "/hook" }

func (r *hookReceiver) setSecret(s string) { r.mu.Lock(); r.secret = s; r.mu.Unlock() }

// up starts listening on the receiver's address.
func (r *hookReceiver) up() {
	r.t.Helper()
	var ln net.Listener
	testutil.Eventually(r.t, 5*time.Second, "listen on "+r.addr, func() error {
		var err error
		ln, err = net.Listen("tcp", r.addr)
		return err
	})
	r.srv = &http.Server{Handler: http.HandlerFunc(r.serve), ReadHeaderTimeout: 5 * time.Second}
	go r.srv.Serve(ln)
}

// down closes the listener and every connection.
func (r *hookReceiver) down() {
	if r.srv != nil {
		r.srv.Close()
		r.srv = nil
	}
}

func (r *hookReceiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	wh, err := standardwebhooks.NewWebhook(r.secret)
	if err == nil {
		err = wh.Verify(body, req.Header)
	}
	if err != nil {
		r.bad = append(r.bad, fmt.Sprintf("%s: %v", req.Header.Get("webhook-id"), err))
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var msg struct {
		Type      string         `json:"type"`
		Timestamp string         `json:"timestamp"`
		Data      map[string]any `json:"data"`
	}
	if err := json.Unmarshal(body, &msg); err != nil || msg.Type == "" || msg.Timestamp == "" || msg.Data == nil {
		r.bad = append(r.bad, fmt.Sprintf("body %s: %v", body, err))
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	r.events = append(r.events, hookEvent{ID: req.Header.Get("webhook-id"), Type: msg.Type, Body: body, Data: msg.Data})
	w.WriteHeader(http.StatusNoContent)
}

// unique returns the received events once per webhook-id, in arrival
// order, failing the test when one id came with two different bodies.
// Delivery is at least once: a duplicate with the same id is allowed.
func (r *hookReceiver) unique() []hookEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	seen := map[string][]byte{}
	var out []hookEvent
	for _, e := range r.events {
		if prev, ok := seen[e.ID]; ok {
			if string(prev) != string(e.Body) {
				r.t.Errorf("webhook-id %s came with two bodies:\n%s\n%s", e.ID, prev, e.Body)
			}
			continue
		}
		seen[e.ID] = e.Body
		out = append(out, e)
	}
	if len(r.bad) > 0 {
		r.t.Errorf("requests that failed verification: %v", r.bad)
	}
	return out
}

func (r *hookReceiver) types() []string {
	var types []string
	for _, e := range r.unique() {
		types = append(types, e.Type)
	}
	return types
}

// waitTypes waits (at most 30 s) until the receiver has exactly want, in
// any order.
func (r *hookReceiver) waitTypes(want ...string) []hookEvent {
	r.t.Helper()
	testutil.Eventually(r.t, 30*time.Second, "webhook deliveries "+strings.Join(want, " "), func() error {
		got := r.types()
		if countTypes(got) != countTypes(want) {
			return fmt.Errorf("received %v", got)
		}
		return nil
	})
	return r.unique()
}

func countTypes(types []string) string {
	m := map[string]int{}
	for _, t := range types {
		m[t]++
	}
	return fmt.Sprint(m)
}

func createWebhook(t *testing.T, p *proc, url string, events ...string) (id, secret string) {
	t.Helper()
	status, _, body := do(t, "POST", p.URL+"/api/admin/webhooks", e2eAdminKey, map[string]any{"url": url, "events": events})
	wantStatus(t, "create webhook", status, 201, body)
	hook := object(t, "create webhook", body)
	secret, _ = hook["secret"].(string)
	return strconv.FormatFloat(hook["id"].(float64), 'f', -1, 64), secret
}

func webhookLog(t *testing.T, p *proc, id string) []map[string]any {
	t.Helper()
	status, _, body := do(t, "GET", p.URL+"/api/admin/webhooks/"+id+"/deliveries", e2eAdminKey, nil)
	wantStatus(t, "delivery log", status, 200, body)
	var out struct{ Deliveries []map[string]any }
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatal(err)
	}
	return out.Deliveries
}

// lastAttemptError is the error of the newest delivery's last attempt.
func lastAttemptError(t *testing.T, p *proc, id string) (string, error) {
	log := webhookLog(t, p, id)
	if len(log) == 0 {
		return "", errors.New("no delivery yet")
	}
	attempts, _ := log[0]["attempts"].([]any)
	if len(attempts) == 0 {
		return "", errors.New("no attempt yet")
	}
	msg, _ := attempts[len(attempts)-1].(map[string]any)["error"].(string)
	return msg, nil
}

var allHookEvents = []string{"user.created", "user.updated", "user.disabled", "user.deleted",
	"invitation.created", "invitation.accepted", "invitation.revoked"}

func userIDOf(t *testing.T, body []byte) string {
	t.Helper()
	u := object(t, "user", body)
	return strconv.FormatFloat(u["id"].(float64), 'f', -1, 64)
}

func TestE2EWebhooksSignedAndRetried(t *testing.T) {
	rcv := newHookReceiver(t)
	rcv.up()
	p := startServer(t, t.TempDir(), "INVITED_WEBHOOKS_ALLOW_PRIVATE=true", "INVITED_WEBHOOKS_RETRY_DELAY=100ms")
	hookID, secret := createWebhook(t, p, rcv.URL(), allHookEvents...)
	rcv.setSecret(secret)

	// Every kind of change.
	link := createLink(t, p, map[string]any{"name": "hooks", "expiresAt": e2eFuture})
	status, _, body := do(t, "POST", signupURL(p, link["secret"].(string)), "", signupJSON("ada@example.com", "ada", "Ada"))
	wantStatus(t, "signup", status, 200, body)
	ada := userIDOf(t, body)
	status, _, body = do(t, "PUT", p.URL+"/api/admin/user-admin/"+ada, e2eAdminKey, map[string]any{"name": "Ada L", "rootRole": 2})
	wantStatus(t, "update", status, 200, body)
	status, _, body = do(t, "POST", p.URL+"/api/admin/user-admin/"+ada+"/disable", e2eAdminKey, nil)
	wantStatus(t, "disable", status, 200, body)
	inv := createInvitation(t, p, map[string]any{"invitedEmail": "grace@example.com", "disableInvitationEmail": true, "inviter": "Hooks"})
	status, _, body = do(t, "POST", acceptURL(t, p, inv["invitationUri"].(string)), "", acceptBody("Grace", "grace"))
	wantStatus(t, "accept", status, 200, body)
	inv2 := createInvitation(t, p, map[string]any{"invitedEmail": "hal@example.com", "disableInvitationEmail": true, "inviter": "Hooks"})
	status, _, body = do(t, "DELETE", p.URL+invitationsPath+"/"+invitationID(t, inv2), e2eAdminKey, nil)
	wantStatus(t, "revoke", status, 200, body)
	status, _, body = do(t, "DELETE", p.URL+"/api/admin/user-admin/"+ada, e2eAdminKey, nil)
	wantStatus(t, "delete", status, 200, body)

	events := rcv.waitTypes("user.created", "user.updated", "user.disabled", "invitation.created", "user.created",
		"invitation.accepted", "invitation.created", "invitation.revoked", "user.deleted")
	for _, e := range events {
		switch {
		case strings.HasPrefix(e.Type, "user."):
			wantKeys(t, e.Type, e.Data, userFields...)
		default:
			wantKeys(t, e.Type, e.Data, invitationFields...)
			if e.Data["invitationToken"] != "" || strings.Contains(string(e.Body), "/invitations/") {
				t.Errorf("%s carries the invitation's token or link: %s", e.Type, e.Body)
			}
		}
		if e.Type == "user.updated" && (e.Data["name"] != "Ada L" || e.Data["rootRole"] != float64(2)) {
			t.Errorf("user.updated data %v", e.Data)
		}
		if e.Type == "invitation.accepted" && e.Data["state"] != "ACCEPTED" {
			t.Errorf("invitation.accepted data %v", e.Data)
		}
	}
	// The log records each answer just after the receiver gave it.
	testutil.Eventually(t, 10*time.Second, "every delivery logged as delivered", func() error {
		for _, d := range webhookLog(t, p, hookID) {
			attempts, _ := d["attempts"].([]any)
			if d["state"] != "delivered" || len(attempts) != 1 || attempts[0].(map[string]any)["statusCode"] != float64(204) {
				return fmt.Errorf("delivery %v", d)
			}
		}
		return nil
	})

	// The receiver goes down: attempts fail (the log says why) and are
	// retried; once it is back the event arrives.
	rcv.down()
	grace := ""
	status, _, body = do(t, "GET", p.URL+"/api/admin/user-admin", e2eAdminKey, nil)
	wantStatus(t, "list users", status, 200, body)
	for _, u := range object(t, "users", body)["users"].([]any) {
		if u.(map[string]any)["email"] == "grace@example.com" {
			grace = strconv.FormatFloat(u.(map[string]any)["id"].(float64), 'f', -1, 64)
		}
	}
	status, _, body = do(t, "PUT", p.URL+"/api/admin/user-admin/"+grace, e2eAdminKey, map[string]any{"name": "Grace H"})
	wantStatus(t, "update while down", status, 200, body)
	testutil.Eventually(t, 20*time.Second, "a refused attempt in the log", func() error {
		msg, err := lastAttemptError(t, p, hookID)
		if err == nil && !strings.Contains(msg, "refused") {
			err = fmt.Errorf("last error %q", msg)
		}
		return err
	})
	rcv.up()
	rcv.waitTypes("user.created", "user.updated", "user.disabled", "invitation.created", "user.created",
		"invitation.accepted", "invitation.created", "invitation.revoked", "user.deleted", "user.updated")
}

// With webhooks.allow_private off (the default), a receiver on loopback
// is refused and the delivery log says why.
func TestE2EWebhookPrivateAddressRefused(t *testing.T) {
	rcv := newHookReceiver(t)
	rcv.up()
	p := startServer(t, t.TempDir())
	hookID, secret := createWebhook(t, p, rcv.URL(), "invitation.created")
	rcv.setSecret(secret)
	createInvitation(t, p, map[string]any{"invitedEmail": "grace@example.com", "disableInvitationEmail": true, "inviter": "Hooks"})
	testutil.Eventually(t, 20*time.Second, "a refused attempt in the log", func() error {
		msg, err := lastAttemptError(t, p, hookID)
		if err == nil && !(strings.Contains(msg, "127.0.0.1") && strings.Contains(msg, "loopback") && strings.Contains(msg, "webhooks.allow_private")) {
			err = fmt.Errorf("last error %q", msg)
		}
		return err
	})
	if got := rcv.types(); len(got) != 0 {
		t.Errorf("the loopback receiver got %v", got)
	}
}

// A SIGKILL between the change and its delivery loses nothing: the
// deliveries were written with the changes, and the next start sends
// them. Each event arrives once per webhook-id (a repeat with the same id
// would be allowed: delivery is at least once).
func TestE2EWebhooksSurviveSIGKILL(t *testing.T) {
	rcv := newHookReceiver(t) // down: connection refused
	dir := t.TempDir()
	env := []string{"INVITED_WEBHOOKS_ALLOW_PRIVATE=true", "INVITED_WEBHOOKS_RETRY_DELAY=100ms"}
	p := startServer(t, dir, env...)
	_, secret := createWebhook(t, p, rcv.URL(), allHookEvents...)
	rcv.setSecret(secret)
	for _, email := range []string{"a@example.com", "b@example.com", "c@example.com"} {
		createInvitation(t, p, map[string]any{"invitedEmail": email, "disableInvitationEmail": true, "inviter": "Hooks"})
	}
	p.Kill()

	startServer(t, dir, env...)
	rcv.up()
	events := rcv.waitTypes("invitation.created", "invitation.created", "invitation.created")
	emails := map[any]bool{}
	for _, e := range events {
		emails[e.Data["invitedEmail"]] = true
	}
	if len(emails) != 3 {
		t.Errorf("the three invitations arrived as %v", emails)
	}
}
