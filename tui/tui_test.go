package tui

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
	"github.com/pquerna/otp/totp"

	"invited/db"
)

func TestTabsRenderAt80x24(t *testing.T) {
	h := newHarness(t, true)
	for _, tc := range []struct{ key, name string }{
		{"1", "links"}, {"2", "invitations"}, {"3", "users"},
		{"4", "apikeys"}, {"5", "orgs"}, {"6", "audit"}, {"7", "groups"}, {"8", "apps"}, {"9", "webhooks"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h.t = t
			h.keys(tc.key)
			h.golden()
		})
	}
}

func TestTabKeysCycle(t *testing.T) {
	h := newHarness(t, true)
	want := []string{"Invitations", "Users", "API keys", "Organizations", "Audit log", "Groups", "Apps", "Webhooks", "Signup links"}
	for _, name := range want {
		h.keys("tab")
		h.contains("invited admin · " + name)
	}
	h.keys("shift+tab")
	h.contains("invited admin · Webhooks")
}

func TestKeysArrivingTogether(t *testing.T) {
	// tmux send-keys "5" "n" "Acme" writes "5nAcme" at once.
	h := newHarness(t, true)
	h.send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("5nAcme")})
	h.keys("enter", "enter")
	h.contains(`Created the organization "Acme" (acme).`)
	// A paste stays one piece of text.
	h.keys("n")
	h.send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("q1 Pasted"), Paste: true})
	h.contains("q1 Pasted", "New organization")
}

func TestEmptyStore(t *testing.T) {
	h := newHarness(t, false)
	h.contains("0 signup links", "Nothing here yet.")
	h.keys("5")
	h.contains("1 organization", "default")
}

func TestCreateLinkByKeystrokes(t *testing.T) {
	h := newHarness(t, false)
	h.keys("n")
	h.typeText("Spring interns")
	h.keys("tab")
	h.typeText("Welcome to the spring internship")
	h.keys("tab")
	h.keys("ctrl+u") // clear the default 7d
	h.typeText("48h")
	h.keys("tab", "left") // Role: Viewer → Editor
	h.keys("tab")
	h.typeText("5")
	h.keys("tab")
	h.typeText("Example.com, example.org")
	h.keys("tab") // Approval: not required
	h.golden("form")
	h.keys("enter") // enter on the last field submits
	h.golden("created")

	tokens, err := h.store.ListSignupTokens(testAdmin)
	if err != nil || len(tokens) != 1 {
		t.Fatalf("links %v, %v", tokens, err)
	}
	tok := tokens[0]
	if tok.Name != "Spring interns" || tok.Description != "Welcome to the spring internship" || tok.Role != db.RoleEditor || tok.MaxUses != 5 ||
		!tok.ExpiresAt.Equal(fixedNow.Add(48*time.Hour)) || strings.Join(tok.AllowedDomains, ",") != "example.com,example.org" {
		t.Errorf("created %+v", tok)
	}
}

func TestCreateLinkCtrlSFromFirstField(t *testing.T) {
	h := newHarness(t, false)
	h.keys("n")
	h.typeText("Quick")
	h.keys("ctrl+s")
	h.contains(`Created the signup link "Quick"`, "Quick", "enabled", "in 7 days")
}

func TestLinkFormValidation(t *testing.T) {
	h := newHarness(t, false)
	h.keys("n", "tab", "tab", "ctrl+u")
	h.typeText("tomorrow")
	h.keys("tab", "tab")
	h.typeText("-3")
	h.keys("tab")
	h.typeText("example")
	h.keys("ctrl+s")
	h.golden()
	if tokens, _ := h.store.ListSignupTokens(testAdmin); len(tokens) != 0 {
		t.Fatalf("created %v", tokens)
	}
	// The first marked field has the focus; fixing the fields clears
	// the marks and creates the link.
	h.typeText("Fixed")
	h.keys("tab", "tab", "ctrl+u")
	h.typeText("2030-01-31T12:00:00Z")
	h.keys("tab", "tab", "ctrl+u", "tab", "ctrl+u", "ctrl+s")
	h.contains(`Created the signup link "Fixed"`)
	h.lacks("!")
}

func TestInvitationFormValidation(t *testing.T) {
	h := newHarness(t, true)
	h.keys("2", "n")
	h.typeText("not-an-email")
	h.keys("ctrl+s")
	h.golden()
}

func TestInvitationConflictFromBackend(t *testing.T) {
	// The backend's *db.Error details land next to their field.
	h := newHarness(t, true)
	h.keys("2", "n")
	h.typeText("ada@example.com") // has an account
	h.keys("ctrl+s")
	h.contains("! has an account", "error: ada@example.com already has an account")
}

