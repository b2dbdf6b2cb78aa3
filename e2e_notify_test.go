package main

// End-to-end tests of telling the inviter (issue 15, item 4): a user who
// invites someone gets an email through the real SMTP test server when
// the invitation is accepted, and none with mail.notify_inviter = false.

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"invited/server/smtptest"
)

// inviteAsEditor signs Edith up as an Editor, has her invite guest (by
// her session, so she is the inviter) and has guest accept it.
func inviteAsEditor(t *testing.T, p *proc, guest string) {
	t.Helper()
	link := createLink(t, p, map[string]any{"name": "editors", "expiresAt": e2eFuture, "role": "Editor"})
	status, _, body := do(t, "POST", signupURL(p, link["secret"].(string)), "", signupJSON("edith@example.com", "edith", "Edith Editor"))
	wantStatus(t, "editor signup", status, 200, body)
	cookie := sessionCookie(t, p, "edith", e2ePassword)
	status, _, body = doCookie(t, "POST", p.URL+"/v1/userInvitations", cookie, map[string]any{"invitedEmail": guest, "disableInvitationEmail": true})
	wantStatus(t, "invite as Edith", status, http.StatusOK, body)
	token := object(t, "invitation", body)["invitationToken"].(string)
	status, _, body = do(t, "POST", p.URL+"/invitations/"+token+"/accept", "", acceptBody("Grace Hopper", "grace"))
	wantStatus(t, "accept", status, http.StatusOK, body)
}

// outboxKinds lists the kinds of the emails in the outbox by recipient.
func outboxKinds(t *testing.T, p *proc) map[string][]string {
	t.Helper()
	status, _, body := do(t, "GET", p.URL+"/api/admin/emails", e2eAdminKey, nil)
	wantStatus(t, "list emails", status, http.StatusOK, body)
	kinds := map[string][]string{}
	for _, e := range object(t, "emails", body)["emails"].([]any) {
		m := e.(map[string]any)
		kinds[m["to"].(string)] = append(kinds[m["to"].(string)], m["kind"].(string))
	}
	return kinds
}

func TestE2EInviterToldOfAcceptance(t *testing.T) {
	t.Parallel()
	smtpSrv := smtptest.Start(t, smtptest.Config{})
	p := startServer(t, t.TempDir(), mailEnv(smtpSrv.Port())...)
	inviteAsEditor(t, p, "grace@example.com")

	// Edith gets her welcome, then the news.
	var told *smtptest.Parsed
	for _, m := range smtpSrv.WaitMessagesTo(t, "edith@example.com", 2, 10*time.Second) {
		pm := smtptest.MustParse(t, m.Data)
		if strings.Contains(pm.Subject, "accepted your invitation") {
			told = &pm
		}
	}
	if told == nil {
		t.Fatalf("Edith got no email saying her invitation was accepted: %v", smtptest.Describe(smtpSrv.MessagesTo("edith@example.com")))
	}
	if want := "Grace Hopper accepted your invitation to " + inviteSiteName; told.Subject != want {
		t.Errorf("subject %q, want %q", told.Subject, want)
	}
	for _, part := range []string{told.Text, told.HTML} {
		for _, want := range []string{"Grace Hopper", "grace@example.com", inviteSiteName, "Edith Editor"} {
			if !strings.Contains(part, want) {
				t.Errorf("the email lacks %q:\n%s", want, part)
			}
		}
	}
	// The admin key that made no invitation here is told nothing, and an
	// invitation made with a key tells nobody.
	status, _, body := do(t, "POST", p.URL+"/v1/userInvitations", e2eAdminKey, map[string]any{"invitedEmail": "alan@example.com", "inviter": "Root", "disableInvitationEmail": true})
	wantStatus(t, "invite with a key", status, http.StatusOK, body)
	token := object(t, "invitation", body)["invitationToken"].(string)
	status, _, body = do(t, "POST", p.URL+"/invitations/"+token+"/accept", "", acceptBody("Alan Turing", "alan"))
	wantStatus(t, "accept the key's invitation", status, http.StatusOK, body)
	count := 0
	for _, kinds := range outboxKinds(t, p) {
		for _, k := range kinds {
			if k == "invitation-accepted" {
				count++
			}
		}
	}
	if count != 1 {
		t.Errorf("%d invitation-accepted emails in the outbox, want 1 (Edith's; a key's invitation tells nobody)", count)
	}
}

