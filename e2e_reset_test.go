package main

// Forgot password end to end (DESIGN §11): the real binary, the test SMTP
// server, and real Chromium going from /login to a new password.

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"invited/internal/testutil"
	"invited/server/smtptest"
)

// TestE2EForgotPassword: from /login a person follows the forgot-password
// link, gives their address, gets the email, opens its link, sets a new
// password and is sent to /login, where the new password works and the
// old one does not; the link opened again says it is used.
func TestE2EForgotPassword(t *testing.T) {
	port := freePort(t)
	base := fmt.Sprintf("http://localhost:%d", port)
	smtpSrv := smtptest.Start(t, smtptest.Config{})
	env := append(mailEnv(smtpSrv.Port()), fmt.Sprintf("INVITED_SERVER_LISTEN=127.0.0.1:%d", port), "INVITED_SERVER_BASE_URL="+base)
	p := startServer(t, t.TempDir(), env...)

	link := createLink(t, p, map[string]any{"name": "team", "expiresAt": e2eFuture})
	res := postSignup(p, link["secret"].(string), signupJSON("ann@example.com", "ann", "Ann Lee"))
	wantStatus(t, "sign up ann", res.status, 200, res.body)

	ctx := gateBrowser(t)
	// at waits until the browser is at want (a whole address) and shows
	// the text in its h1.
	at := func(what, want, h1 string) {
		t.Helper()
		testutil.Eventually(t, 15*time.Second, what, func() error {
			loc, err := chromedp.Run(ctx, chromedp.Location())
			if err != nil || loc != want {
				return fmt.Errorf("at %s (%v), want %s", loc, err, want)
			}
			text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("h1")))
			if err != nil || !strings.Contains(text, h1) {
				return fmt.Errorf("h1 %q (%v), want %q", text, err, h1)
			}
			return nil
		})
	}

	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/login")); err != nil {
		t.Fatalf("open /login: %v", err)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`a[href="/forgot-password"]`))); err != nil {
		t.Fatalf("follow the forgot-password link: %v", err)
	}
	at("the forgot-password page", base+"/forgot-password", "Forgot your password?")
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("email"), "ann@example.com"),
		chromedp.Click(chromedp.CSS(`form[action="/forgot-password"] button[type=submit]`)),
	); err != nil {
		t.Fatalf("ask for a link: %v", err)
	}
	at("the check-your-email page", base+"/forgot-password", "Check your email")

	// The welcome email, then the reset email.
	msgs := smtpSrv.WaitMessagesTo(t, "ann@example.com", 2, 15*time.Second)
	pm := smtptest.MustParse(t, msgs[len(msgs)-1].Data)
	if want := "Reset your password at " + inviteSiteName; pm.Subject != want {
		t.Fatalf("subject %q, want %q; got %v", pm.Subject, want, smtptest.Describe(msgs))
	}
	resetURL := regexp.MustCompile(regexp.QuoteMeta(base) + `/reset-password/[0-9a-f]{64}`).FindString(pm.Text)
	if resetURL == "" {
		t.Fatalf("the email holds no reset link on %s:\n%s", base, pm.Text)
	}
	for _, want := range []string{`href="` + resetURL + `"`, "1 hour", inviteSiteName} {
		if !strings.Contains(pm.HTML, want) {
			t.Errorf("the HTML part lacks %q:\n%s", want, pm.HTML)
		}
	}

	const newPassword = "Copper-Meadow-Lantern-Violet-93"
	if err := chromedp.Do(ctx, chromedp.Navigate(resetURL)); err != nil {
		t.Fatalf("open the emailed link: %v", err)
	}
	at("the reset page", resetURL, "Choose a new password")
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("password"), newPassword),
		chromedp.SendKeys(chromedp.ID("password2"), newPassword),
		chromedp.Click(chromedp.CSS(`form[action^="/reset-password/"] button[type=submit]`)),
	); err != nil {
		t.Fatalf("set the new password: %v", err)
	}
	at("the login page after the reset", base+"/login?reset", "Log in")
	if notice, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(".notice"))); err != nil || !strings.Contains(notice, "Log in with the new password") {
		t.Errorf("notice %q (%v)", notice, err)
	}

	// The old password no longer works; the new one does, in the browser.
	status, _, body := do(t, "POST", p.URL+"/auth/simple/login", "", map[string]any{"username": "ann", "password": e2ePassword})
	wantStatus(t, "log in with the old password", status, 401, body)
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("username"), "ann"),
		chromedp.SendKeys(chromedp.ID("password"), newPassword),
		chromedp.Click(chromedp.CSS(`form[action^="/login"] button[type=submit]`)),
	); err != nil {
		t.Fatalf("log in with the new password: %v", err)
	}
	at("the account page", base+"/account", "Your account")

	// The link a second time: used.
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(resetURL))
	if err != nil {
		t.Fatalf("open the link again: %v", err)
	}
	if resp.Status != 404 {
		t.Errorf("the used link answers %d, want 404", resp.Status)
	}
	at("the used-link page", resetURL, "This reset link is used or expired")
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`a[href="/forgot-password"]`))); err != nil {
		t.Fatalf("the used-link page links to /forgot-password: %v", err)
	}
	at("the forgot-password page again", base+"/forgot-password", "Forgot your password?")
}
