package tui

import (
	"bytes"
	"flag"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aymanbagabas/go-udiff"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	// golden defines the -update flag that golden files here honour.
	_ "github.com/charmbracelet/x/exp/golden"
	"github.com/muesli/termenv"

	"invited/db"
)

// Golden files live in testdata/; regenerate them with
//
//	go test ./tui/ -run TestX -update
//
// (the -update flag is golden's, which teatest uses too).

func TestMain(m *testing.M) {
	// Stable golden files: no colours, no attributes, whatever the
	// terminal running the tests.
	lipgloss.SetColorProfile(termenv.Ascii)
	// Times show in local time: one fixed zone an hour east of UTC, so
	// that the golden files are the same everywhere and show the shift.
	time.Local = time.FixedZone("UTC+1", 60*60)
	os.Exit(m.Run())
}

// fixedNow is the clock of every model test.
var fixedNow = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func fixedClock() time.Time { return fixedNow }

var testAdmin = db.Actor{Kind: "tui", Name: "root", Role: db.RoleAdmin}

// mustOpen opens a store in a temporary folder with a fixed clock and a
// seeded source of secrets, so that links and keys are the same on every
// run.
func mustOpen(tb testing.TB) *db.Store {
	tb.Helper()
	s, err := db.Open(filepath.Join(tb.TempDir(), "x.db"), db.Options{
		Now:  fixedClock,
		Rand: rand.NewChaCha8([32]byte{1, 2, 3}),
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// seed fills a store with a little of everything.
func seed(tb testing.TB, s *db.Store) {
	tb.Helper()
	must := func(err error) {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
	}
	team, err := s.CreateSignupToken(testAdmin, db.NewSignupToken{Name: "Team onboarding", ExpiresAt: fixedNow.Add(7 * 24 * time.Hour), MaxUses: new(10)})
	must(err)
	_, err = s.CreateSignupToken(testAdmin, db.NewSignupToken{Name: "Interns 2026", ExpiresAt: fixedNow.Add(48 * time.Hour), Role: db.RoleEditor, AllowedDomains: []string{"example.com"}})
	must(err)
	for _, u := range []db.NewUser{
		{Email: "ada@example.com", Name: "Ada Lovelace", Username: "ada", PasswordHash: "x"},
		{Email: "alan@example.org", Name: "Alan Turing", PasswordHash: "x"},
	} {
		_, err = s.RedeemSignupToken(team.Secret, u)
		must(err)
	}
	_, err = s.CreateOrganization(testAdmin, "", "Acme Research")
	must(err)
	_, err = s.CreateInvitation(testAdmin, db.NewInvitation{Email: "grace@example.com", DefaultTTL: 7 * 24 * time.Hour, Role: db.RoleEditor, OrgID: "acme-research"})
	must(err)
	_, err = s.CreateInvitation(testAdmin, db.NewInvitation{Email: "edsger@example.net", TTL: new(72 * time.Hour)})
	must(err)
	_, _, err = s.CreateAPIKey(testAdmin, "ci-bot", db.RoleEditor)
	must(err)
}

// harness drives the root model by hand: every message goes through
// Update, and every command it returns runs at once, its messages fed
// back, until nothing is left. Auto refresh is off and cursors do not
// blink, so no command ever waits.
type harness struct {
	t     *testing.T
	m     *model
	store *db.Store
	clip  *bytes.Buffer
	quit  bool
}

func newHarness(t *testing.T, withData bool) *harness {
	t.Helper()
	return newHarnessWith(t, withData, nil)
}

// newHarnessWith is newHarness with options changed by edit.
func newHarnessWith(t *testing.T, withData bool, edit func(*Options)) *harness {
	t.Helper()
	store := mustOpen(t)
	if withData {
		seed(t, store)
	}
	h := &harness{t: t, store: store, clip: &bytes.Buffer{}}
	opts := Options{
		Mode: "direct", DataPath: "./data/invited.db", SiteName: "invited", BaseURL: "http://localhost:4242", Actor: testAdmin,
		Inviter:          "The team.example.com team",
		MaxLoginAttempts: 10, InvitationTTL: 7 * 24 * time.Hour, Output: h.clip,
	}
	if edit != nil {
		edit(&opts)
	}
	h.m = newModel(DirectBackend(store), opts, fixedClock, false)
	h.send(tea.WindowSizeMsg{Width: 80, Height: 24})
	h.run(h.m.Init())
	return h
}

func (h *harness) send(msg tea.Msg) {
	h.t.Helper()
	queue := []tea.Msg{msg}
	for len(queue) > 0 {
		msg, queue = queue[0], queue[1:]
		_, cmd := h.m.Update(msg)
		queue = append(queue, h.collect(cmd)...)
	}
}

func (h *harness) run(cmd tea.Cmd) {
	for _, msg := range h.collect(cmd) {
		h.send(msg)
	}
}

// collect runs cmd and returns the messages it produced.
func (h *harness) collect(cmd tea.Cmd) []tea.Msg {
	if cmd == nil {
		return nil
	}
	switch msg := cmd().(type) {
	case nil:
		return nil
	case tea.BatchMsg:
		var out []tea.Msg
		for _, c := range msg {
			out = append(out, h.collect(c)...)
		}
		return out
	case tea.QuitMsg:
		h.quit = true
		return nil
	default:
		return []tea.Msg{msg}
	}
}

// keys sends key presses: names such as "enter", "tab", "shift+tab",
// "esc", "ctrl+s", "up", "down", or single characters.
func (h *harness) keys(names ...string) {
	h.t.Helper()
	for _, n := range names {
		h.send(keyMsg(n))
	}
}

// typeText types s one rune at a time.
func (h *harness) typeText(s string) {
	h.t.Helper()
	for _, r := range s {
		h.send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
	}
}

func keyMsg(name string) tea.KeyMsg {
	special := map[string]tea.KeyType{
		"enter": tea.KeyEnter, "tab": tea.KeyTab, "shift+tab": tea.KeyShiftTab, "esc": tea.KeyEsc,
		"ctrl+s": tea.KeyCtrlS, "ctrl+c": tea.KeyCtrlC, "ctrl+u": tea.KeyCtrlU, "ctrl+r": tea.KeyCtrlR, "up": tea.KeyUp,
		"down": tea.KeyDown, "left": tea.KeyLeft, "right": tea.KeyRight, "backspace": tea.KeyBackspace,
		"pgdown": tea.KeyPgDown, "pgup": tea.KeyPgUp,
	}
	if t, ok := special[name]; ok {
		return tea.KeyMsg{Type: t}
	}
	if name == " " {
		return tea.KeyMsg{Type: tea.KeySpace, Runes: []rune{' '}}
	}
	if len([]rune(name)) != 1 {
		panic("keyMsg: unknown key " + name)
	}
	return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(name)}
}

func (h *harness) view() string { return h.m.View() }

// golden compares the view with testdata/<test name>[_<name>].golden,
// or writes that file with -update (the flag of charmbracelet's golden
// package, which teatest brings in).
func (h *harness) golden(name ...string) {
	h.t.Helper()
	v := h.view()
	h.checkSize(v, h.m.width, h.m.height)
	file := strings.ReplaceAll(h.t.Name(), "/", "_")
	if len(name) > 0 {
		file += "_" + name[0]
	}
	path := filepath.Join("testdata", file+".golden")
	got := v + "\n"
	if f := flag.Lookup("update"); f != nil && f.Value.String() == "true" {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			h.t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			h.t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		h.t.Fatalf("%v (run with -update to create it)", err)
	}
	if string(want) != got {
		h.t.Errorf("view differs from %s:\n%s", path, udiff.Unified("golden", "view", string(want), got))
	}
}

// checkSize fails when the view does not fit the terminal.
func (h *harness) checkSize(v string, w, ht int) {
	h.t.Helper()
	lines := strings.Split(v, "\n")
	if len(lines) > ht {
		h.t.Errorf("view has %d lines, terminal %d", len(lines), ht)
	}
	for i, l := range lines {
		if lw := lipgloss.Width(l); lw > w {
			h.t.Errorf("line %d is %d wide, terminal %d: %q", i+1, lw, w, l)
		}
	}
}

// contains fails unless the view holds every string.
func (h *harness) contains(want ...string) {
	h.t.Helper()
	v := h.view()
	for _, s := range want {
		if !strings.Contains(v, s) {
			h.t.Errorf("view lacks %q:\n%s", s, v)
		}
	}
}

// lacks fails when the view holds any of the strings.
func (h *harness) lacks(unwanted ...string) {
	h.t.Helper()
	v := h.view()
	for _, s := range unwanted {
		if strings.Contains(v, s) {
			h.t.Errorf("view has %q:\n%s", s, v)
		}
	}
}

// row returns the first line of the view that holds s, trimmed.
func (h *harness) row(s string) string {
	for _, l := range strings.Split(h.view(), "\n") {
		if strings.Contains(l, s) {
			return strings.TrimSpace(l)
		}
	}
	return ""
}
