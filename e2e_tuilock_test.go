package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"invited/internal/testutil"
)

// TestE2ETUIDoesNotBlockServer opens `invited admin` with the server
// stopped, then starts `invited serve` on the same data folder: the server
// starts (the TUI holds the database only while it works), the TUI moves
// over to the server's admin socket by itself, and when the server stops
// it goes back to the file. Nothing made on either side is lost.
func TestE2ETUIDoesNotBlockServer(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()

	var env []string
	for _, kv := range serverEnv(dir) {
		if strings.HasPrefix(kv, "INVITED_") {
			env = append(env, fmt.Sprintf("%q", kv))
		}
	}
	command := fmt.Sprintf("env TERM=xterm-256color %s %s admin", strings.Join(env, " "), e2eBinary)
	tm := newTmux(t, command)
	tm.waitFor("start in direct mode", 15*time.Second, "direct:", "0 signup links")

	// The server starts while the TUI is open (it used to exit at once
	// with "the database is in use").
	p := startServer(t, dir)
	status, _, body := do(t, "GET", p.URL+"/health", "", nil)
	wantStatus(t, "health with the TUI open", status, 200, body)

	// A link made by keystrokes now goes through the server: the API
	// lists it, and the header says where the TUI works.
	createLinkInTUI(t, tm, "Made while serving", "1 signup link")
	tm.waitFor("header in server mode", 10*time.Second, "server: via admin socket")
	if !hasLink(t, p, "Made while serving") {
		t.Fatal("the API does not list the link made in the TUI while the server runs")
	}

	// The server stops: the TUI carries on with the file.
	p.Stop()
	if err := p.ExitErr(); err != nil {
		t.Fatalf("invited serve did not stop cleanly: %v", err)
	}
	tm.keys(false, "C-r")
	waitHeader(t, tm, "direct:", "server: via admin socket")
	tm.waitFor("refresh in direct mode", 10*time.Second, "Made while serving", "1 signup link")
	createLinkInTUI(t, tm, "Made after the server", "2 signup links")

	// What the TUI wrote to the file is there for the next server, which
	// again starts with the TUI open.
	p2 := startServer(t, dir)
	for _, name := range []string{"Made while serving", "Made after the server"} {
		if !hasLink(t, p2, name) {
			t.Errorf("the restarted server does not list %q", name)
		}
	}
	tm.keys(false, "C-r")
	waitHeader(t, tm, "server: via admin socket", "direct:")

	tm.keys(false, "q")
	tm.waitExit()
}

// createLinkInTUI makes a signup link with the form's defaults and waits
// for the TUI to confirm it and to show count (e.g. "2 signup links").
func createLinkInTUI(t *testing.T, tm *tmux, name, count string) {
	t.Helper()
	tm.keys(false, "n")
	tm.waitFor("link form", 5*time.Second, "New signup link")
	tm.keys(true, name)
	tm.keys(false, "C-s")
	tm.waitFor("link "+name+" created", 15*time.Second, "Created the signup link", count)
}

// waitHeader polls (bounded) until the header shows want and not gone.
func waitHeader(t *testing.T, tm *tmux, want, gone string) {
	t.Helper()
	testutil.Eventually(t, 15*time.Second, fmt.Sprintf("the header to change to %q", want), func() error {
		screen := tm.screen()
		if header, _, _ := strings.Cut(screen, "\n"); !strings.Contains(header, want) || strings.Contains(header, gone) {
			return fmt.Errorf("the screen shows:\n%s", screen)
		}
		return nil
	})
}

// hasLink reports whether the server lists a signup link of that name.
func hasLink(t *testing.T, p *proc, name string) bool {
	t.Helper()
	for _, l := range listLinks(t, p) {
		if l.(map[string]any)["name"] == name {
			return true
		}
	}
	return false
}
