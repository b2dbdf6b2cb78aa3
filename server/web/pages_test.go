package web_test

// The pages in a real browser: Debian's Chromium driven by chromedp over
// the real handler on loopback. Without Chromium the tests skip, except in
// CI (CI=true), where a missing browser is a failure.

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"invited/db"
)

// findChromium returns the path of a Chromium to drive, or "". The
// variable CHROMIUM names another binary (only that one is tried).
func findChromium() string {
	candidates := []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"}
	if p := os.Getenv("CHROMIUM"); p != "" {
		candidates = []string{p}
	}
	for _, name := range candidates {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// mustBrowser starts one headless Chromium with a fresh profile for the
// whole test; each subtest opens its own tab in it.
func mustBrowser(t *testing.T) context.Context {
	t.Helper()
	path := findChromium()
	if path == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("Chromium is missing; install it with: apt-get update && apt-get install -y chromium")
		}
		t.Skip("Chromium is not installed (apt-get install -y chromium); skipping the browser tests")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		// invited.test is loopback: a plain-http host that, unlike
		// localhost, is not a secure context.
		chromedp.Flag("host-resolver-rules", "MAP *.test 127.0.0.1"),
		chromedp.UserDataDir(t.TempDir()),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx); err != nil { // starts the browser, with no deadline
		t.Fatalf("start Chromium (%s): %v", path, err)
	}
	return ctx
}

// tab opens a new tab for one subtest, with a deadline for its actions.
func tab(t *testing.T, browser context.Context) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatal(err)
	}
	ctx, cancelTimeout := context.WithTimeout(ctx, 30*time.Second)
	t.Cleanup(cancelTimeout)
	return ctx
}

// open navigates and returns the document's HTTP status.
func open(t *testing.T, ctx context.Context, url string) int {
	t.Helper()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(url))
	if err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	return int(resp.Status)
}

// fill types each value into the input with that id.
func fill(t *testing.T, ctx context.Context, values ...string) {
	t.Helper()
	var steps []chromedp.Action[chromedp.Void]
	for i := 0; i+1 < len(values); i += 2 {
		steps = append(steps, chromedp.SendKeys(chromedp.ID(values[i]), values[i+1]))
	}
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("fill: %v", err)
	}
}

// submit presses the submit button of the form posting to action and
// returns the status of the page it leads to.
func submit(t *testing.T, ctx context.Context, action string) int {
	t.Helper()
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(`form[action^="`+action+`"] button[type=submit]`)))
	if err != nil {
		t.Fatalf("submit %s: %v", action, err)
	}
	return int(resp.Status)
}

func text(t *testing.T, ctx context.Context, css string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(css)))
	if err != nil {
		t.Fatalf("text of %s: %v", css, err)
	}
	return s
}

func value(t *testing.T, ctx context.Context, id string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Value(chromedp.ID(id)))
	if err != nil {
		t.Fatalf("value of #%s: %v", id, err)
	}
	return s
}

