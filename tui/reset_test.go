package tui

import (
	"encoding/base64"
	"strings"
	"testing"

	"invited/db"
)

// TestUserResetLink: p asks, then shows the reset link once with copy;
// closing the box hides it for good; the copied link opens the store's
// token; a disabled user gets no link.
func TestUserResetLink(t *testing.T) {
	h := newHarness(t, true)
	h.keys("3")
	h.contains("p reset link")
	h.keys("down", "p")
	h.contains("Make a password reset link for alan@example.org?")
	h.keys("n")
	if events, _, _ := h.store.ListEvents(db.EventResetLinkCreated, 0, 10); len(events) != 0 {
		t.Fatal("a link was made without a yes")
	}
	h.keys("p", "y")
	h.contains("Password reset link for alan@example.org", "Copy it now", "Made a password reset link",
		"http://localhost:4242/reset-password/")
	// Closed without copying: the link is gone from the screen.
	h.keys("esc")
	h.lacks("/reset-password/")
	h.keys("enter")
	h.lacks("/reset-password/")
	h.keys("esc")

	// A second link replaces the first; c copies it.
	h.keys("p", "y")
	h.keys("c")
	seq := h.clip.String()
	b64 := strings.TrimSuffix(strings.TrimPrefix(seq, "\x1b]52;c;"), "\a")
	raw, _ := base64.StdEncoding.DecodeString(b64)
	link := string(raw)
	const prefix = "http://localhost:4242/reset-password/"
	if !strings.HasPrefix(link, prefix) || len(link) != len(prefix)+64 {
		t.Fatalf("copied %q", link)
	}
	secret := strings.TrimPrefix(link, prefix)
	tok, err := h.store.PeekUserToken(db.TokenResetPassword, secret)
	if err != nil || tok.UserID != 2 {
		t.Fatalf("the link shown: %+v %v", tok, err)
	}
	events, _, _ := h.store.ListEvents(db.EventResetLinkCreated, 0, 10)
	if len(events) != 2 || events[0].ObjectID != "2" || strings.Contains(strings.Join(eventValues(events[0]), " "), secret) {
		t.Fatalf("events %+v", events)
	}
	h.keys("esc")

	// A disabled user: no link, and a sentence that says what to do.
	h.keys("x", "y")
	h.contains("Disabled alan@example.org")
	h.keys("p")
	h.contains("is disabled: a reset link would not work")
	if events, _, _ := h.store.ListEvents(db.EventResetLinkCreated, 0, 10); len(events) != 2 {
		t.Fatalf("events %+v", events)
	}
}

func eventValues(e db.Event) []string {
	var out []string
	for _, v := range e.Data {
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	return out
}