func TestCreateInvitationShowsLinkOnce(t *testing.T) {
	h := newHarness(t, true)
	h.keys("2", "n")
	h.typeText("barbara@example.com")
	h.keys("tab", "left", "tab", "left", "tab", "tab", "right") // Editor, acme-research, 7d, no email
	h.keys("enter", "enter")                                    // on to the inviter, and save
	h.golden()
	h.keys("c")
	seq := h.clip.String()
	if !strings.HasPrefix(seq, "\x1b]52;c;") {
		t.Fatalf("no OSC 52 sequence: %q", seq)
	}
	b64 := strings.TrimSuffix(strings.TrimPrefix(seq, "\x1b]52;c;"), "\a")
	uri, _ := base64.StdEncoding.DecodeString(b64)
	if !strings.HasPrefix(string(uri), "http://localhost:4242/invitations/") {
		t.Errorf("copied %q", uri)
	}
	h.contains("copied: http://localhost:4242/invitations/", strings.TrimPrefix(string(uri), "http://localhost:4242/invitations/"))
	h.keys("Q")
	h.contains("Scan it with a phone")
	h.keys("esc", "esc")
	h.contains("barbara@example.com", "acme-resear")

	invs, _, _ := h.store.ListInvitations(testAdmin, "", 0, 10)
	last := invs[len(invs)-1]
	if last.Email != "barbara@example.com" || last.Role != db.RoleEditor || last.OrgID != "acme-research" || !last.DisableEmail {
		t.Errorf("created %+v", last)
	}
}

