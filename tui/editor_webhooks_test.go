package tui_test

import (
	"path/filepath"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"invited/db"
	"invited/server/sshadmin"
	"invited/tui"
)

// drive sends msg to m and runs every command it leads to, in order, as
// the program would (no auto refresh: NewTestModel has none).
func drive(m tea.Model, msg tea.Msg) {
	queue := []tea.Msg{msg}
	for len(queue) > 0 {
		msg, queue = queue[0], queue[1:]
		var cmd tea.Cmd
		m, cmd = m.Update(msg)
		queue = append(queue, run(cmd)...)
	}
}

func run(cmd tea.Cmd) []tea.Msg {
	if cmd == nil {
		return nil
	}
	switch msg := cmd().(type) {
	case nil, tea.QuitMsg:
		return nil
	case tea.BatchMsg:
		var out []tea.Msg
		for _, c := range msg {
			out = append(out, run(c)...)
		}
		return out
	default:
		return []tea.Msg{msg}
	}
}

// An Editor's TUI over SSH (sshadmin.ForRole) is refused the Webhooks
// tab as the API refuses it, and cannot make one with n; an Admin's
// lists them.
func TestWebhooksTabRefusedToEditors(t *testing.T) {
	store, err := db.Open(filepath.Join(t.TempDir(), "invited.db"), db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	admin := db.Actor{Kind: "tui", Name: "root", Role: db.RoleAdmin}
	if _, err := store.CreateWebhook(admin, db.NewWebhook{URL: "https://h.example.com/x", Events: db.WebhookEvents}); err != nil {
		t.Fatal(err)
	}
	open := func(role db.Role, name string) tea.Model {
		actor := db.Actor{Kind: "ssh", Name: name, Role: role}
		m := tui.NewTestModel(sshadmin.ForRole(tui.DirectBackend(store), role), tui.Options{Mode: "server", Actor: actor, NoColor: true, Output: &strings.Builder{}})
		drive(m, tea.WindowSizeMsg{Width: 80, Height: 24})
		drive(m, m.Init()())
		return m
	}
	key := func(r rune) tea.KeyMsg { return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}} }

	ed := open(db.RoleEditor, "ed")
	drive(ed, key('9'))
	view := ed.View()
	if !strings.Contains(view, "Could not load webhooks: Editors manage signup links and invitations") || strings.Contains(view, "h.example.com") {
		t.Fatalf("an Editor's Webhooks tab:\n%s", view)
	}
	drive(ed, key('n'))
	for _, r := range "https://e.example.com" {
		drive(ed, key(r))
	}
	drive(ed, tea.KeyMsg{Type: tea.KeyTab})
	for _, r := range "user.created" {
		drive(ed, key(r))
	}
	drive(ed, tea.KeyMsg{Type: tea.KeyCtrlS})
	if view := ed.View(); !strings.Contains(view, "Editors manage signup links and invitations") {
		t.Fatalf("an Editor's new webhook:\n%s", view)
	}
	if list, _ := store.Webhooks(); len(list) != 1 {
		t.Fatalf("an Editor made a webhook: %+v", list)
	}

	ad := open(db.RoleAdmin, "root")
	drive(ad, key('9'))
	if view := ad.View(); !strings.Contains(view, "https://h.example.c") || !strings.Contains(view, "1 webhook") {
		t.Fatalf("an Admin's Webhooks tab:\n%s", view)
	}
}
