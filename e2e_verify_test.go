package main

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"invited/server/smtptest"
)

// TestE2EVerifyEmailInChromium runs DESIGN §11's email verification in a
// real browser against the binary, with a real SMTP server: a signup
// through a link limited to a domain is told to check its mailbox, cannot
// log in until it opens the emailed link, can have the email sent again
// (which kills the first link), and logs in once verified, when the
// welcome email follows.
func TestE2EVerifyEmailInChromium(t *testing.T) {
	smtpSrv := smtptest.Start(t, smtptest.Config{})
	port := freePort(t)
	base := fmt.Sprintf("http://localhost:%d", port)
	p := startServer(t, t.TempDir(), mailEnv(smtpSrv.Port(),
		fmt.Sprintf("INVITED_SERVER_LISTEN=127.0.0.1:%d", port), "INVITED_SERVER_BASE_URL="+base)...)
	secret := createLink(t, p, map[string]any{"name": "staff", "expiresAt": e2eFuture, "allowedDomains": []string{"example.com"}})["secret"].(string)
	linkRE := regexp.MustCompile(regexp.QuoteMeta(base) + `/verify-email/[0-9a-f]{64}`)

	ctx := gateBrowser(t)
	open := func(url string) int {
		t.Helper()
		resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(url))
		if err != nil {
			t.Fatalf("open %s: %v", url, err)
		}
		return int(resp.Status)
	}
	fill := func(values ...string) {
		t.Helper()
		var steps []chromedp.Action[chromedp.Void]
		for i := 0; i+1 < len(values); i += 2 {
			steps = append(steps, chromedp.SendKeys(chromedp.ID(values[i]), values[i+1]))
		}
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("fill: %v", err)
		}
	}
	submit := func(action string) int {
		t.Helper()
		resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(`form[action^="`+action+`"] button[type=submit]`)))
		if err != nil {
			t.Fatalf("submit %s: %v", action, err)
		}
		return int(resp.Status)
	}
	page := func() string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
		if err != nil {
			t.Fatalf("read the page: %v", err)
		}
		return s
	}
	wantPage := func(what string, status, wantStatus int, parts ...string) {
		t.Helper()
		text := page()
		if status != wantStatus {
			t.Fatalf("%s: status %d, want %d:\n%s", what, status, wantStatus, text)
		}
		for _, part := range parts {
			if !strings.Contains(text, part) {
				t.Fatalf("%s: the page lacks %q:\n%s", what, part, text)
			}
		}
	}
	login := func() int {
		t.Helper()
		open(base + "/login")
		fill("username", "kay", "password", e2ePassword)
		return submit("/login")
	}
	verifyLink := func(n int) string {
		t.Helper()
		msgs := smtpSrv.WaitMessagesTo(t, "kay@example.com", n, 15*time.Second)
		pm := smtptest.MustParse(t, msgs[n-1].Data)
		if want := "Verify your email address for " + inviteSiteName; pm.Subject != want {
			t.Fatalf("email %d: subject %q, want %q", n, pm.Subject, want)
		}
		link := linkRE.FindString(pm.Text)
		if link == "" || !strings.Contains(pm.HTML, `href="`+link+`"`) {
			t.Fatalf("email %d holds no verification link on %s:\n%s\n%s", n, base, pm.Text, pm.HTML)
		}
		return link
	}

	// Sign up on the page.
	open(base + "/new-user?invite=" + secret)
	fill("email", "kay@example.com", "name", "Kay Lee", "username", "kay", "password", e2ePassword, "password2", e2ePassword)
	wantPage("sign up", submit("/new-user"), 200, "Check your mailbox to verify your address", "kay@example.com")

	// Logging in is refused, with the reason, after the right password.
	wantPage("log in before verifying", login(), 403, "not verified", "Send the verification email again")
	first := verifyLink(1)

	// Send it again from the login page's button: the first link dies.
	wantPage("send it again", submit("/verify-email"), 200, "Check your mailbox", "kay@example.com")
	second := verifyLink(2)
	if second == first {
		t.Fatal("the resent email carries the first link")
	}
	wantPage("the first link", open(first), 404, "does not work")

	// The second link verifies the address, and logs nobody in.
	wantPage("the second link", open(second), 200, "Your address is verified", "kay@example.com")
	if status := open(base + "/account"); status != 200 || !strings.Contains(page(), "Log in") {
		t.Fatalf("opening the link logged the browser in: %d %s", status, page())
	}
	wantPage("the second link again", open(second), 404, "does not work")

	// Now the login works, and the welcome email, which waited, follows.
	wantPage("log in after verifying", login(), 200, "kay@example.com")
	if at, _ := chromedp.Run(ctx, chromedp.Location()); !strings.HasSuffix(at, "/account") {
		t.Fatalf("after logging in the browser is at %s, want /account", at)
	}
	msgs := smtpSrv.WaitMessagesTo(t, "kay@example.com", 3, 15*time.Second)
	if pm := smtptest.MustParse(t, msgs[2].Data); !strings.HasPrefix(pm.Subject, "Welcome to") {
		t.Fatalf("third email: %q, want the welcome email", pm.Subject)
	}
	status, _, body := do(t, "GET", p.URL+"/api/admin/user-admin", e2eAdminKey, nil)
	wantStatus(t, "list users", status, 200, body)
	if !strings.Contains(string(body), `"emailVerified":true`) {
		t.Errorf("the admin API does not show kay verified: %s", body)
	}
}