// The invitation form asks whose name the email is signed with (never
// the terminal's login), offers the site's team first and then the name
// last given, and says truthfully when the email goes out: with the
// server stopped, nothing sends it until the server starts.
func TestInvitationInviterAndEmailNote(t *testing.T) {
	h := newHarness(t, true)
	h.keys("2", "n")
	h.contains("Inviter", "The team.example.com team")
	h.lacks("root")
	h.typeText("barbara@example.com")
	h.keys("tab", "tab", "tab", "tab", "tab", "ctrl+u", "ctrl+s") // an empty inviter
	h.contains("! give the name the email is signed with")
	h.typeText("Ada Lovelace")
	h.keys("ctrl+s")
	h.contains("Invitation created", "will be sent when the server starts")
	h.lacks("on its way", "is queued: the server sends it now")

	invs, _, err := h.store.ListInvitations(testAdmin, "", 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	last := invs[len(invs)-1]
	if last.Email != "barbara@example.com" || last.Inviter != "Ada Lovelace" {
		t.Errorf("created %s signed %q, want barbara@example.com signed Ada Lovelace", last.Email, last.Inviter)
	}
	due, err := h.store.DueEmails(fixedNow, 10)
	if err != nil || len(due) == 0 || due[len(due)-1].To != "barbara@example.com" || due[len(due)-1].Inviter != "Ada Lovelace" {
		t.Errorf("queued emails %+v, %v: want barbara's, signed Ada Lovelace", due, err)
	}

	// The name is kept for the next invitation.
	h.keys("esc", "n")
	h.contains("New invitation", "Ada Lovelace")
	h.lacks("The team.example.com team")
}

func TestInvitationEmailNoteInServerMode(t *testing.T) {
	h := newHarnessWith(t, true, func(o *Options) { o.Mode = "server" })
	h.keys("2", "n")
	h.typeText("barbara@example.com")
	h.keys("ctrl+s")
	h.contains("Invitation created", "is queued: the server sends it now")
	h.lacks("on its way", "when the server starts")
	// A resend says the same.
	h.keys("esc", "down", "down", "r", "enter")
	h.contains("Invitation resent", "is queued: the server sends it now")
}

func TestRevokeAsksFirst(t *testing.T) {
	h := newHarness(t, true)
	h.keys("2", "x")
	h.golden()
	h.keys("n")
	h.contains("Nothing changed.")
	if inv, _ := h.store.GetInvitation(testAdmin, 1); inv.State != db.InvitationPending {
		t.Fatalf("state %s after no", inv.State)
	}
	h.keys("x", "y")
	h.contains("Revoked the invitation of grace@example.com.", "revoked")
	if inv, _ := h.store.GetInvitation(testAdmin, 1); inv.State != db.InvitationRevoked {
		t.Fatalf("state %s after yes", inv.State)
	}
}

func TestResendShowsNewLink(t *testing.T) {
	h := newHarness(t, true)
	h.keys("2", "down", "r")
	// Resend asks how long the new link works, the invitation's ttl first.
	h.contains("Resend the invitation of edsger@example.net", "Valid for       3d")
	h.keys("ctrl+u")
	h.typeText("10d")
	h.keys("enter")
	h.contains("Invitation resent", "edsger@example.net", "http://localhost:4242/invitations/", "2026-01-12 04:04 (in 10 days)")
	if inv, _ := h.store.GetInvitation(testAdmin, 2); !inv.ExpiresAt.Equal(fixedNow.Add(10*24*time.Hour)) || inv.TTL != 10*24*time.Hour {
		t.Fatalf("after resend: expires %v, ttl %v", inv.ExpiresAt, inv.TTL)
	}
}

func TestDisableAsksEnableDoesNot(t *testing.T) {
	h := newHarness(t, true)
	h.keys("t")
	h.contains("Disable the signup link \"Team onboarding\"?")
	h.keys("y")
	h.contains("Disabled the signup link", "disabled")
	h.keys("t")
	h.contains("Enabled the signup link \"Team onboarding\".")
}

func TestExtendLink(t *testing.T) {
	h := newHarness(t, true)
	h.keys("down", "e", "ctrl+u")
	h.typeText("30d")
	h.keys("enter")
	h.contains(`"Interns 2026" now expires 2026-02-01 04:04 (in 30 days)`)
	if row := h.row("Interns 2026"); !strings.Contains(row, "in 30 days") {
		t.Errorf("row %q, want it to expire in 30 days", row)
	}
}

func TestLinkDetailShowsWhoJoined(t *testing.T) {
	h := newHarness(t, true)
	h.keys("enter")
	h.golden()
	h.keys("esc")
	h.contains("NAME", "Interns 2026")
}

func TestLinkQRCodeFits80x24(t *testing.T) {
	h := newHarness(t, true)
	h.keys("Q")
	h.golden()
}

func TestFilterNarrowsTable(t *testing.T) {
	h := newHarness(t, true)
	h.keys("/")
	h.typeText("intern")
	h.golden()
	h.keys("enter")
	h.contains(`1 signup link of 2 match "intern"`)
	h.lacks("Team onboarding")
	h.keys("esc")
	h.contains("2 signup links", "Team onboarding", "Interns 2026")
}

func TestFilterTakesDigitsAndLetters(t *testing.T) {
	// While typing a filter, 1–6, q and n are text, not commands.
	h := newHarness(t, true)
	h.keys("/")
	h.typeText("2026qn")
	h.contains("invited admin · Signup links", "/2026qn", "Nothing matches")
	if h.quit {
		t.Fatal("q quit while filtering")
	}
}

func TestHelpToggles(t *testing.T) {
	h := newHarness(t, true)
	h.keys("?")
	h.golden()
	h.keys("?")
	h.contains("? help • q quit")
	h.lacks("fewer keys")
}

func TestUserRoleUnlockDelete(t *testing.T) {
	h := newHarness(t, true)
	h.keys("3", "r", "left", "enter") // Viewer → Editor
	h.contains("ada@example.com is now Editor.")
	if u, _ := h.store.FindUserByID(1); u.RootRole != db.RoleEditor {
		t.Fatalf("role %v", u.RootRole)
	}
	h.keys("u")
	h.contains("has no failed logins")
	h.keys("down", "d")
	h.contains("Delete the user alan@example.org?")
	h.keys("y")
	h.contains("Deleted the user alan@example.org.", "1 user")
}

func TestUserDisableEnable(t *testing.T) {
	h := newHarness(t, true)
	h.keys("3", "down", "x")
	h.contains("Disable the user alan@example.org?")
	h.keys("n")
	if u, _ := h.store.FindUserByID(2); u.Disabled {
		t.Fatal("disabled without a yes")
	}
	h.keys("x", "y")
	h.contains("Disabled alan@example.org")
	if row := h.row("alan@example.org"); !strings.HasSuffix(row, "disabled") {
		t.Fatalf("row %q", row)
	}
	if u, _ := h.store.FindUserByID(2); !u.Disabled {
		t.Fatal("not disabled in the store")
	}
	h.keys("enter")
	h.contains("disabled: cannot log in")
	h.keys("esc", "x")
	h.contains("Enable the user alan@example.org?")
	h.keys("y")
	h.contains("Enabled alan@example.org")
	if row := h.row("alan@example.org"); !strings.HasSuffix(row, " ok") {
		t.Fatalf("row %q", row)
	}
	if events, _, _ := h.store.ListEvents(db.EventUserEnabled, 0, 10); len(events) != 1 {
		t.Fatalf("enable events %+v", events)
	}
}

func TestSlowedUserShowsAndUnlocks(t *testing.T) {
	h := newHarness(t, true)
	for range 10 {
		if _, err := h.store.RecordLogin(2, db.PasswordWrong, db.Throttle{MaxAttempts: 10}, time.Hour); db.ErrorCode(err) != db.EUNAUTHORIZED {
			t.Fatalf("wrong password: %v", err)
		}
	}
	h.keys("3")
	if row := h.row("alan@example.org"); !strings.HasSuffix(row, "slowed") {
		t.Fatalf("row %q", row)
	}
	h.keys("down", "enter")
	h.contains("slowed until 2026-01-02 04:05 (in 1 minute)", "10 (waits start at 10)")
	h.keys("esc", "u")
	h.contains("Unlocked alan@example.org")
	if row := h.row("alan@example.org"); !strings.HasSuffix(row, " ok") {
		t.Fatalf("row %q", row)
	}
	if u, _ := h.store.FindUserByID(2); u.LoginAttempts != 0 || u.ThrottledUntil != nil {
		t.Fatalf("after unlock: %d failed logins, wait until %v", u.LoginAttempts, u.ThrottledUntil)
	}
}

func TestCreateAPIKeyShownOnce(t *testing.T) {
	h := newHarness(t, true)
	h.keys("4", "n")
	h.typeText("deploy")
	h.keys("enter", "enter")
	h.golden()
	h.keys("esc")
	h.contains("deploy", "2 API keys")
	h.keys("x", "y")
	h.contains(`Revoked the API key "deploy".`, "1 API key")
}

func TestOrganizationErrors(t *testing.T) {
	h := newHarness(t, true)
	h.keys("5", "down", "d", "y") // default
	h.contains("error: Could not delete: The default organization cannot be deleted.")
	h.keys("n")
	h.typeText("Acme")
	h.keys("tab")
	h.typeText("acme-research")
	h.keys("enter")
	h.contains("! is taken", "error: An organization with the id acme-research already exists.")
	h.keys("ctrl+u")
	h.typeText("Bad ID")
	h.keys("enter")
	h.contains("! must be 1 to 63 lower-case letters")
	h.keys("ctrl+u", "enter")
	h.contains(`Created the organization "Acme" (acme).`)
}

func TestAuditTypeFilterAndPages(t *testing.T) {
	h := newHarness(t, true)
	for i := range 120 {
		if _, err := h.store.CreateOrganization(testAdmin, "", "Org "+strings.Repeat("x", i%3)+string(rune('a'+i%26))+itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
	h.keys("6")
	h.contains("1–100 of 130, newest first · all types")
	h.keys("]")
	h.contains("101–130 of 130")
	h.keys("]")
	h.contains("These are the oldest events.")
	h.keys("[")
	h.contains("1–100 of 130")
	// t opens the list of types: pick the second, then the last.
	h.keys("t")
	h.contains("Show events of type", "> all types")
	h.keys("down", "enter")
	h.contains("1–2 of 2, newest first · signup-link-created")
	h.keys("t", "G", "enter")
	h.contains(" · " + db.EventTypes[len(db.EventTypes)-1])
	h.keys("t", "esc")
	h.lacks("Show events of type")
	h.contains(" · " + db.EventTypes[len(db.EventTypes)-1])
	h.keys("enter")
	h.lacks("Event ")
}

func TestAuditDetail(t *testing.T) {
	h := newHarness(t, true)
	h.keys("6", "G", "enter")
	h.contains("Event 1: signup-link-created", "maxUses", "10", "Team onboarding")
}

func TestAutoRefreshShowsNewSignups(t *testing.T) {
	h := newHarness(t, true)
	h.contains("2/10")
	tokens, _ := h.store.ListSignupTokens(testAdmin)
	if _, err := h.store.RedeemSignupToken(tokens[0].Secret, db.NewUser{Email: "new@example.com", Name: "New", PasswordHash: "x"}); err != nil {
		t.Fatal(err)
	}
	h.send(tickMsg(fixedNow))
	h.contains("3/10")
}

func TestResize(t *testing.T) {
	h := newHarness(t, true)
	for _, size := range [][2]int{{120, 40}, {60, 15}, {80, 24}, {40, 10}} {
		h.send(tea.WindowSizeMsg{Width: size[0], Height: size[1]})
		for _, k := range []string{"1", "enter", "esc", "n", "esc", "2", "6", "?", "?"} {
			h.keys(k)
			h.checkSize(h.view(), size[0], size[1])
		}
	}
	h.send(tea.WindowSizeMsg{Width: 120, Height: 40})
	h.keys("1")
	h.contains("1 Signup links", "5 Organizations")
}

// failing is a backend whose every call fails or panics.
type failing struct{ Backend }

func (failing) ListSignupTokens(context.Context, db.Actor) ([]db.SignupToken, error) {
	return nil, db.Errorf(db.EUNAVAILABLE, "the server is restarting")
}

func (failing) ListOrganizations(context.Context) ([]db.Organization, error) { panic("boom") }

func TestBackendErrorsShowNotCrash(t *testing.T) {
	h := newHarness(t, false)
	h.m = newModel(failing{}, Options{Output: h.clip}, fixedClock, false)
	h.send(tea.WindowSizeMsg{Width: 80, Height: 24})
	h.run(h.m.Init())
	h.contains("error: Could not load signup links: the server is restarting")
	h.keys("5")
	h.contains("error: Could not load organizations: Something went wrong")
	if h.quit {
		t.Fatal("quit")
	}
}

func TestNoColorStylesHaveNoColours(t *testing.T) {
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(termenv.TrueColor)
	render := func(st Styles) []string {
		var out []string
		v := reflect.ValueOf(st)
		for i := range v.NumField() {
			if s, ok := v.Field(i).Interface().(lipgloss.Style); ok {
				out = append(out, s.Render("x"))
			}
		}
		hv := reflect.ValueOf(st.Help)
		for i := range hv.NumField() {
			out = append(out, hv.Field(i).Interface().(lipgloss.Style).Render("x"))
		}
		return out
	}
	colours := 0
	for _, s := range render(newStyles(r, false)) {
		if hasColour(s) {
			colours++
		}
	}
	if colours == 0 {
		t.Error("no colour without NoColor")
	}
	for _, s := range render(newStyles(r, true)) {
		if hasColour(s) {
			t.Errorf("colour with NoColor: %q", s)
		}
	}
}

var sgr = regexp.MustCompile(`\x1b\[([0-9;]*)m`)

// hasColour reports whether s sets a foreground or background colour.
func hasColour(s string) bool {
	for _, m := range sgr.FindAllStringSubmatch(s, -1) {
		for _, p := range strings.Split(m[1], ";") {
			n, _ := strconv.Atoi(p)
			if n >= 30 && n <= 38 || n >= 40 && n <= 48 || n >= 90 && n <= 97 || n >= 100 && n <= 107 {
				return true
			}
		}
	}
	return false
}

func TestRunQuitsOnQ(t *testing.T) {
	store := mustOpen(t)
	var out bytes.Buffer
	err := Run(context.Background(), DirectBackend(store), Options{Mode: "direct", DataPath: "x.db", Input: strings.NewReader("q"), Output: &out})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "\x1b[?1049h") {
		t.Errorf("no alternate screen in %q", out.String())
	}
}

func TestRunEndsWithContext(t *testing.T) {
	store := mustOpen(t)
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	defer pw.Close()
	done := make(chan error, 1)
	// The program's first write (the alternate screen) says it runs.
	started := make(chan struct{})
	var once sync.Once
	out := writerFunc(func(p []byte) (int, error) { once.Do(func() { close(started) }); return len(p), nil })
	go func() { done <- Run(ctx, DirectBackend(store), Options{Input: pr, Output: out}) }()
	select {
	case <-started:
	case <-time.After(5 * time.Second):
		t.Fatal("Run wrote nothing")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not end with its context")
	}
}

// writerFunc adapts a function to io.Writer.
type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func TestParseExpiry(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Time
		bad  bool
	}{
		{in: "7d", want: fixedNow.Add(7 * 24 * time.Hour)},
		{in: "48h", want: fixedNow.Add(48 * time.Hour)},
		{in: "2w", want: fixedNow.Add(14 * 24 * time.Hour)},
		{in: "1d12h", want: fixedNow.Add(36 * time.Hour)},
		{in: "604800s", want: fixedNow.Add(7 * 24 * time.Hour)},
		{in: "2030-01-31T12:00:00Z", want: time.Date(2030, 1, 31, 12, 0, 0, 0, time.UTC)},
		{in: "", bad: true},
		{in: "tomorrow", bad: true},
		{in: "-3d", bad: true},
		{in: "0h", bad: true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseExpiry("expiresAt", tc.in, fixedNow)
			if tc.bad {
				if db.ErrorCode(err) != db.EINVALID {
					t.Fatalf("err %v", err)
				}
				return
			}
			if err != nil || !got.Equal(tc.want) {
				t.Fatalf("got %v, %v", got, err)
			}
		})
	}
}

