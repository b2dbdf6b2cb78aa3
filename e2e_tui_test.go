package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"invited/internal/testutil"
)

// tmux drives a terminal of its own: a private tmux server (its socket in
// the test's folder) with one 80×24 window.
type tmux struct {
	t      *testing.T
	socket string
	target string
}

func newTmux(t *testing.T, command string) *tmux {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("tmux is not installed; install it with `apt-get install -y tmux` (.ci/run does)")
		}
		t.Skip("tmux is not installed")
	}
	tm := &tmux{t: t, socket: filepath.Join(t.TempDir(), "tmux.sock"), target: "tui"}
	tm.run("new-session", "-d", "-s", tm.target, "-x", "80", "-y", "24", command)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("screen at the end:\n%s", tm.screen())
		}
		// Ends only the tmux server this test started, on its own socket.
		_ = exec.Command("tmux", "-S", tm.socket, "kill-server").Run()
	})
	return tm
}

func (tm *tmux) run(args ...string) string {
	tm.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-S", tm.socket}, args...)...).CombinedOutput()
	if err != nil {
		tm.t.Fatalf("tmux %v: %v: %s", args, err, out)
	}
	return string(out)
}

func (tm *tmux) screen() string {
	out, _ := exec.Command("tmux", "-S", tm.socket, "capture-pane", "-p", "-t", tm.target).CombinedOutput()
	return string(out)
}

// keys types keys (tmux key names such as Enter, Tab, C-s, or literal text
// with -l when literal is set).
func (tm *tmux) keys(literal bool, keys ...string) {
	tm.t.Helper()
	args := []string{"send-keys", "-t", tm.target}
	if literal {
		args = append(args, "-l")
	}
	tm.run(append(args, keys...)...)
}

// waitFor polls the screen (bounded) until it holds every text.
func (tm *tmux) waitFor(what string, timeout time.Duration, texts ...string) string {
	tm.t.Helper()
	var screen string
	testutil.Eventually(tm.t, timeout, fmt.Sprintf("%s: the screen to show %q", what, texts), func() error {
		screen = tm.screen()
		for _, text := range texts {
			if !strings.Contains(screen, text) {
				return fmt.Errorf("no %q on the screen:\n%s", text, screen)
			}
		}
		return nil
	})
	return screen
}

// waitGone polls the screen (bounded) until text is no longer on it: a
// dialog has closed. Waiting for text the dialog shows too would not
// tell, and a key sent right after escape can reach the TUI as alt+key.
func (tm *tmux) waitGone(what string, timeout time.Duration, text string) {
	tm.t.Helper()
	testutil.Eventually(tm.t, timeout, fmt.Sprintf("%s: %q to leave the screen", what, text), func() error {
		if screen := tm.screen(); strings.Contains(screen, text) {
			return fmt.Errorf("%q is still on the screen:\n%s", text, screen)
		}
		return nil
	})
}

// waitRow polls the screen (bounded) until a line of it matches row, and
// returns that line.
func (tm *tmux) waitRow(what string, timeout time.Duration, row *regexp.Regexp) string {
	tm.t.Helper()
	var line string
	testutil.Eventually(tm.t, timeout, fmt.Sprintf("%s: a line matching %s", what, row), func() error {
		screen := tm.screen()
		if line = row.FindString(screen); line == "" {
			return fmt.Errorf("the screen shows:\n%s", screen)
		}
		return nil
	})
	return line
}

// linkRow matches the row of the links tab for the link named name when
// its USES column (right after ROLE) reads uses.
func linkRow(name string, uses int) *regexp.Regexp {
	return regexp.MustCompile(fmt.Sprintf(`(?m)^.%s\s.*\b(Admin|Editor|Viewer)\s+%d\s.*$`, regexp.QuoteMeta(name), uses))
}

// waitExit waits (bounded) until the program in the window ended, and with
// it the tmux server.
func (tm *tmux) waitExit() {
	tm.t.Helper()
	testutil.Eventually(tm.t, 10*time.Second, "the TUI to quit", func() error {
		if exec.Command("tmux", "-S", tm.socket, "has-session", "-t", tm.target).Run() == nil {
			return fmt.Errorf("it still runs:\n%s", tm.screen())
		}
		return nil
	})
}

// TestE2ETUIInTmux runs `invited admin` in a real terminal while the server
// runs: a link made by keystrokes is served at once, and a signup through
// the HTTP API shows up in the TUI by itself.
func TestE2ETUIInTmux(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := startServer(t, dir)

	var env []string
	for _, kv := range serverEnv(dir) {
		if strings.HasPrefix(kv, "INVITED_") {
			env = append(env, fmt.Sprintf("%q", kv))
		}
	}
	command := fmt.Sprintf("env TERM=xterm-256color %s %s admin", strings.Join(env, " "), e2eBinary)
	tm := newTmux(t, command)
	tm.waitFor("start in server mode", 15*time.Second, "server", "Signup links")

	// Create a link: n opens the form, the name goes in the first field,
	// ctrl+s submits with the defaults (7 days, Viewer, no limit).
	tm.keys(false, "n")
	tm.waitFor("link form", 5*time.Second, "New signup link")
	tm.keys(true, "Tmux crew")
	tm.keys(false, "C-s")
	// The name is on screen in the form already: wait for the answer.
	tm.waitFor("link created", 10*time.Second, "Created the signup link", "1 signup link")
	// Its row reads no uses yet (ROLE, then USES).
	tm.waitRow("link row before the signup", 5*time.Second, linkRow("Tmux crew", 0))

	var secret string
	for _, l := range listLinks(t, p) {
		link := l.(map[string]any)
		if link["name"] == "Tmux crew" {
			secret = link["secret"].(string)
			wantField(t, "link made in the TUI", link, "createdBy", osUser())
		}
	}
	if secret == "" {
		t.Fatal("the API does not list the link made in the TUI")
	}
	status, _, body := do(t, "POST", signupURL(p, secret), "", signupJSON("terminal@example.com", "termi", "Terminal Person"))
	wantStatus(t, "signup through the TUI's link", status, 200, body)

	// The users tab shows the new user without a restart (auto refresh).
	tm.keys(false, "3")
	tm.waitFor("new user appears", 15*time.Second, "terminal@example.com")
	// And the link's uses went up: its row reads 1 where it read 0. (The
	// name alone was on screen before the signup, so it proves nothing.)
	tm.keys(false, "1")
	tm.waitRow("link uses", 15*time.Second, linkRow("Tmux crew", 1))

	// q quits: the program ends, and with it the only window and the
	// tmux server.
	tm.keys(false, "q")
	tm.waitExit()
	// The audit log names the terminal user as the link's creator.
	status, _, body = do(t, "GET", p.URL+"/api/admin/events?type=signup-link-created", e2eAdminKey, nil)
	wantStatus(t, "events", status, 200, body)
	if !strings.Contains(string(body), `"createdBy":"tui:`+osUser()+`"`) {
		t.Errorf("the link's audit event does not name the TUI user: %s", body)
	}
}
