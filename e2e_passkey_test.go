package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"invited/internal/testutil"
)

// waitAt waits until the browser is at a URL starting with prefix.
func waitAt(t *testing.T, ctx context.Context, what, prefix string) {
	t.Helper()
	testutil.Eventually(t, 20*time.Second, what, func() error {
		at, err := chromedp.Run(ctx, chromedp.Location())
		if err != nil || !strings.HasPrefix(at, prefix) {
			return fmt.Errorf("at %s (%v), want %s…", at, err, prefix)
		}
		return nil
	})
}

// waitText waits until the element sel shows text holding want.
func waitText[S chromedp.Selectable](t *testing.T, ctx context.Context, what string, sel S, want string) {
	t.Helper()
	testutil.Eventually(t, 20*time.Second, what, func() error {
		text, err := chromedp.Run(ctx, chromedp.Text(sel))
		if err != nil || !strings.Contains(text, want) {
			return fmt.Errorf("text %q (%v), want %q", text, err, want)
		}
		return nil
	})
}

// TestE2EPasskey runs passkeys in real Chromium with a virtual
// authenticator (CTAP2, internal, resident keys, user verification): log
// in with a password, add a passkey on /account, log out, log in with the
// passkey button without typing anything and land signed in (on the rd
// the login page carried); log in with the password, which now asks for
// the passkey as the second step; remove the passkey, and the button then
// fails.
func TestE2EPasskey(t *testing.T) {
	port := freePort(t)
	// WebAuthn's RP ID cannot be an IP address: the browser talks to
	// localhost, which Chromium treats as a secure context over http.
	base := fmt.Sprintf("http://localhost:%d", port)
	env := []string{fmt.Sprintf("INVITED_SERVER_LISTEN=127.0.0.1:%d", port), "INVITED_SERVER_BASE_URL=" + base}
	p := startServer(t, t.TempDir(), env...)
	link := createLink(t, p, map[string]any{"name": "team", "expiresAt": e2eFuture})
	res := postSignup(p, link["secret"].(string), signupJSON("ann@example.com", "ann", "Ann Lee"))
	wantStatus(t, "sign up ann", res.status, 200, res.body)

	ctx := gateBrowser(t)
	if _, err := chromedp.Call(ctx, webauthn.Enable, webauthn.EnableParams{}); err != nil {
		t.Fatalf("enable WebAuthn in Chromium: %v", err)
	}
	if _, err := chromedp.Call(ctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
		Options: &webauthn.VirtualAuthenticatorOptions{
			Protocol: webauthn.AuthenticatorProtocolCtap2, Ctap2version: webauthn.Ctap2versionCtap21,
			Transport: webauthn.AuthenticatorTransportInternal, HasResidentKey: true, HasUserVerification: true,
			IsUserVerified: true, AutomaticPresenceSimulation: true,
		},
	}); err != nil {
		t.Fatalf("add a virtual authenticator: %v", err)
	}

	// Log in with the password.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/login"),
		chromedp.SendKeys(chromedp.ID("username"), "ann"),
		chromedp.SendKeys(chromedp.ID("password"), e2ePassword),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`)),
	); err != nil {
		t.Fatalf("log in with the password: %v", err)
	}
	waitAt(t, ctx, "the account page after the password", base+"/account")

	// Add a passkey: the script shows the form, the authenticator answers.
	if err := chromedp.Do(ctx,
		chromedp.WaitVisible(chromedp.ID("passkey-add")),
		chromedp.SendKeys(chromedp.ID("passkey-name"), "Virtual key"),
		chromedp.Click(chromedp.CSS(`#passkey-add button[type=submit]`)),
	); err != nil {
		t.Fatalf("add a passkey: %v", err)
	}
	waitAt(t, ctx, "the account page after adding the passkey", base+"/account?passkey-added")
	waitText(t, ctx, "the passkey listed", chromedp.CSS("table.passkeys"), "Virtual key")

	// Log out, then in again with the passkey alone, on the way to the
	// portal (rd=/).
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`form[action="/logout"] button`))); err != nil {
		t.Fatalf("log out: %v", err)
	}
	waitAt(t, ctx, "the login page after logging out", base+"/login?loggedout")
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/login?rd=%2F"),
		chromedp.WaitVisible(chromedp.ID("passkey-login")),
		chromedp.Click(chromedp.ID("passkey-login")),
	); err != nil {
		t.Fatalf("press the passkey button: %v", err)
	}
	waitAt(t, ctx, "the portal after the passkey login", base+"/")
	waitText(t, ctx, "the portal page", chromedp.CSS("h1"), "Your apps")
	status, _, body := do(t, "GET", p.URL+"/api/admin/events?type=passkey-added", e2eAdminKey, nil)
	wantStatus(t, "passkey-added events", status, 200, body)
	if !strings.Contains(string(body), "Virtual key") {
		t.Fatalf("no passkey-added event: %s", body)
	}

	// The password alone is no longer enough: it leads to the second step,
	// which the passkey finishes, on to where the login was going.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/account"),
		chromedp.Click(chromedp.CSS(`form[action="/logout"] button`)),
	); err != nil {
		t.Fatalf("log out before the second step: %v", err)
	}
	waitAt(t, ctx, "the login page before the second step", base+"/login?loggedout")
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/login?rd=%2F"),
		chromedp.SendKeys(chromedp.ID("username"), "ann"),
		chromedp.SendKeys(chromedp.ID("password"), e2ePassword),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`)),
	); err != nil {
		t.Fatalf("the password step: %v", err)
	}
	waitText(t, ctx, "the second step page", chromedp.CSS("h1"), "Use your passkey")
	if status, _, body := do(t, "GET", p.URL+"/api/admin/user", "", nil); status != 401 {
		t.Fatalf("a cookie-less call after the password step: %d %s", status, body)
	}
	if err := chromedp.Do(ctx,
		chromedp.WaitVisible(chromedp.ID("passkey-second")),
		chromedp.Click(chromedp.ID("passkey-second")),
	); err != nil {
		t.Fatalf("press the second step's passkey button: %v", err)
	}
	waitAt(t, ctx, "the portal after the second step", base+"/")
	waitText(t, ctx, "the portal page after the second step", chromedp.CSS("h1"), "Your apps")

	// Remove it (the page asks first), log out; the button now fails.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/account"),
		chromedp.Click(chromedp.CSS(`table.passkeys a[href^="/account/passkeys/remove"]`)),
	); err != nil {
		t.Fatalf("open the removal page: %v", err)
	}
	waitText(t, ctx, "the confirmation page", chromedp.CSS("h1"), "Virtual key")
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`form[action="/account/passkeys/remove"] button`))); err != nil {
		t.Fatalf("confirm the removal: %v", err)
	}
	waitAt(t, ctx, "the account page after removing", base+"/account?passkey-removed")
	waitText(t, ctx, "no passkey left", chromedp.ID("no-passkeys"), "no passkey")
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`form[action="/logout"] button`)),
	); err != nil {
		t.Fatalf("log out again: %v", err)
	}
	waitAt(t, ctx, "the login page", base+"/login?loggedout")
	if err := chromedp.Do(ctx,
		chromedp.WaitVisible(chromedp.ID("passkey-login")),
		chromedp.Click(chromedp.ID("passkey-login")),
	); err != nil {
		t.Fatalf("press the passkey button again: %v", err)
	}
	waitText(t, ctx, "the refusal on the login page", chromedp.ID("passkey-error"), "no longer is")
	if at, _ := chromedp.Run(ctx, chromedp.Location()); !strings.HasPrefix(at, base+"/login") {
		t.Fatalf("a removed passkey logged in: the browser is at %s", at)
	}
	if status, _, body := do(t, "GET", p.URL+"/api/admin/events?type=passkey-removed", e2eAdminKey, nil); status != 200 || !strings.Contains(string(body), "Virtual key") {
		t.Fatalf("no passkey-removed event: %d %s", status, body)
	}
}