func TestGroupsTab(t *testing.T) {
	h := newHarness(t, true)
	h.keys("7")
	h.contains("0 groups", "Nothing here yet.")
	h.keys("n")
	h.typeText("Grafana users")
	h.keys("tab", "tab")
	h.typeText("Dashboards")
	h.keys("enter")
	h.contains(`Created the group "Grafana users" (grafana-users).`)
	h.keys("n")
	h.typeText("Ops")
	h.keys("ctrl+s")
	h.contains(`Created the group "Ops" (ops).`)
	h.golden("list")
	// The same id again is refused next to its field.
	h.keys("n")
	h.typeText("Other")
	h.keys("tab")
	h.typeText("ops")
	h.keys("ctrl+s")
	h.contains("! is taken", "error: A group with the id ops already exists")
	h.keys("esc")
	// Edit: a new description.
	h.keys("up", "m", "tab", "ctrl+u")
	h.typeText("Dashboards and alerts")
	h.keys("enter")
	h.contains(`Saved the group "Grafana users" (grafana-users).`)
	if g, err := h.store.GetGroup("grafana-users"); err != nil || g.Description != "Dashboards and alerts" {
		t.Fatalf("group %+v, %v", g, err)
	}
	// Delete asks first.
	h.keys("d")
	h.contains(`Delete the group "Grafana users" (grafana-users)?`)
	h.keys("n")
	if _, err := h.store.GetGroup("grafana-users"); err != nil {
		t.Fatalf("deleted without a yes: %v", err)
	}
	h.keys("d", "y")
	h.contains(`Deleted the group "Grafana users".`, "1 group")
	if _, err := h.store.GetGroup("grafana-users"); db.ErrorCode(err) != db.ENOTFOUND {
		t.Fatalf("still there: %v", err)
	}
}

