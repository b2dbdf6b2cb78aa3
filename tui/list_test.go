package tui

import (
	"strings"
	"testing"
	"time"

	"invited/db"
)

// The filter searches every page, not only the one shown: with 130
// events in pages of 100, an event on the second page is found from the
// first.
func TestFilterSearchesEveryPage(t *testing.T) {
	h := newHarness(t, true)
	for i := range 120 {
		if _, err := h.store.CreateOrganization(testAdmin, "", "Org "+itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
	h.keys("6")
	h.contains("1–100 of 130, newest first")
	// The seed's "Interns 2026" link was made long before the 120
	// organizations: its event is on the second page.
	h.lacks("Interns 2026")
	h.keys("/")
	h.typeText("interns")
	h.keys("enter")
	h.contains(`1 of 130 events match "interns"`, "page 1 of 1", `signup link "Interns`)
	// Clearing the filter brings every page back, turned to the one that
	// holds the record found.
	h.keys("esc")
	h.contains("101–130 of 130, newest first")
	if row := h.row(`signup link "Interns`); !strings.HasPrefix(row, ">") {
		t.Errorf("row %q, want it selected:\n%s", row, h.view())
	}
}

// Times read the same everywhere: relative ones in words, rounded to the
// nearest unit.
func TestRelativeDates(t *testing.T) {
	now := fixedNow
	day := 24 * time.Hour
	for _, c := range []struct {
		d    time.Duration
		want string
	}{
		{0, "just now"},
		{-30 * time.Second, "just now"},
		{time.Minute, "in 1 minute"},
		{-5 * time.Minute, "5 minutes ago"},
		{59 * time.Minute, "in 59 minutes"},
		{time.Hour, "in 1 hour"},
		{36 * time.Hour, "in 36 hours"},
		{-47 * time.Hour, "47 hours ago"},
		{48 * time.Hour, "in 2 days"},
		{7*day - time.Second, "in 7 days"},
		{-2 * day, "2 days ago"},
		{59 * day, "in 59 days"},
		{90 * day, "in 3 months"},
		{-200 * day, "7 months ago"},
		{365 * day, "in 1 year"},
		{1125 * day, "in 3 years"},
		{-800 * day, "2 years ago"},
	} {
		if got := relative(now.Add(c.d), now); got != c.want {
			t.Errorf("relative(%v) = %q, want %q", c.d, got, c.want)
		}
	}
	if got := fmtFull(now.Add(7*day), now); got != "2026-01-09 04:04 (in 7 days)" {
		t.Errorf("fmtFull = %q, want local time and how far", got)
	}
	for _, c := range []struct {
		uses, max int
		want      string
	}{
		{0, 0, "0 uses, no limit"}, {1, 0, "1 use, no limit"}, {2, 10, "2 uses of 10"}, {1, 1, "1 use of 1"},
	} {
		if got := usesText(c.uses, c.max); got != c.want {
			t.Errorf("usesText(%d, %d) = %q, want %q", c.uses, c.max, got, c.want)
		}
	}
}

// The audit log names people, links, keys and organizations, also those
// deleted since, and who acted.
func TestAuditShowsNames(t *testing.T) {
	h := newHarness(t, true)
	if err := h.store.DeleteUser(testAdmin, 2); err != nil {
		t.Fatal(err)
	}
	h.keys("6")
	h.contains(`API key "ci-bot"`, "invitation of edsger@", "user ada@example.com", "root (TUI)")
	h.lacks("user 1 ", "api-key 1", "signup-link 1", "tui:root")
	// alan was deleted: the events still name him.
	h.keys("/")
	h.typeText("user-deleted")
	h.keys("enter", "enter")
	h.contains("Object           user alan@example.org")
	h.keys("esc", "esc", "G", "enter")
	h.contains(`Object           signup link "Team onboarding"`, "By               root (TUI)")
	// The detail names the user a link event is about.
	h.keys("esc", "/")
	h.typeText("user-added")
	h.keys("enter", "G", "enter")
	h.contains("userId           user ada@example.com")
}

// An accepted invitation offers neither revoke nor resend; x and r say
// why, and change nothing.
func TestNoRevokeOnAcceptedInvitation(t *testing.T) {
	h := newHarness(t, true)
	inv, err := h.store.CreateInvitation(testAdmin, db.NewInvitation{Email: "barbara@example.com", TTL: new(time.Hour), Inviter: "Grace"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.store.AcceptInvitation(inv.Token, db.NewUser{Email: "barbara@example.com", Name: "Barbara", PasswordHash: "x"}); err != nil {
		t.Fatal(err)
	}
	h.keys("2")
	h.contains("x revoke") // on a pending one
	h.keys("G")
	if row := h.row("barbara@example.com"); !strings.Contains(row, "accepted") {
		t.Fatalf("row %q", row)
	}
	h.lacks("x revoke", "r resend")
	h.keys("x")
	h.lacks("Are you sure?")
	h.contains("The invitation of barbara@example.com was accepted; there is nothing to revoke.")
	h.keys("r")
	h.lacks("Resend the invitation")
	h.contains("nothing to resend")
	if got, _ := h.store.GetInvitation(testAdmin, inv.ID); got.State != db.InvitationAccepted {
		t.Fatalf("state %s", got.State)
	}
	h.keys("enter")
	h.contains("Accepted by", "barbara@example.com (user 3)")
	h.lacks("created or resent (r)")
}

// m edits a link: name, role, max uses and domains, checked in the store.
func TestEditLinkByKeystrokes(t *testing.T) {
	h := newHarness(t, true)
	h.keys("m")
	h.contains(`Edit the signup link "Team onboarding"`, "2 uses of 10 so far")
	h.keys("ctrl+u")
	h.typeText("Team 2027")
	h.keys("tab", "tab", "left") // Role: Viewer → Editor
	h.keys("tab", "ctrl+u")      // Max uses: empty for no limit
	h.keys("tab")
	h.typeText("Example.org, example.com")
	h.keys("ctrl+s")
	h.contains(`Saved the signup link "Team 2027".`)
	tokens, err := h.store.ListSignupTokens(testAdmin)
	if err != nil {
		t.Fatal(err)
	}
	tok := tokens[0]
	if tok.Name != "Team 2027" || tok.Role != db.RoleEditor || tok.MaxUses != 0 || strings.Join(tok.AllowedDomains, ",") != "example.org,example.com" {
		t.Fatalf("after edit: name %q role %v maxUses %d domains %v", tok.Name, tok.Role, tok.MaxUses, tok.AllowedDomains)
	}
	if row := h.row("Team 2027"); !strings.Contains(row, "Editor") || !strings.Contains(row, " 2 ") {
		t.Errorf("row %q", row)
	}
	// Nothing changed is said, not sent.
	h.keys("m", "ctrl+s")
	h.contains("Nothing changed: edit a field, or press esc to cancel.")
}

// An Editor's edit form offers no role above their own.
func TestEditLinkRoleCeiling(t *testing.T) {
	editor := db.Actor{Kind: "tui", Name: "ed", Role: db.RoleEditor}
	h := newHarnessWith(t, true, func(o *Options) { o.Actor = editor })
	h.keys("m")
	h.contains("Role")
	h.lacks("Admin")
}

// d deletes a link after asking; who joined keeps their account.
func TestDeleteLinkByKeystrokes(t *testing.T) {
	h := newHarness(t, true)
	h.keys("d")
	h.contains(`Delete the signup link "Team onboarding"?`, "2 people joined through it; they keep their accounts.")
	h.keys("n")
	if tokens, _ := h.store.ListSignupTokens(testAdmin); len(tokens) != 2 {
		t.Fatalf("after no: %d links", len(tokens))
	}
	h.keys("d", "y")
	h.contains(`Deleted the signup link "Team onboarding".`, "1 signup link")
	tokens, _ := h.store.ListSignupTokens(testAdmin)
	if len(tokens) != 1 || tokens[0].Name != "Interns 2026" {
		t.Fatalf("after delete: %+v", tokens)
	}
	if users, total, _ := h.store.ListUsers(0, 10); total != 2 || len(users) != 2 {
		t.Fatalf("users after delete: %d", total)
	}
	h.keys("3", "enter")
	h.contains("Joined through   a signup link that was deleted since")
}

// A user who accepted an invitation says whose.
func TestUserJoinedThroughInvitation(t *testing.T) {
	h := newHarness(t, true)
	inv, err := h.store.CreateInvitation(testAdmin, db.NewInvitation{Email: "barbara@example.com", TTL: new(time.Hour), Inviter: "Grace"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.store.AcceptInvitation(inv.Token, db.NewUser{Email: "barbara@example.com", Name: "Barbara", PasswordHash: "x"}); err != nil {
		t.Fatal(err)
	}
	h.keys("3", "G", "enter")
	h.contains("User barbara@example.com", "Joined through   an invitation from root (TUI), accepted 2026-01-02 04:04")
	h.keys("esc", "g", "enter")
	h.contains(`Joined through   the signup link "Team onboarding"`)
}

// An invitation for an address that has one pending says what to do in
// the TUI's words, never an API path.
func TestDuplicateInvitationNamesNoAPIPath(t *testing.T) {
	h := newHarness(t, true)
	h.keys("2", "n")
	h.typeText("grace@example.com")
	h.keys("ctrl+s")
	h.contains("has a pending invitation", "resend", "that one instead")
	h.lacks("/v1/", "/api/", "POST")
}

// The link of a new invitation is printed outside the box, each line of
// it nothing but the link, so that a mouse selection copies it whole.
func TestLinkPrintedOutsideBox(t *testing.T) {
	h := newHarness(t, true)
	h.keys("2", "n")
	h.typeText("barbara@example.com")
	h.keys("ctrl+s")
	lines := strings.Split(h.view(), "\n")
	var link strings.Builder
	for i, l := range lines {
		if strings.HasPrefix(l, "Link:") {
			for _, p := range lines[i+1:] {
				p = strings.TrimRight(p, " ")
				if p == "" || strings.ContainsAny(p, "│─└┘") {
					break
				}
				link.WriteString(p)
			}
		}
		if strings.Contains(l, "invitations/") && strings.ContainsAny(l, "│") {
			t.Errorf("the link is inside the box: %q", l)
		}
	}
	if !strings.HasPrefix(link.String(), "http://localhost:4242/invitations/") || len(link.String()) < len("http://localhost:4242/invitations/")+40 {
		t.Fatalf("link below the box %q:\n%s", link.String(), h.view())
	}
}