func TestPagesInChromium(t *testing.T) {
	browser := mustBrowser(t)
	ts := mustServer(t)
	admin := db.Actor{Kind: "apikey", Name: "t", Role: db.RoleAdmin}

	t.Run("signup through a link", func(t *testing.T) {
		ctx := tab(t, browser)
		link := ts.mustLink(t, db.NewSignupToken{Name: "Autumn cohort", Description: "Welcome to the autumn cohort."})
		if status := open(t, ctx, ts.URL+"/new-user?invite="+link.Secret); status != 200 {
			t.Fatalf("signup page: %d", status)
		}
		if got := text(t, ctx, "main .lead"); !strings.Contains(got, "test") {
			t.Errorf("the page does not name the site: %q", got)
		}
		// The link's name is private to admins; its description is public.
		if got := text(t, ctx, "main"); !strings.Contains(got, "Welcome to the autumn cohort.") || strings.Contains(got, "Autumn cohort") {
			t.Errorf("the page shows the private name or not the description: %q", got)
		}
		// The stylesheet loads under the page's CSP (DevTools may evaluate
		// script; the page itself may not).
		if bg, err := chromedp.Run(ctx, chromedp.Evaluate[string](`getComputedStyle(document.querySelector("main")).borderTopStyle`)); err != nil || bg != "solid" {
			t.Errorf("the stylesheet is not applied: main's border is %q (%v)", bg, err)
		}
		fill(t, ctx, "email", "lin@example.com", "name", "Lin Chen", "username", "lin",
			"password", testPassword, "password2", testPassword)
		if status := submit(t, ctx, "/new-user"); status != 200 {
			t.Fatalf("submit: %d", status)
		}
		if h1 := text(t, ctx, "h1"); h1 != "Welcome, Lin Chen" {
			t.Errorf("success page says %q", h1)
		}
		if next := text(t, ctx, "main"); !strings.Contains(next, "log in now at /login") {
			t.Errorf("the success page does not say what happens next: %q", next)
		}
		u, err := ts.store.FindUserByLogin("lin@example.com")
		if err != nil || u.Username != "lin" || u.LinkID != link.ID {
			t.Fatalf("user %+v, %v", u, err)
		}
		resp, _ := ts.call(t, "GET", "/api/admin/user-admin/"+strconv.FormatUint(u.ID, 10), "Bearer "+testKey, "")
		if resp.StatusCode != 200 {
			t.Errorf("the API does not show the user: %d", resp.StatusCode)
		}
	})

	t.Run("weak password is shown next to its field", func(t *testing.T) {
		ctx := tab(t, browser)
		link := ts.mustLink(t, db.NewSignupToken{})
		open(t, ctx, ts.URL+"/new-user?invite="+link.Secret)
		fill(t, ctx, "email", "weak@example.com", "name", "Wei K", "username", "weak",
			"password", "password123", "password2", "password123")
		if status := submit(t, ctx, "/new-user"); status != 400 {
			t.Fatalf("submit: %d, want 400", status)
		}
		attrs, err := chromedp.Run(ctx, chromedp.Attributes(chromedp.ID("password")))
		if err != nil {
			t.Fatal(err)
		}
		if attrs["aria-invalid"] != "true" {
			t.Errorf("password field attributes %v: not aria-invalid", attrs)
		}
		var described string
		for _, id := range strings.Fields(attrs["aria-describedby"]) {
			described += text(t, ctx, "#"+id) + "\n"
		}
		if !strings.Contains(described, "Password is too easy to guess") {
			t.Errorf("aria-describedby %q resolves to %q, not the message", attrs["aria-describedby"], described)
		}
		if got := text(t, ctx, `[role="alert"]`); !strings.Contains(got, "too easy to guess") {
			t.Errorf("summary: %q", got)
		}
		for id, want := range map[string]string{"email": "weak@example.com", "name": "Wei K", "username": "weak", "password": "", "password2": ""} {
			if got := value(t, ctx, id); got != want {
				t.Errorf("#%s holds %q, want %q", id, got, want)
			}
		}
		if _, err := ts.store.FindUserByLogin("weak@example.com"); err == nil {
			t.Error("a refused signup created a user")
		}
	})

	t.Run("expired link", func(t *testing.T) {
		ctx := tab(t, browser)
		link := ts.mustLink(t, db.NewSignupToken{})
		past := time.Now().Add(-time.Minute)
		if _, err := ts.store.UpdateSignupToken(admin, link.Secret, db.SignupTokenUpdate{ExpiresAt: &past}); err != nil {
			t.Fatal(err)
		}
		if status := open(t, ctx, ts.URL+"/new-user?invite="+link.Secret); status != http.StatusGone {
			t.Errorf("status %d, want 410", status)
		}
		if h1 := text(t, ctx, "h1"); !strings.Contains(h1, "expired") {
			t.Errorf("heading %q does not say expired", h1)
		}
		if body := text(t, ctx, "main"); !strings.Contains(body, "ask") || !strings.Contains(body, "new") {
			t.Errorf("the page does not say what to do: %q", body)
		}
	})

	t.Run("accept an invitation", func(t *testing.T) {
		ctx := tab(t, browser)
		inv, err := ts.store.CreateInvitation(admin, db.NewInvitation{
			Email: "rosa@example.com", DefaultTTL: time.Hour, Inviter: "Mara Admin", Role: db.RoleEditor})
		if err != nil {
			t.Fatal(err)
		}
		if status := open(t, ctx, ts.URL+"/invitations/"+inv.Token); status != 200 {
			t.Fatalf("invitation page: %d", status)
		}
		if lead := text(t, ctx, "main .lead"); !strings.Contains(lead, "Mara Admin") {
			t.Errorf("the page does not say who invited: %q", lead)
		}
		attrs, err := chromedp.Run(ctx, chromedp.Attributes(chromedp.ID("email")))
		if err != nil {
			t.Fatal(err)
		}
		if _, ro := attrs["readonly"]; !ro || attrs["value"] != "rosa@example.com" {
			t.Errorf("email field %v: want the invited address, read-only", attrs)
		}
		fill(t, ctx, "name", "Rosa Park", "password", testPassword, "password2", testPassword)
		if status := submit(t, ctx, "/invitations/"); status != 200 {
			t.Fatalf("accept: %d", status)
		}
		if h1 := text(t, ctx, "h1"); h1 != "Welcome, Rosa Park" {
			t.Errorf("success page says %q", h1)
		}
		u, err := ts.store.FindUserByLogin("rosa@example.com")
		if err != nil || u.RootRole != db.RoleEditor {
			t.Fatalf("user %+v, %v", u, err)
		}
	})

	t.Run("log in and change the password", func(t *testing.T) {
		ctx := tab(t, browser)
		u := ts.mustUser(t, db.RoleViewer)
		open(t, ctx, ts.URL+"/account")
		if loc, _ := chromedp.Run(ctx, chromedp.Location()); !strings.HasSuffix(loc, "/login") {
			t.Fatalf("/account without a session went to %s", loc)
		}
		fill(t, ctx, "username", u.Username, "password", testPassword)
		if status := submit(t, ctx, "/login"); status != 200 {
			t.Fatalf("login: %d", status)
		}
		if body := text(t, ctx, "dl.facts"); !strings.Contains(body, u.Email) || !strings.Contains(body, "Viewer") {
			t.Fatalf("account page: %q", body)
		}
		const next = "amber falcon orchard tide"
		fill(t, ctx, "current-password", testPassword, "new-password", next, "new-password-again", next)
		if status := submit(t, ctx, "/account/password"); status != 200 {
			t.Fatalf("change: %d", status)
		}
		if notice := text(t, ctx, ".notice"); !strings.Contains(notice, "password has been changed") {
			t.Errorf("notice %q", notice)
		}
		if status := submit(t, ctx, "/logout"); status != 200 {
			t.Fatalf("logout: %d", status)
		}
		fill(t, ctx, "username", u.Email, "password", testPassword)
		if status := submit(t, ctx, "/login"); status != 401 {
			t.Errorf("old password: %d, want 401", status)
		}
		if got := text(t, ctx, `[role="alert"]`); !strings.Contains(got, "Wrong username or password") {
			t.Errorf("old password: summary %q", got)
		}
		fill(t, ctx, "password", next) // the username is still there
		if status := submit(t, ctx, "/login"); status != 200 {
			t.Fatalf("new password: %d", status)
		}
		if loc, _ := chromedp.Run(ctx, chromedp.Location()); !strings.HasSuffix(loc, "/account") {
			t.Errorf("after login: %s", loc)
		}
	})

	// A team on a private network may serve invited over plain http at a
	// name such as invited.test. Chromium sends no Sec-Fetch-Site there,
	// so the CSRF check reads Origin, which must be the page's own origin
	// (not "null", as Referrer-Policy no-referrer would make it).
	t.Run("log in over plain http at a host name", func(t *testing.T) {
		ctx := tab(t, browser)
		u := ts.mustUser(t, db.RoleViewer)
		base := strings.Replace(ts.URL, "127.0.0.1", "invited.test", 1)
		open(t, ctx, base+"/login")
		fill(t, ctx, "username", u.Username, "password", testPassword)
		if status := submit(t, ctx, "/login"); status != 200 {
			t.Fatalf("login at %s: %d, want 200", base, status)
		}
		if loc, _ := chromedp.Run(ctx, chromedp.Location()); loc != base+"/account" {
			t.Errorf("after login: %s, want %s/account", loc, base)
		}
	})

	t.Run("screenshots", func(t *testing.T) {
		if os.Getenv("INVITED_SCREENSHOTS") != "1" {
			t.Skip("set INVITED_SCREENSHOTS=1 to write docs/signup-*.png")
		}
		link := ts.mustLink(t, db.NewSignupToken{Name: "Autumn cohort"})
		for _, shot := range []struct {
			file          string
			width, height int64
			opts          []chromedp.EmulateViewportOption
		}{
			{"signup-phone.png", 390, 844, []chromedp.EmulateViewportOption{chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulatePortrait}},
			{"signup-desktop.png", 1280, 800, nil},
		} {
			ctx := tab(t, browser)
			if err := chromedp.Do(ctx, chromedp.EmulateViewport(shot.width, shot.height, shot.opts...)); err != nil {
				t.Fatal(err)
			}
			open(t, ctx, ts.URL+"/new-user?invite="+link.Secret)
			png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("..", "..", "docs", shot.file)
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, png, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("wrote %s (%d bytes)", path, len(png))
		}
	})
}