func TestUserGroupsByKeystrokes(t *testing.T) {
	h := newHarness(t, true)
	for _, name := range []string{"Ops", "Web"} {
		if _, err := h.store.CreateGroup(testAdmin, db.NewGroup{Name: name}); err != nil {
			t.Fatal(err)
		}
	}
	h.keys("3", "a")
	h.contains("Groups of ada@example.com", "of: ops, web")
	h.typeText("web, nope")
	h.keys("enter")
	h.contains(`! groups[1]: "nope" is not a group`)
	if u, _ := h.store.FindUserByID(1); len(u.Groups) != 0 {
		t.Fatalf("groups set despite the error: %v", u.Groups)
	}
	h.keys("ctrl+u")
	h.typeText("web, ops")
	h.golden("form")
	h.keys("enter")
	h.contains("ada@example.com is now in the groups: ops, web.")
	if u, _ := h.store.FindUserByID(1); strings.Join(u.Groups, ",") != "ops,web" {
		t.Fatalf("groups %v", u.Groups)
	}
	h.keys("enter")
	h.contains("Groups", "ops, web")
	// A link made here hands them out.
	h.keys("esc", "1", "n")
	h.typeText("Grouped")
	h.keys("tab", "tab", "tab", "tab", "tab", "tab")
	h.typeText("ops")
	h.keys("enter", "enter") // past Approval, then submit
	h.contains(`Created the signup link "Grouped"`)
	tokens, _ := h.store.ListSignupTokens(testAdmin)
	found := false
	for _, tok := range tokens {
		if tok.Name == "Grouped" {
			found = strings.Join(tok.Groups, ",") == "ops"
		}
	}
	if !found {
		t.Errorf("the link has not the group ops: %+v", tokens)
	}
}