func TestE2EInviterNotToldWhenOff(t *testing.T) {
	t.Parallel()
	smtpSrv := smtptest.Start(t, smtptest.Config{})
	p := startServer(t, t.TempDir(), mailEnv(smtpSrv.Port(), "INVITED_MAIL_NOTIFY_INVITER=false")...)
	inviteAsEditor(t, p, "grace@example.com")
	// The welcome email of the accept is queued in the same transaction
	// the inviter's email would be: once it is out, so would that be.
	smtpSrv.WaitMessagesTo(t, "grace@example.com", 1, 10*time.Second)
	if kinds := outboxKinds(t, p)["edith@example.com"]; len(kinds) != 1 || kinds[0] != "welcome" {
		t.Errorf("with notify_inviter = false Edith's emails are %v, want only her welcome", kinds)
	}
	for _, m := range smtpSrv.MessagesTo("edith@example.com") {
		if pm := smtptest.MustParse(t, m.Data); strings.Contains(pm.Subject, "accepted") {
			t.Errorf("with notify_inviter = false Edith was told: %q", pm.Subject)
		}
	}
}

// TestE2EBatchFromTheTUI: with the server running, the TUI sends a pasted
// CSV through the admin socket, shows a result per address, and the
// server emails the people it invited.
func TestE2EBatchFromTheTUI(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	smtpSrv := smtptest.Start(t, smtptest.Config{})
	p := startServer(t, dir, mailEnv(smtpSrv.Port())...)
	status, _, body := do(t, "POST", p.URL+"/v1/userInvitations", e2eAdminKey, map[string]any{"invitedEmail": "grace@example.com", "inviter": "Root", "disableInvitationEmail": true})
	wantStatus(t, "invite grace", status, http.StatusOK, body)

	var env []string
	for _, kv := range serverEnv(dir, mailEnv(smtpSrv.Port())...) {
		if strings.HasPrefix(kv, "INVITED_") {
			env = append(env, fmt.Sprintf("%q", kv))
		}
	}
	tm := newTmux(t, fmt.Sprintf("env TERM=xterm-256color %s %s admin", strings.Join(env, " "), e2eBinary))
	tm.waitFor("start in server mode", 15*time.Second, "server", "Signup links")
	tm.keys(false, "2")
	tm.waitFor("invitations tab", 5*time.Second, "grace@example.com", "b batch")
	tm.keys(false, "b")
	tm.waitFor("batch form", 5*time.Second, "Invite many people")
	// Typed as a terminal pastes without bracketed paste: each line
	// ends with enter, which makes a new line in the list.
	for _, line := range []string{"email,role", "kay@example.com,Editor", "grace@example.com,", "lin@example.com,"} {
		tm.keys(true, line)
		tm.keys(false, "Enter")
	}
	tm.keys(false, "C-s")
	tm.waitFor("batch results", 15*time.Second, "Batch results", "2 invited, 1 already-invited", "kay@example.com", "lin@example.com")
	for _, to := range []string{"kay@example.com", "lin@example.com"} {
		pm := smtptest.MustParse(t, smtpSrv.WaitMessagesTo(t, to, 1, 10*time.Second)[0].Data)
		if !strings.Contains(pm.Subject, "invited you to join") {
			t.Errorf("email to %s: subject %q", to, pm.Subject)
		}
	}
	status, _, body = do(t, "GET", p.URL+"/v1/userInvitations?state=PENDING", e2eAdminKey, nil)
	wantStatus(t, "list", status, http.StatusOK, body)
	if !strings.Contains(string(body), `"invitedEmail":"kay@example.com"`) || !strings.Contains(string(body), `"roleId":"2"`) {
		t.Errorf("kay's Editor invitation is not listed: %s", body)
	}
	tm.keys(false, "Escape")
	tm.waitGone("back to the list", 5*time.Second, "Batch results")
	tm.keys(false, "q")
	tm.waitExit()
}
