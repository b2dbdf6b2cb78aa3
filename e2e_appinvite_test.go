package main

// Inviting straight into an app (DESIGN §12) end to end: real Chromium
// joins through a signup link into an app behind real Caddy, and accepts
// an emailed invitation into an OpenID Connect app, and lands in each app
// signed in without ever seeing a login form.

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"invited/internal/testutil"
	"invited/server/smtptest"

	"github.com/chromedp/chromedp"
)

// fillAndSubmit types values (id, text, id, text…) into the page's form
// whose action starts with action, and submits it.
func fillAndSubmit(t *testing.T, ctx context.Context, action string, values ...string) {
	t.Helper()
	var acts []chromedp.Action[chromedp.Void]
	for i := 0; i+1 < len(values); i += 2 {
		acts = append(acts, chromedp.SendKeys(chromedp.ID(values[i]), values[i+1]))
	}
	if err := chromedp.Do(ctx, acts...); err != nil {
		t.Fatalf("fill the form: %v", err)
	}
	// The answer is a redirect to another host, so the click is not
	// followed as one response; the caller polls for where it ends.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`form[action^="`+action+`"] button[type=submit]`))); err != nil {
		t.Fatalf("submit the form: %v", err)
	}
}

// TestE2ESignupIntoProxyApp: an admin makes a link into a proxy app; the
// browser signs up on the link's page (through Caddy, with
// auth.cookie_domain) and lands on the app with the new user in
// Remote-User, with no login form in between.
func TestE2ESignupIntoProxyApp(t *testing.T) {
	r := newGateRig(t, startCaddy)
	p := r.inv
	status, _, body := do(t, "POST", p.URL+"/api/admin/apps", e2eAdminKey, map[string]any{
		"id": "app", "name": "Team App", "url": r.appURL + "/start", "domains": []string{"app.gate.localhost"},
	})
	wantStatus(t, "create app", status, 201, body)
	link := createLink(t, p, map[string]any{"name": "into the app", "expiresAt": e2eFuture, "appId": "app"})
	wantField(t, "link", link, "appId", "app")
	linkURL := link["url"].(string)
	if !strings.HasPrefix(linkURL, r.authURL+"/new-user?invite=") {
		t.Fatalf("link url %q is not on %s", linkURL, r.authURL)
	}

	ctx := gateBrowser(t)
	if _, err := chromedp.Run(ctx, chromedp.NavigateResponse(linkURL)); err != nil {
		t.Fatalf("open the link: %v", err)
	}
	page, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
	if err != nil || !strings.Contains(page, "Team App") {
		t.Fatalf("the signup page does not name the app (%v): %.400s", err, page)
	}
	fillAndSubmit(t, ctx, "/new-user",
		"email", "nia@example.com", "name", "Nia Park", "username", "nia", "password", e2ePassword, "password2", e2ePassword)
	var seen []string
	testutil.Eventually(t, 20*time.Second, "the browser on the app", func() error {
		at, err := chromedp.Run(ctx, chromedp.Location())
		seen = append(seen, at)
		if err != nil || at != r.appURL+"/start" {
			return fmt.Errorf("at %s (%v)", at, err)
		}
		return nil
	})
	for _, at := range seen {
		if strings.Contains(at, "/login") {
			t.Errorf("the browser passed a login page: %s", at)
		}
	}
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("echo")))
	if err != nil {
		t.Fatalf("read the app's page: %v", err)
	}
	got := parseEcho(t, "browser", text)
	if g := got.Values("Remote-User"); len(g) != 1 || g[0] != "nia" {
		t.Fatalf("the app saw Remote-User %q, want [nia]", g)
	}
	if g := got.Values("Remote-Email"); len(g) != 1 || g[0] != "nia@example.com" {
		t.Errorf("the app saw Remote-Email %q", g)
	}
}

// TestE2EInvitationIntoOIDCApp: an invitation into an oidc app; its
// email (read from the test SMTP server) names the app; Chromium accepts
// it and lands on the relying party's callback signed in as the new
// user, by single sign-on, with no login form.
func TestE2EInvitationIntoOIDCApp(t *testing.T) {
	smtpSrv := smtptest.Start(t, smtptest.Config{})
	port := freePort(t)
	issuer := fmt.Sprintf("http://localhost:%d", port)
	p := startServer(t, t.TempDir(),
		fmt.Sprintf("INVITED_SERVER_LISTEN=127.0.0.1:%d", port), "INVITED_SERVER_BASE_URL="+issuer,
		"INVITED_MAIL_DRIVER=smtp", "INVITED_MAIL_HOST=127.0.0.1", "INVITED_MAIL_PORT="+strconv.Itoa(smtpSrv.Port()),
		"INVITED_MAIL_FROM=Desk <desk@example.com>", "INVITED_MAIL_TLS=none", "INVITED_MAIL_RETRY_DELAY=200ms")

	rp := newE2ERP(t)

	status, _, body := do(t, "POST", p.URL+"/api/admin/apps", e2eAdminKey, map[string]any{
		"id": "wiki", "name": "Team Wiki", "kind": "oidc", "url": rp.srv.URL + "/start", "redirectUris": []string{rp.srv.URL + "/callback"},
	})
	wantStatus(t, "create oidc app", status, 201, body)
	app := object(t, "oidc app", body)
	rp.configure(t, issuer, app["clientId"].(string), app["clientSecret"].(string), "profile", "email")

	status, _, body = do(t, "POST", p.URL+"/v1/userInvitations", e2eAdminKey, map[string]any{
		"invitedEmail": "omar@example.com", "inviter": "Ada", "appId": "wiki",
	})
	wantStatus(t, "invite into the wiki", status, 200, body)
	wantField(t, "invitation", object(t, "invitation", body), "appId", "wiki")

	msg := smtpSrv.WaitMessagesTo(t, "omar@example.com", 1, 15*time.Second)[0]
	pm := smtptest.MustParse(t, msg.Data)
	for _, part := range []string{pm.Text, pm.HTML} {
		if !strings.Contains(part, "Team Wiki") || !strings.Contains(part, rp.srv.URL+"/start") {
			t.Errorf("the invitation email does not name the app and its url:\n%s", part)
		}
	}
	link := regexp.MustCompile(regexp.QuoteMeta(issuer) + `/invitations/[0-9a-f]{64}`).FindString(pm.Text)
	if link == "" {
		t.Fatalf("the email holds no invitation link:\n%s", pm.Text)
	}

	ctx := gateBrowser(t)
	if _, err := chromedp.Run(ctx, chromedp.NavigateResponse(link)); err != nil {
		t.Fatalf("open the invitation: %v", err)
	}
	fillAndSubmit(t, ctx, "/invitations/", "name", "Omar Haddad", "username", "omar", "password", e2ePassword, "password2", e2ePassword)
	var seen []string
	var text string
	testutil.Eventually(t, 20*time.Second, "the browser on the RP's callback", func() error {
		at, err := chromedp.Run(ctx, chromedp.Location())
		seen = append(seen, at)
		if err != nil || !strings.HasPrefix(at, rp.srv.URL+"/callback?") {
			return fmt.Errorf("at %s (%v)", at, err)
		}
		text, err = chromedp.Run(ctx, chromedp.Text(chromedp.ID("claims")))
		return err
	})
	if want := "n=1;email=omar@example.com;"; !strings.HasPrefix(text, want) {
		t.Fatalf("the RP shows %q, want %q…", text, want)
	}
	for _, at := range seen {
		if strings.Contains(at, "/login") {
			t.Errorf("the browser passed a login page: %s", at)
		}
	}
	rp.token(t, 0)
}
