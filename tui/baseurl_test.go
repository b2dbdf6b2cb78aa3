package tui

import (
	"encoding/base64"
	"strings"
	"testing"

	"invited/db"
)

// TestLinkURLFromBaseURL: the TUI builds a link's address from its own
// Options.BaseURL (server.base_url), as the server does; the store knows
// no URL.
func TestLinkURLFromBaseURL(t *testing.T) {
	h := newHarnessWith(t, true, func(o *Options) { o.BaseURL = "https://join.example/crew/" })
	h.keys("c")
	seq := h.clip.String()
	if !strings.HasPrefix(seq, "\x1b]52;c;") {
		t.Fatalf("no OSC 52 sequence: %q", seq)
	}
	raw, _ := base64.StdEncoding.DecodeString(strings.TrimSuffix(strings.TrimPrefix(seq, "\x1b]52;c;"), "\a"))
	secret, ok := strings.CutPrefix(string(raw), "https://join.example/crew/new-user?invite=")
	if !ok || !db.ValidSecret(secret) {
		t.Fatalf("copied %q, want the link on the base URL", raw)
	}
	if _, err := h.store.FindSignupToken(testAdmin, secret); err != nil {
		t.Errorf("copied the link of secret %q: %v", secret, err)
	}
}