func TestAppsTab(t *testing.T) {
	h := newHarness(t, true)
	if _, err := h.store.CreateGroup(testAdmin, db.NewGroup{Name: "Ops"}); err != nil {
		t.Fatal(err)
	}
	h.keys("8")
	h.contains("0 apps", "Nothing here yet.")
	// New: name, id, kind (proxy), url, domains, groups.
	h.keys("n")
	h.contains("New app")
	h.lacks("Redirect URIs", "Client ")
	h.typeText("Grafana")
	h.keys("tab", "tab", "tab")
	h.typeText("https://grafana.example.com")
	h.keys("tab")
	h.typeText("grafana.example.com, *.tools.example.com")
	h.keys("tab")
	h.contains("of: ops")
	h.typeText("ops")
	h.keys("enter")
	h.contains(`Created the app "Grafana" (grafana).`, "1 app")
	a, err := h.store.GetApp("grafana")
	if err != nil || strings.Join(a.Domains, ",") != "*.tools.example.com,grafana.example.com" || strings.Join(a.Groups, ",") != "ops" {
		t.Fatalf("app %+v, %v", a, err)
	}
	h.golden("list")
	// A domain another app has is refused next to its field, naming it.
	h.keys("n")
	h.typeText("Wiki")
	h.keys("tab", "tab", "tab")
	h.typeText("https://wiki.example.com")
	h.keys("tab")
	h.typeText("grafana.example.com")
	h.keys("ctrl+s")
	h.contains("belongs to the app grafana")
	h.keys("esc")
	// Edit: no groups lets everyone in.
	h.keys("m", "tab", "tab", "tab", "ctrl+u")
	h.keys("enter")
	h.contains(`Saved the app "Grafana" (grafana).`, "everyone")
	h.keys("enter")
	h.contains("every active user", "https://grafana.example.com")
	h.keys("esc")
	if a, _ := h.store.GetApp("grafana"); len(a.Groups) != 0 {
		t.Fatalf("groups %v after clearing them", a.Groups)
	}
	// Delete asks first.
	h.keys("d")
	h.contains(`Delete the app "Grafana" (grafana)?`)
	h.keys("n")
	if _, err := h.store.GetApp("grafana"); err != nil {
		t.Fatalf("deleted without a yes: %v", err)
	}
	h.keys("d", "y")
	h.contains(`Deleted the app "Grafana".`, "0 apps")
	if _, err := h.store.GetApp("grafana"); db.ErrorCode(err) != db.ENOTFOUND {
		t.Fatalf("still there: %v", err)
	}
}

