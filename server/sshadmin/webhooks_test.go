package sshadmin

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"invited/db"
	"invited/internal/testutil"
	"invited/tui"
)

// tuiDriver runs a TUI model as a session would: commands run on their
// own goroutines (the auto refresh's tick waits on one of them), and
// their messages reach Update on the test's goroutine only.
type tuiDriver struct {
	t    *testing.T
	m    tea.Model
	msgs chan tea.Msg
}

func newTUIDriver(t *testing.T, b tui.Backend, actor db.Actor) *tuiDriver {
	d := &tuiDriver{t: t, msgs: make(chan tea.Msg, 64)}
	d.m = tui.NewModel(b, tui.Options{Mode: "server", Actor: actor, NoColor: true, Output: &strings.Builder{}, Refresh: time.Hour})
	d.update(tea.WindowSizeMsg{Width: 80, Height: 24})
	d.exec(d.m.Init())
	return d
}

func (d *tuiDriver) exec(cmd tea.Cmd) {
	if cmd == nil {
		return
	}
	go func() {
		switch msg := cmd().(type) {
		case nil, tea.QuitMsg:
		case tea.BatchMsg:
			for _, c := range msg {
				d.exec(c)
			}
		default:
			d.msgs <- msg
		}
	}()
}

func (d *tuiDriver) update(msg tea.Msg) {
	var cmd tea.Cmd
	d.m, cmd = d.m.Update(msg)
	d.exec(cmd)
}

// waitFor feeds the commands' messages to the model until its view
// holds every one of want.
func (d *tuiDriver) waitFor(what string, want ...string) {
	d.t.Helper()
	testutil.Eventually(d.t, 10*time.Second, what, func() error {
		for {
			select {
			case msg := <-d.msgs:
				d.update(msg)
				continue
			default:
			}
			break
		}
		view := d.m.View()
		for _, w := range want {
			if !strings.Contains(view, w) {
				return fmt.Errorf("view lacks %q:\n%s", w, view)
			}
		}
		return nil
	})
}

func (d *tuiDriver) typeText(s string) {
	for _, r := range s {
		d.update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
	}
}

// An Editor's TUI over SSH (ForRole) is refused the Webhooks tab as the
// API refuses it, and cannot make one with n; an Admin's lists them.
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

	ed := newTUIDriver(t, ForRole(tui.DirectBackend(store), db.RoleEditor), db.Actor{Kind: "ssh", Name: "ed", Role: db.RoleEditor})
	ed.waitFor("the Editor's first tab", "0 signup links")
	ed.typeText("9")
	ed.waitFor("the Editor's refusal", "Could not load webhooks: Editors manage signup links and invitations")
	if strings.Contains(ed.m.View(), "h.example.com") {
		t.Fatalf("an Editor sees the webhooks:\n%s", ed.m.View())
	}
	ed.typeText("n")
	ed.typeText("https://e.example.com")
	ed.update(tea.KeyMsg{Type: tea.KeyTab})
	ed.typeText("user.created")
	ed.update(tea.KeyMsg{Type: tea.KeyCtrlS})
	ed.waitFor("the Editor's new webhook refused", "New webhook", "error: Editors manage signup links")
	if list, _ := store.Webhooks(); len(list) != 1 {
		t.Fatalf("an Editor made a webhook: %+v", list)
	}

	ad := newTUIDriver(t, ForRole(tui.DirectBackend(store), db.RoleAdmin), db.Actor{Kind: "ssh", Name: "root", Role: db.RoleAdmin})
	ad.waitFor("the Admin's first tab", "0 signup links")
	ad.typeText("9")
	ad.waitFor("the Admin's webhooks", "1 webhook", "https://h.example.c")
}
