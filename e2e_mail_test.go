package main

// End-to-end tests of when and how emails are made (issue 10, items 7 and
// 8): an invitation made in `invited admin` while the server is stopped is
// emailed once the server starts, rendered then with the server's own
// base URL and site name, and signed with the name the admin gave.

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"invited/server/smtptest"
)

func TestE2EInvitationMadeWhileStoppedIsMailedWithTheServersLink(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()

	// The admin opens the TUI with the server stopped, with none of the
	// server's mail or site settings: base URL and site name are the
	// defaults (http://localhost:4242, "invited").
	var env []string
	for _, kv := range serverEnv(dir) {
		if strings.HasPrefix(kv, "INVITED_") {
			env = append(env, fmt.Sprintf("%q", kv))
		}
	}
	tm := newTmux(t, fmt.Sprintf("env TERM=xterm-256color %s %s admin", strings.Join(env, " "), e2eBinary))
	tm.waitFor("start in direct mode", 15*time.Second, "direct", "Signup links")
	tm.keys(false, "2")
	tm.keys(false, "n")
	// The form offers the site's team, never the terminal's login.
	tm.waitFor("invitation form", 5*time.Second, "New invitation", "Inviter", "The localhost:4242 team")
	tm.keys(true, "grace@example.com")
	// Shift+tab from the first field goes round to the last: the inviter.
	tm.keys(false, "BTab", "C-u")
	tm.keys(true, "Ada Lovelace")
	tm.keys(false, "C-s")
	screen := tm.waitFor("invitation created", 10*time.Second, "Invitation created", "will be sent when the")
	if strings.Contains(screen, "on its way") {
		t.Errorf("with the server stopped, the TUI says the email is on its way:\n%s", screen)
	}
	tm.keys(false, "Escape")
	tm.waitGone("back to the list", 5*time.Second, "Invitation created")
	tm.waitFor("back to the list", 5*time.Second, "grace@example.com")
	tm.keys(false, "q")
	tm.waitExit()

	// The server starts with its own base URL and site name, and sends
	// the email it finds waiting.
	smtpSrv := smtptest.Start(t, smtptest.Config{})
	p := startServer(t, dir, mailEnv(smtpSrv.Port())...)
	msg := smtpSrv.WaitMessages(t, 1, 10*time.Second)[0]
	if !reflect.DeepEqual(msg.To, []string{"grace@example.com"}) {
		t.Errorf("RCPT TO %v, want [grace@example.com]", msg.To)
	}
	pm := smtptest.MustParse(t, msg.Data)
	if want := "Ada Lovelace invited you to join " + inviteSiteName; pm.Subject != want {
		t.Errorf("subject %q, want %q", pm.Subject, want)
	}
	for _, part := range []string{pm.Text, pm.HTML} {
		if strings.Contains(part, "localhost:4242") || strings.Contains(part, "invited you to join invited") {
			t.Errorf("the email was made with the TUI's defaults, not the server's settings:\n%s", part)
		}
		if !strings.Contains(part, inviteSiteName) || !strings.Contains(part, "Ada Lovelace") {
			t.Errorf("the email names neither the site %q nor the inviter:\n%s", inviteSiteName, part)
		}
	}
	link := invitationLinkRE.FindString(pm.Text)
	if link == "" {
		t.Fatalf("the email holds no link on %s:\n%s", inviteBaseURL, pm.Text)
	}
	if !strings.Contains(pm.HTML, `href="`+link+`"`) {
		t.Errorf("the HTML part does not link %s:\n%s", link, pm.HTML)
	}

	// The link works.
	status, _, body := do(t, "POST", acceptURL(t, p, link), "", acceptBody("Grace Hopper", "grace"))
	wantStatus(t, "accept through the emailed link", status, 200, body)
	checkUser(t, "accepted user", object(t, "accept", body), "grace@example.com", "grace", "Grace Hopper", 3)

	// The outbox shows the invitation email as sent, with its subject,
	// and no email left waiting for it.
	e := waitEmail(t, p, "invitation", "grace@example.com", 10*time.Second, "sent", func(e map[string]any) bool { return e["state"] == "sent" })
	wantField(t, "sent invitation email", e, "subject", "Ada Lovelace invited you to join "+inviteSiteName)
}