// An oidc app from the Apps tab: the kind shows its own fields, the
// client secret is shown once in a box that says so, s makes a new one
// (after a yes), and a public app has none to make.
func TestAppsTabOIDC(t *testing.T) {
	h := newHarness(t, true)
	h.keys("8", "n")
	h.typeText("Wiki")
	h.keys("tab", "tab", "right") // kind: oidc
	h.contains("Redirect URIs", "Client ", "confidential")
	h.lacks("Domains  ")
	h.keys("tab")
	h.typeText("https://wiki.example.com")
	h.keys("tab")
	h.typeText("https://wiki.example.com/cb, http://evil.example/cb")
	h.keys("ctrl+s")
	h.contains("must use https; plain http is allowed only")
	h.keys("ctrl+u")
	h.typeText("https://wiki.example.com/cb http://localhost:8080/cb")
	h.keys("ctrl+s")
	h.contains("Copy it now; it will not be shown again.", "Created the app \"Wiki\" (wiki) with its client secret.")
	h.golden("secret")
	a, err := h.store.GetApp("wiki")
	if err != nil || a.OIDC == nil || a.OIDC.Public || strings.Join(a.OIDC.RedirectURIs, " ") != "https://wiki.example.com/cb http://localhost:8080/cb" {
		t.Fatalf("app %+v %+v, %v", a, a.OIDC, err)
	}
	first := secretShown(t, h.view())
	if _, ok, _ := h.store.CheckAppSecret(a.OIDC.ClientID, first); !ok {
		t.Fatalf("the secret shown (%q) does not check", first)
	}
	h.keys("esc")
	h.lacks(first)
	h.keys("enter")
	h.contains("Client ID", a.OIDC.ClientID, "confidential", "s makes a new one")
	h.lacks(first)
	h.keys("esc")

	// s asks, then shows the new secret once; the old one stops working.
	h.keys("s")
	h.contains("Make a new client secret for \"Wiki\" (wiki)?")
	h.keys("n")
	if _, ok, _ := h.store.CheckAppSecret(a.OIDC.ClientID, first); !ok {
		t.Fatal("the secret changed without a yes")
	}
	h.keys("s", "y")
	h.contains("Copy it now; it will not be shown again.", "the old one no longer works")
	second := secretShown(t, h.view())
	if second == first {
		t.Fatal("the same secret again")
	}
	if _, ok, _ := h.store.CheckAppSecret(a.OIDC.ClientID, first); ok {
		t.Fatal("the old secret still works")
	}
	if _, ok, _ := h.store.CheckAppSecret(a.OIDC.ClientID, second); !ok {
		t.Fatal("the new secret does not work")
	}
	h.keys("esc")

	// Edit shows the redirect URIs, not domains.
	h.keys("m")
	h.contains("Redirect URIs", "never change")
	h.lacks("Domains  ")
	h.keys("esc")

	// A public app: no secret, and s says why.
	h.keys("n")
	h.typeText("CLI")
	h.keys("tab", "tab", "right", "tab")
	h.typeText("https://cli.example.com")
	h.keys("tab")
	h.typeText("http://127.0.0.1:9000/cb")
	h.keys("tab", "right", "ctrl+s")
	h.contains("Created the public app \"CLI\" (cli), client ID")
	h.lacks("Copy it now")
	if c, _ := h.store.GetApp("cli"); c.OIDC == nil || !c.OIDC.Public {
		t.Fatalf("cli %+v", c)
	}
	h.keys("s")
	h.contains("is a public client: it signs in with PKCE")
	h.lacks("Make a new client secret")
}

// secretShown picks the client secret out of the view: the line after
// "Client secret:".
func secretShown(t *testing.T, view string) string {
	t.Helper()
	lines := strings.Split(view, "\n")
	for i, l := range lines {
		if strings.TrimSpace(l) == "Client secret:" && i+1 < len(lines) {
			return strings.TrimSpace(lines[i+1])
		}
	}
	t.Fatalf("no client secret in the view:\n%s", view)
	return ""
}

