package tui

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"invited/db"
)

// paste sends text as a terminal's bracketed paste: one message.
func (h *harness) paste(text string) {
	h.t.Helper()
	h.send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(text), Paste: true})
}

// pendingEmails lists the addresses with a pending invitation, and their
// roles and groups.
func pendingOf(tb testing.TB, s *db.Store) map[string]db.Invitation {
	tb.Helper()
	list, _, err := s.ListInvitations(testAdmin, db.InvitationPending, 0, 1000)
	if err != nil {
		tb.Fatal(err)
	}
	out := map[string]db.Invitation{}
	for _, inv := range list {
		out[inv.Email] = inv
	}
	return out
}

// TestBatchPastedList: a pasted list, one address a line, invites each
// and shows a table of what became of each.
func TestBatchPastedList(t *testing.T) {
	h := newHarness(t, true)
	h.keys("2")
	h.contains("b batch")
	h.keys("b")
	h.contains("Invite many people", "Addresses", "one address a line")
	h.paste("kay@example.com\n\n# a comment\nada@example.com\ngrace@example.com\nnot an address\nKAY@example.com\n")
	// Typed lines work too: enter makes a new line in the list.
	h.typeText("lin@example.com")
	h.keys("enter")
	h.typeText("mo@example.com")
	h.golden("form")
	h.keys("ctrl+s")
	h.golden("results")
	h.contains("Batch results", "Batch done: 3 invited, 1 has-account, 2 already-invited, 1 invalid.",
		"kay@example.com", "invited", "has-account", "already-invited", "invalid")
	pending := pendingOf(t, h.store)
	for _, e := range []string{"kay@example.com", "lin@example.com", "mo@example.com"} {
		if inv, ok := pending[e]; !ok || inv.Role != db.RoleViewer || inv.OrgID != db.DefaultOrganization || inv.Inviter != "The team.example.com team" {
			t.Errorf("%s: %+v, want a pending Viewer invitation from the default inviter", e, inv)
		}
	}
	// The selected row's whole error shows under the table.
	h.keys("down", "down", "down")
	h.contains("not an address: email:")
	h.keys("esc")
	h.contains("kay@example.com", "lin@example.com")
}

// TestBatchCSV: a CSV with a header gives each row its role, groups and
// organization; what it leaves empty comes from the form.
func TestBatchCSV(t *testing.T) {
	h := newHarness(t, true)
	for _, g := range []string{"Ops", "Finance"} {
		if _, err := h.store.CreateGroup(testAdmin, db.NewGroup{Name: g}); err != nil {
			t.Fatal(err)
		}
	}
	h.keys("ctrl+r", "2", "b")
	h.paste("Email,Role,Groups,Organization\nkay@example.com,Editor,ops;finance,acme-research\nlin@example.com,,ops|finance,\nmo@example.com,Admin,,\n")
	// Role Editor for the rows that give none, then on to the groups.
	h.keys("tab", "left", "tab", "tab")
	h.typeText("finance")
	h.keys("ctrl+s")
	h.contains("Batch done: 3 invited.")
	pending := pendingOf(t, h.store)
	for _, c := range []struct {
		email  string
		role   db.Role
		groups string
		org    string
	}{
		{"kay@example.com", db.RoleEditor, "[finance ops]", "acme-research"},
		{"lin@example.com", db.RoleEditor, "[finance ops]", db.DefaultOrganization},
		{"mo@example.com", db.RoleAdmin, "[finance]", db.DefaultOrganization},
	} {
		inv := pending[c.email]
		if inv.Role != c.role || fmt.Sprint(inv.Groups) != c.groups || inv.OrgID != c.org {
			t.Errorf("%s: %s %v %s, want %s %s %s", c.email, inv.Role.Name(), inv.Groups, inv.OrgID, c.role.Name(), c.groups, c.org)
		}
	}
}

// TestBatchParseErrors: a broken list or CSV is refused before anything
// is sent, with the line and what to fix; nothing is written.
func TestBatchParseErrors(t *testing.T) {
	for _, c := range []struct{ name, text, says string }{
		{"empty", "\n  \n# only a comment\n", "is empty"},
		{"two on a line", "kay@example.com, lin@example.com\n", "line 1: give one address a line"},
		{"unknown column", "email,team\nkay@example.com,x\n", `line 1: "team" is not a column`},
		{"column twice", "email,role,roleId\nkay@example.com,,\n", "line 1: the column role is given twice"},
		{"cells missing", "\nemail,role\nkay@example.com,Editor\nlin@example.com\n", "line 4: it has another number of cells"},
		{"bad role", "email,role\nkay@example.com,Boss\n", `line 2: "Boss" is not a role`},
		{"empty email", "email,role\n,Editor\n", "line 2: the email cell is empty"},
		{"broken quote", "email,role\n\"kay@example.com,Editor\n", "a quote is not closed"},
		{"header only", "email\n", "no addresses"},
		{"too many", "email\n" + strings.Repeat("a@example.com\n", db.MaxBatchInvitations+1), "at most 500"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := parseBatchList(c.text, db.BatchRow{})
			if err == nil || !strings.Contains(err.Error(), c.says) {
				t.Fatalf("%v, want an error that says %q", err, c.says)
			}
			var e *db.Error
			if !errors.As(err, &e) || len(e.Details) != 1 || e.Details[0].Path != "invitations" {
				t.Fatalf("%#v: want a field error on invitations", err)
			}
		})
	}
	// On the form, the error marks the list and nothing is invited.
	h := newHarness(t, true)
	before := len(pendingOf(t, h.store))
	h.keys("2", "b")
	h.paste("email,role\nkay@example.com,Boss\n")
	h.keys("ctrl+s")
	h.contains("Invite many people", `line 2: "Boss" is not a role`)
	if n := len(pendingOf(t, h.store)); n != before {
		t.Fatalf("a refused list made %d invitations", n-before)
	}
}
