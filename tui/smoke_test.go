package tui

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/teatest"
)

// TestProgramSmoke runs the whole program as Run would (a real
// tea.Program with its own goroutines, auto refresh on): it switches
// through every tab, creates an organization by keystrokes and quits
// with q.
func TestProgramSmoke(t *testing.T) {
	store := mustOpen(t)
	seed(t, store)
	m := NewModel(DirectBackend(store), Options{
		Mode: "server", SiteName: "Acme invites", Actor: testAdmin,
		Refresh: 20 * time.Millisecond, Output: io.Discard,
	})
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(80, 24))

	// What has been drawn so far; teatest's output is a stream.
	var seen bytes.Buffer
	waitFor := func(want string) {
		t.Helper()
		teatest.WaitFor(t, tm.Output(), func(b []byte) bool {
			seen.Write(b)
			return bytes.Contains(seen.Bytes(), []byte(want))
		}, teatest.WithDuration(5*time.Second), teatest.WithCheckInterval(10*time.Millisecond))
	}

	waitFor("server: via admin socket")
	waitFor("Team onboarding")
	for _, tab := range []struct{ key, want string }{
		{"2", "grace@example.com"}, {"3", "ada@example.com"}, {"4", "ci-bot"},
		{"6", "signup-link-created"}, {"5", "acme-research"},
	} {
		tm.Type(tab.key)
		waitFor(tab.want)
	}
	tm.Type("n")
	waitFor("New organization")
	tm.Type("Smoke Test Org")
	tm.Send(tea.KeyMsg{Type: tea.KeyEnter}) // to the ID field
	tm.Send(tea.KeyMsg{Type: tea.KeyEnter}) // submit from the last field
	waitFor(`Created the organization "Smoke Test Org" (smoke-test-org).`)
	tm.Type("q")
	tm.WaitFinished(t, teatest.WithFinalTimeout(5*time.Second))

	out, _ := io.ReadAll(tm.FinalOutput(t))
	seen.Write(out)
	if !strings.Contains(seen.String(), "smoke-test-org") {
		t.Errorf("output lacks the new organization:\n%s", seen.String())
	}
	orgs, err := store.ListOrganizations()
	if err != nil || len(orgs) != 3 || orgs[2].ID != "smoke-test-org" {
		t.Errorf("organizations %v, %v", orgs, err)
	}
	if fm, ok := tm.FinalModel(t).(*model); !ok || !fm.quitting {
		t.Errorf("final model %T did not quit", tm.FinalModel(t))
	}
}
