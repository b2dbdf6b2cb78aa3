package main

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"invited/server/smtptest"
)

// TestE2EApprovalInChromium runs DESIGN §12's approval in a real browser
// against the binary, with a real SMTP server: a signup on the page
// through a link with requireApproval is told it waits, the right
// password shows the waiting page and opens no session, the Admin gets
// an email naming the user and where to approve, approving through the
// API emails the user, and then the login works.
func TestE2EApprovalInChromium(t *testing.T) {
	smtpSrv := smtptest.Start(t, smtptest.Config{})
	port := freePort(t)
	base := fmt.Sprintf("http://localhost:%d", port)
	p := startServer(t, t.TempDir(), mailEnv(smtpSrv.Port(),
		fmt.Sprintf("INVITED_SERVER_LISTEN=127.0.0.1:%d", port), "INVITED_SERVER_BASE_URL="+base)...)

	// An Admin with an address, to be told.
	admins := createLink(t, p, map[string]any{"name": "admins", "expiresAt": e2eFuture, "role": 1})["secret"].(string)
	status, _, body := do(t, "POST", p.URL+"/invite/"+admins+"/signup", "",
		fmt.Sprintf(`{"email":"boss@example.org","name":"Boss","password":%q}`, e2ePassword))
	wantStatus(t, "the Admin signs up", status, 200, body)
	secret := createLink(t, p, map[string]any{"name": "Contractors", "expiresAt": e2eFuture, "requireApproval": true})["secret"].(string)

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
	wantPage := func(what string, status, wantStatus int, parts ...string) {
		t.Helper()
		text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
		if err != nil {
			t.Fatalf("read the page: %v", err)
		}
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

	open(base + "/new-user?invite=" + secret)
	fill("email", "kay@example.org", "name", "Kay Lee", "username", "kay", "password", e2ePassword, "password2", e2ePassword)
	wantPage("sign up", submit("/new-user"), 200, "waits for an admin's approval", "kay@example.org")

	// The right password shows the waiting page; no session cookie.
	wantPage("log in while waiting", login(), 403, "Your account waits for an admin's approval", "kay@example.org")
	cookies, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.cookie`))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(cookies, "invited_session") {
		t.Fatalf("a waiting user got a session: %s", cookies)
	}

	// The Admin's email names the user, the link and where to approve.
	msgs := smtpSrv.WaitMessagesTo(t, "boss@example.org", 1, 15*time.Second)
	ask := smtptest.MustParse(t, msgs[len(msgs)-1].Data)
	if want := "A new signup waits for your approval at " + inviteSiteName; ask.Subject != want {
		t.Fatalf("the Admin's email: subject %q, want %q", ask.Subject, want)
	}
	approveRE := regexp.MustCompile(regexp.QuoteMeta(base) + `/api/admin/user-admin/([0-9]+)/approve`)
	m := approveRE.FindStringSubmatch(ask.Text)
	if m == nil || !strings.Contains(ask.Text, "Kay Lee <kay@example.org>") || !strings.Contains(ask.Text, `"Contractors"`) ||
		!strings.Contains(ask.Text, "invited admin") || !strings.Contains(ask.HTML, m[0]) {
		t.Fatalf("the Admin's email lacks the user, the link or where to approve:\n%s\n%s", ask.Text, ask.HTML)
	}

	// Approve through the API the email names.
	status, _, body = do(t, "POST", p.URL+"/api/admin/user-admin/"+m[1]+"/approve", e2eAdminKey, nil)
	wantStatus(t, "approve", status, 200, body)
	var u struct {
		Email   string `json:"email"`
		Pending bool   `json:"pendingApproval"`
	}
	if err := json.Unmarshal(body, &u); err != nil || u.Email != "kay@example.org" || u.Pending {
		t.Fatalf("approve answered %s (%v)", body, err)
	}
	msgs = smtpSrv.WaitMessagesTo(t, "kay@example.org", 1, 15*time.Second)
	if pm := smtptest.MustParse(t, msgs[len(msgs)-1].Data); pm.Subject != "Your account at "+inviteSiteName+" is approved" || !strings.Contains(pm.Text, base+"/login") {
		t.Fatalf("the user's email: %q\n%s", pm.Subject, pm.Text)
	}

	wantPage("log in after approval", login(), 200, "kay@example.org")
	if at, _ := chromedp.Run(ctx, chromedp.Location()); !strings.HasSuffix(at, "/account") {
		t.Fatalf("after logging in the browser is at %s, want /account", at)
	}
}