func TestClearSecondFactors(t *testing.T) {
	h := newHarness(t, true)
	setup, err := h.store.BeginTOTP(2)
	if err != nil {
		t.Fatal(err)
	}
	code, _ := totp.GenerateCode(setup.Secret, fixedNow)
	if _, err := h.store.ConfirmTOTP(testAdmin, 2, code); err != nil {
		t.Fatal(err)
	}
	h.keys("3", "down", "f")
	h.contains("Clear every second factor of alan@example.org")
	h.keys("n")
	if st, _ := h.store.SecondFactors(2); !st.TOTP {
		t.Fatal("cleared without a yes")
	}
	h.keys("f", "y")
	h.contains("Cleared the second factors of alan@example.org.")
	if st, _ := h.store.SecondFactors(2); st.Any() || st.RecoveryCodesLeft != 0 {
		t.Fatalf("after clearing %+v", st)
	}
	if events, _, _ := h.store.ListEvents(db.EventSecondFactorsCleared, 0, 10); len(events) != 1 || events[0].CreatedBy != "tui:root" {
		t.Fatalf("events %+v", events)
	}
}

func TestUnverifiedUserShows(t *testing.T) {
	store := mustOpen(t)
	seed(t, store)
	links, err := store.ListSignupTokens(testAdmin)
	if err != nil {
		t.Fatal(err)
	}
	var interns string
	for _, l := range links {
		if l.Name == "Interns 2026" {
			interns = l.Secret
		}
	}
	// The Interns link limits its domains, so the address is to be
	// verified (auth.verify_email's default).
	if _, err := store.RedeemSignupToken(interns, db.NewUser{Email: "kay@example.com", Name: "Kay", PasswordHash: "x"}); err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, store: store, clip: &bytes.Buffer{}}
	h.m = newModel(DirectBackend(store), Options{Mode: "direct", DataPath: "./data/invited.db", SiteName: "invited",
		BaseURL: "http://localhost:4242", Actor: testAdmin, MaxLoginAttempts: 10, InvitationTTL: time.Hour, Output: h.clip}, fixedClock, false)
	h.send(tea.WindowSizeMsg{Width: 80, Height: 24})
	h.run(h.m.Init())
	h.keys("3")
	if row := h.row("kay@example.com"); !strings.HasSuffix(row, "unverified") {
		t.Fatalf("row %q", row)
	}
	if row := h.row("ada@example.com"); !strings.HasSuffix(row, " ok") {
		t.Fatalf("row %q", row)
	}
	h.keys("/")
	h.typeText("kay")
	h.keys("enter", "enter")
	h.contains("address not verified", "Email verified")
	h.keys("esc", "v")
	h.contains("Verify the address of kay@example.com")
	h.keys("n")
	if u, _ := store.FindUserByLogin("kay@example.com"); u.EmailVerified {
		t.Fatal("verified without a yes")
	}
	h.keys("v", "y")
	h.contains("Verified kay@example.com")
	if u, _ := store.FindUserByLogin("kay@example.com"); !u.EmailVerified {
		t.Fatal("not verified in the store")
	}
	h.keys("v")
	h.contains("is verified already")
}

// The link form offers the apps; the chosen one is stored and the detail
// names it (DESIGN §12, inviting straight into an app).
func TestLinkIntoAppByKeystrokes(t *testing.T) {
	h := newHarness(t, false)
	if _, _, err := h.store.CreateApp(testAdmin, db.NewApp{ID: "grafana", Name: "Grafana", URL: "https://grafana.example.com/",
		Domains: []string{"grafana.example.com"}}); err != nil {
		t.Fatal(err)
	}
	h.keys("8", "1", "n")
	h.typeText("Into Grafana")
	h.keys("tab", "tab", "tab", "tab", "tab", "tab", "right")
	h.contains("App", "grafana = Grafana")
	h.keys("ctrl+s")
	h.contains(`Created the signup link "Into Grafana"`)
	tokens, _ := h.store.ListSignupTokens(testAdmin)
	if len(tokens) != 1 || tokens[0].AppID != "grafana" {
		t.Fatalf("links %+v, want one into grafana", tokens)
	}
	h.keys("enter")
	h.contains("Grafana (grafana), https://grafana.example.com/")
}

// The invitation form offers the apps, and the detail of an invitation
// into an app names it.
func TestInvitationIntoAppShown(t *testing.T) {
	h := newHarness(t, false)
	if _, _, err := h.store.CreateApp(testAdmin, db.NewApp{ID: "grafana", Name: "Grafana", URL: "https://grafana.example.com/",
		Domains: []string{"grafana.example.com"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.store.CreateInvitation(testAdmin, db.NewInvitation{Email: "ina@example.com", DefaultTTL: time.Hour, Inviter: "T", AppID: "grafana"}); err != nil {
		t.Fatal(err)
	}
	h.keys("8", "2")
	h.contains("ina@example.com")
	h.keys("enter")
	h.contains("Grafana (grafana), https://grafana.example.com/")
	h.keys("esc", "n")
	h.contains("App", "[none]  grafana")
}
