package main

// The second factor end to end (DESIGN §11): the real binary on the real
// clock and real Chromium. A person turns an authenticator app on at
// /account (reading the key from the page, as they would type it into
// the app), logs out, logs in with the password and then a code, and
// uses a recovery code once.

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"

	"invited/internal/testutil"
)

// secondFactorBrowser is Chromium for this test, with room for the
// waits for fresh 30-second windows.
func secondFactorBrowser(t *testing.T) context.Context {
	t.Helper()
	path := mustTool(t, "chromium", "/usr/bin/chromium", "chromium-browser", "google-chrome")
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium (%s): %v", path, err)
	}
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(cancelTimeout)
	return ctx
}

func TestE2ESecondFactor(t *testing.T) {
	port := freePort(t)
	base := fmt.Sprintf("http://localhost:%d", port)
	p := startServer(t, t.TempDir(), fmt.Sprintf("INVITED_SERVER_LISTEN=127.0.0.1:%d", port), "INVITED_SERVER_BASE_URL="+base)
	link := createLink(t, p, map[string]any{"name": "team", "expiresAt": e2eFuture})
	res := postSignup(p, link["secret"].(string), signupJSON("tess@example.com", "tess", "Tess Ray"))
	wantStatus(t, "sign up tess", res.status, 200, res.body)

	ctx := secondFactorBrowser(t)
	run := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	waitAt := func(path string) {
		t.Helper()
		testutil.Eventually(t, 20*time.Second, "the browser at "+path, func() error {
			at, err := chromedp.Run(ctx, chromedp.Location())
			if err != nil || !strings.HasPrefix(at, base+path) {
				return fmt.Errorf("at %s (%v)", at, err)
			}
			return nil
		})
	}
	textOf := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("read %s: %v", sel, err)
		}
		return strings.TrimSpace(s)
	}
	password := func() {
		t.Helper()
		run("open /login", chromedp.Navigate(base+"/login"))
		run("log in with the password",
			chromedp.SendKeys(chromedp.ID("username"), "tess"),
			chromedp.SendKeys(chromedp.ID("password"), e2ePassword),
			chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`)))
	}
	logout := func() {
		t.Helper()
		run("log out", chromedp.Navigate(base+"/account"), chromedp.Click(chromedp.CSS(`form[action="/logout"] button`)))
		waitAt("/login?loggedout")
	}

	// The code of the authenticator app, typed as a person would: at the
	// real clock, in a time step newer than the last one used (a code is
	// taken once), and not in the last seconds of its 30-second window.
	var secret string
	var lastStep int64
	typeCode := func(submit string) {
		t.Helper()
		testutil.Eventually(t, 70*time.Second, "a fresh 30-second window", func() error {
			now := time.Now().Unix()
			if now/30 <= lastStep || now%30 > 20 {
				return fmt.Errorf("step %d, %d s into it (last used %d)", now/30, now%30, lastStep)
			}
			return nil
		})
		now := time.Now()
		code, err := totp.GenerateCode(secret, now)
		if err != nil {
			t.Fatal(err)
		}
		lastStep = now.Unix() / 30
		run("type the code", chromedp.SendKeys(chromedp.ID("code"), code), chromedp.Click(chromedp.CSS(submit)))
	}

	// Turn the authenticator app on at /account.
	password()
	waitAt("/account")
	run("start the setup", chromedp.Click(chromedp.CSS(`form[action="/account/totp"] button`)))
	secret = textOf("#totp-secret")
	if len(secret) != 32 {
		t.Fatalf("the page shows the key %q", secret)
	}
	// The QR code is drawn: the page's CSP lets its data: image load.
	width, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelector(".qr img").naturalWidth`))
	if err != nil || width == 0 {
		t.Fatalf("the QR code did not load (width %d, %v)", width, err)
	}
	typeCode(`form[action="/account/totp/confirm"] button`)
	codes := strings.Fields(textOf("#recovery-codes"))
	if len(codes) != 10 {
		t.Fatalf("recovery codes %q", codes)
	}
	run("continue", chromedp.Click(chromedp.CSS(`main a[href="/account?totp-on"]`)))
	waitAt("/account?totp-on")
	logout()

	// The password alone opens no session; the code does.
	password()
	testutil.Eventually(t, 20*time.Second, "the second step", func() error {
		if h, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("h1"))); err != nil || h != "Second step" {
			return fmt.Errorf("the page says %q (%v)", h, err)
		}
		return nil
	})
	typeCode(`form[action="/login/second-factor"] button`)
	waitAt("/account")
	logout()

	// A recovery code works once.
	password()
	run("type a recovery code", chromedp.SendKeys(chromedp.ID("code"), codes[0]),
		chromedp.Click(chromedp.CSS(`form[action="/login/second-factor"] button`)))
	waitAt("/account")
	logout()
	password()
	run("type the used recovery code again", chromedp.SendKeys(chromedp.ID("code"), codes[0]),
		chromedp.Click(chromedp.CSS(`form[action="/login/second-factor"] button`)))
	testutil.Eventually(t, 20*time.Second, "the used recovery code refused", func() error {
		if msg, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("code-error"))); err != nil || !strings.Contains(msg, "not right") {
			return fmt.Errorf("error text %q (%v)", msg, err)
		}
		return nil
	})
	if at, _ := chromedp.Run(ctx, chromedp.Location()); !strings.HasPrefix(at, base+"/login/second-factor") {
		t.Fatalf("after a used recovery code at %s", at)
	}
}
